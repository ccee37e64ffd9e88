"""Benchmark: precision and recall of DFM findings on the real-parts corpus, per rule and per part.

The corpus is tests/data/real_parts/: catalogue parts built by parts.py and NIST models, each with
the findings an engineer expects (TOML). A finding is true when it falls on an expected feature of its
rule (its location or one of its elements within the expectation's locator; at most ``max_count``
findings per feature), false otherwise; an expected finding nobody reported is a miss. The matching
rule in full: spatial_tools/dfm/expectations.py. A STEP part is checked as ``freecad-spatial check`` checks
it: its AP242 PMI imported first and the gdt.* findings added (tests/data/real_parts/corpus.py), so the
gdt.* rules are scored too; ``check_s`` includes the PMI import. Prints JSON:

    .venv/bin/python bench/findings_precision.py [--suite-only] [--parts NAME ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "tests" / "data" / "real_parts"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite-only", action="store_true", help="only the parts the test suite checks")
    parser.add_argument("--parts", nargs="*", help="part names (default: all)")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(CORPUS))
    import corpus

    from freecad_spatial.spatial_tools.dfm.expectations import total_by_rule

    chosen = [s for s in corpus.specs(args.suite_only) if not args.parts or s.name in args.parts]
    scores, parts = [], []
    for spec in chosen:
        score, findings, seconds = corpus.check_part(spec)
        scores.append(score)
        entry = score.to_dict()
        entry["findings"] = len(findings)
        entry["check_s"] = round(seconds, 2)
        parts.append(entry)
    totals = total_by_rule(scores)
    all_true = sum(s.true for s in totals.values())
    all_false = sum(s.false for s in totals.values())
    report = {
        "bench": "findings_precision",
        "corpus": [s.name for s in chosen],
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "by_rule": {rule: s.to_dict() for rule, s in totals.items()},
        "overall": {
            "tp": all_true,
            "fp": all_false,
            "fn": sum(s.missed for s in totals.values()),
            "precision": round(all_true / (all_true + all_false), 4) if all_true + all_false else None,
        },
        "rules_below_0.9_precision": sorted(r for r, s in totals.items() if s.precision is not None and s.precision < 0.9),
        "by_part": parts,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

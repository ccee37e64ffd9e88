"""Benchmark: where a DFM check spends its time, per rule and per file (NIST models by default), in one process.

Each file is opened and checked in this process (one core), with the time
of every rule run (``dfm.engine._run``, wrapped here for measuring only),
the open, and the GD&T pass recorded; ``--top N`` adds cProfile's N most
expensive functions (cumulative) per file. Rules share cached geometry, so
the first rule that asks for an analysis pays for it: read "self" times with
that in mind. Prints JSON.

    .venv/bin/python bench/dfm_rules_time.py [--process cnc-3axis] [--top 15] [FILE...]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
NIST = HERE.parent / "tests" / "data" / "corpora" / "nist-pmi" / "step"


def top_functions(profile: cProfile.Profile, count: int) -> list[dict]:
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, line, name), (_cc, calls, self_s, cum_s, _callers) in stats.stats.items():
        rows.append({"function": f"{Path(filename).name}:{line}:{name}", "calls": calls, "self_s": round(self_s, 3), "cum_s": round(cum_s, 3)})
    rows.sort(key=lambda r: r["cum_s"], reverse=True)
    return rows[:count]


def main(argv: list[str] | None = None) -> int:
    from freecad_spatial.spatial_tools import freecad_env
    from freecad_spatial.spatial_tools.dfm import engine
    from freecad_spatial.spatial_tools.documents import close_document, open_document
    from freecad_spatial.spatial_tools.gdt.validation import gdt_findings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="default: the 12 NIST models")
    parser.add_argument("--process", default="cnc-3axis")
    parser.add_argument("--top", type=int, default=0, help="also the N most expensive functions per file (cProfile)")
    args = parser.parse_args(argv)
    files = args.files or sorted(str(p) for p in NIST.glob("*.stp"))
    freecad_env.load()

    spent: dict[str, float] = defaultdict(float)
    original = engine._run

    def timed(rule, context, result):
        started = time.perf_counter()
        try:
            return original(rule, context, result)
        finally:
            spent[getattr(rule, "id", None) or getattr(context, "rule_id", None) or str(rule)] += time.perf_counter() - started

    engine._run = timed
    out: dict = {"benchmark": "dfm_rules_time", "process": args.process, "load_before": [round(x, 2) for x in os.getloadavg()], "files": []}
    for path in files:
        spent.clear()
        profile = cProfile.Profile() if args.top else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        opened = time.perf_counter()
        document = open_document(path)
        open_s = time.perf_counter() - opened
        try:
            checked = time.perf_counter()
            result = engine.check_document(document, args.process)
            check_s = time.perf_counter() - checked
            gdt_started = time.perf_counter()
            gdt_findings(document)
            gdt_s = time.perf_counter() - gdt_started
        finally:
            close_document(document)
        if profile:
            profile.disable()
        total = time.perf_counter() - started
        entry = {
            "file": Path(path).name,
            "total_s": round(total, 3),
            "open_s": round(open_s, 3),
            "rules_s": round(check_s, 3),
            "gdt_s": round(gdt_s, 3),
            "findings": len(result.findings),
            "per_rule_s": {k: round(v, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v >= 0.005},
        }
        if profile:
            entry["top"] = top_functions(profile, args.top)
        out["files"].append(entry)
        print(f"{entry['file']}: {entry['total_s']} s", file=sys.stderr)
    totals = sorted(f["total_s"] for f in out["files"])
    out["median_s"] = totals[len(totals) // 2] if totals else None
    out["max_s"] = totals[-1] if totals else None
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.top:
        out["note"] = "cProfile slows Python-heavy code more than OpenCASCADE calls: compare times only without --top"
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

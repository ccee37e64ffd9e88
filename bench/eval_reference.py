"""How long `freecad-spatial eval run primitives measure --mode reference` takes, and what it scores.

Runs the installed command on a fresh results file (the parts are built anew) and prints JSON:
wall time, items, accuracy per suite, the machine's load average before and after.
Usage: .venv/bin/python bench/eval_reference.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.jsonl"
        command = [sys.executable, "-m", "freecad_spatial.spatial_tools.cli", "eval", "run", "primitives", "measure",
                   "--mode", "reference", "--quiet", "--out", str(out)]
        if args.limit:
            command += ["--limit", str(args.limit)]
        load_before = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    per_suite: dict[str, dict] = {}
    for r in rows:
        s = per_suite.setdefault(r["suite"], {"items": 0, "correct": 0, "errors": 0})
        s["items"] += 1
        s["correct"] += bool(r["correct"])
        s["errors"] += r["error"] is not None
    for s in per_suite.values():
        s["accuracy"] = s["correct"] / s["items"]
    print(json.dumps({"command": "eval run primitives measure --mode reference", "exit": proc.returncode,
                      "wall_s": round(wall, 1), "items": len(rows), "suites": per_suite,
                      "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after}, indent=2))


if __name__ == "__main__":
    main()

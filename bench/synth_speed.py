"""Benchmark: freecad-spatial synth samples per minute (3 views) with --jobs 1 and 2, and the speed-up.

Generates the same samples (the built-in families, one seed) into fresh folders with one and with two
worker processes, back to back and alternating, ``--rounds`` times; reports samples/min per run, the
median and spread, the ratio, the time per stage of one sample, and the machine's load. Prints JSON.

    .venv/bin/python bench/synth_speed.py [--count 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dfm_speed import parallelism  # noqa: E402 - the same core-availability probe as the DFM bench

from freecad_spatial.spatial_tools import freecad_env  # noqa: E402

freecad_env.load()

from freecad_spatial.spatial_tools.synth.generate import Run, generate  # noqa: E402


def one(count: int, jobs: int, views: tuple[str, ...]) -> float:
    out = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    try:
        run = Run(families=("plate_holes", "l_bracket", "plate_stack"), count=count, seed=1, views=views)
        started = time.perf_counter()
        summary = generate(out / "ds", run, jobs=jobs)
        seconds = time.perf_counter() - started
        if summary["failed"]:
            raise SystemExit(f"failed samples: {summary['failed']}")
        return count / seconds * 60
    finally:
        shutil.rmtree(out, ignore_errors=True)


def stages(views: tuple[str, ...]) -> dict:
    """Seconds of each stage of one plate sample (profiled with time.perf_counter around each call)."""
    import cProfile
    import pstats

    out = Path(tempfile.mkdtemp(prefix="synth-stage-"))
    try:
        run = Run(families=("plate_holes",), count=1, seed=5, views=views)
        profile = cProfile.Profile()
        profile.enable()
        generate(out / "ds", run)
        profile.disable()
        stats = pstats.Stats(profile).stats
        wanted = {"render": "render", "tessellate": "tessellate", "part_items": "QA tools", "encode_json": "encode",
                  "exportStep": "STEP export", "open_document": "STEP read"}
        found = {}
        for (_, _, name), (_, _, _, cum, _) in stats.items():
            if name in wanted:
                found[wanted[name]] = round(found.get(wanted[name], 0) + cum, 3)
        return found
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--views", default="iso,front,top")
    args = parser.parse_args()
    views = tuple(args.views.split(","))
    one(3, 1, views)  # warm: imports, the first FreeCAD documents
    runs: dict[int, list[float]] = {1: [], 2: []}
    cores = []
    for _ in range(args.rounds):
        for jobs in (1, 2):
            cores.append(parallelism())
            runs[jobs].append(one(args.count, jobs, views))
    med = {j: statistics.median(v) for j, v in runs.items()}
    print(json.dumps({
        "bench": "synth_speed", "count": args.count, "views": list(views), "rounds": args.rounds,
        "samples_per_min": {f"jobs{j}": [round(x, 1) for x in v] for j, v in runs.items()},
        "median_samples_per_min": {f"jobs{j}": round(m, 1) for j, m in med.items()},
        "speedup_jobs2": round(med[2] / med[1], 2),
        "speedup_spread": [round(min(runs[2]) / max(runs[1]), 2), round(max(runs[2]) / min(runs[1]), 2)],
        "cores_available": [round(c, 2) for c in cores],
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "stage_seconds_one_sample": stages(views),
        "cpu_count": os.cpu_count(),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: DFM check time per file on the MFCAD and NIST corpora, and the --jobs 2 speed-up.

Runs the same batch machinery as ``freecad-spatial check`` (worker processes,
per-file time limit) over the 30 MFCAD parts and 12 NIST models in
tests/data/corpora, for each process. Per-file seconds are measured inside the
worker (open + all rules), wall seconds around the whole batch. Prints JSON.

    .venv/bin/python bench/dfm_speed.py [--processes cnc-3axis fdm] [--timeout 600]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPORA = HERE.parent / "tests" / "data" / "corpora"
CORPUS_GLOBS = {"mfcad": ("mfcad/step", "*.step"), "nist": ("nist-pmi/step", "*.stp")}


def corpus_files(root: Path) -> dict[str, list[str]]:
    return {name: sorted(str(p) for p in (root / sub).glob(pattern)) for name, (sub, pattern) in CORPUS_GLOBS.items()}


def _burn(n: int) -> float:
    started = time.monotonic()
    total = 0
    for i in range(n):
        total += i * i
    return time.monotonic() - started


def parallelism(n: int = 4_000_000) -> float:
    """How many cores this machine gives us right now: 2 × (time of one burn) / (wall of two at once).
    About 2 on an idle 2-core machine, about 1 when the other core is busy; read the speed-up against it."""
    import multiprocessing

    alone = _burn(n)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [1000, 1000])  # start-up out of the measurement
        started = time.monotonic()
        pool.map(_burn, [n, n])
        together = time.monotonic() - started
    return round(2 * alone / together, 2)


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median_s": round(statistics.median(values), 4), "max_s": round(max(values), 4)}


def main(argv: list[str] | None = None) -> int:
    from freecad_spatial.spatial_tools.check.batch import CheckOptions, run_batch
    from freecad_spatial.spatial_tools.dfm.profiles import processes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", nargs="+", default=processes())
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    files = corpus_files(args.corpora)
    everything = [f for group in files.values() for f in group]
    if not everything:
        print(json.dumps({"error": f"no corpus files under {args.corpora}"}))
        return 2
    kind = {f: name for name, group in files.items() for f in group}
    out: dict = {
        "benchmark": "dfm_speed",
        "cpus": os.cpu_count(),
        "files": {name: len(group) for name, group in files.items()},
        "processes": {},
    }
    for process in args.processes:
        options = CheckOptions(process=process, timeout=args.timeout)
        entry: dict = {}
        walls = {}
        for jobs in (1, 2):
            started = time.monotonic()
            results = run_batch(everything, options, jobs=jobs, progress=False)
            walls[jobs] = time.monotonic() - started
            if jobs == 1:
                for name in files:
                    entry[name] = stats([r.seconds for r in results if kind[r.path] == name])
                entry["all"] = stats([r.seconds for r in results])
                slowest = max(results, key=lambda r: r.seconds)
                entry["slowest_file"] = Path(slowest.path).name
                entry["errors"] = {Path(r.path).name: r.error for r in results if r.status != "ok"}
                entry["findings"] = sum(len(r.findings) for r in results)
        entry["wall_s"] = {f"jobs{j}": round(w, 3) for j, w in walls.items()}
        entry["speedup_jobs2"] = round(walls[1] / walls[2], 3) if walls[2] else None
        entry["cores_available"] = parallelism()
        out["processes"][process] = entry
        print(f"{process}: done", file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

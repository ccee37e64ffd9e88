"""Benchmark: batch throughput of ``check`` with 1 and 2 warm workers, and the per-file cost of the worker pool.

Three measurements, back to back in each repeat on the same files:

- in-process: each file opened and checked in this process (``check_file``),
  the time the rules themselves take (the baseline);
- ``run_batch`` with ``--jobs 1`` and ``--jobs 2`` (order alternating between
  repeats), wall time around the whole batch (worker start-up included): files
  per minute each, and the jobs-2/jobs-1 ratio per repeat (median, min, max);
- with ``--command``: the ``freecad-spatial check`` command itself, as a user
  runs it (interpreter, imports, report included), ``--jobs 1`` and ``--jobs 2``
  with workers forked from the loaded command and with spawned workers
  (FREECAD_SPATIAL_WORKER_START), the same files, back to back in each repeat;
- per-file overhead of the pool per repeat: (jobs-1 wall − in-process total) /
  in-process total, start-up included, and the same counting only the workers'
  own per-file clocks.

The machine's load (``os.getloadavg``) before and after, and how many cores a
CPU burn actually gets right now (bench/dfm_speed.parallelism), are printed
with it: on a shared 2-core machine read the ratio against them. The per-file
distribution (in-process) gives the estimate for 100,000 files on N workers.
Prints JSON.

    .venv/bin/python bench/batch_speed.py [--corpus mfcad|nist] [--repeat 2] [--process cnc-3axis] [--no-pmi] [--command]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CORPORA = HERE.parent / "tests" / "data" / "corpora"
GLOBS = {"mfcad": ("mfcad/step", "*.step"), "nist": ("nist-pmi/step", "*.stp")}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def estimate(per_file: list[float], overhead: float, files: int = 100_000, workers=(1, 2, 8, 32, 128)) -> dict:
    """Hours for ``files`` parts like these on N single-core workers: mean per-file time × (1 + overhead) / N."""
    mean = statistics.fmean(per_file) * (1.0 + max(0.0, overhead))
    return {"files": files, "mean_s_per_file": round(mean, 4), "hours": {str(n): round(files * mean / n / 3600, 2) for n in workers}}


def main(argv: list[str] | None = None) -> int:
    from dfm_speed import parallelism

    from freecad_spatial.spatial_tools import freecad_env
    from freecad_spatial.spatial_tools.check.batch import (
        CheckOptions,
        check_file,
        run_batch,
        start_method,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=sorted(GLOBS), default="mfcad")
    parser.add_argument("--process", default="cnc-3axis")
    parser.add_argument("--no-pmi", action="store_true", help="skip the AP242 PMI import, as check --no-pmi")
    parser.add_argument("--repeat", type=int, default=2, help="repeats of in-process, jobs-1 and jobs-2 runs")
    parser.add_argument("--command", action="store_true",
                        help="also time the check command itself, workers forked and spawned")
    args = parser.parse_args(argv)
    sub, pattern = GLOBS[args.corpus]
    files = sorted(str(p) for p in (CORPORA / sub).glob(pattern))
    options = CheckOptions(process=args.process, timeout=600, pmi=not args.no_pmi)
    out: dict = {"benchmark": "batch_speed", "corpus": args.corpus, "files": len(files), "process": args.process, "pmi": not args.no_pmi,
                 "worker_start": start_method(),
                 "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in os.getloadavg()]}
    out["cores_available_before"] = parallelism()

    freecad_env.load()
    check_file(files[0], options)  # the first check imports the rules: not a file's cost

    def in_process() -> tuple[float, list[float]]:
        started = time.monotonic()
        seconds = [check_file(f, options).seconds for f in files]
        return time.monotonic() - started, seconds

    # Each repeat runs in-process, jobs 1 and jobs 2 back to back, the two pool runs in
    # alternating order, so a machine that slows down or speeds up during the run
    # weighs on both sides of every ratio alike.
    command = [str(Path(sys.executable).with_name("freecad-spatial")), "check", *files, "--process", args.process,
               "--timeout", "600"] + (["--no-pmi"] if args.no_pmi else [])
    commands: dict[str, dict[int, list[float]]] = {m: {1: [], 2: []} for m in ("fork", "spawn")}

    def run_command(method: str, jobs: int) -> None:
        env = {**os.environ, "FREECAD_SPATIAL_WORKER_START": method, "CI": "true"}
        started = time.monotonic()
        proc = subprocess.run([*command, "--jobs", str(jobs)], capture_output=True, env=env, check=False)
        commands[method][jobs].append(time.monotonic() - started)
        assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")[-2000:]

    inproc_walls: list[float] = []
    walls: dict[int, list[float]] = {1: [], 2: []}
    worker_sums: dict[int, list[float]] = {1: [], 2: []}
    inproc: list[float] = []
    inproc_sums: list[float] = []
    for repeat in range(args.repeat):
        wall, seconds = in_process()
        inproc_walls.append(wall)
        inproc = inproc or seconds
        inproc_sums.append(sum(seconds))
        for jobs in ((1, 2) if repeat % 2 == 0 else (2, 1)):
            started = time.monotonic()
            results = run_batch(files, options, jobs=jobs, progress=False)
            walls[jobs].append(time.monotonic() - started)
            worker_sums[jobs].append(sum(r.seconds for r in results))
            assert all(r.status == "ok" for r in results), [r.error for r in results if r.status != "ok"]
        if args.command:
            runs = [(m, j) for m in ("fork", "spawn") for j in (1, 2)]
            for method, jobs in (runs if repeat % 2 == 0 else runs[::-1]):
                run_command(method, jobs)
    ratios = [a / b for a, b in zip(walls[1], walls[2], strict=True)]
    overheads = [a / b - 1.0 for a, b in zip(walls[1], inproc_walls, strict=True)]
    clock_overheads = [a / b - 1.0 for a, b in zip(worker_sums[1], inproc_sums, strict=True)]
    # Two workers side by side each check more slowly than one alone (shared caches and memory bandwidth):
    # the sum of the per-file clocks with jobs 2 over the sum with jobs 1. 2 / this is the best ratio possible.
    contention = [a / b for a, b in zip(worker_sums[2], worker_sums[1], strict=True)]
    per_min = {f"jobs{j}": [round(len(files) / w * 60, 1) for w in ws] for j, ws in walls.items()}
    overhead = statistics.median(overheads)
    inproc_wall = statistics.median(inproc_walls)

    def spread(values: list[float]) -> dict:
        return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3),
                "each": [round(v, 3) for v in values]}

    out.update({
        "in_process": {"total_s": [round(w, 3) for w in inproc_walls], "median_s": round(statistics.median(inproc), 4),
                       "p90_s": round(percentile(inproc, 0.9), 4), "max_s": round(max(inproc), 4),
                       "files_per_min": round(len(files) / inproc_wall * 60, 1)},
        "wall_s": {f"jobs{j}": [round(w, 3) for w in ws] for j, ws in walls.items()},
        "files_per_min": per_min,
        "speedup_jobs2": spread(ratios),
        "overhead_vs_in_process": {"with_startup": spread(overheads), "worker_clock_only": spread(clock_overheads)},
        "file_clocks_jobs2_over_jobs1": spread(contention),
        "estimate_100k": estimate(inproc, overhead),
        **({"command": {m: {"wall_s": {f"jobs{j}": [round(w, 3) for w in ws] for j, ws in walls_of.items()},
                            "speedup_jobs2": spread([a / b for a, b in zip(walls_of[1], walls_of[2], strict=True)])}
                        for m, walls_of in commands.items()}} if args.command else {}),
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cores_available_after": parallelism(),
    })
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What running a model's tool call apart costs (tool_process.py, tool_worker.py); prints JSON.

Usage: python bench/tool_apart.py [--sample FILE] [--rounds 20]

A call with a deadline (the model's, a code cell's) runs in a forked child on
Linux, or in a warm worker process on a saved copy where there is no fork, so
that it can be killed and the GUI thread is free. Each round times, back to
back and in rotating order, the same REGISTRY.call in-process (no deadline,
as the user's own call runs), forked, and through the worker; the report
gives medians, the 10th-90th percentile spread, the extra milliseconds per
call, and how long the caller's thread was held (the fork or the saved copy:
the GUI's stall), plus the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLE = REPO / "resources" / "samples" / "bracket.FCStd"


def spread(values: list[float]) -> dict:
    q = statistics.quantiles(values, n=10) if len(values) >= 2 else [values[0]] * 9
    return {"median_ms": round(statistics.median(values) * 1000, 2), "p10_ms": round(q[0] * 1000, 2),
            "p90_ms": round(q[-1] * 1000, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)

    from freecad_spatial.spatial_tools import freecad_env

    app = freecad_env.load()
    from freecad_spatial.spatial_tools import tool_process, tool_worker
    from freecad_spatial.spatial_tools.context import CallLimits, ToolArguments, ToolContext
    from freecad_spatial.spatial_tools.dfm.engine import default_targets
    from freecad_spatial.spatial_tools.documents import open_document
    from freecad_spatial.spatial_tools.registry import load_builtin_tools

    registry = load_builtin_tools()
    document = open_document(args.sample)
    part = default_targets(document)[0].Name
    calls = {"measure_distance": {"a": f"{part}.Face1", "b": f"{part}.Face2"},
             "mass_properties": {"object": part},
             "find_features": {"object": part}}
    context = ToolContext(document=document)
    load = os.getloadavg()

    def run(mode: str, name: str, arguments: dict) -> tuple[float, float]:
        """(whole call, time the calling thread spent starting it) in seconds."""
        if mode == "worker":
            os.environ[tool_process.DISABLE_ENV] = "1"
        else:
            os.environ.pop(tool_process.DISABLE_ENV, None)
        limited = ToolArguments(arguments, CallLimits.assistant(deadline=time.monotonic() + 120))
        started = time.perf_counter()
        if mode == "in_process":
            envelope = registry.call(name, dict(arguments), context)
            held = time.perf_counter() - started
        else:
            pending = registry.start(name, limited, context)
            held = time.perf_counter() - started
            envelope = pending.wait()
        if not envelope["ok"]:
            raise RuntimeError(f"{name} ({mode}): {envelope['error']}")
        return time.perf_counter() - started, held

    results = []
    modes = ["in_process", "fork", "worker"]
    for name, arguments in calls.items():
        for mode in modes:  # warm: imports, caches, the worker process
            run(mode, name, arguments)
        whole: dict[str, list[float]] = {m: [] for m in modes}
        held: dict[str, list[float]] = {m: [] for m in modes}
        for i in range(args.rounds):
            for mode in modes[i % 3:] + modes[:i % 3]:
                w, h = run(mode, name, arguments)
                whole[mode].append(w)
                held[mode].append(h)
        base = statistics.median(whole["in_process"])
        results.append({
            "tool": name,
            "rounds": args.rounds,
            **{mode: {**spread(whole[mode]), "caller_held": spread(held[mode])} for mode in modes},
            "extra_ms_fork": round((statistics.median(whole["fork"]) - base) * 1000, 2),
            "extra_ms_worker": round((statistics.median(whole["worker"]) - base) * 1000, 2),
        })
    tool_worker.shutdown()
    print(json.dumps({
        "benchmark": "tool_apart",
        "freecad": ".".join(app.Version()[:3]),
        "sample": args.sample.name,
        "load_average_1_5_15": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
        "results": results,
    }, indent=2), flush=True)
    sys.stdout.flush()
    os._exit(0)  # FreeCAD-as-a-library can crash in interpreter teardown; the figures are out


if __name__ == "__main__":
    sys.exit(main())

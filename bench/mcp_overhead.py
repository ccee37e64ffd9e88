"""Per-call overhead of the Spatial MCP server over calling the registry directly; prints JSON.

Usage: python bench/mcp_overhead.py [--sample FILE] [--rounds N] [--target-ms 10]

The server (``freecad-spatial mcp``, a separate process, as a client starts it)
and this process open the same sample (the plate with holes). Each round
makes the same call back to back: once through ``REGISTRY.call`` here, with
the context the server gives a model's call (``ToolContext.for_assistant``
with the model's deadline, so both fork the same child), once through the
SDK's real ``ClientSession``. The overhead is the difference of the medians
(``overhead_ms``: JSON-RPC over the pipe or HTTP, the SDK's validation of
arguments and structured output, the tier check and the audit line); the
spread is the 10th-90th percentile of each side. Target: under 10 ms a call
on the plate sample (``--target-ms``). The registry's in-process call without
a deadline (no fork: what the ``tool`` command does) is given for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLE = REPO / "resources" / "samples" / "plate_with_holes.step"
CALLS = [("measure_distance", {"a": "Part.Face7", "b": "Part.Face8"}), ("mass_properties", {"object": "Part"})]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _stats(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values) * 1e3, 3), "p10_ms": round(_quantile(values, 0.1) * 1e3, 3),
            "p90_ms": round(_quantile(values, 0.9) * 1e3, 3)}


async def _bench(args: argparse.Namespace) -> dict:
    from freecad_spatial.spatial_tools import freecad_env

    app = freecad_env.load()
    from mcp import ClientSession, StdioServerParameters, stdio_client

    from freecad_spatial.spatial_tools.context import ToolContext, model_call_s
    from freecad_spatial.spatial_tools.documents import open_document
    from freecad_spatial.spatial_tools.registry import load_builtin_tools

    registry = load_builtin_tools()
    document = open_document(args.sample)
    exe = str(Path(sys.executable).with_name("freecad-spatial"))
    audit = Path(tempfile.mkdtemp(prefix="mcp-bench-")) / "audit.jsonl"
    params = StdioServerParameters(command=exe, args=["mcp", "--doc", str(args.sample), "--tier", "local",
                                                      "--audit-log", str(audit)], env=dict(os.environ))
    results = []
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await session.list_tools()
                for name, arguments in CALLS:
                    def direct(name: str = name, arguments: dict = arguments) -> dict:
                        context = ToolContext.for_assistant(document, deadline=time.monotonic() + model_call_s())
                        return registry.call(name, dict(arguments), context)

                    def in_process(name: str = name, arguments: dict = arguments) -> dict:
                        return registry.call(name, dict(arguments), ToolContext(document=document))

                    times: dict[str, list[float]] = {"registry": [], "mcp": [], "in_process": []}
                    for i in range(args.rounds + 3):
                        order = ["registry", "mcp"] if i % 2 == 0 else ["mcp", "registry"]
                        for side in [*order, "in_process"]:
                            started = time.perf_counter()
                            if side == "mcp":
                                result = await session.call_tool(name, arguments)
                                assert not result.is_error, result.content
                            else:
                                assert (direct if side == "registry" else in_process)()["ok"]
                            if i >= 3:  # the first rounds warm caches and imports
                                times[side].append(time.perf_counter() - started)
                    same = (await session.call_tool(name, arguments)).structured_content == in_process()["result"]
                    registry_ms = statistics.median(times["registry"]) * 1e3
                    mcp_ms = statistics.median(times["mcp"]) * 1e3
                    results.append({
                        "tool": name, "arguments": arguments, "rounds": args.rounds, "same_result": same,
                        "registry_forked": _stats(times["registry"]), "mcp": _stats(times["mcp"]),
                        "registry_in_process": _stats(times["in_process"]),
                        "overhead_ms": round(mcp_ms - registry_ms, 3),
                        "within_target": mcp_ms - registry_ms < args.target_ms,
                    })
    return {
        "benchmark": "mcp_overhead",
        "freecad": ".".join(app.Version()[:3]),
        "python": sys.version.split()[0],
        "transport": "stdio",
        "sample": str(args.sample.relative_to(REPO) if args.sample.is_relative_to(REPO) else args.sample),
        "statistic": "per call: median and 10th-90th percentile ms; registry and MCP back to back, order alternating",
        "target_ms": args.target_ms,
        "all_within_target": all(r["within_target"] for r in results),
        "results": results,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--target-ms", type=float, default=10.0)
    args = parser.parse_args(argv)
    import anyio

    report = anyio.run(_bench, args)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

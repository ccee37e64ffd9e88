"""The README's sample eval report: the reference agent, and a SCRIPTED model (the protocol test server
answering from a fixed script, not a real model) in the context and tools modes.

The scripted model answers every third item right in the context mode and every item but one in
ten right in the tools mode, so the report shows what such a script implies and nothing about any
real model. Writes OUT.md, OUT.html and OUT.png (default /tmp/eval-sample).
Usage: .venv/bin/python bench/eval_sample_report.py [--limit N] [--out PREFIX]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from freecad_spatial.spatial_tools import freecad_env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--out", default="/tmp/eval-sample")
    args = parser.parse_args()
    freecad_env.load()
    from freecad_spatial.spatial_tools.eval.model_modes import ModelConfig
    from freecad_spatial.spatial_tools.eval.report import render
    from freecad_spatial.spatial_tools.eval.results import read_results
    from freecad_spatial.spatial_tools.eval.runner import run
    from freecad_spatial.spatial_tools.eval.suites import load
    from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

    def text(item, good: bool) -> str:
        value = item.answer
        if item.type == "number":
            value = f"{value if good else 2 * value + 1:.6f} {item.unit}"
        elif item.type in ("integer",):
            value = value if good else value + 1
        elif item.type == "boolean":
            value = "yes" if value == good else "no"
        elif item.type == "finding":
            value = f"{value['rule'] if good else 'cnc.small_hole'} at {value['refs'][0]}"
        elif isinstance(value, list):
            value = ", ".join(value) if good else "none, Base"
        elif not good:
            value = "above" if value != "above" else "below"
        return f"ANSWER: {value}"

    os.environ.setdefault("FREECAD_SPATIAL_OPENAI_API_KEY", "scripted-demo-key")
    suites = ["primitives", "measure", "relations", "dfm", "tolerance-chains"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.jsonl"
        os.environ.setdefault("FREECAD_SPATIAL_AUDIT_LOG", str(Path(tmp) / "audit.jsonl"))
        items = [i for s in suites for i in load(s, args.limit)]
        run(items, ["reference"], out, progress=False)
        model_items = [i for i in items if i.suite in ("primitives", "measure", "tolerance-chains")]
        turns = []
        for k, item in enumerate(model_items):
            turns.append({"text": text(item, k % 3 == 0), "usage": {"input_tokens": 2400, "output_tokens": 60}})
            turns.append({"text": text(item, k % 10 != 5), "usage": {"input_tokens": 5200, "output_tokens": 140}})
        with ProtocolServer(turns) as server:
            config = ModelConfig(backend="openai", model="scripted-model", base_url=f"{server.url}/v1", tier="local")
            run(model_items, ["context", "tools"], out, model=config, progress=False)
        results = read_results(out)
    prefix = Path(args.out)
    Path(f"{prefix}.md").write_text(render(results, "md", chart_path=f"{prefix}.png"), encoding="utf-8")
    Path(f"{prefix}.html").write_text(render(results, "html", chart_path=f"{prefix}.png"), encoding="utf-8")
    print(Path(f"{prefix}.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

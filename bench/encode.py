"""Scene encoder benchmark: encode time and tokens, next to a naive dump of every property.

    .venv/bin/python bench/encode.py [--features 500] [--repeat 7]

Prints one JSON object. Documents: the bundled samples (resources/samples) and
a generated PartDesign body of N real features (a plate pad, then cycles of
boss pad, fillet of the boss's top edge, hole pocket; see
tests/scene_builders.grid_body). The body is built in the run, once: every
feature is a real boolean on a growing solid, so 500 features take 15-40
minutes on two shared cores. It is not cached as a file because reopening it
is slower still (OCC's TopTools_LocationSet::Read on 500 stored solids ran for
over 20 minutes). Only encoding is timed.

- ``encode_ms.cold``: first encode, shape-summary cache empty (volume, area,
  surface types computed; BRepCheck runs only up to validity_max_faces faces;
  a Body of more than summary_max_body_features features (resources/encoder.toml,
  per FreeCAD version: ``limit`` in the report) is not measured, its node points
  to mass_properties).
- ``body_measure_ms``: what measuring the Body costs, cold: the pointer's call
  (mass_properties: volume, area, centre of mass, bbox), the shape numbers of
  the summary alone (``encoder_shapes.summary`` without BRepCheck),
  query_feature_tree on the Body as the model calls it (BRepCheck only up to
  validity_max_faces faces) and with ``check_validity`` true (BRepCheck always).
- ``limit_body``: the same figures for a body right at the limit, the slowest
  body the overview still measures (skip with --no-limit-body).
- ``encode_ms.warm_median``: median of --repeat encodes of the unchanged
  document (shape numbers come from the cache; everything else is recomputed).
- tokens: tokens.estimate_tokens (its rule is printed under ``token_estimate``).
- naive dumps: every property of every object, ``str(value)``, as JSON
  ``{object: {property: text}}`` and as ``Object.Property = text`` lines.
- ``first_request``: the first model request of a fixed question about the bracket
  sample (FIRST_QUESTION) with every tool offered, as the agent loop builds it (a
  recording backend stands in for the model; nothing leaves the machine): tokens by
  ``agent.loop.context_tokens`` (the loop's own counter: tokens.estimate_tokens of
  each system section, of the tool definitions' compact JSON and of the messages),
  split into tools, the static system prompt, the document and the question, and
  the wire body's ``chars/4`` (the Anthropic JSON body, as the issue measured it).
  ``tools_full`` is the same request with the tools as MCP clients get them (full
  descriptions and schemas: what the model was sent before issue 16).
- ``legacy_claude_tokens`` (only with FREECAD_SPATIAL_TOKENIZER_JSON set to the
  ``tokenizer.json`` the ``anthropic`` SDK shipped up to 0.38, and the ``tokenizers``
  package importable): the same texts counted by that real, older Claude tokenizer,
  as a check on the estimate. Current models' tokenizers are not public, and the
  SDK's count_tokens needs the network. The older one is on PyPI inside the SDK's
  0.38 wheel: ``pip download anthropic==0.38.0 --no-deps``, unzip
  ``anthropic/tokenizer.json`` from it, ``pip install tokenizers``.

The issue-16 figures are for ``--features 50``: the overview folds each profile sketch
into its feature (encoder.fold_profiles), so the 50 features are 50 entries.
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
sys.path.insert(0, str(REPO / "tests"))  # scene_builders: the same bodies the tests build

from freecad_spatial.spatial_tools import freecad_env  # noqa: E402

FreeCAD = freecad_env.load()

from freecad_spatial import RESOURCES  # noqa: E402
from freecad_spatial.spatial_tools import encoder, encoder_shapes, tokens  # noqa: E402
from freecad_spatial.spatial_tools.documents import CAD_SUFFIXES, open_document  # noqa: E402

TARGET_RATIO = 8.0
TARGET_TOKENS_50 = 2000
TARGET_FIRST_REQUEST = 4000
FIRST_QUESTION = "How far apart are the two mounting holes of the bracket?"
TARGET_WARM_MS = 200.0
BUDGETS = (1000, 4000, 16000)


def _legacy_counter():
    """Token counter of the older Claude tokenizer, or None (see the module docstring)."""
    path = os.environ.get("FREECAD_SPATIAL_TOKENIZER_JSON")
    if not path:
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    tokenizer = Tokenizer.from_file(path)
    return lambda text: len(tokenizer.encode(text).ids)


LEGACY = _legacy_counter()


def naive_json(document) -> str:
    dump = {}
    for obj in document.Objects:
        props = {}
        for name in obj.PropertiesList:
            try:
                props[name] = str(getattr(obj, name))
            except Exception as exc:  # an unreadable property still costs its error text
                props[name] = f"<{type(exc).__name__}>"
        dump[obj.Name] = props
    return json.dumps(dump)


def naive_lines(document) -> str:
    rows = []
    for obj in document.Objects:
        for name in obj.PropertiesList:
            try:
                value = str(getattr(obj, name))
            except Exception as exc:  # as above
                value = f"<{type(exc).__name__}>"
            rows.append(f"{obj.Name}.{name} = {value}")
    return "\n".join(rows)


def timed(function, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), runs


def measure(document, repeat: int) -> dict:
    encoder_shapes.clear_cache()
    start = time.perf_counter()
    text = encoder.encode_json(document)
    cold = (time.perf_counter() - start) * 1000
    warm, runs = timed(lambda: encoder.encode_json(document), repeat)
    assert encoder.encode_json(document) == text, "encoding is not deterministic"
    encoded = tokens.estimate_tokens(text)
    dump_json = tokens.estimate_tokens(naive_json(document))
    dump_lines = tokens.estimate_tokens(naive_lines(document))
    budgets = []
    for budget in BUDGETS:
        ms, _ = timed(lambda b=budget: encoder.encode_json(document, budget_tokens=b), max(1, repeat // 2))
        fitted = encoder.encode_json(document, budget_tokens=budget)
        used = tokens.estimate_tokens(fitted)
        budgets.append({
            "budget": budget,
            "tokens": used,
            "fits": used <= budget,
            "omitted_entries": len(json.loads(fitted).get("omitted", [])),
            "ms_median": round(ms, 1),
        })
    legacy = {}
    if LEGACY is not None:
        legacy = {"legacy_claude_tokens": {"encoding": LEGACY(text), "naive_json": LEGACY(naive_json(document))}}
    return {
        **legacy,
        "objects": len(document.Objects),
        "encode_ms": {"cold": round(cold, 1), "warm_median": round(warm, 1), "warm_runs": [round(r, 1) for r in runs]},
        "bytes": len(text.encode()),
        "tokens": encoded,
        "naive_dump_tokens": {"json": dump_json, "lines": dump_lines},
        "ratio": {"json": round(dump_json / encoded, 2), "lines": round(dump_lines / encoded, 2)},
        "budget_mode": budgets,
    }


class _Recorder:
    """Stands in for the model: records each request, answers at once with text."""

    name, base_url, model = "anthropic", "http://127.0.0.1:9", "bench"

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def complete(self, system, messages, tools, *, cancel=None, on_event=None, max_tokens=4096):
        from freecad_spatial.spatial_tools.backends.base import ModelTurn, Usage

        self.requests.append({"system": list(system), "messages": list(messages), "tools": list(tools)})
        return ModelTurn(text="-", tool_calls=[], stop_reason="end_turn", usage=Usage(1, 1))


def first_request(document, question: str = FIRST_QUESTION, full_tools: bool = False) -> dict:
    """Tokens of the first model request of ``question`` about ``document``, every tool offered."""
    from freecad_spatial.spatial_tools.agent.loop import Agent, context_tokens
    from freecad_spatial.spatial_tools.agent.session import Session, Settings
    from freecad_spatial.spatial_tools.backends.anthropic_backend import (
        anthropic_messages,
        anthropic_system,
        anthropic_tools,
    )
    from freecad_spatial.spatial_tools.registry import load_builtin_tools
    from freecad_spatial.spatial_tools.tiers import Policy

    backend = _Recorder()
    agent = Agent(backend=backend, call_tool=lambda name, arguments: {}, policy=Policy(user_tier="cloud"),
                  session=Session(settings=Settings.load({})), tools=load_builtin_tools().specs(),
                  document_context=lambda budget: encoder.encode_json(document, [], budget_tokens=budget))
    agent.ask(question)
    request = backend.requests[0]
    system, messages, tools = request["system"], request["messages"], request["tools"]
    if full_tools:
        specs = {s.name: s for s in load_builtin_tools().specs()}
        tools = [{"name": t["name"], "description": specs[t["name"]].description,
                  "input_schema": specs[t["name"]].input_schema} if t["name"] in specs else t for t in tools]
    wire = json.dumps({"model": "m", "max_tokens": 4096, "system": anthropic_system(system),
                       "tools": anthropic_tools(tools), "messages": anthropic_messages(messages)},
                      ensure_ascii=False, separators=(",", ":"))
    legacy = {}
    if LEGACY is not None:
        texts = [s.text for s in system] + [m.text or "" for m in messages]
        legacy = {"legacy_claude_tokens": sum(map(LEGACY, texts)) + LEGACY(
            json.dumps(tools, ensure_ascii=False, separators=(",", ":")))}
    static = [s for s in system if s.name != "document"]
    document_part = [s for s in system if s.name == "document"]
    return {
        "question": question,
        "tokens": context_tokens(system, messages, tools),
        "tools": context_tokens([], [], tools),
        "tool_count": len(tools),
        "system_static": context_tokens(static, [], []),
        "document": context_tokens(document_part, [], []),
        "messages": context_tokens([], messages, []),
        "wire_bytes": len(wire.encode()),
        "wire_chars_div_4": len(wire) // 4,
        "tool_json_bytes": len(json.dumps(tools, ensure_ascii=False, separators=(",", ":")).encode()),
        **legacy,
    }


def body_measure(document) -> dict:
    """Cold cost of the Body's numbers: the pointer's call, the summary alone, query_feature_tree."""
    from freecad_spatial.spatial_tools.context import ToolContext
    from freecad_spatial.spatial_tools.registry import load_builtin_tools

    registry, context = load_builtin_tools(), ToolContext(document=document)
    start = time.perf_counter()
    envelope = registry.call("mass_properties", {"object": "Body"}, context)
    pointer = (time.perf_counter() - start) * 1000
    if not envelope["ok"]:
        raise SystemExit(f"mass_properties failed on the generated body: {envelope['error']}")
    encoder_shapes.clear_cache()
    start = time.perf_counter()
    encoder.subtree(document, "Body", depth=0)
    call = (time.perf_counter() - start) * 1000
    encoder_shapes.clear_cache()
    start = time.perf_counter()
    encoder.subtree(document, "Body", depth=0, check_validity=True)
    checked = (time.perf_counter() - start) * 1000
    encoder_shapes.clear_cache()
    shape = encoder_shapes.global_shape(document.getObject("Body"))
    start = time.perf_counter()
    encoder_shapes.summary(shape, "never")
    numbers = (time.perf_counter() - start) * 1000
    return {
        "mass_properties_body": round(pointer, 1),
        "shape_numbers_only": round(numbers, 1),
        "query_feature_tree_path_body": round(call, 1),
        "query_feature_tree_path_body_check_validity": round(checked, 1),
    }


def overview_shape(document) -> dict:
    """What the overview shows for the Body: its numbers, or the pointer to them."""
    body = next(n for n in encoder.encode(document)["tree"] if n["name"] == "Body")
    return body.get("shape", {})


def grid_document(features: int):
    from scene_builders import grid_body

    document = FreeCAD.newDocument(f"Grid{features}")
    start = time.perf_counter()
    body = grid_body(document, features)
    build_s = time.perf_counter() - start
    bad = [o.Name for o in body.Group if not o.isValid()]
    if bad:
        raise SystemExit(f"the generated body has invalid features: {bad[:5]}")
    return document, round(build_s, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-limit-body", action="store_true", help="skip the body at summary_max_body_features")
    args = parser.parse_args()
    limit = encoder.body_feature_limit()

    report: dict = {
        "token_estimate": " ".join(" ".join(tokens.__doc__.split("\n\n")[1:4]).split()),
        "targets": {"ratio_vs_naive_dump_min": TARGET_RATIO, "warm_encode_ms_max": TARGET_WARM_MS,
                    f"tokens_{args.features}_features_max": TARGET_TOKENS_50,
                    "first_request_tokens_max": TARGET_FIRST_REQUEST},
        "machine": {"cpus": os.cpu_count(), "freecad": ".".join(FreeCAD.Version()[:3])},
        "limit": limit,
    }
    samples_dir = RESOURCES / "samples"
    files = sorted(p for p in samples_dir.glob("*") if p.suffix.lower() in CAD_SUFFIXES) if samples_dir.is_dir() else []
    if files:
        report["samples"] = {p.name: measure(open_document(p), args.repeat) for p in files}
    else:
        report["samples"] = f"no samples in {samples_dir}: only the generated body was measured"

    bracket = open_document(RESOURCES / "samples" / "bracket.FCStd")
    report["first_request"] = {"model": first_request(bracket), "tools_full": first_request(bracket, full_tools=True)}
    document, build_s = grid_document(args.features)
    grid = measure(document, args.repeat)
    body = document.getObject("Body")
    grid["features"] = sum(1 for o in body.Group if not o.TypeId.startswith("Sketcher::"))
    grid["build_s"] = build_s
    grid["body_faces"] = len(body.Shape.Faces)
    grid["overview_body_shape"] = overview_shape(document)
    grid["body_measure_ms"] = body_measure(document)
    report[f"grid_body_{args.features}"] = grid
    FreeCAD.closeDocument(document.Name)
    if not args.no_limit_body and limit != args.features:
        at_limit, at_limit_build_s = grid_document(limit)
        report["limit_body"] = {
            "features": limit,
            "build_s": at_limit_build_s,
            "encode_ms": measure(at_limit, 3)["encode_ms"],
            "overview_body_shape_keys": sorted(overview_shape(at_limit)),
            "body_measure_ms": body_measure(at_limit),
        }
        FreeCAD.closeDocument(at_limit.Name)
    report["met"] = {
        "ratio_json": grid["ratio"]["json"] >= TARGET_RATIO,
        "ratio_lines": grid["ratio"]["lines"] >= TARGET_RATIO,
        "warm_encode_ms": grid["encode_ms"]["warm_median"] < TARGET_WARM_MS,
        "cold_encode_ms": grid["encode_ms"]["cold"] < TARGET_WARM_MS,
        "budgets_fit": all(b["fits"] for b in grid["budget_mode"]),
        "tokens_grid_body": grid["tokens"] <= TARGET_TOKENS_50,
        "first_request": report["first_request"]["model"]["tokens"] <= TARGET_FIRST_REQUEST,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

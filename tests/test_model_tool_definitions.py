"""Issue 16: what the model is offered per request — short tool definitions, the whole first request
under 4k tokens — without losing any argument's meaning (names, types, enums, required).

The bound is measured by the loop's own counter (agent.loop.context_tokens, tokens.estimate_tokens)
on the first request the real agent loop builds for a fixed question about the bracket sample,
with every tool offered; bench/encode.py prints the same figure (``first_request``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest
from agent_fakes import ScriptedBackend, text_turn
from conftest import REGISTRY

from freecad_spatial import RESOURCES
from freecad_spatial.spatial_tools import encoder
from freecad_spatial.spatial_tools.agent.loop import Agent, context_tokens
from freecad_spatial.spatial_tools.agent.session import Session, Settings
from freecad_spatial.spatial_tools.documents import close_document, open_document
from freecad_spatial.spatial_tools.registry import MODEL_SCHEMA_DEPTH
from freecad_spatial.spatial_tools.tiers import Policy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

FIRST_REQUEST_MAX = 4000
QUESTION = "How far apart are the two mounting holes of the bracket?"

# Calls as the tests and tools.md make them: each must fit the full schema and the model's.
CALLS = {
    "query_feature_tree": [{}, {"path": "Body.Pad001", "depth": 1, "check_validity": False}],
    "get_selection": [{}],
    "render_view": [{}, {"view": "top", "highlight": ["Plate.Face7"], "markers": [{"point": [1, 2, 3]}], "width": 512}],
    "select_region": [
        {"object": "Plate", "elements": ["Face3", "Plate.Face7"]},
        {"object": "Body", "box": {"min": [0, 0, 0], "max": [10, 10, 10], "element": "edge"}},
        {"object": "Plate", "filter": {"surface_type": "cylinder", "radius_max": 3, "axis": [0, 0, 1]}},
    ],
    "measure_distance": [{"a": "Plate.Face7", "b": {"point": [1, 2, 3]}}, {"a": "Plate", "b": "Pin"}],
    "measure_angle": [{"a": "Plate.Face3", "b": "Plate.Edge2"}],
    "measure_thickness": [{"at": "Plate.Face3"}, {"at": {"point": [1, 2, 3]}, "direction": [0, 0, 1], "object": "Plate"}],
    "mass_properties": [{"object": "Body", "density": 2.7}],
    "check_interference": [{"a": "Shaft", "b": "Housing"}],
    "find_features": [{"object": "Plate", "kind": "hole"}],
    "run_dfm": [{"process": "cnc-3axis", "objects": ["Plate"], "material": "steel",
                 "profile": {"rules": {"cnc.deep_hole": {"warn_above": 6}}}}],
    "fit": [{"diameter": 20, "hole": "H7", "shaft": "g6"}],
    "general_tolerance": [{"nominal": 30, "class": "m"}, {"nominal": 100, "class": "K", "kind": "flatness"}],
    "stack_up": [
        {"contributors": [{"name": "a", "nominal": 10, "plus": 0.1, "minus": 0.1, "direction": 1,
                           "distribution": "uniform"}], "methods": ["monte_carlo"], "samples": 1000, "seed": 1},
        {"chain": {"datum": "Base.Face6", "target": "Top.Face5", "via": ["Spacer.Face5"], "direction": [0, 0, 1],
                   "tolerances": [{"plus": 0.1, "minus": 0.1}, None]}, "general_class": "m"},
    ],
    "check_gdt": [{}, {"objects": ["Plate"]}],
    "suggest_gdt": [{"object": "Plate"}],
    "import_pmi": [{"file": "supplier.stp"}, {"file": "supplier.step", "object": "Part"}],
}


def _walk(full: dict, model: dict, where: str, depth: int = 0) -> None:
    """Names, types, enums and required agree level by level, down to the depth the model sees."""
    if full.get("anyOf") and "type" in model and isinstance(model["type"], list):
        return  # a reference: string or {"point": [...]}
    assert model.get("type") == full.get("type"), where
    assert model.get("enum") == full.get("enum"), where
    if depth > MODEL_SCHEMA_DEPTH:
        return
    assert sorted(model.get("required", [])) == sorted(full.get("required", [])), where
    assert list(model.get("properties", {})) == list(full.get("properties", {})), where
    for name, sub in full.get("properties", {}).items():
        _walk(sub, model["properties"][name], f"{where}.{name}", depth + 1)
    if isinstance(full.get("items"), dict):
        _walk(full["items"], model["items"], f"{where}[]", depth + 1)


@pytest.mark.parametrize("spec", REGISTRY.specs(), ids=lambda s: s.name)
def test_model_schema_keeps_every_argument_and_accepts_the_calls(spec):
    model = spec.anthropic()["input_schema"]
    jsonschema.Draft202012Validator.check_schema(model)
    _walk(spec.input_schema, model, spec.name)
    assert spec.name in CALLS, f"no sample call for {spec.name}"
    for call in CALLS[spec.name]:
        jsonschema.validate(call, spec.input_schema)
        jsonschema.validate(call, model)
    assert "result_schema" not in spec.anthropic() and "result_schema" not in json.dumps(spec.openai())


@pytest.mark.parametrize("spec", REGISTRY.specs(), ids=lambda s: s.name)
def test_model_reads_a_brief_and_mcp_the_full_description(spec):
    assert spec.brief, f"{spec.name} has no brief in tools.toml"
    assert spec.anthropic()["description"] == spec.brief == spec.openai()["function"]["description"]
    assert len(spec.brief) < len(spec.description)
    full = spec.full()
    assert full["description"] == spec.description and full["input_schema"] == spec.input_schema
    assert full["result_schema"] == spec.result_schema
    notes = set(spec.arg_notes)
    assert notes <= set(spec.input_schema["properties"]), f"{spec.name}: notes for unknown arguments {notes}"


def test_tool_definitions_are_much_shorter_than_the_full_ones():
    model = json.dumps([s.anthropic() for s in REGISTRY.specs()], separators=(",", ":"))
    full = json.dumps([{"name": s.name, "description": s.description, "input_schema": s.input_schema}
                       for s in REGISTRY.specs()], separators=(",", ":"))
    assert len(model) < 0.5 * len(full), (len(model), len(full))


@pytest.fixture
def bracket():
    document = open_document(RESOURCES / "samples" / "bracket.FCStd")
    yield document
    close_document(document)


def _first_request(document):
    backend = ScriptedBackend([text_turn("-")], name="anthropic")
    agent = Agent(backend=backend, call_tool=lambda name, arguments: {}, policy=Policy(user_tier="cloud"),
                  session=Session(settings=Settings.load({})), tools=REGISTRY.specs(),
                  document_context=lambda budget: encoder.encode_json(document, [], budget_tokens=budget))
    agent.ask(QUESTION)
    return backend.requests[0]


def test_first_request_of_the_bracket_question_fits_4k_tokens(bracket):
    request = _first_request(bracket)
    names = {t["name"] for t in request["tools"]}
    # every tool offered (render_view only to vision models: Policy.images)
    assert {s.name for s in REGISTRY.specs() if "image" not in s.tags} <= names and "submit_findings" in names
    assert any(s.name == "document" and '"circles"' in s.text for s in request["system"])  # the holes are in it
    tokens = context_tokens(request["system"], request["messages"], request["tools"])
    assert tokens <= FIRST_REQUEST_MAX, f"the first request is {tokens} tokens"


def test_bench_reports_the_same_first_request(bracket):
    import encode  # bench/encode.py

    measured = encode.first_request(bracket, QUESTION)
    request = _first_request(bracket)
    assert measured["tokens"] == context_tokens(request["system"], request["messages"], request["tools"])
    assert measured["tools"] + measured["system_static"] + measured["document"] + measured["messages"] == measured["tokens"]
    full = encode.first_request(bracket, QUESTION, full_tools=True)
    assert full["tokens"] > measured["tokens"] + 2000


def test_briefs_name_no_argument_that_does_not_exist():
    for spec in REGISTRY.specs():
        for name in re.findall(r"`([a-z_]+)`", spec.brief):
            assert name in spec.input_schema["properties"] or name in json.dumps(spec.result_schema), (spec.name, name)

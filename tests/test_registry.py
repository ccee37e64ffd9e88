"""The one tool registry: every contract tool is there, with valid schemas, in both export formats."""

import jsonschema
import pytest
from conftest import REGISTRY, Part, add_shape, call

from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.registry import Registry, clean
from freecad_spatial.spatial_tools.schema import Arg, validate

# tools.md, "Tools (minimum set and fields)", for the foundation issue.
CONTRACT = [
    "query_feature_tree",
    "get_selection",
    "select_region",
    "measure_distance",
    "measure_angle",
    "measure_thickness",
    "mass_properties",
    "check_interference",
    "find_features",
]


def test_every_contract_tool_is_registered():
    missing = [name for name in CONTRACT if name not in REGISTRY.names()]
    assert not missing, f"not registered: {missing}"


@pytest.mark.parametrize("spec", REGISTRY.specs(), ids=lambda s: s.name)
def test_schemas_are_valid_json_schema(spec):
    jsonschema.Draft202012Validator.check_schema(spec.input_schema)
    jsonschema.Draft202012Validator.check_schema(spec.result_schema)
    assert spec.input_schema["type"] == "object"
    assert spec.description and len(spec.description) > 40
    for name, prop in spec.input_schema["properties"].items():
        assert prop.get("description"), f"{spec.name}.{name} has no description"


def test_exports_have_the_wire_shapes():
    anthropic = REGISTRY.anthropic_tools()
    openai = REGISTRY.openai_tools()
    assert [t["name"] for t in anthropic] == REGISTRY.names()
    assert set(anthropic[0]) == {"name", "description", "input_schema"}
    assert [t["function"]["name"] for t in openai] == REGISTRY.names()
    assert all(t["type"] == "function" and "parameters" in t["function"] for t in openai)
    only_safe = REGISTRY.anthropic_tools(allowed=lambda s: not s.raw_geometry)
    assert len(only_safe) <= len(anthropic)


def test_schema_is_derived_from_the_signature():
    from typing import Annotated, Literal

    reg = Registry()

    @reg.tool(result={"type": "object"}, name="mass_properties")  # borrows an existing description
    def probe(ctx, object: Annotated[str, Arg("obj")], mode: Annotated[Literal["a", "b"], Arg("m")] = "a"):
        return {"object": object, "mode": mode}

    schema = reg.get("mass_properties").input_schema
    assert schema["required"] == ["object"]
    assert schema["properties"]["mode"] == {"type": "string", "enum": ["a", "b"], "description": "m"}
    assert reg.call("mass_properties", {"object": "X", "mode": "c"}, ToolContext(document=object()))["error"][
        "code"
    ] == "bad_arguments"
    assert reg.call("mass_properties", {"object": "X", "extra": 1}, ToolContext(document=object()))["error"][
        "code"
    ] == "bad_arguments"
    assert reg.call("mass_properties", {"object": "X"}, ToolContext(document=object()))["result"] == {
        "object": "X",
        "mode": "a",
    }


def test_a_tool_without_description_does_not_register():
    reg = Registry()
    with pytest.raises(KeyError, match="no description"):

        @reg.tool(result={"type": "object"})
        def not_described(ctx):
            return {}


def test_validator_messages_name_the_problem():
    schema = {"type": "object", "properties": {"n": {"type": "number", "minimum": 0}}, "required": ["n"]}
    assert validate({"n": -1}, schema) == ["arguments.n: -1 is below the minimum 0"]
    assert "missing required 'n'" in validate({}, schema)[0]
    assert "expected number" in validate({"n": True}, schema)[0]
    assert "expected number" in validate({"n": float("nan")}, schema)[0]


def test_unknown_tool_and_no_document_are_envelopes(doc):
    assert REGISTRY.call("teleport", {}, ToolContext(document=doc))["error"]["code"] == "unknown_tool"
    assert REGISTRY.call("mass_properties", {"object": "X"}, ToolContext())["error"]["code"] == "no_document"
    assert REGISTRY.call("mass_properties", ["X"], ToolContext(document=doc))["error"]["code"] == "bad_arguments"


def test_kernel_failure_is_an_error_not_a_pass(doc, monkeypatch):
    add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    spec = REGISTRY.get("mass_properties")

    def explode(ctx, **kw):
        raise Part.OCCError("BRep_API: command not done")

    monkeypatch.setattr(spec, "function", explode)
    envelope = call(doc, "mass_properties", {"object": "Block"})
    assert envelope["error"]["code"] == "geometry_error"
    assert "command not done" in envelope["error"]["message"]


def test_clean_makes_results_json_safe():
    import FreeCAD

    assert clean({"v": FreeCAD.Vector(1, 2, 3e-12), "n": float("inf"), "t": (1.0, -0.0)}) == {
        "v": [1.0, 2.0, 0.0],
        "n": None,
        "t": [1.0, 0.0],
    }
    # kept as they are: booleans (not numbers), integers, strings, None; nested containers walked
    assert clean({"b": True, "i": 3, "s": "Face1", "z": None, "l": [{"d": 1e-12}], 2: -0.0}) == {
        "b": True,
        "i": 3,
        "s": "Face1",
        "z": None,
        "l": [{"d": 0.0}],
        "2": 0.0,
    }

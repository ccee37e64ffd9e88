"""general_tolerance: ISO 2768-1 linear, broken-edge and angular; ISO 2768-2 geometrical general tolerances."""

from __future__ import annotations

from typing import Annotated, Literal

from ..context import ToolContext
from ..errors import BadArguments
from ..registry import REGISTRY, tool
from ..schema import Arg
from ..tolerances import iso2768

RESULT = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(iso2768.KINDS)},
        "class": {"type": "string"},
        "nominal": {"type": "number"},
        "tolerance": {"type": "number", "exclusiveMinimum": 0},
        "upper": {"type": "number"},
        "lower": {"type": "number"},
        "unit": {"type": "string", "enum": ["mm", "deg"]},
        "text": {"type": "string"},
        "standard": {"type": "string"},
        "size_range": {"type": "array", "items": {"type": ["number", "null"]}, "minItems": 2, "maxItems": 2},
    },
    "required": ["kind", "class", "nominal", "tolerance", "unit", "standard", "size_range"],
}

Kind = Literal["linear", "broken_edge", "angular", "straightness", "flatness", "perpendicularity", "symmetry", "runout"]


@tool(result=RESULT, needs_document=False)
def general_tolerance(
    ctx: ToolContext,
    nominal: Annotated[float, Arg("Nominal size in mm: the length; for angular, the shorter leg of the angle; "
                                  "for flatness, the longer side; for perpendicularity and symmetry, the shorter feature", minimum=0)],
    tolerance_class: Annotated[str, Arg("ISO 2768 class: 'f', 'm', 'c', 'v' (part 1), 'H', 'K', 'L' (part 2), "
                                        "or a combined designation such as 'mK' or 'ISO 2768-mK'")],
    kind: Annotated[Kind, Arg("What is toleranced; default linear")] = "linear",
) -> dict:
    try:
        return iso2768.general_tolerance(nominal, tolerance_class, kind).as_dict()
    except iso2768.GeneralToleranceError as exc:
        raise BadArguments(f"general_tolerance: {exc}") from None


def _argument_named_class() -> None:
    """tools.md names the argument `class`, a Python keyword: expose `tolerance_class` under that name."""
    spec = REGISTRY.get("general_tolerance")
    if "class" in spec.input_schema["properties"]:
        return
    schema = spec.input_schema
    schema["properties"] = {("class" if k == "tolerance_class" else k): v for k, v in schema["properties"].items()}
    schema["required"] = ["class" if k == "tolerance_class" else k for k in schema["required"]]
    function = spec.function

    def call(ctx: ToolContext, **arguments: object) -> dict:
        if "class" in arguments:
            arguments["tolerance_class"] = arguments.pop("class")
        return function(ctx, **arguments)

    spec.function = call


_argument_named_class()

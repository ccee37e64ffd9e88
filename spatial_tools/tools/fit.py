"""fit: ISO 286 limit deviations of a hole and a shaft class and the fit they make."""

from __future__ import annotations

from typing import Annotated

from ..context import ToolContext
from ..errors import BadArguments
from ..registry import tool
from ..schema import Arg
from ..tolerances import iso286

LIMITS_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "upper": {"type": "number"},
        "lower": {"type": "number"},
        "tolerance": {"type": "number", "minimum": 0},
        "max_size": {"type": "number"},
        "min_size": {"type": "number"},
        "size_range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    },
    "required": ["code", "upper", "lower", "tolerance", "size_range"],
}

RESULT = {
    "type": "object",
    "properties": {
        "diameter": {"type": "number"},
        "fit": {"type": "string"},
        "hole": LIMITS_SCHEMA,
        "shaft": LIMITS_SCHEMA,
        "min_clearance": {"type": "number"},
        "max_clearance": {"type": "number"},
        "kind": {"type": "string", "enum": ["clearance", "transition", "interference"]},
        "units": {"type": "object"},
        "standard": {"type": "string"},
    },
    "required": ["diameter", "hole", "shaft", "min_clearance", "max_clearance", "kind", "units"],
}


@tool(result=RESULT, needs_document=False)
def fit(
    ctx: ToolContext,
    diameter: Annotated[float, Arg("Nominal diameter in mm, over 0 up to 500", minimum=0)],
    hole: Annotated[str, Arg("Hole tolerance class: upper-case letter and IT grade 5-11, e.g. 'H7'")],
    shaft: Annotated[str, Arg("Shaft tolerance class: lower-case letter and IT grade 5-11, e.g. 'g6'")],
) -> dict:
    try:
        result = iso286.fit(diameter, hole, shaft)
    except iso286.FitError as exc:
        raise BadArguments(f"fit: {exc}") from None
    return {
        "diameter": result.size,
        "fit": f"{result.hole.code}/{result.shaft.code}",
        "hole": result.hole.as_dict(),
        "shaft": result.shaft.as_dict(),
        "min_clearance": result.min_clearance,
        "max_clearance": result.max_clearance,
        "kind": result.kind,
        "units": {"length": "mm", "note": "deviations from the nominal diameter; negative clearance = interference"},
        "standard": "ISO 286-2 (limit deviations), ISO 286-1 (fits)",
    }

"""check_interference: overlap volume (boolean common) and minimum clearance of two solids."""

from __future__ import annotations

from typing import Annotated

from ..context import ToolContext
from ..errors import BadArguments, NotApplicable
from ..geometry.thickness import tolerance_of
from ..refs import resolve_object
from ..registry import tool
from ..schema import Arg
from .measure_distance import hit_ref

RESULT = {
    "type": "object",
    "properties": {
        "a": {"type": "string"},
        "b": {"type": "string"},
        "interferes": {"type": "boolean"},
        "volume": {"type": "number", "minimum": 0},
        "min_clearance": {"type": "number", "minimum": 0},
        "touching": {"type": "boolean"},
        "elements": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
        "tolerance": {"type": "number"},
    },
    "required": ["a", "b", "interferes", "volume", "min_clearance", "touching", "tolerance"],
}

# A common volume below this fraction of the smaller solid is boolean noise
# (tangent curved faces), not an overlap.
VOLUME_NOISE_RELATIVE = 1e-9


@tool(result=RESULT)
def check_interference(
    ctx: ToolContext,
    a: Annotated[str, Arg("First object, e.g. 'Shaft' or 'Body'")],
    b: Annotated[str, Arg("Second object, e.g. 'Housing'")],
) -> dict:
    first, second = resolve_object(ctx.document, a), resolve_object(ctx.document, b)
    if first.obj == second.obj:
        raise BadArguments(f"'{a}' and '{b}' are the same object")
    for element in (first, second):
        if not element.shape.Solids:
            raise NotApplicable(f"'{element.ref}' has no solid: use measure_distance for its clearance")
    volume = sum(s.Volume for s in first.shape.common(second.shape).Solids)
    smaller = min(sum(s.Volume for s in e.shape.Solids) for e in (first, second))
    tolerance = max(tolerance_of(first.shape), tolerance_of(second.shape))
    result = {"a": first.ref, "b": second.ref, "tolerance": tolerance}
    if volume > VOLUME_NOISE_RELATIVE * smaller:
        return result | {"interferes": True, "volume": volume, "min_clearance": 0.0, "touching": False}
    distance, _, infos = first.shape.distToShape(second.shape)
    kind_a, index_a, _, kind_b, index_b, _ = infos[0]
    touching = distance <= tolerance
    return result | {
        "interferes": False,
        "volume": 0.0,
        "min_clearance": 0.0 if touching else distance,
        "touching": touching,
        "elements": [hit_ref(first, kind_a, index_a), hit_ref(second, kind_b, index_b)],
    }

"""measure_distance: kernel minimum distance with its evidence, plus centre and axis distances."""

from __future__ import annotations

from typing import Annotated, Any

from ..context import ToolContext
from ..geometry.query import (
    CurveType,
    SurfaceType,
    axial_center,
    curve_info,
    is_parallel,
    line_distance,
    surface_info,
)
from ..geometry.thickness import tolerance_of
from ..refs import Element, element_ref, resolve_all
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg, Ref

RESULT = {
    "type": "object",
    "properties": {
        "distance": {"type": "number", "minimum": 0},
        "point_a": VEC3_SCHEMA,
        "point_b": VEC3_SCHEMA,
        "elements": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
        "solutions": {"type": "integer", "minimum": 1},
        "tolerance": {"type": "number"},
        "center_distance": {"type": "number", "minimum": 0},
        "center_a": VEC3_SCHEMA,
        "center_b": VEC3_SCHEMA,
        "axis_distance": {"type": "number", "minimum": 0},
        "axes_parallel": {"type": "boolean"},
    },
    "required": ["distance", "point_a", "point_b", "elements", "tolerance"],
}


def hit_ref(element: Element, kind: str, index: int) -> str:
    """The ref of the element distToShape reports (``index`` is 0-based into ``element.shape``).

    For a whole object that is the exact face, edge or vertex. For a face or edge
    ref it is that ref, even when the closest point lies on its boundary: naming
    the boundary edge would cost a scan of every edge of the object, more than
    the distance computation itself on large parts.
    """
    if element.kind is None and not element.is_point:
        return element_ref(element.obj, kind, index + 1)
    return element.ref


def centre_of(element: Element) -> tuple[Any, Any] | None:
    """(centre, axis or None) of a circular edge, cylindrical face or spherical face."""
    shape = element.shape
    if element.kind == "Edge":
        info = curve_info(shape)
        if info.type is CurveType.CIRCLE:
            return info.center, None
    elif element.kind == "Face":
        info = surface_info(shape)
        if info.type is SurfaceType.CYLINDER:
            return axial_center(shape, info.axis), info.axis
        if info.type is SurfaceType.SPHERE:
            return info.center, None
    return None


@tool(result=RESULT, raw_geometry=True)
def measure_distance(
    ctx: ToolContext,
    a: Annotated[Ref, Arg("First reference: 'Plate.Face7', 'Plate.Edge3', 'Plate' or {'point': [x, y, z]}")],
    b: Annotated[Ref, Arg("Second reference, same forms as `a`")],
) -> dict:
    first, second = resolve_all(ctx.document, [a, b])
    distance, pairs, infos = first.shape.distToShape(second.shape)
    point_a, point_b = pairs[0]
    kind_a, index_a, _, kind_b, index_b, _ = infos[0]
    result = {
        "distance": distance,
        "point_a": point_a,
        "point_b": point_b,
        "elements": [hit_ref(first, kind_a, index_a), hit_ref(second, kind_b, index_b)],
        "solutions": len(pairs),
        "tolerance": max(tolerance_of(first.shape), tolerance_of(second.shape)),
    }
    centre_a, centre_b = centre_of(first), centre_of(second)
    if centre_a and centre_b:
        result["center_distance"] = (centre_b[0] - centre_a[0]).Length
        result["center_a"], result["center_b"] = centre_a[0], centre_b[0]
        axis_a, axis_b = centre_a[1], centre_b[1]
        if axis_a is not None and axis_b is not None:
            result["axis_distance"] = line_distance(axis_a, axis_b)
            result["axes_parallel"] = is_parallel(axis_a.direction, axis_b.direction)
    return result

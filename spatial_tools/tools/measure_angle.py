"""measure_angle: angle between plane normals, straight edges and rotation axes, in any mix."""

from __future__ import annotations

from typing import Annotated, Any

from ..context import ToolContext
from ..errors import NotApplicable
from ..geometry.query import (
    AXIAL_SURFACES,
    CurveType,
    SurfaceType,
    acute_deg,
    angle_deg,
    curve_info,
    edge_direction,
    face_normal_at,
    surface_info,
)
from ..refs import Element, resolve_all
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg, Ref

VECTOR_SCHEMA = {
    "type": "object",
    "properties": {
        "ref": {"type": "string"},
        "kind": {"type": "string", "enum": ["normal", "direction", "axis"]},
        "direction": VEC3_SCHEMA,
    },
    "required": ["ref", "kind", "direction"],
}

RESULT = {
    "type": "object",
    "properties": {
        "angle_deg": {"type": "number", "minimum": 0, "maximum": 180},
        "acute_deg": {"type": "number", "minimum": 0, "maximum": 90},
        "a": VECTOR_SCHEMA,
        "b": VECTOR_SCHEMA,
        "oriented": {"type": "boolean"},
    },
    "required": ["angle_deg", "acute_deg", "a", "b", "oriented"],
}


def direction_of(element: Element) -> tuple[str, Any]:
    """(kind, unit vector) that stands for the element in an angle measurement."""
    if element.kind == "Face":
        info = surface_info(element.shape)
        if info.type is SurfaceType.PLANE:
            return "normal", face_normal_at(element.shape)
        if info.type in AXIAL_SURFACES:
            return "axis", info.axis.direction
        raise NotApplicable(
            f"'{element.ref}' is a {info.type} face: it has neither a single normal nor an axis "
            "(use a planar face, a straight edge, or a cylinder/cone/torus face)"
        )
    if element.kind == "Edge":
        info = curve_info(element.shape)
        if info.type is CurveType.LINE:
            return "direction", edge_direction(element.shape)
        if info.type is CurveType.CIRCLE:
            return "axis", info.axis.direction
        raise NotApplicable(f"'{element.ref}' is a {info.type} edge: only straight and circular edges have a direction")
    what = "a point" if element.is_point else ("a vertex" if element.kind == "Vertex" else "a whole object")
    raise NotApplicable(f"'{element.ref}' is {what}: an angle needs a face or an edge, e.g. 'Plate.Face3'")


@tool(result=RESULT)
def measure_angle(
    ctx: ToolContext,
    a: Annotated[Ref, Arg("A planar face (its normal), a straight edge, or a cylinder/cone/torus face or circular edge (its axis), e.g. 'Plate.Face3'")],
    b: Annotated[Ref, Arg("Second element, same forms as `a`")],
) -> dict:
    first, second = resolve_all(ctx.document, [a, b])
    kind_a, vector_a = direction_of(first)
    kind_b, vector_b = direction_of(second)
    angle = angle_deg(vector_a, vector_b)
    return {
        "angle_deg": angle,
        "acute_deg": acute_deg(angle),
        "a": {"ref": first.ref, "kind": kind_a, "direction": vector_a},
        "b": {"ref": second.ref, "kind": kind_b, "direction": vector_b},
        # Only face normals have a meaningful sense; edge and axis directions are arbitrary.
        "oriented": kind_a == "normal" and kind_b == "normal",
    }

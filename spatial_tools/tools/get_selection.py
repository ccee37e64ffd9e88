"""get_selection: what the user picked, each item resolved and summarised by the query vocabulary."""

from __future__ import annotations

from typing import Any

from ..context import ToolContext
from ..errors import BadReference
from ..geometry.query import AXIAL_SURFACES, SurfaceType, curve_info, face_normal_at, surface_info
from ..refs import Element, resolve
from ..registry import tool
from ..schema import VEC3_SCHEMA

SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["object", "face", "edge", "vertex", "point"]},
        "surface": {"type": "string"},
        "curve": {"type": "string"},
        "area": {"type": "number"},
        "length": {"type": "number"},
        "radius": {"type": "number"},
        "normal": VEC3_SCHEMA,
        "axis": VEC3_SCHEMA,
        "point": VEC3_SCHEMA,
        "shape_type": {"type": "string"},
        "volume": {"type": "number"},
        "faces": {"type": "integer"},
    },
    "required": ["kind"],
}

RESULT = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "ref": {"type": "string"},
            "picked_point": {"anyOf": [VEC3_SCHEMA, {"type": "null"}]},
            "summary": SUMMARY_SCHEMA,
        },
        "required": ["ref", "picked_point", "summary"],
    },
}


def summarise(element: Element) -> dict[str, Any]:
    """A few numbers that tell the model what the element is, without another tool call."""
    shape = element.shape
    if element.is_point:
        return {"kind": "point", "point": shape.Point}
    if element.kind == "Vertex":
        return {"kind": "vertex", "point": shape.Point}
    if element.kind == "Edge":
        info = curve_info(shape)
        summary = {"kind": "edge", "curve": str(info.type), "length": shape.Length}
        if info.radius is not None:
            summary["radius"] = info.radius
        if info.axis is not None:
            summary["axis"] = info.axis.direction
        return summary
    if element.kind == "Face":
        info = surface_info(shape)
        summary = {"kind": "face", "surface": str(info.type), "area": shape.Area}
        if info.radius is not None:
            summary["radius"] = info.radius
        if info.type is SurfaceType.PLANE:
            summary["normal"] = face_normal_at(shape)
        elif info.type in AXIAL_SURFACES:
            summary["axis"] = info.axis.direction
        return summary
    summary = {"kind": "object", "shape_type": shape.ShapeType, "area": shape.Area, "faces": len(shape.Faces)}
    if shape.Solids:
        summary["volume"] = sum(s.Volume for s in shape.Solids)
    return summary


@tool(result=RESULT, raw_geometry=True)
def get_selection(ctx: ToolContext) -> list[dict]:
    items, bad = [], []
    for entry in ctx.current_selection():
        ref = entry.get("ref") if isinstance(entry, dict) else entry
        try:
            element = resolve(ctx.document, ref)
        except BadReference as exc:
            bad.append(exc.message)
            continue
        picked = entry.get("picked_point") if isinstance(entry, dict) else None
        # Keep the user's path (Body.Pad.Face2): it is what the GUI shows and it resolves the same.
        shown = ref.strip() if isinstance(ref, str) else element.ref
        items.append({"ref": shown, "picked_point": picked, "summary": summarise(element)})
    if bad:
        raise BadReference(f"{len(bad)} selected item(s) no longer resolve: " + "; ".join(bad))
    return items

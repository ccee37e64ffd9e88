"""select_region: elements of one object by explicit refs, a box, or a geometric filter."""

from __future__ import annotations

from typing import Annotated, Any

from ..context import ToolContext
from ..errors import BadArguments, BadReference
from ..geometry.query import (
    KIND_NAME,
    CurveType,
    ElementFilter,
    ElementKind,
    SurfaceType,
    as_vector,
    elements_in_box,
    filter_elements,
    unit,
)
from ..refs import element_ref, resolve, resolve_object
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg

DEFAULT_ANGLE_TOL_DEG = ElementFilter.angle_tol_deg

_LENGTH = {"type": "number", "minimum": 0}

BOX_SCHEMA = {
    "type": "object",
    "properties": {
        "min": dict(VEC3_SCHEMA, description="Lower corner [x, y, z] in mm"),
        "max": dict(VEC3_SCHEMA, description="Upper corner [x, y, z] in mm"),
        "element": {"type": "string", "enum": [k.value for k in ElementKind], "description": "What to select (default face)"},
    },
    "required": ["min", "max"],
    "additionalProperties": False,
}

FILTER_SCHEMA = {
    "type": "object",
    "properties": {
        "element": {"type": "string", "enum": ["face", "edge"], "description": "What to select (default face)"},
        "surface_type": {"type": "string", "enum": [t.value for t in SurfaceType], "description": "Faces only"},
        "curve_type": {"type": "string", "enum": [t.value for t in CurveType], "description": "Edges only"},
        "normal": dict(VEC3_SCHEMA, description="Planar faces whose outward normal points this way"),
        "axis": dict(VEC3_SCHEMA, description="Cylinder/cone/torus faces, straight or circular edges along this axis (either sense)"),
        "angle_tol_deg": {
            "type": "number",
            "minimum": 0,
            "maximum": 90,
            "description": f"Tolerance of `normal` and `axis` in degrees (default {DEFAULT_ANGLE_TOL_DEG:g})",
        },
        "radius_min": dict(_LENGTH, description="Radius of cylinders, spheres, torus tubes (fillets), circles, in mm"),
        "radius_max": dict(_LENGTH, description="Upper bound of that radius, in mm"),
        "area_min": dict(_LENGTH, description="Face area in mm²"),
        "area_max": dict(_LENGTH, description="Face area in mm²"),
        "length_min": dict(_LENGTH, description="Edge length in mm"),
        "length_max": dict(_LENGTH, description="Edge length in mm"),
    },
    "additionalProperties": False,
}

_FACE_ONLY = ("surface_type", "normal", "area_min", "area_max")
_EDGE_ONLY = ("curve_type", "length_min", "length_max")

RESULT = {
    "type": "object",
    "properties": {
        "object": {"type": "string"},
        "elements": {"type": "array", "items": {"type": "string"}},
        "count": {"type": "integer", "minimum": 0},
    },
    "required": ["object", "elements", "count"],
}


def _direction(values: list[float], name: str) -> Any:
    vector = as_vector(values)
    if vector.Length == 0:
        raise BadArguments(f"filter.{name} must not be the zero vector")
    return unit(vector)


def build_filter(spec: dict) -> ElementFilter:
    """The ElementFilter a `filter` argument describes, or BadArguments saying what does not fit."""
    kind = ElementKind(spec.get("element", "face"))
    wrong = _EDGE_ONLY if kind is ElementKind.FACE else _FACE_ONLY
    misplaced = [key for key in wrong if key in spec]
    if misplaced:
        raise BadArguments(f"filter: {', '.join(misplaced)} do not apply to {kind}s")
    for low, high in (("radius_min", "radius_max"), ("area_min", "area_max"), ("length_min", "length_max")):
        if low in spec and high in spec and spec[low] > spec[high]:
            raise BadArguments(f"filter: {low} {spec[low]} is above {high} {spec[high]}")
    return ElementFilter(
        element=kind,
        surface_type=SurfaceType(spec["surface_type"]) if "surface_type" in spec else None,
        curve_type=CurveType(spec["curve_type"]) if "curve_type" in spec else None,
        normal=_direction(spec["normal"], "normal") if "normal" in spec else None,
        axis=_direction(spec["axis"], "axis") if "axis" in spec else None,
        angle_tol_deg=float(spec.get("angle_tol_deg", DEFAULT_ANGLE_TOL_DEG)),
        radius_min=spec.get("radius_min"),
        radius_max=spec.get("radius_max"),
        area_min=spec.get("area_min"),
        area_max=spec.get("area_max"),
        length_min=spec.get("length_min"),
        length_max=spec.get("length_max"),
    )


def _explicit(ctx: ToolContext, owner: Any, refs: list[str]) -> list[str]:
    found, bad = [], []
    for ref in refs:
        full = ref if "." in ref else f"{owner.Name}.{ref}"  # "Face3" is short for "Plate.Face3"
        try:
            element = resolve(ctx.document, full)
        except BadReference as exc:
            bad.append(exc.message)
            continue
        if element.obj.Name != owner.Name:
            bad.append(f"'{ref}' belongs to '{element.obj.Name}', not to '{owner.Name}'")
        elif element.kind is None:
            bad.append(f"'{ref}' is a whole object, not a face, edge or vertex")
        elif element.ref not in found:
            found.append(element.ref)
    if bad:
        raise BadReference("; ".join(bad))
    return found


@tool(result=RESULT, in_process=True)
def select_region(
    ctx: ToolContext,
    object: Annotated[str, Arg("Object whose elements to select, e.g. 'Plate' or 'Body'")],
    elements: Annotated[list[str] | None, Arg("Explicit element refs, e.g. ['Plate.Face3', 'Face7']")] = None,
    box: Annotated[dict | None, Arg("Axis-aligned box {min: [x, y, z], max: [x, y, z], element?}: elements whose centre lies inside", schema=BOX_SCHEMA)] = None,
    filter: Annotated[dict | None, Arg("Geometric filter; all given conditions must hold", schema=FILTER_SCHEMA)] = None,
) -> dict:
    given = [name for name, value in (("elements", elements), ("box", box), ("filter", filter)) if value is not None]
    if len(given) != 1:
        raise BadArguments(f"give exactly one of elements, box, filter (got {', '.join(given) or 'none'})")
    owner = resolve_object(ctx.document, object)
    if elements is not None:
        refs = _explicit(ctx, owner.obj, elements)
    elif box is not None:
        low, high = box["min"], box["max"]
        if any(lo > hi for lo, hi in zip(low, high, strict=True)):
            raise BadArguments(f"box: min {low} is above max {high} on some axis")
        kind = ElementKind(box.get("element", "face"))
        refs = [element_ref(owner.obj, KIND_NAME[kind], i) for i in elements_in_box(owner.shape, kind, low, high)]
    else:
        element_filter = build_filter(filter)
        kind = element_filter.element
        refs = [element_ref(owner.obj, KIND_NAME[kind], i) for i in filter_elements(owner.shape, element_filter)]
    if ctx.on_select is not None:
        ctx.on_select(refs)
    return {"object": owner.ref, "elements": refs, "count": len(refs)}

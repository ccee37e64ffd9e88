"""mass_properties: volume, area, centre of mass, bounding box, mass and inertia.

A compound's solids may overlap; the material they share is weighed once
(their union) and the result names the pairs, so a number never silently
counts it twice. Mass and inertia come for a compound as for one solid.
"""

from __future__ import annotations

from typing import Annotated

from ..context import ToolContext
from ..errors import NotApplicable
from ..geometry.mass import UnionFailed, weigh
from ..refs import resolve_object
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg

BBOX_SCHEMA = {
    "type": "object",
    "properties": {"min": VEC3_SCHEMA, "max": VEC3_SCHEMA, "size": VEC3_SCHEMA},
    "required": ["min", "max", "size"],
}

RESULT = {
    "type": "object",
    "properties": {
        "object": {"type": "string"},
        "volume": {"type": "number"},
        "area": {"type": "number"},
        "center_of_mass": VEC3_SCHEMA,
        "bbox": BBOX_SCHEMA,
        "solids": {"type": "integer"},
        "mass": {"type": "number"},
        "density": {"type": "number"},
        "inertia": {
            "description": "inertia tensor about the centre of mass (off-diagonal terms are -∫xy dm), g·mm²",
            "type": "array",
            "items": VEC3_SCHEMA,
            "minItems": 3,
            "maxItems": 3,
        },
        "units": {"type": "object"},
        "overlapping_solids": {
            "description": "pairs of the object's solids that share material; it is counted once (their union)",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "solids": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
                    "volume": {"type": "number"},
                },
                "required": ["solids", "volume"],
            },
        },
        "summed_volume": {"type": "number", "description": "the solids' volumes added up, overlaps counted twice"},
        "note": {"type": "string"},
    },
    "required": ["object", "volume", "area", "center_of_mass", "bbox", "units"],
}


def bbox_dict(box) -> dict:
    return {
        "min": [box.XMin, box.YMin, box.ZMin],
        "max": [box.XMax, box.YMax, box.ZMax],
        "size": [box.XLength, box.YLength, box.ZLength],
    }


@tool(result=RESULT)
def mass_properties(
    ctx: ToolContext,
    object: Annotated[str, Arg("Name of the object (e.g. 'Plate' or 'Body')")],
    density: Annotated[float | None, Arg("Density in g/cm³ (aluminium 2.70, steel 7.85, ABS 1.04)", minimum=0)] = None,
) -> dict:
    element = resolve_object(ctx.document, object)
    shape = element.shape
    solids = shape.Solids
    if not solids:
        raise NotApplicable(f"'{object}' has no solid, so no volume (it has {len(shape.Faces)} faces)")
    try:
        weighing = weigh(solids)
    except UnionFailed as exc:
        raise NotApplicable(
            f"'{object}' has solids that overlap and FreeCAD could not compute their union ({exc}), "
            "so its volume is unknown: fuse them (Part Union) and measure the result"
        ) from None
    com = weighing.centre
    if com is None:
        raise NotApplicable(f"'{object}' encloses no volume, so it has no centre of mass")
    area = shape.Area
    if weighing.overlaps:
        # The union's outer skin instead of the overlapping solids' faces; faces outside any solid still count.
        area = sum(s.Area for s in weighing.solids) + max(0.0, area - sum(s.Area for s in solids))
    result = {
        "object": element.ref,
        "volume": weighing.volume,
        "area": area,
        "center_of_mass": list(com),
        "bbox": bbox_dict(shape.BoundBox),
        "solids": len(solids),
        "units": {"length": "mm", "area": "mm2", "volume": "mm3", "mass": "g", "inertia": "g*mm2"},
    }
    if weighing.overlaps:
        result["overlapping_solids"] = [
            {"solids": [f"Solid{o.first + 1}", f"Solid{o.second + 1}"], "volume": o.volume} for o in weighing.overlaps
        ]
        result["summed_volume"] = weighing.summed_volume
        pairs = ", ".join(f"Solid{o.first + 1}/Solid{o.second + 1} ({o.volume:.6g} mm³)" for o in weighing.overlaps)
        result["note"] = (
            f"solids overlap: {pairs}; the shared material is counted once, so volume, area, centre of mass, "
            f"mass and inertia are those of their union ({weighing.volume:.6g} mm³, not the "
            f"{weighing.summed_volume:.6g} mm³ of the solids added up)"
        )
    if density is not None:
        grams_per_mm3 = density / 1000.0
        result["density"] = density
        result["mass"] = weighing.volume * grams_per_mm3
        inertia = weighing.inertia()  # about the centre of mass, unit density (mm^5)
        if inertia is not None:
            result["inertia"] = [[value * grams_per_mm3 for value in row] for row in inertia]
    return result

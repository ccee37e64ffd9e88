"""mass_properties: volume, area, centre of mass, bounding box, mass and inertia."""

from __future__ import annotations

from typing import Annotated

from ..context import ToolContext
from ..errors import NotApplicable
from ..geometry.mass import volume_and_centre
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
        "inertia": {"type": "array", "items": VEC3_SCHEMA, "minItems": 3, "maxItems": 3},
        "units": {"type": "object"},
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
    volume, com = volume_and_centre(solids)
    if com is None:
        raise NotApplicable(f"'{object}' encloses no volume, so it has no centre of mass")
    result = {
        "object": element.ref,
        "volume": volume,
        "area": shape.Area,
        "center_of_mass": list(com),
        "bbox": bbox_dict(shape.BoundBox),
        "solids": len(solids),
        "units": {"length": "mm", "area": "mm2", "volume": "mm3", "mass": "g", "inertia": "g*mm2"},
    }
    if density is not None:
        grams_per_mm3 = density / 1000.0
        result["density"] = density
        result["mass"] = volume * grams_per_mm3
        if len(solids) == 1:
            # MatrixOfInertia is about the centre of mass, for unit density (mm^5).
            m = solids[0].MatrixOfInertia
            result["inertia"] = [[m.A[r * 4 + c] * grams_per_mm3 for c in range(3)] for r in range(3)]
    return result

"""find_features: holes, pockets, slots, steps, fillets, chamfers and bosses of a solid."""

from __future__ import annotations

from typing import Annotated, Literal

from ..context import ToolContext
from ..errors import NotApplicable
from ..geometry.features import recognize_all
from ..refs import resolve_object
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg

FeatureKind = Literal["hole", "pocket", "slot", "step", "fillet", "chamfer", "boss", "rib"]
NOT_RECOGNISED = {"rib": "rib recognition is not implemented; ribs are not reported"}

_REFS = {"type": "array", "items": {"type": "string"}}
_NUMBER = {"type": "number"}
_LENGTH = {"type": "number", "minimum": 0}

SEGMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "shape": {"type": "string", "enum": ["cylinder", "cone", "flat", "sphere", "round", "thread"]},
        "start": _NUMBER,
        "end": _NUMBER,
        "diameters": {"type": "array", "items": _LENGTH},
        "angle_deg": _NUMBER,
        "pitch": {"type": ["number", "null"]},
        "faces": _REFS,
    },
    "required": ["shape", "start", "end", "faces"],
}

HOLE_SCHEMA = {
    "properties": {
        "diameter": _LENGTH,
        "depth": _LENGTH,
        "through": {"type": "boolean"},
        "axis": VEC3_SCHEMA,
        "position": VEC3_SCHEMA,
        "bottom": {"type": "string", "enum": ["flat", "cone", "through", "spherical", "other"]},
        "tip_angle_deg": _NUMBER,
        "bottom_face": {"type": "string"},
        "span_deg": _NUMBER,
        "partial": {"type": "boolean"},
        "segments": {"type": "array", "items": SEGMENT_SCHEMA},
        "counterbore": {"type": "object", "properties": {"diameter": _LENGTH, "depth": _LENGTH}, "required": ["diameter", "depth"]},
        "countersink": {"type": "object", "properties": {"diameter": _LENGTH, "angle_deg": _NUMBER}, "required": ["diameter", "angle_deg"]},
        "entry_faces": _REFS,
        "exit_faces": _REFS,
        "thread": {  # a modelled internal thread (a tapped hole); its faces are the "thread" segment's
            "type": "object",
            "properties": {"major_diameter": _LENGTH, "minor_diameter": _LENGTH, "pitch": {"type": ["number", "null"]},
                           "start": _NUMBER, "end": _NUMBER, "length": _LENGTH},
            "required": ["major_diameter", "minor_diameter", "pitch", "length"],
        },
    },
    "required": ["diameter", "depth", "through", "axis", "position", "bottom", "segments"],
}

DEPRESSION_SCHEMA = {
    "properties": {
        "depth": _LENGTH,
        "width": _LENGTH,
        "length": _LENGTH,
        "through": {"type": "boolean"},
        "profile": {"type": "string"},
        "sides": {"type": "integer"},
        "floor": _REFS,
        "walls": _REFS,
        "axis": VEC3_SCHEMA,
        "run": VEC3_SCHEMA,
        "position": VEC3_SCHEMA,
        "length_direction": VEC3_SCHEMA,
        "skew_deg": _NUMBER,
        "corner_radius": _LENGTH,
        "blend_faces": _REFS,
    },
    "required": ["depth", "width", "length", "through", "profile", "walls", "axis", "position"],
}

FILLET_SCHEMA = {
    "properties": {"radius": _LENGTH, "concave": {"type": "boolean"}, "length": _LENGTH},
    "required": ["radius", "concave"],
}

CHAMFER_SCHEMA = {
    "properties": {
        "size": _LENGTH,
        "legs": {"type": "array", "items": _LENGTH, "minItems": 2, "maxItems": 2},
        "angle_deg": _NUMBER,
        "width": _LENGTH,
        "length": _LENGTH,
        "between": _REFS,
    },
    "required": ["size", "legs", "angle_deg", "between"],
}

BOSS_SCHEMA = {
    "properties": {
        "diameter": _LENGTH,
        "height": _LENGTH,
        "axis": VEC3_SCHEMA,
        "position": VEC3_SCHEMA,
        "base_face": {"type": "string"},
        "top_faces": _REFS,
        "blend_faces": _REFS,
        "base_fillet_radius": _LENGTH,
    },
    "required": ["diameter", "height", "axis", "position"],
}


def _when(kind: str, schema: dict) -> dict:
    return {"if": {"properties": {"kind": {"const": kind}}}, "then": schema}


FEATURE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["hole", "pocket", "slot", "step", "fillet", "chamfer", "boss"]},
        "faces": dict(_REFS, minItems=1),
    },
    "required": ["id", "kind", "faces"],
    "allOf": [
        _when("hole", HOLE_SCHEMA),
        _when("pocket", DEPRESSION_SCHEMA),
        _when("slot", DEPRESSION_SCHEMA),
        _when("step", DEPRESSION_SCHEMA),
        _when("fillet", FILLET_SCHEMA),
        _when("chamfer", CHAMFER_SCHEMA),
        _when("boss", BOSS_SCHEMA),
    ],
}

RESULT = {
    "type": "object",
    "properties": {
        "object": {"type": "string"},
        "features": {"type": "array", "items": FEATURE_SCHEMA},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "note": {"type": "string"},
        "units": {"type": "object"},
    },
    "required": ["object", "features", "counts", "units"],
}

REFERENCE_KEYS = ("faces", "floor", "walls", "blend_faces", "entry_faces", "exit_faces", "top_faces", "between")
SINGLE_REFERENCE_KEYS = ("bottom_face", "base_face")


def _with_object(record: dict, prefix: str) -> dict:
    """Turns the recogniser's ``FaceN`` names into refs ``Object.FaceN`` everywhere in a record."""
    out = {}
    for key, value in record.items():
        if key in REFERENCE_KEYS and isinstance(value, list):
            out[key] = [f"{prefix}.{v}" for v in value]
        elif key in SINGLE_REFERENCE_KEYS and isinstance(value, str):
            out[key] = f"{prefix}.{value}"
        elif key == "segments":
            out[key] = [_with_object(s, prefix) for s in value]
        else:
            out[key] = value
    return out


@tool(result=RESULT, raw_geometry=True)
def find_features(
    ctx: ToolContext,
    object: Annotated[str, Arg("Name of the solid object (e.g. 'Plate', 'Body')")],
    kind: Annotated[FeatureKind | None, Arg("Only features of this kind (default: all)")] = None,
) -> dict:
    element = resolve_object(ctx.document, object)
    shape = element.shape
    if not shape.Solids:
        raise NotApplicable(f"'{object}' has no solid to recognise features on (it has {len(shape.Faces)} faces)")
    features = [_with_object(record, element.ref) for record in recognize_all(shape)]
    if kind is not None:
        features = [f for f in features if f["kind"] == kind]
    counts: dict[str, int] = {}
    for feature in features:
        counts[feature["kind"]] = counts.get(feature["kind"], 0) + 1
    result = {
        "object": element.ref,
        "features": features,
        "counts": counts,
        "units": {"length": "mm", "angle": "deg"},
    }
    if kind in NOT_RECOGNISED:
        result["note"] = NOT_RECOGNISED[kind]
    return result

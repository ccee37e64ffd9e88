"""Machining feature recognition on a solid: the order of the recognisers and the output form.

Each recogniser claims its faces so later ones do not reuse them: holes
first (their cylinders, cones, shoulders and bottoms), then bosses, fillets,
chamfers, and last the planar depressions (pockets, slots, steps) among what
is left. Recognition runs on the shape in its own coordinates, where parts
are modelled square to their axes; points and directions are then mapped
through the shape's placement, so results are in the caller's (global) mm.
"""

from __future__ import annotations

from typing import Any

from .blends import find_chamfers, find_fillets
from .depressions import find_depressions
from .feature_model import Direction, FaceIdx, Feature, Point, part_model
from .holes import find_holes
from .protrusions import find_bosses

KINDS = ("hole", "pocket", "slot", "step", "fillet", "chamfer", "boss")


def recognize_local(shape: Any, up: Any = None) -> list[Feature]:
    """Features of ``shape`` in its own coordinates (placement ignored), in a stable order.

    ``up`` is the local direction of global +Z; it only decides which end of a
    through hole is reported as the entry when nothing else does.
    """
    model = part_model(shape)
    model.up = up
    found: list[Feature] = []
    found += find_holes(model)
    found += find_bosses(model)
    found += find_fillets(model)
    found += find_chamfers(model)
    found += find_depressions(model)
    found.sort(key=Feature.sort_key)
    return found


def _globalise(value: Any, placement: Any) -> Any:
    import FreeCAD

    if isinstance(value, FaceIdx):
        return f"Face{int(value) + 1}"
    if isinstance(value, Point):
        return list(placement.multVec(FreeCAD.Vector(*value)))
    if isinstance(value, Direction):
        v = placement.Rotation.multVec(FreeCAD.Vector(*value))
        return [v.x, v.y, v.z]
    if isinstance(value, dict):
        return {k: _globalise(v, placement) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_globalise(v, placement) for v in value]
    return value


def recognize(shape: Any) -> list[dict]:
    """Features of a solid as plain dicts: ``faces`` as ``FaceN`` names, coordinates global.

    Each dict has ``id`` (``hole1``, ``pocket2``...), ``kind``, ``faces`` and
    the kind's measurements.
    """
    import FreeCAD

    placement = shape.Placement
    local = shape.copy(False)  # topology only: the geometry is shared, not duplicated
    local.Placement = FreeCAD.Placement()
    up = placement.Rotation.inverted().multVec(FreeCAD.Vector(0, 0, 1))
    counters: dict[str, int] = {}
    result = []
    for feature in recognize_local(local, up):
        counters[feature.kind] = counters.get(feature.kind, 0) + 1
        record = {"id": f"{feature.kind}{counters[feature.kind]}", "kind": feature.kind, "faces": feature.faces}
        record.update(feature.data)
        result.append(_globalise(record, placement))
    return result


def recognize_all(shape: Any) -> list[dict]:
    """Recognised features of every solid of ``shape``, face names those of the whole shape."""
    solids = shape.Solids
    if not solids:
        return []
    if len(solids) == 1 and len(solids[0].Faces) == len(shape.Faces):
        return recognize(shape if shape.ShapeType == "Solid" else solids[0])
    index = {}
    for k, face in enumerate(shape.Faces):
        index.setdefault(face.hashCode(), []).append((k, face))
    found = []
    for solid in solids:
        names = {}
        for k, face in enumerate(solid.Faces):
            match = next((i for i, f in index.get(face.hashCode(), []) if f.isSame(face)), None)
            if match is not None:
                names[f"Face{k + 1}"] = f"Face{match + 1}"
        found += [_rename(record, names) for record in recognize(solid)]
    counters: dict[str, int] = {}
    for record in found:  # ids unique across the solids, as find_features numbers them
        counters[record["kind"]] = counters.get(record["kind"], 0) + 1
        record["id"] = f"{record['kind']}{counters[record['kind']]}"
    return found


def _rename(value: Any, names: dict) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("id", "kind") else _rename(v, names)) for k, v in value.items()}
    return value

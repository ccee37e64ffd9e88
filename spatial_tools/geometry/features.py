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

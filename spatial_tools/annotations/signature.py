"""A face's geometric fingerprint, and finding faces again by it after a recompute.

FreeCAD 0.20 names faces by position (``Face7``); adding a feature earlier in
the history can renumber them. An annotation stores each face's signature
(surface type, area, centroid, normal or axis, radius) in the object's own
coordinates, so moving the part does not lose it. After a recompute the face
of the stored name is kept when it still matches; otherwise the one face that
matches takes its place; with none, or more than one, the face is *lost* and
stays unattached: never silently moved to the wrong face.

FreeCAD 1.x names faces through an element map as well and renames a link's
faces itself on recompute; ``has_element_map`` and ``mapped_name`` tell where
that answer exists, so ``store.refresh_attachment`` can follow it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Relative tolerance on areas and radii, and on positions against the part's size.
REL_TOL = 1e-4
ANGLE_TOL_DEG = 0.05


def _surface_kind(face: Any) -> str:
    name = type(face.Surface).__name__
    return {"Plane": "plane", "Cylinder": "cylinder", "Cone": "cone", "Sphere": "sphere", "Toroid": "torus"}.get(name, name.lower())


def _vec(v: Any) -> list[float]:
    return [round(float(v.x), 6), round(float(v.y), 6), round(float(v.z), 6)]


def face_signature(face: Any, to_local: Any = None) -> dict:
    """Surface type, area, centroid and normal/axis (and radius) of ``face``.

    ``to_local`` (an App.Placement) maps global coordinates into the object's
    own, so a signature survives a change of the part's placement.
    """
    kind = _surface_kind(face)
    centroid = face.CenterOfMass
    direction = None
    radius = None
    surface = face.Surface
    if kind == "plane":
        u0, u1, v0, v1 = face.ParameterRange
        direction = face.normalAt((u0 + u1) / 2, (v0 + v1) / 2)
    elif kind in ("cylinder", "cone"):
        direction = surface.Axis
        radius = float(getattr(surface, "Radius", 0.0))
    elif kind == "sphere":
        radius = float(surface.Radius)
    elif kind == "torus":
        direction = surface.Axis
        radius = float(surface.MajorRadius)
    if to_local is not None:
        rotation = to_local.Rotation
        centroid = to_local.multVec(centroid)
        direction = rotation.multVec(direction) if direction is not None else None
    if direction is not None and kind != "plane":
        # An axis has no sense: keep one of its two directions canonically.
        d = [direction.x, direction.y, direction.z]
        first = next((c for c in d if abs(c) > 1e-9), 1.0)
        if first < 0:
            direction = direction.negative()
    sig: dict[str, Any] = {"surface": kind, "area": round(float(face.Area), 6), "centroid": _vec(centroid)}
    if direction is not None:
        sig["direction"] = _vec(direction)
    if radius is not None:
        sig["radius"] = round(radius, 6)
    return sig


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), scale)


def signatures_match(a: dict, b: dict, size: float = 1.0) -> bool:
    """Whether two signatures describe the same face (``size``: the part's diagonal, for positions)."""
    if a.get("surface") != b.get("surface"):
        return False
    if not _close(a["area"], b["area"], size * size * 1e-3):
        return False
    if any(not _close(x, y, size) for x, y in zip(a["centroid"], b["centroid"], strict=True)):
        return False
    if ("radius" in a) != ("radius" in b) or ("radius" in a and not _close(a["radius"], b["radius"], 1.0)):
        return False
    if ("direction" in a) != ("direction" in b):
        return False
    if "direction" in a:
        # Stored directions are rounded to 6 digits, so they are unit vectors only to about 1e-6:
        # compare the angle between them, not the raw dot product.
        da, db = a["direction"], b["direction"]
        norms = math.sqrt(sum(x * x for x in da) * sum(y * y for y in db))
        dot = sum(x * y for x, y in zip(da, db, strict=True)) / norms if norms else -1.0
        if dot < math.cos(math.radians(ANGLE_TOL_DEG)):
            return False
    return True


def edge_signature(edge: Any, to_local: Any = None) -> dict:
    """Curve type, length and centre of mass of ``edge`` (object coordinates with ``to_local``)."""
    centre = edge.CenterOfMass if hasattr(edge, "CenterOfMass") else edge.Vertexes[0].Point
    if to_local is not None:
        centre = to_local.multVec(centre)
    return {"surface": "edge:" + type(edge.Curve).__name__.lower(), "area": round(float(edge.Length), 6), "centroid": _vec(centre)}


def vertex_signature(vertex: Any, to_local: Any = None) -> dict:
    point = vertex.Point if to_local is None else to_local.multVec(vertex.Point)
    return {"surface": "vertex", "area": 0.0, "centroid": _vec(point)}


def element_signature(shape: Any, name: str, to_local: Any = None) -> dict | None:
    """The signature of element ``name`` ('Face7', 'Edge3', 'Vertex2') of ``shape``; None if absent."""
    kind, index = split_name(name)
    if kind not in _SIGNERS or index is None or index < 0:
        return None
    try:  # one element, not the list of all (a 637-face part: 0.7 s for 114 findings that way)
        element = shape.getElement(f"{kind}{index + 1}")
    except Exception:  # an index past the end: FreeCAD raises its own kinds, per version
        return None
    return _SIGNERS[kind](element, to_local)


def shape_signatures(shape: Any, to_local: Any = None) -> dict[str, list[dict]]:
    """The signature of every face, edge and vertex of ``shape``, in FreeCAD's order per kind."""
    return {
        "Face": [face_signature(f, to_local) for f in shape.Faces],
        "Edge": [edge_signature(e, to_local) for e in shape.Edges],
        "Vertex": [vertex_signature(v, to_local) for v in shape.Vertexes],
    }


_SIGNERS = {"Face": face_signature, "Edge": edge_signature, "Vertex": vertex_signature}


@dataclass
class Rematch:
    """Where each stored face is now: ``names`` maps old name -> new name, ``lost`` the rest."""

    names: dict[str, str] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(old != new for old, new in self.names.items())


def rematch(stored: dict[str, dict], current: dict[str, list[dict]], size: float = 1.0) -> Rematch:
    """Finds each stored element (name -> signature) among ``current`` (``shape_signatures``).

    The face of the same name wins when it still matches; otherwise exactly one
    matching face must exist and not be claimed by another stored face.
    """
    result = Rematch()
    pending: list[tuple[str, dict]] = []
    claimed: set[tuple[str, int]] = set()
    for name, sig in stored.items():
        kind, index = split_name(name)
        pool = current.get(kind or "", [])
        if index is not None and index < len(pool) and signatures_match(sig, pool[index], size):
            result.names[name] = name
            claimed.add((kind, index))
        else:
            pending.append((name, sig))
    for name, sig in pending:
        kind, _ = split_name(name)
        pool = current.get(kind or "", [])
        candidates = [i for i, cur in enumerate(pool) if (kind, i) not in claimed and signatures_match(sig, cur, size)]
        if len(candidates) == 1:
            claimed.add((kind, candidates[0]))
            result.names[name] = f"{kind}{candidates[0] + 1}"
        else:
            result.lost.append(name)
    return result


def has_element_map(shape: Any) -> bool:
    """Whether FreeCAD names the elements of ``shape`` through an element map (1.x's toponaming).

    By capability, not version: 1.x TopoShapes carry an ``ElementMapVersion``
    ('4' on 1.0, '15.70200.5' on 1.1); 0.20's have no such attribute.
    """
    return bool(getattr(shape, "ElementMapVersion", ""))


def mapped_name(shape: Any, name: str) -> str:
    """FreeCAD's history name of element ``name`` (e.g. 'Face6;:M;CUT;:H9f:7,F'); '' where there is none.

    Empty where the index is the element's only name: 0.20, primitives
    (Part::Box) and shapes set from Python, whose links FreeCAD 1.x keeps by
    index only, so the index says nothing about which face it is.
    """
    getter = getattr(shape, "getElementMappedName", None)
    if getter is None or not name or name.startswith("?"):
        return ""
    try:
        return str(getter(name) or "")
    except Exception:  # an index past the end: no such element, so no name either
        return ""


def split_name(name: str) -> tuple[str | None, int | None]:
    """('Face', 6) for 'Face7' (0-based index); (None, None) for anything else."""
    for kind in ("Face", "Edge", "Vertex"):
        if name.startswith(kind) and name[len(kind):].isdigit():
            return kind, int(name[len(kind):]) - 1
    return None, None

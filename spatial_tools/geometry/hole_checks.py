"""Questions the DFM hole rules ask of recognised holes, each answered in one place.

Holes come from the feature recogniser (``features.recognize``, see holes.py)
as plain dicts in global mm with ``FaceN`` names of the whole shape. On top
of that this module answers: which bores a drill cuts and how deep
(``bores``), how much of its circle each bore keeps (``bore_spans``), and
which faces a drill enters and leaves the part through and at what angle
to the axis (``drill_ends``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .features import recognize_all as features_of
from .holes import angular_span_deg

FEATURES_KEY = "features"  # per-object cache key of the recognised features (a list of dicts)
SURFACE_STEPS = 8  # Newton steps to put the drill axis on a curved entry surface
SURFACE_EPS = 1e-9  # mm: the axis point is on the surface
END_REACH = 0.05  # an entry edge starts within this fraction of Ø of the hole's end
END_REACH_MIN = 1e-3  # mm: and never tighter than this
PARALLEL_SIN = 1e-3  # sine of the angle under which a straight edge runs along the axis
NOISE_DIGITS = 6  # measurements are graded to 1e-6 (mm, deg, ratio, %): below that is kernel noise


def settle(value: float) -> float:
    """A measurement rounded to the kernel's noise floor, so a face drawn at exactly 1° or a
    hole at exactly Ø1.2 is graded as drawn, not as 1.000000000001° or Ø1.1999999999."""
    return round(value, NOISE_DIGITS)


def cached_features(target: Any) -> list[dict]:
    """``features_of(target.shape)``, computed once per object and kept in ``target.cache``."""
    if FEATURES_KEY not in target.cache:
        target.cache[FEATURES_KEY] = features_of(target.shape)
    return target.cache[FEATURES_KEY]


def holes_of(target: Any) -> list[dict]:
    """The recognised holes of a DFM target (anything with ``shape`` and a ``cache`` dict)."""
    return [f for f in cached_features(target) if f["kind"] == "hole"]


def face_of(faces: list, name: str) -> Any:
    """The face ``FaceN`` of a shape whose ``Faces`` list is ``faces`` (the kernel builds that list
    anew on every ``shape.Faces``: fetch it once per question)."""
    return faces[int(name[4:]) - 1]


def _vector(values: Any) -> Any:
    import FreeCAD

    return FreeCAD.Vector(*values)


# --- bores ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bore:
    """One cylinder of a hole: its Ø, where it starts and ends along the drill's feed (mm from the
    entry), its faces, and the share of the circle it keeps (360 for a full bore)."""

    diameter: float
    start: float
    end: float
    faces: tuple[str, ...]
    span_deg: float = 360.0


def bores(hole: dict) -> list[Bore]:
    """The cylinders of a hole from the entry down (a counterbore before the hole it leads to)."""
    return [
        Bore(s["diameters"][0], s["start"], s["end"], tuple(s["faces"]))
        for s in hole["segments"]
        if s["shape"] == "cylinder"
    ]


def bore_spans(faces: list, hole: dict) -> list[Bore]:
    """``bores`` with each one's angular span about the hole axis (where the part edge or another
    feature cuts the cylinder open, the span is under 360°). ``faces`` is the shape's ``Faces``."""
    origin, axis = _vector(hole["position"]), _vector(hole["axis"])
    result = []
    for bore in bores(hole):
        span = angular_span_deg([face_of(faces, n) for n in bore.faces], origin, axis)
        result.append(Bore(bore.diameter, bore.start, bore.end, bore.faces, span))
    return result


def drilled_bore(hole: dict) -> Bore:
    """The bore the hole's own Ø is drilled with (the narrowest; the deepest of equals)."""
    return min(bores(hole), key=lambda b: (round(b.diameter, 6), -b.end))


def tap_drill_bore(hole: dict) -> Bore:
    """The bore a tapped hole's thread is cut in: among the bores that overlap the thread along the axis,
    the one whose Ø is nearest the thread's minor Ø. A thread in a counterbore that steps down to a narrower
    passage (a gland body) is cut in the counterbore, not the passage. Without a modelled thread, or with no
    bore beside it, the drilled bore (``drilled_bore``)."""
    thread = hole.get("thread")
    if not thread:
        return drilled_bore(hole)
    start, end = sorted((thread["start"], thread["end"]))
    beside = [b for b in bores(hole) if min(b.end, end) - max(b.start, start) > 0]
    if not beside:
        return drilled_bore(hole)
    minor = thread.get("minor_diameter") or thread["major_diameter"]
    return min(beside, key=lambda b: (round(abs(b.diameter - minor), 6), -b.end))


# --- where the drill enters and leaves ---------------------------------------------------------


@dataclass(frozen=True)
class DrillEnd:
    """A face the drill enters (``entry``) or leaves (``exit``) the part through, and the angle
    between the drill axis and that face's normal where the axis pierces it."""

    end: str  # "entry" | "exit"
    face: str  # FaceN
    angle_deg: float
    point: tuple[float, float, float]  # where the axis meets the face's surface (global mm)


def _axis_on_surface(face: Any, start: Any, axis: Any) -> tuple[Any, Any]:
    """Where the line (start, axis) meets the face's surface near ``start``, and the unit normal
    there: Newton steps over tangent planes (one step on a plane)."""
    surface = face.Surface
    if type(surface).__name__ == "Plane":
        normal = surface.Axis
        denominator = normal.dot(axis)
        if abs(denominator) < 1e-12:
            return start, normal
        return start + axis * (normal.dot(surface.Position - start) / denominator), normal
    p = start
    normal = None
    for _ in range(SURFACE_STEPS):
        u, v = surface.parameter(p)
        q = face.valueAt(u, v)
        normal = face.normalAt(u, v)
        denominator = normal.dot(axis)
        if abs(denominator) < 1e-12:
            return q, normal  # the axis runs along the surface: the normal is square to the drill
        t = normal.dot(q - p) / denominator
        p = p + axis * t
        if abs(t) <= SURFACE_EPS:
            break
    return p, normal


def _along_axis(edge: Any, axis: Any) -> bool:
    """A straight edge parallel to the axis: a side of a bore cut open, not a rim."""
    if type(getattr(edge, "Curve", None)).__name__ not in ("Line", "LineSegment"):
        return False
    d = edge.Vertexes[-1].Point - edge.Vertexes[0].Point
    return d.Length > 0 and d.cross(axis).Length <= PARALLEL_SIN * d.Length


def _edge_depths(edge: Any, origin: Any, axis: Any, samples: int = 8) -> list[float]:
    first, last = edge.ParameterRange
    return [(edge.valueAt(first + (last - first) * k / samples) - origin).dot(axis) for k in range(samples + 1)]


def drill_ends(faces: list, hole: dict) -> list[DrillEnd]:
    """Faces the drill enters the part through (and, for a through hole, leaves it through).

    A face counts when it meets the hole's faces along a rim edge that reaches the hole's end:
    straight sides of a bore cut open run along the axis and are not rims, and a cross hole
    meeting the bore half-way down is not where the drill enters. The angle is measured where
    the drill axis meets the face's surface, so a hole square to a curved face reads 0°.
    ``faces`` is the shape's ``Faces`` list.
    """
    origin, axis = _vector(hole["position"]), _vector(hole["axis"])
    member_edges: dict[int, list] = {}
    for name in hole["faces"]:
        for e in face_of(faces, name).Edges:
            member_edges.setdefault(e.hashCode(), []).append(e)
    reach = max(END_REACH * hole["diameter"], END_REACH_MIN)
    ends = [("entry", "entry_faces", 0.0)]
    if hole["through"]:
        ends.append(("exit", "exit_faces", hole["depth"]))
    found = []
    for end, key, depth in ends:
        start = origin + axis * depth
        for name in hole.get(key, []):
            face = face_of(faces, name)
            rim = [
                e for e in face.Edges
                if any(e.isSame(m) for m in member_edges.get(e.hashCode(), ())) and not _along_axis(e, axis)
            ]
            depths = [d for e in rim for d in _edge_depths(e, origin, axis)]
            if not depths or min(abs(d - depth) for d in depths) > reach:
                continue
            point, normal = _axis_on_surface(face, start, axis)
            cosine = abs(normal.dot(axis)) / ((normal.Length * axis.Length) or 1.0)
            angle = math.degrees(math.acos(min(1.0, cosine)))
            found.append(DrillEnd(end, name, angle, (point.x, point.y, point.z)))
    return found

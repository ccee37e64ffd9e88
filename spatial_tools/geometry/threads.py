"""Modelled threads: helical faces wound around a bore or a shaft, read as one thread.

A modelled thread (PartDesign Hole with ModelThread, a Part helix sweep, a
STEP thread) reaches the kernel as freeform faces (B-splines) between the
crest and root cylinders. The DFM rules must judge the tapped hole or the
threaded shaft, not each of those faces: this module finds them.

A thread is a connected group of freeform faces next to a cylinder or cone
whose axis they wind around (they cover the full circle), whose profile cut
by a half-plane through the axis repeats at a pitch along the axis, and
whose repeats shift by a quarter pitch a quarter turn further on: helical,
not a stack of ring grooves. Diameters are the extremes of the profile;
whether it is internal (a tapped hole) or external (a threaded shaft) is
decided by where the material is, just outside the root and inside the crest.
Everything is in the coordinates of the shape passed in.
"""

from __future__ import annotations

import math
import statistics
import tomllib
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from .face_info import FaceInfo, face_infos, settings

# Surfaces a thread cannot be: a surface of revolution or extrusion is not helical.
NOT_HELICAL = frozenset({"SurfaceOfRevolution", "SurfaceOfExtrusion"})
SETTINGS_FILE = RESOURCES / "threads.toml"


@cache
def thread_settings() -> dict:
    """Recognition tolerances from resources/threads.toml."""
    with open(SETTINGS_FILE, "rb") as fh:
        return tomllib.load(fh)


def _setting(name: str) -> float:
    return thread_settings()[name]


CACHE_SIZE = 16  # shapes whose threads are kept (the shape is held, so its id stays unique)


@dataclass(frozen=True)
class Thread:
    """One modelled thread: its faces (0-based indices), axis, diameters (mm), pitch (mm, None when
    it could not be measured), internal (a tapped hole) or external (a shaft), threaded length along
    the axis and, for an internal thread, the bore/tap-drill faces it sits in."""

    faces: tuple[int, ...]
    axis_origin: tuple[float, float, float]
    axis_direction: tuple[float, float, float]
    major_diameter: float
    minor_diameter: float
    pitch: float | None
    internal: bool
    length: float
    hole_faces: tuple[int, ...] = ()


_cache: OrderedDict[int, tuple[Any, list[Thread]]] = OrderedDict()


def find_threads(shape: Any) -> list[Thread]:
    """The modelled threads of ``shape``, computed once per shape (kept for the last few shapes)."""
    key = shape.hashCode()
    hit = _cache.get(key)
    if hit is not None and hit[0].isSame(shape) and len(hit[0].Faces) == len(shape.Faces):
        _cache.move_to_end(key)
        return hit[1]
    threads = _find(shape)
    _cache[key] = (shape, threads)
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return threads


def thread_faces(shape: Any) -> frozenset[int]:
    """Every thread face of ``shape`` (0-based indices), the union over ``find_threads``."""
    return frozenset(i for t in find_threads(shape) for i in t.faces)


# --- recognition ------------------------------------------------------------------------------


def _freeform(info: FaceInfo) -> bool:
    return info.kind == "other" and type(info.face.Surface).__name__ not in NOT_HELICAL


def _samples(face: Any) -> list[Any]:
    """Points along the face's boundary: its surface runs past the trim, its edges do not."""
    points = []
    for edge in face.Edges:
        first, last = edge.ParameterRange
        n = int(_setting("edge_samples"))
        points += [edge.valueAt(first + (last - first) * k / n) for k in range(n + 1)]
    return points


class _Axis:
    """An axis line with a frame square to it, to read points as (radius, angle, height)."""

    def __init__(self, origin: Any, direction: Any) -> None:
        import FreeCAD

        self.origin = FreeCAD.Vector(origin)
        self.dir = FreeCAD.Vector(direction).normalize()
        ref = self.dir.cross(FreeCAD.Vector(1, 0, 0))
        if ref.Length < 0.1:
            ref = self.dir.cross(FreeCAD.Vector(0, 1, 0))
        self.e1 = ref.normalize()
        self.e2 = self.dir.cross(self.e1)

    def cyl(self, p: Any) -> tuple[float, float, float]:
        d = p - self.origin
        z = d.dot(self.dir)
        x, y = d.dot(self.e1), d.dot(self.e2)
        return math.hypot(x, y), math.atan2(y, x), z

    def at(self, r: float, angle: float, z: float) -> Any:
        return self.origin + self.dir * z + (self.e1 * math.cos(angle) + self.e2 * math.sin(angle)) * r


def _coverage_deg(angles: list[float]) -> float:
    """Degrees of the circle that sampled angles cover (the largest gap left out)."""
    if not angles:
        return 0.0
    a = sorted(x % (2 * math.pi) for x in angles)
    gaps = [b - c for b, c in zip(a[1:], a[:-1], strict=False)] + [a[0] + 2 * math.pi - a[-1]]
    return math.degrees(2 * math.pi - max(gaps))


def _crossings(faces: list[Any], axis: _Axis, angle: float, r: float, z_lo: float, z_hi: float) -> list[float]:
    """Heights where a line parallel to the axis, at radius ``r`` and ``angle``, crosses the faces."""
    import FreeCAD
    import Part

    margin = 0.1 * (z_hi - z_lo) + 1e-3
    start, end = axis.at(r, angle, z_lo - margin), axis.at(r, angle, z_hi + margin)
    box = FreeCAD.BoundBox(start, end)
    box.enlarge(1e-6)
    line = Part.Line(start, end)
    heights: list[float] = []
    for face in faces:
        if not face.BoundBox.intersect(box):
            continue
        surface = face.Surface
        try:
            points = surface.intersect(line)[0]
        except Exception:  # the kernel declines some surfaces: measure the distance instead
            d, pairs, _info = Part.Edge(Part.LineSegment(start, end)).distToShape(face)
            points = [q for q, _ in pairs] if d <= 1e-6 else []
        for p in points:
            v = FreeCAD.Vector(p.X, p.Y, p.Z) if hasattr(p, "X") else p
            u, w = surface.parameter(v)
            if face.isPartOfDomain(u, w):
                heights.append(axis.cyl(v)[2])
    heights.sort()
    unique: list[float] = []
    for z in heights:  # a crossing on an edge shared by two faces counts once
        if not unique or z - unique[-1] > 1e-6 * (1 + abs(z)):
            unique.append(z)
    return unique


def _pitch(faces: list[Any], axis: _Axis, r_lo: float, r_hi: float, z_lo: float, z_hi: float) -> float | None:
    """The pitch, when the flanks cross a line along the axis at a steady spacing and a quarter turn
    further on the crossings shift by a quarter pitch (a helix; ring grooves do not shift)."""
    r_mid = 0.5 * (r_lo + r_hi)
    crossings = _crossings(faces, axis, 0.0, r_mid, z_lo, z_hi)
    if len(crossings) < 3:
        return None
    step = 2 if len(crossings) >= 4 else 1  # two flanks per turn
    pitch = statistics.median(b - a for a, b in zip(crossings[:-step], crossings[step:], strict=False))
    if pitch <= 0:
        return None
    turned = _crossings(faces, axis, 0.5 * math.pi, r_mid, z_lo, z_hi)
    if not turned:
        return None
    tol = _setting("helix_shift_tol") * pitch

    def off(x: float) -> float:  # distance of x from a whole number of pitches
        return abs(math.remainder(x, pitch))

    best_shift, best_hits = 0.0, -1
    for c in crossings[:2]:
        shift = (turned[0] - c) % pitch
        hits = sum(any(off(t - x - shift) <= tol for x in crossings) for t in turned)
        if hits > best_hits:
            best_shift, best_hits = shift, hits
    if best_hits < 0.8 * len(turned):
        return None  # no regular profile
    quarter = best_shift / pitch
    if min(abs(quarter - 0.25), abs(quarter - 0.75)) > _setting("helix_shift_tol"):
        return None  # ring grooves (no shift) or another pattern
    return pitch


def _axes_near(group: list[int], infos: list[FaceInfo], neighbours: list[dict]) -> list[tuple[Any, Any]]:
    """Axes of the cylinders and cones next to the group, those most of its faces touch first
    (the lands between turns; the part's own bore or shaft may touch the thread's ends too)."""
    votes: dict[int, int] = {}
    for i in group:
        for j in neighbours[i]:
            if infos[j].kind in ("cylinder", "cone"):
                votes[j] = votes.get(j, 0) + 1
    axes: list[tuple[Any, Any]] = []
    for j in sorted(votes, key=lambda j: (-votes[j], -infos[j].face.Area)):
        point, direction = infos[j].axis_point, infos[j].axis
        if any(d.cross(direction).Length <= 1e-6 and _Axis(p, d).cyl(point)[0] <= 1e-6 for p, d in axes):
            continue
        axes.append((point, direction))
    return axes[: int(_setting("max_axes"))]


def _land(j: int, candidates: set[int], neighbours: list[dict]) -> bool:
    """A crest or root land between turns: most of its neighbours are freeform faces."""
    around = neighbours[j]
    return sum(k in candidates for k in around) * 2 >= len(around) >= 2


def _groups(candidates: set[int], infos: list[FaceInfo], neighbours: list[dict]) -> list[list[int]]:
    """Freeform faces connected directly or through one cylinder or cone between them (the crest
    and root lands of a thread split it into turns)."""
    seen: set[int] = set()
    groups = []
    for start in sorted(candidates):
        if start in seen:
            continue
        group, frontier = [], [start]
        seen.add(start)
        while frontier:
            i = frontier.pop()
            group.append(i)
            reach = set(neighbours[i])
            for j in list(reach):
                if infos[j].kind in ("cylinder", "cone") and _land(j, candidates, neighbours):
                    reach.update(neighbours[j])
            for j in reach:
                if j in candidates and j not in seen:
                    seen.add(j)
                    frontier.append(j)
        groups.append(sorted(group))
    return groups


def _is_inside(shape: Any, p: Any) -> bool:
    return shape.isInside(p, 1e-6, True)


def _internal(shape: Any, axis: _Axis, r_lo: float, r_hi: float, z_mid: float) -> bool | None:
    """True for a tapped hole (material outside the root), False for a shaft (material inside the
    crest), None when the material does not say."""
    delta = 0.25 * (r_hi - r_lo)
    votes = 0
    for k in range(4):
        angle = k * 0.5 * math.pi + 0.3
        outer = _is_inside(shape, axis.at(r_hi + delta, angle, z_mid))
        inner = _is_inside(shape, axis.at(max(r_lo - delta, 0.0), angle, z_mid))
        votes += (outer and not inner) - (inner and not outer)
    return True if votes > 0 else False if votes < 0 else None


def _hole_faces(group: list[int], infos: list[FaceInfo], neighbours: list[dict], axis: _Axis, r_hi: float, tol: float) -> tuple[int, ...]:
    """Coaxial bores, cones and flat floors the internal thread's faces lead to (the tap drill)."""
    members = set(group)
    found: set[int] = set()
    frontier = list(group)
    while frontier:
        i = frontier.pop()
        for j in neighbours[i]:
            if j in members or j in found:
                continue
            info = infos[j]
            ok = False
            if info.kind in ("cylinder", "cone") and info.internal:
                ok = axis.dir.cross(info.axis).Length <= 1e-3 and axis.cyl(info.axis_point)[0] <= 10 * tol
                if ok and info.kind == "cylinder":
                    ok = info.radius <= r_hi + tol
            elif info.kind == "plane" and abs(info.normal.dot(axis.dir)) >= 1 - 1e-6:
                ok = all(axis.cyl(v.Point)[0] <= r_hi + tol for v in info.face.Vertexes)
            if ok:
                found.add(j)
                frontier.append(j)
    return tuple(sorted(found))


def _end_caps(group: list[int], infos: list[FaceInfo], neighbours: list[dict], axis: _Axis, r_lo: float, r_hi: float, tol: float) -> set[int]:
    """Flat faces where the thread groove starts or runs out: in a plane along the axis, between
    the root and crest radii, next to the thread's faces."""
    caps = set()
    for j in {j for i in group for j in neighbours[i]} - set(group):
        info = infos[j]
        if info.kind != "plane" or abs(info.normal.dot(axis.dir)) > _setting("cap_axis_cos"):
            continue
        radii = [axis.cyl(v.Point)[0] for v in info.face.Vertexes]
        if radii and all(r_lo - 10 * tol <= r <= r_hi + 10 * tol for r in radii):
            caps.add(j)
    return caps


def _thread(shape: Any, group: list[int], infos: list[FaceInfo], neighbours: list[dict]) -> Thread | None:
    faces = [infos[i].face for i in group]
    for point, direction in _axes_near(group, infos, neighbours):
        thread = _thread_about(shape, _Axis(point, direction), group, faces, infos, neighbours)
        if thread is not None:
            return thread
    return None


def _thread_about(shape: Any, axis: _Axis, group: list[int], faces: list[Any], infos: list[FaceInfo], neighbours: list[dict]) -> Thread | None:
    """The group read as a thread about ``axis``, or None when it does not wind around it."""
    points = [axis.cyl(p) for f in faces for p in _samples(f)]
    radii = [r for r, _a, _z in points]
    r_lo, r_hi = min(radii), max(radii)
    if r_hi <= 0 or (r_hi - r_lo) < _setting("min_depth_ratio") * r_hi:
        return None
    if _coverage_deg([a for _r, a, _z in points]) < _setting("full_turn_deg"):
        return None
    heights = [z for _r, _a, z in points]
    z_lo, z_hi = min(heights), max(heights)
    pitch = _pitch(faces, axis, r_lo, r_hi, z_lo, z_hi)
    if pitch is None:
        return None
    lands = {j for i in group for j in neighbours[i] if infos[j].kind == "cylinder" and _land(j, set(group), neighbours)}
    sides = {infos[j].internal for j in lands}
    internal = sides.pop() if len(sides) == 1 else _internal(shape, axis, r_lo, r_hi, 0.5 * (z_lo + z_hi))
    if internal is None:
        return None
    tol = settings().length_tol
    group = sorted(set(group) | _end_caps(group, infos, neighbours, axis, r_lo, r_hi, tol))
    # the axis origin where the thread starts, so origin + direction × length spans it
    origin = axis.at(0.0, 0.0, z_lo)
    return Thread(
        faces=tuple(group),
        axis_origin=(origin.x, origin.y, origin.z),
        axis_direction=(axis.dir.x, axis.dir.y, axis.dir.z),
        major_diameter=2 * r_hi,
        minor_diameter=2 * r_lo,
        pitch=pitch,
        internal=bool(internal),
        length=z_hi - z_lo,
        hole_faces=_hole_faces(group, infos, neighbours, axis, r_hi, tol) if internal else (),
    )


def _adjacency(shape: Any) -> list[dict[int, None]]:
    """Faces sharing an edge, without the convexity a face graph classifies (not needed here)."""
    by_edge: dict[int, list[tuple[int, Any]]] = {}
    for k, face in enumerate(shape.Faces):
        for edge in face.Edges:
            by_edge.setdefault(edge.hashCode(), []).append((k, edge))
    neighbours: list[dict[int, None]] = [{} for _ in shape.Faces]
    for entries in by_edge.values():
        for a, (i, ei) in enumerate(entries):
            for j, ej in entries[a + 1:]:
                if i != j and ei.isSame(ej):
                    neighbours[i][j] = None
                    neighbours[j][i] = None
    return neighbours


def _find(shape: Any) -> list[Thread]:
    infos = face_infos(shape)
    candidates = {info.index for info in infos if _freeform(info)}
    if not candidates:
        return []
    neighbours = _adjacency(shape)
    threads = []
    for group in _groups(candidates, infos, neighbours):
        thread = _thread(shape, group, infos, neighbours)
        if thread is not None:
            threads.append(thread)
    return threads


__all__ = ["Thread", "find_threads", "thread_faces"]

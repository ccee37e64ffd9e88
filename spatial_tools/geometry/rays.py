"""Where a straight ray meets a solid's faces, exactly: the one ray primitive of wall thickness
(``thickness.material_runs``, what measure_thickness trusts) and of accessibility (the kernel's
word in ``visibility``).

Candidate faces come from a vectorised slab test of the ray against every face's bounding box;
the exact points are closed-form on planes and cylinders (the line's roots, kept where the trimmed
face holds them: ``isPartOfDomain``, 60× cheaper than a section) and the kernel's section of the
ray with the face on every other surface. Each point is judged
by the face's outward normal there (the face's Orientation honoured): the ray enters the material
where n·d < 0 and leaves where n·d > 0. Points closer than the shape's tolerance are one event
(a ray through an edge meets both its faces): all entering is an entry, all leaving an exit, a mix
(grazing an edge from outside, or a re-entrant edge from inside) or only tangent hits (a cylinder
touched along its tangent, a ray in a face's plane) change nothing. If the events still do not
alternate, the gaps between them are asked to the kernel (``isInside`` at their midpoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .query import face_normal_at

ENTER = "enter"
LEAVE = "leave"
TOUCH = "touch"  # grazing or tangent: the ray is on the same side before and after

GRAZING = 1e-4  # |n·d| below this: the ray is tangent to the face there
_MIN_TOLERANCE = 1e-6
_TOLERANCE_FACTOR = 10.0
_CACHE_SIZE = 4  # shapes whose face boxes are kept (the walls and the tool ask one solid many times)


@dataclass(frozen=True)
class Hit:
    """One exact point of the ray on one face: parameter t along the ray, the face (0-based) and n·d."""

    t: float
    face: int
    facing: float


@dataclass(frozen=True)
class Event:
    """Hits at one place along the ray (within the tolerance) and what they do to the ray."""

    t: float
    faces: tuple[int, ...]
    kind: str  # ENTER, LEAVE or TOUCH


def tolerance_of(shape: Any) -> float:
    """The distance below which two points of ``shape`` are the same point for the kernel."""
    return max(shape.getTolerance(1) * _TOLERANCE_FACTOR, _MIN_TOLERANCE)


def box_spans(lo: Any, hi: Any, origin: Any, direction: Any, flat_below: float) -> tuple[Any, Any]:
    """Where the line ``origin + t·direction`` enters and leaves each axis-aligned box (rows of ``lo``/``hi``,
    numpy arrays): the slab test; a box the line misses has enter > leave. A direction component under
    ``flat_below`` runs parallel to that slab: inside it for every t or never."""
    import numpy as np

    o = np.array((origin.x, origin.y, origin.z))
    d = np.array((direction.x, direction.y, direction.z))
    flat = np.abs(d) < flat_below
    safe = np.where(flat, 1.0, d)
    a = (lo - o) / safe
    b = (hi - o) / safe
    near = np.minimum(a, b)
    far = np.maximum(a, b)
    inside = (lo <= o) & (o <= hi)
    near = np.where(flat, np.where(inside, -np.inf, np.inf), near)
    far = np.where(flat, np.where(inside, np.inf, -np.inf), far)
    return near.max(axis=1), far.min(axis=1)


class RayCaster:
    """Exact ray/face intersections of one shape, with its faces' boxes cached for the prefilter."""

    def __init__(self, shape: Any):
        import numpy as np

        self.shape = shape
        self.faces = list(shape.Faces)
        self.tol = tolerance_of(shape)
        boxes = [f.BoundBox for f in self.faces]
        pad = self.tol
        self.lo = np.array([(b.XMin, b.YMin, b.ZMin) for b in boxes], dtype=float).reshape(-1, 3) - pad
        self.hi = np.array([(b.XMax, b.YMax, b.ZMax) for b in boxes], dtype=float).reshape(-1, 3) + pad
        box = shape.BoundBox
        self.center = box.Center
        self.size = max(box.DiagonalLength, 1e-9)
        self._surfaces: dict[int, tuple] = {}

    def reach(self, origin: Any) -> float:
        """A ray parameter beyond which a ray from ``origin`` is past the whole shape."""
        return self.size + (origin - self.center).Length + 1.0

    def candidates(self, origin: Any, direction: Any, t0: float, t1: float) -> list[tuple[float, float, int]]:
        """(entry into its box, exit from it, face) of the faces whose box the ray meets in [t0, t1],
        nearest first. Sections are cut to that span: a long line costs the kernel 10-20× more."""
        import numpy as np

        enter, leave = box_spans(self.lo, self.hi, origin, direction, flat_below=1e-15)
        enter = np.maximum(enter, t0)
        leave = np.minimum(leave, t1)
        keep = np.nonzero(enter <= leave)[0]
        order = np.argsort(enter[keep], kind="stable")
        return [(float(enter[keep[k]]), float(leave[keep[k]]), int(keep[k])) for k in order]

    def face_hits(self, index: int, origin: Any, direction: Any, t0: float, t1: float) -> list[Hit]:
        """The exact points of the ray segment [t0, t1] on face ``index``: closed-form on planes and
        cylinders (kept when the trimmed face holds them), the kernel's section otherwise."""
        if not self._may_meet(index, origin, direction, t0, t1):
            return []
        ts = self._analytic(index, origin, direction)
        if ts is None:
            return self._section_hits(index, origin, direction, t0, t1)
        face = self.faces[index]
        periodic = self._surface(index)[0] == "cylinder"
        hits: list[Hit] = []
        for t in ts:
            if not t0 - self.tol <= t <= t1 + self.tol:
                continue
            point = origin + direction * t
            if not self._in_box(index, point):
                continue
            u, v = face.Surface.parameter(point)
            if periodic:  # into the face's own period, where its trimming curves live
                u0 = face.ParameterRange[0]
                u = u0 + math.fmod(u - u0, 2 * math.pi) % (2 * math.pi)
            if face.isPartOfDomain(u, v):
                self._add(hits, Hit(t, index, _unit_normal(face, u, v).dot(direction)))
        return hits

    def _analytic(self, index: int, origin: Any, direction: Any) -> list[float] | None:
        """Ray parameters where the line meets face ``index``'s untrimmed plane or cylinder (a tangent
        line: its touching point once); None when only the kernel can say (other surfaces, a line
        in the plane or along the cylinder's axis)."""
        surface = self._surface(index)
        if surface[0] == "plane":
            _, point, normal = surface
            along = normal.dot(direction)
            if abs(along) < 1e-12:
                return None
            return [normal.dot(point - origin) / along]
        if surface[0] == "cylinder":
            _, centre, axis, radius = surface
            a, mid, closest = _across_axis(origin, direction, centre, axis)
            if a < 1e-12:
                return None
            if closest > radius + self.tol:
                return []
            if closest >= radius - self.tol:
                return [mid]  # tangent: the line touches the cylinder once
            half = math.sqrt((radius**2 - closest**2) / a)
            return [mid - half, mid + half]
        return None

    def _section_hits(self, index: int, origin: Any, direction: Any, t0: float, t1: float) -> list[Hit]:
        import Part

        face = self.faces[index]
        if t1 - t0 < 2 * self.tol:  # the ray only clips the box's corner: a segment needs a length
            t0, t1 = t0 - self.tol, t1 + self.tol
        segment = Part.LineSegment(origin + direction * t0, origin + direction * t1).toShape()
        hits: list[Hit] = []
        for vertex in face.section(segment).Vertexes:
            point = vertex.Point
            t = (point - origin).dot(direction)
            try:
                facing = face_normal_at(face, point).dot(direction)
            except Exception:  # an apex has no normal: the ray passes through a point of the face
                facing = 0.0
            self._add(hits, Hit(t, index, facing))
        return hits

    def _in_box(self, index: int, point: Any) -> bool:
        lo, hi = self.lo[index], self.hi[index]
        return bool(lo[0] <= point.x <= hi[0] and lo[1] <= point.y <= hi[1] and lo[2] <= point.z <= hi[2])

    def _add(self, hits: list[Hit], hit: Hit) -> None:
        if all(abs(hit.t - h.t) > self.tol for h in hits):
            hits.append(hit)

    def _surface(self, index: int) -> tuple:
        """("plane", point, normal), ("cylinder", centre, axis, radius) or ("other",), cached."""
        cached = self._surfaces.get(index)
        if cached is None:
            surface = self.faces[index].Surface
            kind = type(surface).__name__
            if kind == "Plane":
                cached = ("plane", surface.Position, surface.Axis)
            elif kind == "Cylinder":
                cached = ("cylinder", surface.Center, surface.Axis, surface.Radius)
            else:
                cached = ("other",)
            self._surfaces[index] = cached
        return cached

    def _may_meet(self, index: int, origin: Any, direction: Any, t0: float, t1: float) -> bool:
        """False only when the ray surely misses face ``index``'s plane or cylinder within its box:
        a cheap analytic filter before the kernel's section (which still decides every hit)."""
        surface = self._surface(index)
        tol = self.tol
        if surface[0] == "plane":
            _, point, normal = surface
            along = normal.dot(direction)
            gap = normal.dot(point - origin)
            if abs(along) < 1e-12:
                return abs(gap) <= tol
            t = gap / along
            if not t0 - tol <= t <= t1 + tol:
                return False
            return self._in_box(index, origin + direction * t)
        if surface[0] == "cylinder":
            _, centre, axis, radius = surface
            a, mid, closest = _across_axis(origin, direction, centre, axis)
            if a < 1e-12:  # along the axis: on the surface or never
                return abs(closest - radius) <= tol
            # Distance of the line from the axis below radius + tol: the ray meets (or grazes) the cylinder.
            if closest > radius + tol:
                return False
            half = math.sqrt(max((radius + tol) ** 2 - closest**2, 0.0) / a)
            return mid + half >= t0 - tol and mid - half <= t1 + tol
        return True

    def events(self, hits: list[Hit]) -> list[Event]:
        """Hits grouped by place along the ray (within the tolerance), each group judged (module docstring)."""
        events: list[Event] = []
        group: list[Hit] = []
        for hit in sorted(hits, key=lambda h: h.t):
            if group and hit.t - group[-1].t > self.tol:
                events.append(_event(group))
                group = []
            group.append(hit)
        if group:
            events.append(_event(group))
        return events

    def crossings(self, origin: Any, direction: Any) -> list[Event]:
        """Every event of the whole line through ``origin`` along the unit ``direction``."""
        reach = self.reach(origin)
        hits: list[Hit] = []
        for enter, leave, index in self.candidates(origin, direction, -reach, reach):
            hits += self.face_hits(index, origin, direction, enter, leave)
        return self.events(hits)

    def material_runs(self, origin: Any, direction: Any) -> list[tuple[float, float]]:
        """Parameter intervals (t0, t1) of the line through ``origin`` that lie inside the shape;
        touching runs (internal faces of a compound) are merged."""
        events = [e for e in self.crossings(origin, direction) if e.kind != TOUCH]
        runs: list[tuple[float, float]] = []
        inside_from: float | None = None
        consistent = True
        for event in events:
            if event.kind == ENTER and inside_from is None:
                inside_from = event.t
            elif event.kind == LEAVE and inside_from is not None:
                runs.append((inside_from, event.t))
                inside_from = None
            else:
                consistent = False
                break
        if not consistent or inside_from is not None:
            runs = self._runs_by_midpoints(origin, direction, [e.t for e in events])
        merged: list[tuple[float, float]] = []
        for t0, t1 in runs:
            if merged and t0 <= merged[-1][1] + self.tol:
                merged[-1] = (merged[-1][0], max(merged[-1][1], t1))
            else:
                merged.append((t0, t1))
        return merged

    def _runs_by_midpoints(self, origin: Any, direction: Any, ts: list[float]) -> list[tuple[float, float]]:
        """Runs from the kernel's inside/outside of each gap's midpoint: the fallback when the
        normals' verdicts do not alternate."""
        runs = []
        for t0, t1 in zip(ts[:-1], ts[1:], strict=True):
            if t1 - t0 > self.tol and self.shape.isInside(origin + direction * (0.5 * (t0 + t1)), self.tol * 0.1, False):
                runs.append((t0, t1))
        return runs

    def first_block(self, origin: Any, direction: Any, t_min: float) -> Event | None:
        """The first place beyond ``t_min`` where the ray from ``origin`` (a point outside the
        material) enters or leaves the shape; None when it escapes. Faces are asked nearest box
        first and no further than the first block found."""
        reach = self.reach(origin)
        todo = self.candidates(origin, direction, t_min, reach)
        hits: list[Hit] = []
        k = 0
        while True:
            block = next((e for e in self.events(hits) if e.kind != TOUCH), None)
            limit = block.t + self.tol if block is not None else float("inf")
            if k >= len(todo) or todo[k][0] > limit:
                return block
            enter, leave, index = todo[k]
            hits += [h for h in self.face_hits(index, origin, direction, enter, leave) if h.t > t_min]
            k += 1


def _across_axis(origin: Any, direction: Any, centre: Any, axis: Any) -> tuple[float, float, float]:
    """The line seen across a cylinder's axis: |direction ⟂ axis|², the t where it passes nearest the
    axis, and that distance (along the axis, a ≈ 0: t = 0 and the origin's distance)."""
    w = origin - centre
    w = w - axis * w.dot(axis)
    d = direction - axis * direction.dot(axis)
    a = d.dot(d)
    if a < 1e-12:
        return a, 0.0, w.Length
    mid = -w.dot(d) / a
    return a, mid, (w + d * mid).Length


def _unit_normal(face: Any, u: float, v: float) -> Any:
    """The outward unit normal of ``face`` at (u, v) (``normalAt`` honours the Orientation); zero at a pole."""
    try:
        n = face.normalAt(u, v)
    except Exception:  # a pole has no normal: count the hit as tangent
        return face.Surface.value(u, v) * 0.0
    return n if n.Length == 0 else n.normalize()


def _event(group: list[Hit]) -> Event:
    faces = tuple(dict.fromkeys(h.face for h in group))
    t = sum(h.t for h in group) / len(group)
    signs = {1 if h.facing > 0 else -1 for h in group if abs(h.facing) > GRAZING}
    if signs == {-1}:
        return Event(t, faces, ENTER)
    if signs == {1}:
        return Event(t, faces, LEAVE)
    return Event(t, faces, TOUCH)


_casters: list[RayCaster] = []


def caster_of(shape: Any) -> RayCaster:
    """The RayCaster of ``shape``, kept for the last few shapes asked (same object, same caster)."""
    for caster in _casters:
        if caster.shape is shape:
            return caster
    caster = RayCaster(shape)
    _casters.insert(0, caster)
    del _casters[_CACHE_SIZE:]
    return caster

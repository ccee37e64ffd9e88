"""Walls of a solid: where two faces turn their backs on each other across a slab of material.

A machinist's wall is material between two opposite faces: the side of a
pocket and the outside of the part, two pockets, the two sides of a fin or
a rib, a tube between its bore and its outside, the web between a hole and
the nearest face, the floor left under a pocket. Here a wall is a pair of
faces (planes, or cylinders with parallel axes) and a straight chord that
leaves one along its inward normal, runs through material only and leaves
the solid through the other along *its* outward normal. Its length is the
wall thickness; where the pair is canonical (parallel planes, coaxial or
parallel cylinders) that length is the analytic distance, so a 0.4 mm wall
measures 0.4, not a sampled approximation.

The chord must be clear: no other face of the solid may cross it. Face
bounding boxes prove that for most chords at no cost; planar and
cylindrical faces in the way are intersected exactly, other faces by the
kernel's section of the chord, and only if that fails is the ray chord of
``thickness.chord_at`` (what measure_thickness uses) asked to run the whole
length; a chord is never accepted on a guess.

Cones (drill points, countersinks), tori and free-form faces never form a
wall: a chord through a drill point's cone is oblique and means nothing to a
machinist. A chord also only counts when it is the short way through: the
material must reach ``WIDTH_RATIO`` of its length to every side of it along
both faces, up to their hard edges (where the material stops; concave,
tangent and chamfer edges let it go on), or the chord measures a plate's
length, not its thickness. A blend (a round, a root fillet) is not reported
as a wall of its own when the planar faces beside it bound the same wall.

Everything is computed once per object in the shape's own coordinates
(where parts are modelled square to their axes and bounding boxes are
tight) and cached in the DFM target's ``cache`` under ``WALLS_KEY``;
points and chords handed out are global.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .adjacency import CONCAVE, CONVEX, SMOOTH, FaceGraph, face_graph
from .face_domain import PlaneDomain
from .query import CurveType, SurfaceType, curve_info, face_normal_at, point_inside, surface_info
from .rays import box_spans
from .thickness import Chord, chord_at, tolerance_of

WALLS_KEY = "walls"  # per-object cache key of the WallMap
STANDING_KEY = "walls.standing"  # per-object cache key of the standing walls (needs features)
RIBS_KEY = "walls.ribs"  # per-object cache key of the ribs and fins

# Geometric classification tolerances (not design thresholds).
ANTIPARALLEL_DEG = 6.0  # opposite plane normals within this bound a wall (two 1-3° molding drafts)
PARALLEL_AXES_SIN = 1e-4  # cylinder axes this close to parallel bound a wall
PARALLEL_DOT = 1e-10  # planes with n_a · n_b within this of -1 are parallel: thickness is their distance
CAP_MIN_COS = 0.5  # a wall's free edge faces away from its root: cap normal · up above this
GRID = (0.5, 1.0 / 6.0, 5.0 / 6.0)  # sample fractions across a wall's overlap, centre first
TESSELLATION_SAMPLES = 8  # mesh triangle centres tried when the grid misses a face
AXIAL_SAMPLES = (0.5, 0.25, 0.75)
EDGE_SAMPLES = 8  # points per curved edge when measuring a face's extent
HARD_EDGE_MAX_DEG = 120.0  # convex edges up to this material angle end a wall; a 45° chamfer (135°) does not
# A chord is the short way through only where the material reaches at least WIDTH_RATIO × its
# length along the wall around it (a disc that wide fits on both faces): a cube or a chamfered
# block is as thick as it is wide, a plate's length is not its thickness.
WIDTH_RATIO = 0.75
EXTENT_SLACK = 1e-6  # relative noise allowance on the comparisons above
LENGTH_NOISE = 1e-3  # mm: never treat more than this as "the same point" (walls of interest are > 0.1 mm)

_COS_ANTIPARALLEL = math.cos(math.radians(ANTIPARALLEL_DEG))
_SIN_ANTIPARALLEL = math.sin(math.radians(ANTIPARALLEL_DEG))

# Kinds of walls.
WALL = "wall"  # two planes, or a plane and a round or a fillet
FLOOR = "floor"  # two planes, one of them the floor of a depression (every edge concave)
TUBE = "tube"  # a bore inside a coaxial outside cylinder
WEB = "web"  # a hole and a face or another hole beside it
PIN = "pin"  # across an outside cylinder (a pin, a boss, a turned shaft)
NOMINAL = (WALL, FLOOR, TUBE)  # the walls a part is designed with (webs and pins are local)


@dataclass(frozen=True)
class Wall:
    """Two faces and the clear chord of material between them.

    ``faces`` are 0-based indices into the object's ``Faces`` (FreeCAD's
    ``FaceN`` is index + 1): the chord leaves ``faces[0]`` and reaches
    ``faces[1]`` (the same face for a pin). ``thickness`` is the thinnest and
    ``thickest`` the thickest chord found (they differ on drafted walls).
    ``chord`` is the thinnest one, in global mm. ``extent`` is how far the
    wall reaches along itself around that chord (mm): the widest disc on
    both faces for planes, the shared length along the axis for cylinders.
    """

    faces: tuple[int, int]
    kind: str
    thickness: float
    thickest: float
    chord: Chord
    extent: float
    solid: int = 0
    local_direction: Any = field(default=None, compare=False, repr=False)  # chord direction, own coordinates

    @property
    def elements(self) -> tuple[str, ...]:
        """``FaceN`` names of the two faces (one name for a pin)."""
        return tuple(f"Face{i + 1}" for i in dict.fromkeys(self.faces))

    @property
    def location(self) -> Any:
        """The middle of the thinnest chord (global mm): a point inside the wall."""
        return (self.chord.point_in + self.chord.point_out) * 0.5

    @property
    def noun(self) -> str:
        return {WALL: "wall", FLOOR: "floor", TUBE: "tube wall", WEB: "web beside the hole", PIN: "pin"}[self.kind]


@dataclass(frozen=True)
class Standing:
    """A wall that stands up from a root to a free edge (a fin, a rib, a pocket's side wall, a tube).

    ``up`` (global unit vector) points from the root to the free edge, along
    the wall faces; ``height`` is the wall's extent that way. ``base`` are
    the faces it stands on when both its sides do (a rib or fin) or the plane
    under a tube; ``cap`` the faces on its free edge.
    """

    wall: Wall
    up: Any
    height: float
    base: tuple[int, ...]
    cap: tuple[int, ...]
    rib: bool
    local_up: Any = field(default=None, compare=False, repr=False)

    @property
    def slenderness(self) -> float:
        return self.height / self.wall.thickness


@dataclass
class _Face:
    """What wall finding needs of one face, in the shape's own coordinates."""

    index: int  # 0-based, in the whole shape
    face: Any
    kind: SurfaceType
    box: tuple[float, float, float, float, float, float]
    normal: Any = None  # planes: outward unit normal
    offset: float = 0.0  # planes: normal · point
    origin: Any = None  # cylinders: a point of the axis
    axis: Any = None  # cylinders: unit axis direction
    radius: float = 0.0
    internal: bool = False  # cylinders: material outside (a bore)
    hard: list = field(default_factory=list, repr=False)  # edges where the material ends (see _hard_edges)
    _intervals: dict = field(default_factory=dict, repr=False)

    @cached_property
    def points(self) -> list:
        """Vertices and points along curved edges: enough to know the face's extent."""
        found = [v.Point for v in self.face.Vertexes]
        for edge in self.face.Edges:
            if getattr(edge, "Degenerated", False):
                continue
            try:
                curved = type(edge.Curve).__name__ != "Line"
            except Exception:  # FreeCAD raises TypeError for curves it cannot name
                curved = True
            if curved:
                found += edge.discretize(EDGE_SAMPLES)
        return found

    @cached_property
    def domain(self) -> PlaneDomain:
        """Planes: the outline as polygons, for the fast inside test of ``_inside``."""
        return PlaneDomain(self.face)

    @cached_property
    def segments(self) -> tuple[Any, Any] | None:
        """The face's hard edges (where the material ends) as straight segments: arrays of
        start points and of start-to-end vectors; None when the face has no hard edge."""
        import numpy

        starts, ends = [], []
        for edge in self.hard:
            try:
                straight = type(edge.Curve).__name__ == "Line"
            except Exception:
                straight = False
            points = [v.Point for v in edge.Vertexes] if straight else edge.discretize(EDGE_SAMPLES + 1)
            starts += [(p.x, p.y, p.z) for p in points[:-1]]
            ends += [(p.x, p.y, p.z) for p in points[1:]]
        if not starts:
            return None
        p = numpy.array(starts, dtype=float)
        return p, numpy.array(ends, dtype=float) - p

    def width_at(self, point: Any) -> float:
        """Twice the distance from ``point`` (on the face) to the face's hard edges: the widest
        disc around it that stays on the material's surface (infinite when nothing stops it)."""
        import numpy

        if self.segments is None:
            return math.inf
        p, d = self.segments
        x = numpy.array((point.x, point.y, point.z))
        span = numpy.einsum("ij,ij->i", d, d)
        t = numpy.clip(numpy.einsum("ij,ij->i", x - p, d) / numpy.where(span > 0, span, 1.0), 0.0, 1.0)
        gap = x - p - d * t[:, None]
        return 2.0 * float(numpy.sqrt(numpy.einsum("ij,ij->i", gap, gap).min()))

    @cached_property
    def uv_rectangle(self) -> bool:
        """A cylinder face bounded only by circles square to its axis and lines along it, so the
        face fills its parameter box (a plain bore or shaft)."""
        if self.kind is not SurfaceType.CYLINDER:
            return False
        for edge in self.face.Edges:
            if getattr(edge, "Degenerated", False):
                continue
            info = curve_info(edge)
            if info.type is CurveType.CIRCLE:
                if info.axis.direction.cross(self.axis).Length > PARALLEL_AXES_SIN:
                    return False
            elif info.type is CurveType.LINE:
                if info.axis.direction.cross(self.axis).Length > PARALLEL_AXES_SIN:
                    return False
            else:
                return False
        return True

    def interval(self, direction: Any) -> tuple[float, float]:
        """(min, max) of the face's points along ``direction`` (computed once per direction)."""
        key = (direction.x, direction.y, direction.z)
        cached = self._intervals.get(key)
        if cached is None:
            values = [p.dot(direction) for p in self.points]
            cached = self._intervals[key] = (min(values), max(values))
        return cached

    @cached_property
    def frame(self) -> tuple[Any, Any]:
        """Two unit vectors in a plane face, the first along its longest straight edge."""
        import FreeCAD

        best, length = None, 0.0
        for edge in self.face.Edges:
            try:
                if type(edge.Curve).__name__ != "Line":
                    continue
            except Exception:
                continue
            d = edge.Vertexes[-1].Point - edge.Vertexes[0].Point
            d = d - self.normal * d.dot(self.normal)
            if d.Length > length:
                best, length = d, d.Length
        if best is None:
            helper = FreeCAD.Vector(1, 0, 0) if abs(self.normal.x) < 0.9 else FreeCAD.Vector(0, 1, 0)
            best = helper - self.normal * helper.dot(self.normal)
        e1 = best * (1.0 / best.Length)
        return e1, self.normal.cross(e1)


def _record(index: int, face: Any) -> _Face:
    box = face.BoundBox
    try:
        info = surface_info(face)
    except Exception:  # a surface the kernel cannot describe bounds no wall; it still blocks chords
        return _Face(index, face, SurfaceType.OTHER, (box.XMin, box.YMin, box.ZMin, box.XMax, box.YMax, box.ZMax))
    record = _Face(index, face, info.type, (box.XMin, box.YMin, box.ZMin, box.XMax, box.YMax, box.ZMax))
    u0, u1, v0, v1 = face.ParameterRange
    u, v = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
    if info.type is SurfaceType.PLANE:
        normal = face.normalAt(u, v)  # constant over a plane; honours the face's orientation
        record.normal = normal * (1.0 / normal.Length)
        record.offset = record.normal.dot(info.axis.location)
    elif info.type is SurfaceType.CYLINDER:
        record.origin, record.axis, record.radius = info.axis.location, info.axis.direction, float(info.radius)
        point, normal = face.valueAt(u, v), face.normalAt(u, v)
        radial = point - record.origin - record.axis * (point - record.origin).dot(record.axis)
        record.internal = normal.dot(radial) < 0
    return record


def _hole_like(record: _Face) -> bool:
    """A bore spanning half a turn or more (a hole, a half of a split hole, a slot's round end),
    not a concave blend along a corner."""
    u0, u1, _, _ = record.face.ParameterRange
    return record.internal and u1 - u0 >= math.pi - 1e-6


def _into_range(u: float, low: float, high: float, period: float) -> float:
    """The angle ``u`` shifted by whole periods into the face's range [low, high] where it can be
    (the kernel's parameter() answers in [0, 2π), a face may run from -π/4 to π/4)."""
    shifted = low + math.fmod(u - low, period)
    if shifted < low:
        shifted += period
    if shifted > high and low + period - shifted <= 1e-9 * period:
        shifted -= period  # a hair below ``low``: on the boundary, not a turn away
    return shifted


def _unit(v: Any) -> Any:
    return v * (1.0 / v.Length)


def _perpendicular(v: Any, axis: Any) -> Any:
    return v - axis * v.dot(axis)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return max(a[0], b[0]), min(a[1], b[1])


@dataclass
class _Sample:
    start: Any  # local point on the first face
    direction: Any  # local unit direction into the material
    length: float
    width: float = 0.0  # how far the wall reaches along itself around the chord (mm)


class _Finder:
    """Finds the walls of one solid (faces as ``_Face`` records sharing the shape's numbering)."""

    def __init__(self, solid: Any, faces: list[_Face], number: int):
        import numpy

        self.solid = solid
        self.faces = faces
        self.number = number
        self.kernel_tol = tolerance_of(solid)  # sloppy STEP files carry tolerances of 0.1 mm and more
        self.tol = min(self.kernel_tol, LENGTH_NOISE)
        self.eps = max(10.0 * self.tol, 1e-6)
        boxes = numpy.array([f.box for f in faces], dtype=float).reshape(-1, 6)
        self.lo = boxes[:, :3] - self.tol
        self.hi = boxes[:, 3:] + self.tol
        self.np = numpy

    # ------------------------------------------------------------------ chord verification
    def _in_boxes(self, start: Any, direction: Any, length: float) -> list[int]:
        """Positions (in ``self.faces``) of faces whose box the open segment passes through."""
        np = self.np
        enter, leave = box_spans(self.lo, self.hi, start, direction, flat_below=1e-12)
        hit = (enter <= leave) & (leave >= self.eps) & (enter <= length - self.eps)
        return [int(k) for k in np.nonzero(hit)[0]]

    def _crosses(self, record: _Face, start: Any, direction: Any, length: float) -> bool | None:
        """Whether the open segment crosses ``record``'s face; None when only the kernel can say."""
        lo, hi = self.eps, length - self.eps
        hits = []
        if record.kind is SurfaceType.PLANE:
            along = record.normal.dot(direction)
            gap = record.offset - record.normal.dot(start)
            if abs(along) < 1e-12:
                return abs(gap) <= self.tol  # running in the face's plane: treat as blocked
            hits = [gap / along]
        elif record.kind is SurfaceType.CYLINDER:
            w = _perpendicular(start - record.origin, record.axis)
            d = _perpendicular(direction, record.axis)
            a, b, c = d.dot(d), 2.0 * w.dot(d), w.dot(w) - record.radius**2
            if a < 1e-12:
                return abs(math.sqrt(max(w.dot(w), 0.0)) - record.radius) <= self.tol
            disc = b * b - 4 * a * c
            if disc < 0:
                return False
            root = math.sqrt(disc)
            hits = [(-b - root) / (2 * a), (-b + root) / (2 * a)]
        else:
            return None
        for s in hits:
            if lo < s < hi and self._inside(record, start + direction * s):
                return True
        return False

    def _sectioned(self, record: _Face, segment: Any) -> bool | None:
        """Whether the open segment (an edge) meets a face of any kind, by the kernel's section;
        None when the kernel cannot say."""
        try:
            cut = segment.section(record.face)
        except Exception:  # OCC gives up on some degenerate surfaces: let the ray chord decide
            return None
        return bool(cut.Vertexes or cut.Edges)

    def clear(self, sample: _Sample) -> bool:
        """The chord runs through material only: no face crosses it between its ends.

        Its own two faces are tested too (an outside cylinder must not be crossed again on the
        way); hits within ``eps`` of either end are where the chord starts and stops. Face boxes
        clear most chords at once; planes and cylinders in the way are intersected exactly here,
        other faces by the kernel's section, and should that fail the ray chord of
        ``thickness.chord_at`` must run the whole length."""
        segment = None
        unknown = False
        for k in self._in_boxes(sample.start, sample.direction, sample.length):
            record = self.faces[k]
            crossed = self._crosses(record, sample.start, sample.direction, sample.length)
            if crossed is None:
                if segment is None:
                    import Part

                    a = sample.start + sample.direction * self.eps
                    b = sample.start + sample.direction * (sample.length - self.eps)
                    segment = Part.LineSegment(a, b).toShape()
                crossed = self._sectioned(record, segment)
            if crossed:
                return False
            if crossed is None:
                unknown = True
        if not unknown:
            return True
        chord = chord_at(self.solid, sample.start, sample.direction)
        slack = max(self.eps, min(self.kernel_tol, 1e-2 * sample.length))
        return (
            chord is not None
            and abs(chord.thickness - sample.length) <= slack
            and (chord.point_in - sample.start).Length <= slack
        )

    # ------------------------------------------------------------------ plane pairs
    @staticmethod
    def _inside(record: _Face, point: Any) -> bool:
        """``point``, built on the face's surface, lies on the face (its boundary included).

        Answered in the face's parameters: outside the parameter box it is off the face; a
        cylinder bounded only by circles and straight lines along its axis *is* its box; anything
        else asks the kernel's 2D classifier, which is slow on faces with many edges."""
        surface = record.face.Surface
        u, v = surface.parameter(point)
        u0, u1, v0, v1 = record.face.ParameterRange
        if record.kind is SurfaceType.CYLINDER and surface.isUPeriodic():
            u = _into_range(u, u0, u1, surface.UPeriod())
        slack_u = 1e-9 * max(1.0, abs(u1 - u0))
        slack_v = 1e-9 * max(1.0, abs(v1 - v0))
        if not (u0 - slack_u <= u <= u1 + slack_u and v0 - slack_v <= v <= v1 + slack_v):
            return False
        if record.uv_rectangle:
            return True
        if record.kind is SurfaceType.PLANE:
            inside = record.domain.contains(u, v)  # None near the outline: the kernel decides
            if inside is not None:
                return inside
        return record.face.isPartOfDomain(u, v)

    def _plane_samples(self, a: _Face, b: _Face, rect: tuple[float, float, float, float]):
        """Chords from points of ``a`` along its inward normal to ``b``'s plane."""
        e1, e2 = a.frame
        u0, u1, v0, v1 = rect
        base = a.normal * a.offset
        inward = -a.normal
        along = b.normal.dot(inward)
        if along <= 0:
            return
        for s in GRID:
            for t in GRID:
                start = base + e1 * (u0 + s * (u1 - u0)) + e2 * (v0 + t * (v1 - v0))
                yield start, (b.offset - b.normal.dot(start)) / along, inward

    def _mesh_samples(self, a: _Face, b: _Face, rect: tuple[float, float, float, float]):
        """Centres of ``a``'s largest mesh triangles inside the overlap (ring and L-shaped faces)."""
        e1, e2 = a.frame
        u0, u1, v0, v1 = rect
        inward = -a.normal
        along = b.normal.dot(inward)
        if along <= 0:
            return
        try:
            points, triangles = a.face.tessellate(max(a.face.BoundBox.DiagonalLength / 20.0, 1e-3))
        except Exception:  # a face the mesher rejects has no mesh samples
            return
        scored = []
        for i, j, k in triangles:
            centre = (points[i] + points[j] + points[k]) * (1.0 / 3.0)
            u, v = centre.dot(e1), centre.dot(e2)
            if u0 <= u <= u1 and v0 <= v <= v1:
                area = (points[j] - points[i]).cross(points[k] - points[i]).Length
                scored.append((-area, centre))
        scored.sort(key=lambda item: item[0])
        for _, centre in scored[:TESSELLATION_SAMPLES]:
            start = centre + a.normal * (a.offset - a.normal.dot(centre))  # exactly on the plane
            yield start, (b.offset - b.normal.dot(start)) / along, inward

    def _rect(self, a: _Face, b: _Face) -> tuple[float, float, float, float] | None:
        """Where ``b`` overlaps ``a``, as a rectangle in ``a``'s frame (None when they miss)."""
        e1, e2 = a.frame
        (u0, u1), (v0, v1) = _overlap(a.interval(e1), b.interval(e1)), _overlap(a.interval(e2), b.interval(e2))
        if u1 - u0 <= self.tol or v1 - v0 <= self.tol:
            return None
        return u0, u1, v0, v1

    def _plane_chords(self, a: _Face, b: _Face, sources, parallel: bool) -> list[_Sample]:
        """Clear chords from ``a`` to ``b`` that go the short way through the material.

        A chord counts only where a disc of ``WIDTH_RATIO`` × its length,
        centred on it, fits on both faces inside their hard edges: through a
        plate the chord across is its thickness, the chord from end to end is
        not. Parallel planes need one chord (their distance is the thickness
        everywhere); drafted ones are sampled over the whole grid.
        """
        found: list[_Sample] = []
        for source in sources:
            for start, length, inward in source:
                if length <= self.tol:
                    continue
                end = start + inward * length
                width = min(a.width_at(start), b.width_at(end))
                if width * (1.0 + EXTENT_SLACK) + self.tol < WIDTH_RATIO * length:
                    continue
                if not (self._inside(a, start) and self._inside(b, end)):
                    continue
                sample = _Sample(start, inward, length, width)
                if self.clear(sample):
                    found.append(sample)
                    if parallel:
                        return found
            if found:
                return found
        return found

    def plane_pair(self, a: _Face, b: _Face, floors: set[int]) -> Wall | None:
        parallel = a.normal.dot(b.normal) <= -1.0 + PARALLEL_DOT
        rect = self._rect(a, b)
        if rect is None:
            return None
        u0, u1, v0, v1 = rect
        e1, e2 = a.frame
        centre = a.normal * a.offset + e1 * (0.5 * (u0 + u1)) + e2 * (0.5 * (v0 + v1))
        along = -b.normal.dot(a.normal)
        estimate = (b.offset - b.normal.dot(centre)) / along
        if estimate <= self.tol or WIDTH_RATIO * estimate > min(u1 - u0, v1 - v0) * (1.0 + EXTENT_SLACK) + self.tol:
            return None  # facing each other across air, or the long way through a plate
        sources = [self._plane_samples(a, b, rect), self._mesh_samples(a, b, rect)]
        if parallel:  # b's own mesh finds overlaps a's grid and mesh miss (a ring around a pocket)
            flipped = self._rect(b, a)
            if flipped is not None:
                sources.append(self._flipped(self._mesh_samples(b, a, flipped)))
        found = self._plane_chords(a, b, sources, parallel)
        if not found:
            return None
        if parallel:
            exact = a.offset + b.offset  # distance of two opposite parallel planes
            found = [_Sample(found[0].start, found[0].direction, exact, found[0].width)]
        kind = FLOOR if (a.index in floors or b.index in floors) else WALL
        return self._wall(a, b, kind, found)

    @staticmethod
    def _flipped(samples):
        """Chords from ``b`` read as chords from ``a``: start at the far end, run back."""
        for start, length, inward in samples:
            yield start + inward * length, length, -inward

    # ------------------------------------------------------------------ cylinders
    def _axial_overlap(self, c: _Face, other: _Face) -> tuple[float, float]:
        return _overlap(c.interval(c.axis), other.interval(c.axis))

    def _axial_samples(self, c: _Face, lo: float, hi: float, offset: Any, direction: Any, length: float):
        """Chords starting at ``axis point + offset`` for positions along the axis overlap."""
        base = c.origin - c.axis * c.origin.dot(c.axis)  # the axis point at axial coordinate 0
        for f in AXIAL_SAMPLES:
            yield _Sample(base + c.axis * (lo + f * (hi - lo)) + offset, direction, length)

    def _first_clear(self, samples, a: _Face, b: _Face) -> _Sample | None:
        """The first clear chord of ``samples`` that starts on ``a`` and ends on ``b``; where ``b``
        is a plane, only where a disc of WIDTH_RATIO × the chord fits on it (the short way through)."""
        for sample in samples:
            if sample.length <= self.tol:
                return None
            end = sample.start + sample.direction * sample.length
            if b.kind is SurfaceType.PLANE and b.width_at(end) * (1.0 + EXTENT_SLACK) + self.tol < WIDTH_RATIO * sample.length:
                continue
            if not (self._inside(a, sample.start) and self._inside(b, end)):
                continue
            if self.clear(sample):
                return sample
        return None

    def cylinder_plane(self, c: _Face, p: _Face) -> Wall | None:
        if abs(c.axis.dot(p.normal)) > PARALLEL_AXES_SIN:
            return None
        sign = 1.0 if c.internal else -1.0
        length = p.offset - p.normal.dot(c.origin) - sign * c.radius
        own = c.interval(c.axis)
        if length <= self.tol or WIDTH_RATIO * length > (own[1] - own[0]) * (1.0 + EXTENT_SLACK) + self.tol:
            return None
        lo, hi = self._axial_overlap(c, p)
        extent = hi - lo
        if extent <= self.tol or WIDTH_RATIO * length > extent * (1.0 + EXTENT_SLACK) + self.tol:
            return None
        samples = self._axial_samples(c, lo, hi, p.normal * (sign * c.radius), p.normal, length)
        found = self._first_clear(samples, c, p)
        if found is None:
            return None
        return self._wall(c, p, WEB if _hole_like(c) else WALL, [found], extent)

    def cylinder_pair(self, a: _Face, b: _Face) -> Wall | None:
        if a.axis.cross(b.axis).Length > PARALLEL_AXES_SIN:
            return None
        if not a.internal and b.internal:
            a, b = b, a
        lo, hi = self._axial_overlap(a, b)
        extent = hi - lo
        if extent <= self.tol:
            return None
        offset = _perpendicular(b.origin - a.origin, a.axis)
        distance = offset.Length
        coaxial = distance <= 10 * self.tol
        if a.internal and b.internal:
            if coaxial:
                return None  # one bore split into faces, or steps of one hole
            length = distance - a.radius - b.radius
            kind = WEB if _hole_like(a) or _hole_like(b) else WALL
            directions = [_unit(offset)]
        elif a.internal:  # a bore inside an outside cylinder
            length = b.radius - distance - a.radius
            kind = TUBE if coaxial else WEB if _hole_like(a) else WALL
            directions = self._radial_directions(a) if coaxial else [_unit(-offset)]
        else:  # two outside cylinders: a pin split into faces
            if not coaxial or abs(a.radius - b.radius) > 10 * self.tol:
                return None
            length, kind = 2 * a.radius, PIN
            directions = self._radial_directions(a)
        if length <= self.tol or WIDTH_RATIO * length > extent * (1.0 + EXTENT_SLACK) + self.tol:
            return None
        found = self._radial_chords(a, b, directions, lo, hi, length)
        return None if found is None else self._wall(a, b, kind, [found], extent)

    def _radial_chords(self, a: _Face, b: _Face, directions: list, lo: float, hi: float, length: float) -> _Sample | None:
        """The first clear chord from ``a`` at ``axis + radial × r`` into its material, to ``b``:
        away from the axis out of a bore, towards and across it through an outside cylinder."""
        for radial in directions:
            inward = radial if a.internal else -radial
            found = self._first_clear(self._axial_samples(a, lo, hi, radial * a.radius, inward, length), a, b)
            if found is not None:
                return found
        return None

    def _radial_directions(self, c: _Face) -> list:
        """Unit radial directions at a few angles of the face's own angular range."""
        u0, u1, v0, v1 = c.face.ParameterRange
        v = 0.5 * (v0 + v1)
        result = []
        for f in (0.25, 0.5, 0.75):
            point = c.face.valueAt(u0 + f * (u1 - u0), v)
            radial = _perpendicular(point - c.origin, c.axis)
            if radial.Length > self.tol:
                result.append(_unit(radial))
        return result

    def pin(self, c: _Face) -> Wall | None:
        """Across a closed outside cylinder: its diameter."""
        u0, u1, _, _ = c.face.ParameterRange
        if c.internal or u1 - u0 < 2 * math.pi - 1e-6:
            return None
        lo, hi = c.interval(c.axis)
        length, extent = 2 * c.radius, hi - lo
        if WIDTH_RATIO * length > extent * (1.0 + EXTENT_SLACK) + self.tol:
            return None
        found = self._radial_chords(c, c, self._radial_directions(c), lo, hi, length)
        return None if found is None else self._wall(c, c, PIN, [found], extent)

    # ------------------------------------------------------------------ assembly
    def _wall(self, a: _Face, b: _Face, kind: str, samples: list[_Sample], extent: float | None = None) -> Wall:
        if extent is None:
            extent = max(s.width for s in samples)
        thinnest = min(samples, key=lambda s: s.length)
        thickest = max(s.length for s in samples)
        chord = Chord(thinnest.length, thinnest.start, thinnest.start + thinnest.direction * thinnest.length, thinnest.direction)
        return Wall((a.index, b.index), kind, thinnest.length, thickest, chord, extent, self.number, thinnest.direction)

    def walls(self, floors: set[int]) -> list[Wall]:
        np = self.np
        planes = [f for f in self.faces if f.kind is SurfaceType.PLANE]
        cylinders = [f for f in self.faces if f.kind is SurfaceType.CYLINDER]
        found: list[Wall] = []
        if planes:
            normals = np.array([(p.normal.x, p.normal.y, p.normal.z) for p in planes])
            offsets = np.array([p.offset for p in planes])
            dots = normals @ normals.T
            # opposite normals, and for exactly parallel planes a positive gap (o_a + o_b > 0)
            candidates = np.argwhere(np.triu(dots <= -_COS_ANTIPARALLEL, 1))
            for i, j in candidates:
                a, b = planes[int(i)], planes[int(j)]
                exact = dots[i, j] <= -1.0 + PARALLEL_DOT
                if exact and offsets[i] + offsets[j] <= self.tol:
                    continue  # facing each other across air
                wall = self.plane_pair(a, b, floors)
                if wall is None and not exact:
                    wall = self.plane_pair(b, a, floors)
                if wall is not None:
                    found.append(wall)
        for c in cylinders:
            for p in planes:
                wall = self.cylinder_plane(c, p)
                if wall is not None:
                    found.append(wall)
            wall = self.pin(c)
            if wall is not None:
                found.append(wall)
        for k, a in enumerate(cylinders):
            for b in cylinders[k + 1 :]:
                wall = self.cylinder_pair(a, b)
                if wall is not None:
                    found.append(wall)
        return found


@dataclass
class WallMap:
    """Every wall of an object, the face graph it was read with, and the object's placement."""

    walls: list[Wall]
    graph: FaceGraph
    faces: list[_Face]
    placement: Any
    local: Any  # the shape in its own coordinates
    by_face: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for k, wall in enumerate(self.walls):
            for i in set(wall.faces):
                self.by_face.setdefault(i, []).append(k)

    def of_face(self, index: int) -> list[Wall]:
        """Walls one of whose faces is face ``index`` (0-based)."""
        return [self.walls[k] for k in self.by_face.get(index, [])]

    def between(self, a: int, b: int) -> Wall | None:
        """The wall bounded by faces ``a`` and ``b`` (0-based, either order), if there is one."""
        for wall in self.of_face(a):
            if set(wall.faces) == {a, b}:
                return wall
        return None

    def touching(self, first: Wall, second: Wall) -> bool:
        """Two walls share a face or have faces that share an edge."""
        faces_a, faces_b = set(first.faces), set(second.faces)
        if faces_a & faces_b:
            return True
        return any(j in faces_b for i in faces_a for j in self.graph.neighbours[i])

    def to_global(self, point: Any) -> Any:
        return self.placement.multVec(point)

    def direction_to_global(self, direction: Any) -> Any:
        return self.placement.Rotation.multVec(direction)


def _hard_edges(graph: FaceGraph, records: list[_Face]) -> None:
    """Gives each face its hard edges: convex ones no more open than HARD_EDGE_MAX_DEG, where the
    material stops. Beyond a concave, tangent or chamfer-like edge the material goes on, so a
    wall's extent is not cut short there."""
    for shared in graph.edges:
        if shared.convexity == CONVEX and shared.angle_deg <= HARD_EDGE_MAX_DEG:
            edge = graph.edge_shapes[shared.edge]
            for i in set(shared.faces):
                records[i].hard.append(edge)


def _floors(graph: FaceGraph, faces: list[_Face]) -> set[int]:
    """Planes every edge of which is concave: the floor of a pocket, the flat bottom of a hole."""
    result = set()
    for f in faces:
        if f.kind is not SurfaceType.PLANE or not graph.neighbours[f.index]:
            continue
        kinds = {e.convexity for es in graph.neighbours[f.index].values() for e in es}
        if kinds and kinds <= {CONCAVE, SMOOTH} and CONCAVE in kinds:
            result.add(f.index)
    return result


def find_walls(shape: Any) -> WallMap:
    """The walls of every solid of ``shape`` (indices and names those of ``shape.Faces``)."""
    import FreeCAD

    placement = shape.Placement
    local = shape.copy(False)  # topology only, same numbering, no placement
    local.Placement = FreeCAD.Placement()
    all_faces = local.Faces
    records = [_record(i, f) for i, f in enumerate(all_faces)]
    graph = face_graph(local)
    index: dict[int, list[int]] = {}
    for i, face in enumerate(all_faces):
        index.setdefault(face.hashCode(), []).append(i)
    floors = _floors(graph, records)
    _hard_edges(graph, records)
    walls: list[Wall] = []
    for number, solid in enumerate(local.Solids):
        own = []
        for face in solid.Faces:
            match = next((i for i in index.get(face.hashCode(), []) if all_faces[i].isSame(face)), None)
            if match is not None:
                own.append(records[match])
        local_walls = _Finder(solid, own, number).walls(floors)
        walls += [_globalise(w, placement) for w in _without_blend_twins(local_walls, graph, records)]
    return WallMap(walls, graph, records, placement, local)


def _without_blend_twins(found: list[Wall], graph: FaceGraph, records: list[_Face]) -> list[Wall]:
    """Drops a wall measured from blends (a round, a concave fillet at a root) when planar faces
    next to them bound the same wall just as thick: the plate or fin, not its rounded edges."""
    planar = [w for w in found if all(records[i].kind is SurfaceType.PLANE for i in w.faces)]

    def near(f: int, g: int) -> bool:
        return f == g or g in graph.neighbours[f]

    kept = []
    for wall in found:
        curved = any(records[i].kind is not SurfaceType.PLANE for i in wall.faces)
        if not curved or wall.kind in (TUBE, PIN) or wall.faces[0] == wall.faces[1]:
            kept.append(wall)
            continue
        f1, f2 = wall.faces
        slack = max(LENGTH_NOISE, 1e-6 * wall.thickness)
        twin = any(
            abs(w.thickness - wall.thickness) <= slack
            and ((near(f1, w.faces[0]) and near(f2, w.faces[1])) or (near(f1, w.faces[1]) and near(f2, w.faces[0])))
            for w in planar
        )
        if not twin:
            kept.append(wall)
    return kept


def _globalise(wall: Wall, placement: Any) -> Wall:
    c = wall.chord
    chord = Chord(c.thickness, placement.multVec(c.point_in), placement.multVec(c.point_out), placement.Rotation.multVec(c.direction))
    return Wall(wall.faces, wall.kind, wall.thickness, wall.thickest, chord, wall.extent, wall.solid, c.direction)


def wall_map(target: Any) -> WallMap:
    """``find_walls(target.shape)``, computed once per object and kept in ``target.cache``."""
    if WALLS_KEY not in target.cache:
        target.cache[WALLS_KEY] = find_walls(target.shape)
    return target.cache[WALLS_KEY]


# ---------------------------------------------------------------------------------- standing walls


def _neighbours(walls: WallMap, i: int, kinds: tuple[str, ...]) -> list[int]:
    return [
        j
        for j, shared in walls.graph.neighbours[i].items()
        if any(e.convexity in kinds for e in shared)
    ]


def _normal(walls: WallMap, i: int) -> Any:
    record = walls.faces[i]
    if record.normal is not None:
        return record.normal
    return face_normal_at(record.face, point_inside(record.face)[0])


def _caps(walls: WallMap, wall: Wall, up: Any) -> list[int]:
    """Faces on the free edge: next to both wall faces across convex or smooth edges, facing ``up``."""
    a, b = wall.faces
    first = set(_neighbours(walls, a, (CONVEX, SMOOTH)))
    common = [j for j in _neighbours(walls, b, (CONVEX, SMOOTH)) if j in first and j not in (a, b)]
    return [j for j in common if _normal(walls, j).dot(up) >= CAP_MIN_COS]


def _height(walls: WallMap, wall: Wall, up: Any) -> float:
    a, b = (walls.faces[i] for i in wall.faces)
    lo, hi = _overlap(a.interval(up), b.interval(up))
    return max(hi - lo, 0.0)


def _roots(walls: WallMap, i: int, normal: Any, exclude: set[int]) -> list[int]:
    """Planes face ``i`` stands on: concave neighbours square to the wall normal."""
    found = []
    for j in _neighbours(walls, i, (CONCAVE,)):
        record = walls.faces[j]
        if j in exclude or record.kind is not SurfaceType.PLANE:
            continue
        if abs(record.normal.dot(normal)) <= _SIN_ANTIPARALLEL:
            found.append(j)
    return found


def _standing(walls: WallMap, wall: Wall, up: Any, base: tuple[int, ...], rib: bool) -> Standing | None:
    cap = _caps(walls, wall, up)
    if not cap:
        return None
    height = _height(walls, wall, up)
    if height <= 0:
        return None
    return Standing(wall, walls.direction_to_global(up), height, base, tuple(cap), rib, up)


def _rib(walls: WallMap, wall: Wall) -> Standing | None:
    """A planar wall whose two faces stand on one plane (a rib, a fin), capped on its free edge."""
    a, b = wall.faces
    normal = wall.local_direction
    roots_a = _roots(walls, a, normal, {b})
    roots_b = _roots(walls, b, normal, {a})
    tol = 1e-6 * max(1.0, walls.local.BoundBox.DiagonalLength)
    for i in roots_a:
        for j in roots_b:
            ni, nj = walls.faces[i].normal, walls.faces[j].normal
            if ni.dot(nj) >= _COS_ANTIPARALLEL and abs(walls.faces[i].offset - walls.faces[j].offset) <= tol:
                standing = _standing(walls, wall, ni, tuple(sorted({i, j})), True)
                if standing is not None:
                    return standing
    return None


def _tube(walls: WallMap, wall: Wall) -> Standing | None:
    """A tube whose outside cylinder stands on a plane square to its axis (a hollow boss)."""
    outside = next((walls.faces[i] for i in wall.faces if not walls.faces[i].internal), None)
    if outside is None:
        return None
    for j in _neighbours(walls, outside.index, (CONCAVE,)):
        record = walls.faces[j]
        if record.kind is SurfaceType.PLANE and abs(record.normal.dot(outside.axis)) >= _COS_ANTIPARALLEL:
            return _standing(walls, wall, record.normal, (j,), False)
    return None


def _planar(walls: WallMap, wall: Wall) -> bool:
    return wall.kind == WALL and all(walls.faces[i].kind is SurfaceType.PLANE for i in wall.faces)


def ribs(target: Any) -> list[Standing]:
    """Planar walls standing with both faces on one plane: ribs and fins (face graph only)."""
    cached = target.cache.get(RIBS_KEY)
    if cached is None:
        walls = wall_map(target)
        cached = [r for r in (_rib(walls, w) for w in walls.walls if _planar(walls, w)) if r is not None]
        target.cache[RIBS_KEY] = cached
    return cached


def standing_walls(target: Any) -> list[Standing]:
    """Walls that stand up from a root to a free edge, with their height.

    Ribs and fins (both faces on one plane) and tubes standing on a plane are
    read off the face graph. Any other planar wall stands when one of its
    faces is a side wall of a recognised pocket, slot or step: it rises from
    that depression's floor along the way the tool feeds, and its height is
    the depth it shares with its other face. A plate or a ledge whose face is
    a depression's *floor* does not stand: the tool cuts it with its end.
    """
    cached = target.cache.get(STANDING_KEY)
    if cached is not None:
        return cached
    import FreeCAD

    from .hole_checks import cached_features

    walls = wall_map(target)
    rotation = walls.placement.Rotation.inverted()
    side_walls: dict[int, list[Any]] = {}
    for feature in cached_features(target):
        if feature.get("kind") not in ("pocket", "slot", "step") or "axis" not in feature:
            continue
        up = rotation.multVec(FreeCAD.Vector(*feature["axis"])) * -1.0
        for name in feature.get("walls", []):
            side_walls.setdefault(int(name[4:]) - 1, []).append(up)
    found = []
    for wall in walls.walls:
        standing = None
        if _planar(walls, wall):
            standing = _rib(walls, wall)
            if standing is None:
                for i in wall.faces:
                    for up in side_walls.get(i, []):
                        if abs(up.dot(wall.local_direction)) <= _SIN_ANTIPARALLEL:
                            standing = _standing(walls, wall, up, (), False)
                            if standing is not None:
                                break
                    if standing is not None:
                        break
        elif wall.kind == TUBE:
            standing = _tube(walls, wall)
        if standing is not None:
            found.append(standing)
    target.cache[STANDING_KEY] = found
    return found


def supporting_wall(target: Any, rib: Standing) -> Wall | None:
    """The nominal wall a rib stands on: a wall of its base faces measured along the rib's ``up``."""
    walls = wall_map(target)
    candidates = []
    for i in rib.base:
        for wall in walls.of_face(i):
            if wall is rib.wall or wall.kind not in (WALL, FLOOR):
                continue
            if abs(wall.local_direction.dot(rib.local_up)) >= _COS_ANTIPARALLEL:
                candidates.append(wall)
    if not candidates:
        return None
    root = rib.wall.location
    return min(candidates, key=lambda w: (w.location - root).Length)


def nominal_neighbours(target: Any) -> list[tuple[Wall, Wall]]:
    """Pairs of touching nominal walls (planar walls, floors, tubes; not ribs, webs or pins),
    thinner first: where a part's wall thickness changes from one section to the next."""
    walls = wall_map(target)
    rib_walls = {id(s.wall) for s in ribs(target)}
    nominal = [w for w in walls.walls if w.kind in NOMINAL and id(w) not in rib_walls]
    pairs = []
    for k, first in enumerate(nominal):
        for second in nominal[k + 1 :]:
            if walls.touching(first, second):
                thin, thick = sorted((first, second), key=lambda w: w.thickness)
                pairs.append((thin, thick))
    return pairs


def transition(target: Any, thin: Wall, thick: Wall) -> Any:
    """Where a thin wall meets a thick one (global mm): the point of the thin wall's faces nearest
    the thick wall's faces that are not shared."""
    import Part

    walls = wall_map(target)
    own = [i for i in dict.fromkeys(thin.faces) if i not in thick.faces] or list(dict.fromkeys(thin.faces))
    other = [i for i in dict.fromkeys(thick.faces) if i not in thin.faces] or list(dict.fromkeys(thick.faces))
    a = Part.Compound([walls.faces[i].face for i in own])
    b = Part.Compound([walls.faces[i].face for i in other])
    try:
        _, pairs, _ = a.distToShape(b)
    except Exception:  # the kernel found no extremum: fall back to the middle of the two walls
        return (thin.location + thick.location) * 0.5
    return walls.to_global(pairs[0][0])

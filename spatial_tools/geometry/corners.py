"""Inside (concave) corners of a solid: where they are, their radius, and how deep they run along a direction.

A corner is either *sharp* - a concave edge between two faces that meet at
an angle (radius 0) - or a *blend*: a concave cylinder, torus or sphere
that meets its neighbours tangentially (a fillet), whose radius is the
corner's radius. Convexity comes from the face graph (adjacency.py), so a
corner is concave exactly when the material angle across it exceeds 180°.

Mill and mold rules ask different things of the same corners: a mill
cannot cut a corner that runs along its own axis sharper than its radius
(``corners_along``), a mold wants every inside corner rounded
(``concave_corners``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .adjacency import CONCAVE, SMOOTH, FaceGraph, face_graph
from .face_info import FaceInfo, face_infos, settings
from .feature_model import is_line
from .query import point_inside

BLEND_KINDS = ("cylinder", "torus", "sphere")
# A concave edge that turns the surface by less than this (material angle under 180° + this) is a
# kink, not a corner: a round cutter leaves less than 1e-4 of its radius there.
MIN_TURN_DEG = 1.0
CORNERS_KEY = "corners"  # per-object cache key of (infos, graph, corners) (see ``cached_corners``)


@dataclass
class Corner:
    """One inside corner: the faces it joins, its sharp edges or its blend face, and its radius."""

    faces: tuple[int, ...]  # the faces the corner joins (0-based); a blend's tangent neighbours
    edges: list[int]  # sharp concave edges (0-based into shape.Edges); empty for a blend
    blend: int | None  # the blend face (0-based), None for a sharp corner
    radius: float  # 0 for a sharp corner
    line: Any  # unit direction of a straight corner (edge or cylinder axis); None when curved
    location: Any  # a point on the corner (global mm when the shape is)
    points: list[Any]  # samples of the corner geometry, for extents
    # How far the surface turns across the corner (the angle between the faces' normals, the largest
    # along it), degrees: 90 for a square step, 9 for a face meeting a bore it almost continues.
    turn_deg: float = 90.0

    @property
    def sharp(self) -> bool:
        return self.blend is None

    def depth_along(self, direction: Any) -> float:
        """Extent of the corner along the unit ``direction`` (its height in a pocket)."""
        values = [p.dot(direction) for p in self.points]
        return max(values) - min(values) if values else 0.0

    def along(self, direction: Any, sin_tol: float | None = None) -> bool:
        """The corner runs parallel to ``direction`` (either sense)."""
        if self.line is None:
            return False
        tol = settings().sin_tol if sin_tol is None else sin_tol
        return self.line.cross(direction).Length <= tol


TURN_SAMPLES = (0.1, 0.5, 0.9)  # where along a sharp corner's edges the normals are compared


def _turn_of_edges(edges: list[Any], face_a: Any, face_b: Any) -> float:
    """The largest angle (degrees) between the two faces' normals at points along ``edges``."""
    import math

    turn = 0.0
    for edge in edges:
        first, last = edge.ParameterRange
        for fraction in TURN_SAMPLES:
            point = edge.valueAt(first + (last - first) * fraction)
            normals = []
            for face in (face_a, face_b):
                try:
                    u, v = face.Surface.parameter(point)
                    normals.append(face.normalAt(u, v))
                except Exception:  # noqa: BLE001 - no normal there (apex): this sample says nothing
                    break
            if len(normals) == 2 and normals[0].Length > 1e-12 and normals[1].Length > 1e-12:
                turn = max(turn, math.degrees(normals[0].getAngle(normals[1])))
    return turn


def _turn_of_blend(info: FaceInfo) -> float:
    """The angle a fillet turns through: the arc of a cylinder blend; 90 for other blends."""
    import math

    if info.kind != "cylinder":
        return 90.0
    u0, u1, _, _ = info.face.ParameterRange
    return math.degrees(min(abs(u1 - u0), 2 * math.pi))


def _samples(edges: list[Any], n: int = 8) -> list[Any]:
    points = []
    for edge in edges:
        first, last = edge.ParameterRange
        steps = 1 if is_line(edge) else n
        points += [edge.valueAt(first + (last - first) * k / steps) for k in range(steps + 1)]
    return points


def _is_blend(info: FaceInfo, graph: FaceGraph) -> bool:
    """A concave rolling-ball face: it meets at least one neighbour tangentially."""
    if info.kind not in BLEND_KINDS or not info.internal:
        return False
    return any(e.convexity == SMOOTH for shared in graph.neighbours[info.index].values() for e in shared)


def _line_of_edge(edge: Any) -> Any | None:
    if not is_line(edge):
        return None
    first, last = edge.ParameterRange
    d = edge.valueAt(last) - edge.valueAt(first)
    return d.normalize() if d.Length > 1e-12 else None


def concave_corners(shape: Any, infos: list[FaceInfo] | None = None, graph: FaceGraph | None = None) -> list[Corner]:
    """Every inside corner of ``shape``: sharp concave edges grouped by the face pair, and concave blends."""
    infos = infos if infos is not None else face_infos(shape)
    graph = graph if graph is not None else face_graph(shape)
    corners: list[Corner] = []
    blends = {i.index for i in infos if _is_blend(i, graph)}
    by_pair: dict[tuple[int, int, Any], list[int]] = {}
    for shared in graph.edges:
        if shared.convexity != CONCAVE or shared.angle_deg < 180.0 + MIN_TURN_DEG:
            continue
        edge = graph.edge_shapes[shared.edge]
        line = _line_of_edge(edge)
        # straight edges of one face pair are one corner only when collinear-parallel; curved ones group by pair
        key = (*shared.faces, None if line is None else (round(abs(line.x), 6), round(abs(line.y), 6), round(abs(line.z), 6)))
        by_pair.setdefault(key, []).append(shared.edge)
    for (i, j, _), edge_indices in by_pair.items():
        edges = [graph.edge_shapes[k] for k in edge_indices]
        lines = [_line_of_edge(e) for e in edges]
        line = lines[0] if all(x is not None for x in lines) else None
        points = _samples(edges)
        first, last = edges[0].ParameterRange
        corners.append(
            Corner(
                faces=(i, j), edges=sorted(edge_indices), blend=None, radius=0.0, line=line,
                location=edges[0].valueAt(0.5 * (first + last)), points=points,
                turn_deg=_turn_of_edges(edges, graph.faces[i], graph.faces[j]),
            )
        )
    for b in sorted(blends):
        info = infos[b]
        tangent = sorted(j for j, shared in graph.neighbours[b].items() if any(e.convexity == SMOOTH for e in shared))
        corners.append(
            Corner(
                faces=tuple(tangent), edges=[], blend=b, radius=float(info.radius),
                line=info.axis if info.kind == "cylinder" else None,
                location=point_inside(info.face)[0], points=_samples(info.edges),
                turn_deg=_turn_of_blend(info),
            )
        )
    return corners


def real_corners(corners: list[Corner], min_turn_deg: float) -> list[Corner]:
    """The corners across which the surface turns by at least ``min_turn_deg`` (a profile value):
    below it a face nearly continues into the next, and a round cutter or the melt meets no corner."""
    return [c for c in corners if c.turn_deg >= min_turn_deg]


def off_threads(corners: list[Corner], thread_faces: frozenset[int] | set[int]) -> list[Corner]:
    """The corners that touch no face of a modelled thread: a thread's roots are its form, cut by a
    tap or a thread mill, not inside corners to round one by one."""
    if not thread_faces:
        return corners
    return [c for c in corners if c.blend not in thread_faces and not set(c.faces) & thread_faces]


def corners_along(corners: list[Corner], direction: Any, faces: set[int] | None = None) -> list[Corner]:
    """The corners that run parallel to ``direction`` (a tool axis), optionally only among ``faces``.

    A sharp corner counts when both its faces are in ``faces``; a blend when its face is.
    """
    d = direction.normalize() if hasattr(direction, "normalize") else direction
    found = []
    for corner in corners:
        if faces is not None:
            inside = corner.blend in faces if corner.blend is not None else all(f in faces for f in corner.faces)
            if not inside:
                continue
        if corner.along(d):
            found.append(corner)
    return found


# --- corners a 3-axis setup cuts sharp as a floor meeting a wall --------------------------------------

SETUP_DIRECTIONS = ((1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, -1.0))
PROBE_CLEARANCE = 1e-3  # mm: the probe stands this far off the floor, the wall and the corner's ends
PROBE_SOLID_SHARE = 1e-6  # of the probe's volume: less material than this inside it is boolean noise


def _normal_at(face: Any, point: Any) -> Any | None:
    try:
        u, v = face.Surface.parameter(point)
        n = face.normalAt(u, v)
    except Exception:  # noqa: BLE001 - no normal there (degenerate point): this face says nothing
        return None
    return n.normalize() if n.Length > 1e-12 else None


def _end_mill_reaches(shape: Any, edge: Any, floor_normal: Any, wall_normal: Any, width: float) -> bool:
    """Nothing of the part stands over a strip of the floor along the corner, out along the floor's normal:
    the flat end of a cutter fed along -normal sits on that strip against the wall."""
    import Part

    first, last = edge.ParameterRange
    a, b = edge.valueAt(first), edge.valueAt(last)
    along = b - a
    if along.Length <= 4 * PROBE_CLEARANCE:
        return False
    along.normalize()
    across = wall_normal - floor_normal * wall_normal.dot(floor_normal)  # into the open floor, square to the corner
    if across.Length < 1e-9:
        return False
    across.normalize()
    lift = floor_normal * PROBE_CLEARANCE
    a = a + along * PROBE_CLEARANCE + across * PROBE_CLEARANCE + lift
    b = b - along * PROBE_CLEARANCE + across * PROBE_CLEARANCE + lift
    base = Part.Face(Part.makePolygon([a, b, b + across * width, a + across * width, a]))
    probe = base.extrude(floor_normal * shape.BoundBox.DiagonalLength)
    return shape.common(probe).Volume <= PROBE_SOLID_SHARE * probe.Volume + 1e-12


def floor_wall_setup(corner: Corner, graph: FaceGraph, probe_width: float) -> tuple[float, float, float] | None:
    """A 3-axis setup (±X ±Y ±Z of the part) in which the sharp straight ``corner`` is where a floor meets a
    wall: the corner square to the setup, one of its faces a plane facing it, and a cutter fed along the
    setup's axis reaches that floor along the corner. A flat end mill leaves that corner sharp as modelled,
    so it is no corner problem. None when no setup does (a pocket's vertical corner: each wall faces the
    opposite one, which stands in the way)."""
    import FreeCAD

    if not corner.sharp or corner.line is None or len(corner.faces) != 2:
        return None
    tol = settings().sin_tol
    edges = [graph.edge_shapes[k] for k in corner.edges]
    for setup in SETUP_DIRECTIONS:
        d = FreeCAD.Vector(*setup)
        if abs(corner.line.dot(d)) > tol:
            continue
        for floor, wall in (corner.faces, corner.faces[::-1]):
            floor_face, wall_face = graph.faces[floor], graph.faces[wall]
            if type(floor_face.Surface).__name__ != "Plane":
                continue
            reached = True
            for edge in edges:
                first, last = edge.ParameterRange
                middle = edge.valueAt(0.5 * (first + last))
                floor_normal, wall_normal = _normal_at(floor_face, middle), _normal_at(wall_face, middle)
                if floor_normal is None or wall_normal is None or (floor_normal - d).Length > tol:
                    reached = False
                    break
                if not _end_mill_reaches(graph.shape, edge, d, wall_normal, probe_width):
                    reached = False
                    break
            if reached:
                return setup
    return None


def off_floor_walls(corners: list[Corner], graph: FaceGraph, probe_width: float) -> list[Corner]:
    """The corners that are not a floor meeting a wall in any 3-axis setup (``floor_wall_setup``)."""
    return [c for c in corners if floor_wall_setup(c, graph, probe_width) is None]


def cached_corners(target: Any) -> tuple[list[FaceInfo], FaceGraph, list[Corner]]:
    """(face infos, face graph, concave corners) of a DFM target's shape, computed once per object."""
    if CORNERS_KEY not in target.cache:
        infos = face_infos(target.shape)
        graph = face_graph(target.shape)
        target.cache[CORNERS_KEY] = (infos, graph, concave_corners(target.shape, infos, graph))
    return target.cache[CORNERS_KEY]

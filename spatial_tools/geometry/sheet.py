"""Sheet-metal reading of a solid: the sheet thickness T, its bends and its flanges.

A sheet part is one constant thickness folded: nearly all of its area comes
in pairs of faces at offset T - parallel planes facing away from each other
with material between, and coaxial cylinders (a concave inner one of radius
R and a convex outer one of radius R + T) at the bends. T is the offset that
pairs the largest share of the area; a part where no offset pairs most of
the area is not a sheet (``sheet_thickness`` returns None).

A *bend* is such a cylinder pair (inner radius R), or a sharp fold: a
concave straight edge between two paired sides (R = 0). Its *tangent lines*
are where the inner cylinder meets the flat sides. A *flange* is the flat
side that leaves a bend at a tangent line; its length is measured in its
plane, square to the bend axis, from the tangent line to the farthest point
of the face. A flange whose face reaches another bend is a web between two
bends, not a free flange.

Everything is in the coordinates of the shape given (the DFM rules pass
global ones); face and edge indices are 0-based into ``shape.Faces`` and
``shape.Edges``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .adjacency import CONCAVE, SMOOTH, FaceGraph, face_graph
from .face_info import FaceInfo, face_infos, settings
from .feature_model import angle_between, is_line
from .query import point_inside

# Share of the part's area that must be paired at one offset for the part to be a sheet.
MIN_PAIRED_AREA = 0.6
# Two offsets are one thickness within this (mm), or this fraction of the offset.
OFFSET_TOL = 1e-3
OFFSET_REL_TOL = 1e-3
# |sin| of the angle under which two planes count as one fold direction (not a bend).
FOLD_MIN_SIN = 1e-3

SHEET_KEY = "sheet"  # per-object cache key of the SheetModel (see ``cached_sheet``)


@dataclass
class Bend:
    """One bend: its inner (and outer) face(s), inner radius, axis and the lines it meets the flats at."""

    inner: list[int]  # inner concave cylinder faces; empty for a sharp fold
    outer: list[int]  # outer convex cylinder faces; empty for a sharp fold
    radius: float  # inner radius; 0 for a sharp fold
    axis_point: Any
    axis: Any  # unit direction of the bend line
    angle_deg: float  # how far the sheet turns (90 for an L)
    tangent_edges: list[int]  # inner-side edges where the bend meets a flat (a sharp fold: its concave edge)
    sides: list[int]  # flat faces that meet the bend's inner side at those edges
    location: Any  # a point on the inner surface, midway along the bend

    @property
    def sharp(self) -> bool:
        return not self.inner

    @property
    def faces(self) -> list[int]:
        return self.inner + self.outer


@dataclass
class Flange:
    """A flat side leaving a bend: its length from the tangent line and where its far end is."""

    face: int  # the inner-side flat face
    bend: Bend
    tangent_edge: int
    length: float  # in the face's plane, square to the bend axis, tangent line -> farthest point
    direction: Any  # unit, in the plane, away from the bend
    base: Any  # a point of the tangent line (its middle)
    tip: Any  # the farthest point of the face from the tangent line
    free: bool  # True: it ends at the sheet's edge; False: it reaches another bend (a web)


@dataclass
class SheetModel:
    """The sheet reading of one shape, built once (``sheet_model``)."""

    shape: Any
    thickness: float
    coverage: float  # share of the area paired at ``thickness``
    partner: dict[int, int]  # face -> the face across the sheet from it (sides and bend faces)
    bends: list[Bend]
    flanges: list[Flange]
    infos: list[FaceInfo]
    graph: FaceGraph
    edges: list[Any] = field(default_factory=list)
    bend_edges: list[dict[int, set[int]]] = field(default_factory=list)  # per bend: flat face -> edges it meets it at
    edge_index: dict[int, list[int]] = field(default_factory=dict)  # edge hashCode -> 0-based indices

    def side(self, i: int) -> bool:
        """A flat face of the sheet (one of the two skins), not an edge strip or a bend."""
        return i in self.partner and self.infos[i].kind == "plane"

    def bend_of_face(self, i: int) -> Bend | None:
        return next((b for b in self.bends if i in b.faces), None)

    def bends_at(self, i: int) -> dict[int, set[int]]:
        """Bends face ``i`` meets (index into ``bends``) and the edges it meets each at."""
        return {k: edges[i] for k, edges in enumerate(self.bend_edges) if i in edges}


# --------------------------------------------------------------------------- thickness


def _offset_tol(d: float) -> float:
    return max(OFFSET_TOL, OFFSET_REL_TOL * abs(d))


def _on_face(face: Any, point: Any) -> bool:
    u, v = face.Surface.parameter(point)
    return face.isPartOfDomain(u, v)


def _plane_pairs(infos: list[FaceInfo], sin_tol: float, length_tol: float) -> dict[int, tuple[int, float]]:
    """Each planar face -> (the nearest antiparallel face behind it that its interior point projects into, offset)."""
    planes = [i for i in infos if i.kind == "plane"]
    samples = {}
    for info in planes:
        try:
            samples[info.index] = point_inside(info.face)[0]
        except Exception:  # a degenerate face has no interior point: it pairs with nothing
            continue
    result: dict[int, tuple[int, float]] = {}
    for a in planes:
        if a.index not in samples:
            continue
        best = None
        for b in planes:
            if b is a or a.normal.cross(b.normal).Length > sin_tol or a.normal.dot(b.normal) >= 0:
                continue
            d = a.offset + b.offset  # b's plane is n_a·x = -offset_b; material lies behind a
            if d <= length_tol or (best is not None and d >= best[1]):
                continue
            if _on_face(b.face, samples[a.index] - a.normal * d):
                best = (b.index, d)
        if best is not None:
            result[a.index] = best
    return result


def _coaxial(a: FaceInfo, b: FaceInfo, sin_tol: float, length_tol: float) -> bool:
    return a.axis.cross(b.axis).Length <= sin_tol and a.radial(b.axis_point) <= 10 * length_tol


def _cylinder_pairs(infos: list[FaceInfo], sin_tol: float, length_tol: float) -> dict[int, tuple[int, float]]:
    """Each cylinder -> (a coaxial cylinder of the other sense across the material from it, radial offset)."""
    cylinders = [i for i in infos if i.kind == "cylinder"]
    result: dict[int, tuple[int, float]] = {}
    for a in cylinders:
        try:
            p = point_inside(a.face)[0]
        except Exception:
            continue
        best = None
        for b in cylinders:
            if b is a or b.internal == a.internal or not _coaxial(a, b, sin_tol, length_tol):
                continue
            # material lies outside a concave face and inside a convex one
            d = (b.radius - a.radius) if a.internal else (a.radius - b.radius)
            if d <= length_tol or (best is not None and d >= best[1]):
                continue
            radial = p - a.axis_point
            radial = radial - a.axis * radial.dot(a.axis)
            if radial.Length <= length_tol:
                continue
            q = a.axis_point + a.axis * (p - a.axis_point).dot(a.axis) + radial * (b.radius / radial.Length)
            if _on_face(b.face, q):
                best = (b.index, d)
        if best is not None:
            result[a.index] = best
    return result


def _dominant(pairs: dict[int, tuple[int, float]], infos: list[FaceInfo]) -> tuple[float, float] | None:
    """(offset, paired area) of the offset cluster holding the most area."""
    values = sorted((d, infos[i].area) for i, (_, d) in pairs.items())
    best = None
    k = 0
    while k < len(values):
        start = values[k][0]
        area = 0.0
        weighted = 0.0
        m = k
        while m < len(values) and values[m][0] - start <= _offset_tol(start):
            area += values[m][1]
            weighted += values[m][0] * values[m][1]
            m += 1
        if best is None or area > best[1]:
            best = (weighted / area if area > 0 else start, area)
        k = m
    return best


def _paired(shape: Any, infos: list[FaceInfo]) -> tuple[float, float, dict[int, int]] | None:
    config = settings()
    pairs = _plane_pairs(infos, config.sin_tol, config.length_tol)
    pairs.update(_cylinder_pairs(infos, config.sin_tol, config.length_tol))
    if not pairs:
        return None
    found = _dominant(pairs, infos)
    total = sum(i.area for i in infos)
    if found is None or total <= 0:
        return None
    thickness, area = found
    coverage = area / total
    if coverage < MIN_PAIRED_AREA:
        return None
    partner = {i: j for i, (j, d) in pairs.items() if abs(d - thickness) <= _offset_tol(thickness)}
    return thickness, coverage, partner


def sheet_thickness(shape: Any) -> float | None:
    """The sheet thickness T of ``shape`` in mm, or None when it is not one constant-thickness sheet."""
    model = sheet_model(shape)
    return model.thickness if model is not None else None


# --------------------------------------------------------------------------- bends and flanges


def _line_edges(graph: FaceGraph, i: int, j: int, kinds: tuple[str, ...]) -> list[int]:
    return [e.edge for e in graph.between(i, j) if e.convexity in kinds and is_line(graph.edge_shapes[e.edge])]


def _edge_middle(edge: Any) -> Any:
    first, last = edge.ParameterRange
    return edge.valueAt(0.5 * (first + last))


def _cylinder_bends(infos: list[FaceInfo], graph: FaceGraph, partner: dict[int, int]) -> list[Bend]:
    """Inner concave cylinders paired across T, grouped by axis and radius (a bend may come split)."""
    config = settings()
    inner = [i for i in partner if infos[i].kind == "cylinder" and infos[i].internal]
    bends: list[Bend] = []
    for i in sorted(inner):
        a = infos[i]
        for bend in bends:
            b = infos[bend.inner[0]]
            if _coaxial(a, b, config.sin_tol, config.length_tol) and abs(a.radius - b.radius) <= config.length_tol:
                bend.inner.append(i)
                if partner[i] not in bend.outer:
                    bend.outer.append(partner[i])
                break
        else:
            bends.append(
                Bend(
                    inner=[i], outer=[partner[i]], radius=a.radius, axis_point=a.axis_point, axis=a.axis,
                    angle_deg=0.0, tangent_edges=[], sides=[], location=None,
                )
            )
    for bend in bends:
        for i in bend.inner:
            for j in graph.neighbours[i]:
                if infos[j].kind == "plane" and j in partner:
                    edges = _line_edges(graph, i, j, (SMOOTH,))
                    if edges:
                        bend.tangent_edges += edges
                        if j not in bend.sides:
                            bend.sides.append(j)
        u_span = 0.0
        for i in bend.inner:
            u0, u1, _, _ = infos[i].face.ParameterRange
            u_span += abs(u1 - u0)
        bend.angle_deg = min(360.0, math.degrees(u_span))
        face = infos[bend.inner[0]].face
        bend.location = point_inside(face)[0]
    return bends


def _sharp_folds(infos: list[FaceInfo], graph: FaceGraph, partner: dict[int, int]) -> list[Bend]:
    """Concave straight edges between two paired flat sides: folds with no inner radius."""
    folds = []
    for shared in graph.edges:
        if shared.convexity != CONCAVE:
            continue
        i, j = shared.faces
        a, b = infos[i], infos[j]
        if a.kind != "plane" or b.kind != "plane" or i not in partner or j not in partner:
            continue
        fold = a.normal.cross(b.normal)
        edge = graph.edge_shapes[shared.edge]
        if fold.Length <= FOLD_MIN_SIN or not is_line(edge):
            continue
        middle = _edge_middle(edge)
        folds.append(
            Bend(
                inner=[], outer=[], radius=0.0, axis_point=middle, axis=fold.normalize(),
                angle_deg=angle_between(a.normal, b.normal), tangent_edges=[shared.edge], sides=[i, j],
                location=middle,
            )
        )
    return folds


def _bend_edges(bend: Bend, infos: list[FaceInfo], graph: FaceGraph, partner: dict[int, int]) -> dict[int, set[int]]:
    """Flat faces that meet ``bend`` on either skin, and the edges they meet it at."""
    result: dict[int, set[int]] = {}
    if not bend.sharp:
        for i in bend.faces:
            for j, shared in graph.neighbours[i].items():
                if infos[j].kind == "plane" and j in partner:
                    result.setdefault(j, set()).update(e.edge for e in shared)
        return result
    for side in bend.sides:
        result.setdefault(side, set()).update(bend.tangent_edges)
    a, b = (partner[s] for s in bend.sides)
    for e in graph.between(a, b):  # the convex edge across the sheet from the fold
        result.setdefault(a, set()).add(e.edge)
        result.setdefault(b, set()).add(e.edge)
    return result


def _edge_points(edges: list[Any], samples: int = 12) -> list[Any]:
    """Points along ``edges``: both ends of a straight one, ``samples`` steps along a curved one."""
    points = []
    for e in edges:
        first, last = e.ParameterRange
        n = 1 if is_line(e) else samples
        points += [e.valueAt(first + (last - first) * k / n) for k in range(n + 1)]
    return points


def _flanges(model: SheetModel) -> list[Flange]:
    flanges = []
    for k, bend in enumerate(model.bends):
        for edge_index in bend.tangent_edges:
            base = _edge_middle(model.edges[edge_index])
            for side in bend.sides:
                if edge_index not in model.bend_edges[k].get(side, ()):
                    continue
                info = model.infos[side]
                direction = info.normal.cross(bend.axis)
                if direction.Length <= FOLD_MIN_SIN:
                    continue
                direction.normalize()
                if (point_inside(info.face)[0] - base).dot(direction) < 0:
                    direction = -direction
                tip = max(_edge_points(info.face.OuterWire.Edges), key=lambda p: (p - base).dot(direction))
                free = set(model.bends_at(side)) == {k}
                flanges.append(
                    Flange(
                        face=side, bend=bend, tangent_edge=edge_index, length=(tip - base).dot(direction),
                        direction=direction, base=base, tip=tip, free=free,
                    )
                )
    return flanges


def sheet_model(shape: Any) -> SheetModel | None:
    """The sheet reading of ``shape`` (thickness, bends, flanges); None when it is not a sheet."""
    if shape.isNull() or not shape.Faces:
        return None
    infos = face_infos(shape)
    paired = _paired(shape, infos)
    if paired is None:
        return None
    thickness, coverage, partner = paired
    graph = face_graph(shape)
    model = SheetModel(
        shape=shape, thickness=thickness, coverage=coverage, partner=partner, bends=[], flanges=[],
        infos=infos, graph=graph, edges=graph.edge_shapes,
    )
    model.bends = _cylinder_bends(infos, graph, partner) + _sharp_folds(infos, graph, partner)
    model.bend_edges = [_bend_edges(b, infos, graph, partner) for b in model.bends]
    model.flanges = _flanges(model)
    return model


def cached_sheet(target: Any) -> SheetModel | None:
    """``sheet_model(target.shape)`` computed once per DFM target and kept in ``target.cache``."""
    if SHEET_KEY not in target.cache:
        target.cache[SHEET_KEY] = sheet_model(target.shape)
    return target.cache[SHEET_KEY]


def require_sheet(target: Any) -> SheetModel:
    """``cached_sheet(target)``; raises NotApplicable when the part is not one constant-thickness sheet."""
    from ..errors import NotApplicable

    model = cached_sheet(target)
    if model is None:
        raise NotApplicable(
            f"{target.name} is not a sheet: no single thickness pairs {MIN_PAIRED_AREA:.0%} of its area "
            "(parallel faces or coaxial bend cylinders at one offset)"
        )
    return model


# --------------------------------------------------------------------------- holes in the sheet


@dataclass
class SheetHole:
    """A recognised through hole where it pierces one flat side of the sheet."""

    hole: dict  # the recogniser's record (features.recognize), coordinates as the shape's
    side: int  # the flat side face (0-based)
    center: Any  # where the hole axis pierces that side
    radius: float  # rim radius on that side
    faces: list[int]  # the hole's faces (0-based)


def _index_of(name: str) -> int:
    return int(name[4:]) - 1


def sheet_holes(model: SheetModel, holes: list[dict]) -> list[SheetHole]:
    """Each through hole square to a flat side, once per side it opens on (entry and exit)."""
    import FreeCAD

    config = settings()
    result = []
    for hole in holes:
        if hole.get("kind", "hole") != "hole" or not hole.get("through"):
            continue
        axis = FreeCAD.Vector(*hole["axis"])
        position = FreeCAD.Vector(*hole["position"])
        own = [_index_of(n) for n in hole["faces"]]
        for name in list(hole.get("entry_faces", [])) + list(hole.get("exit_faces", [])):
            side = _index_of(name)
            if not model.side(side):
                continue
            info = model.infos[side]
            along = info.normal.dot(axis)
            if info.normal.cross(axis).Length > config.sin_tol or abs(along) < 1e-12:
                continue
            rim = [model.edges[e.edge] for i in own for e in model.graph.between(i, side)]
            if not rim:
                continue
            center = position + axis * ((info.offset - info.normal.dot(position)) / along)
            radius = max((p - center).Length for p in _edge_points(rim))
            result.append(SheetHole(hole=hole, side=side, center=center, radius=radius, faces=own))
    return result


@dataclass
class Clearance:
    """Distance from a hole's rim to a line or edge of the sheet, and where it is least."""

    distance: float  # rim to the edge (centre distance minus rim radius)
    edge: int  # 0-based edge of the side face measured to
    on_edge: Any  # nearest point of that edge
    on_rim: Any  # nearest point of the rim
    bend: int | None = None  # index into model.bends for a bend tangent line


def _clearance(hole: SheetHole, edge_index: int, edge: Any, bend: int | None = None) -> Clearance:
    import Part

    distance, pairs, _ = Part.Vertex(hole.center).distToShape(edge)
    nearest = pairs[0][1]
    toward = nearest - hole.center
    rim = hole.center + toward * (hole.radius / toward.Length) if toward.Length > 1e-12 else hole.center
    return Clearance(distance - hole.radius, edge_index, nearest, rim, bend)


def bend_clearances(model: SheetModel, hole: SheetHole) -> list[Clearance]:
    """Rim to each tangent line (or fold edge) where the hole's side meets a bend, nearest first."""
    found = [
        _clearance(hole, e, model.edges[e], k)
        for k, edges in model.bends_at(hole.side).items()
        for e in sorted(edges)
    ]
    return sorted(found, key=lambda c: c.distance)


def edge_clearance(model: SheetModel, hole: SheetHole) -> Clearance | None:
    """Rim to the nearest edge of the side's outer boundary that is not a bend line (the sheet's edge)."""
    bend_edges = set().union(*model.bends_at(hole.side).values()) if model.bends_at(hole.side) else set()
    if not model.edge_index:
        for k, e in enumerate(model.edges):
            model.edge_index.setdefault(e.hashCode(), []).append(k)
    best = None
    for edge in model.infos[hole.side].face.OuterWire.Edges:
        k = next((m for m in model.edge_index.get(edge.hashCode(), []) if model.edges[m].isSame(edge)), None)
        if k is None or k in bend_edges:
            continue
        c = _clearance(hole, k, edge)
        if best is None or c.distance < best.distance:
            best = c
    return best

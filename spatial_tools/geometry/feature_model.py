"""The part as the recognisers see it, and the feature record they return.

Recognisers work in the shape's own (local) coordinates, where a part is
usually modelled square to its axes; ``features.recognize`` maps results to
global coordinates. Values that must be mapped are tagged: ``Point`` and
``Direction`` (3-tuples) and ``FaceIdx`` (a 0-based face index that becomes a
``FaceN`` name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .adjacency import CONCAVE, CONVEX, SMOOTH, FaceGraph, face_graph
from .face_info import FaceInfo, Settings, face_infos, settings


class FaceIdx(int):
    """A 0-based face index inside a feature record."""


class Point(tuple):
    """A location in local mm, mapped through the placement."""


class Direction(tuple):
    """A unit direction in local coordinates, mapped through the rotation."""


def point(v: Any) -> Point:
    return Point((float(v.x), float(v.y), float(v.z)))


def direction(v: Any) -> Direction:
    length = v.Length or 1.0
    return Direction((float(v.x) / length, float(v.y) / length, float(v.z) / length))


def faces(indices) -> list[FaceIdx]:
    return [FaceIdx(i) for i in sorted(set(indices))]


@dataclass
class Feature:
    """One recognised feature: its kind, its faces and what a machinist wants to know."""

    kind: str
    faces: list[int]
    data: dict = field(default_factory=dict)  # may hold FaceIdx, Point, Direction anywhere

    def sort_key(self) -> tuple:
        anchor = self.data.get("position") or self.data.get("center") or (0.0, 0.0, 0.0)
        return (self.kind, round(anchor[2], 6), round(anchor[1], 6), round(anchor[0], 6), min(self.faces, default=0))


@dataclass
class PartModel:
    """A solid's faces, adjacency graph, stock faces and tolerances, built once."""

    shape: Any
    infos: list[FaceInfo]
    graph: FaceGraph
    settings: Settings
    stock: set[int]
    edges: list[Any] = field(default_factory=list)  # shape.Edges, built once (the kernel builds it per call)
    used: set[int] = field(default_factory=set)  # faces claimed by an earlier recogniser
    up: Any = None  # local direction of global +Z: through features are entered from above

    def feed_direction(self, axis: Any) -> Any:
        """The sense of ``axis`` a tool feeds along when it enters a through feature from above.

        Ties (a horizontal axis) fall back to local -X, then -Y, so the answer is stable.
        """
        import FreeCAD

        references = [FreeCAD.Vector(0, 0, 1) if self.up is None else self.up, FreeCAD.Vector(1, 0, 0), FreeCAD.Vector(0, 1, 0)]
        for ref in references:
            d = axis.dot(ref)
            if abs(d) > 1e-9:
                return -axis if d > 0 else axis
        return axis

    # --- tolerance-aware comparisons ---------------------------------------------------------
    def parallel(self, a: Any, b: Any) -> bool:
        """Same or opposite direction."""
        return a.cross(b).Length <= self.settings.sin_tol

    def same_direction(self, a: Any, b: Any) -> bool:
        return self.parallel(a, b) and a.dot(b) > 0

    def perpendicular(self, a: Any, b: Any) -> bool:
        return abs(a.dot(b)) <= self.settings.sin_tol

    def coplanar(self, i: int, j: int) -> bool:
        a, b = self.infos[i], self.infos[j]
        return (
            a.kind == b.kind == "plane"
            and self.same_direction(a.normal, b.normal)
            and abs(a.offset - b.offset) <= self.settings.length_tol
        )

    def coaxial(self, a: FaceInfo, b: FaceInfo) -> bool:
        """Axes on one line (either sense)."""
        if a.axis is None or b.axis is None or not self.parallel(a.axis, b.axis):
            return False
        return a.radial(b.axis_point) <= 10 * self.settings.length_tol

    # --- graph helpers ----------------------------------------------------------------------
    def edge_kind(self, i: int, j: int) -> str | None:
        return self.graph.convexity(i, j)

    def free(self, i: int) -> bool:
        return i not in self.used and i not in self.stock

    def edge_points(self, edges, samples: int = 12) -> list[Any]:
        """Points along edges (vertices alone miss the bulge of circles and saddles)."""
        points = []
        for edge in edges:
            first, last = edge.ParameterRange
            n = 1 if is_line(edge) else samples
            points += [edge.valueAt(first + (last - first) * k / n) for k in range(n + 1)]
        return points


def is_line(edge: Any) -> bool:
    """A straight edge. Edges whose curve OCC cannot name (pcurve-only, offset) are not."""
    try:
        curve = edge.Curve
    except TypeError:  # FreeCAD: "undefined curve type"
        return False
    return type(curve).__name__ == "Line"


def stock_faces(shape: Any, infos: list[FaceInfo], tol: float, sin_tol: float) -> set[int]:
    """Planar faces lying on the bounding box with the box's outward normal: the raw stock."""
    box = shape.BoundBox
    bounds = {
        (0, -1): box.XMin, (0, 1): box.XMax,
        (1, -1): box.YMin, (1, 1): box.YMax,
        (2, -1): box.ZMin, (2, 1): box.ZMax,
    }
    result = set()
    for info in infos:
        if info.kind != "plane":
            continue
        n = (info.normal.x, info.normal.y, info.normal.z)
        for (axis, sign), bound in bounds.items():
            if abs(n[axis] - sign) <= sin_tol and abs(info.offset - sign * bound) <= max(tol, 1e-7 * box.DiagonalLength):
                result.add(info.index)
    return result


def part_model(shape: Any) -> PartModel:
    config = settings()
    infos = face_infos(shape)
    graph = face_graph(shape)
    stock = stock_faces(shape, infos, config.length_tol, config.sin_tol)
    return PartModel(shape=shape, infos=infos, graph=graph, settings=config, stock=stock, edges=graph.edge_shapes)


def angle_between(a: Any, b: Any) -> float:
    """Angle in degrees between two vectors, 0-180."""
    c = max(-1.0, min(1.0, a.dot(b) / ((a.Length * b.Length) or 1.0)))
    return math.degrees(math.acos(c))


__all__ = [
    "CONCAVE", "CONVEX", "SMOOTH", "Direction", "FaceIdx", "Feature", "PartModel", "Point",
    "angle_between", "direction", "faces", "is_line", "part_model", "point",
]

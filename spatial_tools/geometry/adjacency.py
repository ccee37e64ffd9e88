"""Face adjacency graph of a solid with the convexity of every shared edge.

Feature recognition reads machining features off this graph: a depression
(hole, pocket, slot, step) is a set of faces joined by concave edges and
bounded by convex ones, a fillet or a blend meets its neighbours tangentially.

Convexity is decided from the kernel's own orientation: walking along an edge
as it is oriented in a face, the face's interior lies to the left of the
outward normal. So ``d1 = n1 × t`` points from the edge into face 1, and the
edge is concave exactly when face 1 climbs out along face 2's outward normal
(``n2 · d1 > 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

CONVEX = "convex"
CONCAVE = "concave"
SMOOTH = "smooth"

# |sin| of the dihedral deviation below which two faces meet tangentially.
SMOOTH_SIN = 1e-3


@dataclass
class SharedEdge:
    """An edge between two different faces (0-based face indices)."""

    edge: int  # 0-based index into shape.Edges
    faces: tuple[int, int]
    convexity: str
    angle_deg: float  # material angle across the edge: < 180 convex, > 180 concave


@dataclass
class FaceGraph:
    """Faces of one solid, their outward normals at a centre point, and shared edges."""

    shape: Any
    faces: list[Any]
    edge_shapes: list[Any] = field(default_factory=list)  # shape.Edges, in the kernel's order
    edges: list[SharedEdge] = field(default_factory=list)
    neighbours: list[dict[int, list[SharedEdge]]] = field(default_factory=list)

    def between(self, i: int, j: int) -> list[SharedEdge]:
        return self.neighbours[i].get(j, [])

    def convexity(self, i: int, j: int) -> str | None:
        """``convex``, ``concave``, ``smooth``, ``mixed`` or None when not adjacent."""
        kinds = {e.convexity for e in self.between(i, j)}
        if not kinds:
            return None
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def adjacent(self, i: int, kind: str | None = None) -> list[int]:
        if kind is None:
            return sorted(self.neighbours[i])
        return sorted(j for j, es in self.neighbours[i].items() if any(e.convexity == kind for e in es))


def _edge_tangent(edge: Any, parameter: float):
    tangent = edge.tangentAt(parameter)
    if edge.Orientation == "Reversed":
        tangent = -tangent
    return tangent


def _normal_at(face: Any, point: Any, plane_normals: dict[int, Any], index: int):
    """Outward normal at ``point``; a plane's is computed once (projecting costs the kernel)."""
    if index in plane_normals:
        return plane_normals[index]
    surface = face.Surface
    u, v = surface.parameter(point)
    normal = face.normalAt(u, v)
    if type(surface).__name__ == "Plane":
        plane_normals[index] = normal
    return normal


def _classify(edge_in_1: Any, faces: list[Any], i: int, j: int, plane_normals: dict[int, Any]) -> tuple[str, float]:
    first, last = edge_in_1.ParameterRange
    parameter = 0.5 * (first + last)
    point = edge_in_1.valueAt(parameter)
    tangent = _edge_tangent(edge_in_1, parameter)
    if tangent.Length < 1e-12:
        return SMOOTH, 180.0
    tangent.normalize()
    n1 = _normal_at(faces[i], point, plane_normals, i)
    n2 = _normal_at(faces[j], point, plane_normals, j)
    d1 = n1.cross(tangent)  # into face 1
    d2 = -n2.cross(tangent)  # into face 2 (the edge runs the other way in face 2)
    opening = math.degrees(d1.getAngle(d2)) if d1.Length > 1e-12 and d2.Length > 1e-12 else 180.0
    rise = n2.dot(d1)
    if abs(rise) <= SMOOTH_SIN and n1.dot(n2) > 0:
        return SMOOTH, 180.0
    if rise > 0:
        return CONCAVE, 360.0 - opening
    return CONVEX, opening


def face_graph(shape: Any) -> FaceGraph:
    """Builds the graph of ``shape`` (a solid or shell) in one pass over its faces."""
    faces = list(shape.Faces)
    edge_shapes = list(shape.Edges)
    edge_index = {e.hashCode(): k for k, e in enumerate(edge_shapes)}
    owners: dict[int, list[tuple[int, Any]]] = {}
    for i, face in enumerate(faces):
        for edge in face.Edges:
            owners.setdefault(edge.hashCode(), []).append((i, edge))
    graph = FaceGraph(shape=shape, faces=faces, edge_shapes=edge_shapes, neighbours=[{} for _ in faces])
    plane_normals: dict[int, Any] = {}
    for key, users in owners.items():
        distinct = {i for i, _ in users}
        if len(distinct) != 2 or edge_index.get(key) is None:
            continue  # seam (one face) or non-manifold edge
        (i, edge_i), (j, _) = users[0], next(u for u in users if u[0] != users[0][0])
        if getattr(edge_i, "Degenerated", False):
            continue
        convexity, angle = _classify(edge_i, faces, i, j, plane_normals)
        shared = SharedEdge(edge=edge_index[key], faces=(min(i, j), max(i, j)), convexity=convexity, angle_deg=angle)
        graph.edges.append(shared)
        graph.neighbours[i].setdefault(j, []).append(shared)
        graph.neighbours[j].setdefault(i, []).append(shared)
    return graph

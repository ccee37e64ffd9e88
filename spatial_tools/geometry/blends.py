"""Fillets (rounds) and chamfers: faces that replace an edge of the part.

A fillet is a cylinder, torus or sphere meeting its neighbours tangentially;
a chain of them with one radius is one fillet. Concave ones fill an inside
corner, convex ones round an outside edge.

A chamfer is a plane that bevels between two planes it meets at convex
obtuse angles, its normal between theirs. Its size is measured on each of
those faces, from the chamfer edge to where the two faces would have met.
"""

from __future__ import annotations

from typing import Any

from .feature_model import (
    CONVEX,
    SMOOTH,
    FaceIdx,
    Feature,
    PartModel,
    angle_between,
    faces,
    is_line,
)

BLEND_KINDS = ("cylinder", "torus", "sphere")


def _is_blend(model: PartModel, i: int) -> bool:
    info = model.infos[i]
    if info.kind not in BLEND_KINDS or not model.free(i):
        return False
    return any(model.edge_kind(i, j) == SMOOTH for j in model.graph.neighbours[i])


def find_fillets(model: PartModel) -> list[Feature]:
    """Chains of tangent blend faces sharing one radius and one sense."""
    blends = {i for i in range(len(model.infos)) if _is_blend(model, i)}
    found = []
    seen: set[int] = set()
    for start in sorted(blends):
        if start in seen:
            continue
        base = model.infos[start]
        chain = [start]
        seen.add(start)
        k = 0
        while k < len(chain):
            i = chain[k]
            k += 1
            for j in model.graph.neighbours[i]:
                other = model.infos[j]
                if (
                    j in blends
                    and j not in seen
                    and model.edge_kind(i, j) == SMOOTH
                    and other.internal == base.internal
                    and abs(other.radius - base.radius) <= model.settings.length_tol
                ):
                    seen.add(j)
                    chain.append(j)
        data: dict[str, Any] = {
            "radius": base.radius,
            "concave": base.internal,
            "blend": "fillet" if base.internal else "round",
            "length": sum(_spine_length(model, i) for i in chain),
        }
        found.append(Feature(kind="fillet", faces=faces(chain), data=data))
    return found


def _spine_length(model: PartModel, i: int) -> float:
    """Length of the blend along its centre line (the axis of its rolling ball)."""
    import math

    info = model.infos[i]
    if info.kind == "cylinder":
        return max((e.Length for e in info.edges if is_line(e)), default=0.0)
    if info.kind == "torus":
        u0, u1, _, _ = info.face.ParameterRange  # u runs around the torus axis
        return info.major_radius * abs(u1 - u0) if u1 - u0 < 2 * math.pi + 1e-9 else 2 * math.pi * info.major_radius
    return 0.0  # a sphere closes a corner: no length of its own


def _line_direction(edge: Any):
    first, last = edge.ParameterRange
    d = edge.valueAt(last) - edge.valueAt(first)
    return d.normalize() if d.Length > 1e-12 else d


def _chamfer(model: PartModel, i: int) -> Feature | None:
    info = model.infos[i]
    if info.kind != "plane" or not model.free(i):
        return None
    settings = model.settings
    neighbours = model.graph.neighbours[i]
    if not neighbours or any(e.convexity != CONVEX for shared in neighbours.values() for e in shared):
        return None
    n = info.normal
    candidates = []
    for j, shared in neighbours.items():
        other = model.infos[j]
        if other.kind != "plane":
            continue
        angle = shared[0].angle_deg
        if settings.chamfer_min_angle_deg <= angle <= settings.chamfer_max_angle_deg:
            edges = [model.edges[e.edge] for e in shared if is_line(model.edges[e.edge])]
            if edges:
                candidates.append((j, edges))
    best = None
    for a in range(len(candidates)):
        for b in range(a + 1, len(candidates)):
            (ja, ea), (jb, eb) = candidates[a], candidates[b]
            na, nb = model.infos[ja].normal, model.infos[jb].normal
            if model.parallel(na, nb):
                continue
            ridge = na.cross(nb).normalize()  # the edge the chamfer replaced
            if not model.perpendicular(n, ridge):
                continue
            if not all(model.parallel(_line_direction(e), ridge) for e in ea + eb):
                continue
            # the chamfer normal lies between the two face normals
            if n.dot(na) <= 0 or n.dot(nb) <= 0:
                continue
            width = max(e.Length for e in ea + eb)
            if best is None or width > best[0]:
                best = (width, ja, jb, ea, eb, ridge)
    if best is None:
        return None
    _, ja, jb, ea, eb, ridge = best
    fa, fb = model.infos[ja], model.infos[jb]
    # a point of the ridge line: solve the two planes and the plane through the chamfer edge
    pa = ea[0].Vertexes[0].Point
    pb = eb[0].Vertexes[0].Point
    leg_a = _distance_to_ridge(pa, fa, fb, ridge)
    leg_b = _distance_to_ridge(pb, fa, fb, ridge)
    data = {
        "size": min(leg_a, leg_b),
        "legs": [leg_a, leg_b],
        # between the chamfer and the face of the first leg (45 for equal legs on a square edge)
        "angle_deg": angle_between(n, fa.normal),
        "width": (pa - pb - ridge * (pa - pb).dot(ridge)).Length,
        "length": max(e.Length for e in ea + eb),
        "between": [FaceIdx(ja), FaceIdx(jb)],
    }
    return Feature(kind="chamfer", faces=[FaceIdx(i)], data=data)


def _distance_to_ridge(p: Any, fa: Any, fb: Any, ridge: Any) -> float:
    """Distance from ``p`` to the line where the planes of ``fa`` and ``fb`` meet."""
    na, nb = fa.normal, fb.normal
    # point X with na·X = da, nb·X = db, ridge·X = ridge·p
    import FreeCAD

    m = FreeCAD.Matrix(na.x, na.y, na.z, 0, nb.x, nb.y, nb.z, 0, ridge.x, ridge.y, ridge.z, 0, 0, 0, 0, 1)
    rhs = FreeCAD.Vector(fa.offset, fb.offset, ridge.dot(p))
    x = m.inverse().multVec(rhs)
    return (p - x).Length


def find_chamfers(model: PartModel) -> list[Feature]:
    found = []
    for i in range(len(model.infos)):
        if i in model.stock:
            continue
        feature = _chamfer(model, i)
        if feature is not None:
            found.append(feature)
    return found

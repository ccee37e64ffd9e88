"""Bosses: outward cylinders standing on a flat base.

A boss is an outward-facing cylinder (material inside it) spanning at least
half a turn, whose lower rim meets a flat face square to its axis at a
concave edge (directly or through a fillet). Its flat top, when it has one,
belongs to it. ``position`` is the centre of the base circle and ``axis``
points from the base to the top.
"""

from __future__ import annotations

from typing import Any

from .feature_model import (
    CONCAVE,
    CONVEX,
    SMOOTH,
    FaceIdx,
    Feature,
    PartModel,
    direction,
    faces,
    point,
)


def _span_deg(face: Any) -> float:
    import math

    u0, u1, _, _ = face.ParameterRange
    return math.degrees(u1 - u0)


def _base_planes(model: PartModel, i: int) -> list[tuple[int, list[int]]]:
    """Planes square to the axis that the cylinder stands on, with any fillet between."""
    info = model.infos[i]
    found = []
    for j in model.graph.neighbours[i]:
        other = model.infos[j]
        kind = model.edge_kind(i, j)
        if other.kind == "plane" and kind == CONCAVE and model.parallel(other.normal, info.axis):
            found.append((j, []))
        elif kind == SMOOTH and other.kind in ("torus", "cylinder") and other.internal:
            for k in model.graph.neighbours[j]:
                plane = model.infos[k]
                if k != i and plane.kind == "plane" and model.parallel(plane.normal, info.axis):
                    found.append((k, [j]))
    return found


def find_bosses(model: PartModel) -> list[Feature]:
    found = []
    for i, info in enumerate(model.infos):
        if info.kind != "cylinder" or info.internal or not model.free(i) or _span_deg(info.face) < 180.0:
            continue
        if any(e.convexity == SMOOTH for j, es in model.graph.neighbours[i].items() for e in es
               if model.infos[j].kind == "plane"):
            continue  # a round on a plate edge, not a boss
        bases = _base_planes(model, i)
        if not bases:
            continue
        base, blends = bases[0]
        up = model.infos[base].normal  # out of the base plate, along the boss
        points = model.edge_points(info.edges, samples=16)
        heights = [(p - info.axis_point).dot(up) for p in points]
        base_height = (model.infos[base].center - info.axis_point).dot(up)
        top_faces = []
        for j in model.graph.neighbours[i]:
            other = model.infos[j]
            if (
                other.kind == "plane"
                and model.edge_kind(i, j) == CONVEX
                and model.same_direction(other.normal, up)
                and all(info.radial(p) <= info.radius + 10 * model.settings.length_tol for p in model.edge_points(other.edges, 8))
            ):
                top_faces.append(j)
        members = [i, *top_faces, *blends]
        data = {
            "diameter": 2 * info.radius,
            "height": max(heights) - base_height,
            "axis": direction(up),
            "position": point(info.axis_point + up * base_height),
            "base_face": FaceIdx(base),
        }
        if top_faces:
            data["top_faces"] = faces(top_faces)
        if blends:
            data["blend_faces"] = faces(blends)
            data["base_fillet_radius"] = min(model.infos[b].radius for b in blends)
        found.append(Feature(kind="boss", faces=faces(members), data=data))
        model.used.update([i, *top_faces])  # a base fillet is also reported as a fillet
    return found

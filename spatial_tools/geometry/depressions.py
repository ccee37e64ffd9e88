"""Pockets, passages, slots and steps: material removed from planar stock.

A depression is a set of faces joined by concave (or tangent, through corner
blends) edges and bounded by convex ones. Its shape names it:

- a *floor* is a plane every other plane of the set stands perpendicular to;
  the other planes are *walls*;
- walls that close around the floor make a pocket; with no floor and closed
  walls the pocket runs through the part (a passage);
- open walls make a slot (two facing walls, three for a blind slot; or a V
  of two walls with no floor) or a step (one wall, or two meeting walls);
- *through* means the feature leaves the part at both ends of its run: two
  opposite faces outside the feature cap it there. When those end faces are
  not square to the run the feature is *skewed* (a slanted through step).

Numbers are measured on the faces: depth along the floor normal, width and
length of the smallest rectangle around the profile, seen along that normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .feature_model import (
    CONCAVE,
    SMOOTH,
    FaceIdx,
    Feature,
    PartModel,
    angle_between,
    direction,
    faces,
    point,
)

# |cos| of the angle between the run and an outside face above which that face caps an end.
END_FACE_MIN_COS = 0.5

# Degrees a profile corner may differ from a regular polygon's and still be named after it.
PROFILE_ANGLE_TOL = 1.0


def _is_concave_blend(model: PartModel, i: int) -> bool:
    info = model.infos[i]
    return info.kind in ("cylinder", "torus", "sphere", "cone") and info.internal


def candidate_faces(model: PartModel) -> set[int]:
    """Faces that may bound removed material: free planes and concave blends."""
    return {
        i
        for i, info in enumerate(model.infos)
        if model.free(i) and (info.kind == "plane" or _is_concave_blend(model, i))
    }


def groups(model: PartModel, candidates: set[int]) -> list[list[int]]:
    """Connected components over concave and tangent edges."""
    seen: set[int] = set()
    result = []
    for start in sorted(candidates):
        if start in seen:
            continue
        component = [start]
        seen.add(start)
        k = 0
        while k < len(component):
            i = component[k]
            k += 1
            for j, shared in model.graph.neighbours[i].items():
                if j in candidates and j not in seen and any(e.convexity in (CONCAVE, SMOOTH) for e in shared):
                    seen.add(j)
                    component.append(j)
        result.append(component)
    return result


def _plane_clusters(model: PartModel, planes: list[int]) -> list[list[int]]:
    """Planes split by other features regrouped by their supporting plane."""
    clusters: list[list[int]] = []
    for i in planes:
        for cluster in clusters:
            if model.coplanar(cluster[0], i):
                cluster.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def _linked(model: PartModel, a: list[int], b: list[int], group: set[int]) -> bool:
    """Two wall planes meet at a concave edge, directly or through a blend of the group."""
    for i in a:
        for j in b:
            if model.edge_kind(i, j) == CONCAVE:
                return True
        for k in model.graph.neighbours[i]:
            if k in group and model.infos[k].kind != "plane":
                if any(model.edge_kind(k, j) in (SMOOTH, CONCAVE) for j in b):
                    return True
    return False


def _wall_angle(model: PartModel, a: list[int], b: list[int]) -> float:
    """Interior angle of the profile at the corner of two walls, in degrees."""
    return 180.0 - angle_between(model.infos[a[0]].normal, model.infos[b[0]].normal)


def _profile(model: PartModel, walls: list[list[int]], links: list[tuple[int, int]]) -> tuple[str, int]:
    """Name of a closed profile and its number of wall planes.

    Named by its concave corners: all square -> rectangular (four walls) or
    rectilinear (an L, T or union of rectangles); all 120° -> hexagonal, all
    acute -> triangular (a convex polygon with acute corners only has three).
    Intersecting features of one kind merge into one group: with more walls
    than the plain shape has, the name gets ``_compound``.
    """
    profiles = model.settings.profiles
    angles = [_wall_angle(model, walls[a], walls[b]) for a, b in links]
    sides = len(walls)

    def all_near(value: float) -> bool:
        return bool(angles) and all(abs(x - value) <= PROFILE_ANGLE_TOL for x in angles)

    if sides == 3:
        return "triangular", sides
    if all_near(profiles["rectangular"]):
        return ("rectangular" if sides == 4 else "rectilinear"), sides
    if all_near(profiles["hexagonal"]):
        return ("hexagonal" if sides == 6 else "hexagonal_compound"), sides
    if angles and all(x < profiles["rectangular"] - PROFILE_ANGLE_TOL for x in angles):
        return "triangular_compound", sides
    return "polygonal", sides


def _outside_neighbours(model: PartModel, group: set[int]) -> list[int]:
    result = set()
    for i in group:
        result.update(j for j in model.graph.neighbours[i] if j not in group)
    return sorted(result)


def _ends(model: PartModel, group: set[int], run: Any) -> tuple[bool, float]:
    """Whether two opposite outside planes cap both ends of ``run``; and their skew in degrees."""
    best = None
    outside = [j for j in _outside_neighbours(model, group) if model.infos[j].kind == "plane"]
    for a in outside:
        na = model.infos[a].normal
        if na.dot(run) < END_FACE_MIN_COS:
            continue
        for b in outside:
            nb = model.infos[b].normal
            if nb.dot(run) > -END_FACE_MIN_COS or not model.parallel(na, nb) or na.dot(nb) > 0:
                continue
            skew = angle_between(na, run)
            if best is None or skew < best:
                best = skew
    if best is None:
        return False, 0.0
    return True, best


def _extent(values: list[float]) -> float:
    return max(values) - min(values) if values else 0.0


def _measure(model: PartModel, group: list[int], up: Any, walls: list[list[int]]) -> dict:
    """Depth along ``up``; the smallest rectangle around the profile seen along it, and its centre.

    The rectangle is squared with one of the walls (the profile's own
    directions), which is exact for the rectangular and slot profiles.
    """
    import FreeCAD

    points = model.edge_points([e for i in group for e in model.infos[i].edges], samples=8)
    heights = [p.dot(up) for p in points]
    candidates = []
    for cluster in walls:
        n = model.infos[cluster[0]].normal
        u = n - up * n.dot(up)
        if u.Length > 1e-9:
            candidates.append(u.normalize())
    if not candidates:
        helper = up.cross(FreeCAD.Vector(1, 0, 0))
        if helper.Length < 0.5:
            helper = up.cross(FreeCAD.Vector(0, 1, 0))
        candidates.append(helper.normalize())
    best = None
    for u in candidates:
        v = up.cross(u)
        us = [p.dot(u) for p in points]
        vs = [p.dot(v) for p in points]
        a, b = _extent(us), _extent(vs)
        if best is None or a * b < best[0] * best[1] - 1e-9:
            centre = u * (0.5 * (min(us) + max(us))) + v * (0.5 * (min(vs) + max(vs)))
            best = (a, b, u, v, centre)
    a, b, u, v, centre = best
    return {
        "depth": _extent(heights),
        "width": min(a, b),
        "length": max(a, b),
        "length_direction": direction(u if a >= b else v),
        "_centre": centre,  # on the plane through the origin square to ``up``
        "_heights": (min(heights), max(heights)),
    }


def _place(data: dict, up: Any, height: float) -> None:
    """Turns the measured profile centre into ``position`` at ``height`` along ``up``."""
    centre = data.pop("_centre")
    data.pop("_heights")
    data["position"] = point(centre + up * height)


@dataclass
class _Shape:
    """The planes and blends of one concave group, sorted into floor and walls."""

    group: list[int]
    members: set[int]
    floor: list[int] | None
    up: Any  # floor normal, out of the floor into the removed material
    walls: list[list[int]]  # wall planes, each a cluster of coplanar faces
    blends: list[int]
    links: list[tuple[int, int]]  # wall pairs meeting at a concave corner or a blend
    closed: bool  # the walls (with blends) close around the profile


def _analyse(model: PartModel, group: list[int]) -> _Shape | None:
    members = set(group)
    planes = [i for i in group if model.infos[i].kind == "plane"]
    if not planes:
        return None
    clusters = _plane_clusters(model, planes)
    normals = [model.infos[c[0]].normal for c in clusters]
    floors = [
        k for k, n in enumerate(normals)
        if all(model.perpendicular(n, m) for j, m in enumerate(normals) if j != k)
    ]
    floor = up = None
    walls = clusters
    if floors and (len(clusters) > 1 or len(floors) == 1):
        # among equals (a corner notch) prefer a floor square to the part's axes, then the largest
        def rank(k: int) -> tuple:
            n = normals[k]
            aligned = max(abs(n.x), abs(n.y), abs(n.z)) > 1 - model.settings.sin_tol
            return (aligned, sum(model.infos[i].area for i in clusters[k]))

        floor_k = max(floors, key=rank)
        floor, up = clusters[floor_k], normals[floor_k]
        walls = [c for k, c in enumerate(clusters) if k != floor_k]
    blends = [i for i in group if model.infos[i].kind != "plane"]
    links = [
        (a, b) for a in range(len(walls)) for b in range(a + 1, len(walls))
        if _linked(model, walls[a], walls[b], members)
    ]
    return _Shape(group, members, floor, up, walls, blends, links, _closed(model, walls, blends))


def _closed(model: PartModel, walls: list[list[int]], blends: list[int]) -> bool:
    """Every wall and side blend touches two others: the profile is a closed loop."""
    elements = [set(c) for c in walls] + [{b} for b in blends if _is_side_blend(model, b, walls)]
    if len(elements) < 3:
        return False
    for k, element in enumerate(elements):
        touching = 0
        for m, other in enumerate(elements):
            if m != k and any(model.edge_kind(i, j) in (CONCAVE, SMOOTH) for i in element for j in other):
                touching += 1
        if touching < 2:
            return False
    return True


def _is_side_blend(model: PartModel, b: int, walls: list[list[int]]) -> bool:
    """A blend between two walls (a rounded corner or slot end), not one along the floor."""
    info = model.infos[b]
    if info.kind != "cylinder" or not walls:
        return False
    return all(model.perpendicular(info.axis, model.infos[c[0]].normal) for c in walls)


def _obround(model: PartModel, shape: _Shape) -> bool:
    """Two facing walls closed by two half-round ends: a slot with round ends."""
    if len(shape.walls) != 2:
        return False
    n0, n1 = (model.infos[c[0]].normal for c in shape.walls)
    ends = [b for b in shape.blends if _is_side_blend(model, b, shape.walls)]
    return model.parallel(n0, n1) and n0.dot(n1) < 0 and len(ends) >= 2


def _corner_radius(model: PartModel, blends: list[int]) -> float | None:
    radii = [model.infos[i].radius for i in blends if model.infos[i].kind == "cylinder"]
    return min(radii) if radii else None


def classify(model: PartModel, group: list[int]) -> Feature | None:
    """Names one concave group (pocket, slot, step) or returns None when it is none of them."""
    shape = _analyse(model, group)
    if shape is None:
        return None
    data: dict[str, Any] = {}
    if shape.floor is None:
        kind = _floorless(model, shape, data)
    else:
        kind = _floored(model, shape, data)
    if kind is None:
        return None
    data["walls"] = [FaceIdx(i) for c in shape.walls for i in sorted(c)]
    if shape.blends:
        data["blend_faces"] = [FaceIdx(i) for i in sorted(shape.blends)]
        radius = _corner_radius(model, shape.blends)
        if radius is not None:
            data["corner_radius"] = radius
    return Feature(kind=kind, faces=faces(group), data=data)


def _floored(model: PartModel, shape: _Shape, data: dict) -> str | None:
    up = shape.up
    if shape.closed:
        if _obround(model, shape):
            kind = "slot"
            data.update({"profile": "obround", "through": False})
        else:
            kind = "pocket"
            profile_name, sides = _profile(model, shape.walls, shape.links)
            data.update({"profile": profile_name, "sides": sides, "through": False})
    else:
        kind, extra = _open_feature(model, shape.floor, shape.walls, shape.links, shape.members)
        if kind is None:
            return None
        data.update(extra)
    data["floor"] = [FaceIdx(i) for i in sorted(shape.floor)]
    data["axis"] = direction(-up)  # the way the tool feeds: into the material
    data.update(_measure(model, shape.group, up, shape.walls))
    _place(data, up, model.infos[shape.floor[0]].offset)
    return kind


def _floorless(model: PartModel, shape: _Shape, data: dict) -> str | None:
    """Passages (closed walls, no floor) and V-slots (two walls meeting at the bottom)."""
    axes = [model.infos[b].axis for b in shape.blends if model.infos[b].kind == "cylinder"]
    run = _common_direction(model, [model.infos[c[0]].normal for c in shape.walls], axes)
    if run is None:
        return None
    if shape.closed:
        if _obround(model, shape):
            kind = "slot"
            data["profile"] = "obround"
        else:
            kind = "pocket"
            data["profile"], data["sides"] = _profile(model, shape.walls, shape.links)
        data["through"] = True
    elif len(shape.walls) == 2 and shape.links:
        kind = "slot"
        through, skew = _ends(model, shape.members, run)
        n0, n1 = (model.infos[c[0]].normal for c in shape.walls)
        # two walls in a V, or two facing walls joined by a round bottom
        data.update({"profile": "round_bottom" if model.parallel(n0, n1) else "v", "through": through})
        if through:
            data["skew_deg"] = skew
    else:
        return None
    if kind == "pocket" or (kind == "slot" and data["profile"] == "obround"):
        # a passage: entered from the end facing up, as a through hole
        run = model.feed_direction(run)
        measured = _measure(model, shape.group, run, shape.walls)
        data.update(measured)
        data["axis"] = direction(run)
        lo, _ = measured["_heights"]
        _place(data, run, lo)
        return kind
    data["run"] = direction(run)
    opening = _opening(model, shape, run)
    if opening is None:
        return None
    measured = _measure(model, shape.group, opening, shape.walls)
    data.update(measured)
    data["axis"] = direction(-opening)
    lo, _ = measured["_heights"]
    _place(data, opening, lo)
    return kind


def _opening(model: PartModel, shape: _Shape, run: Any) -> Any | None:
    """The way a floorless slot opens: away from its bottom edge or bottom blend."""
    n0, n1 = (model.infos[c[0]].normal for c in shape.walls)
    if not model.parallel(n0, n1):
        return (n0 + n1).normalize()  # wall normals point into the V: their sum points out
    bottoms = [model.infos[b] for b in shape.blends if model.infos[b].kind == "cylinder"]
    if not bottoms:
        return None
    walls = sum((model.infos[c[0]].center for c in shape.walls), type(run)()) * 0.5
    out = walls - bottoms[0].axis_point
    out = out - run * out.dot(run)
    return out.normalize() if out.Length > 1e-9 else None


def _common_direction(model: PartModel, normals: list[Any], axes: list[Any]) -> Any | None:
    """A direction square to every wall normal and along every blend axis, or None."""
    candidates = [a for a in axes]
    for a in normals:
        for b in normals:
            c = a.cross(b)
            if c.Length > 0.05:
                candidates.append(c.normalize())
    for c in candidates:
        if all(model.perpendicular(c, n) for n in normals) and all(model.parallel(c, a) for a in axes):
            return c
    return None


def _open_feature(model: PartModel, floor: list[int], walls: list[list[int]], links, members: set[int]) -> tuple[str | None, dict]:
    """Slots and steps: a floor with walls that do not close around it."""
    up = model.infos[floor[0]].normal
    wall_normals = [model.infos[c[0]].normal for c in walls]
    if not walls:
        return None, {}
    if len(walls) == 1:
        run = up.cross(wall_normals[0]).normalize()
        through, skew = _ends(model, members, run)
        if not through:
            # one wall across a corner: the floor is a triangle
            return "step", {"through": False, "profile": "triangular", "run": direction(run)}
        profile = "slanted" if skew > model.settings.angle_tol_deg else "straight"
        return "step", {"through": True, "profile": profile, "skew_deg": skew, "run": direction(run)}
    facing = [
        (a, b) for a in range(len(walls)) for b in range(a + 1, len(walls))
        if model.parallel(wall_normals[a], wall_normals[b]) and wall_normals[a].dot(wall_normals[b]) < 0
    ]
    if len(walls) == 2 and facing:
        run = up.cross(wall_normals[0]).normalize()
        through, skew = _ends(model, members, run)
        data = {"through": through, "profile": "rectangular", "run": direction(run)}
        if through:
            data["skew_deg"] = skew
        return "slot", data
    if len(walls) == 3 and len(facing) == 1:
        a, _ = facing[0]
        run = up.cross(wall_normals[a]).normalize()
        return "slot", {"through": False, "profile": "rectangular", "run": direction(run)}
    if len(walls) == 2 and links:
        interior = _wall_angle(model, walls[0], walls[1])
        if abs(interior - model.settings.profiles["rectangular"]) <= PROFILE_ANGLE_TOL:
            return "step", {"through": False, "profile": "rectangular"}
        run = up.cross(wall_normals[0]) + up.cross(wall_normals[1])
        if run.Length < 1e-9:
            return None, {}
        through, skew = _ends(model, members, run.normalize())
        data = {"through": through, "profile": "two_sided", "run": direction(run)}
        if through:
            data["skew_deg"] = skew
        return "step", data
    if facing:
        return "slot", {"through": False, "profile": "polygonal"}
    return "step", {"through": False, "profile": "polygonal"}


def find_depressions(model: PartModel) -> list[Feature]:
    found = []
    for group in groups(model, candidate_faces(model)):
        if all(model.infos[i].kind != "plane" for i in group):
            continue
        feature = classify(model, group)
        if feature is not None:
            found.append(feature)
            model.used.update(feature.faces)
    return found

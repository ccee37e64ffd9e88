"""Holes: coaxial bores, cones and flat shoulders read as one drilled feature.

A bore is an inward-facing cylinder (material outside it) whose sides are
not tangent to neighbouring faces - tangent sides make it a fillet or the
round end of a slot. Coaxial bores, cones (countersinks, drill points, step
transitions), spherical ends and flat faces square to the axis that touch
each other form one hole. Along the axis the hole is a stack of segments.

An end is closed by a flat face (``bottom: flat``), a cone that narrows to
its tip (``cone``), a sphere (``spherical``) or, failing those, by any face
the rim does not meet at a convex edge (``other``); otherwise it is open.
Both ends open: a through hole.

The entry is the open end (for through holes the wider end, else the one
facing global +Z). ``position`` is the axis point where the tool first
touches the part there (the centre of the entry circle on flat stock; on
curved stock the highest point of the saddle-shaped rim). ``depth`` runs from
there to where the cylindrical wall ends: a drill point's cone is not depth.
``axis`` points the way the drill feeds, into the material.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .face_info import FaceInfo
from .feature_model import (
    CONCAVE,
    SMOOTH,
    FaceIdx,
    Feature,
    PartModel,
    direction,
    faces,
    is_line,
    point,
)
from .threads import Thread, find_threads

# A cone narrows to a drill point when its small end is below this fraction of its wide end.
POINT_RATIO = 0.25


@dataclass
class Run:
    """Faces of one bore cylinder (a bore may come split into several faces)."""

    faces: list[int]
    radius: float
    span_deg: float
    lo: float = 0.0  # extent along the hole's axis, set when the hole is measured
    hi: float = 0.0


@dataclass
class Member:
    """A face of a hole with its extent along the hole's axis and its radius at both ends."""

    index: int
    info: FaceInfo
    lo: float
    hi: float
    r_lo: float
    r_hi: float


# --- finding bores ---------------------------------------------------------------------------


def _same_cylinder(model: PartModel, a: FaceInfo, b: FaceInfo) -> bool:
    return (
        b.kind == "cylinder"
        and model.coaxial(a, b)
        and abs(a.radius - b.radius) <= model.settings.length_tol
    )


def _sides_tangent(model: PartModel, i: int) -> bool:
    """A straight side of the cylinder meets another surface tangentially (a blend, not a bore)."""
    info = model.infos[i]
    for j, shared in model.graph.neighbours[i].items():
        if _same_cylinder(model, info, model.infos[j]):
            continue  # the other part of a split bore
        if any(e.convexity == SMOOTH and is_line(model.edges[e.edge]) for e in shared):
            return True
    return False


def angular_span_deg(cylinder_faces: list, origin: Any, axis: Any) -> float:
    """Degrees of the circle about the axis (``origin``, ``axis``) that coaxial cylindrical faces
    cover together. Faces split along the length cover the same angles: counted once, not summed."""
    import FreeCAD

    ref = axis.cross(FreeCAD.Vector(1, 0, 0))
    if ref.Length < 0.1:
        ref = axis.cross(FreeCAD.Vector(0, 1, 0))
    ref.normalize()
    ref2 = axis.cross(ref)

    def angle(p: Any) -> float:
        d = p - origin
        return math.atan2(d.dot(ref2), d.dot(ref))

    full = 2 * math.pi
    pieces: list[tuple[float, float]] = []
    for face in cylinder_faces:
        u0, u1, v0, v1 = face.ParameterRange
        width = u1 - u0
        if width >= full - 1e-9:
            return 360.0
        v = 0.5 * (v0 + v1)
        a0 = angle(face.valueAt(u0, v))
        turn = math.remainder(angle(face.valueAt(u0 + 0.5 * width, v)) - a0, full)  # which way u runs
        start = (a0 if turn >= 0 else a0 - width) % full
        end = start + width
        pieces += [(start, full), (0.0, end - full)] if end > full else [(start, end)]
    covered, reach = 0.0, 0.0
    for start, end in sorted(pieces):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return min(360.0, math.degrees(covered))


def _runs(model: PartModel, threaded: dict[int, Thread]) -> list[Run]:
    """Bore faces grouped by cylinder: same axis line and radius, touching each other or
    separated only by thread faces (the crest lands of a modelled tapped hole)."""
    bores = [
        i for i, info in enumerate(model.infos)
        if info.kind == "cylinder" and info.internal and model.free(i) and not _sides_tangent(model, i)
    ]
    bore_set = set(bores)
    seen: set[int] = set()
    runs = []
    for start in bores:
        if start in seen:
            continue
        base = model.infos[start]
        chain = [start]
        seen.add(start)
        for i in chain:  # grows while iterating
            around = set(model.graph.neighbours[i])
            for k in [k for k in around if k in threaded]:
                around.update(model.graph.neighbours[k])
            for j in around:
                if j in bore_set and j not in seen and _same_cylinder(model, base, model.infos[j]):
                    seen.add(j)
                    chain.append(j)
        span = angular_span_deg([model.infos[i].face for i in chain], base.axis_point, base.axis)
        runs.append(Run(faces=chain, radius=base.radius, span_deg=span))
    return runs


def _max_radius(model: PartModel, info: FaceInfo, axis_info: FaceInfo) -> float:
    return max((axis_info.radial(p) for p in model.edge_points(info.edges, samples=8)), default=0.0)


def _is_shoulder(model: PartModel, j: int, axis_info: FaceInfo, max_radius: float) -> bool:
    """A flat face square to the axis that lies within the hole's largest radius."""
    info = model.infos[j]
    if info.kind != "plane" or not model.parallel(info.normal, axis_info.axis):
        return False
    limit = max_radius + 10 * model.settings.length_tol
    if any(axis_info.radial(v.Point) > limit for v in info.face.Vertexes):
        return False  # cheap rejection of the big faces around the hole
    return all(axis_info.radial(p) <= limit for p in model.edge_points(info.edges, samples=8))


def _on_axis(model: PartModel, axis_info: FaceInfo, info: FaceInfo) -> bool:
    """A cone coaxial with the bore or a sphere centred on its axis, facing inward; or a
    coaxial torus (a rounded rim or a bottom fillet)."""
    if info.kind == "torus":
        return model.coaxial(axis_info, info)
    if not info.internal:
        return False
    if info.kind == "cone":
        return model.coaxial(axis_info, info)
    if info.kind == "sphere":
        return axis_info.radial(info.axis_point) <= 10 * model.settings.length_tol
    return False


def _thread_on_axis(model: PartModel, axis_info: FaceInfo, thread: Thread) -> bool:
    """The thread winds about the bore's axis line."""
    import FreeCAD

    direction = FreeCAD.Vector(*thread.axis_direction)
    return model.parallel(direction, axis_info.axis) and axis_info.radial(FreeCAD.Vector(*thread.axis_origin)) <= 10 * model.settings.length_tol


def _assemble(
    model: PartModel, seed: Run, runs_by_face: dict[int, Run], claimed: set[int], threaded: dict[int, Thread]
) -> tuple[list[Run], list[int]]:
    """Grows a hole from its widest bore over touching coaxial bores, cones, spheres, shoulders and
    the faces of a thread about its axis."""
    axis_info = model.infos[seed.faces[0]]
    hole_runs = [seed]
    others: list[int] = []
    members = set(seed.faces)
    max_radius = seed.radius
    frontier = list(seed.faces)
    while frontier:
        i = frontier.pop()
        for j in model.graph.neighbours[i]:
            if j in members or j in claimed or not model.free(j):
                continue
            info = model.infos[j]
            if j in runs_by_face:
                run = runs_by_face[j]
                if run in hole_runs or not model.coaxial(axis_info, info):
                    continue
                hole_runs.append(run)
                added = run.faces
                max_radius = max(max_radius, run.radius)
            elif j in threaded and _thread_on_axis(model, axis_info, threaded[j]):
                added = [j]
            elif _on_axis(model, axis_info, info):
                added = [j]
                max_radius = max(max_radius, _max_radius(model, info, axis_info))
            elif _is_shoulder(model, j, axis_info, max_radius):
                added = [j]
            else:
                continue
            if j not in runs_by_face:
                others.append(j)
            members.update(added)
            frontier.extend(added)
    return hole_runs, others


# --- measuring a hole -------------------------------------------------------------------------


def _member(model: PartModel, i: int, origin: Any, axis: Any) -> Member:
    """A face's extent along the axis, and its radius at each end."""
    info = model.infos[i]
    values = []
    for p in model.edge_points(info.edges, samples=8):
        d = p - origin
        along = d.dot(axis)
        values.append((along, (d - axis * along).Length))
    lo = min(v[0] for v in values)
    hi = max(v[0] for v in values)
    tol = max(model.settings.length_tol, 1e-6 * (hi - lo + 1))
    r_lo = max(r for a, r in values if a <= lo + tol)
    r_hi = max(r for a, r in values if a >= hi - tol)
    return Member(i, info, lo, hi, r_lo, r_hi)


def _closure(model: PartModel, members: list[Member], end: float, low: bool, tol: float) -> str | None:
    """What closes the hole at one end, or None when it is open there."""
    for m in members:
        if abs((m.lo if low else m.hi) - end) > tol:
            continue
        if m.info.kind == "plane" and abs(m.hi - m.lo) <= tol:
            return "flat"
        if m.info.kind == "sphere":
            return "spherical"
        if m.info.kind == "cone":
            small, wide = (m.r_lo, m.r_hi) if low else (m.r_hi, m.r_lo)
            if small <= POINT_RATIO * wide:
                return "cone"
    return None


def _rims(model: PartModel, members: list[Member], origin: Any, axis: Any, lo: float, hi: float) -> dict:
    """Faces around the hole at each end, and whether every rim edge there is convex (open)."""
    inside = {m.index for m in members}
    rims = {True: {"faces": set(), "open": True}, False: {"faces": set(), "open": True}}
    for m in members:
        for j, shared in model.graph.neighbours[m.index].items():
            if j in inside:
                continue
            for e in shared:  # one face can hold both rims (a cross hole in a shaft)
                points = model.edge_points([model.edges[e.edge]], samples=4)
                where = sum((p - origin).dot(axis) for p in points) / len(points)
                rim = rims[abs(where - lo) <= abs(where - hi)]
                rim["faces"].add(j)
                # a face meeting the rim concavely, or a concave blend (ball end), closes the hole there;
                # a convex round on the rim does not
                if e.convexity == CONCAVE or (e.convexity == SMOOTH and model.infos[j].internal):
                    rim["open"] = False
    return rims


def _segments(members: list[Member], runs: list[Run], depth_of, entry_low: bool, tol: float, thread: Thread | None = None) -> list[dict]:
    """The hole from entry to bottom: cylinders, cones, flats and a thread with start and end depths."""
    segments = []
    thread_members = [m for m in members if thread is not None and m.index in thread.faces]
    if thread_members:
        start, end = sorted((depth_of(min(m.lo for m in thread_members)), depth_of(max(m.hi for m in thread_members))))
        segments.append({
            "shape": "thread", "start": start, "end": end, "diameters": [thread.major_diameter] * 2,
            "pitch": thread.pitch, "faces": faces(m.index for m in thread_members),
        })
    for m in members:
        if m.info.kind == "cylinder" or m in thread_members:
            continue
        start, end = sorted((depth_of(m.lo), depth_of(m.hi)))
        if m.info.kind == "cone":
            near, far = (m.r_lo, m.r_hi) if entry_low else (m.r_hi, m.r_lo)
            segments.append({
                "shape": "cone", "start": start, "end": end, "diameters": [2 * near, 2 * far],
                "angle_deg": 2 * math.degrees(abs(m.info.semi_angle)), "faces": [FaceIdx(m.index)],
            })
        else:
            shape = {"sphere": "sphere", "torus": "round"}.get(m.info.kind, "flat")
            segments.append({"shape": shape, "start": start, "end": end, "faces": [FaceIdx(m.index)]})
    for run in runs:
        start, end = sorted((depth_of(run.lo), depth_of(run.hi)))
        segments.append({"shape": "cylinder", "start": start, "end": end, "diameters": [2 * run.radius] * 2, "faces": faces(run.faces)})
    segments.sort(key=lambda s: (round(s["start"], 6), round(s["end"], 6)))  # rounded: kernel noise
    return _merge_split_faces(segments, tol)


def _merge_split_faces(segments: list[dict], tol: float) -> list[dict]:
    """One segment per surface: a cone or shoulder split into faces spans the same depths."""
    merged: list[dict] = []
    for segment in segments:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last["shape"] == segment["shape"]
            and abs(last["start"] - segment["start"]) <= tol
            and abs(last["end"] - segment["end"]) <= tol
            and all(abs(a - b) <= tol for a, b in zip(last.get("diameters", []), segment.get("diameters", []), strict=False))
        ):
            last["faces"] = sorted(set(last["faces"]) | set(segment["faces"]))
            continue
        merged.append(dict(segment))
    return merged


def _hole(model: PartModel, runs: list[Run], others: list[int], threaded: dict[int, Thread] | None = None) -> Feature | None:
    seed = model.infos[runs[0].faces[0]]
    axis, origin = seed.axis, seed.axis_point
    members = [_member(model, i, origin, axis) for run in runs for i in run.faces]
    for run in runs:
        own = [m for m in members if m.index in run.faces]
        run.lo, run.hi = min(m.lo for m in own), max(m.hi for m in own)
    members += [_member(model, i, origin, axis) for i in others]
    lo, hi = min(m.lo for m in members), max(m.hi for m in members)
    tol = max(10 * model.settings.length_tol, 1e-6 * (hi - lo))
    rims = _rims(model, members, origin, axis, lo, hi)
    closed = {}
    for low, end in ((True, lo), (False, hi)):
        closed[low] = _closure(model, members, end, low, tol) or (None if rims[low]["open"] else "other")
    if closed[True] and closed[False]:
        return None  # a closed cavity, not a hole
    through = not closed[True] and not closed[False]
    if through:
        # the wider end (counterbore, countersink) is the entry; a rounded rim does not count
        shaped = [m for m in members if m.info.kind != "torus"]
        r_low = max(m.r_lo for m in shaped if abs(m.lo - min(x.lo for x in shaped)) <= tol)
        r_high = max(m.r_hi for m in shaped if abs(m.hi - max(x.hi for x in shaped)) <= tol)
        if abs(r_low - r_high) > model.settings.length_tol:
            entry_low = r_low > r_high  # enter at the counterbore or countersink
        else:
            entry_low = model.feed_direction(axis).dot(axis) > 0  # fed along +axis: enters at the low end
    else:
        entry_low = closed[False] is not None
    sign = 1.0 if entry_low else -1.0
    entry, exit_ = (lo, hi) if entry_low else (hi, lo)

    def depth_of(value: float) -> float:
        return (value - entry) * sign

    wall_end = max(max(depth_of(r.lo), depth_of(r.hi)) for r in runs)
    smallest = min(runs, key=lambda r: r.radius)
    span = min(r.span_deg for r in runs)
    thread = next((threaded[i] for i in others if threaded and i in threaded), None)
    segments = _segments(members, runs, depth_of, entry_low, tol, thread)
    data: dict[str, Any] = {
        "diameter": 2 * smallest.radius,
        "depth": depth_of(exit_) if through else wall_end,
        "through": through,
        "axis": direction(axis * sign),
        "position": point(origin + axis * entry),
        "bottom": "through" if through else closed[not entry_low],
        "span_deg": span,
        "partial": span < model.settings.full_hole_span_deg,
        "segments": segments,
    }
    if data["bottom"] == "cone":
        data["tip_angle_deg"] = next(s for s in reversed(segments) if s["shape"] == "cone")["angle_deg"]
    elif data["bottom"] in ("flat", "spherical"):
        shape = "flat" if data["bottom"] == "flat" else "sphere"
        data["bottom_face"] = next(s["faces"][0] for s in reversed(segments) if s["shape"] == shape)
    first_bore = min(runs, key=lambda r: min(depth_of(r.lo), depth_of(r.hi)))
    if first_bore.radius > smallest.radius + model.settings.length_tol:
        data["counterbore"] = {"diameter": 2 * first_bore.radius, "depth": max(depth_of(first_bore.lo), depth_of(first_bore.hi))}
    if thread is not None:
        cut = next(s for s in segments if s["shape"] == "thread")
        data["thread"] = {
            "major_diameter": thread.major_diameter, "minor_diameter": thread.minor_diameter, "pitch": thread.pitch,
            "start": cut["start"], "end": cut["end"], "length": cut["end"] - cut["start"],
        }
    first = next(s for s in segments if s["shape"] != "thread")
    if first["shape"] == "cone" and first["diameters"][0] > first["diameters"][1]:
        data["countersink"] = {"diameter": first["diameters"][0], "angle_deg": first["angle_deg"]}
    data["entry_faces"] = faces(rims[entry_low]["faces"])
    if through:
        data["exit_faces"] = faces(rims[not entry_low]["faces"])
    return Feature(kind="hole", faces=faces(m.index for m in members), data=data)


def find_holes(model: PartModel) -> list[Feature]:
    threaded = {i: t for t in find_threads(model.shape) if t.internal for i in t.faces}
    runs = [r for r in _runs(model, threaded) if r.span_deg >= model.settings.min_hole_span_deg]
    runs_by_face = {i: run for run in runs for i in run.faces}
    claimed: set[int] = set()
    found = []
    for run in sorted(runs, key=lambda r: -r.radius):  # widest first: shoulders lie within it
        if run.faces[0] in claimed:
            continue
        hole_runs, others = _assemble(model, run, runs_by_face, claimed, threaded)
        feature = _hole(model, hole_runs, others, threaded)
        if feature is None:
            continue
        claimed.update(feature.faces)
        model.used.update(feature.faces)
        found.append(feature)
    return found

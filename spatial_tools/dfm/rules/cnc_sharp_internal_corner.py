"""cnc.sharp_internal_corner: an inside corner running along the tool axis that an end mill cannot cut.

The tool axis of a corner is the feed axis of the recognised pocket, slot or
step it belongs to (features.py). Among that feature's faces, the concave
corners parallel to the axis (corners.py) are the ones the round side of
the cutter must form: a sharp one (radius 0) cannot be milled at all, and a
radius below a fraction of the corner's depth needs a long, slender tool.
"""

from __future__ import annotations

from ...geometry.corners import (
    cached_corners,
    corners_along,
    off_floor_walls,
    off_threads,
    real_corners,
)
from ...geometry.hole_checks import cached_features
from ...geometry.threads import thread_faces
from ..finding import Finding
from . import Rule, RuleContext

RATIO_DIGITS = 9  # kernel noise: 0.4999999999 is the 0.5 it was modelled as

KINDS = ("pocket", "slot", "step")
MIN_DEPTH = 1e-6  # mm: a corner shorter than this along the axis has no depth to judge


def _index(name: str) -> int:
    return int(name[4:]) - 1


def _group_key(corner_depth: float, radius: float) -> tuple[float, float]:
    return (round(corner_depth, 2), round(radius, 3))


def check(ctx: RuleContext) -> list[Finding]:
    """One finding per feature and kind of corner: the four sharp corners of a pocket are one problem with one fix.

    Corners of one feature are grouped only when they are alike (sharp or the same radius, the same depth,
    hence the same severity and the same radius to ask for); a corner that differs is its own finding.
    Measured and limit are radii in mm: the corner's radius and the smallest one a cutter reaching that deep
    can leave (``warn_below`` × depth).
    """
    import FreeCAD

    target = ctx.target
    _, graph, corners = cached_corners(target)
    corners = off_threads(real_corners(corners, ctx.settings.number("min_turn_deg")), thread_faces(target.shape))
    sharp_severity = ctx.settings.severity("sharp_severity")
    limit = ctx.settings.number("warn_below")
    probe = ctx.settings.number("floor_probe_mm")
    findings = []
    seen: set[int] = set()
    for feature in cached_features(target):
        if feature["kind"] not in KINDS or "axis" not in feature:
            continue
        axis = FreeCAD.Vector(*feature["axis"])
        faces = {_index(n) for n in feature["faces"]}
        where = f"the {feature['kind']}"  # an engineer reads "the pocket", not our id "pocket1"; Where lists the faces
        groups: dict[tuple, list] = {}
        along = corners_along(corners, axis, faces)
        cut_as_floor = {id(c) for c in along} - {id(c) for c in off_floor_walls(along, graph, probe)}
        for corner in along:
            if id(corner) in cut_as_floor:
                continue
            if id(corner) in seen:
                continue
            seen.add(id(corner))
            depth = corner.depth_along(axis)
            if depth <= MIN_DEPTH:
                continue
            if corner.sharp:
                groups.setdefault(("sharp", sharp_severity) + _group_key(depth, 0.0), []).append((corner, depth))
                continue
            ratio = round(corner.radius / depth, RATIO_DIGITS)
            graded = ctx.settings.grade(ratio, "below")
            if graded is None:
                continue
            severity, at = graded
            groups.setdefault(("round", severity, at) + _group_key(depth, corner.radius), []).append((corner, depth))
        for key, members in groups.items():
            findings.append(_finding(ctx, key, members, where, feature["kind"], limit))
    return findings


def _finding(ctx: RuleContext, key: tuple, members: list, where: str, kind: str, limit: float) -> Finding:
    target = ctx.target
    first, depth = members[0]
    n = len(members)
    walls = list(dict.fromkeys(f"{target.name}.Face{i + 1}" for corner, _ in members for i in corner.faces))
    corners_word = "corner" if n == 1 else f"{n} corners"
    if key[0] == "sharp":
        severity, need = key[1], limit * depth
        elements = [f"Edge{k + 1}" for corner, _ in members for k in corner.edges]
        return ctx.finding(
            severity,
            f"Inside {corners_word} of {where} along the tool axis {'is' if n == 1 else 'are'} sharp (R 0) over "
            f"{depth:.3g} mm of depth; an end mill leaves at least its own radius there "
            f"(want R ≥ {limit:.3g} × depth = {need:.3g} mm)",
            elements=elements,
            location=first.location,
            measured=0.0,
            limit=round(need, RATIO_DIGITS),
            unit="mm",
            suggestion=(
                f"Round the {'corner' if n == 1 else 'corners'} to R ≥ {need:.2g} mm, ideally a little larger than "
                "the cutter radius so the tool does not wrap the corner and chatter; if the mating part needs the "
                "sharp corner, add a dog-bone relief or have the corner wire-EDMed"
            ),
            related=walls,
            facts={"depth": depth, "feature": kind, "cutter": 2 * need, "radius": 0.0},
        )
    severity, at = key[1], key[2]
    radius = first.radius
    need = at * depth
    return ctx.finding(
        severity,
        f"Inside {corners_word} of {where} {'has' if n == 1 else 'have'} R {radius:.3g} mm over {depth:.3g} mm of "
        f"depth (R/depth {radius / depth:.3g} < {at:.3g}); a cutter that small reaching that deep chatters and breaks",
        elements=[f"Face{corner.blend + 1}" for corner, _ in members],
        location=first.location,
        measured=radius,
        limit=round(need, RATIO_DIGITS),
        unit="mm",
        suggestion=(
            f"Increase the corner radius to ≥ {need:.2g} mm or make the {kind} shallower; "
            f"a radius slightly larger than a standard cutter's (e.g. R{radius * 1.3:.2g} for a "
            f"Ø{radius * 2:.2g} mm tool) lets the tool cut the corner without full engagement"
        ),
        related=walls,
        facts={"depth": depth, "feature": kind, "cutter": 2 * need, "radius": radius},
    )


RULE = Rule(
    id="cnc.sharp_internal_corner",
    title="Internal vertical corner an end mill cannot cut",
    description=(
        "For every recognised pocket, slot and step, finds the concave corners among its faces that run "
        "along its tool axis (sharp concave edges and concave fillet faces, from the face adjacency graph). "
        "A sharp one (radius 0) cannot be milled; a fillet radius below the profile's fraction of the "
        "corner's depth along the axis needs a long, slender cutter."
    ),
    help=(
        "**Why:** an end mill is round: along its own axis it leaves a corner radius at least as large as "
        "its radius, and a small cutter can only reach about three times its diameter deep without chatter.\n\n"
        "**Fix:** round vertical inside corners to at least depth × `warn_below` (Hubs: one third of the "
        "cavity depth), a little larger than a standard cutter radius. Where the mating part needs a sharp "
        "corner, use a dog-bone relief, or plan wire EDM."
    ),
    check=check,
    thing="region",
)

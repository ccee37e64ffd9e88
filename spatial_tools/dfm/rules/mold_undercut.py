"""mold.undercut: a face that neither mold half can release along the pull.

A face is molded by the half that moves along +pull or the one along -pull
when, from its points, the straight line in that direction leaves the part
(the face must not turn its back on it; walls along the pull count). Points
hidden from both are undercuts: the steel that forms them would be locked in
the part when the mold opens. The ray casting is ``geometry.visibility``
(shared with cnc.inaccessible_face and mold.draft); the pull direction is the
profile's (``pull_direction``, default +Z; run_dfm/--pull-direction set it).
"""

from __future__ import annotations

from ...geometry.query import face_axis, unit
from ...geometry.visibility import Visibility, direction_name, part_axes, visibility_of
from ..finding import Finding
from . import Rule, RuleContext
from .cnc_inaccessible_face import blocked_by, blocker_refs

ACROSS_COS = 1e-6  # a slide direction must be square to the pull within this


def pull_directions(ctx: RuleContext) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(+pull, -pull) of the profile."""
    p = tuple(float(c) for c in ctx.profile.pull_direction)
    return p, (-p[0], -p[1], -p[2])


def slide_direction(vis: Visibility, face_index: int, pull: tuple[float, float, float]) -> tuple[float, float, float] | None:
    """A direction square to the pull along which the whole face is visible: where a side action
    (slide) can move to release it. Tries the part's axes, then the face's own axis."""
    import FreeCAD

    p = FreeCAD.Vector(*pull)
    candidates = [FreeCAD.Vector(*d) for d in part_axes(vis.shape)]
    axis = face_axis(vis.faces[face_index])
    if axis is not None:
        candidates += [axis.direction, -axis.direction]
    for d in candidates:
        d = unit(d)
        if abs(d.dot(p)) > ACROSS_COS:
            continue
        direction = (d.x, d.y, d.z)
        if vis.reaches_all(face_index, direction):
            return direction
    return None


def check(ctx: RuleContext) -> list[Finding]:
    assert ctx.target is not None
    pull, back = pull_directions(ctx)
    vis = visibility_of(ctx.target)
    names = (f"{direction_name(pull)} (pull)", f"{direction_name(back)} (against the pull)")
    findings = []
    for face in vis.hidden_faces((pull, back)):
        name = f"Face{face.index + 1}"
        slide = slide_direction(vis, face.index, pull)
        if slide is not None:
            suggestion = (
                f"Form it with a side action (slide) moving along {direction_name(slide)}, or change the feature "
                f"so it opens along the pull {direction_name(pull)} (e.g. a slot from the parting line, a "
                "shut-off instead of a side hole)"
            )
        else:
            suggestion = (
                f"Change the feature so it opens along the pull {direction_name(pull)} (a slot from the parting "
                "line, a pass-through core shut-off), or plan a lifter or collapsible core; check the pull "
                "direction (profile pull_direction) is the one the mold opens along"
            )
        findings.append(
            ctx.finding(
                ctx.settings.severity(),
                f"{name} is an undercut for the pull {direction_name(pull)}: {face.hidden} of its {face.samples} "
                f"sampled points are locked from both mold halves ({face.share:.0f} % > 0 %); in the way: "
                f"{blocked_by(face, names)}",
                elements=[name],
                location=face.point,
                measured=face.share,
                limit=0.0,
                unit="%",
                suggestion=suggestion,
                related=blocker_refs(ctx.target.name, face),
            )
        )
    return findings


RULE = Rule(
    id="mold.undercut",
    title="Face blocked in both directions of the pull",
    description=(
        "Samples every face on a small UV grid and casts rays from each point along +pull and -pull (where "
        "the face does not turn away from them). A face with a point neither ray leaves the part from is an "
        "undercut, reported with the share of locked points, the faces in the way and, where one exists, "
        "the direction square to the pull a side action can release it along. One locked point of every "
        "reported face is confirmed on the exact geometry by the kernel."
    ),
    help=(
        "**Why:** the two mold halves separate along the pull; steel that forms a face hidden from both "
        "would be trapped in the part, so the part cannot be ejected without a side action, lifter or "
        "collapsible core (each adds cost and maintenance).\n\n"
        "**Fix:** make the feature open along the pull (slots from the parting line, shut-offs instead of "
        "side holes), or plan the side action the finding names. Set the pull direction in the profile "
        '(`pull_direction`) or with `--pull-direction`. Severity: `[rules."mold.undercut"] severity`.'
    ),
    check=check,
    thing="region",
)

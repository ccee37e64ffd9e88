"""cnc.skewed_drill_entry: the drill enters or leaves the part through a face not square to its axis.

For every recognised hole, the faces around its entry rim (and, for a
through hole, its exit rim) are found by ``hole_checks.drill_ends``; the
angle between the drill axis and each face's normal is measured where the
axis meets the face, so a hole square to a curved face reads 0°.
"""

from __future__ import annotations

from ...geometry.hole_checks import drill_ends, drilled_bore, holes_of, settle
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    widest = ctx.settings.number("max_diameter")
    faces = ctx.target.shape.Faces
    findings = []
    for hole in holes_of(ctx.target):
        if drilled_bore(hole).diameter > widest:
            continue  # milled or bored, not drilled
        for end in drill_ends(faces, hole):
            angle = settle(end.angle_deg)
            graded = ctx.settings.grade(angle, "above")
            if graded is None:
                continue
            severity, limit = graded
            d = hole["diameter"]
            if end.end == "entry":
                what = f"The drill of hole Ø{d:.4g} enters {end.face} at {angle:.3g}° off its normal"
                effect = "the point skids before it bites and the hole starts off position"
                fix = (
                    "Mill a spot face square to the hole axis first (an end mill plunge of the hole's Ø or more), "
                    "or turn the hole square to the face"
                )
            else:
                what = f"The drill of hole Ø{d:.4g} leaves through {end.face} at {angle:.3g}° off its normal"
                effect = "it breaks out on one side first, deflects and leaves a heavy burr"
                fix = (
                    "Add a spot face or counterbore square to the axis where the hole exits, or turn the hole "
                    "square to that face"
                )
            findings.append(
                ctx.finding(
                    severity,
                    f"{what} (limit {limit:g}°): {effect}",
                    elements=[end.face],
                    location=end.point,
                    measured=angle,
                    limit=limit,
                    unit="deg",
                    suggestion=fix,
                    related=[f"{ctx.target.name}.{n}" for n in hole["faces"]],
                )
            )
    return findings


RULE = Rule(
    id="cnc.skewed_drill_entry",
    title="Drill enters or exits a surface not perpendicular to its axis",
    description=(
        "For every recognised hole, measures the angle between the drill axis and the normal of each face the "
        "drill enters or leaves the part through, where the axis meets that face."
    ),
    help=(
        "**Why:** on a sloped face a drill point touches on one side first, skids and bends; on a sloped exit "
        "it breaks out unevenly and burrs.\n\n"
        "**Fix:** give the hole a spot face or counterbore square to its axis, or turn the hole square to the "
        'surface. Limit: `[rules."cnc.skewed_drill_entry"] warn_above` (degrees); holes wider than '
        '`max_diameter` are milled or bored and not judged.'
    ),
    check=check,
)

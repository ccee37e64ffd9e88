"""mold.max_wall: a molded wall so thick it sinks and voids.

Every wall of the part (walls.py) is graded by its thickest chord (a drafted
wall is thickest at its root) against the maximum wall of the profile's
resin (Protolabs' resin table). The web between a hole and the next face is
left out: it is never thicker than the wall the hole is in, which is graded
itself.
"""

from __future__ import annotations

from ...geometry.walls import PIN, WEB, wall_map
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    resin = ctx.profile.material
    for wall in wall_map(ctx.target).walls:
        if wall.kind == WEB:
            continue
        graded = ctx.settings.grade(wall.thickest, "above")
        if graded is None:
            continue
        severity, limit = graded
        names = " and ".join(wall.elements)
        if wall.kind == PIN:
            suggestion = f"Core the boss out from its end, leaving a wall of at most {limit:g} mm around the core pin"
        else:
            suggestion = (
                f"Core the section out from the side the mold opens to, leaving walls of at most {limit:g} mm "
                "(with ribs for stiffness), or choose a resin that tolerates thicker sections"
            )
        findings.append(
            ctx.finding(
                severity,
                f"{wall.noun.capitalize()} between {names} is {wall.thickest:.4g} mm thick; "
                f"{resin} sinks and voids above {limit:g} mm",
                elements=wall.elements,
                location=wall.location,
                measured=wall.thickest,
                limit=limit,
                unit="mm",
                suggestion=suggestion,
            )
        )
    return findings


RULE = Rule(
    id="mold.max_wall",
    title="Wall too thick (sink marks, voids)",
    description=(
        "Finds every wall of the part (two opposite faces with a clear chord of material between them, taken "
        "where it is the short way through; webs beside holes excepted) and compares its thickest chord with "
        "the maximum wall thickness of the profile's resin."
    ),
    help=(
        "**Why:** a thick section cools last; its core shrinks after the skin has set, pulling in sink marks or "
        "leaving voids, and it lengthens the cycle.\n\n"
        "**Fix:** core the section out to a uniform wall and add ribs where stiffness is needed. Limits: "
        '`[rules."mold.max_wall"] warn_above` (mm), per resin in `by_material`.'
    ),
    check=check,
)

"""mold.min_wall: a molded wall too thin to fill.

Every wall of the part (walls.py) is graded by its thinnest chord against
the minimum wall of the profile's resin (Protolabs' resin table).
"""

from __future__ import annotations

from ...geometry.walls import wall_map
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    resin = ctx.profile.material
    for wall in wall_map(ctx.target).walls:
        graded = ctx.settings.grade(wall.thickness, "below")
        if graded is None:
            continue
        severity, limit = graded
        names = " and ".join(wall.elements)
        findings.append(
            ctx.finding(
                severity,
                f"{wall.noun.capitalize()} between {names} is {wall.thickness:.4g} mm thick; "
                f"{resin} needs at least {limit:g} mm to fill",
                elements=wall.elements,
                location=wall.location,
                measured=wall.thickness,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Thicken it to {limit:g} mm or more, or choose a resin that flows into thinner sections "
                    "(nylon, acetal, polypropylene); a section this thin freezes before the cavity fills "
                    "(short shot)"
                ),
            )
        )
    return findings


RULE = Rule(
    id="mold.min_wall",
    title="Wall too thin to fill",
    description=(
        "Finds every wall of the part (two opposite faces with a clear chord of material between them, taken "
        "where it is the short way through) and compares its thinnest chord with the minimum wall thickness of "
        "the profile's resin."
    ),
    help=(
        "**Why:** melt cools as it flows; in a section thinner than the resin's minimum it freezes before the "
        "cavity is full, giving short shots, flow lines and weak knit lines.\n\n"
        "**Fix:** thicken the wall to the resin's minimum, or pick a resin that flows further. Limits: "
        '`[rules."mold.min_wall"] warn_below` (mm), per resin in `by_material`.'
    ),
    check=check,
)

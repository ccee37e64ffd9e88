"""mold.min_wall: a molded wall too thin to fill.

Every wall of the part (walls.py) is graded by its thinnest chord against
the minimum wall of the profile's resin (Protolabs' resin table).
"""

from __future__ import annotations

from ..finding import Finding
from ..wall_grading import wall_findings
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    resin = ctx.profile.material
    return wall_findings(
        ctx,
        "below",
        lambda wall, severity, limit: f"{resin} needs at least {limit:g} mm to fill",
        lambda wall, severity, limit: (
            f"Thicken it to {limit:g} mm or more, or choose a resin that flows into thinner sections "
            "(nylon, acetal, polypropylene); a section this thin freezes before the cavity fills "
            "(short shot)"
        ),
    )


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
    thing="wall",
)

"""mold.max_wall: a molded wall so thick it sinks and voids.

Every wall of the part (walls.py) is graded by its thickest chord (a drafted
wall is thickest at its root) against the maximum wall of the profile's
resin (Protolabs' resin table). The web between a hole and the next face is
left out: it is never thicker than the wall the hole is in, which is graded
itself.
"""

from __future__ import annotations

from ...geometry.walls import PIN, WEB
from ..finding import Finding
from ..wall_grading import wall_findings
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    resin = ctx.profile.material

    def suggestion(wall, severity, limit) -> str:
        if wall.kind == PIN:
            return f"Core the boss out from its end, leaving a wall of at most {limit:g} mm around the core pin"
        return (
            f"Core the section out from the side the mold opens to, leaving walls of at most {limit:g} mm "
            "(with ribs for stiffness), or choose a resin that tolerates thicker sections"
        )

    return wall_findings(
        ctx,
        "above",
        lambda wall, severity, limit: f"{resin} sinks and voids above {limit:g} mm",
        suggestion,
        skip=lambda wall: wall.kind == WEB,
    )


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
    thing="wall",
)

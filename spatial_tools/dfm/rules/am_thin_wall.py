"""am.thin_wall: a printed wall thinner than the nozzle can lay down.

Every wall of the part (walls.py) is graded by its thinnest chord against
the profile's minimum (two perimeters of a 0.4 mm nozzle).
"""

from __future__ import annotations

from ..finding import Finding
from ..wall_grading import wall_findings
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    return wall_findings(
        ctx,
        "below",
        lambda wall, severity, limit: f"below {limit:g} mm the slicer drops it or prints it as a single weak line",
        lambda wall, severity, limit: (
            f"Thicken it to at least {limit:g} mm (a multiple of the line width prints best), or print "
            "with a finer nozzle"
        ),
    )


RULE = Rule(
    id="am.thin_wall",
    title="Wall below the nozzle's capability",
    description=(
        "Finds every wall of the part (two opposite faces with a clear chord of material between them, taken "
        "where it is the short way through) and compares its thinnest chord with the profile's minimum printable "
        "wall."
    ),
    help=(
        "**Why:** an FDM nozzle lays lines about as wide as its bore; a wall thinner than two lines is left out "
        "by the slicer or printed as one fragile line.\n\n"
        "**Fix:** thicken the wall to at least two line widths, or use a finer nozzle. Limit: "
        '`[rules."am.thin_wall"] warn_below` (mm).'
    ),
    check=check,
    thing="wall",
)

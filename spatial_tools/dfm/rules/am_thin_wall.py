"""am.thin_wall: a printed wall thinner than the nozzle can lay down.

Every wall of the part (walls.py) is graded by its thinnest chord against
the profile's minimum (two perimeters of a 0.4 mm nozzle).
"""

from __future__ import annotations

from ...geometry.walls import wall_map
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
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
                f"below {limit:g} mm the slicer drops it or prints it as a single weak line",
                elements=wall.elements,
                location=wall.location,
                measured=wall.thickness,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Thicken it to at least {limit:g} mm (a multiple of the line width prints best), or print "
                    "with a finer nozzle"
                ),
            )
        )
    return findings


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
)

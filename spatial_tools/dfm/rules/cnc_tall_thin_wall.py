"""cnc.tall_thin_wall: a wall too tall for its thickness.

A standing wall (walls.py ``standing_walls``: a fin or rib on a base, a side
wall of a recognised pocket, slot or step, a tube on a base) rises from its
root to a free edge; its height along the wall face divided by its
thickness is graded against the profile's ratios.
"""

from __future__ import annotations

from ...geometry.walls import standing_walls
from ..finding import Finding, Severity
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    for standing in standing_walls(ctx.target):
        wall = standing.wall
        ratio = standing.slenderness
        graded = ctx.settings.grade(ratio, "above")
        if graded is None:
            continue
        severity, limit = graded
        names = " and ".join(wall.elements)
        thicker = standing.height / limit
        if severity is Severity.ERROR:
            suggestion = (
                f"Thicken the wall to at least {thicker:.3g} mm, make it lower, or tie it to a neighbouring wall "
                "with a rib; at this slenderness it bends away from the cutter"
            )
        else:
            suggestion = (
                f"Thicken the wall to {thicker:.3g} mm or more, or cut it in light step-downs from both sides "
                "alternately so the stock below still supports each pass"
            )
        findings.append(
            ctx.finding(
                severity,
                f"{wall.noun.capitalize()} between {names} is {standing.height:.4g} mm tall and "
                f"{wall.thickness:.4g} mm thick ({ratio:.3g}:1); the limit is {limit:g}:1",
                elements=wall.elements,
                location=wall.location,
                measured=ratio,
                limit=limit,
                unit="ratio",
                facts={"height": standing.height, "thickness": wall.thickness},
                suggestion=suggestion,
            )
        )
    return findings


RULE = Rule(
    id="cnc.tall_thin_wall",
    title="Wall too tall for its thickness",
    description=(
        "For every wall that stands up to a free edge (a fin or rib on a base, a side wall of a pocket, slot or "
        "step, a tube on a base) divides its height along the wall face, measured from its root the way the tool "
        "feeds, by its thickness and grades the ratio against the profile's limits."
    ),
    help=(
        "**Why:** a tall, thin wall is a cantilever: the side load of the end mill bends it, so it chatters and "
        "the top ends up thinner or out of position.\n\n"
        "**Fix:** thicken the wall, lower it, or brace it with a rib; if it must stay, finish it in light "
        "step-downs from both sides alternately. Limits: "
        '`[rules."cnc.tall_thin_wall"] warn_above / error_above` (height/thickness).'
    ),
    check=check,
    thing="wall",
)

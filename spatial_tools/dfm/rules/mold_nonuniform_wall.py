"""mold.nonuniform_wall: an abrupt change of wall thickness.

Nominal walls (walls.py: planar walls, floors and tube walls, not ribs,
webs beside holes or pins) that touch each other, sharing a face or meeting
at an edge, are compared: the thicker over the thinner is graded against
the profile's ratio. Each thin wall is reported once, against its thickest
neighbour, where the two meet.
"""

from __future__ import annotations

from ...geometry.walls import nominal_neighbours, transition
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    worst: dict[int, tuple] = {}
    for thin, thick in nominal_neighbours(ctx.target):
        if id(thin) not in worst or thick.thickness > worst[id(thin)][1].thickness:
            worst[id(thin)] = (thin, thick)
    for thin, thick in worst.values():
        ratio = thick.thickness / thin.thickness
        graded = ctx.settings.grade(ratio, "above")
        if graded is None:
            continue
        severity, limit = graded
        elements = tuple(dict.fromkeys(thin.elements + thick.elements))
        findings.append(
            ctx.finding(
                severity,
                f"{thin.noun.capitalize()} between {' and '.join(thin.elements)} ({thin.thickness:.4g} mm) meets a "
                f"{thick.thickness:.4g} mm {thick.noun} ({' and '.join(thick.elements)}): {ratio:.3g}:1, above "
                f"{limit:g}:1",
                elements=elements,
                location=transition(ctx.target, thin, thick),
                measured=ratio,
                limit=limit,
                unit="ratio",
                facts={"thin": thin.thickness, "thick": thick.thickness},
                suggestion=(
                    f"Core the {thick.thickness:.4g} mm section out towards {thin.thickness:.4g} mm, or blend the "
                    "change over a taper about three times as long as the step; gate into the thick section so it "
                    "packs"
                ),
            )
        )
    return findings


RULE = Rule(
    id="mold.nonuniform_wall",
    title="Abrupt change of wall thickness",
    description=(
        "Compares each pair of touching nominal walls (walls that share a face or whose faces meet at an edge; "
        "ribs, webs beside holes and pins are left to their own rules) and grades the ratio of the thicker to "
        "the thinner against the profile's limit."
    ),
    help=(
        "**Why:** thick and thin sections cool and shrink at different rates; where they meet the part warps, "
        "sinks and carries stress, and melt racing through the thick section traps gas in the thin one.\n\n"
        "**Fix:** core out the thick section to the nominal wall, or taper the change over about three times "
        "its height. Limit: `[rules.\"mold.nonuniform_wall\"] warn_above` (thicker/thinner)."
    ),
    check=check,
    thing="wall",
)

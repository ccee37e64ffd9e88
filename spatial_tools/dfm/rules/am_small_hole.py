"""am.small_hole: a printed hole so small it closes up.

The narrowest Ø of every recognised hole is compared with the profile's
``warn_below``. Holes along the build direction shrink by the extrusion
width; holes across it sag at their top; both close up below about 2 mm.
"""

from __future__ import annotations

from ...geometry.hole_checks import drilled_bore, holes_of, settle
from ..finding import Finding
from . import Rule, RuleContext

VERTICAL_COS = 0.999  # the hole axis is along the build direction within ~2.6°


def check(ctx: RuleContext) -> list[Finding]:
    build = ctx.profile.build_direction
    findings = []
    for hole in holes_of(ctx.target):
        bore = drilled_bore(hole)
        diameter = settle(bore.diameter)
        graded = ctx.settings.grade(diameter, "below")
        if graded is None:
            continue
        severity, limit = graded
        along = abs(sum(a * b for a, b in zip(hole["axis"], build, strict=True))) >= VERTICAL_COS
        how = (
            "along the build direction it shrinks by the extrusion width"
            if along
            else "across the build direction its top sags"
        )
        findings.append(
            ctx.finding(
                severity,
                f"Hole Ø{diameter:.4g} is below Ø{limit:g}: {how} and the hole closes up",
                elements=bore.faces,
                location=hole["position"],
                measured=diameter,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Model it at Ø{limit:g} or more, or print it undersize (or solid with a marked centre) and "
                    "drill it to size after printing"
                ),
            )
        )
    return findings


RULE = Rule(
    id="am.small_hole",
    title="Hole that will close up when printed",
    description=(
        "Compares the narrowest diameter of every recognised hole with the smallest hole the FDM profile "
        "allows; the message says whether the hole runs along or across the build direction."
    ),
    help=(
        "**Why:** extruded plastic squeezes into small holes: vertical holes come out undersize by about the "
        "extrusion width, horizontal ones sag at the top, and below about 2 mm they close.\n\n"
        '**Fix:** enlarge the hole, or print it undersize and drill it afterwards. Limit: `[rules."am.small_hole"] '
        "warn_below` (mm)."
    ),
    check=check,
)

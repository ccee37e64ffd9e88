"""cnc.small_hole: a hole below the smallest drill a shop runs in the part's material.

The drilled (narrowest) Ø of every recognised hole is compared with the
profile's ``warn_below``, which depends on the material group: hard metals
(steel, stainless, titanium) break small drills sooner than soft metals and
plastics.
"""

from __future__ import annotations

from ...geometry.hole_checks import drilled_bore, holes_of, settle
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    profile = ctx.profile
    findings = []
    for hole in holes_of(ctx.target):
        bore = drilled_bore(hole)
        diameter = settle(bore.diameter)
        graded = ctx.settings.grade(diameter, "below")
        if graded is None:
            continue
        severity, limit = graded
        findings.append(
            ctx.finding(
                severity,
                f"Hole Ø{diameter:.4g} is below Ø{limit:g}, the smallest standard drill for "
                f"{profile.material} ({profile.material_group.replace('_', ' ')})",
                elements=bore.faces,
                location=hole["position"],
                measured=diameter,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Open it to Ø{limit:g} or more if the size is not functional; otherwise it needs micro drills "
                    "at low feed with frequent breakage, or EDM / laser drilling"
                ),
            )
        )
    return findings


RULE = Rule(
    id="cnc.small_hole",
    title="Hole below the smallest standard tool",
    description=(
        "Compares the drilled diameter of every recognised hole with the smallest drill the profile allows "
        "for the part's material group."
    ),
    help=(
        "**Why:** micro drills flex and snap, most of all in hard metals; they need special spindles, slow feeds "
        "and pecking.\n\n"
        '**Fix:** enlarge the hole, or plan EDM or laser drilling. Limit: `[rules."cnc.small_hole"] warn_below` '
        "(mm), per material group under `by_group`."
    ),
    check=check,
)

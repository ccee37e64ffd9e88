"""cnc.deep_hole: a drilled hole too deep for its diameter.

For every recognised hole, each bore's depth from the drill's entry to the
end of its cylinder (a drill point's cone is not depth) is divided by its
diameter; the worst bore is graded against the profile's warn/error ratios.
A counterbored hole is judged by its narrow bore, which the drill reaches
through the counterbore.
"""

from __future__ import annotations

from ...geometry.hole_checks import bores, holes_of, settle
from ..finding import Finding, Severity
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    for hole in holes_of(ctx.target):
        worst = max(bores(hole), key=lambda b: b.end / b.diameter)
        ratio = settle(worst.end / worst.diameter)
        graded = ctx.settings.grade(ratio, "above")
        if graded is None:
            continue
        severity, limit = graded
        kind = "Through" if hole["through"] else "Blind"
        if severity is Severity.ERROR:
            suggestion = (
                f"Past {limit:g}×D a twist drill wanders and needs gun drilling: make the hole shallower or larger, "
                "counterbore the upper part so the small drill cuts less, or for a through hole drill it from both ends"
            )
        else:
            suggestion = (
                f"Past {limit:g}×D the hole needs peck drilling with a long-series drill: shorten it to what the "
                "thread or pin needs, or enlarge the Ø if it is only a clearance"
            )
        findings.append(
            ctx.finding(
                severity,
                f"{kind} hole Ø{worst.diameter:.4g} is {worst.end:.4g} mm deep ({ratio:.3g}×D); the limit is {limit:g}×D",
                elements=hole["faces"],
                location=hole["position"],
                measured=ratio,
                limit=limit,
                unit="ratio",
                facts={"diameter": worst.diameter, "depth": worst.end},
                suggestion=suggestion,
            )
        )
    return findings


RULE = Rule(
    id="cnc.deep_hole",
    title="Drilled hole too deep for its diameter",
    description=(
        "Divides each recognised hole's drilled depth (entry to the end of the cylindrical wall, drill point "
        "excluded) by its diameter and grades the ratio against the profile's warning and error limits."
    ),
    help=(
        "**Why:** standard drills cut cleanly to about 4×D; deeper holes need pecking to clear chips, and past "
        "about 10×D the drill drifts off line and breaks, so gun drilling or EDM is needed.\n\n"
        "**Fix:** drill only as deep as the thread or pin needs, enlarge a clearance hole, counterbore the top so "
        "the narrow drill cuts less, or drill a long through hole from both ends. Limits: "
        '`[rules."cnc.deep_hole"] warn_above / error_above` (depth/Ø).'
    ),
    check=check,
)

"""cnc.flat_bottom_hole: a blind hole that ends in a flat face instead of a drill point.

The hole recogniser closes a blind hole with ``bottom: flat`` when its end is
a plane square to the axis; a twist drill leaves a 118°/135° cone there, so a
flat end needs a second tool (flat-bottom drill or end mill).
"""

from __future__ import annotations

from ...geometry.hole_checks import drilled_bore, holes_of
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    severity = ctx.settings.severity()
    widest = ctx.settings.number("max_diameter")
    findings = []
    for hole in holes_of(ctx.target):
        if hole["through"] or hole["bottom"] != "flat" or drilled_bore(hole).diameter > widest:
            continue  # through, pointed, or wide enough to be milled with a flat floor anyway
        position, axis, depth = hole["position"], hole["axis"], hole["depth"]
        centre = tuple(p + a * depth for p, a in zip(position, axis, strict=True))
        findings.append(
            ctx.finding(
                severity,
                f"Blind hole Ø{hole['diameter']:.4g} × {depth:.4g} mm ends in a flat bottom; "
                "a twist drill leaves a 118° or 135° point there",
                elements=[hole["bottom_face"]],
                location=centre,
                measured=None,
                limit=None,
                facts={"diameter": hole["diameter"], "depth": depth},
                suggestion=(
                    "Let the hole end in the drill point (dimension the depth to the full Ø); if a flat seat is "
                    "really needed, call for a flat-bottom drill or end mill on the drawing - it is an extra tool "
                    "and operation"
                ),
            )
        )
    return findings


RULE = Rule(
    id="cnc.flat_bottom_hole",
    title="Blind hole with a flat bottom",
    description=(
        "Reports every recognised blind hole whose end is a plane square to its axis. Twist drills cut a "
        "conical point; a flat bottom needs a second tool."
    ),
    help=(
        "**Why:** a drilled blind hole ends in the drill's cone (118° or 135°). A flat bottom needs a "
        "flat-bottom drill or an end mill after the drill: an extra tool change and operation, and a small Ø "
        "end mill plunging deep is fragile.\n\n"
        "**Fix:** model the cone point (or dimension the full-Ø depth and let the point be), unless the flat is "
        'functional. Holes wider than `max_diameter` are milled or bored and not judged. Severity: '
        '`[rules."cnc.flat_bottom_hole"] severity`.'
    ),
    check=check,
)

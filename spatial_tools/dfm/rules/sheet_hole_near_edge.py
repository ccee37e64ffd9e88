"""sheet.hole_near_edge: a hole so close to the sheet's edge that the web between them bulges or tears.

Holes come from feature recognition (through holes square to a flat side of
the sheet). Measured in the side's plane from the hole's rim to the nearest
edge of the side's outer boundary, leaving out the lines where the side meets
a bend (sheet.hole_near_bend measures those).
"""

from __future__ import annotations

from ...geometry.hole_checks import cached_features
from ...geometry.sheet import edge_clearance, require_sheet, sheet_holes
from ..finding import Finding
from . import Rule, RuleContext

NOISE = 1e-6  # mm: kernel noise; a measure this close to the limit meets it


def check(ctx: RuleContext) -> list[Finding]:
    model = require_sheet(ctx.target)
    t = model.thickness
    per_t = ctx.settings.number("warn_below_t")
    limit = per_t * t
    holes = [f for f in cached_features(ctx.target) if f["kind"] == "hole"]
    worst: dict[str, tuple] = {}
    for hole in sheet_holes(model, holes):
        c = edge_clearance(model, hole)
        if c is None or c.distance >= limit - NOISE:
            continue
        key = hole.hole["id"]
        if key not in worst or c.distance < worst[key][0].distance:
            worst[key] = (c, hole)
    findings = []
    for c, hole in sorted(worst.values(), key=lambda item: item[0].distance):
        findings.append(
            ctx.finding(
                "warning",
                f"Hole Ø{2 * hole.radius:.3g} ({hole.hole['id']}) is {c.distance:.3g} mm from the sheet's edge "
                f"(Edge{c.edge + 1}) in {t:.3g} mm sheet: below {per_t:.3g} T = {limit:.3g} mm",
                elements=[f"Face{i + 1}" for i in hole.faces],
                location=c.on_rim,
                measured=c.distance,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Move the hole so at least {limit:.3g} mm of material stays between its rim and the edge, or open "
                    "it to the edge as a notch; a thinner web bulges when punched and tears under load"
                ),
                related=[f"{ctx.target.name}.Edge{c.edge + 1}"],
            )
        )
    return findings


RULE = Rule(
    id="sheet.hole_near_edge",
    title="Hole too close to the edge",
    description=(
        "For every through hole in a flat side of the sheet, measures in that side's plane the distance from "
        "the hole's rim to the nearest edge of the side's outer boundary (bend lines excluded) and compares "
        "it with warn_below_t × T."
    ),
    help=(
        "**Why:** punching or laser-cutting a hole next to the edge leaves a thin web that bulges, and it "
        "tears out under load.\n\n"
        "**Fix:** keep at least the profile's distance between the hole and the edge, or make it a notch."
    ),
    check=check,
)

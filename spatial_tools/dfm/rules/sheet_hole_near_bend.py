"""sheet.hole_near_bend: a hole so close to a bend that the bend pulls it out of round.

Holes come from feature recognition (through holes square to a flat side of
the sheet); bends and their tangent lines from sheet.py. Measured in the
side's plane from the hole's rim to the tangent line where that side meets
the bend (a sharp fold: its edge).
"""

from __future__ import annotations

from ...geometry.hole_checks import cached_features
from ...geometry.sheet import bend_clearances, require_sheet, sheet_holes
from ..finding import Finding
from . import Rule, RuleContext

NOISE = 1e-6  # mm: kernel noise; a measure this close to the limit meets it


def check(ctx: RuleContext) -> list[Finding]:
    model = require_sheet(ctx.target)
    t = model.thickness
    per_t = ctx.settings.number("warn_below_t")
    add_radius = bool(ctx.settings.get("add_bend_radius", False))
    holes = [f for f in cached_features(ctx.target) if f["kind"] == "hole"]
    worst: dict[tuple[str, int], tuple] = {}  # (hole id, bend) -> (clearance, sheet hole, limit)
    for hole in sheet_holes(model, holes):
        for c in bend_clearances(model, hole):
            bend = model.bends[c.bend]
            limit = per_t * t + (bend.radius if add_radius else 0.0)
            key = (hole.hole["id"], c.bend)
            if c.distance < limit - NOISE and (key not in worst or c.distance < worst[key][0].distance):
                worst[key] = (c, hole, limit)
    findings = []
    for (_, k), (c, hole, limit) in sorted(worst.items(), key=lambda item: item[1][0].distance):
        bend = model.bends[k]
        radius_text = f" + R {bend.radius:.3g}" if add_radius else ""
        findings.append(
            ctx.finding(
                "warning",
                f"Hole Ø{2 * hole.radius:.3g} ({hole.hole['id']}) is {c.distance:.3g} mm from the tangent line of a "
                f"bend (R {bend.radius:.3g}) in {t:.3g} mm sheet: below {per_t:.3g} T{radius_text} = {limit:.3g} mm",
                elements=[f"Face{i + 1}" for i in hole.faces],
                location=c.on_rim,
                measured=c.distance,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Move the hole at least {limit:.3g} mm (rim to tangent line) away from the bend, or cut a bend "
                    "relief slot along the bend line; otherwise pierce the hole after bending. Closer holes are "
                    "dragged oval by the bend"
                ),
                related=[f"{ctx.target.name}.Face{i + 1}" for i in bend.faces]
                or [f"{ctx.target.name}.Edge{e + 1}" for e in bend.tangent_edges],
            )
        )
    return findings


RULE = Rule(
    id="sheet.hole_near_bend",
    title="Hole too close to a bend",
    description=(
        "For every through hole in a flat side of the sheet, measures in that side's plane the distance from "
        "the hole's rim to the tangent line where the side meets a bend, and compares it with "
        "warn_below_t × T plus the inner bend radius when add_bend_radius is set."
    ),
    help=(
        "**Why:** material near a bend stretches and flows with it; a hole too close deforms into an oval "
        "and may tear.\n\n"
        "**Fix:** move the hole away from the bend, add a bend relief, or make the hole after bending."
    ),
    check=check,
)

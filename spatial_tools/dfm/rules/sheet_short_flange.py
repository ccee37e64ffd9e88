"""sheet.short_flange: a flange too short for the press brake to hold and bend.

Flanges come from sheet.py: the flat side leaving a bend at its tangent line,
measured in its plane square to the bend axis from the tangent line to its
farthest point. Only free flanges (ending at the sheet's edge) count; a flat
between two bends is a web.
"""

from __future__ import annotations

from ...geometry.sheet import require_sheet
from ..finding import Finding
from . import Rule, RuleContext

NOISE = 1e-6  # mm: kernel noise; a measure this close to the limit meets it


def check(ctx: RuleContext) -> list[Finding]:
    model = require_sheet(ctx.target)
    t = model.thickness
    per_t = ctx.settings.number("warn_below_t")
    limit = per_t * t
    findings = []
    seen: set[tuple[int, int]] = set()
    for flange in model.flanges:
        key = (flange.face, id(flange.bend))
        if not flange.free or key in seen:
            continue
        seen.add(key)
        if flange.length >= limit - NOISE:
            continue
        outside = flange.length + flange.bend.radius + t
        elements = [f"Face{flange.face + 1}"]
        partner = model.partner.get(flange.face)
        if partner is not None:
            elements.append(f"Face{partner + 1}")
        findings.append(
            ctx.finding(
                "warning",
                f"Flange Face{flange.face + 1} is {flange.length:.3g} mm long from the bend's tangent line "
                f"({outside:.3g} mm outside) in {t:.3g} mm sheet: below {per_t:.3g} T = {limit:.3g} mm",
                elements=elements,
                location=flange.base + flange.direction * flange.length,
                measured=flange.length,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Lengthen the flange to at least {limit:.3g} mm past the bend (then trim it after bending if "
                    "it must be shorter); a shorter flange does not span the die opening and slips or bends unevenly"
                ),
                related=[f"{ctx.target.name}.Face{i + 1}" for i in flange.bend.faces],
            )
        )
    return findings


RULE = Rule(
    id="sheet.short_flange",
    title="Flange too short to bend",
    description=(
        "For every flange that leaves a bend and ends at the sheet's edge, measures its flat length in its "
        "plane, square to the bend axis, from the bend's tangent line to its far end, and compares it with "
        "warn_below_t × T."
    ),
    help=(
        "**Why:** on a press brake the flange has to rest across the V-die; a flange shorter than about four "
        "thicknesses falls into the die, slips and bends at the wrong place.\n\n"
        "**Fix:** lengthen the flange (and trim after bending if needed) or change the part so the bend is "
        "not needed there."
    ),
    check=check,
)

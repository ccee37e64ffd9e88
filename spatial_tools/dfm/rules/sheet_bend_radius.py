"""sheet.bend_radius: an inner bend radius too small for the sheet thickness.

The sheet thickness T and the bends come from sheet.py: a bend is a concave
inner cylinder paired across T with a convex outer one (its radius is the
inner radius R), or a sharp fold with no radius at all (R = 0).
"""

from __future__ import annotations

from ...geometry.sheet import require_sheet
from ..finding import Finding
from . import Rule, RuleContext

NOISE = 1e-6  # mm: kernel noise; a measure this close to the limit meets it


def check(ctx: RuleContext) -> list[Finding]:
    model = require_sheet(ctx.target)
    t = model.thickness
    per_t, floor = ctx.settings.number("warn_below_t"), ctx.settings.number("warn_below_mm")
    limit = max(per_t * t, floor)
    findings = []
    for bend in model.bends:
        if bend.radius >= limit - NOISE:
            continue
        if bend.sharp:
            elements = [f"Edge{k + 1}" for k in bend.tangent_edges]
            what = "Sharp fold (inner radius 0)"
        else:
            elements = [f"Face{i + 1}" for i in bend.inner]
            what = f"Bend of inner radius {bend.radius:.3g} mm"
        rule_text = f"{per_t:.3g} T = {per_t * t:.3g} mm" + (f", at least {floor:.3g} mm" if floor > 0 else "")
        findings.append(
            ctx.finding(
                "warning",
                f"{what} in {t:.3g} mm sheet ({bend.radius / t:.3g} T) is below the minimum {limit:.3g} mm ({rule_text})",
                elements=elements,
                location=bend.location,
                measured=bend.radius,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Use an inner bend radius of at least {limit:.3g} mm (a standard punch radius at or above it); "
                    "tighter bends crack on the outside and spring back unpredictably"
                    + ("; a sharp fold cannot be made on a press brake at all" if bend.sharp else "")
                ),
                related=[f"{ctx.target.name}.Face{i + 1}" for i in bend.outer],
            )
        )
    return findings


RULE = Rule(
    id="sheet.bend_radius",
    title="Inner bend radius too small",
    description=(
        "Reads the sheet thickness T and the bends off the part (coaxial inner/outer cylinders whose radii "
        "differ by T, or sharp folds) and compares each inner radius with max(warn_below_t × T, warn_below_mm)."
    ),
    help=(
        "**Why:** the outside of a bend stretches; below about one thickness (softer steel: half) the outer "
        "fibres crack and the bend angle springs back unpredictably.\n\n"
        "**Fix:** make the inner bend radius at least the profile's minimum, preferably the punch radius "
        "your shop stocks."
    ),
    check=check,
)

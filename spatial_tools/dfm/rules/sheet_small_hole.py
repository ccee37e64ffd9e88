"""sheet.small_hole: a hole smaller than the sheet is thick.

The sheet thickness T comes from ``geometry.sheet`` (the offset that pairs
most of the part's area); the narrowest Ø of every recognised hole is
compared with ``warn_below_t`` × T. A punch narrower than the sheet is
thick buckles or breaks, and a laser leaves a tapered, dross-filled hole.
"""

from __future__ import annotations

from ...errors import NotApplicable
from ...geometry.hole_checks import drilled_bore, holes_of, settle
from ...geometry.sheet import cached_sheet
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    sheet = cached_sheet(ctx.target)
    if sheet is None:
        raise NotApplicable(f"{ctx.target.name} is not one constant-thickness sheet, so it has no thickness T")
    thickness = sheet.thickness
    factor = ctx.settings.number("warn_below_t")
    limit = factor * thickness
    findings = []
    for hole in holes_of(ctx.target):
        bore = drilled_bore(hole)
        if settle(bore.diameter) >= settle(limit):
            continue
        findings.append(
            ctx.finding(
                "warning",
                f"Hole Ø{bore.diameter:.4g} is smaller than {factor:g} × T = Ø{limit:.4g} "
                f"(sheet thickness T = {thickness:.4g} mm; Ø/T = {bore.diameter / thickness:.3g})",
                elements=bore.faces,
                location=hole["position"],
                measured=bore.diameter,
                limit=limit,
                unit="mm",
                suggestion=(
                    f"Enlarge it to at least Ø{limit:.4g}; if it must stay small, laser-cut it instead of punching, "
                    "or drill it after forming"
                ),
            )
        )
    return findings


RULE = Rule(
    id="sheet.small_hole",
    title="Hole smaller than the sheet thickness",
    description=(
        "Takes the sheet thickness T from the part and reports recognised holes whose diameter is below the "
        "profile's multiple of T."
    ),
    help=(
        "**Why:** a punch thinner than the sheet buckles or snaps, and a laser cut that small comes out tapered "
        "and full of dross.\n\n"
        '**Fix:** make the hole at least as wide as the sheet is thick. Limit: `[rules."sheet.small_hole"] '
        "warn_below_t` (multiples of T)."
    ),
    check=check,
)

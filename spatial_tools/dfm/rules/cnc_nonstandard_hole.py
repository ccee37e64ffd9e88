"""cnc.nonstandard_hole: a hole diameter that is not a standard drill size.

The drilled (narrowest) bore of every recognised hole is compared with the
drill table the profile names (``drill_table``, a file under resources/ or
an absolute path); a Ø further than ``tolerance`` from every listed drill is
reported with the nearest drills below and above. Holes wider than the
largest drill in the table are bored or milled, not drilled, and are not
judged here.
"""

from __future__ import annotations

import bisect

from ...geometry.hole_checks import drilled_bore, holes_of, settle
from ..finding import Finding
from ..profiles import drill_sizes
from . import Rule, RuleContext


def neighbours(sizes: tuple[float, ...], diameter: float) -> tuple[float | None, float | None]:
    """The standard sizes just below and just above ``diameter`` (None past the table's ends)."""
    i = bisect.bisect_left(sizes, diameter)
    return (sizes[i - 1] if i > 0 else None), (sizes[i] if i < len(sizes) else None)


def check(ctx: RuleContext) -> list[Finding]:
    table = ctx.settings["drill_table"]
    sizes = drill_sizes(table)
    tolerance = ctx.settings.number("tolerance")
    severity = ctx.settings.severity()
    findings = []
    for hole in holes_of(ctx.target):
        bore = drilled_bore(hole)
        d = settle(bore.diameter)
        if d > sizes[-1] + tolerance:
            continue  # bored or milled, not drilled
        nearest = min(sizes, key=lambda s: abs(s - d))
        if settle(abs(nearest - d)) <= tolerance:
            continue
        below, above = neighbours(sizes, d)
        choices = " or ".join(f"Ø{s:g}" for s in (below, above) if s is not None)
        findings.append(
            ctx.finding(
                severity,
                f"Hole Ø{d:.4g} is not a standard drill size (nearest in {table}: {choices}; "
                f"off by {abs(nearest - d):.3g} mm, tolerance {tolerance:g} mm)",
                elements=bore.faces,
                location=hole["position"],
                measured=d,
                limit=nearest,
                unit="mm",
                suggestion=(
                    f"Use a standard drill: Ø{nearest:g}. If the size is a fit, keep it and give its tolerance "
                    "(the shop drills undersize and reams or bores to it)"
                ),
            )
        )
    return findings


RULE = Rule(
    id="cnc.nonstandard_hole",
    title="Hole diameter is not a standard drill size",
    description=(
        "Compares the drilled diameter of every recognised hole with the profile's metric drill table and "
        "reports diameters no listed drill makes, with the nearest standard sizes."
    ),
    help=(
        "**Why:** a Ø between drill sizes needs a special drill, or an end mill interpolating the hole, which "
        "is slower and costs more.\n\n"
        "**Fix:** pick the nearest standard drill (tap drills and clearance holes are all standard), or if the Ø "
        'is a fit, tolerance it so the shop reams it. Table and tolerance: `[rules."cnc.nonstandard_hole"] '
        "drill_table / tolerance`."
    ),
    check=check,
)

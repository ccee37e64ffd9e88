"""cnc.nonstandard_hole: a hole diameter no standard drill, clearance hole or tap drill makes.

The drilled (narrowest) bore of every recognised hole is matched against the
standard sizes of the part's unit system (``hole_sizes``): for metric parts
the profile's drill table (``drill_table``), ISO 273 clearance holes and ISO
metric tap drills; for inch parts the inch number, letter and fractional
drills and UNC/UNF tap drills. A drill matches within ``tolerance`` (mm) or
``tolerance_inch`` (in); a clearance hole within its ISO 273 tolerance class.
A Ø off every standard is reported with the nearest drills below and above.

The unit system (``units``): ``metric``, ``inch``, ``file`` (the length unit
the STEP file was modelled in, metric when unknown) or ``auto`` (``file``;
and a file in mm whose holes match inch sizes and not metric ones, by count,
is an inch part exported in mm). Tapped holes (a modelled thread) are judged
by cnc.tapped_hole, and holes wider than the largest drill are bored or
milled: neither is judged here.
"""

from __future__ import annotations

from ...geometry.hole_checks import drilled_bore, holes_of, settle
from ...step_units import document_unit
from ..finding import Finding
from ..hole_sizes import INCH, largest_drill, match, neighbours, standards
from . import Rule, RuleContext


def _tables(ctx: RuleContext) -> dict[str, tuple]:
    table = ctx.settings["drill_table"]
    tol_mm = ctx.settings.number("tolerance")
    tol_in = ctx.settings.number("tolerance_inch")
    return {system: standards(system, table, tol_mm, tol_in) for system in ("metric", "inch")}


def unit_system(ctx: RuleContext, diameters: list[float], tables: dict[str, tuple]) -> tuple[str, str]:
    """'metric' or 'inch' for this part, and why."""
    mode = str(ctx.settings.get("units", "auto"))
    if mode in ("metric", "inch"):
        return mode, f"profile units = {mode}"
    unit = document_unit(ctx.document)
    if unit in ("inch", "ft"):
        return "inch", f"the file is in {unit}"
    if mode == "file":
        return "metric", f"the file is in {unit or 'mm'}"
    inch_only = {round(d, 4) for d in diameters if match(d, tables["inch"]) and not match(d, tables["metric"])}
    metric_only = {round(d, 4) for d in diameters if match(d, tables["metric"]) and not match(d, tables["inch"])}
    if len(inch_only) >= int(ctx.settings.number("auto_inch_min_sizes")) and len(inch_only) > len(metric_only):
        return "inch", f"{len(inch_only)} hole sizes match inch drills and no metric standard"
    return "metric", f"the file is in {unit or 'mm'}"


def _fmt(d_mm: float, system: str) -> str:
    return f"Ø{d_mm / INCH:.4f} in (Ø{d_mm:.4g} mm)" if system == "inch" else f"Ø{d_mm:.4g}"


def check(ctx: RuleContext) -> list[Finding]:
    tables = _tables(ctx)
    severity = ctx.settings.severity()
    holes = [h for h in holes_of(ctx.target) if not h.get("thread")]
    bores = [(hole, drilled_bore(hole)) for hole in holes]
    system, why = unit_system(ctx, [settle(b.diameter) for _h, b in bores], tables)
    table = tables[system]
    tolerance = ctx.settings.number("tolerance_inch" if system == "inch" else "tolerance")
    unit = "in" if system == "inch" else "mm"
    findings = []
    for hole, bore in bores:
        d = settle(bore.diameter)
        if d > largest_drill(table) + tolerance * (INCH if system == "inch" else 1.0):
            continue  # bored or milled, not drilled
        if match(d, table) is not None:
            continue
        below, above = neighbours(d, table)
        nearest = min((s for s in (below, above) if s is not None), key=lambda s: abs(s.nominal - d))
        choices = " or ".join(s.name for s in (below, above) if s is not None)
        scale = INCH if system == "inch" else 1.0
        findings.append(
            ctx.finding(
                severity,
                f"Hole {_fmt(d, system)} is not a standard {system} drill, clearance or tap-drill size "
                f"(nearest drills: {choices}; off by {abs(nearest.nominal - d) / scale:.3g} {unit}, "
                f"tolerance {tolerance:g} {unit}; {system} because {why})",
                elements=bore.faces,
                location=hole["position"],
                measured=round(d / scale, 6),
                limit=round(nearest.nominal / scale, 6),
                unit=unit,
                facts={"length_unit": f" {unit}"},
                suggestion=(
                    f"Use a standard drill: {nearest.name}. If the size is a fit, keep it and give its tolerance "
                    "(the shop drills undersize and reams or bores to it)"
                ),
            )
        )
    return findings


RULE = Rule(
    id="cnc.nonstandard_hole",
    title="Hole diameter is not a standard drill size",
    description=(
        "Matches the drilled diameter of every recognised hole with standard drills, ISO 273 clearance holes and "
        "tap drills (inch tables for inch parts) and reports diameters no standard makes, with the nearest drills."
    ),
    help=(
        "**Why:** a Ø between drill sizes needs a special drill, or an end mill interpolating the hole, which "
        "is slower and costs more.\n\n"
        "**Fix:** pick the nearest standard drill (tap drills and clearance holes are all standard), or if the Ø "
        'is a fit, tolerance it so the shop reams it. Tables and tolerances: `[rules."cnc.nonstandard_hole"] '
        "drill_table / tolerance / tolerance_inch / units`, resources/hole_sizes/."
    ),
    check=check,
)

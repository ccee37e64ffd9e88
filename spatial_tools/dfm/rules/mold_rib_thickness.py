"""mold.rib_thickness: a rib too thick or too tall for the wall it stands on.

A rib (walls.py ``ribs``: a planar wall whose two faces stand on one plane
and meet at a free edge) is compared with the nominal wall under it (the
wall of its base face measured along the rib): thickness over wall must lie
in the profile's band and height over wall must not exceed its limit.
"""

from __future__ import annotations

from ...geometry.walls import ribs, supporting_wall
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    settings = ctx.settings
    low, high = settings.get("warn_below"), settings.get("warn_above")
    for rib in ribs(ctx.target):
        base = supporting_wall(ctx.target, rib)
        if base is None:
            ctx.notes.append(f"rib {' and '.join(rib.wall.elements)} stands on no measurable wall")
            continue
        wall = base.thickness
        names = " and ".join(rib.wall.elements)
        ratio = rib.wall.thickness / wall
        band = f"{low:g}-{high:g}" if low is not None and high is not None else "the profile's band"
        for direction in ("above", "below"):
            graded = settings.grade(ratio, direction)
            if graded is None:
                continue
            severity, limit = graded
            if direction == "above":
                why = "sinks show on the far face"
                fix = f"Thin the rib to {limit * wall:.3g} mm or less at its root"
            else:
                why = "it fills poorly and adds little stiffness"
                fix = f"Thicken the rib to at least {limit * wall:.3g} mm at its root"
            findings.append(
                ctx.finding(
                    severity,
                    f"Rib between {names} is {rib.wall.thickness:.4g} mm thick on a {wall:.4g} mm wall "
                    f"({ratio:.3g}× the wall, outside {band}×); {why}",
                    elements=rib.wall.elements,
                    location=rib.wall.location,
                    measured=ratio,
                    limit=limit,
                    unit="ratio",
                    facts={"what": f"{rib.wall.thickness:.3g} mm thick", "wall": wall},
                    suggestion=f"{fix}; for more stiffness use two thinner ribs rather than one thick one",
                    related=[f"{ctx.target.name}.{n}" for n in base.elements],
                )
            )
        tall = rib.height / wall
        graded = settings.grade(tall, "above", prefix="height_")
        if graded is not None:
            severity, limit = graded
            findings.append(
                ctx.finding(
                    severity,
                    f"Rib between {names} is {rib.height:.4g} mm tall on a {wall:.4g} mm wall "
                    f"({tall:.3g}× the wall, above {limit:g}×); it is hard to fill and eject",
                    elements=rib.wall.elements,
                    location=rib.wall.location,
                    measured=tall,
                    limit=limit,
                    unit="ratio",
                    facts={"what": f"{rib.height:.3g} mm tall", "wall": wall},
                    suggestion=(
                        f"Lower the rib to {limit * wall:.3g} mm or less and use two shorter ribs if the "
                        "stiffness is needed"
                    ),
                    related=[f"{ctx.target.name}.{n}" for n in base.elements],
                )
            )
    return findings


RULE = Rule(
    id="mold.rib_thickness",
    title="Rib too thick or too tall for the wall",
    description=(
        "Finds ribs (a thin wall whose two faces stand on one plane and meet at a free edge), measures the "
        "nominal wall they stand on, and grades rib thickness / wall against the profile's band and rib height "
        "/ wall against its height limit."
    ),
    help=(
        "**Why:** a rib thicker than about 60 % of the wall leaves a mass of plastic at its root that sinks on "
        "the visible face; a rib thinner than about 40 % fills poorly; a rib taller than about three walls is hard "
        "to fill and vent and sticks in the mold.\n\n"
        "**Fix:** keep ribs 40-60 % of the wall and no taller than three walls; use several thin ribs instead of "
        "one thick or tall one. Limits: `[rules.\"mold.rib_thickness\"] warn_below / warn_above` (rib/wall) and "
        "`height_warn_above` (height/wall)."
    ),
    check=check,
    thing="wall",
)

"""cnc.thin_wall: a wall too thin to machine.

Every wall of the part (walls.py: two opposite faces and the clear chord of
material between them; pocket sides, fins, floors, tube walls, the web
beside a hole, pins) is graded by its thinnest chord against the profile's
limits, which depend on the material group (metals are stiffer than
plastics, so they can be cut thinner).
"""

from __future__ import annotations

from ...geometry.walls import FLOOR, PIN, WEB
from ..finding import Finding, Severity
from ..wall_grading import wall_findings
from . import Rule, RuleContext


def _suggestion(kind: str, severity: Severity, warn: float | None) -> str:
    target = f" to at least {warn:g} mm" if warn is not None else ""
    if kind == WEB:
        return f"Move the hole away from the face or reduce its Ø so the web grows{target}; a drill pushes a thin web out"
    if kind == FLOOR:
        return (
            f"Thicken the floor{target}, or machine it before the pocket around it is cleared and support it from "
            "below; a thin floor chatters under the end mill and the drill breaks through it"
        )
    if kind == PIN:
        return f"Make the pin thicker{target}, or turn it or fit a dowel instead of milling it"
    if severity is Severity.ERROR:
        return (
            f"Thicken the wall{target}: this thin it deflects and chatters under the cutter and the finished size "
            "cannot be held"
        )
    return (
        f"Thicken the wall{target}, or finish it last in light step-downs from both sides alternately so the "
        "uncut stock below supports each pass"
    )


def check(ctx: RuleContext) -> list[Finding]:
    warn = ctx.settings.get("warn_below")
    material = ctx.profile.material
    return wall_findings(
        ctx,
        "below",
        lambda wall, severity, limit: f"below {limit:g} mm {material} walls deflect and chatter when machined",
        lambda wall, severity, limit: _suggestion(wall.kind, severity, float(warn) if warn is not None else None),
    )


RULE = Rule(
    id="cnc.thin_wall",
    title="Wall too thin to machine",
    description=(
        "Finds every wall of the part: two opposite faces (parallel planes, or cylinders with parallel axes) "
        "with a straight chord of material between them along both normals that no other face crosses, taken "
        "only where it is the short way through. The thinnest chord of each wall is graded against the "
        "profile's limits for the material's group (metal or plastic)."
    ),
    help=(
        "**Why:** a thin wall is pushed away by the cutter, vibrates and springs back, so it chatters, tears and "
        "ends up out of size; plastics need thicker walls than metals because they are less stiff and soften "
        "with the heat of cutting.\n\n"
        "**Fix:** thicken the wall, move a hole away from the edge, or keep the wall supported while it is cut "
        "(finish it last, in light alternating step-downs from both sides). Limits: "
        '`[rules."cnc.thin_wall"] warn_below / error_below` (mm), per material group in `by_group`.'
    ),
    check=check,
    thing="wall",
)

"""The one loop of the wall-thickness rules: grade each wall of the part, report the ones past the limit.

cnc.thin_wall, mold.min_wall, mold.max_wall and am.thin_wall differ only in
which chord they grade (thinnest or thickest), which walls they skip and what
they tell the user; the measuring is walls.py's and the grading the profile's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ..geometry.walls import wall_map
from .finding import Finding, Severity

# (wall, severity, limit) -> text
Text = Callable[[Any, Severity, float], str]


def wall_findings(
    ctx: Any,
    direction: Literal["below", "above"],
    problem: Text,
    suggestion: Text,
    skip: Callable[[Any], bool] = lambda wall: False,
) -> list[Finding]:
    """Findings for every wall whose thinnest (``below``) or thickest (``above``) chord passes the
    profile's limit; ``problem`` is the message after "<Wall> between Face1 and Face2 is N mm thick; "."""
    findings = []
    for wall in wall_map(ctx.target).walls:
        if skip(wall):
            continue
        measured = wall.thickness if direction == "below" else wall.thickest
        graded = ctx.settings.grade(measured, direction)
        if graded is None:
            continue
        severity, limit = graded
        names = " and ".join(wall.elements)
        findings.append(
            ctx.finding(
                severity,
                f"{wall.noun.capitalize()} between {names} is {measured:.4g} mm thick; {problem(wall, severity, limit)}",
                elements=wall.elements,
                location=wall.location,
                measured=measured,
                limit=limit,
                unit="mm",
                suggestion=suggestion(wall, severity, limit),
            )
        )
    return findings

"""mold.draft: walls along the pull with too little draft to release from the mold.

The draft of a face at a point is the angle between the face and the pull
direction: 90° minus the angle between its outward normal and the pull, in
either sense (the half that forms it does not matter). Each face is judged by
its least draft over the UV samples of ``geometry.visibility.face_samples``,
so a cone drafted 2° measures 2.0 exactly and a plane its one angle.

Scope: only faces that come within the limit of parallel to the pull can
fail; faces mold.undercut finds locked from both halves are left out, since
they are formed by a side action whose own direction their draft is judged
against, not the pull's.
"""

from __future__ import annotations

import math

from ...geometry.visibility import direction_name, samples_of, visibility_of
from ..finding import Finding, Severity
from . import Rule, RuleContext
from .mold_undercut import pull_directions


def draft_deg(normal, pull: tuple[float, float, float]) -> float:
    """Angle between a face with outward ``normal`` and the pull, 0-90°."""
    cosine = abs(normal.x * pull[0] + normal.y * pull[1] + normal.z * pull[2])
    return math.degrees(math.asin(min(1.0, cosine)))


def check(ctx: RuleContext) -> list[Finding]:
    assert ctx.target is not None
    pull, back = pull_directions(ctx)
    samples = samples_of(ctx.target)
    warn = ctx.settings.get("warn_below")
    floor = max(float(v) for k, v in ctx.settings.values.items() if k in ("warn_below", "error_below"))
    candidates = []
    for index, points in enumerate(samples):
        if not points:
            continue
        least = min(points, key=lambda s: draft_deg(s.normal, pull))
        angle = draft_deg(least.normal, pull)
        if angle < floor:
            candidates.append((index, least, angle))
    if not candidates:
        return []
    undercuts = {face.index for face in visibility_of(ctx.target).hidden_faces((pull, back))}
    findings = []
    for index, least, angle in candidates:
        if index in undercuts:
            continue
        graded = ctx.settings.grade(angle, "below")
        if graded is None:
            continue
        severity, limit = graded
        name = f"Face{index + 1}"
        risk = "it will drag, scuff and may stick on ejection" if severity is Severity.ERROR else "it scuffs on ejection"
        findings.append(
            ctx.finding(
                severity,
                f"{name} has {angle:.2f}° of draft against the pull {direction_name(pull)} (least over the face); "
                f"below {limit:g}° {risk}",
                elements=[name],
                location=least.point,
                measured=angle,
                limit=limit,
                unit="deg",
                suggestion=(
                    f"Draft the wall by at least {float(warn) if warn is not None else limit:g}° (1–2° is usual; about "
                    "1° more per 0.025 mm of texture depth), tapering away from the parting line"
                ),
            )
        )
    return findings


RULE = Rule(
    id="mold.draft",
    title="Walls parallel to the pull have too little draft",
    description=(
        "Measures every face's draft (the angle between the face and the pull direction) at the points of a "
        "small UV grid and grades the least one against the profile's limits. Only faces that come within "
        "the limit of parallel to the pull can fail; faces that are undercuts (locked from both mold halves) "
        "are left to mold.undercut, since a side action forms them."
    ),
    help=(
        "**Why:** a wall parallel to the opening direction rubs along the steel the whole way out: the part "
        "sticks, scuffs, or is pulled out of shape by the ejector pins; shrinkage onto cores makes it worse.\n\n"
        "**Fix:** taper such walls away from the parting line: 0.5° is the least that works, 1–2° is "
        "usual, more for deep walls and textured faces. Limits: "
        '`[rules."mold.draft"] error_below / warn_below` (degrees); the pull direction is `pull_direction`.'
    ),
    check=check,
)

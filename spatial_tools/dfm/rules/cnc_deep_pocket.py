"""cnc.deep_pocket: a pocket or slot too deep for its width.

Pockets and slots come from feature recognition (features.py, depressions.py)
with their depth along the feed axis and the narrowest width of the smallest
rectangle around their profile. The cutter must fit the width and reach the
depth, so depth / width is how slender the tool has to be.
"""

from __future__ import annotations

from ...geometry.hole_checks import cached_features
from ..finding import Finding
from . import Rule, RuleContext

RATIO_DIGITS = 9  # kernel noise: 0.4999999999 is the 0.5 it was modelled as

KINDS = ("pocket", "slot")
MIN_WIDTH = 1e-6  # mm: a profile narrower than this is degenerate, not a pocket


def check(ctx: RuleContext) -> list[Finding]:
    findings = []
    for feature in cached_features(ctx.target):
        if feature["kind"] not in KINDS:
            continue
        depth, width = feature.get("depth"), feature.get("width")
        if depth is None or width is None or width <= MIN_WIDTH:
            continue
        ratio = round(depth / width, RATIO_DIGITS)
        graded = ctx.settings.grade(ratio, "above")
        if graded is None:
            continue
        severity, limit = graded
        kind = feature["kind"]
        through = f" (a through {kind})" if feature.get("through") else ""
        findings.append(
            ctx.finding(
                severity,
                f"{feature['id'].capitalize()}{through} is {depth:.3g} mm deep and {width:.3g} mm wide: "
                f"depth/width {ratio:.3g} > {limit:.3g}",
                elements=list(feature["faces"])[:50],
                location=feature.get("position"),
                measured=ratio,
                limit=limit,
                unit="ratio",
                facts={"depth": depth, "width": width, "feature": feature["kind"]},
                suggestion=(
                    f"Widen the {kind} to ≥ {depth / limit:.3g} mm or make it ≤ {width * limit:.3g} mm deep; "
                    "a cutter narrower than the width reaching that deep deflects and chatters (long-reach tools "
                    "cost time and finish). If the depth is needed, open it from the other side (a through feature can be "
                    "cut from both ends) or split the part"
                ),
            )
        )
    return findings


RULE = Rule(
    id="cnc.deep_pocket",
    title="Pocket or slot too deep for its width",
    description=(
        "For every recognised pocket and slot, divides its depth along the feed axis by its narrowest "
        "width (the smallest rectangle around its profile). Above the profile's limit the cutter that fits "
        "the width is too slender for the depth."
    ),
    help=(
        "**Why:** the cutter has to fit the pocket's width and reach its floor; standard end mills cut "
        "cleanly to about 3-4 × their diameter.\n\n"
        "**Fix:** widen the pocket or slot, make it shallower, or reach it from both sides."
    ),
    check=check,
)

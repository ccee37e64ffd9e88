"""cnc.partial_hole: a hole whose cylinder is cut open, so the drill breaks out of the part.

For every recognised hole, each bore's angular span about the hole axis
(the share of the circle the cylinder faces keep, split faces counted once)
is graded as a percentage of 360°. A drill that cuts on one side only is
pushed sideways and the hole wanders.
"""

from __future__ import annotations

from ...geometry.hole_checks import bore_spans, face_of, holes_of, settle
from ...geometry.query import point_inside
from ..finding import Finding
from . import Rule, RuleContext


def check(ctx: RuleContext) -> list[Finding]:
    faces = ctx.target.shape.Faces
    findings = []
    for hole in holes_of(ctx.target):
        if not hole["partial"]:
            continue  # the recogniser found every bore whole
        worst = min(bore_spans(faces, hole), key=lambda b: b.span_deg)
        percent = settle(100.0 * worst.span_deg / 360.0)
        graded = ctx.settings.grade(percent, "below")
        if graded is None:
            continue
        severity, limit = graded
        wall = max((face_of(faces, n) for n in worst.faces), key=lambda f: f.Area)
        findings.append(
            ctx.finding(
                severity,
                f"Hole Ø{worst.diameter:.4g} keeps only {percent:.3g}% of its circle ({worst.span_deg:.4g}° of 360°), "
                f"below {limit:g}%: the drill breaks out of the part and is pushed sideways",
                elements=worst.faces,
                location=point_inside(wall)[0],
                measured=percent,
                limit=limit,
                facts={"diameter": worst.diameter},
                unit="%",
                suggestion=(
                    f"Move the hole in so at least {limit:g}% of its wall stays in material, or mill the shape "
                    "with an end mill instead of drilling it; if it must break out, drill it before the edge "
                    "that opens it is machined away"
                ),
            )
        )
    return findings


RULE = Rule(
    id="cnc.partial_hole",
    title="Hole breaks out of the part",
    description=(
        "Measures the angular span of each recognised hole's cylinder about its axis (faces split along the "
        "length counted once) and reports bores that keep less of their circle than the profile's limit."
    ),
    help=(
        "**Why:** a drill cutting on one side only is deflected toward the open side: the hole wanders, is "
        "oversize and the drill may break.\n\n"
        "**Fix:** keep the hole inside the material, mill the half-round with an end mill, or drill before "
        'machining away the edge that opens it. Limit: `[rules."cnc.partial_hole"] warn_below` (% of 360°). '
        "Cylinders keeping less than half their circle are read as blends, not holes, and are not judged here."
    ),
    check=check,
)

"""mold.sharp_internal_corner: an inside corner whose radius is small for the wall it joins.

Every concave corner of the part (corners.py: sharp concave edges and
concave fillet faces) is compared with the wall it joins: the thinner of the
nominal walls (walls.py: two opposite faces and the clear chord between
them) behind its faces. Sharp inside corners concentrate stress and stop the
melt flow; molders ask for R >= about half the wall. A sharp corner is
reported even where no wall could be read behind its faces (R 0 is below
any fraction of a wall); a fillet is only judged against a measured wall.
"""

from __future__ import annotations

from typing import Any

from ...geometry.corners import Corner, cached_corners, off_threads, real_corners
from ...geometry.threads import thread_faces
from ...geometry.walls import NOMINAL, wall_map
from ..finding import Finding
from . import Rule, RuleContext

RATIO_DIGITS = 9  # kernel noise: 0.4999999999 is the 0.5 it was modelled as


def _corner_wall(target: Any, corner: Corner) -> float | None:
    """The thinnest nominal wall (else any wall) behind the faces the corner joins."""
    walls = wall_map(target)
    found = [w for i in corner.faces for w in walls.of_face(i)]
    nominal = [w.thickness for w in found if w.kind in NOMINAL and w.thickness > 0]
    values = nominal or [w.thickness for w in found if w.thickness > 0]
    return min(values) if values else None


def check(ctx: RuleContext) -> list[Finding]:
    target = ctx.target
    _, _, corners = cached_corners(target)
    corners = off_threads(real_corners(corners, ctx.settings.number("min_turn_deg")), thread_faces(target.shape))
    findings = []
    for corner in corners:
        wall = _corner_wall(target, corner)
        if wall is None and not corner.sharp:
            continue
        ratio = round(corner.radius / wall, RATIO_DIGITS) if wall is not None else 0.0
        graded = ctx.settings.grade(ratio, "below")
        if graded is None:
            continue
        severity, limit = graded
        faces = " and ".join(f"Face{i + 1}" for i in corner.faces) or "its neighbours"
        if corner.sharp:
            what = f"Inside corner between {faces} is sharp (R 0)"
            elements = [f"Edge{k + 1}" for k in corner.edges]
        else:
            what = f"Inside fillet Face{corner.blend + 1} has R {corner.radius:.3g} mm"
            elements = [f"Face{corner.blend + 1}"]
        if wall is None:
            measure = f"; want R ≥ {limit:.3g} × the wall it joins (no wall could be measured behind it)"
            size = f"{limit:.3g} × the wall thickness"
            outside = "R + wall"
        else:
            measure = f" on a {wall:.3g} mm wall: R/wall {ratio:.3g} < {limit:.3g} (want R ≥ {limit * wall:.3g} mm)"
            size = f"{limit * wall:.2g} mm ({limit:.3g} × wall)"
            outside = f"R + wall ≈ {limit * wall + wall:.2g} mm"
        findings.append(
            ctx.finding(
                severity,
                f"{what}{measure}",
                elements=elements,
                location=corner.location,
                # In mm where the wall is known (the radius and the one asked for), else the R/wall ratio.
                measured=corner.radius if wall is not None else ratio,
                limit=round(limit * wall, RATIO_DIGITS) if wall is not None else limit,
                unit="mm" if wall is not None else "ratio",
                facts={"wall": wall, "radius": corner.radius},
                suggestion=(
                    f"Round the inside corner to R ≥ {size} and the matching outside corner to {outside}, so the "
                    "wall stays uniform: the melt flows "
                    "round it, and the corner neither concentrates stress nor sinks"
                ),
                related=[f"{target.name}.Face{i + 1}" for i in corner.faces],
            )
        )
    return findings


RULE = Rule(
    id="mold.sharp_internal_corner",
    title="Concave edge without a radius",
    description=(
        "Finds every inside corner of the part (sharp concave edges and concave fillets, from the face "
        "adjacency graph) and divides its radius by the thinnest nominal wall behind the faces it joins "
        "(pairs of opposite faces with a clear chord between them). Below the profile's ratio the corner is "
        "too sharp; a sharp corner (R 0) always is."
    ),
    help=(
        "**Why:** sharp inside corners concentrate stress (cracks at the corner), disturb the flow of the "
        "melt and cool unevenly.\n\n"
        "**Fix:** give inside corners a radius of at least `warn_below` × wall (0.5 T by default) and the "
        "outside corners that radius plus the wall, so the wall thickness stays constant round the corner."
    ),
    check=check,
    thing="region",
)

"""am.overhang: a downward face steeper than an FDM printer can lay down unsupported.

At each UV sample of a face (``geometry.visibility.face_samples``) whose
outward normal points down against the build direction, the overhang angle
is how far the face leans from vertical: asin(-n·build), 0° for a wall, 90°
for a ceiling. A face is judged by its steepest sample. Faces that rest on
the build plate (planes facing straight down at the part's lowest level) are
supported by it and exempt.
"""

from __future__ import annotations

import math

from ...geometry.query import SurfaceType, surface_info
from ...geometry.thickness import tolerance_of
from ...geometry.visibility import direction_name, samples_of
from ..finding import Finding
from . import Rule, RuleContext

FLAT_DOWN_COS = 1.0 - 1e-9  # a normal this close to -build faces straight down


def _height(point, build: tuple[float, float, float]) -> float:
    return point.x * build[0] + point.y * build[1] + point.z * build[2]


def check(ctx: RuleContext) -> list[Finding]:
    assert ctx.target is not None
    build = tuple(float(c) for c in ctx.profile.build_direction)
    shape = ctx.target.shape
    samples = samples_of(ctx.target)
    heights = [_height(v.Point, build) for v in shape.Vertexes]
    heights += [_height(s.point, build) for points in samples for s in points]
    if not heights:
        return []
    plate = min(heights)
    tol = tolerance_of(shape)
    findings = []
    for index, points in enumerate(samples):
        down = [(s, math.degrees(math.asin(min(1.0, -_height(s.normal, build))))) for s in points if _height(s.normal, build) < 0]
        if not down:
            continue
        face = shape.Faces[index]
        on_plate = (
            surface_info(face).type is SurfaceType.PLANE
            and all(-_height(s.normal, build) >= FLAT_DOWN_COS for s in points)
            and all(_height(s.point, build) <= plate + tol for s in points)
        )
        if on_plate:
            continue
        worst, angle = max(down, key=lambda item: item[1])
        graded = ctx.settings.grade(angle, "above")
        if graded is None:
            continue
        severity, limit = graded
        name = f"Face{index + 1}"
        findings.append(
            ctx.finding(
                severity,
                f"{name} overhangs {angle:.1f}° from vertical (build direction {direction_name(build)}); beyond "
                f"{limit:g}° the printed layers have nothing below them and sag",
                elements=[name],
                location=worst.point,
                measured=angle,
                limit=limit,
                unit="deg",
                suggestion=(
                    f"Chamfer or slope the underside to at most {limit:g}° from vertical (a teardrop top for "
                    "horizontal holes), add support, or reorient the part so this face sits on the build plate"
                ),
            )
        )
    return findings


RULE = Rule(
    id="am.overhang",
    title="Downward face steeper than the printer can bridge",
    description=(
        "For every face, takes the outward normals at the points of a small UV grid; where one points down "
        "against the build direction, the overhang angle from vertical is asin(-n·build). The steepest "
        "sample of each face is graded against the profile's limit. Planes facing straight down at the "
        "part's lowest level rest on the build plate and are exempt."
    ),
    help=(
        "**Why:** each FDM layer must sit mostly on the one below; past about 45° from vertical the "
        "extruded bead hangs in air, droops and curls, and flat ceilings need support that leaves scars.\n\n"
        "**Fix:** slope undersides to 45° or steeper (chamfers instead of flat ledges, teardrop holes), "
        "reorient the part, or accept support there. Limit: "
        '`[rules."am.overhang"] warn_above` (degrees); the build direction is `build_direction`.'
    ),
    check=check,
)

"""Reads a datum target symbol's drawing: a plain target, or a movable one and where it points.

AP242 files made by CAD systems that know no semantic way to say a datum
target is movable (the CAx-IF practice's ``DIRECTION('movable direction')``)
still draw it: ASME Y14.5's movable target symbol is the target circle with
two straight lines tangent to it, meeting in a point (the apex) outside it.
``read_symbol`` fits the circle in the target's presentation polylines and
looks for that pair of tangents; the apex gives the direction the symbol
points. Limits live in ``resources/pmi_target_symbol.toml``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ... import RESOURCES

LIMITS_FILE = RESOURCES / "pmi_target_symbol.toml"

Vec = tuple[float, float, float]


@lru_cache(maxsize=1)
def limits() -> dict[str, float]:
    """The recognition limits (fractions of the circle's radius), from the resource file."""
    with open(LIMITS_FILE, "rb") as handle:
        return {k: float(v) for k, v in tomllib.load(handle).items()}


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _mul(a: Vec, s: float) -> Vec:
    return (a[0] * s, a[1] * s, a[2] * s)


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a: Vec) -> float:
    return math.sqrt(_dot(a, a))


def _unit(a: Vec) -> Vec | None:
    n = _norm(a)
    return _mul(a, 1.0 / n) if n > 1e-12 else None


@dataclass(frozen=True)
class Circle:
    """A circle fitted to drawn points: centre, plane normal, radius and RMS radial error."""

    centre: Vec
    normal: Vec
    radius: float
    rms: float


def _plane(points: list[Vec]) -> tuple[Vec, Vec, Vec, Vec] | None:
    """Centroid and an orthonormal frame (u, v, normal) of roughly planar points (Newell's normal)."""
    n = len(points)
    centroid = _mul(tuple(map(sum, zip(*points, strict=True))), 1.0 / n)  # type: ignore[arg-type]
    normal = (0.0, 0.0, 0.0)
    for i in range(n):
        a, b = _sub(points[i], centroid), _sub(points[(i + 1) % n], centroid)
        normal = _add(normal, _cross(a, b))
    w = _unit(normal)
    if w is None:
        return None
    seed = (1.0, 0.0, 0.0) if abs(w[0]) < 0.9 else (0.0, 1.0, 0.0)
    u = _unit(_cross(w, seed))
    if u is None:
        return None
    return centroid, u, _cross(w, u), w


def fit_circle(points: list[Vec]) -> Circle | None:
    """Least-squares circle (Kåsa) through points drawn in one plane; None when they are not a circle at all."""
    if len(points) < 3:
        return None
    frame = _plane(points)
    if frame is None:
        return None
    origin, u, v, w = frame
    xy = [(_dot(_sub(p, origin), u), _dot(_sub(p, origin), v)) for p in points]
    # x^2 + y^2 = 2a x + 2b y + c, solved by the normal equations (3 x 3, Cramer's rule).
    sxx = sum(x * x for x, _ in xy)
    syy = sum(y * y for _, y in xy)
    sxy = sum(x * y for x, y in xy)
    sx = sum(x for x, _ in xy)
    sy = sum(y for _, y in xy)
    n = float(len(xy))
    rhs = [sum((x * x + y * y) * x for x, y in xy), sum((x * x + y * y) * y for x, y in xy), sum(x * x + y * y for x, y in xy)]
    m = [[2 * sxx, 2 * sxy, sx], [2 * sxy, 2 * syy, sy], [2 * sx, 2 * sy, n]]

    def det(a: list[list[float]]) -> float:
        return (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]))

    d = det(m)
    if abs(d) < 1e-18:
        return None
    sol = []
    for col in range(3):
        mc = [row[:] for row in m]
        for r in range(3):
            mc[r][col] = rhs[r]
        sol.append(det(mc) / d)
    a, b, c = sol
    r2 = c + a * a + b * b
    if r2 <= 0:
        return None
    radius = math.sqrt(r2)
    rms = math.sqrt(sum((math.hypot(x - a, y - b) - radius) ** 2 for x, y in xy) / n)
    centre = _add(origin, _add(_mul(u, a), _mul(v, b)))
    return Circle(centre, w, radius, rms)


def _straight_pieces(polyline: list[Vec], angle_deg: float) -> list[tuple[Vec, Vec]]:
    """The polyline's segments, consecutive collinear ones merged into one line."""
    pieces: list[tuple[Vec, Vec]] = []
    cos_limit = math.cos(math.radians(angle_deg))
    for a, b in zip(polyline, polyline[1:], strict=False):
        if _norm(_sub(b, a)) < 1e-12:
            continue
        if pieces:
            start, end = pieces[-1]
            d1, d2 = _unit(_sub(end, start)), _unit(_sub(b, a))
            if end == a and d1 is not None and d2 is not None and _dot(d1, d2) >= cos_limit:
                pieces[-1] = (start, b)
                continue
        pieces.append((a, b))
    return pieces


def _curve_runs(polyline: list[Vec], factor: float) -> list[list[Vec]]:
    """Runs of short segments: the polyline split wherever a segment is much longer than the median one."""
    lengths = [_norm(_sub(b, a)) for a, b in zip(polyline, polyline[1:], strict=False)]
    if not lengths:
        return []
    median = sorted(lengths)[len(lengths) // 2]
    runs: list[list[Vec]] = [[polyline[0]]]
    for point, length in zip(polyline[1:], lengths, strict=True):
        if length > factor * median:
            runs.append([point])
        else:
            runs[-1].append(point)
    return runs


def circles(polylines: list[list[Vec]], lim: dict[str, float] | None = None) -> list[Circle]:
    """Every circle drawn in the polylines (full circles or arcs), largest first."""
    lim = lim or limits()
    found = []
    for polyline in polylines:
        for run in _curve_runs(polyline, lim["run_break_factor"]):
            if len(run) > 1 and run[0] == run[-1]:
                run = run[:-1]  # a closed circle repeats its first point
            if len(run) < lim["circle_min_points"]:
                continue
            circle = fit_circle(run)
            if circle is not None and circle.rms <= lim["circle_max_rms"] * circle.radius:
                found.append(circle)
    return sorted(found, key=lambda c: -c.radius)


def _tangent_foot(circle: Circle, a: Vec, b: Vec, lim: dict[str, float]) -> Vec | None:
    """Where the line a-b touches the circle, when it is one of its tangents (None otherwise)."""
    r = circle.radius
    if any(abs(_dot(_sub(p, circle.centre), circle.normal)) > lim["plane_tolerance"] * r for p in (a, b)):
        return None
    ab = _sub(b, a)
    length = _norm(ab)
    if length < lim["tangent_min_length"] * r:
        return None
    t = _dot(_sub(circle.centre, a), ab) / (length * length)
    foot = _add(a, _mul(ab, t))
    if abs(_norm(_sub(foot, circle.centre)) - r) > lim["tangent_tolerance"] * r:
        return None
    slack = lim["tangent_tolerance"] * r / length
    return foot if -slack <= t <= 1 + slack else None


def read_symbol(polylines: list[list[Vec]], lim: dict[str, float] | None = None) -> dict[str, Any]:
    """What a datum target's drawing says: ``symbol`` is 'movable', 'plain' (a circle, no tangents) or 'none'.

    A movable symbol gives ``direction``: the unit vector from the circle's
    centre to the apex, the way the symbol points (in the file's coordinates).
    """
    lim = lim or limits()
    polylines = [[tuple(map(float, p)) for p in line] for line in polylines if len(line) >= 2]  # type: ignore[misc]
    found = circles(polylines, lim)  # type: ignore[arg-type]
    if not found:
        return {"symbol": "none", "direction": None, "radius": None}
    pieces = [piece for line in polylines for piece in _straight_pieces(line, lim["straight_angle_deg"])]  # type: ignore[arg-type]
    for circle in found:
        r = circle.radius
        tangents = []
        for a, b in pieces:
            foot = _tangent_foot(circle, a, b, lim)
            if foot is not None:
                tangents.append((a, b, foot))
        for i, (a1, b1, f1) in enumerate(tangents):
            for a2, b2, f2 in tangents[i + 1:]:
                for p in (a1, b1):
                    for q in (a2, b2):
                        if _norm(_sub(p, q)) > lim["apex_join_tolerance"] * r:
                            continue
                        apex = _mul(_add(p, q), 0.5)
                        out = _sub(apex, circle.centre)
                        if _norm(out) < (1 + lim["apex_min_beyond"]) * r:
                            continue
                        # the two tangents from one apex touch the circle on either side of the centre-apex line
                        s1 = _dot(_cross(_sub(f1, circle.centre), out), circle.normal)
                        s2 = _dot(_cross(_sub(f2, circle.centre), out), circle.normal)
                        if s1 * s2 >= 0:
                            continue
                        direction = _unit(out)
                        return {"symbol": "movable", "direction": [round(x, 6) + 0.0 for x in direction or (0, 0, 0)], "radius": r}
    return {"symbol": "plain", "direction": None, "radius": found[0].radius}

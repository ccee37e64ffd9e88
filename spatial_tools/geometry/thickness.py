"""Wall thickness by ray casting: the one implementation measure_thickness and the DFM wall rules share.

A line through the query point is cut by the solid's faces, each cut
entering or leaving the material by the face's normal (``material_runs``), which gives the runs of
the line that lie in material; the direction rules' exact rays are the same
function (visibility.py). The run that contains the point is the wall there: its two
ends are where the ray enters and leaves the material. Concave parts are
handled because only that one run counts, not the first and last hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .query import face_normal_at, point_inside, unit

# Kernel noise floor for "this point is on the run's end": a multiple of the
# shape tolerance, never below this absolute value in mm.
_MIN_TOLERANCE = 1e-6
_TOLERANCE_FACTOR = 10.0
# |n·d| below this at a cut: the line touches the face tangentially there, it neither enters nor leaves.
_TANGENT = 1e-7


@dataclass(frozen=True)
class Chord:
    """A straight run of material: where the ray enters and leaves, and its length."""

    thickness: float
    point_in: Any  # FreeCAD.Vector
    point_out: Any
    direction: Any  # unit vector from point_in to point_out


def tolerance_of(shape: Any) -> float:
    """The distance below which two points of ``shape`` are the same point for the kernel."""
    return max(shape.getTolerance(1) * _TOLERANCE_FACTOR, _MIN_TOLERANCE)


def material_runs(solid: Any, origin: Any, direction: Any, faces: Sequence[Any] | None = None) -> list[tuple[float, float]]:
    """Parameter intervals (t0, t1), along the unit ``direction`` from ``origin``, of the infinite
    line that lie inside ``solid``; touching runs (internal faces of a compound) are merged.

    ``faces`` (default: all of the solid's) are the faces that may cut the line: a caller that knows
    them (the ray caster's mesh lists the faces along its ray) saves the rest; the line is then
    taken to start outside the material before the first of them.

    The kernel cuts the line with every face whose box the line passes (``Face.section``); at each cut
    the face's outward normal says whether the line enters (n·d < 0) or leaves the material. Cuts at
    one place (an edge, the shared face of two touching solids) are summed: a line that only touches
    an edge or slides along a face stays where it was. No boolean and no classifier, so the many rays
    of the direction rules cost what a few face sections do.
    """
    import Part

    box = solid.BoundBox
    reach = box.DiagonalLength + (origin - box.Center).Length + 1.0
    line = Part.LineSegment(origin - direction * reach, origin + direction * reach).toShape()
    tol = tolerance_of(solid)
    events: list[tuple[float, int]] = []
    for face in solid.Faces if faces is None else faces:
        face_box = face.BoundBox
        face_box.enlarge(tol)
        if not face_box.intersect(origin, direction):
            continue
        for vertex in face.section(line).Vertexes:
            try:
                facing = face_normal_at(face, vertex.Point).dot(direction)
            except Exception:  # noqa: BLE001 - no normal at an apex: the neighbouring faces decide
                continue
            if abs(facing) > _TANGENT:
                events.append(((vertex.Point - origin).dot(direction), -1 if facing > 0 else 1))
    events.sort()
    runs: list[tuple[float, float]] = []
    depth, start, k = 0, 0.0, 0
    while k < len(events):
        t, net = events[k][0], 0
        while k < len(events) and events[k][0] <= t + tol:
            net += events[k][1]
            k += 1
        if net > 0 and depth == 0:
            depth, start = 1, t
        elif net < 0 and depth == 1:
            depth = 0
            if runs and start <= runs[-1][1] + tol:
                runs[-1] = (runs[-1][0], t)
            else:
                runs.append((start, t))
    if depth == 1:  # entered and never left among the faces given: material to the end of the line
        runs.append((start, reach))
    return runs


def chord_at(solid: Any, origin: Any, direction: Any) -> Chord | None:
    """The wall of ``solid`` at ``origin`` measured along ``direction``.

    ``origin`` may lie on the surface or inside the material. The returned
    chord runs in ``direction`` when there is material ahead of the point,
    otherwise against it (a direction that points out of the material is
    read as the same line). None when the line through ``origin`` misses
    the material at ``origin``.
    """
    d = unit(direction)
    tol = tolerance_of(solid)
    containing = [(t0, t1) for t0, t1 in material_runs(solid, origin, d) if t0 - tol <= 0.0 <= t1 + tol and t1 - t0 > tol]
    if not containing:
        return None
    ahead = [run for run in containing if run[1] > tol]
    if ahead:
        t0, t1 = max(ahead, key=lambda run: run[1])
        return Chord(t1 - t0, origin + d * t0, origin + d * t1, d)
    t0, t1 = min(containing, key=lambda run: run[0])
    return Chord(t1 - t0, origin + d * t1, origin + d * t0, -d)


def chord_at_face(solid: Any, face: Any, direction: Any = None) -> tuple[Chord | None, Any]:
    """The wall behind a face of ``solid``: from a point inside the face along ``direction``
    (default: the inward normal there). Returns the chord and the point used."""
    point, (u, v) = point_inside(face)
    if direction is None:
        direction = -face.normalAt(u, v)
    return chord_at(solid, point, direction), point

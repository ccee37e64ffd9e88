"""Wall thickness by ray casting: the one implementation measure_thickness and the DFM wall rules share.

A line through the query point is intersected with the solid's faces by the
exact ray primitive of ``rays`` (the same one the accessibility rules trust),
which returns the runs of the line that lie in material. The run that contains the point is the wall there: its two
ends are where the ray enters and leaves the material. Concave parts are
handled because only that one run counts, not the first and last hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .query import point_inside, unit
from .rays import caster_of, tolerance_of

__all__ = ["Chord", "chord_at", "chord_at_face", "material_runs", "tolerance_of"]


@dataclass(frozen=True)
class Chord:
    """A straight run of material: where the ray enters and leaves, and its length."""

    thickness: float
    point_in: Any  # FreeCAD.Vector
    point_out: Any
    direction: Any  # unit vector from point_in to point_out


def material_runs(solid: Any, origin: Any, direction: Any) -> list[tuple[float, float]]:
    """Parameter intervals (t0, t1), along the unit ``direction`` from ``origin``, of the infinite
    line that lie inside ``solid``; touching runs (internal faces of a compound) are merged."""
    return caster_of(solid).material_runs(origin, direction)


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

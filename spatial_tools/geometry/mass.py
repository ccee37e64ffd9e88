"""Volume and centre of mass of several solids: the one place that weighs solids together.

A compound has no single centre of mass, so it is the volume-weighted mean of
its solids'. Each Volume/CenterOfMass call integrates the solid again, so each
solid is asked once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def volume_and_centre(solids: Iterable[Any]) -> tuple[float, tuple[float, float, float] | None]:
    """(total volume mm³, volume-weighted centre of mass) — the centre is None when nothing has volume."""
    weighted = [(s.Volume, s.CenterOfMass) for s in solids]
    volume = sum(v for v, _ in weighted)
    if volume <= 0:
        return 0.0, None
    x, y, z = (sum(getattr(c, axis) * v for v, c in weighted) / volume for axis in "xyz")
    return volume, (x, y, z)

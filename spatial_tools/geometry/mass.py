"""Volume, centre of mass and inertia of several solids: the one place that weighs solids together.

A compound has no single centre of mass, so it is the volume-weighted mean of
its solids'. Each Volume/CenterOfMass call integrates the solid again, so each
solid is asked once. Solids of a compound may overlap (a compound is only a
list of shapes); summing them would count the shared material twice, so
``weigh`` finds the overlapping pairs and weighs their union instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Vec3 = tuple[float, float, float]
Matrix3 = list[list[float]]

# Two solids overlap when they share more than this fraction of the smaller one's
# volume: solids that only touch along faces share none; boolean noise is ~1e-12.
OVERLAP_FRACTION = 1e-7


def volume_and_centre(solids: Iterable[Any]) -> tuple[float, Vec3 | None]:
    """(total volume mm³, volume-weighted centre of mass) — the centre is None when nothing has volume."""
    weighted = [(s.Volume, s.CenterOfMass) for s in solids]
    volume = sum(v for v, _ in weighted)
    if volume <= 0:
        return 0.0, None
    x, y, z = (sum(getattr(c, axis) * v for v, c in weighted) / volume for axis in "xyz")
    return volume, (x, y, z)


def inertia_about(solids: Iterable[Any], centre: Vec3) -> Matrix3:
    """Inertia tensor (unit density, mm⁵) of disjoint solids about ``centre``.

    Each solid's MatrixOfInertia is about its own centre of mass; the
    parallel-axis theorem moves it: I + V·(|d|²·E − d·dᵀ), d = its centre − ``centre``.
    Off-diagonal terms are the tensor's (−∫xy dV), as FreeCAD gives them.
    """
    total = [[0.0] * 3 for _ in range(3)]
    for solid in solids:
        volume, c, m = solid.Volume, solid.CenterOfMass, solid.MatrixOfInertia
        d = (c.x - centre[0], c.y - centre[1], c.z - centre[2])
        d2 = d[0] ** 2 + d[1] ** 2 + d[2] ** 2
        for r in range(3):
            for k in range(3):
                total[r][k] += m.A[r * 4 + k] + volume * ((d2 if r == k else 0.0) - d[r] * d[k])
    return total


@dataclass
class Overlap:
    """Two solids (0-based indices into the solids weighed) that share ``volume`` mm³."""

    first: int
    second: int
    volume: float


@dataclass
class Weighing:
    """What ``weigh`` found: the material once, even where solids overlap."""

    volume: float
    centre: Vec3 | None
    solids: list[Any]  # disjoint solids whose sum is the material (unions where the input overlapped)
    overlaps: list[Overlap] = field(default_factory=list)
    summed_volume: float = 0.0  # the input solids' volumes added up (> volume when they overlap)

    def inertia(self) -> Matrix3 | None:
        """Inertia tensor about the centre of mass, unit density (mm⁵); None without volume."""
        return None if self.centre is None else inertia_about(self.solids, self.centre)


class UnionFailed(RuntimeError):
    """The kernel could not fuse overlapping solids, so their volume is unknown."""


def overlapping_pairs(solids: Sequence[Any]) -> list[Overlap]:
    """Every pair of solids sharing volume (bounding boxes first: most pairs never need a boolean)."""
    boxes = [s.BoundBox for s in solids]
    volumes = [s.Volume for s in solids]
    found = []
    for i in range(len(solids)):
        for j in range(i + 1, len(solids)):
            if not boxes[i].intersect(boxes[j]):
                continue
            shared = solids[i].common(solids[j]).Volume
            if shared > OVERLAP_FRACTION * min(abs(volumes[i]), abs(volumes[j])):
                found.append(Overlap(i, j, shared))
    return found


def _clusters(count: int, overlaps: list[Overlap]) -> list[list[int]]:
    """Groups of solids joined by overlaps (a overlaps b, b overlaps c: one group)."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for o in overlaps:
        parent[root(o.second)] = root(o.first)
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def fuse(solids: Sequence[Any]) -> list[Any]:
    """The union of ``solids`` as disjoint solids; UnionFailed when the kernel cannot make it."""
    try:
        union = solids[0].fuse(list(solids[1:]))
    except Exception as exc:
        raise UnionFailed(str(exc) or type(exc).__name__) from exc
    try:
        union = union.removeSplitter()  # coplanar faces merged; the same material
    except Exception:
        pass
    parts = union.Solids
    largest = max(s.Volume for s in solids)
    total = sum(s.Volume for s in parts)
    if not parts or total < largest * (1 - 1e-6) or total > sum(s.Volume for s in solids) * (1 + 1e-6):
        raise UnionFailed(f"the kernel's union is not a valid solid ({total:.6g} mm³)")
    return parts


def weigh(solids: Sequence[Any]) -> Weighing:
    """Volume, centre and the disjoint solids of ``solids``, overlapping ones replaced by their union.

    Raises UnionFailed when solids overlap and the kernel cannot fuse them.
    """
    solids = list(solids)
    overlaps = overlapping_pairs(solids) if len(solids) > 1 else []
    if not overlaps:  # the common case: every solid's volume is computed once (it is not cheap)
        volume, centre = volume_and_centre(solids)
        return Weighing(volume=volume, centre=centre, solids=solids, summed_volume=volume)
    summed = sum(s.Volume for s in solids)
    disjoint = []
    for group in _clusters(len(solids), overlaps):
        disjoint.extend(fuse([solids[i] for i in group]) if len(group) > 1 else [solids[group[0]]])
    volume, centre = volume_and_centre(disjoint)
    return Weighing(volume=volume, centre=centre, solids=disjoint, overlaps=overlaps, summed_volume=summed)

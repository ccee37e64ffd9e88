"""Bonus tolerance of a frame at MMC or LMC (gdt.md "Bonus tolerance").

At MMC the zone grows by how far the actual size has departed from the MMC
size towards LMC: bonus = |actual − MMC|, never negative and never more than
the size tolerance (the distance from MMC to LMC); allowed zone = stated +
bonus. LMC mirrors it. The departure is measured in the direction of the
other limit, so a size beyond MMC (out of its own tolerance) earns no bonus
and a size beyond LMC earns the whole size tolerance: within the limits
this is exactly |actual − MMC|.

``frame_bonus`` finds the inputs in a document: the actual size is the
toleranced feature's measured diameter, the limits come from the size
dimension on the same faces (deviations or an ISO 286 fit code) or else
from the document's ISO 2768-1 general tolerance class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..tolerances import iso286, iso2768


@dataclass(frozen=True)
class Bonus:
    modifier: str  # "MMC" | "LMC"
    stated: float  # the frame's zone (mm)
    actual: float  # actual (measured) size
    mmc_size: float
    lmc_size: float
    size_tolerance: float
    bonus: float
    allowed: float  # stated + bonus

    def as_dict(self) -> dict:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def bonus_tolerance(stated: float, actual: float, mmc_size: float, lmc_size: float, modifier: str = "MMC") -> Bonus:
    """The bonus and allowed zone for a feature of size whose limits are ``mmc_size`` and ``lmc_size``.

    Works for holes (MMC the smaller size) and shafts (MMC the larger) alike:
    the departure is counted from the modifier's limit towards the other one.
    """
    if modifier not in ("MMC", "LMC"):
        raise ValueError(f"bonus tolerance needs an MMC or LMC modifier, not {modifier!r}")
    size_tolerance = abs(lmc_size - mmc_size)
    start, other = (mmc_size, lmc_size) if modifier == "MMC" else (lmc_size, mmc_size)
    towards = 1.0 if other >= start else -1.0
    departure = (actual - start) * towards
    bonus = min(max(departure, 0.0), size_tolerance)
    bonus = round(bonus, 9)
    return Bonus(modifier, stated, actual, mmc_size, lmc_size, round(size_tolerance, 9), bonus, round(stated + bonus, 9))


@dataclass(frozen=True)
class SizeLimits:
    low: float
    high: float
    source: str  # "SizeDimension001 (10 H7)", "ISO 2768-m"


def size_limits(nominal: float, internal: bool, size: Any = None, general_class: str | None = None) -> SizeLimits | None:
    """Smallest and largest size allowed: from a size dimension record (model.Size) or the general class."""
    if size is not None:
        if size.fit_code:
            kind = "hole" if size.fit_code[0].isupper() else "shaft"
            limits = iso286.limits(size.nominal, size.fit_code, kind)
            return SizeLimits(size.nominal + limits.lower, size.nominal + limits.upper, f"{size.name} ({size.label})")
        low, high = size.nominal + min(size.lower, size.upper), size.nominal + max(size.lower, size.upper)
        return SizeLimits(low, high, f"{size.name} ({size.label})")
    if general_class:
        general = iso2768.general_tolerance(nominal, general_class, "linear")
        return SizeLimits(nominal - general.tolerance, nominal + general.tolerance, f"ISO 2768-{general.tolerance_class}")
    return None


def frame_bonus(frame: Any, geometry: Any, sizes: list[Any], general_class: str | None) -> dict:
    """Bonus of one frame (model.Frame) at MMC/LMC in a document, or the reason it cannot be given."""
    out: dict[str, Any] = {"frame": frame.name, "label": frame.label, "modifier": frame.material_modifier}
    measured = geometry.diameter(frame.faces)
    if measured is None:
        return {**out, "error": "the toleranced feature has no cylindrical face to measure a size on"}
    actual, internal = measured
    size = next((s for s in sizes if s.faces.keys & frame.faces.keys), None)
    try:
        limits = size_limits(actual, internal, size, general_class)
    except (iso286.FitError, iso2768.GeneralToleranceError, ValueError) as exc:
        return {**out, "error": f"no size limits: {exc}"}
    if limits is None:
        return {**out, "error": "no size dimension on the feature and no general tolerance class"}
    # A hole is at MMC at its smallest, a shaft at its largest.
    mmc, lmc = (limits.low, limits.high) if internal else (limits.high, limits.low)
    result = bonus_tolerance(frame.zone, actual, mmc, lmc, frame.material_modifier)
    return {**out, **result.as_dict(), "feature": "internal" if internal else "external", "size_source": limits.source}

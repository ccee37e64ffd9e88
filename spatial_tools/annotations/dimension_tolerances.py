"""Tolerances that size-dimension annotations give to one step of a stack-up chain.

A step of a model chain runs between two faces; when a SizeDimension object is
linked to both of them (a width between two planes, a step height), its
deviations or ISO 286 class are that step's tolerance instead of the
document's general tolerance class. Lost annotations are not trusted.
"""

from __future__ import annotations

from typing import Any


def size_dimension_tolerance(document: Any, a_ref: str, b_ref: str) -> tuple[float, float, str] | None:
    """(plus, minus, source) of the size dimension linked to both faces, or None.

    ``plus`` and ``minus`` are magnitudes about the measured nominal (minus 0.1 means −0.1).
    """
    from ..gdt.bonus import size_limits
    from ..gdt.validation.model import read_gdt
    from . import properties as P
    from .store import annotations

    lost = {obj.Name for obj in annotations(document, P.SIZE_DIMENSION) if obj.Attachment == "lost"}
    wanted = {a_ref, b_ref}
    for size in read_gdt(document).sizes:
        if size.name in lost or not wanted <= size.faces.keys:
            continue
        internal = size.fit_code[:1].isupper() if size.fit_code else False
        limits = size_limits(size.nominal, internal, size)
        return limits.high - size.nominal, size.nominal - limits.low, f"size dimension {limits.source}"
    for obj in annotations(document, P.SIZE_DIMENSION):  # a supplier's location dimension (PMI import) between the faces
        if getattr(obj, "DimensionType", "size") != "location" or obj.Attachment == "lost":
            continue
        linked = {f"{o.Name}.{sub}" for o, subs in obj.Faces for sub in subs}
        if wanted <= linked:
            return float(obj.UpperDeviation), -float(obj.LowerDeviation), f"location dimension {obj.Label}"
    return None

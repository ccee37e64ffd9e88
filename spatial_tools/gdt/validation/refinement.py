"""Refinements: a tolerance refining another on the same feature must be tighter (gdt.refinement).

The hierarchy: form refines orientation, profile, location and runout;
orientation refines profile and location. A refinement is only meaningful
when tighter (ASME Y14.5-2018 §5, ISO 1101 §8): flatness 0.1 under a
parallelism 0.05 is never the limit.
"""

from __future__ import annotations

from ...dfm.finding import Finding, Severity
from . import GdtContext, GdtRule

LEVEL = {"form": 0, "orientation": 1, "profile": 2, "location": 2, "runout": 2}
EPS = 1e-9
# Form of a cylindrical surface: an axis' orientation or location (position, concentricity) does not bound it.
SURFACE_FORM = ("circularity", "cylindricity", "straightness")


def refinement(ctx: GdtContext) -> list[Finding]:
    found = []
    frames = ctx.gdt.frames
    for fine in frames:
        for coarse in frames:
            if fine is coarse or LEVEL[fine.group] >= LEVEL[coarse.group]:
                continue
            if fine.characteristic in SURFACE_FORM and coarse.group in ("orientation", "location"):
                continue  # an axis' orientation or location does not bound the surface's form this way
            if coarse.material_modifier in ("MMC", "LMC"):
                continue  # its zone grows with the bonus (⌀0 Ⓜ is common): the stated value is no limit
            if not (fine.faces.keys & coarse.faces.keys):
                continue
            if fine.zone >= coarse.zone - EPS:
                found.append(ctx.finding(
                    Severity.WARNING,
                    f"{fine.title}: {fine.characteristic} {fine.zone:g} is not tighter than the {coarse.characteristic} "
                    f"{coarse.zone:g} of {coarse.title} on the same feature, which already limits it",
                    fine.faces, measured=fine.zone, limit=coarse.zone, unit="mm",
                    suggestion=f"Make the {fine.characteristic} smaller than {coarse.zone:g} mm, or remove it"))
    return found


RULES = [GdtRule("gdt.refinement", "A form/orientation refinement must be tighter than the tolerance it refines.", refinement)]

"""The standard a frame follows: obsolete_symbol (ASME Y14.5-2018 dropped concentricity and symmetry)."""

from __future__ import annotations

from ...dfm.finding import Finding, Severity
from . import GdtContext, GdtRule
from .model import ASME

REPLACEMENT = {"concentricity": "position (coaxial, RFS) or runout", "symmetry": "position (RFS) or profile"}


def obsolete_symbol(ctx: GdtContext) -> list[Finding]:
    found = []
    for frame in ctx.gdt.frames:
        if frame.standard == ASME and frame.characteristic in REPLACEMENT:
            found.append(ctx.finding(
                Severity.WARNING,
                f"{frame.title}: {frame.characteristic} was removed from {ASME}",
                frame.faces,
                suggestion=f"Use {REPLACEMENT[frame.characteristic]} instead, or mark the frame as ISO 1101 if the drawing follows ISO"))
    return found


RULES = [GdtRule("gdt.obsolete_symbol", "Concentricity and symmetry are not part of ASME Y14.5-2018 (ISO 1101 keeps them).", obsolete_symbol)]

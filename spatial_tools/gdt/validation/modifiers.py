"""Material condition and zone shape: modifier_on_non_size, diameter_zone_on_plane."""

from __future__ import annotations

from ...dfm.finding import Finding, Severity
from . import GdtContext, GdtRule


def modifier_on_non_size(ctx: GdtContext) -> list[Finding]:
    found = []
    datums = {d.letter: d for d in ctx.gdt.datums}
    for frame in ctx.gdt.frames:
        if frame.material_modifier in ("MMC", "LMC") and ctx.geometry.faces(frame.faces) and not ctx.geometry.is_feature_of_size(frame.faces):
            found.append(ctx.finding(
                Severity.ERROR,
                f"{frame.title}: {frame.material_modifier} applies to a feature that is not a feature of size "
                "(a plane or surface has no material condition)",
                frame.faces,
                suggestion=f"Remove the {frame.material_modifier} modifier (regardless of feature size), or apply the frame "
                           "to a hole, pin, slot or tab"))
        for letter, modifier in frame.datum_components:
            datum = datums.get(letter)
            if modifier == "none" or datum is None or not ctx.geometry.faces(datum.faces):
                continue
            if not ctx.geometry.is_feature_of_size(datum.faces):
                found.append(ctx.finding(
                    Severity.ERROR,
                    f"{frame.title}: datum {letter} is referenced at {modifier} but is not a feature of size",
                    frame.faces, related=datum.faces.refs,
                    suggestion=f"Reference datum {letter} without a material modifier"))
    return found


def diameter_zone_on_plane(ctx: GdtContext) -> list[Finding]:
    found = []
    for frame in ctx.gdt.frames:
        if frame.diameter_zone and ctx.geometry.all_planar(frame.faces):
            found.append(ctx.finding(
                Severity.ERROR,
                f"{frame.title}: a Ø (cylindrical) zone on a planar feature; a plane's zone is two parallel planes",
                frame.faces,
                suggestion=f"Remove the Ø: give the {frame.characteristic} zone as a width ({frame.zone:g} mm between two planes)"))
    return found


RULES = [
    GdtRule("gdt.modifier_on_non_size", "MMC/LMC (on the tolerance or a datum reference) only on features of size.", modifier_on_non_size),
    GdtRule("gdt.diameter_zone_on_plane", "A Ø zone only on features with an axis, never on a plane.", diameter_zone_on_plane),
]

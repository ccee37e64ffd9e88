"""What a toleranced part leaves untoleranced: unlocated_hole, undimensioned_feature_of_size.

A part is toleranced once it carries a datum feature or a frame; its holes
are those ``find_features`` recognises.
"""

from __future__ import annotations

from ...dfm.finding import Finding, Severity
from . import GdtContext, GdtRule
from .model import Faces

# Characteristics that locate a hole's axis ("or equivalent" of gdt.md).
LOCATING = ("position", "concentricity", "symmetry", "circular_runout", "total_runout", "profile_of_a_surface")


def _hole_faces(name: str, hole: dict) -> Faces:
    return Faces(((name, tuple(hole["faces"])),))


def unlocated_hole(ctx: GdtContext) -> list[Finding]:
    located = set()
    for frame in ctx.gdt.frames:
        if frame.characteristic in LOCATING:
            located |= frame.faces.keys
    found = []
    for name in ctx.gdt.toleranced_objects():
        for hole in ctx.geometry.holes(name):
            faces = _hole_faces(name, hole)
            if faces.keys & located:
                continue
            found.append(ctx.finding(
                Severity.WARNING,
                f"hole Ø{hole['diameter']:.4g} at ({', '.join(f'{c:.4g}' for c in hole['position'])}) of {name} has no "
                "position tolerance, in a part that is otherwise toleranced",
                faces, location=tuple(hole["position"]),
                suggestion="Add a position frame (e.g. ⌖ Ø0.2 Ⓜ A|B|C for a clearance hole) or include it in its pattern's frame"))
    return found


def undimensioned_feature_of_size(ctx: GdtContext) -> list[Finding]:
    if ctx.gdt.general_tolerance:
        return []
    sized = set()
    for size in ctx.gdt.sizes:
        sized |= size.faces.keys
    found = []
    seen: set[frozenset[str]] = set()
    candidates: list[tuple[Faces, str]] = []
    for name in ctx.gdt.toleranced_objects():
        for hole in ctx.geometry.holes(name):
            candidates.append((_hole_faces(name, hole), f"hole Ø{hole['diameter']:.4g} of {name}"))
    holes = frozenset().union(*(faces.keys for faces, _ in candidates))
    for frame in ctx.gdt.frames:
        if frame.faces.keys <= holes:
            continue  # its holes are already candidates
        if frame.material_modifier in ("MMC", "LMC") and ctx.geometry.is_feature_of_size(frame.faces):
            candidates.append((frame.faces, f"the feature of {frame.title}"))
    for faces, what in candidates:
        if faces.keys in seen or faces.keys & sized:
            continue
        seen.add(faces.keys)
        found.append(ctx.finding(
            Severity.WARNING,
            f"{what} is a feature of size with no size tolerance, and the document has no general tolerance class",
            faces,
            suggestion="Add a size dimension (deviations or a fit code such as H11), or set the document's general "
                       "tolerance (Meta GeneralTolerance, e.g. 'ISO 2768-mK')"))
    return found


RULES = [
    GdtRule("gdt.unlocated_hole", "Every hole of a toleranced part needs a position (or equivalent) tolerance.", unlocated_hole),
    GdtRule("gdt.undimensioned_feature_of_size", "Every feature of size needs a size tolerance or a general tolerance class.", undimensioned_feature_of_size),
]

"""What a toleranced part leaves untoleranced: unlocated_hole, undimensioned_feature_of_size.

A part is toleranced once it carries a datum feature or a frame; its holes
are those ``find_features`` recognises. A profile of a surface applied to the
whole part (UOS, all over) with datums locates and sizes every feature nothing
else controls, so under one neither rule has anything to say. Holes are
reported one finding per pattern (same diameter, axis direction, depth): an
engineer adds one "nX" frame to a pattern, not one per hole.
"""

from __future__ import annotations

from ...dfm.finding import Finding, Severity
from . import GdtContext, GdtRule
from .model import Faces

# Characteristics that locate a hole's axis ("or equivalent" of gdt.md).
LOCATING = ("position", "concentricity", "symmetry", "circular_runout", "total_runout", "profile_of_a_surface")
LISTED = 4  # hole positions named in a pattern's message
DIGITS = 3  # mm decimals two holes of one pattern agree to (diameter, depth)
UNLOCATED = "no position tolerance, in a part that is otherwise toleranced"


def _hole_faces(name: str, hole: dict) -> Faces:
    return Faces(((name, tuple(hole["faces"])),))


def _pattern_key(hole: dict) -> tuple:
    axis = tuple(round(float(c), 6) + 0.0 for c in hole.get("axis") or ())
    return (round(float(hole["diameter"]), DIGITS), axis, bool(hole.get("through")), round(float(hole.get("depth") or 0.0), DIGITS))


def _patterns(holes: list[dict]) -> list[list[dict]]:
    """Holes of one object grouped into patterns, in the order their first hole was found."""
    groups: dict[tuple, list[dict]] = {}
    for hole in holes:
        groups.setdefault(_pattern_key(hole), []).append(hole)
    return list(groups.values())


def _where(holes: list[dict]) -> str:
    shown = ", ".join("(" + ", ".join(f"{round(c, 6) + 0.0:.4g}" for c in h["position"]) + ")" for h in holes[:LISTED])
    return shown + (f" and {len(holes) - LISTED} more" if len(holes) > LISTED else "")


def _pattern_finding(ctx: GdtContext, name: str, holes: list[dict], says: tuple[str, str], suggestion: str) -> Finding:
    """One finding for ``holes`` (one pattern of object ``name``), its elements every hole's faces;
    ``says`` is what is wrong, for one hole and for several ('has no ...', 'have no ...')."""
    faces = Faces(((name, tuple(face for h in holes for face in h["faces"])),))
    first = holes[0]
    if len(holes) == 1:
        what = f"hole Ø{first['diameter']:.4g} at {_where(holes)} of {name} {says[0]}"
    else:
        what = f"{len(holes)} holes Ø{first['diameter']:.4g} (one pattern) at {_where(holes)} of {name} {says[1]}"
    return ctx.finding(Severity.WARNING, what, faces, location=tuple(first["position"]), suggestion=suggestion)


def unlocated_hole(ctx: GdtContext) -> list[Finding]:
    """Patterns of holes no locating frame (nor a whole-part profile) names; datum feature holes are the origin."""
    if ctx.gdt.whole_part_profiles():
        return []
    located = set()
    for frame in ctx.gdt.frames:
        if frame.characteristic in LOCATING:
            located |= frame.faces.keys
            for size in ctx.gdt.sizes:
                if size.faces.keys & frame.faces.keys:
                    located |= size.faces.keys  # a frame under an "nX ⌀" callout locates every hole it sizes
    for datum in ctx.gdt.datums:
        located |= datum.faces.keys  # a datum feature hole is what locations are measured from (CTC 03's B, F)
    found = []
    for name in ctx.gdt.toleranced_objects():
        holes = [h for h in ctx.geometry.holes(name) if not (_hole_faces(name, h).keys & located)]
        for pattern in _patterns(holes):
            found.append(_pattern_finding(
                ctx, name, pattern, (f"has {UNLOCATED}", f"have {UNLOCATED}"),
                "Add a position frame (e.g. ⌖ Ø0.2 Ⓜ A|B|C for a clearance hole; 'nX' for a pattern), "
                "or a profile applied to all untoleranced surfaces (UOS) with the model's dimensions basic"))
    return found


def undimensioned_feature_of_size(ctx: GdtContext) -> list[Finding]:
    """Holes (one finding per pattern) and MMC/LMC features with no size tolerance, without a general tolerance."""
    if ctx.gdt.general_tolerance or ctx.gdt.whole_part_profiles():
        return []
    sized = set()
    for size in ctx.gdt.sizes:
        sized |= size.faces.keys
    suggestion = ("Add a size dimension (deviations or a fit code such as H11), or set the document's general "
                  "tolerance (Meta GeneralTolerance, e.g. 'ISO 2768-mK')")
    lacks = "no size tolerance, and the document has no general tolerance class"
    found = []
    holes_seen: frozenset[str] = frozenset()
    for name in ctx.gdt.toleranced_objects():
        holes = ctx.geometry.holes(name)
        holes_seen |= frozenset().union(*(_hole_faces(name, h).keys for h in holes))
        bare = [h for h in holes if not (_hole_faces(name, h).keys & sized)]
        found += [_pattern_finding(ctx, name, pattern, (f"is a feature of size with {lacks}", f"are features of size with {lacks}"),
                                   suggestion) for pattern in _patterns(bare)]
    seen: set[frozenset[str]] = set()
    for frame in ctx.gdt.frames:
        if frame.faces.keys <= holes_seen or frame.faces.keys in seen or frame.faces.keys & sized:
            continue  # its holes are already judged above
        if frame.material_modifier in ("MMC", "LMC") and ctx.geometry.is_feature_of_size(frame.faces):
            seen.add(frame.faces.keys)
            found.append(ctx.finding(
                Severity.WARNING, f"the feature of {frame.title} is a feature of size with {lacks}", frame.faces,
                suggestion=suggestion))
    return found


RULES = [
    GdtRule("gdt.unlocated_hole", "Every hole of a toleranced part needs a position (or equivalent) tolerance.", unlocated_hole),
    GdtRule("gdt.undimensioned_feature_of_size", "Every feature of size needs a size tolerance or a general tolerance class.", undimensioned_feature_of_size),
]

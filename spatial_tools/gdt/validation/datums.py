"""Datum references: form_with_datum, missing_datum, undefined_datum, datum_order."""

from __future__ import annotations

from ...dfm.finding import Finding, Severity
from ...geometry.query import face_axis, line_distance
from . import GdtContext, GdtRule
from .model import datum_components

AXIS_EPS = 1e-4  # mm: two axes closer than this are one feature (a counterbore's two cylinders)

NEEDS_DATUM = ("orientation", "location", "runout")


def form_with_datum(ctx: GdtContext) -> list[Finding]:
    found = []
    for frame in ctx.gdt.frames:
        if frame.group == "form" and any(frame.datum_letters):
            found.append(ctx.finding(
                Severity.ERROR,
                f"{frame.title}: {frame.characteristic} is a form tolerance and references datum(s) "
                f"{', '.join(frame.datums)}; form controls a feature by itself",
                frame.faces,
                suggestion=f"Remove the datum references, or use an orientation tolerance (parallelism, perpendicularity) "
                           f"if the {frame.characteristic} is meant relative to a datum"))
    return found


def _is_pattern(ctx: GdtContext, frame) -> bool:
    """Position of two or more holes or pins: a pattern may be located to itself, without datums."""
    axes = [a for a in (face_axis(f) for f in ctx.geometry.faces(frame.faces)) if a is not None]
    return any(line_distance(a, b) > AXIS_EPS for i, a in enumerate(axes) for b in axes[i + 1:])


def missing_datum(ctx: GdtContext) -> list[Finding]:
    found = []
    for frame in ctx.gdt.frames:
        if frame.group not in NEEDS_DATUM or any(frame.datum_letters):
            continue
        if frame.characteristic == "position" and _is_pattern(ctx, frame):
            continue
        found.append(ctx.finding(
            Severity.ERROR,
            f"{frame.title}: {frame.characteristic} ({frame.group}) has no datum reference; "
            "it has nothing to be oriented or located to",
            frame.faces,
            suggestion="Add the datum references (e.g. A|B|C) the feature is oriented or located from, "
                       "or use a form tolerance if only the feature's own shape matters"))
    return found


def undefined_datum(ctx: GdtContext) -> list[Finding]:
    """Each letter must be defined; a common datum (E(M)-F(M)-G(M)) needs each of E, F and G."""
    known = ctx.gdt.letters
    found = []
    for frame in ctx.gdt.frames:
        missing = [letter for letter, _ in frame.datum_components if letter and letter not in known]
        if missing:
            found.append(ctx.finding(
                Severity.ERROR,
                f"{frame.title} references datum {', '.join(missing)}, which no datum feature defines",
                frame.faces,
                suggestion=f"Add a datum feature {missing[0]} on the face that establishes it, or correct the letter "
                           f"(defined: {', '.join(sorted(known)) or 'none'})"))
    for drf in ctx.gdt.datum_frames:
        missing = [single for letter, _ in drf.slots for single, _ in datum_components(letter) if single and single not in known]
        if missing:
            found.append(ctx.finding(
                Severity.ERROR,
                f"datum reference frame {drf.label} ({drf.name}) uses datum {', '.join(missing)}, which no datum feature defines",
                suggestion=f"Add a datum feature {missing[0]}, or correct the letter"))
    return found


def _order_problem(letters: list[str]) -> str | None:
    named = [x for x in letters if x]
    repeated = sorted({x for x in named if named.count(x) > 1})
    if repeated:
        return f"datum {', '.join(repeated)} appears more than once"
    slots = ("primary", "secondary", "tertiary")
    for i, letter in enumerate(letters):
        if letter and any(not earlier for earlier in letters[:i]):
            return f"{slots[min(i, 2)]} datum {letter} is given without a {slots[min(i, 2) - 1]}"
    return None


def datum_order(ctx: GdtContext) -> list[Finding]:
    found = []
    for frame in ctx.gdt.frames:
        problem = _order_problem(frame.datum_letters)
        if problem:
            found.append(ctx.finding(
                Severity.ERROR, f"{frame.title}: {problem}", frame.faces,
                suggestion="List each datum once, in order of precedence: primary, then secondary, then tertiary"))
    for drf in ctx.gdt.datum_frames:
        problem = _order_problem([letter for letter, _ in drf.slots])
        if problem:
            found.append(ctx.finding(
                Severity.ERROR, f"datum reference frame {drf.label} ({drf.name}): {problem}",
                suggestion="Fill primary first, then secondary, then tertiary, each with a different datum"))
    return found


RULES = [
    GdtRule("gdt.form_with_datum", "Form tolerances (straightness, flatness, circularity, cylindricity) take no datum.", form_with_datum),
    GdtRule("gdt.missing_datum", "Orientation, location and runout tolerances need datums (position of a pattern may go without).", missing_datum),
    GdtRule("gdt.undefined_datum", "Every datum letter a frame uses must be defined by a datum feature.", undefined_datum),
    GdtRule("gdt.datum_order", "No datum twice in one frame; no secondary without primary, no tertiary without secondary.", datum_order),
]

"""fit.interference: two bodies share volume where no press fit is declared.

Measured with the kernel's boolean common of each pair of solids whose
bounding boxes meet (different objects, or two solids of one object). Pairs
named in the profile's ``press_fits`` are meant to overlap and are skipped.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...geometry.mass import volume_and_centre
from ..finding import Finding
from . import Rule, RuleContext, Target

BOX_GAP = 1e-6  # mm: boxes closer than this may still touch
MAX_ELEMENTS = 50


def touching_faces(target: Target, solid: Any, common: Any) -> list[str]:
    """Faces of ``solid`` (named in ``target``) that bound the overlap ``common``."""
    box = common.BoundBox
    box.enlarge(BOX_GAP)
    names = []
    for face in solid.Faces:
        if not face.BoundBox.intersect(box):
            continue
        if face.common(common).Area > 1e-9:
            name = target.element_name(face)
            if name:
                names.append(name)
    return names[:MAX_ELEMENTS]


def check(ctx: RuleContext) -> list[Finding]:
    settings = ctx.settings
    limit = settings.number("error_above")
    noise = settings.number("noise_volume")
    press_fits = {frozenset(pair) for pair in settings.get("press_fits", [])}
    bodies = [(t, i, s) for t in ctx.targets for i, s in enumerate(t.solids, start=1)]
    findings = []
    for (ta, ia, a), (tb, ib, b) in itertools.combinations(bodies, 2):
        if ta is not tb and frozenset((ta.name, tb.name)) in press_fits:
            continue
        box = a.BoundBox
        box.enlarge(BOX_GAP)
        if not box.intersect(b.BoundBox):
            continue
        common = a.common(b)
        volume, centre = volume_and_centre(common.Solids)
        if volume <= max(limit, noise):
            continue
        if ta is tb:
            what = f"solids {ia} and {ib} of {ta.name} overlap"
            related_object = ta.name
        else:
            what = f"{ta.name} and {tb.name} overlap"
            related_object = tb.name
        elements = touching_faces(ta, a, common)
        related = [f"{related_object}.{n}" for n in touching_faces(tb, b, common)] or [related_object]
        findings.append(
            ctx.finding(
                "error",
                f"{what} by {volume:.4g} mm³ and no press fit is declared",
                object=ta.name,
                elements=elements,
                location=centre,
                measured=volume,
                limit=limit,
                unit="mm3",
                suggestion=(
                    "Move or resize one of the bodies"
                    + (
                        f'; if this is a press fit, declare it in a profile: [rules."fit.interference"] '
                        f'press_fits = [["{ta.name}", "{tb.name}"]]'
                        if ta is not tb
                        else ""
                    )
                ),
                related=related,
            )
        )
    return findings


RULE = Rule(
    id="fit.interference",
    title="Bodies overlap where no press fit is declared",
    description=(
        "Computes the boolean common volume of every pair of solids whose bounding boxes meet "
        "(two objects, or two solids of one object). Any overlap above the profile's limit is an "
        "error unless the pair is declared as a press fit."
    ),
    help=(
        "**Why:** parts that share volume cannot be assembled as drawn; a model that overlaps "
        "by accident hides a wrong dimension or placement.\n\n"
        "**Fix:** move or resize one body (the finding names the faces of both that bound the "
        'overlap). For an intended press fit, declare the pair: `[rules."fit.interference"] '
        'press_fits = [["Pin", "Plate"]]` in a profile file.'
    ),
    check=check,
    scope="document",
)

"""fit.clearance: a declared clearance fit whose bodies leave less clearance than the fit allows.

Fits are declared in the profile (``[rules."fit.clearance"] fits``): a pair
of object Names and the least clearance on the diameter the fit allows
(``min_clearance``, mm), or the ISO 286 fit (``fit = "H7/g6"``), whose least
clearance is then taken from the ISO 286 tables at the bore's modelled Ø.
For each declared pair, every bore of one body is paired with every shaft
of the other whose axis is parallel to it, lies inside it and whose length
overlaps it; the clearance of a pair is the least radial gap between them,
doubled: hole Ø - shaft Ø - 2 × axis offset. A negative clearance means the
shaft cuts into the bore.
"""

from __future__ import annotations

from typing import Any

from ...errors import NotApplicable
from ...geometry.face_info import FaceInfo, face_infos, settings
from ..finding import Finding
from . import Rule, RuleContext, Target

CYLINDERS_KEY = "fit.cylinders"  # per-object cache: the target's cylindrical face infos
NOMINAL_DIGITS = 4  # a bore's modelled Ø rounded to this many decimals (mm) is its ISO 286 nominal size


def _cylinders(target: Target) -> list[FaceInfo]:
    if CYLINDERS_KEY not in target.cache:
        target.cache[CYLINDERS_KEY] = [i for i in face_infos(target.shape) if i.kind == "cylinder"]
    return target.cache[CYLINDERS_KEY]


def _extent(info: FaceInfo, origin: Any, axis: Any) -> tuple[float, float]:
    """The face's span along ``axis`` from ``origin`` (v runs along a cylinder's axis)."""
    u0, u1, v0, v1 = info.face.ParameterRange
    u = 0.5 * (u0 + u1)
    ends = [(info.face.valueAt(u, v) - origin).dot(axis) for v in (v0, v1)]
    return min(ends), max(ends)


def mating_pairs(bores: Target, shafts: Target) -> list[dict]:
    """Bores of ``bores`` and shafts of ``shafts`` on parallel axes, the shaft inside the bore over a shared length."""
    config = settings()
    pairs = []
    for hole in _cylinders(bores):
        if not hole.internal:
            continue
        for shaft in _cylinders(shafts):
            if shaft.internal or hole.axis.cross(shaft.axis).Length > config.sin_tol:
                continue
            offset = hole.radial(shaft.axis_point)
            if offset >= hole.radius:
                continue  # the shaft's axis is outside the bore: not in it
            lo_h, hi_h = _extent(hole, hole.axis_point, hole.axis)
            lo_s, hi_s = _extent(shaft, hole.axis_point, hole.axis)
            lo, hi = max(lo_h, lo_s), min(hi_h, hi_s)
            if hi - lo <= config.length_tol:
                continue
            clearance = 2.0 * (hole.radius - shaft.radius - offset)
            # where the gap is least: on the bore, toward the shaft axis, midway along the shared length
            foot = hole.axis_point + hole.axis * (0.5 * (lo + hi))
            toward = shaft.axis_point - hole.axis_point
            toward = toward - hole.axis * toward.dot(hole.axis)
            if toward.Length <= config.length_tol:
                u0, u1, v0, v1 = hole.face.ParameterRange
                toward = hole.face.valueAt(0.5 * (u0 + u1), 0.5 * (v0 + v1)) - hole.axis_point
                toward = toward - hole.axis * toward.dot(hole.axis)
            location = foot + toward.normalize() * hole.radius if toward.Length > 0 else foot
            pairs.append(
                {"hole": hole, "shaft": shaft, "offset": offset, "clearance": clearance, "location": location, "length": hi - lo}
            )
    return pairs


def _minimum(declared: dict, bore_diameter: float) -> float:
    """The declared least clearance, else the ISO 286 one of the declared fit at the bore's modelled Ø."""
    if "min_clearance" in declared:
        return float(declared["min_clearance"])
    from ...tolerances import iso286

    code = str(declared.get("fit", ""))
    hole, _, shaft = code.partition("/")
    if not hole.strip() or not shaft.strip():
        raise ValueError(f"fit {code!r} is not a hole/shaft pair like 'H7/g6'")
    size = round(bore_diameter, NOMINAL_DIGITS)
    return iso286.fit(size, hole.strip(), shaft.strip()).min_clearance  # FitError is a ValueError


def check(ctx: RuleContext) -> list[Finding]:
    fits = ctx.settings.get("fits", [])
    if not fits:
        raise NotApplicable(
            'no clearance fits declared (profile [rules."fit.clearance"] fits = '
            '[{a = "Shaft", b = "Plate", fit = "H7/g6", min_clearance = 0.005}])'
        )
    by_name = {t.name: t for t in ctx.targets}
    severity = ctx.settings.severity()
    findings = []
    for declared in fits:
        a, b = declared["a"], declared["b"]
        fit = declared.get("fit")
        named = f"{a}/{b}" + (f" ({fit})" if fit else "")
        missing = [n for n in (a, b) if n not in by_name]
        if missing:
            findings.append(
                ctx.finding(
                    "info",
                    f"Declared fit {named} cannot be checked: {', '.join(repr(n) for n in missing)} is not among the checked parts",
                    object=a if a in by_name else None,
                    suggestion="Check the object Names in the fit declaration (Names, not Labels) and the objects checked",
                )
            )
            continue
        pairs = [(by_name[a], by_name[b], p) for p in mating_pairs(by_name[a], by_name[b])]
        pairs += [(by_name[b], by_name[a], p) for p in mating_pairs(by_name[b], by_name[a])]
        if not pairs:
            findings.append(
                ctx.finding(
                    "info",
                    f"Declared fit {named}: no shaft of one body sits in a bore of the other, so there is nothing to check",
                    object=a,
                    suggestion="Check that the bodies are assembled in place (a shaft inside a bore, axes parallel)",
                )
            )
            continue
        try:
            minima = [_minimum(declared, 2 * p["hole"].radius) for _, _, p in pairs]
        except ValueError as exc:
            findings.append(
                ctx.finding(
                    "info",
                    f"Declared fit {named} cannot be checked: {exc}",
                    object=a,
                    suggestion=f"Give min_clearance (mm, on the diameter) in the declaration of {named}, or a fit "
                    "like 'H7/g6' within the ISO 286 tables",
                )
            )
            continue
        for (bore_target, shaft_target, pair), minimum in zip(pairs, minima, strict=True):
            clearance = pair["clearance"]
            if clearance >= minimum:
                continue
            hole, shaft = pair["hole"], pair["shaft"]
            offset = pair["offset"]
            off_text = f", axes {offset:.4g} mm apart" if offset > settings().length_tol else ""
            if "min_clearance" in declared:
                source = f"the declared minimum of fit {named}"
            else:
                source = f"the ISO 286 minimum of {fit} at Ø{round(2 * hole.radius, NOMINAL_DIGITS):g} ({a}/{b})"
            findings.append(
                ctx.finding(
                    severity,
                    f"Shaft Ø{2 * shaft.radius:.6g} of {shaft_target.name} in bore Ø{2 * hole.radius:.6g} of "
                    f"{bore_target.name}{off_text}: clearance {clearance:.4g} mm on the diameter, below "
                    f"{source}, {minimum:.4g} mm",
                    object=bore_target.name,
                    elements=[f"Face{hole.index + 1}"],
                    location=pair["location"],
                    measured=clearance,
                    limit=minimum,
                    unit="mm",
                    suggestion=(
                        f"Model the bore and shaft at sizes that give at least {minimum:.4g} mm clearance "
                        f"(e.g. shaft Ø ≤ {2 * hole.radius - minimum - 2 * offset:.6g} mm for this bore), "
                        "and centre the shaft on the bore axis; or correct the declared fit"
                    ),
                    related=[f"{shaft_target.name}.Face{shaft.index + 1}"],
                )
            )
    return findings


RULE = Rule(
    id="fit.clearance",
    title="Mating clearance below the declared fit's minimum",
    description=(
        "For every fit declared in the profile (a pair of objects and the least clearance on the diameter "
        "the fit allows, given or taken from the ISO 286 tables for the declared fit), pairs each bore of one body with each shaft of the other that sits in it (parallel "
        "axes, shaft axis inside the bore, shared length) and measures their least gap, doubled: "
        "bore Ø - shaft Ø - 2 × axis offset. Below the declared minimum the parts are modelled tighter than the fit."
    ),
    help=(
        "**Why:** a model whose shaft and bore leave less clearance than the declared fit hides a wrong size "
        "or a shaft off its axis; the assembly binds or the drawing contradicts the model.\n\n"
        '**Declare fits** in a profile: `[rules."fit.clearance"] fits = [{a = "Shaft", b = "Plate", '
        'fit = "H7/g6", min_clearance = 0.005}]` (object Names; min_clearance in mm on the diameter; '
        "without it the ISO 286 least clearance of the fit at the bore's modelled diameter is used)."
    ),
    check=check,
    scope="document",
)

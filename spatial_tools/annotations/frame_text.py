"""The text of a feature control frame or size dimension, with the standard's symbols."""

from __future__ import annotations

from typing import Any

from .properties import CHARACTERISTICS, DIAMETER, MODIFIER_SYMBOLS


def _get(values: Any, name: str, default: Any = None) -> Any:
    return values.get(name, default) if isinstance(values, dict) else getattr(values, name, default)


def _datum(ref: str) -> str:
    ref = ref.strip()
    for code, symbol in (("(M)", MODIFIER_SYMBOLS["MMC"]), ("(L)", MODIFIER_SYMBOLS["LMC"])):
        ref = ref.replace(code, symbol)
    return ref


def frame_cells(values: Any) -> list[str]:
    """The compartments of a frame: symbol, zone with Ø and modifiers, then each datum."""
    symbol = CHARACTERISTICS.get(_get(values, "Characteristic"), "?")
    zone = f"{_get(values, 'Zone', 0.0):g}"
    if _get(values, "DiameterZone", False):
        zone = ("S" if _get(values, "SphericalZone", False) else "") + DIAMETER + zone
    basis = [b for b in (_get(values, "UnitBasis", []) or []) if b]
    if basis:
        zone += "/" + "×".join(f"{b:g}" for b in basis)
    material = _get(values, "MaterialModifier", "none")
    if material in ("MMC", "LMC"):
        zone += " " + MODIFIER_SYMBOLS[material]
    for modifier in _get(values, "Modifiers", []) or []:
        zone += " " + MODIFIER_SYMBOLS.get(modifier, modifier)
        if modifier == "projected" and _get(values, "ProjectedLength", 0.0):
            zone += f"{_get(values, 'ProjectedLength', 0.0):g}"
        elif modifier == "unequal_bilateral":
            zone += f"{_get(values, 'UnequalOffset', 0.0) or 0.0:g}"
    return [symbol, zone] + [_datum(d) for d in (_get(values, "DatumReferences", []) or [])]


def frame_text(values: Any) -> str:
    """'|⌖|⌀0.1 Ⓜ|A|B|' — the frame as one line (a dict of properties or the object itself)."""
    return "|" + "|".join(frame_cells(values)) + "|"


def size_text(values: Any) -> str:
    """'⌀10 H7', '25 +0.1/-0.05' or '25 ±0.1'."""
    nominal = f"{_get(values, 'Nominal', 0.0):g}"
    fit = _get(values, "FitCode", "")
    if fit:
        return f"{nominal} {fit}"
    upper, lower = _get(values, "UpperDeviation", 0.0), _get(values, "LowerDeviation", 0.0)
    if upper == -lower and upper:
        return f"{nominal} ±{upper:g}"
    if upper or lower:
        return f"{nominal} {upper:+g}/{lower:+g}"
    return nominal


# Words for the symbols no common font has (Debian's DejaVu lacks them): where text, not a drawing, is shown.
SYMBOL_WORDS = {"⌖": "position", "⌯": "symmetry", "Ⓜ": "(M)", "Ⓛ": "(L)", "Ⓟ": "(P)", "Ⓕ": "(F)", "Ⓣ": "(T)", "Ⓤ": "(U)"}


def readable_text(text: str) -> str:
    """``text`` with each symbol of SYMBOL_WORDS spelt out: '|⌖|⌀0.3 Ⓜ|A|' -> '|position|⌀0.3 (M)|A|'."""
    return "".join(SYMBOL_WORDS.get(ch, ch) for ch in text)


def frame_words(values: Any) -> str:
    """'Position ⌀0.3 (M) to A|B|C': a frame in words a list shows beside its drawing."""
    name = str(_get(values, "Characteristic", "") or "").replace("_", " ").capitalize()
    cells = frame_cells(values)
    datums = "|".join(readable_text(c) for c in cells[2:])
    return f"{name} {readable_text(cells[1])}" + (f" to {datums}" if datums else "")

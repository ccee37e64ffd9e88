"""Parses a free-text answer and scores it against the item's kernel-computed answer.

The rule (documented in the report and README):

1. The text after the last ``ANSWER:`` marker is parsed when there is one, else the whole text.
2. ``number``: the last number, with the unit written right after it converted to the item's unit
   (mm/cm/m/in/um, deg/rad, mm2/mm3...); right when within ``max(abs, rel*|answer|)`` of the answer.
   ``tolerance: {"rule": "ratio"}`` (BenchCAD): the score is ``min/max`` of the two values instead
   (0 when either is not positive); right only when it is 1.
3. ``integer``: the last whole number (or number word); exact.
4. ``boolean``: the last yes/no/true/false; exact.
5. ``choice``: the last of the item's choices named; exact (case-insensitive).
6. ``ref``: every ``Object.FaceN``-style ref named, compared as a set after normalising (case, spaces).
7. ``list``: comma/semicolon/newline-separated entries, normalised, compared as a set.
8. ``finding`` (answer ``{"rule", "refs"}``): the last rule id named (``cnc.deep_hole``) must be the rule,
   and the refs named must be at least one and all on the planted feature (``refs``).

The raw answer is always kept beside the parsed one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .items import Item

_MARKER = re.compile(r"answer\s*[:=]", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w.])([-+−]?(?:\d+(?:[.,]\d+)?|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(mm\^?[23²³]|cm\^?[23²³]|m\^?[23²³]|mm|cm|µm|um|m|in(?:ch(?:es)?)?|°|deg(?:rees?)?|rad(?:ians?)?)?(?![\w])"
)
_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_BOOL = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
_RULE = re.compile(r"\b((?:cnc|mold|am|sheet|geom|fit)\.[a-z_]+)\b", re.IGNORECASE)
_REF = re.compile(r"\b([A-Za-z_][\w]*\.(?:Face|Edge|Vertex)\d+)\b", re.IGNORECASE)

# unit -> (dimension, factor to the base unit of that dimension: mm, mm2, mm3, deg)
_UNITS = {
    "mm": ("length", 1.0), "cm": ("length", 10.0), "m": ("length", 1000.0), "um": ("length", 1e-3),
    "µm": ("length", 1e-3), "in": ("length", 25.4), "inch": ("length", 25.4), "inches": ("length", 25.4),
    "mm2": ("area", 1.0), "cm2": ("area", 100.0), "m2": ("area", 1e6),
    "mm3": ("volume", 1.0), "cm3": ("volume", 1000.0), "m3": ("volume", 1e9),
    "deg": ("angle", 1.0), "°": ("angle", 1.0), "degree": ("angle", 1.0), "degrees": ("angle", 1.0),
    "rad": ("angle", 180.0 / math.pi), "radian": ("angle", 180.0 / math.pi), "radians": ("angle", 180.0 / math.pi),
}


def _unit_key(unit: str) -> str:
    u = unit.lower().replace("^", "").replace("²", "2").replace("³", "3")
    return u


@dataclass(frozen=True)
class Score:
    parsed: Any  # what was read from the answer (None: nothing usable)
    score: float  # 0..1
    correct: bool


def answer_text(raw: str) -> str:
    """The part of a model's answer that is parsed: after the last ``ANSWER:`` marker, if any."""
    marks = list(_MARKER.finditer(raw or ""))
    return raw[marks[-1].end():] if marks else (raw or "")


def parse_number(text: str, unit: str = "") -> float | None:
    """The last number in ``text``, converted to ``unit`` when a convertible unit follows it."""
    found = list(_NUMBER.finditer(text))
    if not found:
        return None
    value_text, written = found[-1].group(1), found[-1].group(2)
    value = float(value_text.replace("−", "-").replace(",", "."))
    if written and unit:
        have, want = _UNITS.get(_unit_key(written)), _UNITS.get(_unit_key(unit))
        if have and want and have[0] == want[0]:
            value = value * have[1] / want[1]
    return value


def parse_integer(text: str) -> int | None:
    tokens = re.findall(r"[-+]?\d+(?:\.\d+)?|[A-Za-z]+", text)
    for token in reversed(tokens):
        if token.lower() in _WORDS:
            return _WORDS[token.lower()]
        try:
            value = float(token)
        except ValueError:
            continue
        return int(value) if value == int(value) else None
    return None


def parse_boolean(text: str) -> bool | None:
    found = _BOOL.findall(text)
    return found[-1].lower() in ("yes", "true") if found else None


def norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).lower()


def parse_choice(text: str, choices: list[str]) -> str | None:
    best, where = None, -1
    for choice in choices:
        for m in re.finditer(r"(?<!\w)" + re.escape(choice) + r"(?!\w)", text, re.IGNORECASE):
            if m.start() > where:
                best, where = choice, m.start()
    return best


def parse_refs(text: str) -> list[str]:
    return sorted({norm(r) for r in _REF.findall(text)})


def parse_list(text: str) -> list[str]:
    return sorted({norm(p) for p in re.split(r"[,;\n]", text) if norm(p)})


def within(value: float, expected: float, tolerance: dict) -> bool:
    allowed = max(float(tolerance.get("abs", 0.0)), float(tolerance.get("rel", 0.0)) * abs(expected))
    return abs(value - expected) <= allowed + 1e-12


def score(item: Item, raw: str) -> Score:
    """Parses ``raw`` by the item's type and scores it (the rule in this module's docstring)."""
    text = answer_text(raw)
    kind = item.type
    if kind == "number":
        value = parse_number(text, item.unit)
        if value is None:
            return Score(None, 0.0, False)
        expected = float(item.answer)
        if item.tolerance.get("rule") == "ratio":
            if value <= 0 or expected <= 0:  # BenchCAD: 0 when either is not positive
                s = 0.0
            else:
                s = round(min(value, expected) / max(value, expected), 4)
            return Score(value, s, s >= 1.0 - 1e-9 or within(value, expected, item.tolerance))
        ok = within(value, expected, item.tolerance)
        return Score(value, float(ok), ok)
    if kind == "integer":
        value = parse_integer(text)
        ok = value is not None and value == int(item.answer)
        return Score(value, float(ok), ok)
    if kind == "boolean":
        value = parse_boolean(text)
        ok = value is not None and value == bool(item.answer)
        return Score(value, float(ok), ok)
    if kind == "choice":
        value = parse_choice(text, item.choices or [str(item.answer)])
        ok = value is not None and norm(value) == norm(item.answer)
        return Score(value, float(ok), ok)
    if kind == "ref":
        value = parse_refs(text)
        expected = item.answer if isinstance(item.answer, list) else [item.answer]
        ok = bool(value) and value == sorted({norm(r) for r in expected})
        return Score(value, float(ok), ok)
    if kind == "finding":
        rules = _RULE.findall(text)
        refs = parse_refs(text)
        value = {"rule": rules[-1].lower() if rules else None, "refs": refs}
        allowed = {norm(r) for r in item.answer["refs"]}
        ok = value["rule"] == item.answer["rule"] and bool(refs) and set(refs) <= allowed
        return Score(value, float(ok), ok)
    value = parse_list(text)
    expected = sorted({norm(v) for v in (item.answer if isinstance(item.answer, list) else [item.answer])})
    ok = value == expected
    return Score(value, float(ok), ok)

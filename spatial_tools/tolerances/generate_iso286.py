"""Generates ``resources/iso286/limit_deviations.toml``: the ISO 286-2 tables of limit deviations.

Run ``python -m freecad_spatial.spatial_tools.tolerances.generate_iso286`` to
rewrite the file, ``--check`` to verify that the committed file is what this
script produces, ``--report`` to print how the formulas compare with the tables.

How the ISO 286-2 tables are built (ISO 286-1, clauses 5-6 and Tables 1-3):

* the standard tolerance ITn of a size range, ISO 286-1 Table 1;
* the fundamental deviation of a letter in a size range (upper ``es`` of
  shafts a-h, lower ``ei`` of shafts k-zc), ISO 286-1 Table 2; the hole
  letters mirror the shafts (``EI = -es`` for A-H; ``ES = -ei`` for K-ZC)
  with the Δ rule: for K, M, N up to IT8 and P to ZC up to IT7,
  ``ES = -ei + Δ`` where ``Δ = ITn - IT(n-1)`` of that size range
  (ISO 286-1 Table 3), and the special case M6 over 250 up to 315 mm,
  ``ES = -9 µm``;
* js/JS: ``±ITn/2``; for grades 7 to 11 an odd ITn is rounded down to the
  next even number so that the deviations are whole micrometres (the
  ISO 286-1 rule the ISO 286-2 tables apply), grades 5 and 6 keep the
  half micrometre (e.g. js6 over 18 up to 30 mm: ±6.5 µm).

Where the data come from. ISO 286-1 Annex A gives the formulas the tables
were made with: ``i = 0.45·∛D + 0.001·D`` (µm, D the geometric mean of the
size range's limits, 1 and 3 for the first) with ITn = 7, 10, 16, 25, 40,
64, 100 · i for IT5-IT11, and one formula per letter (``FORMULAS``), each
rounded by the rules of Annex A (``round_it``, ``round_deviation``). The
standard itself says the *tabulated* values are the definitive ones: for the
smallest sizes (up to 3 mm, where e.g. IT7 is 10 µm but 16·i is 8.7) and
for a number of historic cells (IT7 over 10 up to 18 mm: 18 µm, 16·i gives
17.3) the tables do not follow the formulas. So this script carries the
values of ISO 286-1 Tables 1 and 2 (``IT_TABLE``, ``SHAFT_TABLE``; plus the
small increments the formulas of p and s take from the table), computes
every one of them again from the formulas, and refuses to write anything when
a tabulated value strays from its formula by more than the historic
deviations do (``_plausible``): a mistyped digit cannot get through. The
cells where the rounded formula and the table differ are listed by
``--report``; the file always holds the tabulated values.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "resources" / "iso286" / "limit_deviations.toml"

GRADES = (5, 6, 7, 8, 9, 10, 11)
MULTIPLIER = {5: 7, 6: 10, 7: 16, 8: 25, 9: 40, 10: 64, 11: 100}  # ITn = k·i, ISO 286-1 Annex A

# Main size ranges (above, up to and including), ISO 286-1 Table 1.
MAIN = ((0, 3), (3, 6), (6, 10), (10, 18), (18, 30), (30, 50), (50, 80), (80, 120),
        (120, 180), (180, 250), (250, 315), (315, 400), (400, 500))
# Intermediate ranges, ISO 286-1 Table 2: the main ranges split in two or three.
FINE = ((0, 3), (3, 6), (6, 10), (10, 14), (14, 18), (18, 24), (24, 30), (30, 40), (40, 50),
        (50, 65), (65, 80), (80, 100), (100, 120), (120, 140), (140, 160), (160, 180),
        (180, 200), (200, 225), (225, 250), (250, 280), (280, 315), (315, 355), (355, 400),
        (400, 450), (450, 500))

# From which size on a letter's fundamental deviation uses the intermediate
# ranges (ISO 286-1 Table 2: a, b, c split from 30 mm, r and s from 50 mm,
# t and u from 18 mm; every other letter keeps the main ranges).
SPLIT_FROM = {"a": 30, "b": 30, "c": 30, "r": 50, "s": 50, "t": 18, "u": 18}

# ISO 286-1 Table 1: standard tolerances IT5-IT11 in µm, one column per main range.
IT_TABLE: dict[int, tuple[int, ...]] = {
    5: (4, 5, 6, 8, 9, 11, 13, 15, 18, 20, 23, 25, 27),
    6: (6, 8, 9, 11, 13, 16, 19, 22, 25, 29, 32, 36, 40),
    7: (10, 12, 15, 18, 21, 25, 30, 35, 40, 46, 52, 57, 63),
    8: (14, 18, 22, 27, 33, 39, 46, 54, 63, 72, 81, 89, 97),
    9: (25, 30, 36, 43, 52, 62, 74, 87, 100, 115, 130, 140, 155),
    10: (40, 48, 58, 70, 84, 100, 120, 140, 160, 185, 210, 230, 250),
    11: (60, 75, 90, 110, 130, 160, 190, 220, 250, 290, 320, 360, 400),
}
# IT4, needed only for Δ of IT5 (Δ5 = IT5 - IT4).
IT4 = (3, 4, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20)

# ISO 286-1 Table 2: fundamental deviations of shafts in µm, magnitudes, one
# value per FINE range (es is negative for a-g; ei positive for k-u; k is
# the value for IT4-IT7, 0 for the other grades).
SHAFT_TABLE: dict[str, tuple[int, ...]] = {
    "a": (270, 270, 280, 290, 290, 300, 300, 310, 320, 340, 360, 380, 410, 460, 520, 580, 660,
          740, 820, 920, 1050, 1200, 1350, 1500, 1650),
    "b": (140, 140, 150, 150, 150, 160, 160, 170, 180, 190, 200, 220, 240, 260, 280, 310, 340,
          380, 420, 480, 540, 600, 680, 760, 840),
    "c": (60, 70, 80, 95, 95, 110, 110, 120, 130, 140, 150, 170, 180, 200, 210, 230, 240, 260,
          280, 300, 330, 360, 400, 440, 480),
    "d": (20, 30, 40, 50, 50, 65, 65, 80, 80, 100, 100, 120, 120, 145, 145, 145, 170, 170, 170,
          190, 190, 210, 210, 230, 230),
    "e": (14, 20, 25, 32, 32, 40, 40, 50, 50, 60, 60, 72, 72, 85, 85, 85, 100, 100, 100, 110,
          110, 125, 125, 135, 135),
    "f": (6, 10, 13, 16, 16, 20, 20, 25, 25, 30, 30, 36, 36, 43, 43, 43, 50, 50, 50, 56, 56, 62,
          62, 68, 68),
    "g": (2, 4, 5, 6, 6, 7, 7, 9, 9, 10, 10, 12, 12, 14, 14, 14, 15, 15, 15, 17, 17, 18, 18, 20,
          20),
    "k": (0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5),
    "m": (2, 4, 6, 7, 7, 8, 8, 9, 9, 11, 11, 13, 13, 15, 15, 15, 17, 17, 17, 20, 20, 21, 21, 23,
          23),
    "n": (4, 8, 10, 12, 12, 15, 15, 17, 17, 20, 20, 23, 23, 27, 27, 27, 31, 31, 31, 34, 34, 37,
          37, 40, 40),
    "p": (6, 12, 15, 18, 18, 22, 22, 26, 26, 32, 32, 37, 37, 43, 43, 43, 50, 50, 50, 56, 56, 62,
          62, 68, 68),
    "r": (10, 15, 19, 23, 23, 28, 28, 34, 34, 41, 43, 51, 54, 63, 65, 68, 77, 80, 84, 94, 98, 108,
          114, 126, 132),
    "s": (14, 19, 23, 28, 28, 35, 35, 43, 43, 53, 59, 71, 79, 92, 100, 108, 122, 130, 140, 158,
          170, 190, 208, 232, 252),
    "u": (18, 23, 28, 33, 33, 41, 48, 60, 70, 87, 102, 124, 144, 170, 190, 210, 236, 258, 284,
          315, 350, 390, 435, 490, 540),
}
# The "+0 to 5" of p = IT7 + x and the "+1 to 4" of s = IT8 + x (D ≤ 50):
# ISO 286-1 Annex A gives them per main range. Up to 3 mm p is 6 µm.
P_ADD = (None, 0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5)
S_ADD = (0, 1, 1, 1, 2, 4)  # main ranges up to 50 mm

SHAFT_LETTERS = ("a", "b", "c", "d", "e", "f", "g", "h", "js", "k", "m", "n", "p", "r", "s", "u")
HOLE_LETTERS = tuple(x.upper() for x in SHAFT_LETTERS)
UPPER_SIDE = set("abcdefgh")  # shafts whose fundamental deviation is the upper one


def geometric_mean(lo: float, hi: float) -> float:
    return math.sqrt((lo or 1) * hi)


def main_index(rng: tuple[int, int]) -> int:
    return next(i for i, (lo, hi) in enumerate(MAIN) if lo <= rng[0] and rng[1] <= hi)


def ranges_of(letter: str) -> tuple[tuple[int, int], ...]:
    """The size ranges a letter's table uses: main ranges, intermediate ones from SPLIT_FROM."""
    split = SPLIT_FROM.get(letter.lower())
    out = []
    for rng in FINE:
        if split is not None and rng[0] >= split:
            out.append(rng)
        else:
            main = MAIN[main_index(rng)]
            if not out or out[-1] != main:
                out.append(main)
    return tuple(out)


def round_to(value: float, step: float) -> float:
    return math.floor(value / step + 0.5) * step


def round_it(value: float) -> float:
    """ISO 286-1 Annex A rounding of standard tolerances (sizes up to 500 mm)."""
    step = 1 if value <= 100 else 5 if value <= 200 else 10
    return round_to(value, step)


def round_deviation(value: float, upper_letter: bool) -> float:
    """ISO 286-1 Annex A rounding of fundamental deviations: a-g and k-zc columns."""
    steps = ((45, 1, 1), (60, 2, 1), (100, 5, 1), (200, 5, 2), (300, 10, 2), (500, 10, 5),
             (560, 10, 5), (600, 20, 5), (800, 20, 10), (1000, 20, 20), (2000, 50, 20))
    for limit, a_to_g, k_to_zc in steps:
        if value <= limit:
            return round_to(value, a_to_g if upper_letter else k_to_zc)
    return round_to(value, 100 if upper_letter else 50)


def formula_it(grade: int, rng: tuple[int, int]) -> float:
    d = geometric_mean(*rng)
    return round_it(MULTIPLIER[grade] * (0.45 * d ** (1 / 3) + 0.001 * d))


def _it(grade: int, rng: tuple[int, int]) -> int:
    return IT_TABLE[grade][main_index(rng)]


def _fd(letter: str, rng: tuple[int, int]) -> int:
    return SHAFT_TABLE[letter][FINE.index(next(f for f in FINE if f[0] >= rng[0]))]


# ISO 286-1 Annex A, fundamental deviations of shafts (magnitudes, µm) from D.
FORMULAS: dict[str, Callable[[float, tuple[int, int]], float]] = {
    "a": lambda d, r: 265 + 1.3 * d if d <= 120 else 3.5 * d,
    "b": lambda d, r: 140 + 0.85 * d if d <= 160 else 1.8 * d,
    "c": lambda d, r: 52 * d**0.2 if d <= 40 else 95 + 0.8 * d,
    "d": lambda d, r: 16 * d**0.44,
    "e": lambda d, r: 11 * d**0.41,
    "f": lambda d, r: 5.5 * d**0.41,
    "g": lambda d, r: 2.5 * d**0.34,
    "k": lambda d, r: 0.6 * d ** (1 / 3),
    "m": lambda d, r: _it(7, r) - _it(6, r),
    "n": lambda d, r: 5 * d**0.34,
    "p": lambda d, r: _it(7, r) + (P_ADD[main_index(r)] or 0),
    "r": lambda d, r: math.sqrt(_fd("p", r) * _fd("s", r)),
    "s": lambda d, r: _it(8, r) + S_ADD[main_index(r)] if r[1] <= 50 else _it(7, r) + 0.4 * d,
    "u": lambda d, r: _it(7, r) + d,
}


def formula_deviation(letter: str, rng: tuple[int, int]) -> float:
    value = FORMULAS[letter](geometric_mean(*rng), rng)
    return round_deviation(value, letter in UPPER_SIDE)


def _plausible(table: float, formula: float, rng: tuple[int, int]) -> bool:
    """A tabulated value no further from its formula than the historic cells are (typo guard).

    Up to 10 mm the tables keep older empirical values (u up to 3 mm: 18 µm
    where IT7 + D gives 12), so the guard is looser there.
    """
    if rng[1] <= 10:
        return abs(table - formula) <= max(6.0, 0.5 * formula)
    return abs(table - formula) <= max(2.0, 0.2 * formula)


def compare() -> list[str]:
    """Every tabulated value against its formula; the cells that differ, and raises on implausible ones."""
    notes, bad = [], []
    for grade in GRADES:
        for rng in MAIN:
            table, formula = _it(grade, rng), formula_it(grade, rng)
            if table != formula:
                notes.append(f"IT{grade} {rng[0]}-{rng[1]}: table {table}, formula {formula:g}")
                if not _plausible(table, formula, rng):
                    bad.append(notes[-1])
    for letter in FORMULAS:
        for rng in ranges_of(letter):
            table = _fd(letter, rng)
            if letter == "p" and rng == MAIN[0]:
                continue  # no formula: p up to 3 mm is 6 µm by the table alone
            formula = formula_deviation(letter, rng)
            if table != formula:
                notes.append(f"{letter} {rng[0]}-{rng[1]}: table {table}, formula {formula:g}")
                if not _plausible(table, formula, rng):
                    bad.append(notes[-1])
    if bad:
        raise SystemExit("tabulated values far from ISO 286-1's formulas (typo?):\n  " + "\n  ".join(bad))
    return notes


def delta(grade: int, rng: tuple[int, int]) -> int:
    """Δ = ITn - IT(n-1) of the main range (ISO 286-1 Table 3); 0 up to 3 mm."""
    i = main_index(rng)
    if i == 0:
        return 0
    below = IT4[i] if grade == 5 else IT_TABLE[grade - 1][i]
    return IT_TABLE[grade][i] - below


def half_it(grade: int, it: int) -> float:
    """js/JS: ±IT/2, odd IT7-IT11 rounded down to even so the deviations are whole µm."""
    if grade >= 7 and it % 2:
        it -= 1
    return it / 2


def shaft_limits(letter: str, grade: int, rng: tuple[int, int]) -> tuple[float, float]:
    """(upper es, lower ei) in µm."""
    it = _it(grade, rng)
    if letter == "js":
        return half_it(grade, it), -half_it(grade, it)
    if letter == "h":
        return 0, -it
    if letter in UPPER_SIDE:
        es = -_fd(letter, rng)
        return es, es - it
    ei = _fd(letter, rng)
    if letter == "k" and not 4 <= grade <= 7:
        ei = 0
    return ei + it, ei


def hole_limits(letter: str, grade: int, rng: tuple[int, int]) -> tuple[float, float]:
    """(upper ES, lower EI) in µm."""
    shaft = letter.lower()
    it = _it(grade, rng)
    if shaft == "js":
        return half_it(grade, it), -half_it(grade, it)
    if shaft == "h":
        return it, 0
    if shaft in UPPER_SIDE:
        ei = _fd(shaft, rng)
        return ei + it, ei
    ei_shaft = _fd(shaft, rng)  # k: the IT4-IT7 value, whatever the hole's grade
    if shaft in ("k", "m", "n"):
        if grade <= 8:
            es = -ei_shaft + delta(grade, rng)
            if shaft == "m" and grade == 6 and rng == (250, 315):
                es = -9  # ISO 286-1 Table 3, special case
        elif shaft == "m":
            es = -ei_shaft
        elif rng == MAIN[0]:
            es = -ei_shaft  # up to 3 mm: K 0, N -4 µm in every grade
        else:
            es = 0
    else:
        es = -ei_shaft + (delta(grade, rng) if grade <= 7 else 0)
    return es, es - it


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render() -> str:
    lines = [
        "# ISO 286-2 limit deviations in micrometres: generated by",
        "# spatial_tools/tolerances/generate_iso286.py from ISO 286-1 Tables 1-3; do not edit by hand.",
        "# Each class: `upto` lists the size ranges' upper limits (mm, a range runs from",
        "# above the previous limit, the first from 0); `upper`/`lower` the deviations per range.",
        "",
        'standard = "ISO 286-1 / ISO 286-2"',
        'unit = "um"',
        f"grades = [{', '.join(str(g) for g in GRADES)}]",
        "max_size = 500",
        "",
        "[it]",
        f"upto = [{', '.join(str(hi) for _, hi in MAIN)}]",
    ]
    for grade in GRADES:
        lines.append(f"IT{grade} = [{', '.join(str(v) for v in IT_TABLE[grade])}]")
    for kind, letters, limits in (("hole", HOLE_LETTERS, hole_limits), ("shaft", SHAFT_LETTERS, shaft_limits)):
        for letter in letters:
            ranges = ranges_of(letter)
            for grade in GRADES:
                pairs = [limits(letter, grade, rng) for rng in ranges]
                lines += [
                    "",
                    f'[{kind}s."{letter}{grade}"]',
                    f"upto = [{', '.join(str(hi) for _, hi in ranges)}]",
                    f"upper = [{', '.join(_fmt(u) for u, _ in pairs)}]",
                    f"lower = [{', '.join(_fmt(lo) for _, lo in pairs)}]",
                ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    parser.add_argument("--report", action="store_true", help="list cells where formula and table differ")
    args = parser.parse_args(argv)
    notes = compare()
    if args.report:
        print(f"{len(notes)} tabulated values differ from their rounded ISO 286-1 formula:")
        for note in notes:
            print("  " + note)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run this script", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""ISO 2768 general tolerances: linear, broken-edge and angular (part 1), geometrical (part 2).

The tables are data in ``resources/iso2768/general_tolerances.toml``, loaded
and checked once. A range runs from above its lower limit up to and including
its upper one; the first range of the linear and broken-edge tables starts at
0.5 mm inclusive. Cells the standard leaves empty ("—") are refused with a
message, never turned into a number.
"""

from __future__ import annotations

import math
import re
import tomllib
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache

from freecad_spatial import RESOURCES

TABLE_FILE = RESOURCES / "iso2768" / "general_tolerances.toml"

PART1_KINDS = ("linear", "broken_edge", "angular")
PART2_KINDS = ("straightness", "flatness", "perpendicularity", "symmetry", "runout")
KINDS = PART1_KINDS + PART2_KINDS
_TABLE_OF = {"straightness": "straightness_flatness", "flatness": "straightness_flatness"}
_DESIGNATION = re.compile(r"^\s*(?:(?:ISO|DIN)\s*(?:ISO\s*)?2768\s*[-–]?\s*)?([fmcvFMCV])?\s*([HKLhkl])?\s*$")


class GeneralToleranceError(ValueError):
    """A class, kind or size the tables do not cover; the message names what they do."""


@dataclass(frozen=True)
class Table:
    name: str
    standard: str
    unit: str
    start: float
    upto: tuple[float, ...]
    values: dict[str, tuple[float | None, ...]]
    text: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class GeneralTolerance:
    kind: str
    tolerance_class: str
    nominal: float
    tolerance: float  # ± for part 1 (mm or degrees), the zone width for part 2 (mm)
    unit: str
    standard: str
    size_range: tuple[float, float | None]  # (above, up to and including); None: no upper limit
    text: str | None = None

    def as_dict(self) -> dict:
        out = {
            "kind": self.kind,
            "class": self.tolerance_class,
            "nominal": self.nominal,
            "tolerance": self.tolerance,
            "unit": self.unit,
            "standard": self.standard,
            "size_range": list(self.size_range),
        }
        if self.kind in PART1_KINDS:
            out["upper"], out["lower"] = self.tolerance, -self.tolerance
        if self.text:
            out["text"] = self.text
        return out


def _limit(value: float | str) -> float:
    return math.inf if value == "inf" else float(value)


@cache
def tables() -> dict[str, Table]:
    with open(TABLE_FILE, "rb") as fh:
        raw = tomllib.load(fh)
    out = {}
    for name, entry in raw.items():
        upto = tuple(_limit(u) for u in entry["upto"])
        if list(upto) != sorted(set(upto)):
            raise ValueError(f"{TABLE_FILE.name} [{name}]: upto must increase")
        classes = {k: v for k, v in entry.items() if len(k) == 1}
        values = {}
        for cls, row in classes.items():
            if len(row) != len(upto):
                raise ValueError(f"{TABLE_FILE.name} [{name}].{cls}: {len(row)} values for {len(upto)} ranges")
            if any(v != -1 and v <= 0 for v in row):
                raise ValueError(f"{TABLE_FILE.name} [{name}].{cls}: tolerances must be positive (-1: undefined)")
            values[cls] = tuple(None if v == -1 else float(v) for v in row)
        text = {k: tuple(v) for k, v in entry.get("text", {}).items()}
        out[name] = Table(name, entry["standard"], entry["unit"], float(entry["from"]), upto, values, text)
    return out


def parse_class(designation: str, kind: str) -> str:
    """The class letter for ``kind`` out of 'm', 'K', 'mK', 'ISO 2768-mK'."""
    match = _DESIGNATION.match(designation) if isinstance(designation, str) else None
    part1, part2 = (match.group(1), match.group(2)) if match else (None, None)
    wanted = part1.lower() if kind in PART1_KINDS and part1 else part2.upper() if kind not in PART1_KINDS and part2 else None
    if wanted is None:
        need = "f, m, c or v (ISO 2768-1)" if kind in PART1_KINDS else "H, K or L (ISO 2768-2)"
        raise GeneralToleranceError(f"class '{designation}' gives no class for {kind} tolerances: use {need}, e.g. 'mK'")
    return wanted


def general_tolerance(nominal: float, designation: str, kind: str = "linear") -> GeneralTolerance:
    """The general tolerance of ``kind`` for ``nominal`` (a length in mm; for angles, the shorter leg)."""
    if kind not in KINDS:
        raise GeneralToleranceError(f"kind '{kind}' is not supported; kinds: {', '.join(KINDS)}")
    table = tables()[_TABLE_OF.get(kind, kind)]
    cls = parse_class(designation, kind)
    if cls not in table.values:
        raise GeneralToleranceError(f"class '{cls}' has no {kind} table; classes: {', '.join(table.values)}")
    if not isinstance(nominal, (int, float)) or math.isnan(nominal) or nominal < table.start or nominal > table.upto[-1]:
        top = "" if math.isinf(table.upto[-1]) else f" up to {table.upto[-1]:g}"
        below = " (below 0.5 mm ISO 2768-1 asks for the deviations next to the nominal size)" if table.start == 0.5 else ""
        raise GeneralToleranceError(f"{kind} nominal {nominal} {table.unit if kind != 'angular' else 'mm'} is outside "
                                    f"{table.standard}: from {table.start:g}{top} mm{below}")
    i = bisect_left(table.upto, nominal)
    lower = table.start if i == 0 else table.upto[i - 1]
    upper = None if math.isinf(table.upto[i]) else table.upto[i]
    value = table.values[cls][i]
    span = ("from" if i == 0 and lower > 0 else "over") + f" {lower:g}" + (f" up to {upper:g}" if upper is not None else "") + " mm"
    if value is None:
        defined = [c for c, row in table.values.items() if row[i] is not None]
        raise GeneralToleranceError(f"{table.standard} defines no class '{cls}' tolerance {span}; "
                                    f"classes there: {', '.join(defined)}")
    text = table.text.get(cls, (None,) * len(table.upto))[i]
    return GeneralTolerance(kind, cls, float(nominal), value, table.unit, table.standard, (lower, upper), text)

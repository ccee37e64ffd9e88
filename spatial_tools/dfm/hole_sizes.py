"""Standard hole sizes: drills, ISO 273 clearance holes and tap drills, metric and inch.

A drilled Ø is standard when it matches one of these within its tolerance:
a drill of the series (± the profile's matching tolerance), a clearance
hole of ISO 273 (from the nominal up to the nominal + IT of the grade the
series is made to: fine H12, medium H13, coarse H14), or the tap drill of a
thread. Inch parts are matched against the inch drills (number, letter,
fractional) and UNC/UNF tap drills. The tables are data under
``resources/hole_sizes/`` (and the metric drill table a profile names).
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from freecad_spatial import RESOURCES

from .profiles import drill_sizes

TABLES = RESOURCES / "hole_sizes"
INCH = 25.4  # mm


@dataclass(frozen=True)
class Standard:
    """One standard size: its nominal Ø and the Ø range that matches it (mm), and what it is."""

    nominal: float
    low: float
    high: float
    name: str  # "Ø6.6 drill", "ISO 273 medium clearance for M6", "letter F drill (0.257 in)"
    kind: str  # drill | clearance | tap_drill


@dataclass(frozen=True)
class Thread:
    """A standard thread: designation, major Ø and pitch (mm), and its usual tap drill (mm)."""

    name: str
    major: float
    pitch: float
    tap_drill: float
    system: str  # metric | inch


@cache
def _read(name: str) -> dict:
    path = TABLES / name
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _it(rows: list, size: float, grade: str) -> float:
    """IT12/IT13/IT14 (mm) at ``size``: the upper deviation of an H hole of that grade."""
    column = {"H12": 2, "H13": 3, "H14": 4}[grade]
    for row in rows:
        if row[0] < size <= row[1]:
            return float(row[column])
    raise ValueError(f"iso273.toml: no IT row for Ø{size:g}")


def _inch_text(value_in: float) -> str:
    return f"{value_in:.4f}".rstrip("0").rstrip(".") + " in"


@cache
def metric_threads() -> tuple[Thread, ...]:
    return tuple(Thread(n, float(d), float(p), float(t), "metric") for n, d, p, t in _read("threads_metric.toml")["threads"])


@cache
def inch_threads() -> tuple[Thread, ...]:
    return tuple(
        Thread(n, float(d) * INCH, INCH / float(tpi), float(t) * INCH, "inch")
        for n, d, tpi, t in _read("threads_inch.toml")["threads"]
    )


@cache
def inch_drills() -> tuple[tuple[str, float], ...]:
    """(name, Ø in inch) of every inch drill, ascending."""
    data = _read("drills_inch.toml")
    drills = [(f"#{k} drill", float(v)) for k, v in data["number"].items()]
    drills += [(f"letter {k} drill", float(v)) for k, v in data["letter"].items()]
    frac = data["fractional"]
    den = int(frac["denominator"])
    first, last = round(float(frac["from"]) * den), round(float(frac["to"]) * den)
    for k in range(first, last + 1):
        drills.append((f"{_fraction(k, den)} in drill", k / den))
    return tuple(sorted(drills, key=lambda d: d[1]))


def _fraction(k: int, den: int) -> str:
    import math

    whole, rest = divmod(k, den)
    if rest == 0:
        return f"{whole}"
    g = math.gcd(rest, den)
    part = f"{rest // g}/{den // g}"
    return f"{whole} {part}" if whole else part


@cache
def standards(system: str, drill_table: str, tolerance_mm: float, tolerance_in: float) -> tuple[Standard, ...]:
    """Every standard Ø of ``system`` ('metric' or 'inch') with the range that matches it, ascending."""
    found: list[Standard] = []
    if system == "inch":
        tol = tolerance_in * INCH
        for name, d in inch_drills():
            mm = d * INCH
            found.append(Standard(mm, mm - tol, mm + tol, f"{name} ({_inch_text(d)})", "drill"))
        for t in inch_threads():
            found.append(Standard(t.tap_drill, t.tap_drill - tol, t.tap_drill + tol,
                                  f"tap drill for {t.name} ({_inch_text(t.tap_drill / INCH)})", "tap_drill"))
    else:
        tol = tolerance_mm
        for d in drill_sizes(drill_table):
            found.append(Standard(d, d - tol, d + tol, f"Ø{d:g} drill", "drill"))
        iso = _read("iso273.toml")
        grades = iso["grades"]
        series = ("fine", "medium", "coarse")
        for row in iso["sizes"]:
            size, values = row[0], row[1:]
            for which, d in zip(series, values, strict=True):
                grade = grades[which]
                upper = _it(iso["it"], float(d), grade)
                found.append(Standard(float(d), float(d) - tol, float(d) + upper + tol,
                                      f"ISO 273 {which} clearance for {size} (Ø{d:g} {grade})", "clearance"))
        for t in metric_threads():
            found.append(Standard(t.tap_drill, t.tap_drill - tol, t.tap_drill + tol, f"tap drill for {t.name} (Ø{t.tap_drill:g})", "tap_drill"))
    found.sort(key=lambda s: (s.nominal, s.kind))
    return tuple(found)


def match(diameter: float, table: tuple[Standard, ...]) -> Standard | None:
    """The standard ``diameter`` (mm) matches, the nearest nominal first; None when off every one."""
    hits = [s for s in table if s.low <= diameter <= s.high]
    return min(hits, key=lambda s: abs(s.nominal - diameter)) if hits else None


def neighbours(diameter: float, table: tuple[Standard, ...], kind: str = "drill") -> tuple[Standard | None, Standard | None]:
    """The standards of ``kind`` just below and just above ``diameter`` (None past the table's ends)."""
    sizes = [s for s in table if s.kind == kind]
    nominals = [s.nominal for s in sizes]
    i = bisect.bisect_left(nominals, diameter)
    return (sizes[i - 1] if i > 0 else None), (sizes[i] if i < len(sizes) else None)


def largest_drill(table: tuple[Standard, ...]) -> float:
    return max(s.nominal for s in table if s.kind == "drill")


def thread_named(major: float, pitch: float | None, major_tol: float, pitch_tol: float) -> Thread | None:
    """The standard thread with this major Ø and pitch (mm), metric first; None when none fits."""
    best = None
    for t in (*metric_threads(), *inch_threads()):
        if abs(t.major - major) > major_tol * t.pitch + 0.02:
            continue
        if pitch is not None and abs(t.pitch - pitch) > pitch_tol * t.pitch:
            continue
        score = abs(t.major - major) + (abs(t.pitch - pitch) if pitch is not None else 0.0)
        if best is None or score < best[0]:
            best = (score, t)
    return best[1] if best else None


def thread_by_name(name: str) -> Thread | None:
    """A standard thread by its designation: 'M5' or 'M5x0.8' (FreeCAD 1.1 names coarse threads with
    their pitch), 'M10x1.25', '1/4-20 UNC' or '1/4-20'."""
    key = name.replace(" ", "").lower()
    everything = (*metric_threads(), *inch_threads())
    for t in everything:
        own = t.name.replace(" ", "").lower()
        if key in (own, own.removesuffix("unc"), own.removesuffix("unf")):
            return t
    m = re.fullmatch(r"m([\d.]+)x([\d.]+)", key)
    if m:
        major, pitch = float(m.group(1)), float(m.group(2))
        return next((t for t in metric_threads() if abs(t.major - major) < 1e-6 and abs(t.pitch - pitch) < 1e-6), None)
    return None


def table_path(name: str) -> Path:
    return TABLES / name

"""NIST's expected PMI (CTC-FTC-Test-Cases.csv) parsed, and imported PMI scored against it.

NIST writes each annotation as drawing text: ``⊕ | ∅.05(M) | A | B(M) | C(M)``
for a feature control frame, ``A`` for a datum feature, ``∅20 +0.05/-0.10``
for a dimension, in the drawing's units (inches for the inch models). Scoring
converts those values to millimetres and matches each row one-to-one with an
imported annotation of the same kind; how, is spelled out in ``MATCHING``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MATCHING = (
    "One-to-one greedy matching per test case and annotation type. Tolerance rows: same characteristic "
    "(from NIST's 'Annotation Type'), zone value equal within 0.1 % after converting inch models' values "
    "to mm (x25.4), or, for rows left after that exact pass, equal at the precision NIST writes it ('0.25' "
    "for the file's 0.254, which the file itself qualifies to 2 decimals), and for 'strict' also the diameter-zone flag, the material modifier and the datum "
    "references in order with their modifiers; a composite/stacked frame ('... / .01 | D') needs one "
    "imported tolerance per segment and consumes them all. Datum feature rows: same letter among imported "
    "datum features. Dimension rows: nominal equal within 0.1 % (degrees for angles), and for 'strict' "
    "also the +/- deviations or limits when NIST gives them; a nominal NIST writes rounded ('.56') matches the file's "
    "exact value (0.5625) at the precision written, rounded half-up as drawings do (0.4375 is '.438', 0.045 is '.05'; "
    "exact values are matched first, so a rounded match never takes a row an exact one needs). Rows NIST's list "
    "gets wrong against the file are corrected from ``ERRATA`` (each with its evidence) and listed by the bench. Precision = matched imported annotations / "
    "imported annotations of that type (dimensions without a value, XDE's 'DimensionPresentation', are "
    "not counted). Face links are not compared with NIST (the CSV names no faces); 'linked' counts "
    "matched imported annotations whose every face was mapped onto a FreeCAD face."
)

INCH = 25.4
TYPE_CHARACTERISTIC = {
    "Position tolerance": "position",
    "Surface profile tolerance": "profile_of_a_surface",
    "Line profile tolerance": "profile_of_a_line",
    "Perpendicularity tolerance": "perpendicularity",
    "Parallelism tolerance": "parallelism",
    "Angularity tolerance": "angularity",
    "Flatness tolerance": "flatness",
    "Straightness tolerance": "straightness",
    "Roundness tolerance": "circularity",
    "Cylindricity tolerance": "cylindricity",
    "Circular runout tolerance": "circular_runout",
    "Total runout tolerance": "total_runout",
    "Coaxiality tolerance": "concentricity",
    "Symmetry tolerance": "symmetry",
}
DIMENSION_TYPES = ("Dimension", "Dimension - hole", "Dimension - other")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"


@dataclass
class Segment:
    """One line of a feature control frame: zone, Ø, material modifier, datums."""

    value: float
    diameter: bool = False
    material: str = "none"
    datums: list[str] = field(default_factory=list)
    spherical: bool = False
    decimals: int = 6  # digits NIST writes after the point ('0.25': 2)
    projected: float | None = None  # '(P)50'
    unequal: float | None = None  # '(U)0.5'


@dataclass
class Row:
    """One row of NIST's CSV, parsed."""

    case: str
    text: str
    type: str
    segments: list[Segment] = field(default_factory=list)
    nominal: float | None = None
    deviations: tuple[float, float] | None = None  # (upper, lower), signed
    limits: tuple[float, float] | None = None  # (low, high)
    angular: bool = False
    all_around: bool = False
    whole_part: bool = False  # '(UOS)'
    unit_basis: list[float] = field(default_factory=list)  # '/ .25 X .25'
    individually: int = 0  # '/ 4X INDIVIDUALLY': the count (0: no such note)
    target_label: str = ""  # datum targets: 'A1'
    target_shape: str = ""  # 'point', 'line', 'area', 'rectangle', 'circular curve'
    target_size: float | None = None  # 'K1 ∅0.85'
    movable: bool = False
    erratum: str = ""  # why this row is scored against the file, not as NIST's list writes it (``ERRATA``)


# Rows where NIST's list disagrees with the STEP file it describes, with the evidence; scored against the file.
ERRATA: dict[tuple[str, str], dict[str, Any]] = {
    ("CTC 02", "K1 ∅0.85"): {
        "target_size": 85.0,
        "evidence": "nist_ctc_02_asme1_ap242-e2.stp #55 'target diameter' = LENGTH_MEASURE(85.) in #22285 "
                    "SI_UNIT(.MILLI.,.METRE.) (the file's length unit is mm) for PLACED_DATUM_TARGET_FEATURE #110 "
                    "(circle, datum K); the list writes ∅0.85",
    },
}


def _material(text: str) -> str:
    return "MMC" if "(M)" in text else "LMC" if "(L)" in text else "none"


def _datum_token(token: str) -> str | None:
    """'B(M)' -> 'B(M)'; 'H(M)-J(M)' kept; zone notes such as '∅0.45 MAX' -> None."""
    token = re.sub(r"\(All Around\)|\(UOS\)|\(Oriented\)", "", token).strip()
    if not token or not token[0].isalpha() or not token[0].isupper():
        return None
    return token.replace(" ", "")


def parse_segment(text: str) -> Segment | None:
    """'∅.05(M) | A | B(M)' (symbol already removed) -> Segment; None when it is a note, not a frame line."""
    cells = [c.strip() for c in text.split("|")]
    zone = cells[0]
    m = re.match(r"^(S?∅)?\s*(" + _NUMBER + r")", zone)
    if not m:
        return None
    datums = [d for d in (_datum_token(c) for c in cells[1:]) if d]
    projected = re.search(r"\(P\)\s*(" + _NUMBER + ")", zone)
    unequal = re.search(r"\(U\)\s*(" + _NUMBER + ")", zone)
    return Segment(
        value=float(m.group(2)),
        diameter=bool(m.group(1)),
        material=_material(zone),
        datums=datums,
        spherical=(m.group(1) or "").startswith("S"),
        decimals=len(m.group(2).partition(".")[2]) if "." in m.group(2) else 0,
        projected=float(projected.group(1)) if projected else None,
        unequal=float(unequal.group(1)) if unequal else None,
    )


def parse_frame(text: str) -> list[Segment]:
    """Every tolerance line of a frame: the first, then composite or stacked lines ('/ .01 | D')."""
    parts = [p.strip() for p in text.split(" / ")]
    segments: list[Segment] = []
    for n, part in enumerate(parts):
        head = part.split("|", 1)[0].strip()
        has_symbol = "|" in part and (n == 0 or (bool(head) and not re.search(r"\d", head)))
        body = part.split("|", 1)[1] if has_symbol else part
        if n > 0 and not has_symbol and "|" not in part:
            continue  # a note: '2 SURFACES', 'A ↔ B', '.25 X .25', 'SIM REQT 1'
        seg = parse_segment(body)
        if seg is not None:
            segments.append(seg)
    return segments


def parse_dimension(text: str) -> tuple[float | None, tuple[float, float] | None, tuple[float, float] | None, bool]:
    """'2X ∅.438 ±.005' -> nominal, (upper, lower) deviations, (low, high) limits, angular."""
    body = re.sub(r"^\s*\d+X\s+", "", text.strip())
    angular = "°" in body.split("X ")[0] if " X " in body else "°" in body
    m = re.search(r"(\d*\.?\d+)\s*-\s*(\d*\.?\d+)", body.replace("R0.", "R 0."))
    numbers = re.findall(r"\d*\.\d+|\d+", body)
    if not numbers:
        return None, None, None, angular
    nominal = float(numbers[0])
    pm = re.search(r"±\s*(\d*\.?\d+)", body)
    if pm:
        t = float(pm.group(1))
        return nominal, (t, -t), None, angular
    ul = re.search(r"([+-]?\s*\d*\.?\d+)\s*/\s*([+-]?\s*\d*\.?\d+)", body)
    if ul:
        a, b = (float(x.replace(" ", "")) for x in ul.groups())
        if ul.group(1).strip()[0] in "+-0" and ul.group(2).strip()[0] in "+-0":
            return nominal, (a, b), None, angular
        return (a + b) / 2, None, (min(a, b), max(a, b)), angular  # '∅35.2/34.8': limits
    if m and not body.startswith("("):
        low, high = float(m.group(1)), float(m.group(2))
        return (low + high) / 2, None, (min(low, high), max(low, high)), angular
    return nominal, None, None, angular


def load_rows(csv_path: str | Path) -> list[Row]:
    """NIST's CSV as parsed rows (the header skipped)."""
    rows: list[Row] = []
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        for case, text, kind in csv.reader(handle):
            if case == "Test Case":
                continue
            row = Row(case=case.strip(), text=text.strip(), type=kind.strip())
            if row.type in TYPE_CHARACTERISTIC:
                row.segments = parse_frame(row.text)
                row.all_around = "(All Around)" in row.text
                row.whole_part = "(UOS)" in row.text
                each = re.search(r"/\s*(\d+)\s*X\s+INDIVIDUALLY", row.text, re.I)
                row.individually = int(each.group(1)) if each else 0
                basis = re.search(r" / (?:S?∅\s*)?(" + _NUMBER + r")(?: X (" + _NUMBER + r"))?\s*$", row.text)
                if basis:  # '/ .25 X .25' per unit area, '/ ∅1.0' per circular area, '/ 15' per unit length
                    row.unit_basis = [float(v) for v in basis.groups() if v]
            elif row.type == "Datum target":
                m = re.match(r"([A-Z]+\d+)\s*(?:\(([^)]*)\))?\s*(?:∅\s*(" + _NUMBER + r"))?", row.text)
                if m:
                    row.target_label, row.target_shape = m.group(1), (m.group(2) or "").strip()
                    row.target_size = float(m.group(3)) if m.group(3) else None
                row.movable = "(movable)" in row.text
                fix = ERRATA.get((row.case, row.text))
                if fix:
                    row.target_size, row.erratum = fix["target_size"], fix["evidence"]
            elif row.type in DIMENSION_TYPES:
                row.nominal, row.deviations, row.limits, row.angular = parse_dimension(row.text)
            rows.append(row)
    return rows


def case_of(step_name: str) -> str | None:
    """'nist_ctc_01_asme1_ap242-e1.stp' -> 'CTC 01'; STC models have no rows in the CSV."""
    m = re.match(r"nist_(ctc|ftc|stc)_(\d+)_", Path(step_name).name, re.I)
    return f"{m.group(1).upper()} {m.group(2)}" if m else None


# --- matching -------------------------------------------------------------------------------------


def _close(a: float, b: float, rel: float = 1e-3) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-6


def _imported_datums(record: dict) -> list[str]:
    return [d.replace(" ", "") for d in record.get("datums", [])]


LEVELS = ("value", "datums", "full")


def _same_optional(expected: float | None, got: float | None, scale: float) -> bool:
    if expected is None:
        return not got
    return got is not None and _close(expected * scale, got)


def _segment_matches(seg: Segment, record: dict, scale: float, strict: bool | str, row: Row | None = None, rounded: bool = True) -> bool:
    """``strict``: False/'value' (type + value), True/'datums' (+ Ø, material, datums), 'full' (+ every modifier)."""
    level = {False: "value", True: "datums"}.get(strict, strict) if isinstance(strict, bool) else strict
    if record.get("value") is None:
        return False
    # '0.25' for the file's 0.254, '.05' for its .045: the file's value rounded half-up at NIST's precision
    written = rounds_to(record["value"] / scale, seg.value, seg.decimals)
    if not (_close(seg.value * scale, record["value"]) or (rounded and written)):
        return False
    if level == "value":
        return True
    if not (seg.diameter == record["diameter_zone"] and seg.material == record["material_modifier"] and seg.datums == _imported_datums(record)):
        return False
    if level != "full":
        return True
    if seg.spherical != bool(record.get("spherical_zone")):
        return False
    if not _same_optional(seg.projected, record.get("projected_length"), scale):
        return False
    if not _same_optional(seg.unequal, record.get("unequal_offset"), scale):
        return False
    if row is not None:
        if row.all_around != bool(record.get("all_around")) or row.whole_part != bool(record.get("whole_part")):
            return False
        individually = any("INDIVIDUALLY" in n.upper() for n in record.get("notes", []))
        if bool(row.individually) != individually or (row.individually and row.individually != record.get("count")):
            return False
        basis = [b for b in record.get("unit_basis", []) if b]
        if len(row.unit_basis) != len(basis) or not all(_close(a * scale, b) for a, b in zip(row.unit_basis, basis, strict=False)):
            return False
    return True


def rounds_to(value: float, written: float, decimals: int) -> bool:
    """Whether ``value`` rounded half-up to ``decimals`` places is ``written``: the drawing convention
    (.4375 written to 3 places is .438, .045 to 2 places is .05; half-up and half-even agree on both).
    A margin of 1e-9 absorbs the float noise of inch values converted to mm and back."""
    half = 0.5 * 10 ** -decimals
    return -half - 1e-9 <= value - written < half - 1e-9


def _same_as_written(row: Row, value: float) -> bool:
    """Whether ``value`` (in the drawing's unit) is the nominal NIST writes, at the precision it writes it:
    '.56' for the file's 0.5625 (9/16"), '.438' for its 0.4375 (half-up, see ``rounds_to``)."""
    m = re.search(r"\d*\.(\d+)", re.sub(r"^\s*\d+X\s+", "", row.text))
    if m is None or row.nominal is None:
        return False
    return rounds_to(value, row.nominal, len(m.group(1)))


def _dimension_matches(row: Row, record: dict, scale: float, strict: bool, rounded: bool = True) -> bool:
    if row.nominal is None:
        return False
    factor = 1.0 if row.angular else scale
    size = record.get("size") or {}
    nominal = record["value"] or size.get("nominal", 0.0)
    if row.limits and (record.get("range") or record.get("upper") is not None):
        # '∅34.8 - 35.2': the record's limits, stated as a range or as nominal and deviations
        low, high = record["range"] or (nominal + record["lower"], nominal + record["upper"])
        return _close(row.limits[0] * factor, low) and _close(row.limits[1] * factor, high)
    if not (_close(row.nominal * factor, nominal) or (rounded and _same_as_written(row, nominal / factor))):
        return False
    if not strict or row.deviations is None:
        return True
    if record.get("upper") is None:
        return False
    up, low = row.deviations
    return _close(up * factor, record["upper"], 1e-2) and _close(low * factor, record["lower"], 1e-2)


TARGET_SHAPES = {"point": ("point",), "line": ("line",), "circular curve": ("circular curve",), "rectangle": ("rectangle", "area"),
                 "area": ("area", "rectangle", "circle"), "": ("circle", "area", "rectangle")}


def _target_matches(row: Row, record: dict, scale: float, strict: bool | str) -> bool:
    """Same label; beyond 'value' also the shape, the size NIST states and the movable flag."""
    if row.target_label != record["label"]:
        return False
    if strict in (False, "value"):
        return True
    if record["shape"] not in TARGET_SHAPES.get(row.target_shape, (row.target_shape,)):
        return False
    if row.target_size is not None and not (record["size"] and _close(row.target_size * scale, record["size"][0])):
        return False
    return strict != "full" or row.movable == bool(record.get("movable"))


def _linked(record: dict) -> bool:
    return bool(record.get("faces")) and not record.get("unmatched_faces")


def score_case(rows: list[Row], records: list[dict], file_length_unit: str, strict: bool | str = True) -> dict[str, dict]:
    """Per NIST annotation type: expected, found, imported, matched counts (and face links) for one model."""
    scale = INCH if file_length_unit == "inch" else 1.0
    out: dict[str, dict] = {}
    tolerances = [r for r in records if r["kind"] == "tolerance"]
    dimensions = [r for r in records if r["kind"] == "dimension" and (r["value"] or r.get("range"))]
    datums = [r for r in records if r["kind"] == "datum"]
    used: set[int] = set()

    def entry(kind: str) -> dict:
        return out.setdefault(kind, {"expected": 0, "found": 0, "imported": 0, "imported_matched": 0, "linked": 0, "missed": []})

    for kind, characteristic in TYPE_CHARACTERISTIC.items():
        pool = [i for i, r in enumerate(tolerances) if r["characteristic"] == characteristic]
        kind_rows = [r for r in rows if r.type == kind]
        if not pool and not kind_rows:
            continue
        e = entry(kind)
        e["imported"] = len(pool)
        e["expected"] += len(kind_rows)
        left = kind_rows
        for rounded in (False, True):  # exact values first: a rounded match never takes what an exact one needs
            missed = []
            for row in left:
                taken: list[int] = []
                for seg in row.segments:
                    hit = next((i for i in pool if i not in used and i not in taken
                                and _segment_matches(seg, tolerances[i], scale, strict, row, rounded)), None)
                    if hit is None:
                        taken = []
                        break
                    taken.append(hit)
                if taken:
                    used.update(taken)
                    e["found"] += 1
                    e["imported_matched"] += len(taken)
                    e["linked"] += all(_linked(tolerances[i]) for i in taken)
                else:
                    missed.append(row)
            left = missed
        e["missed"] += [row.text for row in left]

    datum_rows = [r for r in rows if r.type == "Datum feature"]
    if datum_rows or datums:
        e = entry("Datum feature")
        e["imported"] = len(datums)
        free = list(range(len(datums)))
        for row in datum_rows:
            e["expected"] += 1
            hit = next((i for i in free if datums[i]["letter"] == row.text.strip()), None)
            if hit is None:
                e["missed"].append(row.text)
                continue
            free.remove(hit)
            e["found"] += 1
            e["imported_matched"] += 1
            e["linked"] += _linked(datums[hit])

    target_rows = [r for r in rows if r.type == "Datum target"]
    targets = [r for r in records if r["kind"] == "datum_target"]
    if target_rows or targets:
        e = entry("Datum target")
        e["imported"] = len(targets)
        free = list(range(len(targets)))
        for row in target_rows:
            e["expected"] += 1
            hit = next((i for i in free if _target_matches(row, targets[i], scale, strict)), None)
            if hit is None:
                e["missed"].append(row.text)
                continue
            free.remove(hit)
            e["found"] += 1
            e["imported_matched"] += 1
            e["linked"] += _linked(targets[hit])

    dim_rows = [r for r in rows if r.type in DIMENSION_TYPES]
    if dim_rows or dimensions:
        e = entry("Dimension (all kinds)")
        e["imported"] = len(dimensions)
        free = list(range(len(dimensions)))
        # Rows that state deviations or limits first, and each row prefers a record stating as much as it
        # does: a basic '(SR.500)' must not take the '.500 ±.008' a later row needs.
        e["expected"] += len(dim_rows)
        left = sorted(dim_rows, key=lambda r: r.deviations is None and r.limits is None)
        for rounded in (False, True):  # exact nominals first, then those NIST writes rounded
            missed = []
            for row in left:
                toleranced = row.deviations is not None or row.limits is not None
                order = sorted(free, key=lambda i: (dimensions[i].get("upper") is not None or bool(dimensions[i].get("range"))) != toleranced)
                hit = next((i for i in order if _dimension_matches(row, dimensions[i], scale, strict, rounded)), None)
                if hit is None:
                    missed.append(row)
                    continue
                free.remove(hit)
                e["found"] += 1
                e["imported_matched"] += 1
                e["linked"] += _linked(dimensions[hit])
            left = missed
        e["missed"] += [row.text for row in left]
    return out


def summarise(per_case: dict[str, dict[str, dict]]) -> dict[str, dict[str, Any]]:
    """Totals per annotation type over all cases, with recall and precision."""
    totals: dict[str, dict[str, Any]] = {}
    for case in per_case.values():
        for kind, e in case.items():
            t = totals.setdefault(kind, {"expected": 0, "found": 0, "imported": 0, "imported_matched": 0, "linked": 0})
            for key in t:
                t[key] += e[key]
    for t in totals.values():
        t["recall"] = round(t["found"] / t["expected"], 3) if t["expected"] else None
        t["precision"] = round(t["imported_matched"] / t["imported"], 3) if t["imported"] else None
        t["linked_share"] = round(t["linked"] / t["found"], 3) if t["found"] else None
    return totals

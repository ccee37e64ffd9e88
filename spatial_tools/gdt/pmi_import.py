"""Imports the semantic PMI of a STEP AP242 file as GD&T objects linked to FreeCAD faces.

``pmi_reader`` runs in a child process (OpenCASCADE's XDE through the
``cadquery-ocp`` bindings; FreeCAD's own OpenCASCADE build cannot share that
process) and names each face by its geometry. Here every such signature is
looked up among the faces of the same STEP as FreeCAD loads it: a face is
linked only when exactly one FreeCAD face has the same surface type, area,
centroid and normal/axis (and radius) within tolerance; otherwise it is
reported unmatched, never guessed. A frame or size the file ties only to
construction curves in its holes (a thread's 'Thread Cylinder' curve sets, as
NIST CTC 04 and FTC 10 have them) is linked to the cylindrical faces on those
curves' axes (``supplemental_faces``, limits in
``resources/pmi_supplemental_links.toml``) and says so (``inferred_link``).

``read_pmi_records`` gives plain records (``kind``: datum, datum_target,
datum_system, tolerance, dimension, note) with faces as ``Object.FaceN``;
``import_pmi`` turns them into DatumFeature (datum targets too, with their
Target* properties), DatumReferenceFrame, FeatureControlFrame and
SizeDimension (size, location and angular, ``DimensionType``) objects in one
undoable transaction. A record that cannot become an object is listed in
``skipped`` with its reason (``skip_reason``): nothing is dropped silently.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from ... import RESOURCES
from ..annotations import properties as P
from ..annotations.frame_text import frame_text, size_text
from ..annotations.signature import face_signature
from ..annotations.store import link_elements, spatial_group
from ..annotations.transaction import transaction
from ..errors import DeadlineExceeded, ToolError, UnreadableFile
from .pmi_target_symbol import read_symbol
from .reader_venv import venv_python

PYTHON_ENV = "FREECAD_SPATIAL_PMI_PYTHON"
READER = Path(__file__).with_name("pmi_reader.py")
STANDARD = "ASME Y14.5-2018"  # when the file's notes name none; XDE does not carry the standard
# "ASME Y14.5M-1994 APPLIES TO DIMENSIONING AND TOLERANCING" (Y14.41, the dataset standard, is not it).
ASME_NOTE = re.compile(r"\bY\s*14\.5\s*(M?)\s*-\s*(1994|2009|2018)\b", re.IGNORECASE)
ISO_NOTE = re.compile(r"\bISO\s*(?:1101|8015|GPS)\b", re.IGNORECASE)
ASME_EDITIONS = {"1994": "ASME Y14.5M-1994", "2009": "ASME Y14.5-2009", "2018": "ASME Y14.5-2018"}

# Matching tolerances: areas and radii relative, positions against the part's diagonal.
AREA_REL = 1e-3
POSITION_REL = 1e-4
ANGLE_DEG = 0.5


class PmiReaderMissing(ToolError):
    """The OCP bindings the PMI reader needs are not installed."""

    code = "dependency_missing"


def reader_python() -> str:
    """The Python that runs the reader: ``FREECAD_SPATIAL_PMI_PYTHON``, the reader's venv the GUI installs
    (``reader_venv``), this one, or python3 on PATH.

    Inside the FreeCAD GUI ``sys.executable`` is FreeCAD itself, not a Python.
    """
    if os.environ.get(PYTHON_ENV):
        return os.environ[PYTHON_ENV]
    folder = reader_packages_folder()
    if folder is not None and venv_python(folder).is_file():
        return str(venv_python(folder))
    if Path(sys.executable).name.lower().startswith("python"):
        return sys.executable
    return shutil.which("python3") or "python3"


READER_TIMEOUT = 600.0
REQUIREMENTS = RESOURCES / "pmi-reader-requirements.txt"


def reader_requirements() -> list[str]:
    """The pip requirements of the reader (``resources/pmi-reader-requirements.txt``, the ``pmi`` extra)."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def reader_packages_folder(user_data_dir: str | None = None) -> Path | None:
    """Where the GUI installs the reader's packages: ``<FreeCAD user data>/FreeCADSpatial/pmi-reader``.

    Its own folder, never FreeCAD's ``AdditionalPythonPackages``: the bindings carry their own
    OpenCASCADE, which must not load beside FreeCAD's; only the reader's child process sees it.
    None outside FreeCAD (no user data folder): there the ``pmi`` extra is installed with pip.
    """
    if user_data_dir is None:
        freecad = sys.modules.get("FreeCAD")
        getter = getattr(freecad, "getUserAppDataDir", None)
        if getter is None:
            return None
        user_data_dir = getter()
    return Path(user_data_dir) / "FreeCADSpatial" / "pmi-reader"


def reader_env() -> dict[str, str]:
    """The reader's environment: this one without PYTHONHOME, the packages folder first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME",)}
    folder = reader_packages_folder()
    if folder is not None and folder.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(folder), env.get("PYTHONPATH", ""))))
    return env


def reader_missing(timeout: float = 120.0) -> bool:
    """Whether the reader's Python cannot import the bindings (checked in a child process, as the reader runs)."""
    try:
        proc = subprocess.run([reader_python(), "-c", "import OCP.STEPCAFControl"], capture_output=True,
                              timeout=timeout, env=reader_env(), check=False)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return proc.returncode != 0


def start_reader(step_path: str | Path) -> subprocess.Popen:
    """Starts ``pmi_reader`` on ``step_path`` in a child process and returns at once (``reader_result`` waits).

    ``check`` starts it before FreeCAD opens the same file, so the two reads overlap where a second core is free.
    """
    path = Path(step_path)
    if not path.is_file():
        raise UnreadableFile(f"no such file: {path}")
    return subprocess.Popen([reader_python(), str(READER), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=reader_env())


def reader_result(proc: subprocess.Popen, step_path: str | Path, timeout: float = READER_TIMEOUT) -> dict:
    """The JSON of a reader started by ``start_reader``, or a ToolError saying why not; the child is always ended."""
    path = Path(step_path)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeadlineExceeded(f"reading the PMI of {path.name} took longer than {timeout:g} s") from None
    finally:
        stop_reader(proc)
    if proc.returncode == 3:
        raise PmiReaderMissing(err.strip() or "the cadquery-ocp bindings are missing")
    if proc.returncode != 0:
        detail = err.strip().splitlines()[-1] if err.strip() else f"exit code {proc.returncode}"
        raise UnreadableFile(f"cannot read PMI from {path.name}: {detail}")
    return json.loads(out)


def run_reader(step_path: str | Path, timeout: float = READER_TIMEOUT) -> dict:
    """Runs ``pmi_reader`` on ``step_path`` in a child process; its JSON, or a ToolError saying why not."""
    return reader_result(start_reader(step_path), step_path, timeout)


# --- faces ------------------------------------------------------------------------------------


def _signature_distance(a: dict, b: dict, size: float) -> float | None:
    """How far apart two signatures are (0 = same), or None when they are not the same face."""
    if a.get("surface") != b.get("surface"):
        return None
    if abs(a["area"] - b["area"]) > AREA_REL * max(abs(a["area"]), abs(b["area"]), 1e-9):
        return None
    gap = math.dist(a["centroid"], b["centroid"])
    if gap > POSITION_REL * size + 1e-6:
        return None
    if ("radius" in a) != ("radius" in b):
        return None
    if "radius" in a and abs(a["radius"] - b["radius"]) > AREA_REL * max(a["radius"], b["radius"], 1e-9):
        return None
    if ("direction" in a) != ("direction" in b):
        return None
    if "direction" in a:
        dot = sum(x * y for x, y in zip(a["direction"], b["direction"], strict=True))
        if dot < math.cos(math.radians(ANGLE_DEG)):
            return None
    return gap


def _solid_faces(shape: Any) -> set[int]:
    """Indices (0-based, in ``shape.Faces``) of the faces that belong to a solid of ``shape``."""
    solids = shape.Solids
    if not solids or (len(solids) == 1 and len(solids[0].Faces) == len(shape.Faces)):
        return set(range(len(shape.Faces)))
    hashes = {f.hashCode() for solid in solids for f in solid.Faces}
    return {i for i, f in enumerate(shape.Faces) if f.hashCode() in hashes}


def map_faces(signatures: list[dict], shape: Any) -> tuple[list[int | None], list[dict]]:
    """For each reader signature the 0-based index of the one matching face of ``shape``, or None.

    Signatures are compared in the shape's own coordinates (its Placement
    undone), where the STEP file put them. The second value lists why each
    unmatched face was not linked (no candidate, or several).
    """
    to_local = shape.Placement.inverse()
    box = shape.BoundBox
    size = box.DiagonalLength if box.isValid() else 1.0
    ours = [face_signature(face, to_local) for face in shape.Faces]
    in_solid = _solid_faces(shape)
    indices: list[int | None] = []
    unmatched: list[dict] = []
    for n, sig in enumerate(signatures):
        candidates = [i for i, cur in enumerate(ours) if _signature_distance(sig, cur, size) is not None]
        if len(candidates) > 1:
            # A file may carry copies of solid faces outside the solid (NIST FTC 10's supplemental
            # surfaces for its area datum targets): the solid's own face is the one PMI means.
            candidates = [i for i in candidates if i in in_solid] or candidates
        if len(candidates) == 1:
            indices.append(candidates[0])
            continue
        indices.append(None)
        reason = "no face of the same geometry" if not candidates else f"{len(candidates)} faces of the same geometry"
        unmatched.append({"face": n, "signature": sig, "reason": reason})
    return indices, unmatched


# --- records ----------------------------------------------------------------------------------


def _datum_slots(refs: list[dict], with_modifiers: bool = False) -> list[tuple[str, str]]:
    """Datum references grouped by precedence: [('A', 'none'), ('B', 'MMC')]; a common datum is 'A-B'.

    With ``with_modifiers`` each letter carries its (M)/(L) as NIST and our frames write it: 'B(M)'.
    """
    slots: dict[int, list[dict]] = {}
    for ref in refs:
        slots.setdefault(ref["position"], []).append(ref)
    out = []
    for _, group in sorted(slots.items()):
        mods = [r.get("material_modifier", "none") for r in group]
        if with_modifiers:
            text = "-".join(r["letter"] + {"MMC": "(M)", "LMC": "(L)"}.get(m, "") for r, m in zip(group, mods, strict=True))
        else:
            text = "-".join(r["letter"] for r in group)
        out.append((text, next((m for m in mods if m != "none"), "none")))
    return out


def _size_values(dim: dict) -> dict | None:
    """Nominal and signed deviations of a size dimension, or None when it carries no value."""
    value = dim["value"]
    if dim.get("range"):
        low, high = dim["range"]
        nominal = value if value else (low + high) / 2
        return {"nominal": nominal, "upper": high - nominal, "lower": low - nominal}
    if not value:
        return None
    return {"nominal": value, "upper": dim.get("upper") or 0.0, "lower": dim.get("lower") or 0.0}


DIMENSION_KINDS = {"Size": "size", "Location": "location"}


def dimension_type(xcaf_type: str) -> str:
    """XDE's dimension type ('Location_LinearDistance', 'Size_Angular') -> our DimensionType."""
    group = DIMENSION_KINDS.get(xcaf_type.split("_", 1)[0])
    if group is None:
        return "other"
    return f"angular_{group}" if "Angular" in xcaf_type else group


def _count_of(notes: list[str]) -> int:
    """The '4X' of a note such as '4X INDIVIDUALLY' (0 when no note states a count)."""
    for note in notes:
        m = re.match(r"\s*(\d+)\s*X\b", note, re.I)
        if m:
            return int(m.group(1))
    return 0


def _tolerance_record(tol: dict, names: Any, linker: Any = None) -> dict:
    faces, lost = names(tol["faces"])
    inferred = None
    if not tol["faces"] and not tol.get("whole_part"):
        lost = 1  # the file ties it to no face: never shown as linked
        if tol.get("supplemental") and linker is not None:  # only construction curves in its holes (NIST CTC 04's threads)
            faces, lost, inferred = linker(tol["supplemental"])
    basis = tol.get("unit_basis") or {}
    return {
        "kind": "tolerance",
        "characteristic": tol["characteristic"],
        "value": tol["value"],
        "diameter_zone": tol["diameter_zone"],
        "spherical_zone": bool(tol.get("spherical_zone")),
        "material_modifier": tol["material_modifier"],
        "modifiers": tol["modifiers"],
        "other_modifiers": tol["other_modifiers"],
        "projected_length": tol.get("projected_length"),
        "unequal_offset": tol.get("unequal_offset"),
        "unit_basis": [b for b in basis.get("size", []) if b],
        "all_around": bool(tol.get("all_around")),
        "all_over": bool(tol.get("all_over")),
        "whole_part": bool(tol.get("whole_part")),
        "notes": list(tol.get("notes", [])),
        "count": _count_of(tol.get("notes", [])),
        "datums": [text for text, _ in _datum_slots(tol["datums"], with_modifiers=True)],
        "name": tol.get("name") or "",
        "source": tol.get("source", "xde"),
        "faces": faces,
        "unmatched_faces": lost,
        "inferred_link": inferred,
    }


MOVABLE_SOURCES = {
    "semantic": "stated by the file (CAx-IF 'movable direction')",
    "symbol_graphics": "read from the target symbol's graphics (the file's semantic PMI does not state it)",
}


def _movable(target: dict) -> dict:
    """Movable flag, direction and where they came from: the file's semantic PMI first, else the drawn symbol.

    ``symbol`` says what the drawing shows ('movable', 'plain', 'none'), so a
    reader of the summary sees why a target is not movable too.
    """
    drawn = read_symbol(target.get("presentation") or [])
    if target.get("movable_direction") is not None or target.get("movable_source") == "semantic":
        return {"movable": True, "movable_direction": target.get("movable_direction"), "movable_source": "semantic", "symbol": drawn["symbol"]}
    if drawn["symbol"] == "movable":
        return {"movable": True, "movable_direction": drawn["direction"], "movable_source": "symbol_graphics", "symbol": "movable"}
    return {"movable": bool(target.get("movable")), "movable_direction": None, "movable_source": None, "symbol": drawn["symbol"]}


def pmi_records(pmi: dict, face_names: list[str | None], target_faces: dict[str, list[str]] | None = None,
                linker: Any = None) -> list[dict]:
    """The reader's output as plain records whose faces are ``Object.FaceN`` names (unmatched left out).

    ``target_faces`` (datum target label -> faces) links the datum targets
    placed by a point; a datum defined only by targets is linked to their faces.
    ``linker`` (``supplemental_linker``) links a frame or size the file ties only to
    construction curves in holes; such a record carries ``inferred_link``, why.
    """
    target_faces = target_faces or {}

    def names(indices: list[int]) -> tuple[list[str], int]:
        found = [face_names[i] for i in indices if face_names[i] is not None]
        return found, len(indices) - len(found)

    targets = []
    for target in pmi.get("datum_targets", []):
        faces, lost = names(target["faces"])
        if not target["faces"]:
            faces = target_faces.get(target["label"], [])
            lost = 0 if faces or target["point"] is None else 1
        size = [v for v in (target["length"], target["width"]) if v]
        targets.append({"kind": "datum_target", "label": target["label"], "letter": target["letter"], "number": target["number"],
                        "type": target["type"], "shape": target["shape"], "size": size, "point": target["point"],
                        **_movable(target), "faces": faces, "unmatched_faces": lost})
    records: list[dict] = []
    for datum in pmi["datums"]:
        faces, lost = names(datum["faces"])
        own = [t for t in targets if t["letter"] == datum["letter"]]
        if not datum["faces"] and own:  # a datum established by its targets sits on their faces
            faces = list(dict.fromkeys(f for t in own for f in t["faces"]))
            lost = sum(t["unmatched_faces"] for t in own)
        elif not datum["faces"]:
            lost = 1  # the file names no face for it: never linked, and said so
        records.append({"kind": "datum", "letter": datum["letter"], "target": datum["target"], "faces": faces, "unmatched_faces": lost})
    records += targets
    systems: list[tuple] = []
    for tol in pmi["tolerances"]:
        key = tuple(_datum_slots(tol["datums"]))
        if key and key not in systems:
            systems.append(key)
            slots = ("primary", "secondary", "tertiary")
            record: dict[str, Any] = {"kind": "datum_system", "modifiers": {}}
            for slot, (letters, modifier) in zip(slots, key, strict=False):
                record[slot] = letters
                if modifier != "none":
                    record["modifiers"][slot] = modifier
            records.append(record)
        records.append(_tolerance_record(tol, names, linker))
    for index, dim in enumerate(pmi["dimensions"], start=1):
        faces, lost = names(dim["faces"] + dim.get("faces2", []))
        kind = dimension_type(dim["type"])
        inferred, thread = None, None
        if dim.get("supplemental"):  # a size on construction curves only: a thread's '4X M12x1.75-6H' (NIST CTC 04)
            lost = len(dim["supplemental"])
            if linker is not None:
                faces, lost, inferred = linker(dim["supplemental"])
            thread = thread_designation(dim.get("presentation_texts", []), dim["value"])
            if thread and inferred:
                inferred += f"; thread {thread} read from the text its drawn callout shows (CAx-IF 'equivalent unicode string')"
        records.append(
            {
                "kind": "dimension",
                "type": dim["type"],
                "index": index,
                "dimension_type": kind,
                "value": dim["value"],
                "upper": dim["upper"],
                "lower": dim["lower"],
                "range": dim["range"],
                "angular": dim["angular"],
                "size": _size_values(dim) if kind != "other" else None,
                "faces": faces,
                "unmatched_faces": lost,
                "inferred_link": inferred,
                "thread": thread,
                "count": len(dim["supplemental"]) if dim.get("supplemental") and len(dim["supplemental"]) > 1 else 0,
            }
        )
    places = pmi.get("note_places")
    if places is None:  # an older reader: the notes without their faces
        places = [{"text": text, "axes": []} for text in pmi.get("notes", [])]
    tolerances = [r for r in records if r["kind"] == "tolerance"]
    scale = 25.4 if pmi.get("file_length_unit") == "inch" else 1.0
    for place in places:
        limit = note_dimension(place["text"], scale)
        if limit is not None:
            faces, lost = names(place.get("faces", []))
            records.append(limit | {"index": len(records) + 1, "faces": faces, "unmatched_faces": lost if place.get("faces") else 1})
            continue
        records.append(attach_loose_note(place, tolerances, pmi["tolerances"], pmi["datums"]))
    return records


SUPPLEMENTAL_LINKS_FILE = RESOURCES / "pmi_supplemental_links.toml"


@cache
def supplemental_limits() -> dict:
    """The limits of the supplemental-curves link rule (``resources/pmi_supplemental_links.toml``)."""
    import tomllib

    with open(SUPPLEMENTAL_LINKS_FILE, "rb") as handle:
        return tomllib.load(handle)


def thread_designation(texts: list[str], nominal: float | None = None) -> str | None:
    """The thread designation a callout shows ('M12x1.75-6H'), None when its texts hold none.

    A metric one must name the size's own nominal diameter (M12 on a 12 mm
    size), so a text that belongs to something else is not taken.
    """
    for text in texts:
        for pattern in supplemental_limits()["designations"]:
            m = re.search(pattern, text)
            if m is None:
                continue
            found = " ".join(m.group(0).split())
            metric = re.match(r"M(\d+(?:\.\d+)?)", found)
            if metric and nominal is not None and abs(float(metric.group(1)) - nominal) > 1e-6 * max(1.0, nominal):
                continue
            return found
    return None


def supplemental_faces(cylinders: list[dict], shape: Any, object_name: str, limits: dict | None = None) -> tuple[list[str], int]:
    """The faces of ``shape`` on the axes of construction cylinders (reader's ``supplemental``), and how many found none.

    A face is linked when it is a cylinder on the same axis (direction and
    offset within the limits), its radius within the ratio range of the
    curves' radius, and, when the curves give a length, it covers enough of it.
    """
    import FreeCAD
    import Part

    limits = limits or supplemental_limits()
    cos_limit = math.cos(math.radians(float(limits["axis_angle_deg"])))
    out: list[str] = []
    missing = 0
    rotation = shape.Placement.Rotation
    for cyl in cylinders:
        point = shape.Placement.multVec(FreeCAD.Vector(*cyl["point"]))
        axis = rotation.multVec(FreeCAD.Vector(*cyl["direction"]))
        radius = float(cyl["radius"])
        if axis.Length < 1e-12 or not math.isfinite(radius) or radius <= 0:  # a degenerate circle in the file
            missing += 1
            continue
        axis.normalize()
        hits = []
        for i, face in enumerate(shape.Faces):
            surface = face.Surface
            if not isinstance(surface, Part.Cylinder):
                continue
            direction = FreeCAD.Vector(surface.Axis)
            direction.normalize()
            if abs(direction.dot(axis)) < cos_limit:
                continue
            ratio = surface.Radius / radius
            if not float(limits["radius_ratio_min"]) <= ratio <= float(limits["radius_ratio_max"]):
                continue
            gap = surface.Center - point
            off = (gap - axis * gap.dot(axis)).Length
            if off > float(limits["axis_offset"]) * radius:
                continue
            if cyl.get("span"):
                lo, hi = cyl["span"]
                along = [(v.Point - point).dot(axis) for v in face.Vertexes]
                if not along:
                    continue
                cover = min(hi, max(along)) - max(lo, min(along))
                if cover < float(limits["min_overlap"]) * (hi - lo):
                    continue
            hits.append(f"{object_name}.Face{i + 1}")
        if not hits:
            missing += 1
        out += [h for h in hits if h not in out]
    return out, missing


def supplemental_linker(shape: Any, object_name: str) -> Any:
    """``pmi_records``' linker for ``shape``: supplemental cylinders -> (faces, cylinders not found, why inferred)."""
    limits = supplemental_limits()

    def link(cylinders: list[dict]) -> tuple[list[str], int, str]:
        faces, missing = supplemental_faces(cylinders, shape, object_name, limits)
        names = sorted({c.get("name") or "curves" for c in cylinders})
        axes = f"{len(cylinders)} axes" if len(cylinders) > 1 else "one axis"
        why = (f"inferred from geometry: the file ties it only to construction curves ({', '.join(repr(n) for n in names)}) "
               f"on {axes}; linked to the cylindrical faces on those axes (rule: resources/pmi_supplemental_links.toml)")
        return faces, missing, why

    return link


_LIMIT_NOTE = re.compile(r"^\s*(?:(\d+)\s*X\s+)?(S?R|S?∅|⌀)\s*(\d*\.?\d+)\s+(MAX|MIN)\s*$", re.I)


def note_dimension(text: str, scale: float = 1.0) -> dict | None:
    """A note that is a size with one limit ('4X R0.15 MAX' on NIST FTC 10) as a dimension record; None otherwise.

    The value is in the file's length unit (``scale`` to mm). A MAX size is 0
    up to the value: nominal the value, upper deviation 0, lower down to 0;
    a MIN size has no upper bound an object can hold, so it stays a note.
    """
    m = _LIMIT_NOTE.match(text)
    if m is None or m.group(4).upper() != "MAX":
        return None
    value = float(m.group(3)) * scale
    symbol = m.group(2).upper().replace("⌀", "∅")
    return {"kind": "dimension", "type": f"note '{' '.join(text.split())}'", "dimension_type": "size", "value": value,
            "upper": None, "lower": None, "range": [0.0, value], "angular": False, "limit": "max", "symbol": symbol,
            "count": int(m.group(1) or 0), "size": {"nominal": value, "upper": 0.0, "lower": -value}}


NOTE_HOLES_FILE = RESOURCES / "pmi_note_holes.toml"


def _note_hole_limits() -> dict[str, float]:
    import tomllib

    with open(NOTE_HOLES_FILE, "rb") as handle:
        return {k: float(v) for k, v in tomllib.load(handle).items()}


def distinct_axes(axes: list[dict], limits: dict[str, float]) -> list[dict]:
    """One entry per axis line (a hole split into two half-cylinder faces is one hole)."""
    out: list[dict] = []
    for axis in axes:
        if not any(same_axis(axis, known, limits) for known in out):
            out.append(axis)
    return out


def same_axis(a: dict, b: dict, limits: dict[str, float]) -> bool:
    """Whether two cylinder axes are one line: parallel, and each point on the other's line."""
    da, db = a["direction"], b["direction"]
    cos = abs(sum(x * y for x, y in zip(da, db, strict=True)))
    if cos < math.cos(math.radians(limits["axis_angle_deg"])):
        return False
    d = [p - q for p, q in zip(a["point"], b["point"], strict=True)]
    along = sum(x * y for x, y in zip(d, db, strict=True))
    off = math.sqrt(max(0.0, sum(x * x for x in d) - along * along))
    return off <= limits["axis_offset"] * min(a["radius"], b["radius"])


def attach_loose_note(place: dict, tolerances: list[dict], stated: list[dict], datums: list[dict] | None = None) -> dict:
    """A note the file ties to no frame: added to its frame when the file shows which one, else a note record saying why not.

    Only a count note ('4X INDIVIDUALLY') goes onto a frame. Its frame is, first,
    the one frame referencing the datum whose feature holds the note's faces
    (ASME: INDIVIDUALLY takes a pattern datum feature hole by hole, as NIST
    FTC 06's F); else the one frame on the same holes (every hole axis of the
    note is one of the frame's). The count must be the holes' number either way.
    Returns the note record (``attached_to`` set when it went onto a frame).
    """
    limits = _note_hole_limits()
    record: dict[str, Any] = {"kind": "note", "text": place["text"]}
    note_axes = distinct_axes(place.get("axes", []), limits)
    count = _count_of([place["text"]])
    if not note_axes:
        record["reason"] = "a note (semantic text) the file ties to no frame or datum, on no hole: listed here, not imported as an object"
        return record
    sizes = sorted({round(2 * a["radius"], 4) for a in note_axes})
    where = f"{len(note_axes)} hole(s) ∅{', ∅'.join(f'{d:g}' for d in sizes)} mm"
    if not count:
        record["reason"] = f"its faces ({where}) are holes, but it states no count ('4X'): not a frame's note; listed here, not imported"
        return record
    faces = set(place.get("faces", []))
    reasons = []
    for datum in datums or []:
        if not faces or not faces <= set(datum["faces"]):
            continue
        holes = len(distinct_axes(datum.get("hole_axes", []), limits))
        users = [tol for tol in tolerances if datum["letter"] in (re.split(r"[^A-Z]", d)[0] for d in tol["datums"])]
        if len(users) == 1 and holes == count:
            return _attach(record, place["text"], users[0], count, f"on the holes of datum feature {datum['letter']} ({where}), which this frame references")
        reasons.append(f"its faces lie on datum feature {datum['letter']} ({holes} holes), referenced by {len(users)} frames")
    same = []
    for tol, raw in zip(tolerances, stated, strict=True):
        frame_axes = distinct_axes(raw.get("hole_axes", []), limits)
        if frame_axes and all(any(same_axis(n, f, limits) for f in frame_axes) for n in note_axes):
            same.append((tol, len(frame_axes)))
    fitting = [tol for tol, n in same if n == count]
    if len(fitting) == 1 and not reasons:
        return _attach(record, place["text"], fitting[0], count, f"on this frame's hole axes ({where})")
    if same:
        reasons.append(f"its faces ({where}) lie on the holes of {', '.join(f'{describe(t)} ({n} holes)' for t, n in same)}")
    else:
        reasons.append(f"its faces ({where}) share their hole axes with no frame's holes")
    record["reason"] = "; ".join(reasons) + f": the file does not say which frame its '{count}X' belongs to; listed here, not attached"
    return record


def _attach(record: dict, text: str, tol: dict, count: int, why: str) -> dict:
    tol["notes"].append(text)
    tol["count"] = tol["count"] or count
    tol.setdefault("attached_notes", []).append(f"'{text}': {why}")
    record["attached_to"] = describe(tol)
    record["why"] = why
    return record


def skip_reason(record: dict) -> str | None:
    """Why a record cannot become an object (None: it can); every skip is listed with this reason."""
    kind = record["kind"]
    if kind == "note":
        if record.get("attached_to"):
            return None
        return record.get("reason") or "a note (semantic text) the file ties to no frame or datum: listed here, not imported as an object"
    if kind in ("datum", "datum_target"):
        letter = record["letter"].strip().upper()
        if not letter.isalpha() or len(letter) > 2:
            return f"datum letter {record['letter']!r} is not like 'A'"
    elif kind == "tolerance":
        if record["characteristic"] not in P.CHARACTERISTICS:
            return f"no characteristic {record['characteristic']!r} in our model"
        if record["value"] is None:
            return "the tolerance value is not a length"
    elif kind == "dimension":
        if record["size"] is None:
            if record["dimension_type"] == "other":
                return "only drawn (graphic PMI): the file gives it no semantic value to import"
            return "no semantic value"
    return None


def describe(record: dict) -> str:
    """One line a user reads in a summary: '|⌖|⌀0.75 Ⓟ50|A|B|C|', 'Datum A', '∅20 +0.05/-0.1'."""
    kind = record["kind"]
    if kind == "note":  # a note of several lines on one line: 'MAX' under '4X R0.2' reads '4X R0.2 / MAX'
        return "Note '" + " / ".join(line.strip() for line in record["text"].splitlines() if line.strip()) + "'"
    if kind == "datum":
        return f"Datum {record['letter']}"
    if kind == "datum_target":
        size = "×".join(f"{v:g}" for v in record["size"])
        movable = ", movable" if record.get("movable") else ""
        return f"Datum target {record['label']} ({record['shape']}{' ' + size if size else ''}{movable})"
    if kind == "datum_system":
        return "DRF " + "|".join(record.get(s, "") for s in ("primary", "secondary", "tertiary") if record.get(s))
    if kind == "tolerance":
        return frame_text(_frame_values(record)) if record["characteristic"] in P.CHARACTERISTICS else f"{record['characteristic']} {record['value']}"
    if record["size"] is not None:
        return _dimension_label(record)
    return f"{record['type']} #{record.get('index', 0)}" if not record["value"] else f"{record['type']} {record['value']:g}"


def load_step_shape(step_path: str | Path) -> Any:
    """The STEP file's shape as FreeCAD reads it (one compound of its roots)."""
    import Part

    shape = Part.Shape()
    try:
        shape.read(str(step_path))
    except Exception as exc:  # FreeCAD raises a bare Part.OCCError/RuntimeError
        raise UnreadableFile(f"FreeCAD cannot read {Path(step_path).name}: {exc}") from exc
    if shape.isNull() or not shape.Faces:
        raise UnreadableFile(f"{Path(step_path).name} holds no faces")
    return shape


def read_pmi_records(step_path: str | Path, shape: Any = None, object_name: str = "Part", timeout: float | None = None) -> dict:
    """Runs the reader and maps its faces onto ``shape`` (read from the file when None).

    Returns ``records``, ``unmatched`` (faces not linked and why), the file's
    length unit and the reader's warnings.
    """
    pmi = run_reader(step_path, timeout=timeout or READER_TIMEOUT)
    if shape is None:
        shape = load_step_shape(step_path)
    indices, unmatched = map_faces(pmi["faces"], shape)
    face_names = [f"{object_name}.Face{i + 1}" if i is not None else None for i in indices]
    records = pmi_records(pmi, face_names, target_point_faces(pmi, shape, object_name), supplemental_linker(shape, object_name))
    skipped = [{"kind": r["kind"], "what": describe(r), "reason": why} for r in records if (why := skip_reason(r))]
    attached = [{"what": describe(r), "to": r["attached_to"]} for r in records if r["kind"] == "note" and r.get("attached_to")]
    return {
        "notes_attached": attached,
        "inferred_links": [{"what": describe(r), "why": r["inferred_link"]} for r in records if r.get("inferred_link")],
        "file": str(step_path),
        "file_length_unit": pmi["file_length_unit"],
        "values_unit": pmi["values_unit"],
        "records": records,
        "skipped": skipped,
        "skipped_by_kind": _count(skipped),
        "faces_named": len(pmi["faces"]),
        "unmatched": unmatched,
        "warnings": pmi["warnings"],
    }


# --- document objects -------------------------------------------------------------------------


def _new_object(document: Any, kind: str, label: str, values: dict, target: Any, refs: list[str]) -> Any:
    """One annotation object, linked to ``refs`` ('Part.Face3'); the caller holds the transaction.

    ``annotations.store``'s add_* functions each open their own transaction,
    which would split one import into many undo steps.
    """
    from freecad_spatial.addon.annotations import PROXY_MODULES

    obj = importlib.import_module(PROXY_MODULES[kind]).create(document, kind)
    for prop, value in values.items():
        setattr(obj, prop, value)
    obj.Label = label
    subs = [ref.rpartition(".")[2] for ref in refs]
    if subs:
        link_elements(obj, [(target, subs)])
    else:
        obj.Attachment = "unlinked"
    spatial_group(document).addObject(obj)
    obj.purgeTouched()
    return obj


def _object_name(step_path: Path) -> str:
    name = re.sub(r"\W", "_", step_path.stem)
    return name if name and not name[0].isdigit() else "Part_" + name


def stated_standard(notes: list[str]) -> str | None:
    """The tolerancing standard the file's notes say applies (None: they name none, or several).

    A frame is judged by its own standard (concentricity and symmetry are valid
    under Y14.5M-1994 and -2009, gone from -2018), so a 1994 drawing must not be
    read as 2018.
    """
    editions = {ASME_EDITIONS[m.group(2)] for note in notes for m in ASME_NOTE.finditer(note)}
    if len(editions) == 1:
        return editions.pop()
    if not editions and any(ISO_NOTE.search(note) for note in notes):
        return "ISO 1101"
    return None


def _frame_values(record: dict, standard: str = STANDARD) -> dict:
    """A tolerance record as FeatureControlFrame property values."""
    notes = []
    if record["whole_part"]:
        notes.append("UOS")
    notes += [m for m in record["other_modifiers"] if not m.startswith("per_unit_")]
    notes += record["notes"]
    return {
        "Characteristic": record["characteristic"],
        "Zone": float(record["value"]),
        "DiameterZone": bool(record["diameter_zone"]),
        "SphericalZone": bool(record["spherical_zone"]),
        "MaterialModifier": record["material_modifier"],
        "Modifiers": list(record["modifiers"]),
        "DatumReferences": list(record["datums"]),
        "Standard": standard,
        "ProjectedLength": float(record["projected_length"] or 0.0),
        "UnequalOffset": float(record["unequal_offset"] or 0.0),
        "UnitBasis": [float(b) for b in record["unit_basis"]],
        "AllAround": record["all_around"],
        "AllOver": record["all_over"],
        "WholePart": record["whole_part"],
        "Count": int(record["count"]),
        "Notes": notes,
        "Source": f"STEP {record['name']}".strip() if record["name"] else "STEP",
    }


def _dimension_values(record: dict) -> dict:
    size = record["size"]
    source = f"STEP {record['type']}"
    if record.get("thread"):
        source = f"STEP thread {record['thread']} ({record['type']} on its thread's construction curves)"
    return {
        "Nominal": float(size["nominal"]),
        "UpperDeviation": float(size["upper"]),
        "LowerDeviation": float(size["lower"]),
        "FitCode": "",
        "DimensionType": record["dimension_type"],
        "Source": source,
    }


def _dimension_label(record: dict) -> str:
    if record.get("thread"):  # '4X M12x1.75-6H': the callout as the file shows it
        return f"{record['count']}X {record['thread']}" if record.get("count") else record["thread"]
    if record.get("limit") == "max":  # '4X R0.15 MAX': as the note says it
        count = f"{record['count']}X " if record.get("count") else ""
        return f"{count}{record['symbol']}{record['value']:g} MAX"
    text = size_text(_dimension_values(record))
    if record.get("inferred_link") and record["type"] == "Size_Diameter":  # a size on thread curves: '2X ∅3'
        return f"{record['count']}X ∅{text}" if record.get("count") else f"∅{text}"
    if record["dimension_type"] in P.ANGULAR_DIMENSIONS:
        return text.replace(" ", "° ", 1) + "°" if " " in text else text + "°"
    return text


def target_point_faces(pmi: dict, shape: Any, object_name: str) -> dict[str, list[str]]:
    """Datum target label -> the faces its point lies on (targets the file places by a point only)."""
    import FreeCAD
    import Part

    box = shape.BoundBox
    tol = max(1e-6 * box.DiagonalLength, 1e-4) if box.isValid() else 1e-4
    out: dict[str, list[str]] = {}
    for target in pmi.get("datum_targets", []):
        if target["faces"] or target["point"] is None:
            continue
        point = shape.Placement.multVec(FreeCAD.Vector(*target["point"]))
        vertex = Part.Vertex(point)
        hits = []
        for i, face in enumerate(shape.Faces):
            fbox = face.BoundBox
            fbox.enlarge(tol)
            if fbox.isInside(point) and face.distToShape(vertex)[0] <= tol:
                hits.append(f"{object_name}.Face{i + 1}")
        out[target["label"]] = hits
    return out


def import_pmi(document: Any, step_path: str | Path, target: Any = None, timeout: float | None = None,
               pmi: dict | None = None) -> dict:
    """Imports the STEP's PMI into ``document`` as GD&T objects, in one undoable transaction.

    ``target`` is the Part feature holding the STEP's geometry; when None the
    file's shape is added as a new ``Part::Feature``. Returns what was made,
    what was skipped (each with its reason) and which faces could not be linked.
    """
    step_path = Path(step_path)
    if pmi is None:  # else the reader's output, read ahead (check starts the reader before opening the file)
        pmi = run_reader(step_path, timeout=timeout or READER_TIMEOUT)
    shape = target.Shape if target is not None else load_step_shape(step_path)
    indices, unmatched = map_faces(pmi["faces"], shape)
    created: dict[str, list[str]] = {k: [] for k in ("datum", "datum_target", "datum_system", "tolerance", "dimension")}
    skipped: list[dict] = []
    items: list[dict] = []
    attached: list[dict] = []
    with transaction(document, f"Spatial: import PMI of {step_path.name}"):
        if target is None:
            target = document.addObject("Part::Feature", _object_name(step_path))
            target.Shape = shape
            target.Label = step_path.stem
        face_names = [f"{target.Name}.Face{i + 1}" if i is not None else None for i in indices]
        records = pmi_records(pmi, face_names, target_point_faces(pmi, shape, target.Name), supplemental_linker(shape, target.Name))
        stated = stated_standard(list(pmi.get("standard_notes", [])) + list(pmi.get("notes", [])))
        standard = stated or STANDARD
        for record in records:
            kind = record["kind"]
            if kind == "note" and record.get("attached_to"):
                attached.append({"what": describe(record), "to": record["attached_to"]})
                continue  # it is on its frame's object (Notes, Count)
            why = skip_reason(record)
            if why is not None:
                skipped.append({"kind": kind, "what": describe(record), "reason": why, "record": record})
                continue
            if kind == "datum":
                letter = record["letter"].strip().upper()
                obj = _new_object(document, P.DATUM_FEATURE, f"Datum {letter}", {"Letter": letter}, target, record["faces"])
            elif kind == "datum_target":
                values = {
                    "Letter": record["letter"].strip().upper(),
                    "TargetLabel": record["label"],
                    "TargetType": record["type"] if record["type"] in P.TARGET_TYPES else "area",
                    "TargetShape": record["shape"],
                    "TargetSize": [float(v) for v in record["size"]],
                    "Movable": bool(record["movable"]),
                }
                obj = _new_object(document, P.DATUM_FEATURE, describe(record), values, target, record["faces"])
                if record["point"] is not None or record["movable_direction"] is not None:
                    import FreeCAD

                    if record["point"] is not None:
                        obj.TargetLocation = FreeCAD.Vector(*record["point"])
                    if record["movable_direction"] is not None:
                        obj.MovableDirection = FreeCAD.Vector(*record["movable_direction"])
                    obj.purgeTouched()
            elif kind == "datum_system":
                values = {slot.capitalize(): record.get(slot, "") for slot in ("primary", "secondary", "tertiary")}
                for slot in ("primary", "secondary", "tertiary"):
                    values[f"{slot.capitalize()}Modifier"] = record["modifiers"].get(slot, "none")
                label = "DRF " + "|".join(v for v in (values["Primary"], values["Secondary"], values["Tertiary"]) if v)
                obj = _new_object(document, P.DATUM_REFERENCE_FRAME, label, values, target, [])
            elif kind == "tolerance":
                values = _frame_values(record, standard)
                obj = _new_object(document, P.FEATURE_CONTROL_FRAME, frame_text(values), values, target, record["faces"])
            else:
                obj = _new_object(document, P.SIZE_DIMENSION, _dimension_label(record), _dimension_values(record), target, record["faces"])
            created[kind].append(obj.Name)
            item = {"kind": kind, "object": obj.Name, "what": describe(record), "faces": len(record.get("faces", [])),
                    "unmatched_faces": record.get("unmatched_faces", 0)}
            if record.get("movable_source"):
                item["movable"] = MOVABLE_SOURCES[record["movable_source"]]
            if record.get("inferred_link"):
                item["inferred"] = record["inferred_link"]
            items.append(item)
    return {
        "file": str(step_path),
        "target": target.Name,
        "file_length_unit": pmi["file_length_unit"],
        "standard": standard,
        "standard_stated": stated is not None,
        "created": created,
        "imported": items,
        "skipped": skipped,
        "skipped_by_kind": _count(skipped),
        "notes_attached": attached,
        "unmatched_faces": unmatched,
        "warnings": pmi["warnings"],
    }


def _count(skipped: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in skipped:
        out[entry["kind"]] = out.get(entry["kind"], 0) + 1
    return out


def start_reader_for_check(path: str | Path) -> subprocess.Popen | None:
    """The PMI reader started on ``path`` when it is a STEP file with PMI (None otherwise, or when it cannot start)."""
    from .pmi_summary import step_has_pmi

    try:
        return start_reader(path) if step_has_pmi(path) else None
    except (OSError, ToolError):  # import_pmi_for_check runs it again and reports why it cannot
        return None


def stop_reader(proc: subprocess.Popen | None) -> None:
    """Ends a reader still running: past its deadline, or its output no longer wanted (the file could not be opened)."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.communicate()


def import_pmi_for_check(document: Any, path: str | Path, timeout: float | None = None,
                         reader: subprocess.Popen | None = None) -> list[dict]:
    """``check``'s first step on a STEP file: its PMI as annotations, so the gdt.* rules and stack-up use them.

    ``reader``: the reader ``start_reader_for_check`` started on the same file
    (always ended here). Returns entries for the report's ``skipped`` list
    (items not imported or not linked, or why the PMI could not be read); never
    raises for PMI reasons.
    """
    from .pmi_summary import check_notes, step_has_pmi

    if reader is None and not step_has_pmi(path):
        return []
    parts = [o for o in document.Objects if o.TypeId == "Part::Feature"]
    if len(parts) != 1:
        stop_reader(reader)
        return [{"rule": "pmi.import", "object": None, "reason": f"PMI not imported: the file holds {len(parts)} solids; the import maps faces onto one"}]
    try:
        pmi = reader_result(reader, path, timeout or READER_TIMEOUT) if reader is not None else None
        summary = import_pmi(document, path, target=parts[0], timeout=timeout, pmi=pmi)
    except ToolError as exc:
        return [{"rule": "pmi.import", "object": parts[0].Name, "reason": f"PMI not imported: {exc.message}"}]
    for obj in document.Objects:
        obj.purgeTouched()
    return check_notes(summary)

"""Opens FCStd, STEP and BREP files as FreeCAD documents, with clear errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from . import freecad_env
from .errors import UnreadableFile

CAD_SUFFIXES = {".fcstd": "fcstd", ".step": "step", ".stp": "step", ".brep": "brep", ".brp": "brep", ".iges": "iges", ".igs": "iges"}

_counter = 0


def _new_document(stem: str):
    global _counter
    app = freecad_env.load()
    _counter += 1
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "Doc"
    if not re.match(r"[A-Za-z_]", name):
        name = "D_" + name
    return app.newDocument(f"{name}_{_counter}")


def _check_fcstd_archive(p: Path) -> None:
    """Raises UnreadableFile unless ``p`` is a zip holding a well-formed Document.xml."""
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(p) as archive:
            if "Document.xml" not in archive.namelist():
                raise UnreadableFile(f"{p}: not an FCStd file (no Document.xml inside the archive)")
            ElementTree.fromstring(archive.read("Document.xml"))
    except zipfile.BadZipFile:
        raise UnreadableFile(f"{p}: not an FCStd file (not a zip archive, or a damaged one)") from None
    except ElementTree.ParseError as exc:
        raise UnreadableFile(f"{p}: its Document.xml is not well-formed XML ({exc})") from None


def _read_step_brep(p: Path, part: Any) -> Any:
    """The STEP file's shape read without its tessellated copy (step_tessellation); None: read it as it is."""
    import tempfile

    from .step_tessellation import without_tessellation

    try:
        stripped = without_tessellation(p.read_bytes())
    except (OSError, MemoryError):
        return None
    if stripped is None:
        return None
    with tempfile.TemporaryDirectory(prefix="freecad-spatial-step-") as folder:
        copy = os.path.join(folder, "part.step")
        with open(copy, "wb") as fh:
            fh.write(stripped)
        try:
            shape = part.read(copy)
        except Exception:  # the copy does not read: the file as it is decides (and its error names it)
            return None
    return shape if not shape.isNull() and shape.Faces else None  # only triangles: read them as before


def open_document(path: str | os.PathLike) -> Any:
    """Returns an App.Document; raises UnreadableFile with a reason a user understands."""
    app = freecad_env.load()
    import Part

    p = Path(path)
    if not p.exists():
        raise UnreadableFile(f"{p}: no such file")
    if p.is_dir():
        raise UnreadableFile(f"{p}: is a directory, not a CAD file")
    kind = CAD_SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise UnreadableFile(f"{p}: unsupported file type '{p.suffix}' (use .FCStd, .step/.stp, .brep, .iges)")
    if p.stat().st_size == 0:
        raise UnreadableFile(f"{p}: the file is empty")
    if kind == "fcstd":
        _check_fcstd_archive(p)  # FreeCAD prints, and opens an empty document, on a broken one
        try:
            doc = app.openDocument(str(p))
        except Exception as exc:
            raise UnreadableFile(f"{p}: FreeCAD could not open it: {exc}") from exc
        if doc is None:
            raise UnreadableFile(f"{p}: FreeCAD could not open it")
        return doc
    try:
        shape = _read_step_brep(p, Part) if kind == "step" else None
        if shape is None:
            shape = Part.read(str(p))
    except Exception as exc:
        raise UnreadableFile(f"{p}: not a readable {kind.upper()} file ({exc})") from exc
    if shape.isNull() or not (shape.Faces or shape.Edges):
        raise UnreadableFile(f"{p}: the {kind.upper()} file holds no geometry")
    doc = _new_document(p.stem)
    solids = shape.Solids
    if len(solids) > 1:
        for i, solid in enumerate(solids):
            obj = doc.addObject("Part::Feature", "Solid" if i == 0 else f"Solid{i:03d}")
            obj.Shape = solid
            obj.Label = f"{p.stem} solid {i + 1}"
    else:
        obj = doc.addObject("Part::Feature", "Part")
        obj.Shape = solids[0] if solids and len(shape.Faces) == len(solids[0].Faces) else shape
        obj.Label = p.stem
    if kind == "step":  # the kernel converted lengths to mm: keep the unit the part was modelled in
        from .step_units import length_unit, remember

        remember(doc, length_unit(p))
    # No recompute: it would replace each imported shape by a kernel copy, and some
    # valid STEP solids (NIST stc_07) come out of that copy failing BRepCheck.
    for obj in doc.Objects:
        obj.purgeTouched()
    return doc


# --- the text a STEP or IGES file carries (read for export-control markings) -----------

_STEP_STRING = re.compile(r"'((?:[^']|'')*)'|/\*(.*?)\*/", re.S)
_STEP_HEADER_TOKEN = re.compile(r"'((?:[^']|'')*)'|/\*(.*?)\*/|([A-Za-z_][A-Za-z0-9_]*)\s*\(|(;)", re.S)
_STEP_PRODUCT = re.compile(r"(?<![A-Za-z0-9_])PRODUCT\s*\(\s*'((?:[^']|'')*)'\s*,\s*'((?:[^']|'')*)'\s*,\s*'((?:[^']|'')*)'")
_IGES_HOLLERITH = re.compile(r"(?<![A-Za-z0-9.])(\d+)H")
_STEP_ESCAPE = re.compile(r"\\X2\\((?:[0-9A-Fa-f]{4})*)\\X0\\|\\X4\\((?:[0-9A-Fa-f]{8})*)\\X0\\|\\X\\([0-9A-Fa-f]{2})|\\S\\(.)|\\P[A-I]\\|\\\\|''", re.S)


def _step_unescape(text: str) -> str:
    """A STEP string literal as text (ISO 10303-21 encodings: \\X2\\, \\X4\\, \\X\\, \\S\\, '')."""

    def one(m: re.Match) -> str:
        if m.group(1) is not None:
            return "".join(chr(int(m.group(1)[i:i + 4], 16)) for i in range(0, len(m.group(1)), 4))
        if m.group(2) is not None:
            return "".join(chr(int(m.group(2)[i:i + 8], 16)) for i in range(0, len(m.group(2)), 8))
        if m.group(3) is not None:
            return chr(int(m.group(3), 16))
        if m.group(4) is not None:
            return chr(ord(m.group(4)) + 128)
        token = m.group(0)
        return "'" if token == "''" else "\\" if token == "\\\\" else ""

    return _STEP_ESCAPE.sub(one, text)


def _step_texts(raw: str) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    start = raw.find("HEADER;")
    end = raw.find("ENDSEC;", start + 1) if start >= 0 else -1
    header, data = (raw[start:end], raw[end:]) if start >= 0 and end >= 0 else ("", raw)
    entity = ""
    for m in _STEP_HEADER_TOKEN.finditer(header):
        string, comment, name, semicolon = m.groups()
        if semicolon:
            entity = ""
        elif name is not None:
            entity = entity or name.upper()
        elif comment is not None:
            texts.append(("STEP header comment", comment))
        elif string:
            texts.append((f"STEP header {entity or 'text'}", _step_unescape(string)))
    for m in _STEP_PRODUCT.finditer(data):
        for value in m.groups():
            if value:
                texts.append(("STEP PRODUCT", _step_unescape(value)))
    others: set[str] = set()
    for m in _STEP_STRING.finditer(data):
        value = m.group(1) if m.group(1) is not None else m.group(2)
        if value and value not in others:
            others.add(value)
            texts.append(("STEP text", _step_unescape(value) if m.group(1) is not None else value))
    return texts


def _iges_texts(raw: str) -> list[tuple[str, str]]:
    """The Start section (free text) and the Global section's strings (product id, file name, author...)."""
    start, global_ = [], []
    for line in raw.splitlines():
        code = line[72:73]
        if code == "S":
            start.append(line[:72].rstrip())
        elif code == "G":
            global_.append(line[:72])
    texts = [("IGES start section", " ".join(start))] if any(start) else []
    params, i = "".join(global_), 0
    while (m := _IGES_HOLLERITH.search(params, i)) is not None:
        value = params[m.end():m.end() + int(m.group(1))]
        texts.append(("IGES global section", value))
        i = m.end() + len(value)
    return texts


def cad_file_texts(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Every text a STEP or IGES file carries, as (where, text): headers, product names, all strings.

    FreeCAD's import drops them (the STEP header, PRODUCT names, IGES global
    section), yet they are where export-control markings are written. Other
    kinds, missing or unreadable files give nothing.
    """
    p = Path(path)
    kind = CAD_SUFFIXES.get(p.suffix.lower())
    if kind not in ("step", "iges"):
        return []
    try:
        data = p.read_bytes()
    except OSError:
        return []
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        raw = data.decode("latin-1")
    return _step_texts(raw) if kind == "step" else _iges_texts(raw)


def close_document(doc: Any) -> None:
    app = freecad_env.load()
    try:
        app.closeDocument(doc.Name)
    except Exception:  # already closed: nothing left to release
        pass

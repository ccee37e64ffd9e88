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
    # No recompute: it would replace each imported shape by a kernel copy, and some
    # valid STEP solids (NIST stc_07) come out of that copy failing BRepCheck.
    for obj in doc.Objects:
        obj.purgeTouched()
    return doc


def close_document(doc: Any) -> None:
    app = freecad_env.load()
    try:
        app.closeDocument(doc.Name)
    except Exception:  # already closed: nothing left to release
        pass

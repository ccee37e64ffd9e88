"""The length unit a STEP file was modelled in, read from its text.

FreeCAD's STEP reader converts every length to mm, so an inch part arrives as
Ø6.5278 mm instead of Ø0.257 in and would be judged against metric tables.
The unit is in the file: the geometric context of the solid's representation
(``ADVANCED_BREP_SHAPE_REPRESENTATION``...) names a ``GLOBAL_UNIT_ASSIGNED_CONTEXT``
whose length unit is an ``SI_UNIT`` (mm, m...) or a ``CONVERSION_BASED_UNIT``
('INCH', 'FOOT'). ``open_document`` keeps it in the document's Meta under
``META_KEY`` so the DFM rules can pick the matching tables.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any

META_KEY = "FreeCADSpatial.LengthUnit"
MAX_BYTES = 256 * 1024 * 1024  # larger files are not scanned (the unit is then unknown)

_ENTITY = re.compile(r"#(\d+)\s*=\s*((?:[^;']|'(?:[^']|'')*')*);", re.S)
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_REF = re.compile(r"#(\d+)")
_UNITS_OF_CONTEXT = re.compile(r"GLOBAL_UNIT_ASSIGNED_CONTEXT\s*\(\s*\(([^)]*)\)")
_CONVERSION = re.compile(r"CONVERSION_BASED_UNIT\s*\(\s*'([^']*)'")
_SI = re.compile(r"SI_UNIT\s*\(\s*(\$|\.[A-Z]+\.)\s*,\s*\.METRE\.\s*\)")
_SHAPE_REPRESENTATIONS = (
    "ADVANCED_BREP_SHAPE_REPRESENTATION", "MANIFOLD_SURFACE_SHAPE_REPRESENTATION",
    "FACETED_BREP_SHAPE_REPRESENTATION", "GEOMETRICALLY_BOUNDED_WIREFRAME_SHAPE_REPRESENTATION",
)
_SI_PREFIX = {"$": "m", ".MILLI.": "mm", ".CENTI.": "cm", ".DECI.": "dm", ".MICRO.": "um", ".KILO.": "km"}
_CONVERSION_NAMES = {"INCH": "inch", "INCHES": "inch", "FOOT": "ft", "FEET": "ft", "MILLIMETRE": "mm", "MILLIMETER": "mm"}


def _unit_name(text: str) -> str | None:
    if "LENGTH_UNIT" not in text:
        return None
    m = _CONVERSION.search(text)
    if m:
        return _CONVERSION_NAMES.get(m.group(1).strip().upper(), m.group(1).strip().lower())
    m = _SI.search(text)
    return _SI_PREFIX.get(m.group(1)) if m else None


def length_unit_of_text(text: str) -> str | None:
    """The length unit ('mm', 'inch', 'm', ...) of STEP text, or None when it names none."""
    data = _COMMENT.sub(" ", text)
    start = data.find("DATA;")
    entities = {int(m.group(1)): m.group(2) for m in _ENTITY.finditer(data, start if start >= 0 else 0)}
    context_units: dict[int, str] = {}
    for eid, body in entities.items():
        m = _UNITS_OF_CONTEXT.search(body)
        if not m:
            continue
        for ref in _REF.findall(m.group(1)):
            unit = _unit_name(entities.get(int(ref), ""))
            if unit:
                context_units[eid] = unit
                break
    if not context_units:
        return None
    # the context of the solid's representation: its last argument
    for kind in _SHAPE_REPRESENTATIONS:
        used = Counter()
        for body in entities.values():
            if body.lstrip().startswith(kind):
                refs = _REF.findall(body)
                if refs and int(refs[-1]) in context_units:
                    used[context_units[int(refs[-1])]] += 1
        if used:
            return used.most_common(1)[0][0]
    return Counter(context_units.values()).most_common(1)[0][0]


def length_unit(path: str | os.PathLike) -> str | None:
    """The length unit a STEP file was modelled in, or None when unknown or unreadable."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        with open(path, encoding="latin-1") as fh:
            return length_unit_of_text(fh.read())
    except OSError:
        return None


def remember(document: Any, unit: str | None) -> None:
    """Keeps the file's length unit in the document's Meta (nothing when unknown)."""
    if not unit:
        return
    meta = dict(getattr(document, "Meta", None) or {})
    meta[META_KEY] = unit
    document.Meta = meta


def document_unit(document: Any) -> str | None:
    """The length unit the document's source file was modelled in, when it was read from one."""
    meta = getattr(document, "Meta", None) or {}
    return meta.get(META_KEY) or None

"""A document's classification and the export-control markings that raise it.

Storage: the user's setting lives in the document's ``Meta`` map under
``FreeCADSpatial.Classification`` (one of ``unrestricted``, ``proprietary``,
``export-controlled``). Chosen over an enumeration property on a hidden
object because Meta is saved in Document.xml and survives save/reopen, a file
still opens where the addon is not installed, and no extra object appears in
the tree or in what the encoder sends to a model. A missing or unknown value
reads as ``unrestricted`` plus whatever the markings demand.

Markings (resources/tiers.toml) are searched in the document's Comment,
Company, Meta (keys and values), Label and FileName, every object's Label
and Label2, and any extra names (the path a STEP file was opened from). The
effective classification is the strictest of the stored one and the
markings: detection raises, never lowers. ``apply_detected`` writes a raise
back (undoable) so the user sees it; nothing here ever writes a lower level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePath
from typing import Any

from .tiers import classifications, config

META_KEY = "FreeCADSpatial.Classification"
DOCUMENT_FIELDS = ("Comment", "Company", "Label", "FileName")
OBJECT_FIELDS = ("Label", "Label2")


@dataclass(frozen=True)
class Marking:
    """One marking found: which, where, and the text around it."""

    name: str
    classification: str
    where: str  # "document.Comment", "object Bracket.Label", "file name"
    excerpt: str


@dataclass
class Classification:
    level: str  # the effective level: strictest of stored and detected
    stored: str  # what the document's property says (unrestricted when unset)
    markings: list[Marking] = field(default_factory=list)

    @property
    def raised(self) -> bool:
        return _rank(self.level) > _rank(self.stored)

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "stored": self.stored,
            "markings": [m.__dict__ for m in self.markings],
        }


def _rank(level: str) -> int:
    return classifications().index(level)


def strictest(*levels: str) -> str:
    return max(levels, key=_rank)


@cache
def _patterns() -> list[tuple[str, str, re.Pattern]]:
    compiled = []
    for entry in config().get("markings", []):
        level = entry["classification"]
        if level not in classifications():
            raise ValueError(f"tiers.toml: marking '{entry['name']}' has unknown classification '{level}'")
        flags = 0 if entry.get("case_sensitive", False) else re.IGNORECASE
        # Not glued to other letters: "EAR" is not in "year"; "EAR99" and "ITAR_part" still match.
        pattern = re.compile(rf"(?<![A-Za-z])(?:{entry['pattern']})(?![A-Za-z])", flags)
        compiled.append((entry["name"], level, pattern))
    return compiled


def find_markings(text: str, where: str) -> list[Marking]:
    """Every marking in ``text``; ``where`` says where the text came from."""
    found = []
    for name, level, pattern in _patterns():
        match = pattern.search(text)
        if match:
            start, end = max(0, match.start() - 20), min(len(text), match.end() + 20)
            found.append(Marking(name, level, where, text[start:end]))
    return found


def _texts(document: Any, extra_names: Iterable[str]) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for name in DOCUMENT_FIELDS:
        value = getattr(document, name, "")
        if isinstance(value, str) and value:
            texts.append((f"document.{name}", PurePath(value).name if name == "FileName" else value))
    meta = getattr(document, "Meta", None) or {}
    for key, value in meta.items():
        if key != META_KEY:
            texts.append((f"document.Meta[{key}]", f"{key} {value}"))
    for obj in getattr(document, "Objects", []):
        for name in OBJECT_FIELDS:
            value = getattr(obj, name, "")
            if isinstance(value, str) and value:
                texts.append((f"object {obj.Name}.{name}", value))
    for path in extra_names:
        if path:
            texts.append(("file name", PurePath(str(path)).name))
    return texts


def stored_classification(document: Any) -> str:
    """The user's setting on the document; ``unrestricted`` when unset or unreadable."""
    value = (getattr(document, "Meta", None) or {}).get(META_KEY, "")
    return value if value in classifications() else classifications()[0]


def set_classification(document: Any, level: str) -> None:
    """Stores the user's choice (lowering is the user's explicit decision, never automatic)."""
    if level not in classifications():
        raise ValueError(f"unknown classification '{level}' (one of {', '.join(classifications())})")
    meta = dict(getattr(document, "Meta", None) or {})
    meta[META_KEY] = level
    document.openTransaction("Set classification")
    try:
        document.Meta = meta
    except Exception:
        document.abortTransaction()
        raise
    document.commitTransaction()


def classify(document: Any, extra_names: Iterable[str] = ()) -> Classification:
    """The effective classification: the stored setting raised by any markings found."""
    stored = stored_classification(document)
    markings = [m for where, text in _texts(document, extra_names) for m in find_markings(text, where)]
    level = strictest(stored, *(m.classification for m in markings))
    return Classification(level=level, stored=stored, markings=markings)


def apply_detected(document: Any, extra_names: Iterable[str] = ()) -> Classification:
    """Raises the stored setting to what the markings demand; never lowers it."""
    result = classify(document, extra_names)
    if result.raised:
        set_classification(document, result.level)
        result = Classification(level=result.level, stored=result.level, markings=result.markings)
    return result

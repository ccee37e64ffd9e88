"""A document's classification and the export-control markings that raise it.

Storage: the user's setting lives in the document's ``Meta`` map under
``FreeCADSpatial.Classification`` (one of ``unrestricted``, ``proprietary``,
``export-controlled``). Chosen over an enumeration property on a hidden
object because Meta is saved in Document.xml and survives save/reopen, a file
still opens where the addon is not installed, and no extra object appears in
the tree or in what the encoder sends to a model. A missing or unknown value
reads as ``unrestricted`` plus whatever the markings demand.

Markings (resources/tiers.toml) are searched in every text a document
carries (``document_texts``): the document's own properties and Meta, every
object's Name and text-carrying properties (labels, string properties,
annotation texts, spreadsheet cells, expressions, file references), the file
names it was opened from and, for STEP and IGES input, the header, product
names and every string of the file. Linked documents (App::Link and XLinks
to objects in other documents) are read the same way, and files a link
points at but that could not be loaded by their names. Each text is
normalised first (``normalise``: NFKC, look-alike letters folded, invisible
characters dropped, spelled-out letters joined) and matched also by the word
parts of identifiers, so ``ІТАR`` with a Cyrillic І, ``I.T.A.R.`` and
``ITARBracket`` all read as ITAR.

The effective classification is the strictest of the stored one, the
markings and the stored classification of every linked document: detection
raises, never lowers. The project's own words are never evidence: Meta keys
under ``FreeCADSpatial.`` (this setting, the saved chat with its refusal
messages) and the generated fields of our annotation objects are not read.
``apply_detected`` writes a raise back (undoable) so the user sees it;
nothing here ever writes a lower level.
"""

from __future__ import annotations

import io
import re
import tomllib
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path, PurePath
from typing import Any
from xml.etree import ElementTree

from freecad_spatial import RESOURCES

from .tiers import classifications, config

META_KEY = "FreeCADSpatial.Classification"
OWN_META_PREFIX = "FreeCADSpatial."  # our keys (classification, chat): never read as evidence
CONFUSABLES_FILE = RESOURCES / "confusables.toml"

# Property types whose value is text. Only these are read (reading a Shape would copy it).
TEXT_TYPES = ("App::PropertyString", "App::PropertyStringList", "App::PropertyMap", "App::PropertyEnumeration",
              "App::PropertyFont")
FILE_TYPES = ("App::PropertyFile", "App::PropertyFileIncluded", "App::PropertyPath")  # read by file name
XLINK_TYPES = ("App::PropertyXLink", "App::PropertyXLinkSub", "App::PropertyXLinkSubList", "App::PropertyXLinkList",
               "App::PropertyXLinkSubHidden")
# Document properties that are not the document's text: the temp folder, a random id.
SKIPPED_DOCUMENT_PROPERTIES = ("TransientDir", "Uid", "Meta", "FileName")


@dataclass(frozen=True)
class Marking:
    """One marking found: which, where, and the text around it."""

    name: str
    classification: str
    where: str  # "document.Comment", "object Bracket.Label", "file name", "linked document Part: ..."
    excerpt: str


@dataclass
class Classification:
    level: str  # the effective level: strictest of stored, detected and linked documents
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


# --- one normaliser ------------------------------------------------------------------


@cache
def _fold_table() -> dict[int, str]:
    with open(CONFUSABLES_FILE, "rb") as fh:
        table = tomllib.load(fh)["fold"]
    return {ord(char): latin for latin, chars in table.items() for char in chars}


# Drawn as nothing but not in category Cf: Hangul fillers, braille blank, combining grapheme joiner.
_INVISIBLE = frozenset({0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})
_SEPARATOR = r"[\s.\-_·•∙⋅/\\*:+~|‐‑‒–—―]{1,3}"
# A word spelled out letter by letter: I.T.A.R., C U I, E-A-R.
_SPELLED = re.compile(rf"(?<![A-Za-z0-9])[A-Za-z](?:{_SEPARATOR}[A-Za-z](?![A-Za-z0-9]))+")
_NOT_LETTER = re.compile(r"[^A-Za-z]")
# Word parts of identifiers: ITARBracket -> ITAR Bracket, partEAR -> part EAR, a_b -> a b.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalise(text: str) -> str:
    """``text`` as a marking reads to a person: NFKC, look-alikes folded to Latin, invisibles gone.

    Compatibility forms (full-width, mathematical letters) fold by NFKC;
    accents and other combining marks, zero-width and format characters, and
    control characters other than white space are dropped; letters of other
    scripts that look like Latin ones (resources/confusables.toml) become
    those; a word spelled out letter by letter (``I.T.A.R.``) is joined.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        c for c in decomposed
        if ord(c) not in _INVISIBLE
        and unicodedata.category(c) not in ("Mn", "Me", "Cf")
        and (unicodedata.category(c) != "Cc" or c.isspace())
    )
    folded = unicodedata.normalize("NFKC", kept).translate(_fold_table())
    return _SPELLED.sub(lambda m: _NOT_LETTER.sub("", m.group()), folded)


def word_parts(text: str) -> str:
    """Identifier word parts separated by spaces (camelCase and snake_case split)."""
    return _CAMEL.sub(" ", text).replace("_", " ")


# --- one matcher ---------------------------------------------------------------------


@cache
def _patterns() -> list[tuple[str, str, re.Pattern]]:
    compiled = []
    for entry in config().get("markings", []):
        level = entry["classification"]
        if level not in classifications():
            raise ValueError(f"tiers.toml: marking '{entry['name']}' has unknown classification '{level}'")
        flags = 0 if entry.get("case_sensitive", False) else re.IGNORECASE
        # Not glued to other letters: "EAR" is not in "year"; "EAR99" and "ITAR_part" still match.
        # A marking no word begins with may begin one: "ITARbracket", "USMLcat".
        after = "" if entry.get("glued_prefix", False) else "(?![A-Za-z])"
        pattern = re.compile(rf"(?<![A-Za-z])(?:{entry['pattern']}){after}", flags)
        compiled.append((entry["name"], level, pattern))
    return compiled


def find_markings(text: str, where: str) -> list[Marking]:
    """Every marking in ``text`` (normalised, and by the word parts of identifiers); ``where`` says where."""
    found = _short_markings(text) if len(text) <= 200 else _markings_in(text)
    return [Marking(name, level, where, excerpt) for name, level, excerpt in found]


@lru_cache(maxsize=65536)  # the same names and labels recur in every object and every request
def _short_markings(text: str) -> tuple[tuple[str, str, str], ...]:
    return _markings_in(text)


def _markings_in(text: str) -> tuple[tuple[str, str, str], ...]:
    plain = normalise(text)
    forms = (plain, word_parts(plain))
    found = []
    for name, level, pattern in _patterns():
        for form in forms:
            match = pattern.search(form)
            if match:
                start, end = max(0, match.start() - 20), min(len(form), match.end() + 20)
                found.append((name, level, form[start:end]))
                break
    return tuple(found)


# --- one reader: every text a document carries --------------------------------------------


def _value_texts(type_id: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [PurePath(value).name if type_id in FILE_TYPES else value]
    if isinstance(value, dict):
        return [f"{k} {v}" for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _own_generated_fields(obj: Any) -> frozenset[str]:
    """The fields of our annotation objects that our rules or the model wrote: not evidence."""
    if "SpatialType" not in obj.PropertiesList:
        return frozenset()
    from .annotations import properties

    kind = getattr(obj, "SpatialType", "")
    if kind not in properties.KINDS:
        return frozenset()
    generated = {p.name for p in properties.properties_of(kind) if p.read_only or p.hidden}
    if _label_is_generated(obj, kind):
        generated.add("Label")  # the finding's number and title, as the store wrote it; a user's rename counts
    return frozenset(generated)


def _label_is_generated(obj: Any, kind: str) -> bool:
    if kind != "Finding":
        return False
    try:
        from .annotations import properties
        from .annotations.store import finding_label

        return obj.Label == finding_label(int(getattr(obj, "Number", 0) or 0), properties.read_finding(obj))
    except Exception:  # an unreadable finding: its label is read like any other
        return False


def _sheet_texts(obj: Any) -> list[str]:
    """Every cell's content and alias of a spreadsheet."""
    try:
        root = ElementTree.fromstring(obj.cells.Content)
    except Exception:  # no readable cells, nothing to read
        return []
    return [v for cell in root.iter("Cell") for k, v in cell.attrib.items() if k in ("content", "alias") and v]


def _xlink_files(obj: Any, prop: str) -> list[str]:
    """The files an XLink property points at (kept even when the file could not be loaded)."""
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(obj.dumpPropertyContent(prop)))) as archive:
            root = ElementTree.fromstring(archive.read("Persistence.xml"))
    except Exception:  # an older FreeCAD, or nothing stored
        return []
    return [e.attrib["file"] for e in root.iter() if e.attrib.get("file")]


def _property_texts(obj: Any, prop: str, type_id: str) -> list[str]:
    if type_id in TEXT_TYPES or type_id in FILE_TYPES:
        return _value_texts(type_id, getattr(obj, prop))
    if type_id == "Spreadsheet::PropertySheet":
        return _sheet_texts(obj)
    if type_id == "App::PropertyExpressionEngine":
        return [f"{path} {expression}" for path, expression in getattr(obj, prop) or []]
    if type_id == "Sketcher::PropertyConstraintList":
        return [c.Name for c in getattr(obj, prop) or [] if getattr(c, "Name", "")]
    return []


def _object_texts(obj: Any) -> Iterator[tuple[str, str]]:
    yield f"object {obj.Name}.Name", obj.Name
    skipped = _own_generated_fields(obj)
    for prop in obj.PropertiesList:
        if prop in skipped:
            continue
        yield f"object {obj.Name} property name", prop
        try:
            type_id = obj.getTypeIdOfProperty(prop)
            texts = _property_texts(obj, prop, type_id)
        except Exception:  # unreadable here is unreadable for the encoder too
            continue
        for text in texts:
            if text:
                yield f"object {obj.Name}.{prop}", text
        if type_id in FILE_TYPES and texts:  # a STEP/IGES file the document includes or points at
            for inner, text in _cad_texts(getattr(obj, prop)):
                yield f"object {obj.Name}.{prop}: {inner}", text


def _cad_texts(path: Any) -> list[tuple[str, str]]:
    from .documents import cad_file_texts

    return cad_file_texts(path) if isinstance(path, str) and path else []


def _own_texts(document: Any) -> Iterator[tuple[str, str]]:
    """The texts of one document alone (not the documents it links)."""
    yield "document.Name", getattr(document, "Name", "")
    file_name = getattr(document, "FileName", "")
    if isinstance(file_name, str) and file_name:
        yield "document.FileName", PurePath(file_name).name
    for prop in getattr(document, "PropertiesList", ()):
        if prop in SKIPPED_DOCUMENT_PROPERTIES:
            continue
        try:
            type_id = document.getTypeIdOfProperty(prop)
            texts = _value_texts(type_id, getattr(document, prop)) if type_id in TEXT_TYPES else []
        except Exception:  # unreadable: not sent either
            continue
        for text in texts:
            if text:
                yield f"document.{prop}", text
    if not hasattr(document, "PropertiesList"):  # a stand-in without FreeCAD's property API
        for prop in ("Comment", "Company", "Label"):
            value = getattr(document, prop, "")
            if isinstance(value, str) and value:
                yield f"document.{prop}", value
    meta = getattr(document, "Meta", None) or {}
    for key, value in meta.items():
        if not key.startswith(OWN_META_PREFIX):
            yield f"document.Meta[{key}]", f"{key} {value}"
    for obj in getattr(document, "Objects", []):
        yield from _object_texts(obj)


def linked_documents(document: Any) -> list[Any]:
    """Every other loaded document ``document`` links, directly or through others (cycles allowed)."""
    found: dict[str, Any] = {}
    pending = [document]
    while pending:
        current = pending.pop()
        neighbours: list[Any] = []
        try:
            neighbours += list(current.getDependentDocuments())
        except Exception:  # an older FreeCAD or a stand-in: the objects' links below
            pass
        for obj in getattr(current, "Objects", []):
            for other in getattr(obj, "OutList", []) or []:
                neighbours.append(getattr(other, "Document", None))
        for other in neighbours:
            name = getattr(other, "Name", None)
            if other is None or name is None or name == getattr(document, "Name", None) or name in found:
                continue
            found[name] = other
            pending.append(other)
    return list(found.values())


def _referenced_files(document: Any) -> list[Path]:
    """Files the document's links point at, resolved against its folder (loaded or not)."""
    folder = Path(getattr(document, "FileName", "") or ".").parent
    files: list[Path] = []
    for obj in getattr(document, "Objects", []):
        for prop in obj.PropertiesList:
            try:
                # A resolved link's document is loaded and read as a linked document.
                type_id = obj.getTypeIdOfProperty(prop)
                if type_id in XLINK_TYPES and (type_id.endswith("List") or not getattr(obj, prop)):
                    files += [folder / f for f in _xlink_files(obj, prop)]
            except Exception:  # unreadable: not sent either
                continue
    return files


def _file_texts(path: str | Path, where: str) -> Iterator[tuple[str, str]]:
    yield where, PurePath(str(path)).name
    for inner, text in _cad_texts(str(path)):
        yield f"{where}: {inner}", text


def document_texts(document: Any, extra_names: Iterable[str] = (),
                   linked: list[Any] | None = None) -> Iterator[tuple[str, str]]:
    """Every text ``document`` carries, as (where, text), with the documents and files it links.

    ``extra_names`` are paths the document was opened from: their names, and
    for STEP/IGES their header, product names and strings, are read too.
    ``linked`` is ``linked_documents(document)`` when the caller has it.
    Our own Meta keys and the generated fields of our annotations are left out.
    """
    linked = linked_documents(document) if linked is None else linked
    yield from _own_texts(document)
    for path in extra_names:
        if path:
            yield from _file_texts(path, "file name")
    for other in linked:
        label = f"linked document {getattr(other, 'Name', '?')}"
        for where, text in _own_texts(other):
            yield f"{label}: {where}", text
    loaded = {_resolved(getattr(d, "FileName", "")) for d in [document, *linked]}
    for source in [document, *linked]:
        for path in _referenced_files(source):
            if _resolved(path) not in loaded:
                yield from _file_texts(path, "linked file")


def _resolved(path: str | Path) -> str:
    return str(Path(path).resolve()) if str(path) else ""


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
    """The effective classification: the highest of the stored setting, the markings found in
    every text the document carries, and the stored setting of every document it links."""
    stored = stored_classification(document)
    linked = linked_documents(document)
    markings = [m for where, text in document_texts(document, extra_names, linked) for m in find_markings(text, where)]
    for other in linked:
        level = stored_classification(other)
        if _rank(level) > 0:
            markings.append(Marking(f"linked document stored as {level}", level,
                                    f"linked document {getattr(other, 'Name', '?')}", f"{META_KEY} = {level}"))
    level = strictest(stored, *(m.classification for m in markings))
    return Classification(level=level, stored=stored, markings=markings)


def apply_detected(document: Any, extra_names: Iterable[str] = ()) -> Classification:
    """Raises the stored setting to what the markings demand; never lowers it."""
    result = classify(document, extra_names)
    if result.raised:
        set_classification(document, result.level)
        result = Classification(level=result.level, stored=result.level, markings=result.markings)
    return result

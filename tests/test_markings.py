"""Export-control markings however they are written, wherever a document carries them.

One normaliser, one matcher, one reader of every text a document carries
(with the documents it links), checked on real FreeCAD documents and real
STEP files written by FreeCAD whose header text is then edited. The
end-to-end refusals through ``ask`` are in test_markings_ask.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FreeCAD, Part

from freecad_spatial.spatial_tools import classification as cls
from freecad_spatial.spatial_tools.documents import cad_file_texts

# --- builders shared with test_markings_ask.py ----------------------------------------------------


def fcstd(path: Path, build: Callable[[object], None] | None = None, name: str = "Part",
          label: str = "Housing") -> Path:
    """Saves a document holding one 10 mm box (``name``/``label``), then ``build(doc)``; closes it."""
    doc = FreeCAD.newDocument(f"M{uuid.uuid4().hex[:8]}")
    box = doc.addObject("Part::Feature", name)
    box.Shape = Part.makeBox(10, 10, 10)
    box.Label = label
    if build is not None:
        build(doc)
    doc.recompute()
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    return path


def assembly(path: Path, part_path: Path, name: str = "Asm") -> Path:
    """Saves an assembly whose only content is an App::Link to the box of ``part_path``."""
    part = FreeCAD.openDocument(str(part_path))
    doc = FreeCAD.newDocument(f"{name}{uuid.uuid4().hex[:8]}")
    doc.saveAs(str(path))  # an XLink needs a saved owner (relative path)
    link = doc.addObject("App::Link", "Link")
    link.LinkedObject = part.Objects[0]
    link.Label = "Housing link"
    doc.recompute()
    doc.save()
    FreeCAD.closeDocument(doc.Name)
    FreeCAD.closeDocument(part.Name)
    return path


def step(path: Path, label: str = "Housing", description: str | None = None, file_name: str | None = None) -> Path:
    """A STEP file FreeCAD writes (its PRODUCT named after ``label``), header text then edited."""
    import Import

    doc = FreeCAD.newDocument(f"S{uuid.uuid4().hex[:8]}")
    box = doc.addObject("Part::Feature", "Part")
    box.Shape = Part.makeBox(10, 10, 10)
    box.Label = label
    doc.recompute()
    Import.export([box], str(path))
    FreeCAD.closeDocument(doc.Name)
    text = path.read_text(encoding="latin-1")
    assert "FILE_DESCRIPTION" in text and "FILE_NAME" in text and "PRODUCT(" in text
    if description is not None:
        text, n = re.subn(r"FILE_DESCRIPTION\s*\(\s*\(\s*'(?:[^']|'')*'", lambda _: f"FILE_DESCRIPTION(('{description}'", text)
        assert n == 1
    if file_name is not None:
        text, n = re.subn(r"FILE_NAME\s*\(\s*'(?:[^']|'')*'", lambda _: f"FILE_NAME('{file_name}'", text)
        assert n == 1
    path.write_text(text, encoding="latin-1")
    return path


def close_all_but(before: set[str]) -> None:
    for name in set(FreeCAD.listDocuments()) - before:
        FreeCAD.closeDocument(name)


@pytest.fixture
def documents():
    """Closes every document a test opened (linked documents load with their assembly)."""
    before = set(FreeCAD.listDocuments())
    yield
    close_all_but(before)


def names(text: str) -> list[str]:
    return [m.name for m in cls.find_markings(text, "t")]


# --- the normaliser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＩＴＡＲ", "ITAR"),  # full-width
        ("\u0406TAR", "ITAR"),  # Cyrillic capital І
        ("\u0399\u0422\u0410R", "ITAR"),  # Greek Ι, Cyrillic Т and А
        ("IT\u200bAR", "ITAR"),  # zero-width space
        ("I\u00adT\u2060A\ufeffR", "ITAR"),  # soft hyphen, word joiner, BOM
        ("I.T.A.R.", "ITAR."),
        ("C U I", "CUI"),
        ("E-A-R-99", "EAR-99"),
        ("ÏTÂR", "ITAR"),  # combining marks
        ("𝐈𝐓𝐀𝐑", "ITAR"),  # mathematical bold
        ("\u0441ui", "cui"),  # Cyrillic small es
    ],
)
def test_normalise_reads_text_as_a_person_does(raw, expected):
    assert cls.normalise(raw) == expected


def test_normalise_leaves_words_and_other_scripts_readable():
    assert cls.normalise("Bracket, rev. 2 (left)") == "Bracket, rev. 2 (left)"
    assert cls.normalise("e.g. year") == "eg. year"
    assert cls.word_parts("USMLCatXII_housing") == "USML Cat XII housing"
    assert cls.word_parts("ITARBracket") == "ITAR Bracket"


# --- the matcher: disguised markings, and ordinary words next to a marked twin ------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("ITARBracket", "ITAR"),
        ("itarbracket", "ITAR"),
        ("USMLCatXII_housing", "USML"),
        ("\u0406TAR bracket", "ITAR"),
        ("ＩＴＡＲ bracket", "ITAR"),
        ("IT\u200bAR bracket", "ITAR"),
        ("I.T.A.R. bracket", "ITAR"),
        ("I. T. A. R.", "ITAR"),
        ("bracket (cui)", "CUI"),
        ("CUIBracket", "CUI"),
        ("bracket ear99", "EAR99"),
        ("e.a.r.99", "EAR99"),
        ("partEAR", "EAR"),
        ("ExportControlledPart", "export controlled"),
        ("ECCNs 3A001", "ECCN"),
        ("ＥＣＣＮ 9A610", "ECCN"),
    ],
)
def test_disguised_markings_are_found(text, name):
    assert name in names(text)


@pytest.mark.parametrize(
    "word, twin",
    [
        ("ear", "ear99"),
        ("year", "year ear99"),
        ("cuisine", "cui"),
        ("curious", "Cui_part"),
        ("Ear lug", "EarLugEAR"),
        ("GEAR_HOUSING", "GEARHousingITAR"),
        ("guitar", "guitarITAR"),
        ("Sitar", "SitarＩＴＡＲ"),
        ("military spec", "military spec I.T.A.R."),
        ("sanitary", "\u0406TAR sanitary"),
        ("Unitary", "UnitaryUSMLCat"),
        ("Nuclear", "Nuclear EC\u200bCN"),
        ("Earpiece", "Earpiece_cui"),
        ("Россия", "Россия ITARpart"),
        ("circuit", "circuit C\u00adUI"),
    ],
)
def test_ordinary_words_raise_nothing_and_their_marked_twins_do(word, twin):
    assert names(word) == []
    assert names(twin) != []


# --- the reader: every text a document carries ------------------------------------------------------------


def _custom_property(doc):
    doc.Part.addProperty("App::PropertyString", "Distribution", "Custom", "who may receive it")
    doc.Part.Distribution = "ITAR controlled"


def _annotation(doc):
    doc.addObject("App::Annotation", "Note").LabelText = ["Technical data", "USML Category XII"]


def _spreadsheet(doc):
    sheet = doc.addObject("Spreadsheet::Sheet", "Data")
    sheet.set("A1", "Export class")
    sheet.set("B1", "ECCN 9A610")


def _expression(doc):
    doc.Part.addProperty("App::PropertyString", "Note", "Custom", "")
    doc.Part.setExpression("Note", "<<ear99>>")


def _property_name(doc):
    doc.Part.addProperty("App::PropertyBool", "ITAR_Controlled", "Custom", "")


def _string_list(doc):
    doc.Part.addProperty("App::PropertyStringList", "Notes", "Custom", "")
    doc.Part.Notes = ["rev A", "CUI//SP-EXPT"]


def _map(doc):
    doc.Part.addProperty("App::PropertyMap", "Attributes", "Custom", "")
    doc.Part.Attributes = {"distribution": "export controlled"}


def _document_field(doc):
    doc.CreatedBy = "ACME ITAR cell"


@pytest.mark.parametrize(
    "build, where",
    [
        (_custom_property, "object Part.Distribution"),
        (_annotation, "object Note.LabelText"),
        (_spreadsheet, "object Data."),
        (_expression, "object Part."),
        (_property_name, "object Part property name"),
        (_string_list, "object Part.Notes"),
        (_map, "object Part.Attributes"),
        (_document_field, "document.CreatedBy"),
    ],
    ids=["custom-string", "annotation", "spreadsheet", "expression", "property-name", "string-list", "map",
         "document-field"],
)
def test_every_text_the_document_carries_is_read(tmp_path, documents, build, where):
    path = fcstd(tmp_path / "plain.FCStd", build)
    doc = FreeCAD.openDocument(str(path))
    result = cls.classify(doc, extra_names=[str(path)])
    assert result.level == "export-controlled", [w for w, _ in cls.document_texts(doc)]
    assert any(m.where.startswith(where) for m in result.markings), result.markings


def test_object_name_is_read_when_the_label_is_plain(doc):
    box = doc.addObject("Part::Feature", "ITAR_Part")
    box.Shape = Part.makeBox(1, 1, 1)
    box.Label = "Housing"
    result = cls.classify(doc)
    assert result.level == "export-controlled"
    assert result.markings[0].where == "object ITAR_Part.Name"


def test_sketch_constraint_names_are_read(doc):
    import Sketcher

    sketch = doc.addObject("Sketcher::SketchObject", "Sketch")
    sketch.addGeometry(Part.LineSegment(FreeCAD.Vector(0, 0, 0), FreeCAD.Vector(10, 0, 0)))
    index = sketch.addConstraint(Sketcher.Constraint("DistanceX", 0, 1, 0, 2, 10))
    sketch.renameConstraint(index, "USML_width")
    doc.recompute()
    assert cls.classify(doc).level == "export-controlled"


# --- linked documents and referenced files --------------------------------------------------------


def test_an_assembly_is_as_classified_as_the_part_it_links(tmp_path, documents):
    part = fcstd(tmp_path / "part.FCStd", lambda d: cls.set_classification(d, "export-controlled"))
    asm = assembly(tmp_path / "asm.FCStd", part)
    doc = FreeCAD.openDocument(str(asm))
    assert doc.getObject("Link").LinkedObject is not None  # the part was loaded with its assembly
    result = cls.classify(doc, extra_names=[str(asm)])
    assert result.stored == "unrestricted" and result.level == "export-controlled" and result.raised
    assert any(m.where.startswith("linked document") for m in result.markings)


def test_markings_of_a_linked_part_and_of_a_part_two_links_away(tmp_path, documents):
    part = fcstd(tmp_path / "bracket.FCStd", label="Bracket ECCN 9A610")
    sub = assembly(tmp_path / "sub.FCStd", part, "Sub")
    top = assembly(tmp_path / "top.FCStd", sub)
    doc = FreeCAD.openDocument(str(top))
    result = cls.classify(doc, extra_names=[str(top)])
    assert result.level == "export-controlled"
    assert any("Bracket ECCN" in m.excerpt and m.where.startswith("linked document") for m in result.markings)


def test_a_link_to_a_missing_file_is_read_by_its_file_name(tmp_path, documents):
    part = fcstd(tmp_path / "ITAR_bracket.FCStd")
    asm = assembly(tmp_path / "asm.FCStd", part)
    part.rename(tmp_path / "elsewhere.FCStd")  # the link still names ITAR_bracket.FCStd
    doc = FreeCAD.openDocument(str(asm))
    result = cls.classify(doc, extra_names=[str(asm)])
    assert result.level == "export-controlled"
    assert [m.where for m in result.markings] == ["linked file"]


def test_an_unmarked_assembly_of_unmarked_parts_stays_unrestricted(tmp_path, documents):
    part = fcstd(tmp_path / "plate.FCStd", label="Ear lug plate")
    asm = assembly(tmp_path / "asm.FCStd", part)
    doc = FreeCAD.openDocument(str(asm))
    assert cls.classify(doc, extra_names=[str(asm)]).level == "unrestricted"
    # ... and the linked part's marking raises it once it has one.
    FreeCAD.getDocument("plate").Objects[0].Label = "Ear lug plate (CUI)"
    assert cls.classify(doc, extra_names=[str(asm)]).level == "export-controlled"


# --- STEP files: header and product names -------------------------------------------------------------


def test_step_header_and_product_texts_are_read(tmp_path):
    path = step(tmp_path / "housing.step", label="ECCN 9A610 housing", description="ITAR technical data",
                file_name="USML Cat XII")
    texts = cad_file_texts(path)
    assert ("STEP header FILE_DESCRIPTION", "ITAR technical data") in texts
    assert ("STEP header FILE_NAME", "USML Cat XII") in texts
    assert ("STEP PRODUCT", "ECCN 9A610 housing") in texts


def test_step_string_escapes_are_decoded(tmp_path):
    path = step(tmp_path / "housing.step", description="\\X2\\0406\\X0\\TAR data", file_name="Bracket''s drawing")
    texts = cad_file_texts(path)
    assert ("STEP header FILE_DESCRIPTION", "\u0406TAR data") in texts
    assert ("STEP header FILE_NAME", "Bracket's drawing") in texts


@pytest.mark.parametrize(
    "kwargs",
    [{"description": "ITAR technical data"}, {"file_name": "USML Cat XII housing"}, {"label": "ECCN 9A610 housing"},
     {"description": "\\X2\\0406\\X0\\TAR data"}],
    ids=["FILE_DESCRIPTION", "FILE_NAME", "PRODUCT", "escaped-cyrillic"],
)
def test_a_step_file_is_classified_by_its_header_and_products(tmp_path, documents, kwargs):
    from freecad_spatial.spatial_tools.documents import open_document

    path = step(tmp_path / "housing.step", **kwargs)
    doc = open_document(path)
    assert cls.classify(doc, extra_names=[str(path)]).level == "export-controlled"
    plain = step(tmp_path / "plain.step")
    assert cls.classify(open_document(plain), extra_names=[str(plain)]).level == "unrestricted"


def test_a_step_file_included_in_the_document_is_read(tmp_path, documents):
    source = step(tmp_path / "source.step", description="ITAR technical data")

    def include(doc):
        doc.Part.addProperty("App::PropertyFileIncluded", "Source", "Custom", "the STEP it came from")
        doc.Part.Source = str(source)

    path = fcstd(tmp_path / "plate.FCStd", include)
    source.unlink()
    doc = FreeCAD.openDocument(str(path))
    result = cls.classify(doc, extra_names=[str(path)])
    assert result.level == "export-controlled"
    assert any(m.where == "object Part.Source: STEP header FILE_DESCRIPTION" for m in result.markings)


# --- the project's own words are never evidence --------------------------------------------------------


def test_the_saved_chat_quoting_a_refusal_is_not_a_marking(doc):
    from freecad_spatial.spatial_tools.chat.conversation import (
        Conversation,
        Entry,
        save_to_document,
    )

    cls.set_classification(doc, "export-controlled")
    refusal = ("refused: the anthropic backend is not allowed in the local tier (allowed: openai) — required because "
               "the document is export-controlled")
    save_to_document(doc, Conversation(entries=[Entry("user", "Is this ITAR?"), Entry("error", refusal)]))
    cls.set_classification(doc, "unrestricted")
    assert cls.classify(doc).level == "unrestricted"
    doc.Meta = {**doc.Meta, "Distribution": "Export Controlled"}  # a user's own Meta key still counts
    assert cls.classify(doc).level == "export-controlled"


def test_generated_finding_text_is_not_a_marking_but_a_reviewers_reason_is(doc):
    from freecad_spatial.spatial_tools.annotations import store
    from freecad_spatial.spatial_tools.dfm.finding import Finding, Severity

    box = doc.addObject("Part::Feature", "Box")
    box.Shape = Part.makeBox(10, 10, 10)
    doc.recompute()
    finding = Finding(rule="model.note", severity=Severity.INFO, object="Box", elements=("Face6",),
                      message="No export-control marking (ITAR, EAR99, CUI) found in this document.",
                      suggestion="Ask your export-control officer if unsure.")
    (obj,) = store.add_findings(doc, [finding])
    assert cls.classify(doc).level == "unrestricted"
    store.set_status(doc, [obj.Name], "waived", "ITAR part: reviewed on site", by="ana")
    assert cls.classify(doc).level == "export-controlled"


def test_a_findings_generated_label_is_not_a_marking_but_a_users_rename_is(doc):
    """The tree label of a finding is its number and title, made from the rule's text: not evidence."""
    from freecad_spatial.spatial_tools.annotations import store
    from freecad_spatial.spatial_tools.dfm.finding import Finding, Severity

    box = doc.addObject("Part::Feature", "Box")
    box.Shape = Part.makeBox(10, 10, 10)
    doc.recompute()
    finding = Finding(rule="model.note", severity=Severity.INFO, object="Box", elements=("Face6",),
                      message="Checked for ITAR and EAR99 markings: none found")
    (obj,) = store.add_findings(doc, [finding])
    assert "ITAR" in obj.Label
    assert cls.classify(doc).level == "unrestricted"
    obj.Label = "ITAR controlled feature"  # the user's own words
    assert cls.classify(doc).level == "export-controlled"

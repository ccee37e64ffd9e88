"""``freecad-spatial ask --tier cloud`` on documents that carry an export-control marking: nothing is sent.

Each marked document is a real FCStd or STEP file; the cloud backend is the
project's loopback protocol server, which must receive zero requests. The
ordinary words next to the markings are sent, and a refusal quoted in the
saved chat does not keep refusing once the user lowers the classification.
"""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import FreeCAD
from key_leak import TEST_API_KEY
from test_markings import (
    _annotation,
    _custom_property,
    _spreadsheet,
    assembly,
    close_all_but,
    fcstd,
    step,
)

from freecad_spatial.spatial_tools import classification as cls
from freecad_spatial.spatial_tools import cli
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("markings_home")


@pytest.fixture(autouse=True)
def environment(home, monkeypatch):
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(home / "data" / "audit.jsonl"))
    before = set(FreeCAD.listDocuments())
    yield
    close_all_but(before)  # the parts an assembly loaded stay open after ask closes the assembly


@pytest.fixture
def folder(home):
    path = home / uuid.uuid4().hex[:8]
    path.mkdir()
    return path


def ask_cloud(capsys, path, reply: str = "Sent.") -> tuple[int, str, list]:
    """``ask --tier cloud`` through the Anthropic backend at the protocol server: (exit, stderr, requests)."""
    with ProtocolServer([reply]) as server:
        code = cli.main(["ask", str(path), "How big is it?", "--backend", "anthropic", "--base-url", server.url,
                         "--tier", "cloud"])
        requests = list(server.requests)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err, requests


def assert_refused(capsys, path) -> str:
    code, err, requests = ask_cloud(capsys, path)
    assert requests == [], f"{path.name}: {len(requests)} request(s) reached the cloud backend"
    assert code == 2 and "refused" in err and "export-controlled" in err, err
    return err


def assert_sent(capsys, path) -> list:
    code, err, requests = ask_cloud(capsys, path)
    assert code == 0 and len(requests) == 1, err
    return requests


# --- the marked documents of the issue, each refused with zero requests --------------------------------


def _set_label(label):
    return lambda doc: setattr(doc.Part, "Label", label)


FCSTD_CASES = {
    "name-only": dict(name="ITAR_Part", label="Housing"),
    "glued-ITARBracket": dict(build=_set_label("ITARBracket")),
    "glued-USMLCatXII_housing": dict(build=_set_label("USMLCatXII_housing")),
    "cyrillic-I": dict(build=_set_label("\u0406TAR bracket")),
    "full-width": dict(build=_set_label("ＩＴＡＲ bracket")),
    "zero-width-space": dict(build=_set_label("IT\u200bAR bracket")),
    "dotted-I.T.A.R.": dict(build=_set_label("I.T.A.R. bracket")),
    "lower-cui": dict(build=_set_label("bracket (cui)")),
    "lower-ear99": dict(build=_set_label("bracket ear99")),
    "custom-string-property": dict(build=_custom_property),
    "annotation-text": dict(build=_annotation),
    "spreadsheet-cell": dict(build=_spreadsheet),
}


@pytest.mark.parametrize("case", FCSTD_CASES)
def test_a_marked_document_sends_nothing_to_the_cloud(capsys, folder, case):
    path = fcstd(folder / "housing.FCStd", **FCSTD_CASES[case])
    assert_refused(capsys, path)


STEP_CASES = {
    "FILE_DESCRIPTION": dict(description="ITAR controlled technical data"),
    "FILE_NAME": dict(file_name="USML Cat XII housing"),
    "PRODUCT": dict(label="ECCN 9A610 housing"),
    "FILE_DESCRIPTION-escaped-cyrillic": dict(description="\\X2\\0406\\X0\\TAR data"),
}


@pytest.mark.parametrize("case", STEP_CASES)
def test_a_step_file_marked_in_its_header_or_products_sends_nothing(capsys, folder, case):
    path = step(folder / "housing.step", **STEP_CASES[case])
    assert_refused(capsys, path)


def test_an_assembly_linking_a_part_stored_as_export_controlled_sends_nothing(capsys, folder):
    # The same assembly with an unrestricted part is sent, with the linked part's geometry in it.
    open_part = fcstd(folder / "open_part.FCStd")
    (request,) = assert_sent(capsys, assembly(folder / "open_asm.FCStd", open_part))
    assert "1000" in json.dumps(request.body)  # the linked 10 mm cube's volume went out
    controlled = fcstd(folder / "part.FCStd", lambda d: cls.set_classification(d, "export-controlled"))
    assert_refused(capsys, assembly(folder / "asm.FCStd", controlled))


def test_an_assembly_two_links_away_from_a_marked_part_sends_nothing(capsys, folder):
    part = fcstd(folder / "bracket.FCStd", label="Bracket ECCN 9A610")
    sub = assembly(folder / "sub.FCStd", part, "Sub")
    assert_refused(capsys, assembly(folder / "top.FCStd", sub))


def test_an_assembly_linking_a_missing_file_named_itar_sends_nothing(capsys, folder):
    part = fcstd(folder / "ITAR_bracket.FCStd")
    asm = assembly(folder / "asm.FCStd", part)
    part.rename(folder / "moved.FCStd")
    assert_refused(capsys, asm)


# --- ordinary words are sent; the marked twin beside each is not ---------------------------------------------


@pytest.mark.parametrize(
    "word, twin",
    [("ear", "ear99"), ("year", "year cui"), ("cuisine", "cuisine \u0406TAR"), ("Ear lug", "EarLugITAR"),
     ("military", "military I.T.A.R.")],
)
def test_an_ordinary_word_is_sent_and_its_marked_twin_is_not(capsys, folder, word, twin):
    assert_sent(capsys, fcstd(folder / "plain.FCStd", _set_label(word)))
    assert_refused(capsys, fcstd(folder / "marked.FCStd", _set_label(twin)))


def test_ordinary_words_in_every_place_the_reader_looks_are_sent(capsys, folder):
    def build(doc):
        doc.Part.Label = "Year bracket"
        doc.Part.addProperty("App::PropertyString", "Note", "Custom", "")
        doc.Part.Note = "cuisine rack, ear lug"
        doc.addObject("App::Annotation", "Text").LabelText = ["guitar", "sanitary"]
        sheet = doc.addObject("Spreadsheet::Sheet", "Data")
        sheet.set("A1", "curious year")

    assert_sent(capsys, fcstd(folder / "plain.FCStd", build))
    assert_sent(capsys, step(folder / "plain.step", label="Gear housing", description="Year 2024 ear lug"))
    assert_refused(capsys, step(folder / "marked.step", label="Gear housing", description="Year 2024 ear99"))


# --- our own refusal, quoted in the saved chat, is not a marking -----------------------------------------------


def test_a_refusal_saved_in_the_chat_does_not_keep_refusing_after_the_classification_is_lowered(capsys, folder):
    from freecad_spatial.spatial_tools.chat.conversation import (
        Conversation,
        Entry,
        save_to_document,
    )

    path = fcstd(folder / "plate.FCStd", lambda d: cls.set_classification(d, "export-controlled"))
    refusal = assert_refused(capsys, path).strip()
    # The chat panel keeps the question and the refusal in the document, then the user lowers the level.
    doc = FreeCAD.openDocument(str(path))
    save_to_document(doc, Conversation(entries=[Entry("user", "How big is it?"), Entry("error", refusal)]))
    cls.set_classification(doc, "unrestricted")
    doc.save()
    FreeCAD.closeDocument(doc.Name)
    assert_sent(capsys, path)

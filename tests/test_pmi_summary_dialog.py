"""The Import GD&T summary dialog under pytest-qt (PySide6, offscreen) on CTC 02's real import:
every imported and every skipped item is a row, skipped ones with their reason, symbols spelt out."""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import CORPORA, FreeCAD  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from freecad_spatial.panels.pmi_summary import PmiSummaryDialog  # noqa: E402
from freecad_spatial.spatial_tools.gdt.pmi_import import import_pmi  # noqa: E402
from freecad_spatial.spatial_tools.gdt.pmi_summary import public_summary  # noqa: E402

CTC02 = CORPORA / "nist-pmi" / "step" / "nist_ctc_02_asme1_ap242-e2.stp"


@pytest.fixture(scope="module")
def data():
    if importlib.util.find_spec("OCP") is None or not CTC02.is_file():
        pytest.skip("needs cadquery-ocp and the NIST corpus")
    document = FreeCAD.newDocument("PmiDialog")
    try:
        yield public_summary(import_pmi(document, CTC02))
    finally:
        FreeCAD.closeDocument(document.Name)


def test_every_item_is_a_row_and_every_skip_has_its_reason(qtbot, data):
    dialog = PmiSummaryDialog(data)
    qtbot.addWidget(dialog.dialog)
    imported = dialog.rows(dialog.imported_root)
    skipped = dialog.rows(dialog.skipped_root)
    assert len(imported) == sum(data["imported"].values()) == len(data["items"])
    assert len(skipped) == len(data["skipped"]) and all(reason for _, reason in skipped)
    texts = [t for t, _ in imported]
    # CTC 02's three unequal-bilateral profiles read apart, with (U) spelt out; its datum targets are listed.
    assert {"|⌓|2.5 (U)0|A|B|C|", "|⌓|2.5 (U)0.5|A|B|C|", "|⌓|2.5 (U)2.5|A|B|C|"} <= set(texts)
    assert "Datum target A1 (point)" in texts and "Datum D" in texts
    assert "skipped" in dialog.headline.text()
    out = os.environ.get("SPATIAL_SCREENSHOTS")
    if out:
        dialog.dialog.show()
        qtbot.waitExposed(dialog.dialog)
        dialog.dialog.grab().save(os.path.join(out, "pmi_summary_dialog.png"))


def test_a_note_of_many_lines_is_one_row_with_the_whole_text_in_its_tooltip(qtbot, data):
    note = "NOTES (UNLESS OTHERWISE SPECIFIED):\n\n1. OBTAIN DIMENSIONS FROM THE MODEL.\n2. ASME Y14.5M-1994 APPLIES."
    dialog = PmiSummaryDialog({**data, "skipped": [*data["skipped"], {"kind": "note", "what": note, "reason": "a general note"}]})
    qtbot.addWidget(dialog.dialog)
    row = dialog.skipped_root.child(dialog.skipped_root.childCount() - 1)
    assert row.text(0) == "NOTES (UNLESS OTHERWISE SPECIFIED): …" and row.toolTip(0) == note and row.text(1) == "a general note"

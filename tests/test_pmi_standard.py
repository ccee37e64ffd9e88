"""The tolerancing standard a supplier's frames follow, read from the file's notes (issue 20).

A frame is judged by its own standard: concentricity and symmetry are valid under ASME Y14.5M-1994 and
Y14.5-2009 and were removed in Y14.5-2018, so a 1994 drawing labelled 2018 gets false findings.
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import DATA, FreeCAD

from freecad_spatial.spatial_tools.gdt.pmi_import import STANDARD, import_pmi, stated_standard
from freecad_spatial.spatial_tools.gdt.pmi_summary import summary_lines

STEP = DATA / "corpora" / "nist-pmi" / "step"


@pytest.mark.parametrize(("notes", "expected"), [
    (["3. APPLICABLE STANDARDS:\n   ASME Y14.41-2003 APPLIES TO\n   DATASET AND MOVABLE DATUM TARGETS.\n\n"
      "   ASME Y14.5M-1994 APPLIES TO\n   DIMENSIONING AND TOLERANCING."], "ASME Y14.5M-1994"),
    (["ASME Y14.5-2009 APPLIES"], "ASME Y14.5-2009"),
    (["TOLERANCING PER asme y 14.5-2018"], "ASME Y14.5-2018"),
    (["GENERAL TOLERANCES ISO 2768-mK", "ISO 8015 APPLIES"], "ISO 1101"),
    (["ASME Y14.41-2003 APPLIES TO DATASET"], None),  # the dataset standard, not the tolerancing one
    (["ASME Y14.5M-1994", "ASME Y14.5-2009"], None),  # two editions: the file does not say which
    ([], None),
])
def test_the_standard_named_in_the_notes(notes, expected):
    assert stated_standard(notes) == expected


needs_reader = pytest.mark.skipif(importlib.util.find_spec("OCP") is None, reason="the PMI reader (the 'pmi' extra) is missing")


@needs_reader
@pytest.mark.parametrize(("name", "standard", "stated"), [
    ("nist_ftc_10_asme1_ap242-e2.stp", "ASME Y14.5M-1994", True),
    ("nist_ctc_05_asme1_ap242-e1.stp", STANDARD, False),  # CTC 05's notes name no standard
])
def test_imported_frames_follow_the_files_standard(name, standard, stated):
    doc = FreeCAD.newDocument("PmiStandard")
    try:
        summary = import_pmi(doc, STEP / name)
        frames = [o for o in doc.Objects if hasattr(o, "Standard") and hasattr(o, "Characteristic")]
        assert frames and {o.Standard for o in frames} == {standard}
        assert summary["standard"] == standard and summary["standard_stated"] is stated
        first = summary_lines(summary)[0]
        assert standard in first and ("does not name" in first) is (not stated)
    finally:
        FreeCAD.closeDocument(doc.Name)

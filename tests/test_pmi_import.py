"""AP242 semantic PMI import: NIST's CTC 01 (mm) and CTC 03 (inch) end to end, files without PMI, broken files.

The expected values come from NIST's CTC-FTC-Test-Cases.csv; the faces are
checked against geometry computed here with FreeCAD, not by the reader.
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import CORPORA, FreeCAD, Part

from freecad_spatial.spatial_tools.annotations import store
from freecad_spatial.spatial_tools.errors import UnreadableFile
from freecad_spatial.spatial_tools.gdt import nist_groundtruth as gt
from freecad_spatial.spatial_tools.gdt.pmi_import import import_pmi, read_pmi_records

NIST = CORPORA / "nist-pmi"
CTC01 = NIST / "step" / "nist_ctc_01_asme1_ap242-e1.stp"
CTC03 = NIST / "step" / "nist_ctc_03_asme1_ap242-e2.stp"

needs_ocp = pytest.mark.skipif(
    importlib.util.find_spec("OCP") is None,
    reason="the PMI reader needs the cadquery-ocp bindings: pip install 'freecad-spatial[pmi]' (setup.sh test installs them)",
)
needs_nist = pytest.mark.skipif(not CTC01.is_file(), reason=f"NIST PMI corpus not found at {NIST}")


@pytest.fixture(scope="module")
def ctc01():
    """CTC 01 imported once into its own document: (document, summary)."""
    if importlib.util.find_spec("OCP") is None or not CTC01.is_file():
        pytest.skip("needs cadquery-ocp and the NIST corpus")
    document = FreeCAD.newDocument("PmiCtc01")
    document.UndoMode = 1
    summary = import_pmi(document, CTC01)
    yield document, summary
    FreeCAD.closeDocument(document.Name)


def _frames(document):
    return store.annotations(document, "FeatureControlFrame")


def _face(document, ref) -> Part.Face:
    obj, sub = ref
    return obj.Shape.getElement(sub)


@needs_ocp
@needs_nist
def test_ctc01_frames_come_through_with_nists_values(ctc01):
    document, summary = ctc01
    assert summary["unmatched_faces"] == []
    frames = sorted(
        (f.Characteristic, round(f.Zone, 4), f.DiameterZone, f.MaterialModifier, tuple(f.DatumReferences)) for f in _frames(document)
    )
    # CSV: ▱ | 0.2 ; ⏊ | 1.5 | A ; ⊕ | 0.75 | A | B | C (twice) ; ⌓ | 0.5 | A ; ⌓ | 1.25 | A | B | C
    assert frames == [
        ("flatness", 0.2, False, "none", ()),
        ("perpendicularity", 1.5, False, "none", ("A",)),
        ("position", 0.75, False, "none", ("A", "B", "C")),
        ("position", 0.75, False, "none", ("A", "B", "C")),
        ("profile_of_a_surface", 0.5, False, "none", ("A",)),
        ("profile_of_a_surface", 1.25, False, "none", ("A", "B", "C")),
    ]
    assert all(f.Attachment == "attached" and f.Faces for f in _frames(document))
    assert sorted(d.Letter for d in store.annotations(document, "DatumFeature")) == ["A", "B", "C"]
    drfs = {(d.Primary, d.Secondary, d.Tertiary) for d in store.annotations(document, "DatumReferenceFrame")}
    assert drfs == {("A", "B", "C"), ("A", "", "")}


@needs_ocp
@needs_nist
def test_ctc01_datums_sit_on_the_right_geometry(ctc01):
    document, summary = ctc01
    part = document.getObject(summary["target"])
    planes = [f for f in part.Shape.Faces if isinstance(f.Surface, Part.Plane)]
    largest = max(planes, key=lambda f: f.Area)
    datums = {d.Letter: d for d in store.annotations(document, "DatumFeature")}
    (a_obj, a_subs), = datums["A"].Faces
    assert len(a_subs) == 1
    a = a_obj.Shape.getElement(a_subs[0])
    # Datum A: the part's large mounting plane (its largest planar face), normal +Z at Z = 0.
    assert isinstance(a.Surface, Part.Plane)
    assert a.Area == pytest.approx(largest.Area, rel=1e-9)
    assert a.normalAt(0, 0).getAngle(FreeCAD.Vector(0, 0, 1)) < 1e-6
    assert a.CenterOfMass.z == pytest.approx(0.0, abs=1e-6)
    # Datums B and C (tied to their faces only through the STEP entity graph): the ∅35 bores.
    for letter in ("B", "C"):
        (obj, subs), = datums[letter].Faces
        faces = [obj.Shape.getElement(s) for s in subs]
        assert faces and all(isinstance(f.Surface, Part.Cylinder) and f.Surface.Radius == pytest.approx(17.5) for f in faces)


@needs_ocp
@needs_nist
def test_ctc01_size_dimensions_keep_their_deviations(ctc01):
    document, _ = ctc01
    sizes = {(round(d.Nominal, 4), round(d.UpperDeviation, 4), round(d.LowerDeviation, 4)) for d in store.annotations(document, "SizeDimension")}
    # CSV: ∅20 +0.05/-0.10, ∅20 +0.10/-0.05, ∅25 ±0.15, ∅35 +0.2/0, ∅35 0/-0.2, ∅34.8 - 35.2
    assert {(20.0, 0.05, -0.1), (20.0, 0.1, -0.05), (25.0, 0.15, -0.15), (35.0, 0.2, 0.0), (35.0, 0.0, -0.2), (35.0, 0.2, -0.2)} <= sizes


@needs_ocp
@needs_nist
def test_the_import_is_one_undo_step(ctc01):
    document, _ = ctc01
    assert document.UndoCount == 1
    assert document.UndoNames[0].startswith("Spatial: import PMI")


@needs_ocp
@needs_nist
def test_inch_model_values_arrive_in_millimetres():
    records = read_pmi_records(CTC03)["records"]
    positions = [r for r in records if r["kind"] == "tolerance" and r["characteristic"] == "position"]
    # CSV: ⊕ | ∅.05(M) | A | B(M) | C(M)   (inches)
    hit = [r for r in positions if r["datums"] == ["A", "B(M)", "C(M)"]]
    assert len(hit) == 1
    assert hit[0]["value"] == pytest.approx(0.05 * 25.4, rel=1e-6)
    assert hit[0]["diameter_zone"] and hit[0]["material_modifier"] == "MMC"
    flatness = [r for r in records if r["kind"] == "tolerance" and r["characteristic"] == "flatness"]
    # ▱ | .005 / .25 X .25: per unit area, which XDE drops and the STEP fallback reads.
    assert [round(r["value"], 4) for r in flatness] == [0.127]
    assert flatness[0]["faces"] and flatness[0]["other_modifiers"] == ["per_unit_rectangular"]


@needs_ocp
def test_a_step_without_pmi_imports_nothing(doc, tmp_path):
    path = tmp_path / "plain_box.step"
    Part.makeBox(10, 20, 30).exportStep(str(path))
    summary = import_pmi(doc, path)
    assert summary["created"] == {"datum": [], "datum_target": [], "datum_system": [], "tolerance": [], "dimension": []}
    assert summary["unmatched_faces"] == [] and summary["skipped"] == []
    assert store.annotations(doc) == []
    assert len(doc.getObject(summary["target"]).Shape.Faces) == 6


@needs_ocp
def test_a_broken_step_is_a_clear_error(doc, tmp_path):
    path = tmp_path / "broken.stp"
    path.write_text("ISO-10303-21;\nHEADER;\nthis is not STEP\n")
    with pytest.raises(UnreadableFile, match="broken.stp"):
        import_pmi(doc, path)
    assert doc.Objects == [] and doc.UndoCount == 0
    with pytest.raises(UnreadableFile, match="no such file"):
        import_pmi(doc, tmp_path / "missing.stp")


def test_nist_frame_and_dimension_notation_is_parsed():
    seg = gt.parse_frame("⊕ | ∅.05(M) | A | B(M) | C(M)")
    assert [(s.value, s.diameter, s.material, s.datums) for s in seg] == [(0.05, True, "MMC", ["A", "B(M)", "C(M)"])]
    assert [s.value for s in gt.parse_frame("⌓ | .05 | D | B | C / .01 | D / 2 SURFACES")] == [0.05, 0.01]
    assert [s.value for s in gt.parse_frame("▱ | .005 / .25 X .25")] == [0.005]
    assert gt.parse_frame("// | .03 | A")[0].datums == ["A"]
    assert gt.parse_dimension("2X ∅.438 ±.005")[:2] == (0.438, (0.005, -0.005))
    assert gt.parse_dimension("∅20 +0.05/-0.10")[:2] == (20.0, (0.05, -0.1))
    assert gt.parse_dimension("∅34.8 - 35.2")[2] == (34.8, 35.2)
    assert gt.parse_dimension("60° ±0.5°")[3] is True
    assert gt.case_of("nist_ftc_06_asme1_ap242-e2.stp") == "FTC 06"

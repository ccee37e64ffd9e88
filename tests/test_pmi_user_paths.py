"""Issue 20's user paths on NIST CTC 01: ``freecad-spatial pmi``, ``check`` importing PMI first (``--no-pmi``),
the ``import_pmi`` model tool (read-only for the assistant, never a host path), and location dimensions
feeding stack-up steps.

CTC 01's expected frames are NIST's CSV rows (test_pmi_import.py lists them).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPORA, FreeCAD, Part

from freecad_spatial.spatial_tools.annotations import store
from freecad_spatial.spatial_tools.annotations.dimension_tolerances import size_dimension_tolerance
from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.registry import load_builtin_tools

EXE = Path(sys.executable).with_name("freecad-spatial")
CTC01 = CORPORA / "nist-pmi" / "step" / "nist_ctc_01_asme1_ap242-e1.stp"
CTC01_FRAMES = [
    ("flatness", 0.2, ()),
    ("perpendicularity", 1.5, ("A",)),
    ("position", 0.75, ("A", "B", "C")),
    ("position", 0.75, ("A", "B", "C")),
    ("profile_of_a_surface", 0.5, ("A",)),
    ("profile_of_a_surface", 1.25, ("A", "B", "C")),
]

needs_pmi = pytest.mark.skipif(importlib.util.find_spec("OCP") is None or not CTC01.is_file(),
                               reason="needs the cadquery-ocp bindings ('pmi' extra) and the NIST PMI corpus")


def run(*args, timeout=300):
    proc = subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _frames(document) -> list[tuple]:
    return sorted((f.Characteristic, round(f.Zone, 4), tuple(f.DatumReferences)) for f in store.annotations(document, "FeatureControlFrame"))


def _open(path):
    store.import_proxies()
    return FreeCAD.openDocument(str(path))


@needs_pmi
def test_pmi_command_prints_json_and_saves_the_annotated_part(tmp_path):
    out = tmp_path / "ctc01.FCStd"
    proc = run("pmi", CTC01, "--format", "json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    assert result["imported"] == {"datum": 3, "datum_target": 0, "datum_system": 2, "tolerance": 6, "dimension": result["imported"]["dimension"]}
    assert result["imported"]["dimension"] > 0
    # Nothing silent: every dimension of the file is either an object or listed with its reason.
    assert all(s["kind"] and s["what"] and s["reason"] for s in result["skipped"])
    assert len(result["items"]) == sum(result["imported"].values())
    document = _open(out)
    try:
        assert _frames(document) == CTC01_FRAMES
        assert sorted(d.Letter for d in store.annotations(document, "DatumFeature")) == ["A", "B", "C"]
    finally:
        FreeCAD.closeDocument(document.Name)


@needs_pmi
def test_pmi_command_text_lists_skipped_items_with_reasons():
    proc = run("pmi", CTC01)
    assert proc.returncode == 0, proc.stderr
    assert "6 feature control frames" in proc.stdout and "3 datum features" in proc.stdout
    assert "skipped:" in proc.stdout or "nothing skipped" in proc.stdout


def test_pmi_command_refuses_what_is_not_step(tmp_path):
    proc = run("pmi", tmp_path / "part.FCStd")
    assert proc.returncode == 2 and "STEP AP242" in proc.stderr
    broken = tmp_path / "broken.stp"
    broken.write_text("ISO-10303-21;\nnot step\n")
    proc = run("pmi", broken, "--format", "json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["ok"] is False


@needs_pmi
def test_check_imports_the_pmi_first_and_no_pmi_skips_it(tmp_path):
    with_pmi, without = tmp_path / "with.FCStd", tmp_path / "without.FCStd"
    first = run("check", CTC01, "--process", "cnc-3axis", "--annotate", with_pmi)
    second = run("check", CTC01, "--process", "cnc-3axis", "--annotate", without, "--no-pmi")
    assert first.returncode in (0, 1) and second.returncode in (0, 1), first.stderr + second.stderr
    doc = _open(with_pmi)
    try:
        assert _frames(doc) == CTC01_FRAMES  # the gdt.* rules ran on the supplier's frames
    finally:
        FreeCAD.closeDocument(doc.Name)
    doc = _open(without)
    try:
        assert _frames(doc) == []
    finally:
        FreeCAD.closeDocument(doc.Name)
    report = json.loads(first.stdout)["files"][0]
    plain = json.loads(second.stdout)["files"][0]
    notes = [s for s in report["skipped"] if s["rule"] == "pmi.import"]
    assert notes and all(s["reason"].startswith("PMI item") for s in notes)  # the report lists what did not come in
    assert not [s for s in plain["skipped"] if s["rule"] == "pmi.import"]
    assert {f["rule"] for f in report["findings"]} > {f["rule"] for f in plain["findings"]}


@pytest.fixture
def saved_part(tmp_path):
    """CTC 01's part saved as an FCStd with the STEP file beside it (what a user has open)."""
    if importlib.util.find_spec("OCP") is None or not CTC01.is_file():
        pytest.skip("needs cadquery-ocp and the NIST corpus")
    step = tmp_path / CTC01.name
    shutil.copy(CTC01, step)
    document = FreeCAD.newDocument("PmiTool")
    part = document.addObject("Part::Feature", "Part")
    part.Shape = Part.read(str(step))
    document.saveAs(str(tmp_path / "ctc01.FCStd"))
    yield document, step
    FreeCAD.closeDocument(document.Name)


@needs_pmi
def test_the_model_lists_the_pmi_but_may_not_import_it(saved_part):
    document, step = saved_part
    registry = load_builtin_tools()
    ctx = ToolContext.for_assistant(document)
    envelope = registry.call("import_pmi", {"file": step.name}, ctx)
    assert envelope["ok"], envelope
    assert envelope["result"]["imported"]["tolerance"] == 6 and envelope["result"]["applied"] is False
    assert store.annotations(document) == []
    refused = registry.call("import_pmi", {"file": step.name, "apply": True}, ctx)
    assert refused["error"]["code"] == "read_only"
    for path in (str(step), "../" + step.name, "/etc/passwd.stp"):
        assert registry.call("import_pmi", {"file": path}, ctx)["error"]["code"] == "not_permitted", path
    assert store.annotations(document) == []


@needs_pmi
def test_a_users_own_call_imports_in_one_undo_step(saved_part):
    document, step = saved_part
    document.UndoMode = 1
    envelope = load_builtin_tools().call("import_pmi", {"file": str(step), "apply": True}, ToolContext(document=document))
    assert envelope["ok"], envelope
    assert _frames(document) == CTC01_FRAMES
    assert document.UndoCount == 1


def test_a_location_dimension_between_two_faces_is_that_steps_tolerance(doc):
    """A supplier's location dimension (imported as SizeDimension, DimensionType location) toleranced 40 ±0.1."""
    from freecad_spatial.addon.annotations import size_dimension

    store.import_proxies()
    box = doc.addObject("Part::Box", "Block")
    box.Length, box.Width, box.Height = 40, 20, 10
    doc.recompute()
    dim = size_dimension.create(doc, "SizeDimension")
    dim.Nominal, dim.UpperDeviation, dim.LowerDeviation, dim.DimensionType = 40.0, 0.1, -0.1, "location"
    store.link_elements(dim, [(box, ["Face1", "Face2"])])  # the planes x = 0 and x = 40
    assert size_dimension_tolerance(doc, "Block.Face1", "Block.Face2") == (0.1, 0.1, f"location dimension {dim.Label}")
    # ... and it is not a feature of size for the gdt.* rules.
    from freecad_spatial.spatial_tools.gdt.validation.model import read_gdt

    assert read_gdt(doc).sizes == []


NEW_PROPERTIES = {
    "FeatureControlFrame": ["ProjectedLength", "UnequalOffset", "SphericalZone", "UnitBasis", "AllAround", "AllOver",
                            "WholePart", "Count", "Notes", "Source"],
    "DatumFeature": ["TargetLabel", "TargetType", "TargetShape", "TargetSize", "TargetLocation", "Movable"],
    "SizeDimension": ["DimensionType", "Source"],
}


def test_a_file_written_before_the_pmi_properties_opens_with_them_at_their_defaults(tmp_path):
    """Old documents lack the properties the PMI import added: reopened, they gain them, meaning 'not stated'."""
    from freecad_spatial.spatial_tools.annotations.frame_text import frame_text

    store.import_proxies()
    doc = FreeCAD.newDocument("OldPmiProps")
    doc.addObject("Part::Box", "Block")
    doc.recompute()
    fcf = store.add_feature_control_frame(doc, "position", 0.2, ["Block.Face1"], datums=["A"], diameter_zone=True)
    datum = store.add_datum_feature(doc, "A", ["Block.Face5"])
    size = store.add_size_dimension(doc, 10.0, ["Block.Face1", "Block.Face2"], upper=0.1, lower=-0.1)
    for obj in (fcf, datum, size):
        for name in NEW_PROPERTIES[obj.SpatialType]:
            obj.removeProperty(name)  # as a file from before issue 20 holds them
    text = frame_text(fcf)
    path = tmp_path / "old.FCStd"
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    reopened = FreeCAD.openDocument(str(path))
    try:
        for obj in store.annotations(reopened):
            assert set(NEW_PROPERTIES[obj.SpatialType]) <= set(obj.PropertiesList), obj.SpatialType
        frame = store.annotations(reopened, "FeatureControlFrame")[0]
        assert frame.ProjectedLength == 0.0 and not frame.WholePart and frame_text(frame) == text == "|⌖|⌀0.2|A|"
        assert store.annotations(reopened, "SizeDimension")[0].DimensionType == "size"
        assert store.annotations(reopened, "DatumFeature")[0].TargetType == "none"
    finally:
        FreeCAD.closeDocument(reopened.Name)

"""Spatial → Import GD&T from STEP… in the real FreeCAD GUI (Xvfb): NIST CTC 02 onto the open part, one undo
step, the summary dialog listing what came in and what was skipped (screenshot in the run folder)."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import gui_harness
import pytest
from conftest import CORPORA

pytestmark = pytest.mark.gui

CTC02 = CORPORA / "nist-pmi" / "step" / "nist_ctc_02_asme1_ap242-e2.stp"

SCRIPT = r'''
r = harness.result
Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
import Part
from freecad_spatial.commands import import_pmi as command
from freecad_spatial.spatial_tools.annotations.store import annotations
mw = Gui.getMainWindow()
r["menu"] = [a.text() for m in mw.menuBar().actions() if m.text().replace("&", "") == "Spatial" for a in m.menu().actions()]
doc = App.newDocument("Supplier")
doc.UndoMode = 1
part = doc.addObject("Part::Feature", "Casting")
part.Shape = Part.read(harness.params["step"])
doc.recompute()
undo_before = doc.UndoCount
command.choose_file = lambda: harness.params["step"]
seen = {}
def look():
    dialog = QtGui.QApplication.activeModalWidget()
    if dialog is None or dialog.objectName() != "SpatialPmiSummary":
        QtCore.QTimer.singleShot(200, look)
        return
    tree = dialog.findChild(QtGui.QTreeWidget, "SpatialPmiTree")
    seen["title"] = dialog.windowTitle()
    seen["headline"] = dialog.findChild(QtGui.QLabel, "SpatialPmiHeadline").text()
    seen["top"] = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    skipped = tree.topLevelItem(1)
    seen["skipped"] = [(skipped.child(i).text(0), skipped.child(i).text(1)) for i in range(skipped.childCount())]
    harness.screenshot("pmi_summary", dialog)
    dialog.reject()
QtCore.QTimer.singleShot(300, look)
Gui.runCommand("Spatial_ImportPmi")
harness.wait(300)
r["dialog"] = seen
r["undo_steps"] = doc.UndoCount - undo_before
r["undo_name"] = doc.UndoNames[0] if doc.UndoNames else ""
objs = annotations(doc)
r["kinds"] = sorted({o.SpatialType for o in objs})
r["frames"] = len(annotations(doc, "FeatureControlFrame"))
r["linked_to"] = sorted({l[0].Name for o in annotations(doc, "DatumFeature") for l in o.Faces})
r["new_parts"] = [o.Name for o in doc.Objects if o.TypeId == "Part::Feature" and o.Name != "Casting"]
doc.undo()
r["after_undo"] = len(annotations(doc))
'''


def test_the_command_imports_onto_the_open_part_in_one_step_and_shows_the_summary(tmp_path):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    if importlib.util.find_spec("OCP") is None or not CTC02.is_file():
        pytest.skip("needs cadquery-ocp and the NIST corpus")
    step = tmp_path / CTC02.name
    shutil.copy(CTC02, step)
    # Inside the GUI sys.executable is FreeCAD: the reader runs with this test's Python (which has OCP).
    run = gui_harness.run_in_freecad_gui(SCRIPT, params={"step": str(step)}, work_dir=tmp_path / "run", timeout=300,
                                         env={"FREECAD_SPATIAL_PMI_PYTHON": sys.executable})
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    r = run.result
    assert any("Import GD&T from STEP" in t for t in r["menu"]), r["menu"]
    assert r["undo_steps"] == 1 and r["undo_name"].startswith("Spatial: import PMI"), r
    assert r["kinds"] == ["DatumFeature", "DatumReferenceFrame", "FeatureControlFrame", "SizeDimension"]
    assert r["frames"] == 22 and r["linked_to"] == ["Casting"] and r["new_parts"] == []
    dialog = r["dialog"]
    assert dialog["title"] == f"GD&T imported from {CTC02.name}"
    assert dialog["top"][0].startswith("Imported (") and dialog["top"][1] == f"Skipped ({len(dialog['skipped'])})"
    assert all(reason for _, reason in dialog["skipped"])
    assert r["after_undo"] == 0
    assert run.screenshots["pmi_summary"].stat().st_size > 1000


OFFER_SCRIPT = r'''
r = harness.result
Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
from freecad_spatial.commands import import_pmi as command
from freecad_spatial.spatial_tools.annotations.store import annotations
doc = App.newDocument("Supplier")
command.choose_file = lambda: harness.params["step"]
seen = {}
def look():
    dialog = QtGui.QApplication.activeModalWidget()
    if dialog is None:
        QtCore.QTimer.singleShot(200, look)
        return
    seen["name"] = dialog.objectName()
    seen["labels"] = [w.text() for w in dialog.findChildren(QtGui.QLabel) if w.isVisible()]
    seen["buttons"] = [b.text() for b in dialog.findChildren(QtGui.QPushButton) if b.isVisible()]
    harness.screenshot("pmi_reader_install", dialog)
    dialog.reject()
QtCore.QTimer.singleShot(300, look)
Gui.runCommand("Spatial_ImportPmi")
harness.wait(300)
r["dialog"] = seen
r["annotations"] = len(annotations(doc))
from freecad_spatial.spatial_tools.gdt import pmi_import
r["folder"] = str(pmi_import.reader_packages_folder())
r["user_data"] = App.getUserAppDataDir()
'''


def test_without_the_reader_packages_the_command_offers_to_install_them(tmp_path):
    """FREECAD_SPATIAL_PMI_PYTHON names a Python lacking cadquery-ocp: the dialog says so and how to fix it, and offers
    no install (the reader would not use it); Cancel: nothing imported, no error. Clicking Install (no variable set)
    is test_gui_pmi_import_install.py."""
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    if not CTC02.is_file():
        pytest.skip("needs the NIST corpus")
    bare = getattr(sys, "_base_executable", None) or sys.executable
    if importlib.util.find_spec("OCP") is not None and bare == sys.executable:
        pytest.skip("no Python without cadquery-ocp to run the reader with")
    step = tmp_path / CTC02.name
    shutil.copy(CTC02, step)
    run = gui_harness.run_in_freecad_gui(OFFER_SCRIPT, params={"step": str(step)}, work_dir=tmp_path / "run", timeout=300,
                                         env={"FREECAD_SPATIAL_PMI_PYTHON": bare})
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    r = run.result
    dialog = r["dialog"]
    assert dialog["name"] == "SpatialPmiReaderInstall", dialog
    assert any("cadquery-ocp-novtk" in text and "FREECAD_SPATIAL_PMI_PYTHON" in text and bare in text
               for text in dialog["labels"]), dialog
    assert r["folder"].endswith("FreeCADSpatial/pmi-reader") and r["folder"].startswith(r["user_data"].rstrip("/"))
    assert "Install" not in dialog["buttons"] and "Cancel" in [b.replace("&", "") for b in dialog["buttons"]], dialog
    assert r["annotations"] == 0
    assert run.screenshots["pmi_reader_install"].stat().st_size > 1000

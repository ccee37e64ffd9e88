"""The preference page in the real FreeCAD GUI (0.20, PySide2, under Xvfb): registered by the
workbench, opened from Edit → Preferences → Spatial, loaded from and saved to FreeCAD parameters."""

from __future__ import annotations

import gui_harness
import pytest
from conftest import REPO

pytestmark = pytest.mark.gui

SCRIPT = r'''
r = harness.result
p = App.ParamGet("User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/Assistant")
p.SetInt("StepBudget", 11)
p.SetString("Tier", "private")
# The workbench is not activated first: the page is there from start-up.
r["active_workbench"] = Gui.activeWorkbench().name()
doc = App.newDocument("Classified")
box = doc.addObject("Part::Box", "Box")
doc.recompute()
harness.wait(200)

def inspect(tries=[0]):
    dialog = QtGui.QApplication.activeModalWidget()
    if dialog is None and tries[0] < 40:
        tries[0] += 1
        QtCore.QTimer.singleShot(250, inspect)
        return
    try:
        r["dialog"] = dialog.metaObject().className() if dialog is not None else None
        page = dialog.findChild(QtGui.QWidget, "FreeCADSpatialPreferences")
        r["page_found"] = page is not None
        r["page_visible"] = bool(page is not None and page.isVisible())
        r["tabs"] = [w.windowTitle() for w in dialog.findChildren(QtGui.QWidget) if w.objectName() == "FreeCADSpatialPreferences"]
        r["loaded"] = {"step": page.step_budget.value(), "tier": page.tier.currentText(),
                       "tools": page.tools.count(), "classification_enabled": page.classification.isEnabled()}
        r["key_masked"] = page.api_key.echoMode() == QtGui.QLineEdit.Password
        page.step_budget.setValue(13)
        page.model.setText("from-the-gui")
        page.classification.setCurrentIndex(page.classification.findText("proprietary"))
        harness.wait(300)
        harness.screenshot("preferences", dialog)
    finally:
        if dialog is not None:
            dialog.accept()  # OK: FreeCAD calls every page's saveSettings

QtCore.QTimer.singleShot(1500, inspect)
Gui.showPreferences("Spatial", 0)  # modal: returns after inspect() pressed OK
harness.wait(200)
r["saved"] = {"step": p.GetInt("StepBudget"), "model": p.GetString("Model"), "tier": p.GetString("Tier")}
r["meta"] = dict(doc.Meta)
'''


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    run = gui_harness.run_in_freecad_gui(SCRIPT, work_dir=tmp_path_factory.mktemp("gui-prefs"), timeout=180)
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    return run


def test_the_page_is_registered_and_opens_in_the_preferences_dialog(gui):
    r = gui.result
    assert r["active_workbench"] != "FreeCADSpatialWorkbench"  # registered at start-up, not on activation
    assert r["dialog"] == "Gui::Dialog::DlgPreferencesImp"
    assert r["page_found"] and r["page_visible"], r
    assert r["key_masked"]


def test_the_page_loads_the_parameters(gui):
    loaded = gui.result["loaded"]
    assert loaded["step"] == 11 and loaded["tier"] == "private"
    assert loaded["tools"] >= 10 and loaded["classification_enabled"]


def test_ok_saves_the_page_into_parameters_and_the_document(gui):
    assert gui.result["saved"] == {"step": 13, "model": "from-the-gui", "tier": "private"}
    assert gui.result["meta"].get("FreeCADSpatial.Classification") == "proprietary"
    assert gui.screenshots["preferences"].is_file()
    assert "Traceback" not in gui.report, gui.report[-3000:]
    assert (REPO / "panels" / "preferences_page.py").is_file()

"""The preference page in the real FreeCAD GUI (0.20 PySide2, 1.x PySide6, under Xvfb): registered by
the workbench with its own group icon, opened from Edit → Preferences → Spatial, loaded from and saved
to FreeCAD parameters; on a machine without a usable OS keyring (keyring's own ``fail`` backend, as
on a desktop without a Secret Service) the page says so before OK and the typed key is kept for the
session, where the next question finds it.

With FREECAD_SPATIAL_UPDATE_DOCS=1 the screenshot replaces docs/preferences.png (the README's
picture); otherwise the run leaves the checkout as it was."""

from __future__ import annotations

import os
import shutil
import site

import gui_harness
import pytest
from conftest import REPO

pytestmark = pytest.mark.gui

KEY = "sk-ant-gui-session-key-0123456789"  # a made-up key: it must reach keys.get_key, nothing else

SCRIPT = r'''
import sys
for p in harness.params["site"]:
    sys.path.append(p)  # stands in for the Install banner's AdditionalPythonPackages
import keyring, keyring.backends.fail
keyring.set_keyring(keyring.backends.fail.Keyring())  # no usable OS keyring: NoKeyringError
from freecad_spatial.spatial_tools.backends import keys
r = harness.result
p = App.ParamGet("User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/Assistant")
p.SetInt("StepBudget", 11)
p.SetString("Tier", "private")
p.SetString("Vision", "off")
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
        r["loaded"] = {"step": page.step_budget.value(), "tier": page.tier.currentText(),
                       "tools": page.tools.count(), "classification_enabled": page.classification.isEnabled(),
                       "vision": page.vision.currentData(), "vision_tip": page.vision.toolTip()}
        r["key_masked"] = page.api_key.echoMode() == QtGui.QLineEdit.Password
        # Seen as the dialog opens, without scrolling: the document's classification.
        viewport = page.scroll.viewport()
        top = page.classification.mapTo(viewport, QtCore.QPoint(0, 0)).y()
        r["classification_seen"] = [top, page.classification.height(), viewport.height(),
                                    page.scroll.verticalScrollBar().value()]
        r["explained"] = {"tier_note": page.tier_note.text(), "tier_whats_this": page.tier.whatsThis(),
                          "step_note": page.step_note.text(), "first_tool": page.tools.item(0).text()}
        # No keyring here: said on the page, before OK.
        r["keyring_warning"] = [page.keyring_warning.isVisible(), page.keyring_warning.text()]
        r["session_only"] = [page.session_only.isChecked(), page.session_only.isEnabled()]
        page.api_key.setText(harness.params["key"])
        r["key_note_before_ok"] = page.key_source.text()
        page.step_budget.setValue(13)
        page.model.setText("from-the-gui")
        page.vision.setCurrentIndex(page.vision.findData("on"))
        page.classification.setCurrentIndex(page.classification.findText("proprietary"))
        harness.wait(300)
        harness.screenshot("preferences", dialog)
    finally:
        if dialog is not None:
            dialog.accept()  # OK: FreeCAD calls every page's saveSettings

QtCore.QTimer.singleShot(1500, inspect)
Gui.showPreferences("Spatial", 0)  # modal: returns after inspect() pressed OK
harness.wait(200)
r["saved"] = {"step": p.GetInt("StepBudget"), "model": p.GetString("Model"), "tier": p.GetString("Tier"),
              "vision": p.GetString("Vision")}
r["meta"] = dict(doc.Meta)
# What the next question finds (the chat controller's check, then the backend factory's lookup).
r["key_source_after_ok"] = keys.key_source("anthropic")
r["key_found"] = keys.get_key("anthropic").reveal() == harness.params["key"]
r["key_in_parameters"] = any(harness.params["key"] in p.GetString(n) for n in p.GetStrings())
'''


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    params = {"site": [p for p in site.getsitepackages() if ".venv" in p], "key": KEY}
    run = gui_harness.run_in_freecad_gui(SCRIPT, params=params, work_dir=tmp_path_factory.mktemp("gui-prefs"),
                                         timeout=180)
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    return run


def test_the_page_is_registered_and_opens_in_the_preferences_dialog(gui):
    r = gui.result
    assert r["active_workbench"] != "FreeCADSpatialWorkbench"  # registered at start-up, not on activation
    assert r["dialog"] == "Gui::Dialog::DlgPreferencesImp"
    assert r["page_found"] and r["page_visible"], r
    assert r["key_masked"]


def test_the_group_has_its_own_icon(gui):
    """FreeCAD looks up "preferences-spatial" for the group: found on the icon path InitGui.py adds."""
    output = "\n".join((gui.report, gui.log, gui.stdout, gui.stderr))
    assert "Cannot find icon: preferences-spatial" not in output
    assert "preferences-spatial  is not of size" not in output  # drawn at the 48×48 FreeCAD asks for
    assert (REPO / "resources" / "icons" / "preferences-spatial.svg").is_file()


def test_the_page_loads_the_parameters(gui):
    loaded = gui.result["loaded"]
    assert loaded["step"] == 11 and loaded["tier"] == "private"
    assert loaded["tools"] >= 10 and loaded["classification_enabled"]
    assert loaded["vision"] == "off" and "render_view" in loaded["vision_tip"]


def test_the_classification_and_the_explanations_are_seen_without_scrolling(gui):
    top, height, viewport, scrolled = gui.result["classification_seen"]
    assert scrolled == 0 and 0 <= top and top + height <= viewport, gui.result["classification_seen"]
    explained = gui.result["explained"]
    assert "organisation's network" in explained["tier_note"] and len(explained["tier_whats_this"]) > 80
    assert "step" in explained["step_note"] and explained["first_tool"][0].isupper()
    assert "_" not in explained["first_tool"]


def test_without_a_keyring_the_page_says_so_and_the_key_lives_for_the_session(gui):
    r = gui.result
    visible, warning = r["keyring_warning"]
    assert visible and "NoKeyringError" in warning and "session only" in warning
    assert r["session_only"] == [True, False]
    assert "OK keeps the typed key in memory for this session only" in r["key_note_before_ok"]
    assert r["key_source_after_ok"] == "session" and r["key_found"] and not r["key_in_parameters"]
    assert KEY not in gui.report and KEY not in gui.log


def test_ok_saves_the_page_into_parameters_and_the_document(gui):
    assert gui.result["saved"] == {"step": 13, "model": "from-the-gui", "tier": "private", "vision": "on"}
    assert gui.result["meta"].get("FreeCADSpatial.Classification") == "proprietary"
    shot = gui.screenshots["preferences"]
    assert shot.is_file()
    if os.environ.get("FREECAD_SPATIAL_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, REPO / "docs" / "preferences.png")
    assert "Traceback" not in gui.report, gui.report[-3000:]

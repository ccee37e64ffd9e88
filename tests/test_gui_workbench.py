"""The workbench in the real FreeCAD GUI (0.20, under Xvfb): listed with its icon, activates, its
toolbar and command work, no errors from the addon, and a sample part renders.

One FreeCAD start for the whole module (a start costs seconds); each test reads
its part of the result. The screenshots stay in the run folder for a person to
look at (the path is in the failure message and in ``-rA`` output).
"""

from __future__ import annotations

from pathlib import Path

import gui_harness
import pytest
from conftest import REPO
from test_addon_loading import addon_errors

pytestmark = pytest.mark.gui

WORKBENCH = "FreeCADSpatialWorkbench"

SCRIPT = """
import os
r = harness.result
wbs = Gui.listWorkbenches()
r["listed"] = WB in wbs
wb = wbs.get(WB)
r["menu_text"] = getattr(wb, "MenuText", None)
r["icon"] = getattr(wb, "Icon", None)
r["icon_renders"] = bool(r["icon"]) and not QtGui.QIcon(r["icon"]).pixmap(32, 32).isNull()
r["activated"] = Gui.activateWorkbench(WB)
harness.wait(300)
r["active"] = Gui.activeWorkbench().name()
mw = Gui.getMainWindow()
bar = next((t for t in mw.findChildren(QtGui.QToolBar) if t.objectName() == "Spatial"), None)
r["toolbar_visible"] = bar is not None and bar.isVisible()
r["toolbar_actions"] = [a.text() for a in bar.actions()] if bar else []
r["toolbar_icons"] = [not a.icon().isNull() for a in bar.actions()] if bar else []
r["menus"] = [a.text().replace("&", "") for a in mw.menuBar().actions()]
Gui.runCommand("Spatial_ShowTools")
harness.wait(300)
tools = mw.findChild(QtGui.QDialog, "SpatialToolsDialog")
r["tools_dialog"] = bool(tools and tools.isVisible())
r["tools_dialog_modal"] = QtGui.QApplication.activeModalWidget() is not None
if tools is not None:
    tree = tools.findChild(QtGui.QTreeWidget, "SpatialToolsTree")
    r["tools_rows"] = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).text(0) == "measure_distance")
    r["tools_arguments"] = [item.child(i).text(0) for i in range(item.childCount())]
    tree.setCurrentItem(item)
    r["tools_details"] = tools.findChild(QtGui.QTextBrowser, "SpatialToolsDetails").toPlainText()
    harness.screenshot("tools_dialog", tools)
    tools.close()
from freecad_spatial.spatial_tools.registry import load_builtin_tools
r["registered_tools"] = [s.name for s in load_builtin_tools().specs()]

doc = App.openDocument(harness.params["sample"])
harness.wait(500)
r["shown"] = sorted(o.Name for o in doc.Objects if o.ViewObject and o.ViewObject.Visibility)
# FreeCAD 1.1 adds an origin point (App::Point "Origin001") to a 0.20 body's origin when it opens
# the file; origin features show only with their hidden origin, so they are listed apart.
r["origin_features"] = sorted(o.Name for o in doc.Objects if o.isDerivedFrom("App::OriginFeature") or o.isDerivedFrom("App::DatumElement"))
r["origin_shown"] = bool(doc.getObject("Body").Origin.ViewObject.Visibility)
for name in ("Combo View", "Report view"):
    dock = mw.findChild(QtGui.QDockWidget, name)
    if dock is not None:
        dock.show()
harness.wait(300)
Gui.SendMsgToActiveView("ViewFit")
harness.wait(300)
r["view_stats"] = harness.image_stats(harness.save_view("bracket_3d", 800, 600, "White"), background=(255, 255, 255))
r["window_stats"] = harness.image_stats(harness.screenshot("main_window"))
"""


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("gui-workbench")
    script = f"WB = {WORKBENCH!r}\n" + SCRIPT
    sample = REPO / "resources" / "samples" / "bracket.FCStd"
    run = gui_harness.run_in_freecad_gui(script, params={"sample": str(sample)}, work_dir=work, timeout=180)
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    return run


def test_workbench_is_listed_with_its_icon(gui):
    r = gui.result
    assert r["listed"] and r["menu_text"] == "Spatial"
    icon = Path(r["icon"])
    installed = gui.mod_dir / gui_harness.ADDON_FOLDER / "resources" / "icons" / "freecad_spatial.svg"
    assert icon.is_file() and icon.resolve() == installed.resolve(), icon
    assert r["icon_renders"], "Qt could not render the workbench icon"


def test_workbench_activates_with_toolbar_menu_and_command(gui):
    r = gui.result
    assert r["activated"] is True and r["active"] == WORKBENCH
    assert r["toolbar_visible"], "no visible 'Spatial' toolbar"
    assert "Spatial tools" in r["toolbar_actions"] and all(r["toolbar_icons"])
    assert "Spatial" in r["menus"]
    assert "FreeCAD Spatial: workbench initialised" in gui.report
    assert "FreeCAD Spatial: workbench activated" in gui.report
    # Spatial_ShowTools lists every registered tool in the Report view.
    assert "mass_properties:" in gui.report and "measure_distance:" in gui.report


def test_spatial_tools_shows_every_tool_with_its_arguments_in_a_dialog(gui):
    r = gui.result
    assert r["tools_dialog"] and not r["tools_dialog_modal"]
    assert r["tools_rows"] == r["registered_tools"] and len(r["tools_rows"]) > 10
    assert r["tools_arguments"] == ["a *", "b *"]
    assert "measure_distance" in r["tools_details"] and "Arguments" in r["tools_details"]


def test_no_errors_from_the_addon(gui):
    assert not addon_errors(gui.all_output()), "\n".join(addon_errors(gui.all_output()))
    assert "Traceback" not in gui.report, gui.report[-3000:]


def test_sample_opens_showing_the_finished_part(gui):
    # Body and its tip only: sketches and intermediate features hidden, as a user expects.
    assert not gui.result["origin_shown"]
    shown = [n for n in gui.result["shown"] if n not in gui.result["origin_features"]]
    assert shown == ["Body", "CornerFillets"]


def test_screenshots_show_the_part(gui):
    shots = gui.screenshots
    assert set(shots) == {"bracket_3d", "main_window", "tools_dialog"}
    assert all(p.is_file() and p.stat().st_size > 1000 for p in shots.values()), shots
    view = gui.result["view_stats"]
    assert (view["width"], view["height"]) == (800, 600)
    # The bracket covers a good part of the white background, in several shades.
    assert 0.15 < view["non_background"] < 0.9, view
    assert view["distinct_colours"] >= 4, view
    window = gui.result["window_stats"]
    assert window["width"] >= 1000 and window["distinct_colours"] >= 8, window


# --- the harness itself: failures surface instead of hanging or passing --------------


@pytest.fixture
def gui_or_skip():
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)


def test_harness_reports_a_script_error_with_its_traceback(tmp_path, gui_or_skip):
    script = "harness.result['before'] = 1\nraise ValueError('raised in the GUI')"
    run = gui_harness.run_in_freecad_gui(script, work_dir=tmp_path, check=False)
    assert run.result == {"before": 1} and not run.timed_out and run.returncode == 0
    assert "ValueError: raised in the GUI" in run.error and "gui_script.py" in run.error
    with pytest.raises(gui_harness.GuiRunFailed, match="the GUI script raised") as failure:
        run.raise_for_failure()
    assert "ValueError: raised in the GUI" in str(failure.value)


def test_harness_kills_a_freecad_that_does_not_finish(tmp_path, gui_or_skip):
    import time

    started = time.monotonic()
    with pytest.raises(gui_harness.GuiRunFailed, match="did not finish within 3 s"):
        gui_harness.run_in_freecad_gui("import time\ntime.sleep(600)", work_dir=tmp_path, timeout=3)
    assert time.monotonic() - started < 30

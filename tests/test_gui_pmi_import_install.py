"""Spatial → Import GD&T from STEP… with no PMI reader anywhere, in the real FreeCAD GUI (Xvfb): the dialog offers
the install, the test clicks Install (mouse events on the real button), FreeCAD's own Python makes the reader's venv
in the private user-data folder and the real pip installs cadquery-ocp into it from a local wheelhouse (filled once
per session by ``pip download``: no index at install time); the GUI keeps running meanwhile; then NIST CTC 02 is
imported in one undo step. A failed install (an empty wheelhouse) says why and changes nothing; Cancel kills pip
and leaves nothing half-installed."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gui_harness
import pytest
from conftest import CORPORA

from freecad_spatial.spatial_tools.gdt import pmi_import

pytestmark = pytest.mark.gui

CTC02 = CORPORA / "nist-pmi" / "step" / "nist_ctc_02_asme1_ap242-e2.stp"
DISTRIBUTION = "cadquery-ocp-novtk"


def _pinned_requirement() -> str:
    """The version the ``pmi`` extra resolved to here (it must match this Python), else the extra's own spec."""
    try:
        return f"{DISTRIBUTION}=={importlib.metadata.version(DISTRIBUTION)}"
    except importlib.metadata.PackageNotFoundError:
        return next(r for r in pmi_import.reader_requirements() if r.startswith(DISTRIBUTION))


@pytest.fixture(scope="session")
def reader_wheelhouse(tmp_path_factory) -> Path:
    """cadquery-ocp and its dependencies as wheels for this Python (pip's cache makes repeats cheap)."""
    wheels = tmp_path_factory.mktemp("pmi-reader-wheelhouse")
    requirement = _pinned_requirement()
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--only-binary=:all:",
                           "-d", str(wheels), requirement], capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0 or not any(wheels.glob("*.whl")):
        pytest.skip(f"cannot obtain the {requirement} wheel for this Python: {(proc.stderr or proc.stdout).strip()[-400:]}")
    return wheels


def _gui_env(wheelhouse: Path) -> dict[str, str]:
    """No reader anywhere (no FREECAD_SPATIAL_PMI_PYTHON, no venv's python3 on PATH); pip offline on ``wheelhouse``."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p).parent / "pyvenv.cfg").is_file()]
    return {pmi_import.PYTHON_ENV: "", "PATH": os.pathsep.join(path), "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse), "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


COMMON = r'''
r = harness.result
Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
import os, time, Part
from freecad_spatial.commands import import_pmi as command
from freecad_spatial.panels.dependencies import DependencyBanner
from freecad_spatial.spatial_tools.annotations.store import annotations
from freecad_spatial.spatial_tools.gdt import pmi_import
folder = pmi_import.reader_packages_folder()
r["folder"], r["user_data"] = str(folder), App.getUserAppDataDir()
r["missing_before"] = pmi_import.reader_missing()
r["reader_python_before"] = pmi_import.reader_python()
doc = App.newDocument("Supplier")
doc.UndoMode = 1
part = doc.addObject("Part::Feature", "Casting")
part.Shape = Part.read(harness.params["step"])
doc.recompute()
doc.clearUndos()
names_before = sorted(o.Name for o in doc.Objects)
command.choose_file = lambda: harness.params["step"]

def click(button):
    """A left click as the mouse gives it: press and release events at the button's centre."""
    centre = QtCore.QPointF(button.width() / 2.0, button.height() / 2.0)
    screen = QtCore.QPointF(button.mapToGlobal(centre.toPoint()))
    for kind, held in ((QtCore.QEvent.Type.MouseButtonPress, QtCore.Qt.MouseButton.LeftButton),
                       (QtCore.QEvent.Type.MouseButtonRelease, QtCore.Qt.MouseButton.NoButton)):
        QtGui.QApplication.sendEvent(button, QtGui.QMouseEvent(kind, centre, screen, QtCore.Qt.MouseButton.LeftButton,
                                                               held, QtCore.Qt.KeyboardModifier.NoModifier))

def install_dialog():
    dialog = QtGui.QApplication.activeModalWidget()
    return dialog if dialog is not None and dialog.objectName() == "SpatialPmiReaderInstall" else None

def parts(dialog):
    banner = dialog.findChild(DependencyBanner)
    install = next(b for b in dialog.findChildren(QtGui.QPushButton) if b.text() == "Install")
    cancel = next(b for b in dialog.findChildren(QtGui.QPushButton) if b.text().replace("&", "") in ("Cancel", "Close"))
    return banner, install, cancel

def guarded(step):
    """Runs a timer step; an exception is recorded and every dialog closed, so a failure never hangs the run."""
    def run():
        try:
            step()
        except Exception:
            import traceback
            seen["error"] = traceback.format_exc()
            while QtGui.QApplication.activeModalWidget() is not None:
                QtGui.QApplication.activeModalWidget().reject()
                QtGui.QApplication.processEvents()
    return run

def leftovers():
    """What the installs left beside the user data's other files: the reader's folder and staging folders."""
    parent = folder.parent
    return sorted(p.name for p in parent.iterdir() if "pmi-reader" in p.name) if parent.is_dir() else []
'''

INSTALL_SCRIPT = COMMON + r'''
seen = {"ticks": 0, "logs": [], "gaps": [], "phase": "offer", "streamed": []}
last = [None]
def streamed(line):
    """Each line pip printed, as the banner streamed it, with the timer ticks counted so far."""
    seen["streamed"].append([seen["ticks"], line])
def tick():
    dialog = install_dialog()
    if seen["phase"] == "offer" and dialog is not None:
        banner, install, cancel = parts(dialog)
        seen["offer_labels"] = [w.text() for w in dialog.findChildren(QtGui.QLabel) if w.isVisible()]
        harness.screenshot("pmi_reader_offer", dialog)
        seen["phase"] = "installing"
        banner.progress_text.connect(streamed)
        click(install)
    elif seen["phase"] == "installing" and dialog is not None:
        banner = dialog.findChild(DependencyBanner)
        if (banner.process is not None):
            now = time.monotonic()
            if last[0] is not None:
                seen["gaps"].append(now - last[0])
            last[0] = now
            seen["ticks"] += 1
            if banner.log.text() not in seen["logs"]:
                seen["logs"].append(banner.log.text())
            if seen["ticks"] == 20:
                harness.screenshot("pmi_reader_installing", dialog)
    summary = QtGui.QApplication.activeModalWidget()
    if summary is not None and summary.objectName() == "SpatialPmiSummary":
        seen["summary_title"] = summary.windowTitle()
        harness.screenshot("pmi_summary_after_install", summary)
        summary.reject()
        return
    QtCore.QTimer.singleShot(100, guarded(tick))
QtCore.QTimer.singleShot(300, guarded(tick))
Gui.runCommand("Spatial_ImportPmi")
harness.wait(300)
r["seen"] = seen
r["undo_steps"] = doc.UndoCount
r["undo_name"] = doc.UndoNames[0] if doc.UndoNames else ""
r["kinds"] = sorted({o.SpatialType for o in annotations(doc)})
r["frames"] = len(annotations(doc, "FeatureControlFrame"))
r["linked_to"] = sorted({l[0].Name for o in annotations(doc, "DatumFeature") for l in o.Faces})
r["reader_python_after"] = pmi_import.reader_python()
r["venv_cfg"] = (folder / "pyvenv.cfg").read_text() if (folder / "pyvenv.cfg").is_file() else ""
r["leftovers"] = leftovers()
import sys
r["freecad_python"] = list(sys.version_info[:2])
'''

FAIL_CANCEL_SCRIPT = COMMON + r'''
import signal
seen = {"phase": "offer"}
def tick():
    dialog = install_dialog()
    if dialog is None:
        summary = QtGui.QApplication.activeModalWidget()
        if summary is not None and summary.objectName() == "SpatialPmiSummary":
            seen["install_finished_before_cancel"] = True  # pip was faster than the ticks: no cancel tested
            summary.reject()
        elif seen["phase"] != "closed":
            QtCore.QTimer.singleShot(100, guarded(tick))
        return
    banner, install, cancel = parts(dialog)
    phase = seen["phase"]
    if phase == "offer":
        seen["phase"] = "failing"
        click(install)
    elif phase == "failing" and not (banner.process is not None):
        seen["failed_log"] = banner.log.text()
        seen["failed_install_enabled"] = install.isEnabled() and install.isVisible()
        seen["failed_dialog_open"] = dialog.isVisible()
        seen["failed_leftovers"] = leftovers()
        harness.screenshot("pmi_reader_install_failed", dialog)
        os.environ["PIP_FIND_LINKS"] = harness.params["wheelhouse"]  # a real wheelhouse: this try would succeed
        seen["phase"] = "installing"
        click(install)
    elif phase == "installing" and (banner.process is not None) and "pip" in list(banner.process.arguments()) and \
            any(DISTRIBUTION in line for line in banner.output):
        seen["pid"] = int(banner.process.processId())
        seen["pip_lines_at_cancel"] = list(banner.output)
        seen["staged_at_cancel"] = leftovers()
        seen["phase"] = "closed"
        click(cancel)
        seen["installing_after_cancel"] = (banner.process is not None)
        try:
            os.kill(seen["pid"], 0)
            seen["pip_alive"] = True
        except ProcessLookupError:
            seen["pip_alive"] = False
        return
    QtCore.QTimer.singleShot(100, guarded(tick))
DISTRIBUTION = harness.params["distribution"]
QtCore.QTimer.singleShot(300, guarded(tick))
Gui.runCommand("Spatial_ImportPmi")
harness.wait(300)
r["seen"] = seen
r["undo_steps"] = doc.UndoCount
r["names_same"] = sorted(o.Name for o in doc.Objects) == names_before
r["annotations"] = len(annotations(doc))
r["leftovers"] = leftovers()
r["folder_exists"] = folder.exists()
r["missing_after"] = pmi_import.reader_missing()
'''


def _prepare(tmp_path: Path) -> Path:
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    if not CTC02.is_file():
        pytest.skip("needs the NIST corpus")
    step = tmp_path / CTC02.name
    shutil.copy(CTC02, step)
    return step


def test_clicking_install_builds_the_reader_venv_then_the_import_runs_in_one_undo_step(tmp_path, reader_wheelhouse):
    step = _prepare(tmp_path)
    run = gui_harness.run_in_freecad_gui(INSTALL_SCRIPT, params={"step": str(step)}, work_dir=tmp_path / "run",
                                         timeout=600, env=_gui_env(reader_wheelhouse))
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    r = run.result
    seen = r["seen"]
    assert "error" not in seen, seen["error"]
    assert r["missing_before"], r  # nothing could read PMI before the click
    assert r["folder"].startswith(r["user_data"].rstrip("/")) and r["folder"].endswith("FreeCADSpatial/pmi-reader")
    assert any("cadquery-ocp-novtk" in text for text in seen["offer_labels"]), seen
    # The GUI's event loop ran all along the install: many timer ticks, and pip's lines streamed as progress while
    # the timer kept ticking (the label, sampled every 100 ms, may skip lines pip prints in a burst).
    lines = [line for _, line in seen["streamed"]]
    assert seen["ticks"] >= 10 and len(lines) >= 3, seen
    assert any("Installing collected packages" in line or "Successfully installed" in line for line in lines), lines
    assert len({tick for tick, _ in seen["streamed"]}) >= 2, seen["streamed"]  # lines arrived at different ticks
    assert len(seen["logs"]) >= 2, seen  # the label changed while installing
    print(f"install: {sum(seen['gaps']):.1f} s, {seen['ticks']} ticks of a 100 ms timer, longest gap {max(seen['gaps']):.2f} s")
    # The reader now runs in the venv made with FreeCAD's own Python, in the user-data folder.
    assert r["reader_python_after"] == str(Path(r["folder"]) / "bin" / "python"), r
    version = "{}.{}".format(*r["freecad_python"])
    assert f"version = {version}" in r["venv_cfg"] or f"version_info = {version}" in r["venv_cfg"], r["venv_cfg"]
    assert r["leftovers"] == ["pmi-reader"], r["leftovers"]  # no staging folder left beside it
    assert seen["summary_title"] == f"GD&T imported from {CTC02.name}"
    assert r["undo_steps"] == 1 and r["undo_name"].startswith("Spatial: import PMI"), r
    assert r["kinds"] == ["DatumFeature", "DatumReferenceFrame", "FeatureControlFrame", "SizeDimension"]
    assert r["frames"] == 22 and r["linked_to"] == ["Casting"]
    assert run.screenshots["pmi_reader_installing"].stat().st_size > 1000


def test_a_failed_install_says_why_and_cancel_kills_pip_leaving_nothing_half_installed(tmp_path, reader_wheelhouse):
    step = _prepare(tmp_path)
    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    run = gui_harness.run_in_freecad_gui(
        FAIL_CANCEL_SCRIPT, params={"step": str(step), "wheelhouse": str(reader_wheelhouse), "distribution": "cadquery"},
        work_dir=tmp_path / "run", timeout=600, env=_gui_env(empty))
    print(f"GUI run folder (screenshots in out/): {run.work_dir}")
    r = run.result
    seen = r["seen"]
    assert "error" not in seen, seen["error"]
    # The failure: pip found no wheel; the dialog stays open and says so, with pip's reason; Install can be retried.
    assert seen["failed_leftovers"] == [], seen  # the staged venv was removed (main left an empty pmi-reader folder)
    assert seen["failed_dialog_open"] and seen["failed_install_enabled"], seen
    assert "Installing failed" in seen["failed_log"] and "cadquery-ocp-novtk" in seen["failed_log"], seen["failed_log"]
    assert "pip could not install" in seen["failed_log"], seen["failed_log"]
    assert "No matching distribution" in seen["failed_log"] or "ERROR" in seen["failed_log"], seen["failed_log"]
    # Cancel during pip: pip is killed, the staged venv removed, the reader folder never appears.
    assert any(name.startswith(".pmi-reader-staging-") for name in seen["staged_at_cancel"]), seen
    assert seen["installing_after_cancel"] is False and seen["pip_alive"] is False, seen  # main: pip ran on
    assert r["leftovers"] == [] and not r["folder_exists"] and r["missing_after"], r
    # The document is as it was: nothing imported, no undo step.
    assert r["names_same"] and r["annotations"] == 0 and r["undo_steps"] == 0, r

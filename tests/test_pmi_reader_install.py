"""The PMI reader's venv (spatial_tools/gdt/reader_venv.py): made with the Python FreeCAD runs on, or a clear error
naming python3-venv when that Python cannot make one (a real interpreter whose standard library lacks venv and
ensurepip, as Debian's python3 without python3-venv); all or nothing; and the reader runs from it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FREECAD_SPATIAL_QT", "pyside6")

from freecad_spatial.spatial_tools.gdt import pmi_import
from freecad_spatial.spatial_tools.gdt.reader_venv import (
    STAGING_PREFIX,
    ReaderVenvInstall,
    venv_python,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout and shell wrapper")


def _real_interpreter() -> Path:
    """The interpreter this test's venv was made from (its standard library is sysconfig's)."""
    return Path(getattr(sys, "_base_executable", None) or sys.executable).resolve()


@pytest.fixture
def python_without_venv(tmp_path) -> str:
    """This very interpreter, started on a copy of its standard library (symlinks) without ``venv`` and ``ensurepip``:
    what Debian's python3 is when python3-venv is not installed."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    home = tmp_path / "python-home"
    lib = home / "lib" / stdlib.name
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("venv", "ensurepip", "site-packages", "dist-packages"):
            (lib / entry.name).symlink_to(entry)
    platstdlib = Path(sysconfig.get_paths()["platstdlib"])
    if platstdlib != stdlib and (platstdlib / "lib-dynload").is_dir() and not (lib / "lib-dynload").exists():
        (lib / "lib-dynload").symlink_to(platstdlib / "lib-dynload")
    wrapper = tmp_path / "bin" / "python3"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nPYTHONHOME="{home}" exec "{_real_interpreter()}" "$@"\n')
    wrapper.chmod(0o755)
    probe = subprocess.run([str(wrapper), "-c", "import json; print('runs')"], capture_output=True, text=True, timeout=60, check=False)
    assert probe.stdout.strip() == "runs", probe.stderr  # a working Python ...
    lacks = subprocess.run([str(wrapper), "-c", "import ensurepip"], capture_output=True, text=True, timeout=60, check=False)
    assert lacks.returncode != 0  # ... that lacks ensurepip
    return str(wrapper)


def _run(step) -> subprocess.CompletedProcess:
    return subprocess.run([step.program, *step.arguments], capture_output=True, text=True, timeout=300, env=step.env, check=False)


def test_a_python_without_venv_fails_at_the_first_step_with_the_package_to_install(tmp_path, python_without_venv):
    folder = tmp_path / "FreeCADSpatial" / "pmi-reader"
    plan = ReaderVenvInstall(folder, python_without_venv, ["cadquery-ocp-novtk>=8.0"])
    steps = plan.steps()
    assert plan.staging is not None and plan.staging.is_dir() and plan.staging.name.startswith(STAGING_PREFIX)
    first = _run(steps[0])
    assert first.returncode != 0
    assert "python3-venv" in steps[0].failure and python_without_venv in steps[0].failure
    plan.settle(False)
    assert list(folder.parent.iterdir()) == []  # the staging folder is gone, the reader's never made


def test_the_venv_is_made_with_the_given_python_and_moved_into_place_only_when_done(tmp_path):
    folder = tmp_path / "FreeCADSpatial" / "pmi-reader"
    folder.mkdir(parents=True)
    (folder / "from-an-older-install").write_text("old --target layout")
    base = str(_real_interpreter())
    plan = ReaderVenvInstall(folder, base, ["cadquery-ocp-novtk>=8.0"])
    steps = plan.steps()
    assert [s.arguments[:2] for s in steps] == [["-c", "import venv, ensurepip"], ["-m", "venv"], ["-m", "pip"]]
    assert steps[2].program == str(venv_python(plan.staging))
    for step in steps[:2]:  # the check and the venv (pip's download is the GUI test's)
        done = _run(step)
        assert done.returncode == 0, done.stderr
    assert (folder / "from-an-older-install").is_file()  # untouched while the install runs
    plan.settle(True)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["pmi-reader"]
    assert not (folder / "from-an-older-install").exists()
    version = subprocess.run([str(venv_python(folder)), "-c", "import sys; print(sys.version_info[:2], sys.prefix)"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert version.strip() == f"{tuple(sys.version_info[:2])} {folder}"  # the moved venv is itself, same Python
    pip = subprocess.run([str(venv_python(folder)), "-m", "pip", "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert pip.returncode == 0 and str(folder) in pip.stdout, pip.stdout + pip.stderr


def test_a_stale_staging_folder_is_removed_by_the_next_install(tmp_path):
    parent = tmp_path / "FreeCADSpatial"
    stale = parent / (STAGING_PREFIX + "killed")
    (stale / "lib").mkdir(parents=True)
    plan = ReaderVenvInstall(parent / "pmi-reader", sys.executable, ["x"])
    plan.steps()
    assert not stale.exists() and [p.name for p in parent.iterdir()] == [plan.staging.name]
    plan.settle(False)
    assert list(parent.iterdir()) == []


def test_the_reader_runs_in_the_installed_venv_unless_a_python_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "FreeCADSpatial" / "pmi-reader"
    monkeypatch.delenv(pmi_import.PYTHON_ENV, raising=False)
    monkeypatch.setattr(pmi_import, "reader_packages_folder", lambda: folder)
    assert pmi_import.reader_python() != str(venv_python(folder))  # not installed: not used
    venv_python(folder).parent.mkdir(parents=True)
    venv_python(folder).symlink_to(_real_interpreter())
    assert pmi_import.reader_python() == str(venv_python(folder))
    monkeypatch.setenv(pmi_import.PYTHON_ENV, "/opt/mine/python3")
    assert pmi_import.reader_python() == "/opt/mine/python3"


def test_the_install_button_with_a_python_without_venv_says_to_install_python3_venv(qtbot, tmp_path, python_without_venv):
    """The dialog's banner, clicked: the first step fails, the message names the Python and python3-venv; no folder."""
    pytest.importorskip("PySide6")
    from PySide6 import QtCore

    from freecad_spatial.panels.dependencies import DependencyBanner

    folder = tmp_path / "FreeCADSpatial" / "pmi-reader"
    banner = DependencyBanner(find_missing=lambda: [] if folder.is_dir() else ["cadquery-ocp-novtk>=8.0"],
                              target=lambda: str(folder), plan=ReaderVenvInstall(folder, python_without_venv, ["cadquery-ocp-novtk>=8.0"]),
                              needed_by="Reading GD&T from a STEP file")
    qtbot.addWidget(banner)
    banner.show()
    with qtbot.waitSignal(banner.finished, timeout=120000) as result:
        qtbot.mouseClick(banner.button, QtCore.Qt.MouseButton.LeftButton)
    assert result.args == [False]
    text = banner.log.text()
    assert text.startswith("Installing failed (exit 1); still missing: cadquery-ocp-novtk>=8.0."), text
    assert python_without_venv in text and "sudo apt install python3-venv" in text, text
    assert banner.button.isEnabled() and not banner.installing()
    assert list(folder.parent.iterdir()) == []  # no staging, no reader folder


def test_an_unwritable_user_data_folder_is_reported_not_raised(qtbot, tmp_path):
    pytest.importorskip("PySide6")
    from freecad_spatial.panels.dependencies import DependencyBanner

    blocker = tmp_path / "FreeCADSpatial"
    blocker.write_text("a file where the folder should be")
    folder = blocker / "pmi-reader"
    banner = DependencyBanner(find_missing=lambda: ["cadquery-ocp-novtk>=8.0"], target=lambda: str(folder),
                              plan=ReaderVenvInstall(folder, sys.executable, ["cadquery-ocp-novtk>=8.0"]))
    qtbot.addWidget(banner)
    with qtbot.waitSignal(banner.finished, timeout=10000) as result:
        banner.install()
    assert result.args == [False] and banner.log.text().startswith(f"Cannot install into {folder}: "), banner.log.text()
    assert banner.button.isEnabled() and not banner.installing() and blocker.is_file()

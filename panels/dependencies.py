"""The Python packages the workbench needs beyond FreeCAD: what is missing, and an Install button.

FreeCAD's Addon Manager installs only allow-listed packages, and none of ours
(the assistant's model SDKs, key storage and code-cell checker, and jinja2 for
the HTML report) is on its list; the workbench works without them
(measurement, DFM, CLI), and the chat panel shows this banner. Install runs pip
in a QProcess (never blocking the GUI) into the ``AdditionalPythonPackages``
folder that this FreeCAD puts on ``sys.path`` at start-up, streaming pip's
output as progress. The packages come from one list,
``resources/assistant-requirements.txt``.

An install of several commands, all or nothing, is a ``plan`` (``steps()``,
``settle(ok)``): the PMI reader's venv (``spatial_tools/gdt/reader_venv.py``).
Each command runs in its own QProcess after the last succeeded; ``cancel()``
kills the running one and the plan removes what it had made.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import RESOURCES
from ..spatial_tools.gdt.reader_venv import Step
from .qt import QtCore, QtWidgets, Signal, tr

REQUIREMENTS = RESOURCES / "assistant-requirements.txt"


def read_requirements(path: Path = REQUIREMENTS) -> dict[str, str]:
    """Import name -> pip requirement, from a requirements file (the name before the version
    is the import name)."""
    packages: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            packages[re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]] = requirement
    return packages


PACKAGES: dict[str, str] = read_requirements()


def missing() -> list[str]:
    """Import names of the packages that cannot be found."""
    return [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def target_folder() -> str:
    """The AdditionalPythonPackages folder this FreeCAD puts on ``sys.path`` (created when missing)."""
    import FreeCAD

    folder = additional_packages_folder(FreeCAD.getUserAppDataDir(), FreeCAD.Version())
    os.makedirs(folder, exist_ok=True)
    if folder not in sys.path:
        sys.path.append(folder)
    return folder


def additional_packages_folder(user_data_dir: str, freecad_version: Sequence[str],
                               python: Sequence[int] = sys.version_info) -> str:
    """Where FreeCAD's start-up (FreeCADInit.py) looks for pip-installed packages.

    0.20 appends ``<user data>/AdditionalPythonPackages``; 0.21 and 1.x append
    ``.../AdditionalPythonPackages/py<major><minor>`` first, the folder their Addon
    Manager installs into (``addonmanager_utilities.get_pip_target_directory``), so
    packages built for one Python never load in another.
    """
    folder = os.path.join(user_data_dir, "AdditionalPythonPackages")
    try:
        versioned = (int(freecad_version[0]), int(freecad_version[1])) >= (0, 21)
    except (IndexError, ValueError):
        versioned = True  # a development build: the current rule
    return os.path.join(folder, f"py{python[0]}{python[1]}") if versioned else folder


def python_executable() -> str:
    """The Python FreeCAD embeds (sys.executable is the FreeCAD binary inside the GUI): beside FreeCAD, else
    in the prefix its Python library came from (a pyenv python3.X earlier on PATH is another Python)."""
    exe = sys.executable or ""
    if os.path.basename(exe).lower().startswith("python"):
        return exe
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    here, prefix = os.path.dirname(exe), os.path.join(sys.base_exec_prefix, "bin")
    for candidate in (os.path.join(here, version), os.path.join(here, "python3"), os.path.join(here, "python.exe"),
                      os.path.join(prefix, version), os.path.join(prefix, "python3"),
                      shutil.which(version), shutil.which("python3")):
        if candidate and os.path.isfile(candidate):
            return candidate
    return "python3"


def pip_arguments(packages: list[str], target: str, options: Sequence[str] = ()) -> list[str]:
    """``python -m pip install`` of ``packages`` (import names) into ``target``; ``options`` go before them
    (e.g. ``--no-index --find-links DIR`` for an offline wheel folder)."""
    return ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--upgrade", "--target", target,
            *options, *[PACKAGES.get(p, p) for p in packages]]


class DependencyBanner(QtWidgets.QFrame):
    """Says what is missing; Install runs pip with progress and a result message."""

    finished = Signal(bool)
    progress_text = Signal(str)  # each line pip prints, as it prints it

    def __init__(self, parent: Any = None, *, find_missing: Any = missing, target: Any = target_folder,
                 pip_options: Sequence[str] = (), python: Any = None, needed_by: str = "", plan: Any = None):
        super().__init__(parent)
        # An install of more than one command, all or nothing (``steps()``, ``settle(ok)``: reader_venv);
        # None: one ``pip install --target`` into ``target()``.
        self._plan = plan
        self._queue: list[Step] = []
        self._step: Step | None = None
        self._failure = ""
        self.setObjectName("dependencyBanner")
        self.setStyleSheet("QFrame#dependencyBanner { border: 1px solid #d4a017; border-radius: 6px; background: #fff8e1; }"
                           " QLabel { color: #4a3b00; }")
        self._find_missing, self._target, self._pip_options = find_missing, target, tuple(pip_options)
        # Another Python and purpose (the PMI reader's packages run in python3, not in FreeCAD's Python).
        self._python, self._needed_by = python or python_executable, needed_by
        self.output: list[str] = []  # pip's output of the last install
        layout = QtWidgets.QVBoxLayout(self)
        self.label = QtWidgets.QLabel(self)
        self.label.setWordWrap(True)
        self.progress = QtWidgets.QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        self.log = QtWidgets.QLabel(self)
        self.log.setWordWrap(True)
        self.button = QtWidgets.QPushButton(tr("DependencyBanner", "Install"), self)
        self.button.setToolTip(tr("DependencyBanner", "Run pip to install the missing packages into the folder this "
                                  "FreeCAD puts on its Python path"))
        self.button.clicked.connect(self.install)
        layout.addWidget(self.label)
        layout.addWidget(self.progress)
        layout.addWidget(self.log)
        layout.addWidget(self.button, 0, QtCore.Qt.AlignRight)
        self.process: Any = None
        self._installed_into = ""
        self.refresh()

    def refresh(self) -> list[str]:
        """Shows the banner while packages are missing (hides it when none are); the missing ones."""
        names = self._show_missing()
        self.setVisible(bool(names))
        return names

    def _show_missing(self) -> list[str]:
        """The label says what is missing now, never what was missing before an install."""
        names = self._find_missing()
        if names and self._needed_by:
            self.label.setText(tr("DependencyBanner", "{what} needs Python packages FreeCAD's Addon Manager cannot "
                                  "install: <b>{names}</b>.").format(what=self._needed_by, names=", ".join(names)))
        elif names:
            self.label.setText(tr("DependencyBanner", "The assistant needs Python packages FreeCAD's Addon Manager "
                                  "cannot install: <b>{names}</b>. Measurement and DFM tools work without them.")
                               .format(names=", ".join(names)))
        else:
            self.label.setText(tr("DependencyBanner", "Every Python package the assistant needs is installed."))
        self.button.setVisible(bool(names))
        return names

    def install(self) -> None:
        names = self._find_missing()
        if not names or self.process is not None:
            return
        target = self._installed_into = self._target()
        if self._plan is not None:
            try:
                self._queue = list(self._plan.steps())
            except OSError as exc:  # e.g. the user data folder is not writable
                self.log.setText(tr("DependencyBanner", "Cannot install into {target}: {why}").format(target=target, why=exc))
                self.finished.emit(False)
                return
        else:
            self._queue = [Step(self._python(), pip_arguments(names, target, self._pip_options), "")]
        self.button.setEnabled(False)
        self.progress.setVisible(True)
        self.output = []
        self._failure = ""
        self.log.setText(tr("DependencyBanner", "Installing {names} into {target}…").format(
            names=", ".join(names), target=target))
        self._start_next()

    def installing(self) -> bool:
        """Whether an install is running (its QProcess is alive)."""
        return self.process is not None

    def _start_next(self) -> None:
        """Runs the next command of the install in a QProcess: the GUI keeps running meanwhile."""
        self._step = step = self._queue.pop(0)
        self.process = QtCore.QProcess(self)
        self.process.setProcessChannelMode(QtCore.QProcess.MergedChannels)
        if step.env is not None:
            environment = QtCore.QProcessEnvironment()
            for key, value in step.env.items():
                environment.insert(key, value)
            self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._output)
        self.process.finished.connect(self._done)
        self.process.errorOccurred.connect(self._error)
        self.process.start(step.program, step.arguments)

    def cancel(self) -> None:
        """Stops a running install: its process is killed and a plan's staging removed (nothing half-installed)."""
        process = self.process
        if process is None:
            return
        self.process, self._queue = None, []
        process.finished.disconnect(self._done)
        process.kill()
        process.waitForFinished(10000)
        process.deleteLater()
        if self._plan is not None:
            self._plan.settle(False)
        self.progress.setVisible(False)
        self.button.setEnabled(True)
        self.log.setText(tr("DependencyBanner", "Cancelled: nothing was installed."))
        self.finished.emit(False)

    def _output(self) -> None:
        if self.process is None:
            return
        lines = [line.strip() for line in bytes(self.process.readAllStandardOutput()).decode(errors="replace").splitlines()]
        for line in filter(None, lines):
            self.output.append(line)
            self.progress_text.emit(line)
        if self.output:
            self.log.setText(self.output[-1][:200])

    def _error(self, error: Any) -> None:
        if error == QtCore.QProcess.FailedToStart and self.process is not None:
            program = self._step.program if self._step is not None else self._python()
            self.output.append(tr("DependencyBanner", "could not start {python}: {why}").format(
                python=program, why=self.process.errorString()))
            self._done(-1)

    def _done(self, code: int, *_: Any) -> None:
        if self.process is None:
            return
        self._output()
        self.process.deleteLater()
        self.process = None
        if code == 0 and self._queue:
            self._start_next()
            return
        if code != 0 and self._step is not None:
            self._failure = self._step.failure
        self._queue = []
        self.progress.setVisible(False)
        if self._plan is not None:
            self._plan.settle(code == 0)
        importlib.invalidate_caches()
        still = self._show_missing()  # stays visible with the result; the next refresh() hides it
        ok = code == 0 and not still
        if ok and self._needed_by:
            text = tr("DependencyBanner", "Installed into {target}.").format(target=self._installed_into)
        elif ok:
            text = tr("DependencyBanner", "Installed into {target}. Ask again: the assistant uses them now "
                      "(restart FreeCAD if it still reports one missing).").format(target=self._installed_into)
        else:
            reason = next((line for line in reversed(self.output) if line.startswith("ERROR")), "")
            failed = (tr("DependencyBanner", "Installing failed (exit {code}); still missing: {names}.") if self._plan is not None
                      else tr("DependencyBanner", "Installing failed (pip exit {code}); still missing: {names}."))
            text = (failed.format(code=code, names=", ".join(still) or tr("DependencyBanner", "nothing"))
                + (f" {self._failure}" if self._failure else "")
                + (f" {reason[:300]}" if reason else "") + " "
                + tr("DependencyBanner", "Check the network or install them by hand; the Report view has pip's output."))
            _report("".join(f"{line}\n" for line in self.output))
        self.log.setText(text)
        self.button.setEnabled(not ok)
        self.finished.emit(ok)


def _report(text: str) -> None:
    """pip's output in FreeCAD's Report view (when FreeCAD is loaded), else stderr."""
    freecad = sys.modules.get("FreeCAD")
    if freecad is not None and hasattr(freecad, "Console"):
        freecad.Console.PrintWarning(text)
    else:
        sys.stderr.write(text)

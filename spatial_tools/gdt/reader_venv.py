"""The PMI reader's own virtual environment, ``<FreeCAD user data>/FreeCADSpatial/pmi-reader``.

The reader's bindings (cadquery-ocp) carry their own OpenCASCADE, so they never
load beside FreeCAD's: they live in a venv made with the Python FreeCAD runs on,
and only the reader's child process runs its ``python``. The venv is built in a
hidden staging folder beside it and moved into place only when pip succeeded, so
a failed or cancelled install leaves nothing half-installed (a staging folder a
killed process left behind is removed by the next install).

No Qt here: ``steps()`` are plain commands the GUI runs one after another in a
QProcess (never blocking the GUI), ``settle(ok)`` commits or cleans up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

STAGING_PREFIX = ".pmi-reader-staging-"
# What `python -m venv` needs: Debian and Ubuntu ship ensurepip (and so venv's pip) in python3-venv.
VENV_CHECK = "import venv, ensurepip"
# The installing processes must not see FreeCAD's own Python settings.
DROPPED_ENV = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV")


def venv_python(folder: Path) -> Path:
    """The interpreter of the venv at ``folder`` (whether or not it exists)."""
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def no_venv_message(python: str) -> str:
    """The error when ``python`` cannot make a venv: what is missing and which package brings it."""
    return (f"{python} cannot create the PMI reader's Python environment: it lacks the venv/ensurepip modules. "
            "Install them (Debian, Ubuntu: sudo apt install python3-venv) and click Install again.")


@dataclass
class Step:
    """One command of an install; ``failure`` is what the user reads when it exits non-zero."""

    program: str
    arguments: list[str]
    failure: str
    env: dict[str, str] | None = None


@dataclass
class ReaderVenvInstall:
    """Builds the reader's venv with ``python`` and installs ``requirements`` into it, all or nothing."""

    folder: Path
    python: str
    requirements: list[str]
    staging: Path | None = field(default=None, init=False)

    def steps(self) -> list[Step]:
        """The commands of one install attempt (creates a fresh staging folder; removes stale ones)."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.parent.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.folder.parent))
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        staged = str(venv_python(self.staging))
        return [
            Step(self.python, ["-c", VENV_CHECK], no_venv_message(self.python), env),
            Step(self.python, ["-m", "venv", str(self.staging)],
                 f"{self.python} could not create a Python environment in {self.staging}.", env),
            Step(staged, ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", *self.requirements],
                 f"pip could not install {', '.join(self.requirements)}.", env),
        ]

    def settle(self, ok: bool) -> None:
        """``ok``: the staged venv replaces ``folder``; otherwise the staging folder is removed."""
        staging, self.staging = self.staging, None
        if staging is None:
            return
        if not ok:
            shutil.rmtree(staging, ignore_errors=True)
            return
        old = None
        if self.folder.exists() or self.folder.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.folder.parent)) / "old"
            self.folder.rename(old)
        staging.rename(self.folder)
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)


__all__ = ["ReaderVenvInstall", "Step", "no_venv_message", "venv_python"]

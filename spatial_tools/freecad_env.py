"""Finds FreeCAD's Python modules so a plain Python can use the kernel.

``freecadcmd`` exits 0 on exceptions and opens stray arguments as files, so
the CLI and tests run in an ordinary Python that imports FreeCAD as a library.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

ENV_VAR = "FREECAD_LIB"

# Where FreeCAD.so / FreeCAD.pyd lives on common installs.
CANDIDATES = [
    "/usr/lib/freecad/lib",
    "/usr/lib/freecad-python3/lib",
    "/usr/lib/freecad-daily/lib",
    "/usr/local/lib/freecad/lib",
    "/usr/local/lib",
    "/opt/freecad/lib",
    "/snap/freecad/current/usr/lib/freecad/lib",
    "/Applications/FreeCAD.app/Contents/Resources/lib",
    "C:/Program Files/FreeCAD 1.0/bin",
    "C:/Program Files/FreeCAD 0.21/bin",
]


class FreeCADNotFound(RuntimeError):
    """No importable FreeCAD was found."""


def _has_module(directory: str) -> bool:
    return any(glob.glob(os.path.join(directory, pattern)) for pattern in ("FreeCAD.so", "FreeCAD*.pyd", "FreeCAD.*.so"))


def candidate_dirs() -> list[str]:
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(os.environ[ENV_VAR])
    if os.environ.get("CONDA_PREFIX"):
        dirs.append(str(Path(os.environ["CONDA_PREFIX"]) / "lib"))
    dirs += CANDIDATES
    dirs += sorted(glob.glob("/squashfs-root/usr/lib"))  # extracted AppImage
    return dirs


def find_lib_dir() -> str | None:
    for directory in candidate_dirs():
        if _has_module(directory):
            return directory
    return None


def load():
    """Imports and returns the FreeCAD module (FreeCAD before Part, or Part crashes).

    ``FREECAD_LIB`` wins over everything else, so a user can point at another build.
    """
    if "FreeCAD" in sys.modules:
        return sys.modules["FreeCAD"]
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        if not _has_module(chosen):
            raise FreeCADNotFound(f"{ENV_VAR}={chosen} holds no FreeCAD module (FreeCAD.so)")
        sys.path.insert(0, chosen)
    try:
        import FreeCAD  # noqa: F401 - on the path already (inside FreeCAD, a .pth, or FREECAD_LIB)
    except ImportError:
        directory = find_lib_dir()
        if directory is None:
            raise FreeCADNotFound(
                "FreeCAD was not found. Install it (Debian/Ubuntu: apt install freecad) "
                f"or set {ENV_VAR} to the folder that holds FreeCAD.so"
            ) from None
        sys.path.append(directory)
        import FreeCAD  # noqa: F401
    import Part  # noqa: F401 - must follow FreeCAD

    _add_workbench_folder(sys.modules["FreeCAD"])
    return sys.modules["FreeCAD"]


def _add_workbench_folder(app) -> None:
    """Puts FreeCAD's ``Mod`` folder on ``sys.path`` when FreeCAD did not.

    Debian links /usr/lib/freecad/lib to /usr/lib/freecad-python3/lib, so the
    home path FreeCAD derives has no ``Mod`` and Python packages such as
    ``PartDesign`` (needed to create or restore a Body) are not importable.
    """
    for base in (app.getHomePath(), app.getResourceDir()):
        folder = os.path.join(base, "Mod")
        if os.path.isdir(os.path.join(folder, "PartDesign")):
            if folder not in sys.path:
                sys.path.append(folder)
            return

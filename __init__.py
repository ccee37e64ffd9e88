"""FreeCAD Spatial: an assistant that measures instead of guessing.

The repository root is the package ``freecad_spatial``: pip maps it with
``package-dir`` and the FreeCAD addon registers it from ``addon/Init.py``,
so every import goes through this one unique name.
"""

from pathlib import Path

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent
RESOURCES = ROOT / "resources"

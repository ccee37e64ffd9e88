"""The one Qt import of the panels: QtCore, QtGui, QtWidgets, Signal, Slot.

Inside FreeCAD's GUI the binding is FreeCAD's ``PySide`` shim (PySide2 on
0.20, PySide6 on 1.x); 0.20's shim has no ``PySide.QtWidgets``, its widgets
live in ``PySide.QtGui``, so QtWidgets falls back to QtGui there. Outside
FreeCAD (pytest-qt, the benchmark) it is PySide6. The two Qt majors must
never meet in one process, so the choice is made once, here:
``FREECAD_SPATIAL_QT=pyside6|freecad`` overrides the detection.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _in_freecad_gui() -> bool:
    freecad = sys.modules.get("FreeCAD")
    return bool(freecad is not None and getattr(freecad, "GuiUp", False))


def _load() -> tuple[str, Any, Any, Any]:
    choice = os.environ.get("FREECAD_SPATIAL_QT", "").lower()
    if choice == "freecad" or (choice != "pyside6" and _in_freecad_gui()):
        from PySide import QtCore, QtGui  # FreeCAD's shim

        try:
            from PySide import QtWidgets  # FreeCAD 1.x
        except ImportError:
            QtWidgets = QtGui  # FreeCAD 0.20: widgets are in QtGui
        return "freecad", QtCore, QtGui, QtWidgets
    from PySide6 import QtCore, QtGui, QtWidgets

    return "pyside6", QtCore, QtGui, QtWidgets


BINDING, QtCore, QtGui, QtWidgets = _load()
Signal = QtCore.Signal
Slot = QtCore.Slot


def exec_dialog(dialog: Any) -> int:
    """``exec()`` where present (PySide6), else ``exec_()`` (PySide2)."""
    run = getattr(dialog, "exec", None) or dialog.exec_
    return run()


def tr(context: str, text: str) -> str:
    """``text`` through Qt's translation mechanism (what ``FreeCAD.Qt.translate`` does), so a workbench
    translation (.qm) installed in the application applies; ``context`` is the class or module name."""
    return QtCore.QCoreApplication.translate(context, text)


def translate_noop(context: str, text: str) -> str:
    """Marks ``text`` for translation where it is stored before Qt runs (FreeCAD's ``QT_TRANSLATE_NOOP``):
    command MenuText and ToolTip, which FreeCAD translates itself with ``context`` = the command's name."""
    return text

"""What the Spatial commands share: the active document, icons, and reporting a failure."""

from __future__ import annotations

from typing import Any

from freecad_spatial import RESOURCES


def icon(name: str) -> str:
    return str(RESOURCES / "icons" / name)


def active_document() -> Any:
    import FreeCAD

    return FreeCAD.ActiveDocument


def has_document() -> bool:
    return active_document() is not None


def has_findings() -> bool:
    from freecad_spatial.spatial_tools.annotations.store import annotations

    doc = active_document()
    return doc is not None and bool(annotations(doc, "Finding"))


def tell_user(title: str, message: str, error: bool = True) -> None:
    """The Report view always; a message box too when the GUI is up."""
    import FreeCAD

    (FreeCAD.Console.PrintError if error else FreeCAD.Console.PrintMessage)(f"FreeCAD Spatial: {title}: {message}\n")
    if FreeCAD.GuiUp:
        import FreeCADGui

        from freecad_spatial.panels.qt import QtWidgets

        box = QtWidgets.QMessageBox.warning if error else QtWidgets.QMessageBox.information
        box(FreeCADGui.getMainWindow(), title, message)

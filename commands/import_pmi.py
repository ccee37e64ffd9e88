"""Import GD&T from STEP: a supplier's AP242 PMI onto the open part, in one undo step, then a summary."""

from __future__ import annotations

from typing import Any

from . import common

NAME = "Spatial_ImportPmi"


def _target(document: Any) -> Any:
    """The selected solid part, else the document's only one; None: the file's shape is added as a new part."""
    import FreeCADGui

    for obj in FreeCADGui.Selection.getSelection(document.Name):
        shape = getattr(obj, "Shape", None)
        if shape is not None and not shape.isNull() and shape.Solids:
            return obj
    parts = [o for o in document.Objects if o.TypeId.startswith("Part::") and getattr(o, "Shape", None) is not None and o.Shape.Solids]
    return parts[0] if len(parts) == 1 else None


def choose_file() -> str:
    """Asks for the STEP file ('' when cancelled); tests replace this function."""
    import FreeCADGui

    from freecad_spatial.panels.qt import QtWidgets, tr

    path, _ = QtWidgets.QFileDialog.getOpenFileName(
        FreeCADGui.getMainWindow(), tr(NAME, "Import GD&T from STEP"), "", tr(NAME, "STEP AP242 (*.step *.stp *.STEP *.STP)"))
    return path or ""


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("feature_control_frame.svg"),
            "MenuText": translate_noop(NAME, "Import GD&T from STEP…"),
            "ToolTip": translate_noop(NAME, "Import a supplier's STEP AP242 GD&T (datums, datum targets, frames, dimensions) onto the open part "
                       "in one undo step; a summary lists what came in and what was skipped, and why"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return True

    def Activated(self) -> None:  # noqa: N802
        import FreeCAD
        import FreeCADGui

        from freecad_spatial.panels.pmi_summary import show_summary
        from freecad_spatial.spatial_tools.errors import ToolError
        from freecad_spatial.spatial_tools.gdt.pmi_import import import_pmi
        from freecad_spatial.spatial_tools.gdt.pmi_summary import public_summary

        path = choose_file()
        if not path:
            return
        document = FreeCAD.ActiveDocument or FreeCAD.newDocument("GdtImport")
        target = _target(document)
        try:
            summary = import_pmi(document, path, target=target)
        except ToolError as exc:
            common.tell_user("Import GD&T from STEP", exc.message)
            return
        document.recompute()
        show_summary(public_summary(summary), FreeCADGui.getMainWindow())

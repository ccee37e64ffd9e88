"""Suggest GD&T: proposes datums and frames for the selected (or first) part; the accepted ones become objects."""

from __future__ import annotations

from typing import Any

from . import common

NAME = "Spatial_SuggestGdt"


def _part_name(document: Any) -> str | None:
    """The selected object with a solid shape, else None (the first part of the document)."""
    import FreeCADGui

    for obj in FreeCADGui.Selection.getSelection(document.Name):
        shape = getattr(obj, "Shape", None)
        if shape is not None and not shape.isNull() and shape.Solids:
            return obj.Name
    return None


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("feature_control_frame.svg"),
            "MenuText": translate_noop(NAME, "Suggest GD&T"),
            "ToolTip": translate_noop(NAME, "Propose a datum reference frame and feature control frames for the part, each with its reason; "
                       "accept the ones you want (one undo step)"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return common.has_document()

    def Activated(self) -> None:  # noqa: N802
        import FreeCADGui

        from freecad_spatial.panels.suggest_gdt_dialog import SuggestGdtDialog
        from freecad_spatial.spatial_tools.errors import ToolError
        from freecad_spatial.spatial_tools.gdt.suggest import accept, suggest

        document = common.active_document()
        try:
            suggestions = suggest(document, _part_name(document))
        except ToolError as exc:
            common.tell_user("Suggest GD&T", exc.message)
            return
        if not suggestions:
            common.tell_user("Suggest GD&T", "nothing to suggest for this part", error=False)
            return
        ids = SuggestGdtDialog(suggestions, FreeCADGui.getMainWindow()).run()
        if not ids:
            return
        try:
            accept(document, suggestions, ids)
        except ToolError as exc:
            common.tell_user("Suggest GD&T", exc.message)
            return
        document.recompute()

"""Clear findings: removes every finding of the active document in one undoable step."""

from __future__ import annotations

from . import common

NAME = "Spatial_ClearFindings"


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("clear_findings.svg"),
            "MenuText": translate_noop(NAME, "Clear findings"),
            "ToolTip": translate_noop(NAME, "Remove all findings from the document (undo brings them back)"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return common.has_findings()

    def Activated(self) -> None:  # noqa: N802
        from freecad_spatial.spatial_tools.annotations.store import clear_findings

        clear_findings(common.active_document())

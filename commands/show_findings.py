"""Show findings: opens the findings dock and shows the finding markers in the 3D view."""

from __future__ import annotations

from . import common

NAME = "Spatial_ShowFindings"


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("show_findings.svg"),
            "MenuText": translate_noop(NAME, "Show findings"),
            "ToolTip": translate_noop(NAME, "Open the findings dock and show the findings' markers in the 3D view"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return common.has_document()

    def Activated(self) -> None:  # noqa: N802
        from freecad_spatial.addon.annotations.visibility import set_kind_visible
        from freecad_spatial.panels.findings_dock import show_dock
        from freecad_spatial.spatial_tools.annotations.store import repair_proxies

        doc = common.active_document()
        repair_proxies(doc)  # a file re-saved where the addon was missing
        set_kind_visible(doc, "Finding", True)
        dock = show_dock()
        dock.kind_boxes["Finding"].setChecked(True)

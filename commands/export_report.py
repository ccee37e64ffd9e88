"""Export report: writes the document's findings as HTML, JSON or SARIF."""

from __future__ import annotations

from typing import Any

from . import common

NAME = "Spatial_ExportReport"
FILTERS = {"HTML report (*.html)": "html", "JSON report (*.json)": "json", "SARIF log (*.sarif)": "sarif"}


def ask_path(parent: Any) -> str:
    """Asks where to write the report ("" when cancelled); tests replace this seam."""
    from PySide import QtGui

    path, _ = QtGui.QFileDialog.getSaveFileName(parent, "Export report", "", ";;".join(FILTERS))
    return path


def export(document: Any, path: str) -> str:
    """Writes the report of ``document``'s findings to ``path``; the format follows the extension."""
    from freecad_spatial.spatial_tools.annotations.report import render
    from freecad_spatial.spatial_tools.check.output import write_atomic

    fmt = {".html": "html", ".htm": "html", ".json": "json", ".sarif": "sarif"}.get(path[path.rfind("."):].lower(), "html")
    text = render(document, fmt, path=document.FileName or document.Label)
    write_atomic(path, text)  # a failed write leaves an earlier report as it was
    return fmt


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("export_report.svg"),
            "MenuText": translate_noop(NAME, "Export report"),
            "ToolTip": translate_noop(NAME, "Write the document's findings as an HTML, JSON or SARIF report"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return common.has_findings()

    def Activated(self) -> None:  # noqa: N802
        import FreeCADGui

        doc = common.active_document()
        path = ask_path(FreeCADGui.getMainWindow())
        if not path:
            return
        try:
            export(doc, path)
        except (OSError, ImportError) as exc:
            common.tell_user("Export report", str(exc))

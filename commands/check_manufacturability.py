"""Check manufacturability: runs a process's DFM rules and puts the findings in the model.

The rules run in a worker process (``spatial_tools.annotations.background``):
the GUI thread only copies the shapes out and, when the worker answers, creates
the annotation objects in one undoable step. Meanwhile the status bar says what
runs, with a Cancel button, and the GUI stays responsive.
"""

from __future__ import annotations

import time
from typing import Any

from . import common

NAME = "Spatial_CheckManufacturability"
POLL_MS = 50

_RUNNING: Any = None  # the one check in flight (RunningCheck), or None


class RunningCheck:
    """Polls a BackgroundCheck from a QTimer; shows progress and Cancel in the status bar."""

    def __init__(self, document: Any, job: Any) -> None:
        import FreeCADGui
        from PySide import QtCore, QtGui

        self.document = document
        self.job = job
        self.done = False
        self.findings: list[Any] = []  # the objects made, once done
        self.error: str | None = None
        self.finish_seconds = 0.0  # how long creating the objects held the GUI thread
        bar = FreeCADGui.getMainWindow().statusBar()
        self.bar = bar
        self.cancel_button = QtGui.QPushButton("Cancel check")
        self.cancel_button.setObjectName("SpatialCancelCheck")
        self.cancel_button.clicked.connect(self.cancel)
        bar.addPermanentWidget(self.cancel_button)
        bar.showMessage(f"Checking manufacturability ({job.request.process}) of {', '.join(job.names)}…")
        self.timer = QtCore.QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        job.start()
        self.timer.start()

    def cancel(self) -> None:
        self.job.cancel()
        self._poll()

    def _poll(self) -> None:
        global _RUNNING
        result = self.job.poll()
        if result is None or self.done:
            return
        self.done = True
        self.timer.stop()
        self.bar.removeWidget(self.cancel_button)
        self.cancel_button.deleteLater()
        _RUNNING = None
        if result.error == "cancelled":
            self.bar.showMessage("Check manufacturability cancelled", 5000)
            self.error = result.error
            return
        if result.error:
            self.bar.clearMessage()
            self.error = result.error
            common.tell_user("Check manufacturability", result.error)
            return
        self._finish(result)

    def _finish(self, result: Any) -> None:
        import FreeCAD

        from freecad_spatial.panels.findings_dock import show_dock
        from freecad_spatial.spatial_tools.annotations.check import annotate

        if self.document.Name not in FreeCAD.listDocuments():  # closed while the check ran
            self.error = "the document was closed"
            return
        started = time.monotonic()
        self.findings = annotate(self.document, self.job.request, result.findings, result.checked)
        self.document.recompute()
        self.finish_seconds = time.monotonic() - started
        show_dock()
        self.bar.showMessage(f"Check manufacturability: {len(self.findings)} findings", 5000)
        if result.not_checked:  # a part that could not be checked must not look clean
            gaps = "; ".join(f"{n['object']}: {n['reason']}" for n in result.not_checked)
            common.tell_user("Check manufacturability", f"{len(self.findings)} findings; not checked: {gaps}")


def running_check() -> RunningCheck | None:
    """The check in flight, if any (tests wait on ``.done``)."""
    return _RUNNING


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        return {
            "Pixmap": common.icon("check_manufacturability.svg"),
            "MenuText": "Check manufacturability",
            "ToolTip": "Check the selected parts (or all) against a process's DFM rules; findings appear as markers and in the findings dock",
        }

    def IsActive(self) -> bool:  # noqa: N802
        return common.has_document() and _RUNNING is None

    def Activated(self) -> None:  # noqa: N802
        global _RUNNING
        import FreeCADGui

        from freecad_spatial.panels.check_dialog import CheckDialog
        from freecad_spatial.spatial_tools.annotations.background import BackgroundCheck
        from freecad_spatial.spatial_tools.annotations.check import default_objects
        from freecad_spatial.spatial_tools.dfm.engine import default_targets
        from freecad_spatial.spatial_tools.dfm.profiles import ProfileError, load_profile, processes
        from freecad_spatial.spatial_tools.errors import ToolError

        doc = common.active_document()
        candidates = {o.Name: o.Label for o in default_targets(doc)}
        selected = FreeCADGui.Selection.getSelection(doc.Name)
        for obj in selected:
            candidates.setdefault(obj.Name, obj.Label)
        chosen = default_objects(doc, selected)
        dialog = CheckDialog(processes(), list(candidates.items()), chosen, FreeCADGui.getMainWindow())
        try:
            request = dialog.request()
        except ValueError as exc:
            common.tell_user("Check manufacturability", str(exc))
            return
        if request is None:
            return
        try:
            # A bad profile file is told now, not after a worker has started.
            load_profile(request.process, request.profile)
            job = BackgroundCheck(doc, request)
        except (ToolError, ProfileError) as exc:
            common.tell_user("Check manufacturability", getattr(exc, "message", str(exc)))
            return
        _RUNNING = RunningCheck(doc, job)

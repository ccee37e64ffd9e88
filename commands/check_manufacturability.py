"""Check manufacturability: runs a process's DFM rules and puts the findings in the model.

The command opens a task panel (``panels.check_panel``) in the Tasks tab; its
OK hands a background ``Job`` to ``start_check``. The rules run in a worker
process (``spatial_tools.annotations.background``): the GUI thread only copies
the shapes out and, when the worker answers, creates the annotation objects in
one undoable step. Meanwhile the status bar says what runs, with a Cancel
button, and the GUI stays responsive.
"""

from __future__ import annotations

import time
from typing import Any

from . import common

NAME = "Spatial_CheckManufacturability"
POLL_MS = 50
CONTEXT = "RunningCheck"

_RUNNING: Any = None  # the one check in flight (RunningCheck), or None


class RunningCheck:
    """Polls a BackgroundCheck from a QTimer; shows progress and Cancel in the status bar."""

    def __init__(self, document: Any, job: Any) -> None:
        import FreeCADGui

        from freecad_spatial.panels.qt import QtCore, QtWidgets, tr

        self.document = document
        self.job = job
        self.done = False
        self.findings: list[Any] = []  # the objects made, once done
        self.error: str | None = None
        self.finish_seconds = 0.0  # how long creating the objects held the GUI thread
        bar = FreeCADGui.getMainWindow().statusBar()
        self.bar = bar
        self.cancel_button = QtWidgets.QPushButton(tr(CONTEXT, "Cancel check"))
        self.cancel_button.setObjectName("SpatialCancelCheck")
        self.cancel_button.clicked.connect(self.cancel)
        bar.addPermanentWidget(self.cancel_button)
        bar.showMessage(tr(CONTEXT, "Checking manufacturability ({process}) of {objects}…")
                        .format(process=job.request.process, objects=", ".join(job.names)))
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
        from freecad_spatial.panels.qt import tr

        result = self.job.poll()
        if result is None or self.done:
            return
        self.done = True
        self.timer.stop()
        self.bar.removeWidget(self.cancel_button)
        self.cancel_button.deleteLater()
        _RUNNING = None
        if result.error == "cancelled":
            self.bar.showMessage(tr(CONTEXT, "Check manufacturability cancelled"), 5000)
            self.error = result.error
            return
        if result.error:
            self.bar.clearMessage()
            self.error = result.error
            common.tell_user(tr(CONTEXT, "Check manufacturability"), result.error)
            return
        self._finish(result)

    def _finish(self, result: Any) -> None:
        import FreeCAD

        from freecad_spatial.panels.findings_dock import show_dock
        from freecad_spatial.panels.qt import tr
        from freecad_spatial.spatial_tools.annotations.check import annotate

        if self.document.Name not in FreeCAD.listDocuments():  # closed while the check ran
            self.error = "the document was closed"
            return
        started = time.monotonic()
        self.findings = annotate(self.document, self.job.request, result.findings, result.checked)
        self.document.recompute()
        self.finish_seconds = time.monotonic() - started
        show_dock()
        self.bar.showMessage(tr(CONTEXT, "Check manufacturability: {n} findings").format(n=len(self.findings)), 5000)
        if result.not_checked:  # a part that could not be checked must not look clean
            gaps = "; ".join(f"{n['object']}: {n['reason']}" for n in result.not_checked)
            common.tell_user(tr(CONTEXT, "Check manufacturability"),
                             tr(CONTEXT, "{n} findings; not checked: {gaps}").format(n=len(self.findings), gaps=gaps))


def running_check() -> RunningCheck | None:
    """The check in flight, if any (tests wait on ``.done``)."""
    return _RUNNING


def start_check(document: Any, job: Any) -> str | None:
    """Starts ``job`` (a background ``Job``) in a worker; the reason when it cannot start, else None."""
    global _RUNNING
    from freecad_spatial.panels.qt import tr
    from freecad_spatial.spatial_tools.annotations.background import BackgroundCheck
    from freecad_spatial.spatial_tools.dfm.profiles import ProfileError, load_profile
    from freecad_spatial.spatial_tools.errors import ToolError

    if _RUNNING is not None:
        return tr(CONTEXT, "A check is already running; wait for it or cancel it in the status bar.")
    try:
        # A bad profile file, material or direction is told now, not after a worker has started.
        load_profile(job.process, job.profile, material=job.material, pull_direction=job.pull_direction,
                     build_direction=job.build_direction)
        background = BackgroundCheck(document, job)
    except (ToolError, ProfileError) as exc:
        return getattr(exc, "message", str(exc))
    _RUNNING = RunningCheck(document, background)
    return None


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        # Imported here: the commands module must import headless (Qt is only there with the GUI).
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("check_manufacturability.svg"),
            "MenuText": translate_noop(NAME, "Check manufacturability"),
            "ToolTip": translate_noop(NAME, "Check the selected parts (or all) against a process's DFM rules in a "
                                            "task panel; findings appear as markers and in the findings dock"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return common.has_document() and _RUNNING is None

    def Activated(self) -> None:  # noqa: N802
        import FreeCADGui

        from freecad_spatial.panels.check_panel import CheckTaskPanel
        from freecad_spatial.panels.qt import tr
        from freecad_spatial.spatial_tools.annotations.check import default_objects
        from freecad_spatial.spatial_tools.dfm.engine import default_targets
        from freecad_spatial.spatial_tools.dfm.profiles import processes

        doc = common.active_document()
        candidates = {o.Name: o.Label for o in default_targets(doc)}
        selected = FreeCADGui.Selection.getSelection(doc.Name)
        for obj in selected:
            candidates.setdefault(obj.Name, obj.Label)
        chosen = default_objects(doc, selected)
        panel = CheckTaskPanel(doc, processes(), list(candidates.items()), chosen,
                               start=lambda job: start_check(doc, job), icon=common.icon("check_manufacturability.svg"))
        if FreeCADGui.Control.activeDialog():
            common.tell_user(tr(CONTEXT, "Check manufacturability"),
                             tr(CONTEXT, "Another task panel is open; close it first (OK or Cancel in the Tasks tab)."))
            return
        FreeCADGui.Control.showDialog(panel)

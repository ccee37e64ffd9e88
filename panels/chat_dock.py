"""The chat dock inside FreeCAD: the panel, the live selection, links into the 3D view, persistence.

FreeCAD-only wiring around ChatPanel + ChatController: the active document
and its selection feed the host, reference links select and zoom, the
conversation is written into the document (spatial_tools.chat.conversation),
and the dock remembers its area and floating geometry in FreeCAD parameters.
"""

from __future__ import annotations

import threading
from typing import Any

from freecad_spatial.spatial_tools.chat.conversation import load_from_document, save_to_document
from freecad_spatial.spatial_tools.chat.links import split_ref
from freecad_spatial.spatial_tools.tokens import estimate_tokens

from .chat_controller import ChatController
from .chat_findings import publish_findings
from .chat_host import DocumentHost
from .chat_panel import ChatPanel
from .dependencies import DependencyBanner
from .preferences import DOCK_GROUP, _params, chat_config
from .qt import QtCore, QtWidgets, Signal, tr

OBJECT_NAME = "FreeCADSpatialChat"
_AREAS = {1: QtCore.Qt.LeftDockWidgetArea, 2: QtCore.Qt.RightDockWidgetArea,
          4: QtCore.Qt.TopDockWidgetArea, 8: QtCore.Qt.BottomDockWidgetArea}


def gui_selection() -> list[dict]:
    """The GUI selection as the tools' refs, in pick order."""
    import FreeCADGui

    out = []
    for sel in FreeCADGui.Selection.getSelectionEx():
        names = list(sel.SubElementNames) or [""]
        points = list(getattr(sel, "PickedPoints", []) or [])
        for i, element in enumerate(names):
            ref = f"{sel.ObjectName}.{element}" if element else sel.ObjectName
            point = points[i] if i < len(points) else None
            out.append({"ref": ref, "picked_point": [point.x, point.y, point.z] if point is not None else None})
    return out


def select_refs(refs: list[str], zoom: bool = True) -> None:
    """Selects element refs in the active document and zooms the 3D view to them."""
    import FreeCAD
    import FreeCADGui

    doc = FreeCAD.ActiveDocument
    if doc is None:
        return
    FreeCADGui.Selection.clearSelection()
    for ref in refs:
        owner, element = split_ref(ref) if "." in ref else (ref, "")
        name = owner.split(".")[-1]
        if doc.getObject(name) is None:
            continue
        if element:
            FreeCADGui.Selection.addSelection(doc.Name, name, element)
        else:
            FreeCADGui.Selection.addSelection(doc.Name, name)
    if zoom and FreeCADGui.ActiveDocument is not None and FreeCADGui.Selection.getSelection():
        FreeCADGui.SendMsgToActiveView("ViewSelection")


def publish_and_show(document: Any, findings: list[dict]) -> list[str]:
    """Findings the assistant submits: annotation objects (one undo step), then the findings dock shows
    them beside those of earlier checks."""
    from .findings_dock import current_dock, show_dock

    names = publish_findings(document, findings)
    first = current_dock() is None
    shown = show_dock()
    if first and _DOCK is not None:
        _make_room(_DOCK, shown.widget)
    return names


FINDINGS_HEIGHT = 220  # px of a findings dock the chat put below the 3D view


def _make_room(chat: Any, findings: Any) -> None:
    """A findings dock opened beside the docked chat would take half its height: below the 3D view it
    keeps the answer readable, and its wide table has room there."""
    main = chat.parent()
    if main is None or chat.isFloating() or main.dockWidgetArea(chat) != main.dockWidgetArea(findings):
        return
    main.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, findings)
    findings.show()
    if hasattr(main, "resizeDocks"):  # a strip: the 3D view keeps most of the height
        main.resizeDocks([findings], [FINDINGS_HEIGHT], QtCore.Qt.Orientation.Vertical)


class FreeCADHost(DocumentHost):
    def __init__(self) -> None:
        import FreeCAD

        super().__init__(lambda: FreeCAD.ActiveDocument, gui_selection, on_findings=publish_and_show,
                         on_select=select_refs, view_camera=live_camera)


def live_camera(document: Any) -> dict | None:
    """The camera of ``document``'s active 3D view as plain data (render_view's view "current"); None
    when it has no 3D view or the camera cannot be read (the tool then says there is no live view)."""
    import FreeCAD
    import FreeCADGui

    from freecad_spatial.spatial_tools.render.live_view import snapshot

    try:
        return snapshot(FreeCADGui.getDocument(document.Name))
    except Exception as exc:  # a view being closed, a camera Coin cannot read: no live view, said in the Report
        FreeCAD.Console.PrintWarning(f"FreeCAD Spatial: the 3D view's camera could not be read: {exc}\n")
        return None


class _SelectionObserver:
    def __init__(self, callback: Any):
        self.callback = callback

    def addSelection(self, *args: Any) -> None:
        self.callback()

    def removeSelection(self, *args: Any) -> None:
        self.callback()

    def setSelection(self, *args: Any) -> None:
        self.callback()

    def clearSelection(self, *args: Any) -> None:
        self.callback()


class ChatDock(QtWidgets.QDockWidget):
    _estimated = Signal(int, object, object)  # generation, refs, tokens or the exception

    def __init__(self, parent: Any = None):
        super().__init__(tr("ChatDock", "Spatial assistant"), parent)
        self._estimate_generation = 0
        self._estimated.connect(self._show_estimate, QtCore.Qt.QueuedConnection)
        self.setObjectName(OBJECT_NAME)
        self.host = FreeCADHost()
        self.controller = ChatController(self.host, chat_config, parent=self)
        self.controller.on_saved = self._save_conversation
        self.banner = DependencyBanner(self)
        self.panel = ChatPanel(self.controller, self, banner=self.banner)
        self.panel.link.connect(self.follow_link)
        self.controller.failed.connect(self._report)
        self.setWidget(self.panel)
        self._document: Any = None
        self._chip_timer = QtCore.QTimer(self)
        self._chip_timer.setSingleShot(True)
        self._chip_timer.setInterval(150)
        self._chip_timer.timeout.connect(self.update_chip)
        self._doc_timer = QtCore.QTimer(self)
        self._doc_timer.setInterval(500)
        self._doc_timer.timeout.connect(self.follow_document)
        self._doc_timer.start()
        self._observer = _SelectionObserver(self._selection_changed)
        import FreeCADGui

        FreeCADGui.Selection.addObserver(self._observer)
        self.dockLocationChanged.connect(self._remember)
        self.topLevelChanged.connect(self._remember)
        self.follow_document()
        self.update_chip()

    # --- document and selection ----------------------------------------------------

    def follow_document(self) -> None:
        import FreeCAD

        doc = FreeCAD.ActiveDocument
        if doc is self._document or self.controller.busy:
            return
        self._document = doc
        self.controller.set_conversation(load_from_document(doc) if doc is not None else load_from_document(None))
        self.update_chip()

    def _selection_changed(self) -> None:
        self._chip_timer.start()

    def _save_conversation(self, conversation: Any) -> None:
        doc = self.host.document()
        if doc is not None:
            save_to_document(doc, conversation)

    def update_chip(self) -> None:
        """Shows the selection at once and the token estimate when the document's summary is computed:
        the summary is only started here (a fork, see chat_host) and waited for on a thread, so a
        selection change never holds the GUI for the encode."""
        selection = gui_selection()
        refs = [s["ref"] for s in selection]
        self._estimate_generation += 1
        doc = self.host.document()
        self.panel.chip.set_context(refs, self.panel.chip.tokens if doc is not None else None)
        if doc is None:
            return
        generation = self._estimate_generation
        try:
            budget = chat_config().settings.document_budget_tokens
            sent = selection if self.panel.chip.sends_selection or not self.panel.chip.refs else []
            pending = self.host.start_encode(sent, budget)
        except Exception as exc:
            self._estimated.emit(generation, refs, exc)
            return

        def wait() -> None:
            try:
                result: Any = estimate_tokens(pending.wait() or "")
            except Exception as exc:  # shown as no estimate, the reason in the Report view
                result = exc
            self._estimated.emit(generation, refs, result)

        threading.Thread(target=wait, name="spatial-chip-estimate", daemon=True).start()

    def _show_estimate(self, generation: int, refs: list, result: Any) -> None:
        if generation != self._estimate_generation:
            return  # a newer selection is being estimated
        if isinstance(result, Exception):
            import FreeCAD

            FreeCAD.Console.PrintWarning(tr("ChatDock", "FreeCAD Spatial: context estimate failed: {error}")
                                         .format(error=result) + "\n")
            result = None
        self.panel.chip.set_context(refs, result)

    def _report(self, kind: str, message: str, action: str) -> None:
        import FreeCAD

        FreeCAD.Console.PrintWarning(tr("ChatDock", "FreeCAD Spatial assistant ({kind}): {message}")
                                     .format(kind=kind, message=message) + "\n")

    def follow_link(self, kind: str, value: Any) -> None:
        if kind == "ref":
            select_refs([value])
            return
        finding = self.controller.conversation.finding(int(value))
        if finding and finding.get("object"):
            elements = finding.get("elements") or []
            select_refs([f"{finding['object']}.{e}" for e in elements] or [finding["object"]])

    # --- place -------------------------------------------------------------------------

    def _remember(self, *_: Any) -> None:
        p = _params(DOCK_GROUP)
        main = self.parent()
        if main is not None and not self.isFloating():
            p.SetInt("Area", int(getattr(main.dockWidgetArea(self), "value", main.dockWidgetArea(self))))
        p.SetBool("Floating", self.isFloating())
        geometry = self.geometry()
        p.SetString("Geometry", f"{geometry.x()},{geometry.y()},{geometry.width()},{geometry.height()}")

    def closeEvent(self, event: Any) -> None:
        self._remember()
        super().closeEvent(event)


_DOCK: ChatDock | None = None


def show_chat_dock() -> ChatDock:
    """Opens (or raises) the dock in its remembered place; right area by default."""
    global _DOCK
    import FreeCADGui

    main = FreeCADGui.getMainWindow()
    if _DOCK is None:
        _DOCK = ChatDock(main)
        p = _params(DOCK_GROUP)
        area = _AREAS.get(p.GetInt("Area", 2), QtCore.Qt.RightDockWidgetArea)
        main.addDockWidget(area, _DOCK)
        if p.GetBool("Floating", False):
            _DOCK.setFloating(True)
            x, y, w, h = (int(v) for v in (p.GetString("Geometry", "") or "100,100,420,640").split(","))
            _DOCK.setGeometry(x, y, w, h)
        elif hasattr(main, "resizeDocks"):  # docked: its remembered width (answers and traces need room)
            width = int((p.GetString("Geometry", "") or "0,0,400,0").split(",")[2])
            main.resizeDocks([_DOCK], [max(340, width)], QtCore.Qt.Horizontal)
    _DOCK.show()
    _DOCK.raise_()
    return _DOCK

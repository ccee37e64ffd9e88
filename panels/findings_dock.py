"""The findings dock: a filterable table of the document's findings, with accept and waive.

It reads the findings through ``spatial_tools.annotations.store`` and changes
them only through it (each change one undoable step). A document observer
schedules a refresh whenever findings are created, changed, deleted, undone
or redone, so the table always shows what the document holds.
"""

from __future__ import annotations

from typing import Any

from freecad_spatial import RESOURCES

DOCK_NAME = "SpatialFindings"
SEVERITIES = ("error", "warning", "info")
KIND_LABELS = (("Finding", "Findings"), ("DatumFeature", "Datums"), ("FeatureControlFrame", "Frames"), ("SizeDimension", "Dimensions"))
COLUMNS = ("#", "Severity", "Rule", "Message", "Object", "Status")
ALL = "(all)"


def _qt() -> tuple[Any, Any]:
    from PySide import QtCore, QtGui

    return QtCore, QtGui


class _Observer:
    """FreeCAD document observer: any change to an annotation schedules one refresh."""

    def __init__(self, dock: FindingsDock) -> None:
        self.dock = dock

    def _maybe(self, obj: Any) -> None:
        if "SpatialType" in getattr(obj, "PropertiesList", ()):
            self.dock.schedule_refresh()
            from freecad_spatial.addon.annotations.label_layout import schedule

            schedule(obj.Document.Name)  # numbers and merged labels follow any change

    def slotCreatedObject(self, obj: Any) -> None:  # noqa: N802 - FreeCAD's names
        self._maybe(obj)

    def slotDeletedObject(self, obj: Any) -> None:  # noqa: N802
        self._maybe(obj)

    def slotChangedObject(self, obj: Any, prop: str) -> None:  # noqa: N802
        self._maybe(obj)

    def slotUndoDocument(self, doc: Any) -> None:  # noqa: N802
        self.dock.schedule_refresh()

    def slotRedoDocument(self, doc: Any) -> None:  # noqa: N802
        self.dock.schedule_refresh()

    def slotActivateDocument(self, doc: Any) -> None:  # noqa: N802
        self.dock.schedule_refresh()

    def slotDeletedDocument(self, doc: Any) -> None:  # noqa: N802
        self.dock.schedule_refresh()

    def slotFinishRestoreDocument(self, doc: Any) -> None:  # noqa: N802
        self.dock.schedule_refresh()


class FindingsDock:
    """The dock widget and its table; one per main window (``show_dock``)."""

    def __init__(self, parent: Any = None) -> None:
        import FreeCAD

        QtCore, QtGui = _qt()
        self.widget = QtGui.QDockWidget("Spatial findings", parent)
        self.widget.setObjectName(DOCK_NAME)
        body = QtGui.QWidget()
        layout = QtGui.QVBoxLayout(body)
        self.counts = QtGui.QLabel()
        self.counts.setObjectName("SpatialFindingCounts")
        layout.addWidget(self.counts)
        filters = QtGui.QHBoxLayout()
        self.severity = self._combo(filters, "Severity", (ALL,) + SEVERITIES)
        self.rule = self._combo(filters, "Rule", (ALL,))
        self.status = self._combo(filters, "Status", (ALL, "open", "accepted", "waived"))
        layout.addLayout(filters)
        shows = QtGui.QHBoxLayout()
        shows.addWidget(QtGui.QLabel("Show:"))
        self.kind_boxes = {}
        for kind, label in KIND_LABELS:
            box = QtGui.QCheckBox(label)
            box.setChecked(True)
            box.toggled.connect(lambda on, k=kind: self._show_kind(k, on))
            shows.addWidget(box)
            self.kind_boxes[kind] = box
        shows.addStretch(1)
        layout.addLayout(shows)
        self.table = QtGui.QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("SpatialFindingTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QtGui.QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QtGui.QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)  # the "#" column is the finding's number
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table)
        buttons = QtGui.QHBoxLayout()
        for text, slot in (("Accept", self.accept), ("Waive…", self.waive), ("Reopen", self.reopen)):
            button = QtGui.QPushButton(text)
            button.setObjectName(f"SpatialFinding{text.strip('…')}")
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.widget.setWidget(body)
        self.timer = QtCore.QTimer()
        self.timer.setSingleShot(True)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.refresh)
        self.observer = _Observer(self)
        FreeCAD.addDocumentObserver(self.observer)
        self.rows: list[str] = []  # object Name per table row
        self.refresh()

    def _combo(self, layout: Any, label: str, items: tuple[str, ...]) -> Any:
        _, QtGui = _qt()
        layout.addWidget(QtGui.QLabel(label))
        combo = QtGui.QComboBox()
        combo.setObjectName(f"SpatialFilter{label}")
        combo.addItems(list(items))
        combo.currentIndexChanged.connect(lambda _i: self.refresh())
        layout.addWidget(combo)
        return combo

    # --- reading -------------------------------------------------------------------------

    def document(self) -> Any:
        import FreeCAD

        return FreeCAD.ActiveDocument

    def schedule_refresh(self) -> None:
        self.timer.start()

    def findings(self) -> list[Any]:
        from freecad_spatial.spatial_tools.annotations.store import read_findings

        doc = self.document()
        return read_findings(doc) if doc is not None else []

    def refresh(self) -> None:
        """Refills the table from the document, keeping the filters."""
        from PySide import QtGui

        try:
            held = self.findings()
        except Exception as exc:  # a half-restored document: say so, try again on the next change
            self.counts.setText(f"findings not readable yet: {exc}")
            return
        counts = {s: sum(1 for h in held if h.finding.severity.value == s and h.status == "open") for s in SEVERITIES}
        reviewed = sum(1 for h in held if h.status != "open")
        self.counts.setText(
            f"{counts['error']} errors · {counts['warning']} warnings · {counts['info']} info · {reviewed} reviewed"
        )
        rules = sorted({h.finding.rule for h in held})
        current_rule = self.rule.currentText()
        self.rule.blockSignals(True)
        self.rule.clear()
        self.rule.addItems([ALL] + rules)
        self.rule.setCurrentIndex(self.rule.findText(current_rule) if current_rule in rules else 0)
        self.rule.blockSignals(False)
        from freecad_spatial.spatial_tools.annotations.store import finding_numbers

        numbers = finding_numbers(held)
        shown = sorted((h for h in held if self._passes(h)), key=lambda h: numbers[h.name])
        self.table.blockSignals(True)
        self.table.setRowCount(len(shown))
        self.rows = [h.name for h in shown]
        for row, h in enumerate(shown):
            severity = h.finding.severity.value
            cells = (str(numbers[h.name]), severity, h.finding.rule, h.finding.message, h.finding.object or "", self._status_text(h))
            for col, text in enumerate(cells):
                item = QtGui.QTableWidgetItem(text)
                if col == 1:
                    item.setIcon(QtGui.QIcon(str(RESOURCES / "icons" / f"severity_{severity}.svg")))
                item.setToolTip(h.finding.suggestion or h.finding.message)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()

    @staticmethod
    def _status_text(h: Any) -> str:
        text = h.status if h.status == "open" else f"{h.status}: {h.reason}" if h.reason else h.status
        return text + (" · geometry lost" if h.attachment == "lost" else "")

    def _passes(self, h: Any) -> bool:
        sev, rule, status = self.severity.currentText(), self.rule.currentText(), self.status.currentText()
        return (sev == ALL or h.finding.severity.value == sev) and (rule == ALL or h.finding.rule == rule) and (status == ALL or h.status == status)

    def selected_names(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.rows[r] for r in rows if r < len(self.rows)]

    # --- acting ----------------------------------------------------------------------------

    def _selected(self) -> None:
        """Selects the clicked finding's faces in the 3D view and zooms to them."""
        from freecad_spatial.addon.annotations.view_common import select_and_fit

        names = self.selected_names()
        doc = self.document()
        if len(names) == 1 and doc is not None and doc.getObject(names[0]) is not None:
            select_and_fit(doc.getObject(names[0]))

    def _review(self, status: str, reason: str = "") -> None:
        from freecad_spatial.spatial_tools.annotations.store import set_status

        names = self.selected_names()
        if names:
            set_status(self.document(), names, status, reason)
            self.refresh()

    def accept(self) -> None:
        self._review("accepted")

    def reopen(self) -> None:
        self._review("open")

    def waive(self) -> None:
        _, QtGui = _qt()
        if not self.selected_names():
            return
        reason, ok = QtGui.QInputDialog.getText(self.widget, "Waive finding", "Reason (required):")
        if ok and reason.strip():
            self._review("waived", reason)

    def _show_kind(self, kind: str, on: bool) -> None:
        from freecad_spatial.addon.annotations.visibility import set_kind_visible

        doc = self.document()
        if doc is not None:
            set_kind_visible(doc, kind, on)


_DOCK: FindingsDock | None = None


def show_dock() -> FindingsDock:
    """Creates the dock on first use, docks it on the right, shows and refreshes it."""
    global _DOCK
    import FreeCADGui
    from PySide import QtCore

    if _DOCK is None:
        window = FreeCADGui.getMainWindow()
        _DOCK = FindingsDock(window)
        window.addDockWidget(QtCore.Qt.RightDockWidgetArea, _DOCK.widget)
    _DOCK.widget.show()
    _DOCK.widget.raise_()
    _DOCK.refresh()
    return _DOCK


def current_dock() -> FindingsDock | None:
    return _DOCK

"""The findings dock: a filterable table of the document's findings, with accept and waive.

It reads the findings through ``spatial_tools.annotations.store`` and changes
them only through it (each change one undoable step). A document observer
schedules a refresh whenever findings are created, changed, deleted, undone
or redone, so the table always shows what the document holds.

Each row shows the finding's stable number (the same in the 3D markers, the
report and the tree; reviewing or sorting never renumbers), its human title
(word-wrapped; the rule, message and suggestion in its tooltip) and where it
is, element names sorted as numbers (Face2 before Face10). A refresh keeps
the selection on the same findings, not on the same rows.
"""

from __future__ import annotations

import re
from typing import Any

from freecad_spatial import RESOURCES

DOCK_NAME = "SpatialFindings"
SEVERITIES = ("error", "warning", "info")
KIND_LABELS = (("Finding", "Findings"), ("DatumFeature", "Datums"), ("FeatureControlFrame", "Frames"), ("SizeDimension", "Dimensions"))
COLUMNS = ("#", "Severity", "Finding", "Where", "Status")
NUMBER, SEVERITY, TITLE, WHERE, STATUS = range(len(COLUMNS))
SORT_ROLE = 0x0100 + 7  # Qt.UserRole + 7: the value a column sorts by (numbers as numbers)
WHERE_SHOWN = 4  # elements named in the Where column; the rest are counted (all are in its tooltip)
WHERE_MAX_PX = 150  # the Where column wraps beyond this, so the title column keeps the room
ALL = "(all)"


def _qt() -> tuple[Any, Any]:
    from .qt import QtCore, QtWidgets

    return QtCore, QtWidgets


def natural_key(text: str) -> str:
    """A key that sorts 'Body.Face10' after 'Body.Face2': digit runs padded so they compare as numbers."""
    return re.sub(r"\d+", lambda m: m.group(0).rjust(12, "0"), text.lower())


def where_text(finding: Any) -> str:
    """'Body · Edge45, Edge46, Edge48 +1' - the object and its first elements, in natural order."""
    elements = sorted(finding.elements, key=natural_key)
    shown = ", ".join(elements[:WHERE_SHOWN]) + (f" +{len(elements) - WHERE_SHOWN}" if len(elements) > WHERE_SHOWN else "")
    return " · ".join(x for x in (finding.object or "", shown) if x)


def _reflow_filter(table: Any) -> Any:
    """An event filter that re-fits the rows' heights whenever the table's viewport is resized.

    The title column stretches with the dock; on Qt6 a stretched section's new width does not always
    reach ``sectionResized``, and rows measured while the dock was narrow stayed many lines tall.
    """
    QtCore, _ = _qt()

    class Reflow(QtCore.QObject):
        def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QtCore.QEvent.Type.Resize:
                QtCore.QTimer.singleShot(0, table.resizeRowsToContents)
            return False

    return Reflow(table)


def _sort_item_class() -> Any:
    """QTableWidgetItem that sorts by its SORT_ROLE string (numbers padded), made once Qt is imported."""
    _, QtWidgets = _qt()

    class SortItem(QtWidgets.QTableWidgetItem):
        def __lt__(self, other: Any) -> bool:
            mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
            if mine is None or theirs is None:
                return super().__lt__(other)
            return str(mine) < str(theirs)

    return SortItem


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

        from .qt import tr

        QtCore, QtWidgets = _qt()
        self.widget = QtWidgets.QDockWidget(tr("FindingsDock", "Spatial findings"), parent)
        self.widget.setObjectName(DOCK_NAME)
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        self.counts = QtWidgets.QLabel()
        self.counts.setObjectName("SpatialFindingCounts")
        layout.addWidget(self.counts)
        filters = QtWidgets.QHBoxLayout()
        self.severity = self._combo(filters, "Severity", tr("FindingsDock", "Severity"), (ALL,) + SEVERITIES)
        self.rule = self._combo(filters, "Rule", tr("FindingsDock", "Rule"), (ALL,))
        self.status = self._combo(filters, "Status", tr("FindingsDock", "Status"), (ALL, "open", "accepted", "waived"))
        layout.addLayout(filters)
        shows = QtWidgets.QHBoxLayout()
        shows.addWidget(QtWidgets.QLabel(tr("FindingsDock", "Show:")))
        self.kind_boxes = {}
        for kind, label in KIND_LABELS:
            box = QtWidgets.QCheckBox(tr("FindingsDock", label))
            box.setChecked(True)
            box.toggled.connect(lambda on, k=kind: self._show_kind(k, on))
            shows.addWidget(box)
            self.kind_boxes[kind] = box
        shows.addStretch(1)
        layout.addLayout(shows)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("SpatialFindingTable")
        self.table.setHorizontalHeaderLabels([tr("FindingsDock", c) for c in COLUMNS])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)  # long titles wrap instead of being cut off
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideNone)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(TITLE, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col in (NUMBER, SEVERITY, STATUS):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WHERE, QtWidgets.QHeaderView.ResizeMode.Interactive)  # capped: the title gets the room
        header.sectionResized.connect(lambda *_: self.table.resizeRowsToContents())  # wrapped titles re-flow
        self._reflow = _reflow_filter(self.table)
        self.table.viewport().installEventFilter(self._reflow)
        self.table.verticalHeader().setVisible(False)  # the "#" column is the finding's number
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NUMBER, QtCore.Qt.SortOrder.AscendingOrder)
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table)
        buttons = QtWidgets.QHBoxLayout()
        for key, text, slot in (("Accept", tr("FindingsDock", "Accept"), self.accept),
                                ("Waive", tr("FindingsDock", "Waive…"), self.waive),
                                ("Reopen", tr("FindingsDock", "Reopen"), self.reopen)):
            button = QtWidgets.QPushButton(text)
            button.setObjectName(f"SpatialFinding{key}")
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.widget.setWidget(body)
        self.timer = QtCore.QTimer()
        self.timer.setSingleShot(True)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.refresh)
        self.observer: Any = _Observer(self)
        FreeCAD.addDocumentObserver(self.observer)
        self.widget.destroyed.connect(lambda *_: self.close_observer())
        self.rows: list[str] = []  # object Name per table row, in the order shown
        self.refresh()

    def _combo(self, layout: Any, key: str, label: str, items: tuple[str, ...]) -> Any:
        _, QtWidgets = _qt()
        layout.addWidget(QtWidgets.QLabel(label))
        combo = QtWidgets.QComboBox()
        combo.setObjectName(f"SpatialFilter{key}")
        combo.addItems(list(items))
        combo.currentIndexChanged.connect(lambda _i: self.refresh())
        layout.addWidget(combo)
        return combo

    # --- reading -------------------------------------------------------------------------

    def document(self) -> Any:
        import FreeCAD

        return FreeCAD.ActiveDocument

    def schedule_refresh(self) -> None:
        try:
            self.timer.start()
        except RuntimeError:  # the widgets were deleted (the dock closed for good): stop listening
            self.close_observer()

    def close_observer(self) -> None:
        """Stops following the documents (once the dock's widgets are gone, a refresh would raise)."""
        import FreeCAD

        observer, self.observer = self.observer, None
        if observer is not None:
            try:
                FreeCAD.removeDocumentObserver(observer)
            except Exception:  # already removed
                pass

    def findings(self) -> list[Any]:
        from freecad_spatial.spatial_tools.annotations.store import read_findings

        doc = self.document()
        return read_findings(doc) if doc is not None else []

    def refresh(self) -> None:
        """Refills the table from the document, keeping the filters, the sort order and the selected findings."""
        try:
            self.counts.objectName()
        except RuntimeError:  # the widgets were deleted: nothing to refill, and no more refreshes
            self.close_observer()
            return
        from freecad_spatial.spatial_tools.annotations.store import finding_numbers

        from .qt import QtGui, tr

        QtCore, QtWidgets = _qt()
        try:
            held = self.findings()
        except Exception as exc:  # a half-restored document: say so, try again on the next change
            self.counts.setText(tr("FindingsDock", "findings not readable yet: {0}").format(exc))
            return
        counts = {s: sum(1 for h in held if h.finding.severity.value == s and h.status == "open") for s in SEVERITIES}
        reviewed = sum(1 for h in held if h.status != "open")
        self.counts.setText(" · ".join((
            tr("FindingsDock", "1 error") if counts["error"] == 1 else tr("FindingsDock", "{0} errors").format(counts["error"]),
            tr("FindingsDock", "1 warning") if counts["warning"] == 1 else tr("FindingsDock", "{0} warnings").format(counts["warning"]),
            tr("FindingsDock", "{0} info").format(counts["info"]),
            tr("FindingsDock", "{0} reviewed").format(reviewed),
        )))
        rules = sorted({h.finding.rule for h in held})
        current_rule = self.rule.currentText()
        self.rule.blockSignals(True)
        self.rule.clear()
        self.rule.addItems([ALL] + rules)
        self.rule.setCurrentIndex(self.rule.findText(current_rule) if current_rule in rules else 0)
        self.rule.blockSignals(False)
        numbers = finding_numbers(held)
        selected = set(self.selected_names())
        shown = sorted((h for h in held if self._passes(h)), key=lambda h: numbers[h.name])
        SortItem = _sort_item_class()
        sort_column = self.table.horizontalHeader().sortIndicatorSection()
        sort_order = self.table.horizontalHeader().sortIndicatorOrder()
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)  # filling a sorted table moves rows under the loop
        self.table.clearSelection()
        self.table.setRowCount(len(shown))
        from freecad_spatial.spatial_tools.dfm.titles import title_of

        for row, h in enumerate(shown):
            f = h.finding
            severity = f.severity.value
            number = numbers[h.name]
            title = title_of(f)
            tip = "\n\n".join(x for x in (f"#{number} {title}", f"{f.rule}: {f.message}", f.suggestion or "") if x)
            cells = (
                (str(number), f"{number:012d}"),
                (severity, f"{4 - f.severity.rank}{number:012d}"),
                (title, title.lower()),
                (where_text(f), natural_key(where_text(f))),
                (self._status_text(h), h.status),
            )
            for col, (text, key) in enumerate(cells):
                item = SortItem(text)
                item.setData(SORT_ROLE, key)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, h.name)
                if col == SEVERITY:
                    item.setIcon(QtGui.QIcon(str(RESOURCES / "icons" / f"severity_{severity}.svg")))
                if col == WHERE:
                    item.setToolTip(", ".join(f.refs) + (f"\n{tr('FindingsDock', 'related')}: {', '.join(f.related)}" if f.related else ""))
                elif col == STATUS:
                    item.setToolTip(self._status_tip(h) or tip)
                else:
                    item.setToolTip(tip)
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(sort_column, sort_order)
        self.rows = [self.table.item(r, NUMBER).data(QtCore.Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())]
        for r, name in enumerate(self.rows):
            if name in selected:
                self._add_row_to_selection(r)
        self.table.blockSignals(False)
        self.table.resizeColumnToContents(WHERE)
        self.table.setColumnWidth(WHERE, min(self.table.columnWidth(WHERE), WHERE_MAX_PX))
        self.table.resizeRowsToContents()

    def _add_row_to_selection(self, row: int) -> None:
        QtCore, _ = _qt()
        model = self.table.selectionModel()
        flags = QtCore.QItemSelectionModel.SelectionFlag.Select | QtCore.QItemSelectionModel.SelectionFlag.Rows
        model.select(self.table.model().index(row, 0), flags)

    @staticmethod
    def _status_text(h: Any) -> str:
        from .qt import tr

        text = tr("FindingsDock", h.status) if h.status == "open" else f"{tr('FindingsDock', h.status)}: {h.reason}" if h.reason else tr("FindingsDock", h.status)
        if h.attachment == "lost":
            text += " · " + tr("FindingsDock", "geometry lost")
        elif h.attachment == "rematched":
            text += " · " + tr("FindingsDock", "re-attached")
        return text

    @staticmethod
    def _status_tip(h: Any) -> str:
        """Why a finding is marked lost or re-attached: the faces it was on before."""
        from .qt import tr

        if h.attachment == "lost":
            return tr("FindingsDock", "The geometry this finding was on is gone after a change: {0}. Re-check or re-link.").format(", ".join(h.lost))
        if h.attachment == "rematched":
            return tr("FindingsDock", "Found again after the part changed: it is now on {0}. Check that it still applies.").format(", ".join(h.finding.refs))
        return ""

    def _passes(self, h: Any) -> bool:
        sev, rule, status = self.severity.currentText(), self.rule.currentText(), self.status.currentText()
        return (sev == ALL or h.finding.severity.value == sev) and (rule == ALL or h.finding.rule == rule) and (status == ALL or h.status == status)

    def selected_names(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.rows[r] for r in rows if r < len(self.rows)]

    def select_names(self, names: list[str]) -> None:
        """Selects the rows of these findings (by object Name), wherever the sort put them."""
        self.table.clearSelection()
        for r, name in enumerate(self.rows):
            if name in names:
                self._add_row_to_selection(r)

    # --- acting ----------------------------------------------------------------------------

    def _selected(self) -> None:
        """Selects the clicked finding's faces in the 3D view, zooms to them and shows its label."""
        from freecad_spatial.addon.annotations.view_common import select_and_fit

        names = self.selected_names()
        doc = self.document()
        try:
            from freecad_spatial.addon.annotations.label_layout import set_focus

            set_focus(doc.Name if doc is not None else "", names)
        except ImportError:  # headless use of the dock module
            pass
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
        from .qt import tr

        _, QtWidgets = _qt()
        if not self.selected_names():
            return
        reason, ok = QtWidgets.QInputDialog.getText(self.widget, tr("FindingsDock", "Waive finding"), tr("FindingsDock", "Reason (required):"))
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

    from .qt import QtCore

    if _DOCK is None:
        window = FreeCADGui.getMainWindow()
        _DOCK = FindingsDock(window)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, _DOCK.widget)
    _DOCK.widget.show()
    _DOCK.widget.raise_()
    _DOCK.refresh()
    return _DOCK


def current_dock() -> FindingsDock | None:
    return _DOCK

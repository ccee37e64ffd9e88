"""The bubbles of the chat: a question, an answer (Markdown, live text, trace, copy), an error.

Widgets only: they render what the controller reports and emit what the
user clicks; they never call the agent or FreeCAD.
"""

from __future__ import annotations

from typing import Any

from freecad_spatial.spatial_tools.chat.conversation import Entry
from freecad_spatial.spatial_tools.chat.links import linkify, parse_link
from freecad_spatial.spatial_tools.chat.trace_view import TraceItem, pretty

from .qt import QtCore, QtGui, QtWidgets, Signal, tr

RENDER_INTERVAL_MS = 40  # live Markdown is re-rendered at most this often while tokens stream


class MarkdownView(QtWidgets.QTextBrowser):
    """Read-only Markdown that grows with its text; reference links are emitted, not followed."""

    link = Signal(str, object)  # ("ref", "Plate.Face7") | ("finding", 3)

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QtWidgets.QFrame.NoFrame)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Minimum)
        self.viewport().setAutoFillBackground(False)
        self.anchorClicked.connect(self._clicked)
        # Heights per width, until the text changes: layouts ask many times per change, and each answer
        # lays a copy of the document out (a streamed answer asked ~1,000 times: 0.37 s on the GUI thread).
        self._heights: dict[int, int] = {}
        self.document().contentsChanged.connect(self._heights.clear)
        self.document().contentsChanged.connect(self.updateGeometry)
        self.markdown = ""

    def set_markdown(self, text: str) -> None:
        self.markdown = text
        self.setMarkdown(linkify(text))
        self.updateGeometry()

    def _clicked(self, url: Any) -> None:
        parsed = parse_link(url.toString())
        if parsed is not None:
            self.link.emit(parsed[0], parsed[1])

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            doc = self.document().clone()
            doc.setTextWidth(max(50, width - 4))
            height = self._heights[width] = int(doc.size().height()) + 6
        return height

    def sizeHint(self) -> Any:
        width = self.width() if self.width() > 50 else 300
        return QtCore.QSize(width, self.heightForWidth(width))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        height = self.heightForWidth(self.width())
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)


class QuestionBubble(QtWidgets.QLabel):
    def __init__(self, text: str, parent: Any = None):
        super().__init__(text, parent)
        self.setObjectName("chatQuestion")
        self.setWordWrap(True)
        self.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.setTextFormat(QtCore.Qt.PlainText)
        self.setStyleSheet("QLabel#chatQuestion { background: palette(alternate-base); border-radius: 6px;"
                           " padding: 6px; font-weight: bold; }")


class ErrorBubble(QtWidgets.QFrame):
    """A failure: what happened (title and message) and what to do."""

    def __init__(self, title: str, message: str, action: str, parent: Any = None):
        super().__init__(parent)
        self.setObjectName("chatError")
        self.setStyleSheet("QFrame#chatError { border: 1px solid #c0392b; border-radius: 6px; background: #fdecea; }"
                           " QLabel { color: #5c1a12; }")
        layout = QtWidgets.QVBoxLayout(self)
        # Title and action are the advice table's texts (spatial_tools/chat/advice.py); the message is data.
        self.title = QtWidgets.QLabel(f"<b>{_escape(tr('ChatAdvice', title))}</b>")
        self.message = QtWidgets.QLabel(_escape(message.splitlines()[0] if message else ""))
        self.action = QtWidgets.QLabel(_escape(tr("ChatAdvice", action)))
        for label in (self.title, self.message, self.action):
            label.setWordWrap(True)
            label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
            layout.addWidget(label)

    def text(self) -> str:
        return "\n".join(QtGui.QTextDocumentFragment.fromHtml(lbl.text()).toPlainText()
                         for lbl in (self.title, self.message, self.action))


def _tooltip(text: str, limit: int = 4000) -> str:
    """Rich text, so Qt wraps it; monospaced, as the trace shows arguments, results and code."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"<pre style='white-space: pre-wrap'>{_escape(text)}</pre>" if text else ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TraceView(QtWidgets.QTreeWidget):
    """Each tool call and code cell: one line each, expanding to the full arguments and result (or code
    and output), wrapped; right-click or Ctrl+C copies a row's full text, or the whole trace."""

    FULL_TEXT = QtCore.Qt.ItemDataRole.UserRole  # an item's whole text (what Copy takes)
    MAX_HEIGHT = 420

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels([tr("TraceView", "step"), tr("TraceView", "details"), tr("TraceView", "ms")])
        self.setRootIsDecorated(True)
        self.setWordWrap(True)
        self.setUniformRowHeights(False)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A long result is taller than the view: scroll through it, not past it.
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMinimumWidth(1)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        header = self.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        # step: user-resizable, sized to its text up to half the width; details take the rest.
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self._items: dict[str, Any] = {}
        self.itemExpanded.connect(lambda *_: self._refit())
        self.itemCollapsed.connect(lambda *_: self._refit())
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.copy_action = QtGui.QAction(tr("TraceView", "Copy"), self)
        self.copy_action.setShortcut(QtGui.QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(lambda *_: self.copy_current())
        self.addAction(self.copy_action)
        self.copy_all_action = QtGui.QAction(tr("TraceView", "Copy the whole trace"), self)
        self.copy_all_action.triggered.connect(lambda *_: self.copy_all())

    def show_item(self, item: TraceItem) -> None:
        row = self._items.get(item.call_id)
        if row is None:
            row = QtWidgets.QTreeWidgetItem(self)
            self._items[item.call_id] = row
        expanded = row.isExpanded()
        row.takeChildren()
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        if item.kind == "plan":
            row.setText(0, tr("TraceView", "plan"))
            row.setText(1, _first_line(item.output))
            full = item.output
            details = [(tr("TraceView", "text"), item.output)] if "\n" in item.output.strip() else []
        elif item.kind == "cell":
            row.setText(0, tr("TraceView", "code cell"))
            row.setText(1, _first_line(item.code))
            details = [(tr("TraceView", "code"), item.code), (tr("TraceView", "output"), item.output or "…")]
            full = f"{item.code}\n\n{item.output}".strip()
        else:
            row.setText(0, item.tool)
            row.setText(1, item.arguments)
            row.setFont(1, mono)
            arguments, result = pretty(item.arguments), pretty(item.output) if item.output else tr("TraceView", "running…")
            details = [(tr("TraceView", "arguments"), arguments), (tr("TraceView", "result"), result)]
            full = f"{item.tool} {arguments}\n\n{result}"
        row.setData(0, self.FULL_TEXT, full)
        for label, text in details:
            child = QtWidgets.QTreeWidgetItem(row, [label, text])
            child.setFont(1, mono)
            child.setTextAlignment(0, _TOP_LEFT)  # the label beside the first line of a long text
            child.setData(0, self.FULL_TEXT, text)
            child.setToolTip(1, _tooltip(text))
            child.setToolTip(0, tr("TraceView", "Right-click or Ctrl+C copies it in full"))
        state = "" if item.ok is None else ("✓ " if item.ok else "✗ ")
        row.setText(0, state + row.text(0))
        row.setText(2, "" if item.ms is None else f"{item.ms:.0f}")
        row.setToolTip(0, tr("TraceView", "Expand the row for the full text; right-click or Ctrl+C copies it"))
        row.setToolTip(1, _tooltip(full))
        row.setExpanded(expanded)
        self._fit_columns()
        self._fit()

    def _fit_columns(self) -> None:
        wanted = max([self.sizeHintForColumn(0), self.header().sectionSizeHint(0)]) + 8
        self.header().resizeSection(0, max(60, min(wanted, self.viewport().width() // 2 or wanted)))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_columns()
        self._refit()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._refit()  # rows are laid out (and measured) only once the tree is shown

    def _refit(self) -> None:
        """Heights follow the wrapped text once Qt has laid the rows out."""
        self.scheduleDelayedItemsLayout()
        QtCore.QTimer.singleShot(0, self._fit)

    def _fit(self) -> None:
        """As tall as its rows (expanded ones with their wrapped text), up to MAX_HEIGHT, then it scrolls."""
        self.executeDelayedItemsLayout()
        height = self.header().height() + 2 * self.frameWidth() + 4
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            rows = [top] + ([top.child(j) for j in range(top.childCount())] if top.isExpanded() else [])
            height += sum(max(self.visualItemRect(r).height(), self.fontMetrics().height() + 4) for r in rows)
        self.setFixedHeight(min(self.MAX_HEIGHT, max(48, height)))

    def _menu(self, pos: Any) -> None:
        menu = QtWidgets.QMenu(self)
        self.copy_action.setEnabled(self.itemAt(pos) is not None)
        if self.itemAt(pos) is not None:
            self.setCurrentItem(self.itemAt(pos))
        menu.addAction(self.copy_action)
        menu.addAction(self.copy_all_action)
        run = getattr(menu, "exec", None) or menu.exec_
        run(self.viewport().mapToGlobal(pos))

    def copy_current(self) -> None:
        item = self.currentItem()
        if item is not None:
            QtWidgets.QApplication.clipboard().setText(str(item.data(0, self.FULL_TEXT) or item.text(1)))

    def copy_all(self) -> None:
        parts = [f"{self.topLevelItem(i).text(0)}\n{self.topLevelItem(i).data(0, self.FULL_TEXT)}"
                 for i in range(self.topLevelItemCount())]
        QtWidgets.QApplication.clipboard().setText("\n\n".join(parts))

    def rows(self) -> list[list[str]]:
        """Every top-level row and child as text (for tests and copy)."""
        out = []
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            out.append([top.text(0), top.text(1), top.text(2)])
            out += [["  " + top.child(j).text(0), top.child(j).text(1), ""] for j in range(top.childCount())]
        return out


_TOP_LEFT = QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def answer_summary(calls: int, findings: list[int]) -> str:
    """The line under a finished answer: "2 tool calls · finding #1", "1 tool call · findings #1, #2"."""
    parts = []
    if calls:
        parts.append(tr("AnswerBubble", "1 tool call") if calls == 1
                     else tr("AnswerBubble", "{n} tool calls").format(n=calls))
    if findings:
        numbers = ", ".join(f"#{n}" for n in findings)
        parts.append(tr("AnswerBubble", "finding {numbers}").format(numbers=numbers) if len(findings) == 1
                     else tr("AnswerBubble", "findings {numbers}").format(numbers=numbers))
    return " · ".join(parts)


class AnswerBubble(QtWidgets.QFrame):
    """One answer: live text while it streams, then the Markdown answer; trace and copy below."""

    link = Signal(str, object)

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setObjectName("chatAnswer")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.view = MarkdownView(self)
        self.view.link.connect(self._link)
        layout.addWidget(self.view)
        bar = QtWidgets.QHBoxLayout()
        self.trace_button = QtWidgets.QToolButton(self)
        self.trace_button.setCheckable(True)
        self.trace_button.setArrowType(QtCore.Qt.RightArrow)
        self.trace_button.setToolButtonStyle(QtCore.Qt.ToolButtonTextBesideIcon)
        self.trace_button.setAutoRaise(True)
        self.trace_button.toggled.connect(self._toggle_trace)
        self.copy_button = QtWidgets.QToolButton(self)
        self.copy_button.setText(tr("AnswerBubble", "Copy"))
        self.copy_button.setToolTip(tr("AnswerBubble", "Copy the answer (Markdown) to the clipboard"))
        self.copy_button.setAutoRaise(True)
        self.copy_button.clicked.connect(self.copy)
        self.status = QtWidgets.QLabel(self)
        self.status.setStyleSheet("color: palette(mid);")
        # Wraps instead of widening the bubble past the dock (a long status pushed Copy off screen).
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(1)
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred)
        bar.addWidget(self.trace_button)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.copy_button)
        layout.addLayout(bar)
        self.trace = TraceView(self)
        self.trace.setVisible(False)
        layout.addWidget(self.trace)
        self.live = ""
        self.final = False
        self.findings: list[int] = []
        self._render = QtCore.QTimer(self)
        self._render.setSingleShot(True)
        self._render.setInterval(RENDER_INTERVAL_MS)
        self._render.timeout.connect(self._render_live)
        self._count = 0
        self._update_trace_button()
        self.copy_button.setEnabled(False)

    # --- streaming ------------------------------------------------------------

    def append_text(self, delta: str) -> None:
        self.live += delta
        if not self._render.isActive():
            self._render.start()

    def _render_live(self) -> None:
        if not self.final:
            self.view.set_markdown(self.live + " ▍")

    def clear_live(self) -> None:
        """The streamed text was the model's plan (it went on to call tools): it moves to the trace."""
        self.live = ""
        self._render.stop()
        self.view.set_markdown("")

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def add_trace_item(self, item: TraceItem) -> None:
        if item.kind == "plan":
            self.clear_live()
        self.trace.show_item(item)
        self._count = self.trace.topLevelItemCount()
        self._update_trace_button()

    def set_entry(self, entry: Entry) -> None:
        """The finished answer (also used when a saved conversation is shown again)."""
        self.final = True
        self._render.stop()
        self.findings = list(entry.findings)
        self.view.set_markdown(entry.text)
        if not self.trace.topLevelItemCount():
            for item in entry.trace:
                self.trace.show_item(item)
        self._count = self.trace.topLevelItemCount()
        self.status.setText(answer_summary(sum(1 for i in entry.trace if i.kind in ("tool", "cell")), entry.findings))
        self.copy_button.setEnabled(True)
        self._update_trace_button()

    def _update_trace_button(self) -> None:
        self.trace_button.setText(tr("AnswerBubble", "Trace ({n})").format(n=self._count))
        self.trace_button.setEnabled(self._count > 0)

    def _toggle_trace(self, shown: bool) -> None:
        self.trace_button.setArrowType(QtCore.Qt.DownArrow if shown else QtCore.Qt.RightArrow)
        self.trace.setVisible(shown)

    def copy(self) -> None:
        QtWidgets.QApplication.clipboard().setText(self.view.markdown)

    def _link(self, kind: str, value: Any) -> None:
        if kind == "finding" and self.findings and isinstance(value, int) and value <= len(self.findings):
            value = self.findings[value - 1]  # "finding 2" in this answer: its own second finding
        self.link.emit(kind, value)

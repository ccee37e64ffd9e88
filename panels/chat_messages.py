"""The bubbles of the chat: a question, an answer (Markdown, live text, trace, copy), an error.

Widgets only: they render what the controller reports and emit what the
user clicks; they never call the agent or FreeCAD.
"""

from __future__ import annotations

from typing import Any

from freecad_spatial.spatial_tools.chat.conversation import Entry
from freecad_spatial.spatial_tools.chat.links import linkify, parse_link
from freecad_spatial.spatial_tools.chat.trace_view import TraceItem

from .qt import QtCore, QtGui, QtWidgets, Signal

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
        doc = self.document().clone()
        doc.setTextWidth(max(50, width - 4))
        return int(doc.size().height()) + 6

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
        self.title = QtWidgets.QLabel(f"<b>{_escape(title)}</b>")
        self.message = QtWidgets.QLabel(_escape(message.splitlines()[0] if message else ""))
        self.action = QtWidgets.QLabel(_escape(action))
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
    """Each tool call (arguments, result summary, time) and code cell (code, output)."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["step", "details", "ms"])
        self.setRootIsDecorated(True)
        self.setWordWrap(True)
        self.setUniformRowHeights(False)
        self.setTextElideMode(QtCore.Qt.ElideRight)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.setMinimumWidth(1)
        self.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Fixed)
        header = self.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        # step: user-resizable, sized to its text up to half the width; details take the rest.
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.Interactive)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.Stretch)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeToContents)
        self._items: dict[str, Any] = {}

    def show_item(self, item: TraceItem) -> None:
        row = self._items.get(item.call_id)
        if row is None:
            row = QtWidgets.QTreeWidgetItem(self)
            self._items[item.call_id] = row
        row.takeChildren()
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        if item.kind == "plan":
            row.setText(0, "plan")
            row.setText(1, item.output)
        elif item.kind == "cell":
            row.setText(0, "code cell")
            row.setText(1, item.code.strip().splitlines()[0] if item.code.strip() else "")
            for label, text in (("code", item.code), ("output", item.output or "…")):
                child = QtWidgets.QTreeWidgetItem(row, [label, text])
                child.setFont(1, mono)
        else:
            row.setText(0, item.tool)
            row.setText(1, item.arguments)
            row.setFont(1, mono)
            child = QtWidgets.QTreeWidgetItem(row, ["result", item.output or "running…"])
            child.setFont(1, mono)
        state = "" if item.ok is None else ("✓ " if item.ok else "✗ ")
        row.setText(0, state + row.text(0))
        row.setText(2, "" if item.ms is None else f"{item.ms:.0f}")
        for node in [row, *(row.child(i) for i in range(row.childCount()))]:
            full = {"plan": item.output, "cell": item.code}.get(item.kind, item.arguments) if node is row else node.text(1)
            node.setToolTip(1, _tooltip(full))  # the whole text, wrapped, when the column cuts it
            node.setToolTip(0, node.text(0))
        self._fit_columns()
        self._fit()

    def _fit_columns(self) -> None:
        wanted = max([self.sizeHintForColumn(0), self.header().sectionSizeHint(0)]) + 8
        self.header().resizeSection(0, max(60, min(wanted, self.viewport().width() // 2 or wanted)))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit(self) -> None:
        rows = sum(1 + self.topLevelItem(i).childCount() * self.topLevelItem(i).isExpanded()
                   for i in range(self.topLevelItemCount()))
        self.setFixedHeight(min(320, 28 + 22 * max(1, rows)))

    def rows(self) -> list[list[str]]:
        """Every top-level row and child as text (for tests and copy)."""
        out = []
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            out.append([top.text(0), top.text(1), top.text(2)])
            out += [["  " + top.child(j).text(0), top.child(j).text(1), ""] for j in range(top.childCount())]
        return out


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
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the answer (Markdown) to the clipboard")
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
        tools = sum(1 for i in entry.trace if i.kind in ("tool", "cell"))
        found = f", {len(entry.findings)} finding(s) #{', #'.join(map(str, entry.findings))}" if entry.findings else ""
        self.status.setText(f"{tools} tool call(s){found}")
        self.copy_button.setEnabled(True)
        self._update_trace_button()

    def _update_trace_button(self) -> None:
        self.trace_button.setText(f"Trace ({self._count})")
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

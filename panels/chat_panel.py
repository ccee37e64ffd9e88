"""The chat panel widget: message list, context chip, input, send / stop / new conversation.

It renders what a ChatController reports and forwards what the user does;
reference and finding links leave as the ``link`` signal for whoever owns the
3D view (the FreeCAD dock). Enter sends, Shift+Enter makes a newline, Esc stops.
"""

from __future__ import annotations

from typing import Any

from freecad_spatial.spatial_tools.chat.advice import advice
from freecad_spatial.spatial_tools.chat.conversation import Conversation, Entry

from .chat_controller import ChatController
from .chat_messages import AnswerBubble, ErrorBubble, QuestionBubble
from .qt import QtCore, QtWidgets, Signal, tr


class ChatInput(QtWidgets.QPlainTextEdit):
    submit = Signal()
    stop = Signal()

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setPlaceholderText(tr("ChatInput", "Ask about the selection or the document…  (Enter sends, Shift+Enter: new line, Esc stops)"))
        self.setTabChangesFocus(True)
        self.setMaximumHeight(110)

    def keyPressEvent(self, event: Any) -> None:
        key = event.key()
        if key in (QtCore.Qt.Key_Return, QtCore.Qt.Key_Enter):
            if event.modifiers() & QtCore.Qt.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submit.emit()
            event.accept()
            return
        if key == QtCore.Qt.Key_Escape:
            self.stop.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class ContextChip(QtWidgets.QFrame):
    """What will be sent with the question: the selection and the context's token estimate."""

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setObjectName("contextChip")
        self.setStyleSheet("QFrame#contextChip { border: 1px solid palette(mid); border-radius: 10px; }")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 2, 2)
        self.label = QtWidgets.QLabel(self)
        self.label.setWordWrap(True)
        self.drop_button = QtWidgets.QToolButton(self)
        self.drop_button.setText("×")
        self.drop_button.setAutoRaise(True)
        self.drop_button.setToolTip(tr("ContextChip", "Do not send the selection with the next question"))
        self.drop_button.clicked.connect(self.drop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.drop_button)
        self.refs: list[str] = []
        self.tokens: int | None = None
        self.dropped = False
        self._render()

    def set_context(self, refs: list[str], tokens: int | None) -> None:
        """A new selection re-arms the chip (a dropped one comes back with the next selection)."""
        if refs != self.refs:
            self.dropped = False
        self.refs, self.tokens = list(refs), tokens
        self._render()

    def drop(self) -> None:
        self.dropped = True
        self._render()

    @property
    def sends_selection(self) -> bool:
        return bool(self.refs) and not self.dropped

    def _render(self) -> None:
        estimate = (tr("ContextChip", " · ~{tokens} tokens of context").format(tokens=f"{self.tokens:,}")
                    if self.tokens is not None else "")
        if not self.refs:
            self.label.setText(tr("ContextChip", "No selection: the document outline is sent") + estimate)
        elif self.dropped:
            self.label.setText(tr("ContextChip", "{refs} — selection not sent")
                               .format(refs=f"<s>{', '.join(self.refs)}</s>"))
        else:
            shown = ", ".join(self.refs[:4]) + (f" +{len(self.refs) - 4}" if len(self.refs) > 4 else "")
            self.label.setText(tr("ContextChip", "Sends {refs}").format(refs=f"<b>{shown}</b>") + estimate)
        self.drop_button.setVisible(bool(self.refs) and not self.dropped)


class ChatPanel(QtWidgets.QWidget):
    """Widgets only; ``controller`` does the work."""

    link = Signal(str, object)  # ("ref", "Plate.Face7") | ("finding", number)

    def __init__(self, controller: ChatController, parent: Any = None, banner: Any = None):
        super().__init__(parent)
        self.controller = controller
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.banner = banner
        if banner is not None:
            layout.addWidget(banner)
        self.scroll = QtWidgets.QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.messages = QtWidgets.QWidget()
        self.message_layout = QtWidgets.QVBoxLayout(self.messages)
        self.message_layout.setContentsMargins(2, 2, 2, 2)
        self.message_layout.addStretch(1)
        self.scroll.setWidget(self.messages)
        layout.addWidget(self.scroll, 1)
        self.chip = ContextChip(self)
        layout.addWidget(self.chip)
        self.input = ChatInput(self)
        layout.addWidget(self.input)
        buttons = QtWidgets.QHBoxLayout()
        self.new_button = QtWidgets.QPushButton(tr("ChatPanel", "New conversation"), self)
        self.stop_button = QtWidgets.QPushButton(tr("ChatPanel", "Stop"), self)
        self.send_button = QtWidgets.QPushButton(tr("ChatPanel", "Send"), self)
        self.send_button.setDefault(True)
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)
        layout.addLayout(buttons)
        self.current: AnswerBubble | None = None

        self.input.submit.connect(self.send)
        self.input.stop.connect(controller.stop)
        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(controller.stop)
        self.new_button.clicked.connect(controller.new_conversation)
        controller.started.connect(self._on_started)
        controller.text_delta.connect(self._on_delta)
        controller.status.connect(self._on_status)
        controller.trace_item.connect(self._on_trace_item)
        controller.answered.connect(self._on_answered)
        controller.failed.connect(self._on_failed)
        controller.busy_changed.connect(self._on_busy)
        controller.reset.connect(lambda: self.show_conversation(controller.conversation))
        self.show_conversation(controller.conversation)
        QtCore.QTimer.singleShot(0, self._warm_up)

    def _warm_up(self) -> None:
        """Builds and paints an answer bubble with a trace row once, off screen, when the panel opens:
        PySide6 makes each Qt enum type on first use (about 50 ms for an answer's widgets) and the first
        paint loads fonts, which would otherwise fall on the first question's event loop."""
        import importlib

        from freecad_spatial.spatial_tools.chat.trace_view import TraceItem

        # The modules the first question needs, imported now: on the GUI thread (the tier check reads the
        # document's markings; tools and the summary start there) and on the worker (the agent loop, the
        # backends, the cell kernel) — an import compiled there holds the GIL, and the GUI with it (65 ms).
        for name in ("classification", "tool_process", "tool_worker", "encoder", "registry", "tiers", "audit",
                     "agent.loop", "agent.cell_kernel", "backends.factory", "backends.openai_backend",
                     "backends.anthropic_backend"):
            try:
                importlib.import_module(f"freecad_spatial.spatial_tools.{name}")
            except ImportError:  # a package the assistant needs is missing: the banner says so
                pass
        from freecad_spatial.spatial_tools.classification import find_markings

        find_markings("warm up", "warm-up")
        bubble = AnswerBubble(None)
        bubble.append_text("warm **up** `Part.Face1`")
        bubble.add_trace_item(TraceItem(call_id="warm-up", kind="tool", tool="measure_distance", arguments="{}",
                                        output="{}", ok=True, ms=1.0))
        bubble.trace_button.setChecked(True)
        bubble.resize(max(self.width(), 300), 240)
        bubble.grab()  # laid out and painted once: fonts and glyph caches, off screen
        bubble.deleteLater()

    # --- user actions ---------------------------------------------------------------

    def send(self) -> None:
        question = self.input.toPlainText().strip()
        if not question or self.controller.busy:
            return
        if self.controller.ask(question, send_selection=self.chip.sends_selection):
            self.input.clear()

    # --- rendering -------------------------------------------------------------------

    def _add(self, widget: Any) -> Any:
        self.message_layout.insertWidget(self.message_layout.count() - 1, widget)
        QtCore.QTimer.singleShot(0, self._scroll_to_end)
        return widget

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _answer(self) -> AnswerBubble:
        bubble = AnswerBubble(self.messages)
        bubble.link.connect(self.link)
        bubble.trace_button.toggled.connect(lambda shown: shown and QtCore.QTimer.singleShot(
            0, lambda: self.scroll.ensureWidgetVisible(bubble.trace, 0, 0)))
        return self._add(bubble)

    def bubbles(self) -> list[Any]:
        return [self.message_layout.itemAt(i).widget() for i in range(self.message_layout.count() - 1)]

    def show_conversation(self, conversation: Conversation) -> None:
        for widget in self.bubbles():
            widget.setParent(None)
            widget.deleteLater()
        self.current = None
        for entry in conversation.entries:
            self._show_entry(entry)

    def _show_entry(self, entry: Entry) -> None:
        if entry.role == "user":
            self._add(QuestionBubble(entry.text, self.messages))
        elif entry.role == "error":
            self._add(ErrorBubble(entry.title, entry.text, advice(entry.stop_reason).action, self.messages))
        else:
            self._answer().set_entry(entry)

    def _on_started(self, question: str) -> None:
        self._add(QuestionBubble(question, self.messages))

    def _live(self) -> AnswerBubble:
        if self.current is None:
            self.current = self._answer()
        return self.current

    def _on_delta(self, text: str) -> None:
        self._live().append_text(text)
        bar = self.scroll.verticalScrollBar()
        if bar.value() >= bar.maximum() - 40:
            QtCore.QTimer.singleShot(0, self._scroll_to_end)

    def _on_status(self, text: str) -> None:
        self._live().set_status(text)

    def _on_trace_item(self, item: Any) -> None:
        self._live().add_trace_item(item)

    def _on_answered(self, entry: Entry) -> None:
        self._live().set_entry(entry)
        self.current = None
        QtCore.QTimer.singleShot(0, self._scroll_to_end)

    def _on_failed(self, kind: str, message: str, action: str) -> None:
        if self.current is not None and not self.current.live and not self.current.trace.topLevelItemCount():
            self.current.setParent(None)
            self.current.deleteLater()
        self.current = None
        if kind == "missing_dependency" and self.banner is not None:
            self.banner.refresh()  # the bubble's advice points at the banner: it must show what is missing
        self._add(ErrorBubble(advice(kind).title, message, action, self.messages))

    def _on_busy(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)
        if busy:
            self._live().set_status("thinking…")

"""The chat panel under pytest-qt (PySide6, offscreen) against the loopback protocol servers.

Real HTTP on 127.0.0.1 through the real OpenAI-compatible and Anthropic
backends, real tools on a real FreeCAD document (FreeCAD as a library), the
real controller and widgets; only the model's turns are scripted.
"""

from __future__ import annotations

import json
import os
import threading
import uuid

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import FreeCAD, Part  # noqa: E402
from conftest import call as REGISTRY_CALL  # noqa: E402, N812

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from freecad_spatial.panels.chat_controller import ChatConfig, ChatController  # noqa: E402
from freecad_spatial.panels.chat_host import DocumentHost  # noqa: E402
from freecad_spatial.panels.chat_messages import AnswerBubble, ErrorBubble, QuestionBubble  # noqa: E402
from freecad_spatial.panels.chat_panel import ChatPanel  # noqa: E402
from freecad_spatial.spatial_tools.agent.session import Settings  # noqa: E402
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer  # noqa: E402

TEST_KEY = f"sk-test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", TEST_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


@pytest.fixture
def part():
    """Box A (10 mm cube at the origin) and box B 17.5 mm above it."""
    doc = FreeCAD.newDocument(f"Chat{uuid.uuid4().hex[:6]}")
    doc.UndoMode = 1
    a = doc.addObject("Part::Feature", "A")
    a.Shape = Part.makeBox(10, 10, 10)
    b = doc.addObject("Part::Feature", "B")
    b.Shape = Part.makeBox(10, 10, 10)
    b.Placement.Base = FreeCAD.Vector(0, 0, 27.5)
    doc.recompute()
    yield doc
    FreeCAD.closeDocument(doc.Name)


class RecordingHost(DocumentHost):
    """A DocumentHost that records on which thread the document was touched."""

    def __init__(self, doc, selection=None):
        self.findings: list[tuple[str, list[dict]]] = []
        self.threads: list[str] = []
        self.encoded_with: list[list[dict]] = []
        super().__init__(lambda: doc, lambda: list(selection or []), on_findings=self._findings)

    def _findings(self, doc, findings):
        self.findings.append((doc.Name, findings))
        self.threads.append(threading.current_thread().name)

    # The document is touched where a call starts (the fork is its snapshot); the worker only waits.
    def start_tool(self, name, arguments, selection):
        self.threads.append(threading.current_thread().name)
        return super().start_tool(name, arguments, selection)

    def start_encode(self, selection, budget_tokens):
        self.threads.append(threading.current_thread().name)
        self.encoded_with.append(list(selection))
        return super().start_encode(selection, budget_tokens)


def make_panel(qtbot, host, server, *, provider="openai", tier="local", base_url=None, **settings):
    url = base_url or (f"{server.url}/v1" if provider == "openai" else server.url)

    def config():
        return ChatConfig(Settings.load({"backend": provider, "tier": tier, **settings}),
                          {"base_url": url, "model": "m", "max_attempts": 1, "read_s": 5})

    controller = ChatController(host, config, audit_path=os.environ["FREECAD_SPATIAL_AUDIT_LOG"])
    panel = ChatPanel(controller)
    qtbot.addWidget(panel)
    panel.resize(420, 700)
    panel.show()
    return controller, panel


def ask(qtbot, panel, question, timeout=15000):
    panel.input.setPlainText(question)
    with qtbot.waitSignal(panel.controller.busy_changed, timeout=timeout, check_params_cb=lambda busy: not busy):
        qtbot.keyClick(panel.input, QtCore.Qt.Key_Return)


def answers(panel):
    return [b for b in panel.bubbles() if isinstance(b, AnswerBubble)]


def errors(panel):
    return [b for b in panel.bubbles() if isinstance(b, ErrorBubble)]


# --- streaming and trace -------------------------------------------------------------------------------


def test_tokens_stream_into_the_answer_as_they_arrive(qtbot, part):
    text = "The part is **two boxes**, A below B, with a clear gap between them."
    host = RecordingHost(part)
    with ProtocolServer([{"text": text, "delay_s": 0.03, "text_chunk": 3}]) as server:
        controller, panel = make_panel(qtbot, host, server)
        seen: list[str] = []
        controller.text_delta.connect(seen.append)
        panel.input.setPlainText("What is this?")
        qtbot.keyClick(panel.input, QtCore.Qt.Key_Return)
        assert panel.input.toPlainText() == ""  # Enter sent it
        # Part of the answer is on screen while the stream is still running.
        qtbot.waitUntil(lambda: bool(answers(panel)) and 6 <= len(answers(panel)[0].live) < len(text), timeout=10000)
        assert controller.busy and panel.stop_button.isEnabled() and not panel.send_button.isEnabled()
        qtbot.waitUntil(lambda: "▍" in answers(panel)[0].view.toPlainText(), timeout=2000)
        qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    assert len(seen) > 5 and "".join(seen) == text
    bubble = answers(panel)[0]
    assert bubble.view.markdown == text and "▍" not in bubble.view.toPlainText()
    assert "<b>" in bubble.view.toHtml() or "font-weight:7" in bubble.view.toHtml()  # Markdown rendered
    assert isinstance(panel.bubbles()[0], QuestionBubble)
    bubble.copy()
    assert QtGui.QGuiApplication.clipboard().text() == text


def test_trace_shows_the_tool_call_and_the_real_measurement(qtbot, part):
    host = RecordingHost(part)
    script = [
        {"text": "Measuring the gap.", "tool_calls": [{"name": "measure_distance", "arguments": {"a": "A", "b": "B"}}]},
        {"text": "The gap between `A.Face6` and `B.Face5` is 17.5 mm."},
    ]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        ask(qtbot, panel, "How far apart are A and B?")
        requests = server.requests
    assert len(requests) == 2
    bubble = answers(panel)[0]
    rows = bubble.trace.rows()
    assert rows[0][0].endswith("plan") and rows[0][1] == "Measuring the gap."
    tool = next(r for r in rows if "measure_distance" in r[0])
    assert tool[0].startswith("✓") and '"a": "A"' in tool[1] and float(tool[2]) >= 0
    result = next(r for r in rows if r[0].strip() == "result")
    assert "17.5" in result[1]
    assert bubble.trace_button.text() == "Trace (2)" and not bubble.trace.isVisible()
    bubble.trace_button.click()
    assert bubble.trace.isVisible()
    # The tool and the encoder ran on the GUI thread, never on the worker.
    assert host.threads and set(host.threads) == {threading.main_thread().name}
    assert controller.bridge.calls >= 2
    assert "17.5 mm" in bubble.view.toPlainText()


def test_submitted_findings_reach_the_findings_hook_with_numbers(qtbot, part):
    host = RecordingHost(part)
    finding = {"rule": "gdt.clearance", "severity": "warning", "message": "Gap of 17.5 mm", "object": "A",
               "elements": ["Face6"], "measured": 17.5, "unit": "mm"}
    script = [{"tool_calls": [{"name": "submit_findings",
                               "arguments": {"answer": "One finding: see finding 1 on `A.Face6`.", "findings": [finding]}}]}]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        ask(qtbot, panel, "Check it")
    [(name, published)] = host.findings
    assert name == part.Name and len(published) == 1
    assert {k: published[0][k] for k in finding} == finding
    assert host.threads[-1] == threading.main_thread().name
    assert controller.conversation.findings == [{**published[0], "number": 1}]  # no document numbers here
    bubble = answers(panel)[0]
    assert bubble.findings == [1] and bubble.status.text() == "1 tool call · finding #1"
    with qtbot.waitSignal(panel.link) as signal:
        click_link(qtbot, bubble, "finding:1")
    assert signal.args == ["finding", 1]


def test_submitted_findings_take_the_documents_numbers_in_the_answer_and_its_links(qtbot, part):
    """The chat, the dock, the markers and the report use one number: the one the document gives."""
    from freecad_spatial.panels.chat_findings import publish_findings
    from freecad_spatial.spatial_tools.annotations.store import add_findings, read_findings
    from freecad_spatial.spatial_tools.dfm.finding import Finding

    earlier = Finding.from_dict({"rule": "cnc.deep_hole", "severity": "warning", "message": "Deep hole",
                                 "object": "A", "elements": ["Face1"]})
    add_findings(part, [earlier], process="cnc-3axis")  # finding 1 of the document, from a check
    host = DocumentHost(lambda: part, on_findings=publish_findings)
    finding = {"rule": "gdt.clearance", "severity": "warning", "message": "Gap of 17.5 mm", "object": "A",
               "elements": ["Face6"], "measured": 17.5, "unit": "mm"}
    answer = "The gap is 17.5 mm (finding 1 on `A.Face6`); `finding 1` in code stays."
    script = [{"tool_calls": [{"name": "submit_findings", "arguments": {"answer": answer, "findings": [finding]}}]}]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        ask(qtbot, panel, "Check it")
    numbers = {d["message"]: int(o.Number) for o, d in _objects_and_dicts(part)}
    assert numbers == {"Deep hole": 1, "Gap of 17.5 mm": 2}
    bubble = answers(panel)[0]
    assert bubble.findings == [2] and bubble.status.text() == "1 tool call · finding #2"
    assert "(finding 2 on `A.Face6`)" in bubble.view.markdown and "`finding 1` in code stays" in bubble.view.markdown
    assert controller.conversation.finding(2)["message"] == "Gap of 17.5 mm"
    assert controller.conversation.finding(1) is None  # the check's finding is not the chat's
    with qtbot.waitSignal(panel.link) as signal:
        click_link(qtbot, bubble, "finding:2")
    assert signal.args == ["finding", 2]
    assert len(read_findings(part)) == 2


def _objects_and_dicts(document):
    from freecad_spatial.spatial_tools.annotations import properties as P
    from freecad_spatial.spatial_tools.annotations.store import annotations

    return [(o, P.read_finding(o).to_dict()) for o in annotations(document, P.FINDING)]


# --- links -----------------------------------------------------------------------------------------------


def click_link(qtbot, bubble, href):
    """Clicks the anchor with ``href`` where the view draws it."""
    view = bubble.view
    doc = view.document()
    cursor = QtGui.QTextCursor(doc)
    for position in range(doc.characterCount() - 1):
        cursor.setPosition(position)
        cursor.setPosition(position + 1, QtGui.QTextCursor.KeepAnchor)
        if cursor.charFormat().anchorHref() == href:
            break
    else:
        raise AssertionError(f"no link {href} in {view.toHtml()}")
    cursor.setPosition(position + 1)
    rect = view.cursorRect(cursor)
    qtbot.mouseClick(view.viewport(), QtCore.Qt.LeftButton, pos=rect.center() - QtCore.QPoint(2, 0))


def test_references_in_the_answer_are_links_that_emit_the_selection(qtbot, part):
    host = RecordingHost(part)
    with ProtocolServer(["Look at `A.Face6`, and also B.Face5 (not `code`)."]) as server:
        controller, panel = make_panel(qtbot, host, server)
        ask(qtbot, panel, "Which faces?")
    bubble = answers(panel)[0]
    html = bubble.view.toHtml()
    assert 'href="ref:A.Face6"' in html and 'href="ref:B.Face5"' in html and 'href="ref:code"' not in html
    with qtbot.waitSignal(panel.link) as signal:
        click_link(qtbot, bubble, "ref:B.Face5")
    assert signal.args == ["ref", "B.Face5"]


# --- stop, keys, context chip -------------------------------------------------------------------------


def test_stop_ends_a_slow_stream_quickly_and_esc_stops_too(qtbot, part):
    host = RecordingHost(part)
    slow = {"text": "word " * 400, "delay_s": 0.05, "text_chunk": 5}
    with ProtocolServer([slow, slow]) as server:
        controller, panel = make_panel(qtbot, host, server)
        panel.input.setPlainText("Talk")
        qtbot.keyClick(panel.input, QtCore.Qt.Key_Return)
        qtbot.waitUntil(lambda: bool(answers(panel) and answers(panel)[0].live), timeout=10000)
        with qtbot.waitSignal(controller.busy_changed, timeout=3000):
            panel.stop_button.click()
        first = answers(panel)[0]
        assert first.view.markdown == "*Stopped.*" and controller.conversation.entries[-1].stop_reason == "cancelled"
        # Esc in the input stops as well.
        panel.input.setPlainText("Again")
        qtbot.keyClick(panel.input, QtCore.Qt.Key_Return)
        qtbot.waitUntil(lambda: bool(len(answers(panel)) == 2 and answers(panel)[1].live), timeout=10000)
        with qtbot.waitSignal(controller.busy_changed, timeout=3000):
            qtbot.keyClick(panel.input, QtCore.Qt.Key_Escape)
    assert not controller.busy and panel.send_button.isEnabled()
    assert controller.conversation.entries[-1].stop_reason == "cancelled"


def test_shift_enter_makes_a_newline_and_does_not_send(qtbot, part):
    controller, panel = make_panel(qtbot, RecordingHost(part), None, base_url="http://127.0.0.1:9/v1")
    panel.input.setPlainText("line one")
    panel.input.moveCursor(QtGui.QTextCursor.End)
    qtbot.keyClick(panel.input, QtCore.Qt.Key_Return, QtCore.Qt.ShiftModifier)
    qtbot.keyClicks(panel.input, "line two")
    assert panel.input.toPlainText() == "line one\nline two" and not controller.busy and panel.bubbles() == []


def test_context_chip_shows_the_selection_and_can_be_dropped(qtbot, part):
    selection = [{"ref": "A.Face6", "picked_point": None}]
    host = RecordingHost(part, selection)
    with ProtocolServer(["ok", "ok"]) as server:
        controller, panel = make_panel(qtbot, host, server)
        panel.chip.set_context(["A.Face6"], 412)
        assert "A.Face6" in panel.chip.label.text() and "412 tokens" in panel.chip.label.text()
        ask(qtbot, panel, "with selection")
        assert host.encoded_with[-1] == selection
        panel.chip.drop_button.click()
        assert not panel.chip.sends_selection and "not sent" in panel.chip.label.text()
        ask(qtbot, panel, "without selection")
        assert host.encoded_with[-1] == []
        panel.chip.set_context(["B.Face5"], 300)  # a new selection re-arms the chip
        assert panel.chip.sends_selection


# --- errors ------------------------------------------------------------------------------------------------


def test_refused_by_tier_renders_and_sends_nothing(qtbot, part):
    with ProtocolServer(["never"]) as server:
        controller, panel = make_panel(qtbot, RecordingHost(part), server, tier="local",
                                       base_url="http://10.255.0.1:8000/v1")
        ask(qtbot, panel, "q")
        assert server.requests == []
    error = errors(panel)[0]
    assert "Refused by the deployment tier" in error.text() and "10.255.0.1" in error.text()


def test_export_controlled_document_refuses_a_cloud_endpoint(qtbot, part):
    part.getObject("A").Label = "Bracket (ITAR)"
    with ProtocolServer(["never"]) as server:
        controller, panel = make_panel(qtbot, RecordingHost(part), server, provider="anthropic", tier="cloud",
                                       base_url="https://api.anthropic.com")
        ask(qtbot, panel, "q")
        assert server.requests == []
    assert "export-controlled" in errors(panel)[0].text()


def test_server_down_renders_what_to_do(qtbot, part):
    controller, panel = make_panel(qtbot, RecordingHost(part), None, base_url="http://127.0.0.1:9/v1")
    ask(qtbot, panel, "q")
    text = errors(panel)[0].text()
    assert "cannot be reached" in text and "base URL" in text and TEST_KEY not in text


def test_rate_limited_renders_with_advice(qtbot, part):
    with ProtocolServer([{"fault": {"kind": "rate_limit", "retry_after": 0}}]) as server:
        controller, panel = make_panel(qtbot, RecordingHost(part), server)
        ask(qtbot, panel, "q")
    text = errors(panel)[0].text()
    assert "Rate limited" in text and "Wait" in text


def test_missing_key_renders_with_advice(qtbot, part, monkeypatch):
    from freecad_spatial.spatial_tools.backends import keys

    monkeypatch.delenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setattr(keys, "key_source", lambda provider: None)
    with ProtocolServer(["never"]) as server:
        controller, panel = make_panel(qtbot, RecordingHost(part), server, provider="anthropic", tier="cloud")
        ask(qtbot, panel, "q")
        assert server.requests == []
    assert "No API key is set" in errors(panel)[0].text()


def test_new_conversation_clears_the_panel(qtbot, part):
    with ProtocolServer(["first"]) as server:
        controller, panel = make_panel(qtbot, RecordingHost(part), server)
        ask(qtbot, panel, "q")
    assert len(panel.bubbles()) == 2 and controller.session.messages
    panel.new_button.click()
    qtbot.waitUntil(lambda: panel.bubbles() == [], timeout=2000)
    assert controller.conversation.entries == [] and controller.session.messages == []


# --- code cells in the trace, and the layout in a narrow dock -------------------------------------------


def test_trace_shows_each_code_cell_with_its_code_and_output(qtbot, part):
    host = RecordingHost(part)
    code = ("gap = tools.measure_distance(a='A', b='B')['distance']\n"
            "print('gap between A and B:', round(gap, 3))\n"
            "round(gap, 3)")
    bad = "undefined_name + 1"
    script = [
        {"tool_calls": [{"name": "run_python", "arguments": {"code": code}}]},
        {"tool_calls": [{"name": "run_python", "arguments": {"code": bad}}]},
        {"text": "The gap is 17.5 mm."},
    ]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        ask(qtbot, panel, "Measure the gap with a cell")
    assert not errors(panel)
    bubble = answers(panel)[0]
    rows = bubble.trace.rows()
    cells = [i for i, r in enumerate(rows) if r[0].endswith("code cell")]
    assert len(cells) == 2, rows
    first, second = cells
    assert rows[first][0].startswith("✓") and rows[first][1] == code.splitlines()[0] and float(rows[first][2]) >= 0
    assert rows[first + 1] == ["  code", code, ""]
    assert rows[first + 2][0] == "  output" and "gap between A and B: 17.5" in rows[first + 2][1]
    assert "→ 17.5" in rows[first + 2][1]
    assert rows[second][0].startswith("✗") and rows[second + 1][1] == bad
    assert "error" in rows[second + 2][1] and "undefined_name" in rows[second + 2][1]
    # The cell's tool call ran on the GUI thread through the bridge; the full code is in the tooltip.
    assert set(host.threads) == {threading.main_thread().name}
    top = bubble.trace.topLevelItem(0)
    assert "print(" in top.toolTip(1) and "round(gap, 3)" in top.toolTip(1)
    assert "Trace (2)" == bubble.trace_button.text() and bubble.status.text() == "2 tool calls"


def test_long_question_and_trace_fit_the_dock_width(qtbot, part):
    host = RecordingHost(part)
    question = ("How wide is the bracket at the selected face, measured between the two end faces, "
                "and is that within the drawing's general tolerance?")
    finding = {"rule": "cnc.part_width", "severity": "info", "message": "Overall width", "object": "A",
               "elements": ["Face1", "Face2"], "measured": 10.0, "unit": "mm"}
    script = [
        {"tool_calls": [{"name": "measure_distance", "arguments": {"a": "A.Face1", "b": "A.Face2"}}]},
        {"tool_calls": [{"name": "submit_findings", "arguments": {
            "answer": "A is **10 mm** wide between `A.Face1` and `A.Face2` (see finding 1).", "findings": [finding]}}]},
    ]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        panel.resize(330, 700)
        ask(qtbot, panel, question)
    bubble = answers(panel)[0]
    bubble.trace_button.click()
    qtbot.wait(100)
    viewport = panel.scroll.viewport().width()
    assert panel.messages.width() <= viewport, (panel.messages.width(), viewport)
    question_bubble = panel.bubbles()[0]
    assert question_bubble.geometry().right() <= viewport and question_bubble.height() > 2 * question_bubble.fontMetrics().height()
    copy = bubble.copy_button.mapTo(panel.messages, bubble.copy_button.rect().bottomRight())
    assert copy.x() <= viewport, "Copy is pushed off the dock"
    trace = bubble.trace
    header = trace.header()
    assert sum(header.sectionSize(i) for i in range(3)) <= trace.viewport().width() + 1
    assert header.sectionSize(1) >= trace.viewport().width() // 3  # details get the room
    row = next(trace.topLevelItem(i) for i in range(trace.topLevelItemCount())
               if "measure_distance" in trace.topLevelItem(i).text(0))
    assert '"a": "A.Face1"' in row.toolTip(1) and '"distance"' in row.child(1).toolTip(1)


# --- status, trace details, the summary line ---------------------------------------------------------------


def test_the_status_follows_the_steps_and_never_lags_behind_the_stream(qtbot, part):
    host = RecordingHost(part)
    answer = "The gap between `A.Face6` and `B.Face5` is 17.5 mm, measured with the kernel. " * 3
    script = [
        {"text": "Measuring the gap.", "tool_calls": [{"name": "measure_distance", "arguments": {"a": "A", "b": "B"}}]},
        {"text": answer, "delay_s": 0.02, "text_chunk": 4},
    ]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        statuses: list[str] = []
        controller.status.connect(statuses.append)
        panel.input.setPlainText("How far apart are A and B?")
        qtbot.keyClick(panel.input, QtCore.Qt.Key_Return)
        # The answer streams after the tool ran: the status says so, not "running measure_distance…".
        qtbot.waitUntil(lambda: bool(answers(panel)) and "17.5" in answers(panel)[0].live, timeout=10000)
        during = answers(panel)[0].status.text()
        qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    assert during == "writing…", during
    tool = statuses.index("running measure_distance…")
    assert statuses[tool + 1] == "measure_distance done; thinking…" and statuses[tool + 2] == "writing…", statuses
    assert answers(panel)[0].status.text() == "1 tool call"


def test_trace_rows_expand_to_the_full_arguments_and_result_and_copy_them(qtbot, part):
    host = RecordingHost(part)
    arguments = {"path": "", "depth": 3, "check_validity": True}
    script = [{"tool_calls": [{"name": "query_feature_tree", "arguments": arguments}]}, {"text": "Two boxes."}]
    with ProtocolServer(script) as server:
        controller, panel = make_panel(qtbot, host, server)
        panel.resize(330, 700)
        ask(qtbot, panel, "What is in the document?")
    bubble = answers(panel)[0]
    bubble.trace_button.click()
    trace = bubble.trace
    row = next(trace.topLevelItem(i) for i in range(trace.topLevelItemCount())
               if "query_feature_tree" in trace.topLevelItem(i).text(0))
    real = REGISTRY_CALL(part, "query_feature_tree", arguments)["result"]
    labels = [row.child(i).text(0) for i in range(row.childCount())]
    assert labels == ["arguments", "result"]
    assert json.loads(row.child(0).text(1)) == arguments
    shown = row.child(1).text(1)
    assert len(shown) > 400 and "…" not in shown  # in full, not cut to a summary
    assert json.loads(shown) == real
    qtbot.waitUntil(lambda: trace.height() > 0, timeout=1000)
    collapsed = trace.height()
    row.setExpanded(True)
    qtbot.waitUntil(lambda: trace.height() > collapsed, timeout=2000)  # the tree grows with the details
    assert trace.visualItemRect(row.child(1)).height() > 3 * trace.fontMetrics().height()  # wrapped, many lines
    # Copy: the selected detail in full (Ctrl+C or the context menu's action), and the whole trace.
    QtGui.QGuiApplication.clipboard().clear()
    trace.setCurrentItem(row.child(1))
    panel.activateWindow()
    trace.setFocus()
    qtbot.keyClick(trace, QtCore.Qt.Key_C, QtCore.Qt.ControlModifier)
    assert json.loads(QtGui.QGuiApplication.clipboard().text()) == real
    trace.setCurrentItem(row)
    trace.copy_action.trigger()
    copied = QtGui.QGuiApplication.clipboard().text()
    assert copied.startswith("query_feature_tree {") and '"check_validity": true' in copied and shown in copied
    trace.copy_all_action.trigger()
    assert shown in QtGui.QGuiApplication.clipboard().text()


def test_the_summary_line_reads_as_english():
    from freecad_spatial.panels.chat_messages import answer_summary

    assert answer_summary(0, []) == ""
    assert answer_summary(1, []) == "1 tool call"
    assert answer_summary(2, [1]) == "2 tool calls · finding #1"
    assert answer_summary(3, [4, 5]) == "3 tool calls · findings #4, #5"

"""Every string a user sees in the panels goes through Qt's translation mechanism (issue 14, point 11).

A workbench translation is a QTranslator FreeCAD installs in the application;
here a real QTranslator subclass marks every string it is asked for
(«text»). Each panel is built with it installed (pytest-qt, PySide6,
offscreen) and every visible text — labels, buttons, group titles, check
boxes, tabs, placeholders, tooltips, window titles — must come back marked.
Texts that are data, not interface (tool ids, file paths, numbers, what the
user typed or the model wrote), are named where they are allowed.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import REGISTRY, FreeCAD, Part  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

MARK = re.compile(r"«[^«»]*»")


class Marking(QtCore.QTranslator):
    """Answers every lookup with the source text between « and », and records the contexts asked."""

    def __init__(self):
        super().__init__()
        self.contexts: set[str] = set()

    def translate(self, context, source, disambiguation=None, n=-1):
        self.contexts.add(context)
        return f"«{source}»" if source else source

    def isEmpty(self):
        return False


@pytest.fixture
def marking(qtbot):
    translator = Marking()
    app = QtWidgets.QApplication.instance()
    assert app.installTranslator(translator)
    yield translator
    app.removeTranslator(translator)


def untranslated(widget, allowed=()) -> list[str]:
    """Visible interface texts of ``widget`` and its children that did not pass through the translator."""
    found = []

    def check(where: str, text: str) -> None:
        text = (text or "").strip()
        if not re.search(r"[A-Za-z]{2}", text):  # numbers, symbols, "…"
            return
        rest = MARK.sub("", text)
        if re.search(r"[A-Za-z]{2}", rest) and not any(re.fullmatch(a, text) for a in allowed):
            found.append(f"{where}: {text!r}")

    for child in [widget, *widget.findChildren(QtWidgets.QWidget)]:
        kind = type(child).__name__
        if not child.isVisibleTo(widget) and child is not widget:
            continue
        if isinstance(child, (QtWidgets.QLabel, QtWidgets.QAbstractButton)):
            check(kind, child.text())
        if isinstance(child, QtWidgets.QGroupBox):
            check(kind, child.title())
        if isinstance(child, QtWidgets.QLineEdit | QtWidgets.QPlainTextEdit | QtWidgets.QTextEdit):
            check(kind + " placeholder", child.placeholderText())
        if isinstance(child, QtWidgets.QTabWidget):
            for i in range(child.count()):
                check("tab", child.tabText(i))
        check(kind + " tooltip", child.toolTip())
    check("window title", widget.windowTitle())
    return found


def test_the_chat_panel(qtbot, marking):
    from freecad_spatial.panels.chat_controller import ChatConfig, ChatController
    from freecad_spatial.panels.chat_host import DocumentHost
    from freecad_spatial.panels.chat_panel import ChatPanel
    from freecad_spatial.spatial_tools.agent.session import Settings

    controller = ChatController(DocumentHost(lambda: None),
                                lambda: ChatConfig(Settings.load({"backend": "openai", "tier": "local"}), {}))
    panel = ChatPanel(controller)
    qtbot.addWidget(panel)
    panel.show()
    assert untranslated(panel) == []
    assert "ChatPanel" in marking.contexts or any("Chat" in c for c in marking.contexts)


def test_the_preferences_page(qtbot, marking, tmp_path):
    from freecad_spatial.panels.preferences_page import PreferencesForm

    doc = FreeCAD.newDocument("Translated")
    try:
        form = PreferencesForm(document=lambda: doc, audit_path=str(tmp_path / "audit.jsonl"))
        qtbot.addWidget(form)
        form.show()
        # Tool names are shown as their readable titles (data of tools.toml, translated too); the
        # model id and the tool id appear in tooltips as they are.
        assert untranslated(form, allowed=[r".*\b[a-z]+(_[a-z]+)+\b.*", r"https?://\S+", r"claude-[\w.-]+"]) == []
    finally:
        FreeCAD.closeDocument(doc.Name)


def test_the_tools_dialog(qtbot, marking):
    from freecad_spatial.panels.tools_dialog import ToolsDialog

    dialog = ToolsDialog(REGISTRY.specs())
    qtbot.addWidget(dialog)
    dialog.show()
    assert untranslated(dialog) == []


def test_the_check_task_panel(qtbot, marking):
    from freecad_spatial.panels.check_panel import CheckTaskPanel
    from freecad_spatial.spatial_tools.dfm.profiles import processes

    doc = FreeCAD.newDocument("TranslatedCheck")
    try:
        box = doc.addObject("Part::Feature", "Box")
        box.Shape = Part.makeBox(10, 10, 10)
        panel = CheckTaskPanel(doc, processes(), [("Box", "Box")], ["Box"], start=lambda job: None)
        qtbot.addWidget(panel.form)
        panel.form.show()
        assert untranslated(panel.form, allowed=[r"Box"]) == []
    finally:
        FreeCAD.closeDocument(doc.Name)


def test_the_dependency_banner(qtbot, marking, tmp_path):
    from freecad_spatial.panels.dependencies import DependencyBanner

    banner = DependencyBanner(find_missing=lambda: ["anthropic", "httpx"], target=lambda: str(tmp_path))
    qtbot.addWidget(banner)
    banner.show()
    assert untranslated(banner, allowed=[r".*\b(anthropic|httpx)\b.*"]) == []


def test_error_advice_is_translated_and_the_message_kept(qtbot, marking):
    from freecad_spatial.panels.chat_messages import ErrorBubble
    from freecad_spatial.spatial_tools.chat.advice import advice

    entry = advice("no_key")
    bubble = ErrorBubble(entry.title, "no Anthropic API key in the environment", entry.action)
    qtbot.addWidget(bubble)
    bubble.show()
    assert untranslated(bubble, allowed=[r"no Anthropic API key in the environment"]) == []
    assert f"«{entry.title}»" in bubble.text()


def test_the_findings_dock(qtbot, marking):
    from freecad_spatial.panels.findings_dock import FindingsDock
    from freecad_spatial.spatial_tools.annotations.store import add_findings
    from freecad_spatial.spatial_tools.dfm.finding import Finding

    doc = FreeCAD.newDocument("TranslatedFindings")
    try:
        box = doc.addObject("Part::Feature", "Box")
        box.Shape = Part.makeBox(10, 10, 10)
        doc.recompute()
        add_findings(doc, [Finding.from_dict({"rule": "cnc.deep_hole", "severity": "warning", "message": "Deep hole",
                                              "object": "Box", "elements": ["Face1"]})], process="cnc-3axis")
        FreeCAD.setActiveDocument(doc.Name)
        dock = FindingsDock()
        qtbot.addWidget(dock.widget)
        dock.widget.show()
        dock.refresh()
        headers = [dock.table.horizontalHeaderItem(i).text() for i in range(dock.table.columnCount())]
        assert all(MARK.fullmatch(h) or not re.search(r"[A-Za-z]{2}", h) for h in headers), headers
        assert untranslated(dock.widget) == []
    finally:
        FreeCAD.closeDocument(doc.Name)


def test_the_suggest_gdt_dialog(qtbot, marking):
    from conftest import BRACKET

    from freecad_spatial.panels.suggest_gdt_dialog import SuggestGdtDialog
    from freecad_spatial.spatial_tools.gdt.suggest import suggest

    doc = FreeCAD.openDocument(str(BRACKET))
    try:
        dialog = SuggestGdtDialog(suggest(doc, None))
    finally:
        FreeCAD.closeDocument(doc.Name)
    qtbot.addWidget(dialog.dialog)
    dialog.dialog.show()
    assert untranslated(dialog.dialog) == []

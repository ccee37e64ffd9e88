"""The preference page widget under pytest-qt (PySide6, offscreen): load → edit → save, the key in the
keyring only, Test connection against the loopback protocol server and against a dead port."""

from __future__ import annotations

import os
import socket
import uuid

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import FreeCAD, Part  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
keyring = pytest.importorskip("keyring")

import tomllib  # noqa: E402

from conftest import REPO  # noqa: E402
from key_leak import FileKeyring, make_test_key  # noqa: E402
from keyring.backends import fail as failing_keyring  # noqa: E402
from PySide6 import QtCore  # noqa: E402

from freecad_spatial.panels import preferences  # noqa: E402
from freecad_spatial.panels.preferences import AssistantPreferences, chat_config  # noqa: E402
from freecad_spatial.panels.preferences_page import PreferencePage, PreferencesForm  # noqa: E402
from freecad_spatial.spatial_tools.backends import keys  # noqa: E402
from freecad_spatial.spatial_tools.classification import META_KEY, classify  # noqa: E402
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer  # noqa: E402

KEY = make_test_key("prefs-page")
ENV = [name for provider in ("anthropic", "openai") for name in keys.env_names(provider)]


@pytest.fixture
def params(monkeypatch):
    """A private parameter group per test (FreeCAD's real ParamGet), removed afterwards."""
    group = f"User parameter:BaseApp/Preferences/Mod/FreeCADSpatialTest/P{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(preferences, "GROUP", group)
    yield FreeCAD.ParamGet(group)
    parent, _, name = group.rpartition("/")
    FreeCAD.ParamGet(parent).RemGroup(name)


@pytest.fixture(autouse=True)
def pool_drained():
    """Every Test-connection worker has finished before the next test (and before shutdown)."""
    yield
    QtCore.QThreadPool.globalInstance().waitForDone(30000)


@pytest.fixture
def file_keyring(tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(monkeypatch):
    """A machine with the keyring package but no usable backend (keyring's own ``fail`` backend:
    every call raises NoKeyringError), as on a desktop without a Secret Service."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(failing_keyring.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_session_keys():
    yield
    for provider in ("anthropic", "openai"):
        keys.forget_session_key(provider)


@pytest.fixture
def doc():
    document = FreeCAD.newDocument(f"Prefs{uuid.uuid4().hex[:6]}")
    document.UndoMode = 1
    box = document.addObject("Part::Feature", "Plate")
    box.Shape = Part.makeBox(10, 10, 2)
    document.recompute()
    yield document
    FreeCAD.closeDocument(document.Name)


def make_form(qtbot, doc=None, audit=None):
    form = PreferencesForm(document=lambda: doc, audit_path=audit)
    qtbot.addWidget(form)
    form.resize(560, 900)
    form.show()
    form.load()
    return form


def all_parameters(group) -> dict:
    p = FreeCAD.ParamGet(group)
    out = {}
    for kind, getter in (("String", p.GetString), ("Int", p.GetInt)):  # a key could only be text
        for name in getattr(p, f"Get{kind}s")():
            out[name] = getter(name)
    return out


def test_load_edit_save_puts_settings_in_parameters_and_the_key_in_the_keyring(qtbot, params, file_keyring, doc):
    form = make_form(qtbot, doc)
    defaults = AssistantPreferences.load()
    assert form.tier.currentText() == defaults.tier and form.api_key.text() == ""
    assert form.api_key.echoMode() == form.api_key.EchoMode.Password
    assert "No key set" in form.key_source.text()
    raw = [form.tools.item(i) for i in range(form.tools.count()) if "raw geometry" in form.tools.item(i).text()]
    assert {i.data(QtCore.Qt.UserRole) for i in raw} >= {"measure_distance", "find_features"}

    form.tier.setCurrentText("private")
    form.backend.setCurrentIndex(form.backend.findData("openai"))
    form.base_url.setText(" http://vllm.example.internal:8000/v1 ")
    form.model.setText("qwen-cad")
    form.api_key.setText(KEY)
    form.step_budget.setValue(7)
    form.context_budget.setValue(90000)
    next(i for i in raw if i.data(QtCore.Qt.UserRole) == "measure_distance").setCheckState(QtCore.Qt.Unchecked)
    form.classification.setCurrentText("proprietary")
    PreferencePage.saveSettings(type("P", (), {"form": form})())  # what FreeCAD calls on OK

    saved = AssistantPreferences.load()
    assert (saved.tier, saved.backend, saved.base_url, saved.model) == (
        "private", "openai", "http://vllm.example.internal:8000/v1", "qwen-cad")
    assert (saved.step_budget, saved.context_budget_tokens) == (7, 90000)
    assert saved.cloud_disabled_tools == ("measure_distance",) and saved.allow_raw_geometry
    # The key is in the keyring, under the documented service, and nowhere in the parameters.
    assert file_keyring.get_password("freecad-spatial", "openai") == KEY
    assert keys.get_key("openai").reveal() == KEY
    assert all(KEY not in str(v) for v in all_parameters(preferences.GROUP).values())
    assert form.api_key.text() == "" and "OS keyring" in form.key_source.text()
    assert "OS keyring" in form.api_key.placeholderText()
    # The classification is in the document's Meta (saved with the file).
    assert doc.Meta[META_KEY] == "proprietary" and classify(doc).level == "proprietary"

    # A fresh page shows what was saved, never the key itself.
    again = make_form(qtbot, doc)
    assert again.tier.currentText() == "private" and again.provider() == "openai"
    assert again.base_url.text() == "http://vllm.example.internal:8000/v1" and again.model.text() == "qwen-cad"
    assert again.step_budget.value() == 7 and again.context_budget.value() == 90000
    assert again.disabled_tools() == ("measure_distance",) and again.api_key.text() == ""
    # The chat uses them: the cloud tier does not offer the turned-off tool.
    config = chat_config()
    assert config.settings.tier == "private" and config.overrides == {
        "base_url": "http://vllm.example.internal:8000/v1", "model": "qwen-cad"}
    assert config.cloud_disabled_tools == frozenset({"measure_distance"})


def test_turning_off_every_raw_geometry_tool_clears_allow_raw_geometry(qtbot, params, file_keyring):
    form = make_form(qtbot)
    form.raw_off.click()
    form.save()
    saved = AssistantPreferences.load()
    assert not saved.allow_raw_geometry and "measure_distance" in saved.cloud_disabled_tools
    assert not form.classification.isEnabled() and "No document" in form.classification_note.text()


def test_markings_show_the_raised_classification(qtbot, params, file_keyring, doc):
    doc.getObject("Plate").Label = "Plate ITAR"
    form = make_form(qtbot, doc)
    assert form.classification.currentText() == "unrestricted"
    assert "export-controlled" in form.classification_note.text()


def test_test_connection_succeeds_against_the_protocol_server_off_the_gui_thread(qtbot, params, file_keyring,
                                                                                tmp_path):
    audit = tmp_path / "audit.jsonl"
    with ProtocolServer(["ok"]) as server:
        form = make_form(qtbot, audit=str(audit))
        form.tier.setCurrentText("local")
        form.backend.setCurrentIndex(form.backend.findData("openai"))
        form.base_url.setText(server.url + "/v1")
        form.model.setText("scripted")
        form.api_key.setText(KEY)  # typed, not yet saved: used for the test, stored by nobody
        with qtbot.waitSignal(form.connection_tested, timeout=15000) as signal:
            form.test_button.click()
            assert form.testing and not form.test_button.isEnabled() and "Testing" in form.test_result.text()
        requests = server.requests
    result = signal.args[0]
    assert result.ok, result
    assert form.test_result.text().startswith("✓ Connected") and "127.0.0.1" in form.test_result.text()
    assert form.test_button.isEnabled() and len(requests) == 1 and requests[0].auth_present
    assert requests[0].body["model"] == "scripted"
    assert file_keyring.get_password("freecad-spatial", "openai") is None
    assert KEY not in form.test_result.text() and KEY not in audit.read_text()
    assert "127.0.0.1" in audit.read_text()


def test_test_connection_to_a_dead_port_says_so_clearly(qtbot, params, file_keyring):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    form = make_form(qtbot)
    form.tier.setCurrentText("local")
    form.backend.setCurrentIndex(form.backend.findData("openai"))
    form.base_url.setText(f"http://127.0.0.1:{port}/v1")
    form.model.setText("scripted")
    with qtbot.waitSignal(form.connection_tested, timeout=30000) as signal:
        form.test_button.click()
    assert not signal.args[0].ok and signal.args[0].kind == "connection_failed"
    text = form.test_result.text()
    assert text.startswith("✗") and "cannot be reached" in text and "base URL" in text


def test_test_connection_is_refused_by_the_tier_before_anything_is_sent(qtbot, params, file_keyring):
    with ProtocolServer(["never"]) as server:
        form = make_form(qtbot)
        form.tier.setCurrentText("local")
        form.backend.setCurrentIndex(form.backend.findData("anthropic"))
        form.base_url.setText("https://api.anthropic.com")
        with qtbot.waitSignal(form.connection_tested, timeout=15000) as signal:
            form.test_button.click()
        assert server.requests == []
    assert signal.args[0].kind == "tier_refused" and "Refused by the deployment tier" in form.test_result.text()


# --- issue 14.1: a key typed where no keyring is usable is never silently lost -----------------------


def test_without_a_usable_keyring_the_page_says_so_and_keeps_the_key_for_the_session(qtbot, params, no_keyring):
    form = make_form(qtbot)
    # Said on the page before OK, not after the dialog closed.
    assert form.keyring_warning.isVisible()
    assert "NoKeyringError" in form.keyring_warning.text() and "session only" in form.keyring_warning.text()
    assert form.session_only.isChecked() and not form.session_only.isEnabled()
    assert form.api_key.isEnabled() and "No key set" in form.key_source.text()
    form.api_key.setText(KEY)
    assert "OK keeps the typed key in memory for this session only" in form.key_source.text()
    PreferencePage.saveSettings(type("P", (), {"form": form})())
    # The question after OK finds it: the chat controller's check and the backend factory's lookup.
    assert keys.key_source("anthropic") == keys.SESSION
    assert keys.get_key("anthropic").reveal() == KEY
    assert form.api_key.text() == "" and "for this FreeCAD session only" in form.key_source.text()
    assert "session" in form.api_key.placeholderText() and form.forget_key.isEnabled()
    assert all(KEY not in str(v) for v in all_parameters(preferences.GROUP).values())
    # A fresh page (Preferences opened again) tells the same truth; Forget drops it.
    again = make_form(qtbot)
    assert "for this FreeCAD session only" in again.key_source.text()
    again.forget_key.click()
    assert keys.key_source("anthropic") is None and "No key set" in again.key_source.text()


def test_the_key_line_tells_where_the_key_comes_from(qtbot, params, file_keyring, monkeypatch):
    form = make_form(qtbot)
    assert not form.keyring_warning.isVisible() and form.session_only.isEnabled()
    assert not form.session_only.isChecked()
    # The OS keyring.
    keys.set_key("anthropic", KEY)
    form.load()
    assert "OS keyring" in form.key_source.text() and "OS keyring" in form.api_key.placeholderText()
    # Session only, by choice, where a keyring works: nothing is written to it.
    form.backend.setCurrentIndex(form.backend.findData("openai"))
    form.session_only.setChecked(True)
    form.api_key.setText(KEY)
    form.save()
    assert file_keyring.get_password("freecad-spatial", "openai") is None
    assert keys.key_source("openai") == keys.SESSION and "session only" in form.key_source.text()
    # An environment variable: never called "stored".
    monkeypatch.setenv("ANTHROPIC_API_KEY", make_test_key("env"))
    form.backend.setCurrentIndex(form.backend.findData("anthropic"))
    placeholder = form.api_key.placeholderText()
    assert "stored" not in placeholder and "ANTHROPIC_API_KEY" in placeholder
    assert "environment variable <b>ANTHROPIC_API_KEY</b>" in form.key_source.text()
    assert not form.forget_key.isEnabled() or keys.key_source("anthropic").startswith("environment")


def test_a_keyring_that_fails_on_save_still_keeps_the_key_and_says_so(qtbot, params, file_keyring):
    form = make_form(qtbot)
    keyring.set_keyring(failing_keyring.Keyring())  # gone between opening the page and OK
    form.api_key.setText(KEY)
    form.save()
    assert keys.get_key("anthropic").reveal() == KEY and keys.key_source("anthropic") == keys.SESSION
    assert form.keyring_warning.isVisible() and "for this FreeCAD session only" in form.key_source.text()


# --- issue 14.8: the page explains itself ------------------------------------------------------------


def toml(path: str) -> dict:
    with open(REPO / "resources" / path, "rb") as fh:
        return tomllib.load(fh)


def test_every_field_has_a_tooltip_and_whats_this_from_the_resources(qtbot, params, file_keyring):
    from PySide6 import QtWidgets

    form = make_form(qtbot)
    kinds = (QtWidgets.QComboBox, QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QAbstractButton,
             QtWidgets.QListWidget)
    # Every input on the page (not the line edits inside spin and combo boxes, nor the scroll bars' buttons).
    fields = [w for w in form.findChildren(QtWidgets.QWidget) if isinstance(w, kinds)
              and not isinstance(w.parentWidget(), (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox))]
    assert len(fields) >= 13
    bare = [(type(w).__name__, w.objectName() or getattr(w, "text", lambda: "")()) for w in fields
            if not w.toolTip().strip() or len(w.whatsThis().strip()) < 40]
    assert bare == []
    texts = toml("preferences.toml")["fields"]
    assert form.step_budget.whatsThis() == texts["step_budget"]["whats_this"]
    assert form.session_only.toolTip() == texts["session_only"]["tooltip"]


def test_the_tiers_and_budgets_are_explained(qtbot, params, file_keyring, doc):
    explanation = toml("tiers.toml")["explanation"]
    form = make_form(qtbot, doc)
    for tier in ("cloud", "private", "local"):
        form.tier.setCurrentText(tier)
        assert form.tier_note.text().startswith(explanation[tier])
    assert "internet" in explanation["cloud"] and "this computer" in explanation["local"]
    notes = toml("preferences.toml")["notes"]
    assert form.step_note.text() == notes["step_budget"] and form.context_note.text() == notes["context_budget"]
    # What the document's classification does to the tier, said where the tier is chosen.
    form.tier.setCurrentText("cloud")
    form.classification.setCurrentText("export-controlled")
    assert "use the local tier" in form.tier_note.text()


def test_tools_are_listed_by_readable_names(qtbot, params, file_keyring):
    titles = {name: entry["title"] for name, entry in toml("prompts/tools.toml")["tools"].items()}
    form = make_form(qtbot)
    items = [form.tools.item(i) for i in range(form.tools.count())]
    assert len(items) == len(titles)
    for item in items:
        name = item.data(QtCore.Qt.ItemDataRole.UserRole)
        assert item.text().startswith(titles[name]) and "_" not in item.text() and item.text() != name
        assert f"Tool: {name}" in item.toolTip()
    assert any(item.text() == "Measure distance   — returns raw geometry" for item in items)


def test_the_document_classification_comes_before_budgets_and_tools(qtbot, params, file_keyring, doc):
    form = make_form(qtbot, doc)
    content = form.scroll.widget()

    def top(widget) -> int:
        return widget.mapTo(content, QtCore.QPoint(0, 0)).y()

    assert top(form.classification) < top(form.backend) < top(form.step_budget) < top(form.tools)

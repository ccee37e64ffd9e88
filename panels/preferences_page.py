"""Edit → Preferences → Spatial: the assistant's settings, the API key, and the active document's class.

``PreferencesForm`` is the widget (tested under PySide6 with pytest-qt);
``PreferencePage`` is what ``FreeCADGui.addPreferencePage(PreferencePage,
"Spatial")`` instantiates: FreeCAD 0.20+ takes a Python class whose instance
has a ``form`` widget and ``loadSettings`` / ``saveSettings`` methods.

Settings go to FreeCAD parameters through preferences.AssistantPreferences;
the key goes to the OS keyring only (spatial_tools.backends.keys) and is
never read back into the widget: the field stays empty and masked, its
placeholder says where the stored key comes from, and text typed there
replaces the stored key on save. Test connection runs off the GUI thread
(QThreadPool) with the values on the page, held to the tier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .preferences import AssistantPreferences
from .qt import QtCore, QtWidgets, Signal, Slot

OBJECT_NAME = "FreeCADSpatialPreferences"
BACKENDS = (("anthropic", "Anthropic"), ("openai", "OpenAI-compatible (vLLM, …)"))
ALWAYS_ON = "The model can always submit findings and, where installed, run checked code cells."


def _tiers() -> list[str]:
    from freecad_spatial.spatial_tools.tiers import tiers

    return tiers()


def _classifications() -> list[str]:
    from freecad_spatial.spatial_tools.tiers import classifications

    return classifications()


def _active_document() -> Any:
    import FreeCAD

    return FreeCAD.ActiveDocument


def _tool_specs() -> list[Any]:
    from freecad_spatial.spatial_tools.registry import load_builtin_tools

    return load_builtin_tools().specs()


class _Relay(QtCore.QObject):
    done = Signal(object)


class _ConnectionRun(QtCore.QRunnable):
    def __init__(self, relay: _Relay, job: Callable[[], Any]):
        super().__init__()
        self.setAutoDelete(True)
        self.relay, self.job = relay, job

    def run(self) -> None:
        from freecad_spatial.spatial_tools.chat.connection import ConnectionResult

        try:
            result = self.job()
        except Exception as exc:  # shown on the page; never a silent pass
            result = ConnectionResult(False, "internal", f"The test failed unexpectedly: {type(exc).__name__}: {exc}")
        self.relay.done.emit(result)


class PreferencesForm(QtWidgets.QWidget):
    """The widgets of the page; ``load`` fills them, ``save`` writes parameters, keyring and document."""

    connection_tested = Signal(object)  # ConnectionResult

    def __init__(self, parent: Any = None, *, document: Callable[[], Any] = _active_document,
                 tool_specs: Callable[[], list[Any]] = _tool_specs, pool: Any = None,
                 audit_path: str | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.setWindowTitle("Assistant")
        self._document, self._tool_specs = document, tool_specs
        self.pool = pool or QtCore.QThreadPool.globalInstance()
        self.audit_path = audit_path
        self._relay = _Relay(self)
        self._relay.done.connect(self._tested)
        self.testing = False
        # Scrolls rather than squeezing the groups when the Preferences dialog is small.
        scroll = QtWidgets.QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        content = QtWidgets.QWidget(scroll)
        scroll.setWidget(content)
        QtWidgets.QVBoxLayout(self).addWidget(scroll)
        self.layout().setContentsMargins(0, 0, 0, 0)
        outer = QtWidgets.QVBoxLayout(content)

        model = QtWidgets.QGroupBox("Model", self)
        form = QtWidgets.QFormLayout(model)
        self.tier = QtWidgets.QComboBox(model)
        self.tier.addItems(_tiers())
        self.tier.setToolTip("cloud: any endpoint · private: your organisation's network · local: loopback only. "
                             "A document's classification can require a stricter tier.")
        self.backend = QtWidgets.QComboBox(model)
        for value, label in BACKENDS:
            self.backend.addItem(label, value)
        self.base_url = QtWidgets.QLineEdit(model)
        self.base_url.setPlaceholderText("the provider's default")
        self.model = QtWidgets.QLineEdit(model)
        self.model.setPlaceholderText("the provider's default")
        self.api_key = QtWidgets.QLineEdit(model)
        self.api_key.setEchoMode(QtWidgets.QLineEdit.Password)
        self.api_key.setObjectName("apiKey")
        self.key_source = QtWidgets.QLabel(model)
        self.key_source.setWordWrap(True)
        self.forget_key = QtWidgets.QPushButton("Forget stored key", model)
        self.forget_key.clicked.connect(self._forget_key)
        key_row = QtWidgets.QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.forget_key)
        self.test_button = QtWidgets.QPushButton("Test connection", model)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QtWidgets.QLabel(model)
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        test_row = QtWidgets.QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow("Deployment tier", self.tier)
        form.addRow("Backend", self.backend)
        form.addRow("Base URL", self.base_url)
        form.addRow("Model", self.model)
        form.addRow("API key", key_row)
        form.addRow("", self.key_source)
        form.addRow(test_row)
        outer.addWidget(model)

        budgets = QtWidgets.QGroupBox("Budgets", self)
        form = QtWidgets.QFormLayout(budgets)
        self.step_budget = QtWidgets.QSpinBox(budgets)
        self.step_budget.setRange(1, 200)
        self.step_budget.setSuffix(" steps")
        self.context_budget = QtWidgets.QSpinBox(budgets)
        self.context_budget.setRange(1000, 2_000_000)
        self.context_budget.setSingleStep(1000)
        self.context_budget.setSuffix(" tokens")
        form.addRow("Step budget per question", self.step_budget)
        form.addRow("Context budget", self.context_budget)
        outer.addWidget(budgets)

        tools = QtWidgets.QGroupBox("Tools offered to the model in the cloud tier", self)
        box = QtWidgets.QVBoxLayout(tools)
        self.tools = QtWidgets.QListWidget(tools)
        self.tools.setMinimumHeight(130)
        self.raw_off = QtWidgets.QPushButton("Turn off tools that return raw geometry", tools)
        self.raw_off.clicked.connect(self._raw_geometry_off)
        note = QtWidgets.QLabel("Private and local tiers keep every tool: their results never leave your network. "
                                + ALWAYS_ON, tools)
        note.setWordWrap(True)
        box.addWidget(self.tools)
        box.addWidget(self.raw_off, 0, QtCore.Qt.AlignLeft)
        box.addWidget(note)
        outer.addWidget(tools)

        document = QtWidgets.QGroupBox("Active document", self)
        form = QtWidgets.QFormLayout(document)
        self.classification = QtWidgets.QComboBox(document)
        self.classification.addItems(_classifications())
        self.classification_note = QtWidgets.QLabel(document)
        self.classification_note.setWordWrap(True)
        form.addRow("Classification", self.classification)
        form.addRow("", self.classification_note)
        outer.addWidget(document)
        outer.addStretch(1)

        self.backend.currentIndexChanged.connect(self._show_key_source)
        self._raw: set[str] = set()
        self._doc: Any = None
        self._stored_class = ""

    # --- values ---------------------------------------------------------------------

    def provider(self) -> str:
        return str(self.backend.currentData())

    def disabled_tools(self) -> tuple[str, ...]:
        return tuple(sorted(self.tools.item(i).data(QtCore.Qt.UserRole) for i in range(self.tools.count())
                            if self.tools.item(i).checkState() != QtCore.Qt.Checked))

    def load(self) -> None:
        prefs = AssistantPreferences.load()
        self.tier.setCurrentIndex(max(0, self.tier.findText(prefs.tier)))
        self.backend.setCurrentIndex(max(0, self.backend.findData(prefs.backend)))
        self.base_url.setText(prefs.base_url)
        self.model.setText(prefs.model)
        self.api_key.clear()
        self.step_budget.setValue(prefs.step_budget)
        self.context_budget.setValue(prefs.context_budget_tokens)
        self.tools.clear()
        self._raw = set()
        disabled = set(prefs.cloud_disabled_tools)
        if not prefs.allow_raw_geometry:  # set elsewhere (older settings): every raw-geometry tool is off
            disabled |= {s.name for s in self._tool_specs() if s.raw_geometry}
        for spec in self._tool_specs():
            raw = bool(getattr(spec, "raw_geometry", False))
            item = QtWidgets.QListWidgetItem(spec.name + ("   — returns raw geometry" if raw else ""), self.tools)
            item.setData(QtCore.Qt.UserRole, spec.name)
            item.setFlags(item.flags() | QtCore.Qt.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.Unchecked if spec.name in disabled else QtCore.Qt.Checked)
            item.setToolTip(spec.description.strip().splitlines()[0] if spec.description else spec.name)
            if raw:
                self._raw.add(spec.name)
        self._show_key_source()
        self._load_classification()

    def save(self) -> None:
        """Parameters, then the key (keyring), then the document's classification (undoable)."""
        prefs = AssistantPreferences.load()
        disabled = self.disabled_tools()
        prefs.tier = self.tier.currentText()
        prefs.backend = self.provider()
        prefs.base_url = self.base_url.text().strip()
        prefs.model = self.model.text().strip()
        prefs.step_budget = self.step_budget.value()
        prefs.context_budget_tokens = self.context_budget.value()
        if prefs.document_budget_tokens >= prefs.context_budget_tokens:
            prefs.document_budget_tokens = max(1, prefs.context_budget_tokens // 4)
        prefs.cloud_disabled_tools = disabled
        prefs.allow_raw_geometry = not (self._raw and self._raw <= set(disabled))
        prefs.save()
        typed = self.api_key.text().strip()
        if typed:
            from freecad_spatial.spatial_tools.backends import errors, keys

            try:
                keys.set_key(self.provider(), typed)
            except errors.KeyringUnavailable as exc:
                self.key_source.setText(f"<b>The key was not stored:</b> {exc}")
            else:
                self.api_key.clear()
                self._show_key_source()
        doc = self._doc
        level = self.classification.currentText()
        if doc is not None and self.classification.isEnabled() and level != self._stored_class:
            from freecad_spatial.spatial_tools.classification import set_classification

            set_classification(doc, level)
            self._load_classification()

    # --- key ------------------------------------------------------------------------

    def _show_key_source(self, *_: Any) -> None:
        from freecad_spatial.spatial_tools.backends import keys

        provider = self.provider()
        try:
            source = keys.key_source(provider)
        except Exception as exc:  # e.g. an unknown provider: the page still opens
            source, error = None, f"{type(exc).__name__}: {exc}"
        else:
            error = ""
        try:
            import keyring  # noqa: F401
        except ImportError:
            self.api_key.setEnabled(False)
            self.api_key.setPlaceholderText("the keyring package is missing (see the chat panel's Install)")
            self.key_source.setText(f"Without <b>keyring</b> a key can only come from "
                                    f"{' or '.join(keys.env_names(provider))}." + (f" ({error})" if error else ""))
            self.forget_key.setEnabled(False)
            return
        self.api_key.setEnabled(True)
        stored = source == "OS keyring"
        self.api_key.setPlaceholderText("•••••••• stored — type to replace" if source else "paste your API key")
        self.forget_key.setEnabled(stored)
        if source:
            self.key_source.setText(f"Key in use: from the {source}. Keys are never kept in FreeCAD's parameters.")
        else:
            optional = " (an OpenAI-compatible server may need none)" if provider == "openai" else ""
            self.key_source.setText(f"No key stored for {provider}{optional}. It will be kept in the OS keyring.")

    def _forget_key(self) -> None:
        from freecad_spatial.spatial_tools.backends import errors, keys

        try:
            keys.delete_key(self.provider())
        except errors.KeyringUnavailable as exc:
            self.key_source.setText(str(exc))
            return
        self._show_key_source()

    # --- tools and document -----------------------------------------------------------

    def _raw_geometry_off(self) -> None:
        for i in range(self.tools.count()):
            item = self.tools.item(i)
            if item.data(QtCore.Qt.UserRole) in self._raw:
                item.setCheckState(QtCore.Qt.Unchecked)

    def _load_classification(self) -> None:
        from freecad_spatial.spatial_tools.classification import classify

        self._doc = doc = self._document()
        if doc is None:
            self.classification.setEnabled(False)
            self.classification_note.setText("No document is open: the classification is set per document.")
            self._stored_class = ""
            return
        result = classify(doc, extra_names=[getattr(doc, "FileName", "") or ""])
        self._stored_class = result.stored
        self.classification.setEnabled(True)
        self.classification.setCurrentIndex(max(0, self.classification.findText(result.stored)))
        note = f"Stored in “{doc.Label}” (saved with the file)."
        if result.raised:
            found = ", ".join(sorted({f"{m.name} in {m.where}" for m in result.markings}))
            note += f" Markings raise it to <b>{result.level}</b>: {found}. Lowering below that has no effect."
        self.classification_note.setText(note)

    # --- test connection --------------------------------------------------------------

    def test_connection(self) -> None:
        """Runs one minimal request with the values on the page, in a worker thread."""
        if self.testing:
            return
        from freecad_spatial.spatial_tools.chat.connection import check_connection

        doc = self._document()
        classification = "unrestricted"
        if doc is not None:
            from freecad_spatial.spatial_tools.classification import classify

            classification = classify(doc, extra_names=[getattr(doc, "FileName", "") or ""]).level
        prefs = AssistantPreferences.load()
        provider, tier, key = self.provider(), self.tier.currentText(), self.api_key.text().strip() or None
        overrides = {"base_url": self.base_url.text().strip(), "model": self.model.text().strip()}
        suffixes, audit = tuple(prefs.private_host_suffixes), self.audit_path

        def job() -> Any:
            return check_connection(provider, overrides, user_tier=tier, classification=classification,
                                    host_suffixes=suffixes, api_key=key, audit_path=audit)

        self.testing = True
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Testing…")
        self.pool.start(_ConnectionRun(self._relay, job))

    @Slot(object)
    def _tested(self, result: Any) -> None:
        self.testing = False
        self.test_button.setEnabled(True)
        self.test_result.setStyleSheet("color: #1e7b34;" if result.ok else "color: #b03a2e;")
        self.test_result.setText(("✓ " if result.ok else "✗ ") + result.message)
        self.connection_tested.emit(result)


class PreferencePage:
    """FreeCAD's Python preference page: ``form``, ``loadSettings``, ``saveSettings``."""

    def __init__(self, parent: Any = None):
        self.form = PreferencesForm(parent)

    def loadSettings(self) -> None:  # noqa: N802 - FreeCAD's names
        self.form.load()

    def saveSettings(self) -> None:  # noqa: N802 - FreeCAD's names
        self.form.save()

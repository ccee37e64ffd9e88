"""Edit → Preferences → Spatial: the assistant's settings, the API key, and the active document's class.

``PreferencesForm`` is the widget (tested under PySide6 with pytest-qt);
``PreferencePage`` is what ``FreeCADGui.addPreferencePage(PreferencePage,
"Spatial")`` instantiates: FreeCAD 0.20+ takes a Python class whose instance
has a ``form`` widget and ``loadSettings`` / ``saveSettings`` methods.

Settings go to FreeCAD parameters through preferences.AssistantPreferences;
the key goes to the OS keyring, or, where none is usable or the user asks,
into memory for this session (spatial_tools.backends.keys). It is never read
back into the widget: the field stays empty and masked, and the line under it
says where the key in use comes from (environment variable, keyring, session)
and, while text is typed, where OK will put it. FreeCAD closes the dialog on
OK without asking the page, so everything that would surprise the user (no
keyring here) is said on the page before. Test connection runs off the GUI
thread (QThreadPool) with the values on the page, held to the tier.

The explanations (tooltips, What's This, the tier and budget notes) are data:
resources/preferences.toml, tiers.toml ``[explanation]``, and the tools'
readable ``title`` in prompts/tools.toml.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from .preferences import AssistantPreferences
from .qt import QtCore, QtWidgets, Signal, Slot, tr

OBJECT_NAME = "FreeCADSpatialPreferences"
CONTEXT = "PreferencesForm"  # the translation context of the page's texts
TEXTS_FILE = RESOURCES / "preferences.toml"
TOOLS_FILE = RESOURCES / "prompts" / "tools.toml"
TIERS_FILE = RESOURCES / "tiers.toml"
BACKENDS = (("anthropic", "Anthropic"), ("openai", "OpenAI-compatible (vLLM, …)"))
VISION = (("auto", "By model name (vision models only)"), ("on", "On: send renders of the part"),
          ("off", "Off: never send images"))
ALWAYS_ON = "The model can always submit findings and, where installed, run checked code cells."
WARNING_STYLE = ("QFrame#keyringWarningFrame { background: #fff4e0; border: 1px solid #d4a017; border-radius: 4px; }"
                 " QLabel { color: #5a3d00; }")


def _t(text: str) -> str:
    return tr(CONTEXT, text)


@cache
def _toml(path: Any) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def page_texts() -> dict:
    """resources/preferences.toml: ``fields.<name>.tooltip/whats_this`` and ``notes``."""
    return _toml(TEXTS_FILE)


def tier_explanation(tier: str) -> str:
    """What the tier sends where (tiers.toml ``[explanation]``)."""
    return _toml(TIERS_FILE).get("explanation", {}).get(tier, "")


def tool_title(name: str) -> str:
    """The readable name of a tool (prompts/tools.toml ``title``); its id when it has none."""
    return _toml(TOOLS_FILE).get("tools", {}).get(name, {}).get("title") or name


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


def _report_warning(text: str) -> None:
    import sys

    freecad = sys.modules.get("FreeCAD")
    if freecad is not None and hasattr(freecad, "Console"):
        freecad.Console.PrintWarning(f"FreeCAD Spatial: {text}\n")


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
            result = ConnectionResult(False, "internal", _t("The test failed unexpectedly: {error}").format(
                error=f"{type(exc).__name__}: {exc}"))
        self.relay.done.emit(result)


class _Rows:
    """Label | field rows on a QGridLayout (a QFormLayout gives wrapped notes the height of a narrower
    column: blank lines above and below them)."""

    def __init__(self, parent: Any, labels: dict):
        self.grid = QtWidgets.QGridLayout(parent)
        self.grid.setColumnStretch(1, 1)
        self.grid.setVerticalSpacing(8)
        self.parent, self.labels, self.count = parent, labels, 0

    def add(self, label: str, field: Any = None) -> None:
        """``field`` beside ``label``; a row of only ``label`` (a widget or layout) spans both columns."""
        row, self.count = self.count, self.count + 1
        if field is None:
            add = self.grid.addLayout if isinstance(label, QtWidgets.QLayout) else self.grid.addWidget
            add(label, row, 0, 1, 2)
            return
        add = self.grid.addLayout if isinstance(field, QtWidgets.QLayout) else self.grid.addWidget
        add(field, row, 1)
        if label:
            text = QtWidgets.QLabel(label, self.parent)
            self.grid.addWidget(text, row, 0, QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
            self.labels[id(field)] = text


class PreferencesForm(QtWidgets.QWidget):
    """The widgets of the page; ``load`` fills them, ``save`` writes parameters, the key and the document."""

    connection_tested = Signal(object)  # ConnectionResult

    def __init__(self, parent: Any = None, *, document: Callable[[], Any] = _active_document,
                 tool_specs: Callable[[], list[Any]] = _tool_specs, pool: Any = None,
                 audit_path: str | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.setWindowTitle(_t("Assistant"))
        self._document, self._tool_specs = document, tool_specs
        self.pool = pool or QtCore.QThreadPool.globalInstance()
        self.audit_path = audit_path
        self._relay = _Relay(self)
        self._relay.done.connect(self._tested)
        self.testing = False
        self.keyring_problem: str | None = None  # why no key can be stored in the OS keyring here
        self._labels: dict[int, Any] = {}  # id(field) -> its row's label
        # Scrolls rather than squeezing the groups when the Preferences dialog is small.
        self.scroll = scroll = QtWidgets.QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content = QtWidgets.QWidget(scroll)
        scroll.setWidget(content)
        QtWidgets.QVBoxLayout(self).addWidget(scroll)
        self.layout().setContentsMargins(0, 0, 0, 0)
        outer = QtWidgets.QVBoxLayout(content)

        # Where questions may go, and what the open document requires: first, where it is seen.
        where = QtWidgets.QGroupBox(_t("Where questions go"), self)
        form = _Rows(where, self._labels)
        self.tier = QtWidgets.QComboBox(where)
        self.tier.addItems(_tiers())
        self.tier_note = self._note(where)
        self.tier_note.setObjectName("tierNote")
        self.classification = QtWidgets.QComboBox(where)
        self.classification.addItems(_classifications())
        self.classification_note = self._note(where)
        form.add(_t("Deployment tier"), self.tier)
        form.add("", self.tier_note)
        form.add(_t("Document classification"), self.classification)
        form.add("", self.classification_note)
        outer.addWidget(where)

        model = QtWidgets.QGroupBox(_t("Model"), self)
        form = _Rows(model, self._labels)
        self.backend = QtWidgets.QComboBox(model)
        for value, label in BACKENDS:
            self.backend.addItem(_t(label), value)
        self.base_url = QtWidgets.QLineEdit(model)
        self.base_url.setPlaceholderText(_t("the provider's default"))
        self.model = QtWidgets.QLineEdit(model)
        self.model.setPlaceholderText(_t("the provider's default"))
        self.vision = QtWidgets.QComboBox(model)
        for value, label in VISION:
            self.vision.addItem(_t(label), value)
        self.api_key = QtWidgets.QLineEdit(model)
        self.api_key.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.api_key.setObjectName("apiKey")
        self.forget_key = QtWidgets.QPushButton(_t("Forget key"), model)
        self.forget_key.clicked.connect(self._forget_key)
        key_row = QtWidgets.QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.forget_key)
        self._key_row = key_row
        self.session_only = QtWidgets.QCheckBox(_t("Keep for this FreeCAD session only (in memory, never written)"),
                                                model)
        # A framed note: a styled QLabel of its own gets a wrong height for wrapped text in a form row.
        self.keyring_frame = QtWidgets.QFrame(model)
        self.keyring_frame.setObjectName("keyringWarningFrame")
        self.keyring_frame.setStyleSheet(WARNING_STYLE)
        self.keyring_warning = self._note(self.keyring_frame)
        self.keyring_warning.setObjectName("keyringWarning")
        frame_layout = QtWidgets.QVBoxLayout(self.keyring_frame)
        frame_layout.setContentsMargins(6, 4, 6, 4)
        frame_layout.addWidget(self.keyring_warning)
        self.keyring_frame.setVisible(False)
        self.key_source = self._note(model)
        self.key_source.setObjectName("keySource")
        self.test_button = QtWidgets.QPushButton(_t("Test connection"), model)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QtWidgets.QLabel(model)
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QtWidgets.QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.add(_t("Backend"), self.backend)
        form.add(_t("Base URL"), self.base_url)
        form.add(_t("Model"), self.model)
        form.add(_t("Images to the model"), self.vision)
        form.add(_t("API key"), key_row)
        form.add("", self.keyring_frame)
        form.add("", self.session_only)
        form.add("", self.key_source)
        form.add(test_row)
        outer.addWidget(model)

        budgets = QtWidgets.QGroupBox(_t("Budgets per question"), self)
        form = _Rows(budgets, self._labels)
        self.step_budget = QtWidgets.QSpinBox(budgets)
        self.step_budget.setRange(1, 200)
        self.step_budget.setSuffix(_t(" steps"))
        self.context_budget = QtWidgets.QSpinBox(budgets)
        self.context_budget.setRange(1000, 2_000_000)
        self.context_budget.setSingleStep(1000)
        self.context_budget.setSuffix(_t(" tokens"))
        notes = page_texts().get("notes", {})
        self.step_note = self._note(budgets, _t(notes.get("step_budget", "")))
        self.context_note = self._note(budgets, _t(notes.get("context_budget", "")))
        form.add(_t("Step budget"), self.step_budget)
        form.add("", self.step_note)
        form.add(_t("Context budget"), self.context_budget)
        form.add("", self.context_note)
        outer.addWidget(budgets)

        tools = QtWidgets.QGroupBox(_t("Tools offered to the model in the cloud tier"), self)
        box = QtWidgets.QVBoxLayout(tools)
        self.tools = QtWidgets.QListWidget(tools)
        self.tools.setMinimumHeight(130)
        self.raw_off = QtWidgets.QPushButton(_t("Turn off tools that return raw geometry"), tools)
        self.raw_off.clicked.connect(self._raw_geometry_off)
        note = self._note(tools, _t("Private and local tiers keep every tool: their results never leave your network. ")
                          + _t(ALWAYS_ON))
        box.addWidget(self.tools)
        box.addWidget(self.raw_off, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        box.addWidget(note)
        outer.addWidget(tools)
        outer.addStretch(1)

        self._explain_fields()
        self.backend.currentIndexChanged.connect(self._show_key_source)
        self.api_key.textChanged.connect(self._show_key_source)
        self.session_only.toggled.connect(self._show_key_source)
        self.tier.currentIndexChanged.connect(self._show_tier)
        self.classification.currentIndexChanged.connect(self._show_tier)
        self._raw: set[str] = set()
        self._doc: Any = None
        self._stored_class = ""
        self._raised_class = ""  # what the document's markings raise it to ("" when they do not)

    @staticmethod
    def _note(parent: Any, text: str = "") -> Any:
        label = QtWidgets.QLabel(text, parent)
        label.setWordWrap(True)
        return label

    def _explain_fields(self) -> None:
        """Tooltip and What's This of every field (and its row label), from resources/preferences.toml."""
        fields = page_texts().get("fields", {})
        for name, texts in fields.items():
            widget = getattr(self, name)
            tip, more = _t(texts["tooltip"]), _t(texts["whats_this"])
            widget.setToolTip(tip)
            widget.setWhatsThis(more)
            label = self._labels.get(id(self._key_row if widget is self.api_key else widget))
            if label is not None:
                label.setToolTip(tip)
                label.setWhatsThis(more)

    # --- values ---------------------------------------------------------------------

    def provider(self) -> str:
        return str(self.backend.currentData())

    def disabled_tools(self) -> tuple[str, ...]:
        role = QtCore.Qt.ItemDataRole.UserRole
        return tuple(sorted(self.tools.item(i).data(role) for i in range(self.tools.count())
                            if self.tools.item(i).checkState() != QtCore.Qt.CheckState.Checked))

    def load(self) -> None:
        from freecad_spatial.spatial_tools.backends import keys

        prefs = AssistantPreferences.load()
        self.tier.setCurrentIndex(max(0, self.tier.findText(prefs.tier)))
        self.backend.setCurrentIndex(max(0, self.backend.findData(prefs.backend)))
        self.base_url.setText(prefs.base_url)
        self.model.setText(prefs.model)
        self.vision.setCurrentIndex(max(0, self.vision.findData(prefs.vision)))
        self.api_key.clear()
        self.step_budget.setValue(prefs.step_budget)
        self.context_budget.setValue(prefs.context_budget_tokens)
        self.tools.clear()
        self._raw = set()
        disabled = set(prefs.cloud_disabled_tools)
        if not prefs.allow_raw_geometry:  # set elsewhere (older settings): every raw-geometry tool is off
            disabled |= {s.name for s in self._tool_specs() if s.raw_geometry}
        role = QtCore.Qt.ItemDataRole.UserRole
        for spec in sorted(self._tool_specs(), key=lambda s: _t(tool_title(s.name)).casefold()):
            raw = bool(getattr(spec, "raw_geometry", False))
            text = _t(tool_title(spec.name)) + (_t("   — returns raw geometry") if raw else "")
            item = QtWidgets.QListWidgetItem(text, self.tools)
            item.setData(role, spec.name)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Unchecked if spec.name in disabled
                               else QtCore.Qt.CheckState.Checked)
            summary = spec.description.strip().splitlines()[0] if spec.description else ""
            item.setToolTip(f"{summary}\n\n" + _t("Tool: {name}").format(name=spec.name) if summary else spec.name)
            if raw:
                self._raw.add(spec.name)
        self.keyring_problem = keys.keyring_problem()
        self.session_only.setChecked(self.keyring_problem is not None)
        self._show_key_source()
        self._load_classification()

    def save(self) -> None:
        """Parameters, then the key (keyring or session), then the document's classification (undoable)."""
        prefs = AssistantPreferences.load()
        disabled = self.disabled_tools()
        prefs.tier = self.tier.currentText()
        prefs.backend = self.provider()
        prefs.base_url = self.base_url.text().strip()
        prefs.model = self.model.text().strip()
        prefs.vision = str(self.vision.currentData())
        prefs.step_budget = self.step_budget.value()
        prefs.context_budget_tokens = self.context_budget.value()
        if prefs.document_budget_tokens >= prefs.context_budget_tokens:
            prefs.document_budget_tokens = max(1, prefs.context_budget_tokens // 4)
        prefs.cloud_disabled_tools = disabled
        prefs.allow_raw_geometry = not (self._raw and self._raw <= set(disabled))
        prefs.save()
        typed = self.api_key.text().strip()
        if typed:
            self._keep_key(typed)
        doc = self._doc
        level = self.classification.currentText()
        if doc is not None and self.classification.isEnabled() and level != self._stored_class:
            from freecad_spatial.spatial_tools.classification import set_classification

            set_classification(doc, level)
            self._load_classification()

    # --- key ------------------------------------------------------------------------

    def _keep_key(self, typed: str) -> None:
        """The keyring unless the session was chosen (or no keyring is usable); a keyring that fails now
        still keeps the key, for the session, and says so (Report view too: the dialog may be closing)."""
        from freecad_spatial.spatial_tools.backends import errors, keys

        provider = self.provider()
        if not self.session_only.isChecked():
            try:
                keys.set_key(provider, typed)
            except errors.KeyringUnavailable as exc:
                self.keyring_problem = str(exc)
                _report_warning(_t("the key could not be stored in the OS keyring ({why}); it is kept for this "
                                   "FreeCAD session only").format(why=exc))
            else:
                self.api_key.clear()
                return
        keys.keep_for_session(provider, typed)
        self.session_only.setChecked(True)
        self.api_key.clear()
        self._show_key_source()

    def _show_key_source(self, *_: Any) -> None:
        """The key field, the session choice and the line under them tell where the key comes from."""
        from freecad_spatial.spatial_tools.backends import keys

        provider = self.provider()
        try:
            source, names = keys.key_source(provider), keys.env_names(provider)
        except Exception as exc:  # e.g. an unknown provider: the page still opens
            self.key_source.setText(f"{type(exc).__name__}: {exc}")
            return
        problem = self.keyring_problem
        self.session_only.setEnabled(problem is None)
        if problem is not None:
            self.session_only.setChecked(True)
            self.keyring_warning.setText(_t(
                "<b>No OS keyring can store a key here</b> ({why}). A key typed here is kept for this FreeCAD "
                "session only and must be typed again after a restart; or set {env} before starting "
                "FreeCAD.").format(why=problem, env=_t(" or ").join(names)))
        self.keyring_frame.setVisible(problem is not None)
        env = source.split(" ", 2)[-1] if source and source.startswith("environment variable") else ""
        if env:
            self.api_key.setPlaceholderText(_t("set by {env} (environment)").format(env=env))
            text = _t("Key in use: from the environment variable <b>{env}</b>, set outside FreeCAD; it takes "
                      "precedence over a key typed here.").format(env=env)
        elif source == keys.KEYRING:
            self.api_key.setPlaceholderText(_t("•••••••• in the OS keyring — type to replace"))
            text = _t("Key in use: stored in the OS keyring (service “{service}”).").format(service=keys.service())
        elif source == keys.SESSION:
            self.api_key.setPlaceholderText(_t("•••••••• for this session only — type to replace"))
            text = _t("Key in use: kept in memory for this FreeCAD session only; it is gone when FreeCAD closes.")
        else:
            self.api_key.setPlaceholderText(_t("paste your API key"))
            text = (_t("No key set for {provider} (an OpenAI-compatible server may need none).") if provider == "openai"
                    else _t("No key set for {provider}.")).format(provider=provider)
        if self.api_key.text().strip():
            where = (_t("OK keeps the typed key in memory for this session only.") if self.session_only.isChecked()
                     else _t("OK stores the typed key in the OS keyring."))
            text += " " + where + (" " + _t("The environment variable still wins.") if env else "")
        self.key_source.setText(text + " " + _t("Keys are never kept in FreeCAD's parameters."))
        self.forget_key.setEnabled(source in (keys.KEYRING, keys.SESSION))

    def _forget_key(self) -> None:
        from freecad_spatial.spatial_tools.backends import errors, keys

        provider = self.provider()
        keys.forget_session_key(provider)
        if self.keyring_problem is None:
            try:
                keys.delete_key(provider)
            except errors.KeyringUnavailable as exc:
                self.keyring_problem = str(exc)
        self._show_key_source()

    # --- tier, tools and document -----------------------------------------------------------

    def _show_tier(self, *_: Any) -> None:
        """What the chosen tier sends where, and the stricter tier the document's class may require."""
        from freecad_spatial.spatial_tools.tiers import required_tier

        tier = self.tier.currentText()
        text = _t(tier_explanation(tier))
        level = self.classification.currentText() if self._doc is not None else ""
        if level:
            order = _classifications()
            level = max(level, self._raised_class or level, key=order.index)
            used = required_tier(tier, level)
            if used != tier:
                text += " " + _t("<b>The active document is {level}: its questions use the {used} tier.</b>").format(
                    level=level, used=used)
        self.tier_note.setText(text)

    def _raw_geometry_off(self) -> None:
        for i in range(self.tools.count()):
            item = self.tools.item(i)
            if item.data(QtCore.Qt.ItemDataRole.UserRole) in self._raw:
                item.setCheckState(QtCore.Qt.CheckState.Unchecked)

    def _load_classification(self) -> None:
        from freecad_spatial.spatial_tools.classification import classify

        self._doc = doc = self._document()
        self._raised_class = ""
        if doc is None:
            self.classification.setEnabled(False)
            self.classification_note.setText(_t("No document is open: the classification is set per document."))
            self._stored_class = ""
            self._show_tier()
            return
        result = classify(doc, extra_names=[getattr(doc, "FileName", "") or ""])
        self._stored_class = result.stored
        self.classification.setEnabled(True)
        self.classification.setCurrentIndex(max(0, self.classification.findText(result.stored)))
        note = _t("Of “{label}”, stored in the document (saved with the file).").format(label=doc.Label)
        if result.raised:
            self._raised_class = result.level
            found = ", ".join(sorted({f"{m.name} in {m.where}" for m in result.markings}))
            note += " " + _t("Markings raise it to <b>{level}</b>: {found}. Lowering below that has no effect.").format(
                level=result.level, found=found)
        self.classification_note.setText(note)
        self._show_tier()

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
        self.test_result.setText(_t("Testing…"))
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

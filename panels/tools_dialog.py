"""The Spatial tools dialog: every tool the assistant may call, with its description and arguments.

Non-modal, so the user can keep it beside the model while asking: a filter,
a tree of tools with their arguments (type, required, description) and the
selected tool's full description, arguments and result schema below, which
can be copied as JSON (what the model is given).
"""

from __future__ import annotations

import json
from typing import Any

from .qt import QtCore, QtGui, QtWidgets, tr

CONTEXT = "ToolsDialog"


def schema_type(schema: dict) -> str:
    """A JSON schema's type in a few characters: ``number``, ``string | null``, ``array of string``, ``one of a, b``."""
    if "enum" in schema:
        return tr(CONTEXT, "one of {values}").format(values=", ".join(map(str, schema["enum"])))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(schema_type(s) for s in schema[key])
    kind = schema.get("type", "")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return tr(CONTEXT, "array of {items}").format(items=schema_type(schema["items"]))
    return kind or tr(CONTEXT, "any")


def argument_rows(spec: Any) -> list[tuple[str, str, bool, str]]:
    """(name, type, required, description) of each argument of a tool, in the schema's order."""
    schema = spec.input_schema or {}
    required = set(schema.get("required", []))
    return [(name, schema_type(prop), name in required, str(prop.get("description", "")))
            for name, prop in (schema.get("properties") or {}).items()]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ToolsDialog(QtWidgets.QDialog):
    """Lists ``specs`` (the registry's ToolSpecs); ``details`` shows the selected one in full."""

    def __init__(self, specs: list[Any], parent: Any = None):
        super().__init__(parent)
        self.setObjectName("SpatialToolsDialog")
        self.setWindowTitle(tr(CONTEXT, "Spatial tools"))
        self.setModal(False)
        self.specs = {spec.name: spec for spec in specs}
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(tr(CONTEXT, "{n} tools the assistant measures and inspects with. Select one to "
                                             "read its description and arguments.").format(n=len(specs)))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.filter = QtWidgets.QLineEdit()
        self.filter.setObjectName("SpatialToolsFilter")
        self.filter.setPlaceholderText(tr(CONTEXT, "Filter by name or description…"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda *_: self._apply_filter())
        layout.addWidget(self.filter)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setObjectName("SpatialToolsTree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels([tr(CONTEXT, "Tool / argument"), tr(CONTEXT, "Type"), tr(CONTEXT, "Description")])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        for spec in specs:
            top = QtWidgets.QTreeWidgetItem(self.tree, [spec.name, "", spec.description.strip().splitlines()[0]])
            top.setData(0, QtCore.Qt.ItemDataRole.UserRole, spec.name)
            top.setToolTip(2, spec.description.strip())
            bold = top.font(0)
            bold.setBold(True)
            top.setFont(0, bold)
            for name, kind, required, description in argument_rows(spec):
                label = name if not required else f"{name} *"
                child = QtWidgets.QTreeWidgetItem(top, [label, kind, description])
                child.setData(0, QtCore.Qt.ItemDataRole.UserRole, spec.name)
                child.setToolTip(2, description)
                if required:
                    child.setToolTip(0, tr(CONTEXT, "required"))
        header = self.tree.header()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.tree.currentItemChanged.connect(lambda *_: self._show_current())
        splitter.addWidget(self.tree)
        self.details = QtWidgets.QTextBrowser()
        self.details.setObjectName("SpatialToolsDetails")
        self.details.setOpenExternalLinks(False)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.copy_button = QtWidgets.QPushButton(tr(CONTEXT, "Copy as JSON"))
        self.copy_button.setObjectName("SpatialToolsCopy")
        self.copy_button.setToolTip(tr(CONTEXT, "The selected tool's name, description and schemas, as the model gets them"))
        self.copy_button.clicked.connect(lambda *_: self.copy())
        close = QtWidgets.QPushButton(tr(CONTEXT, "Close"))
        close.clicked.connect(lambda *_: self.close())
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.resize(760, 620)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))

    def current_spec(self) -> Any:
        item = self.tree.currentItem()
        return self.specs.get(item.data(0, QtCore.Qt.ItemDataRole.UserRole)) if item is not None else None

    def _show_current(self) -> None:
        spec = self.current_spec()
        self.copy_button.setEnabled(spec is not None)
        if spec is None:
            self.details.clear()
            return
        rows = "".join(
            f"<tr><td><code>{_escape(name)}</code>{' *' if required else ''}</td><td>{_escape(kind)}</td>"
            f"<td>{_escape(description)}</td></tr>"
            for name, kind, required, description in argument_rows(spec))
        arguments = (f"<table cellspacing='0' cellpadding='3' border='1'><tr><th>{tr(CONTEXT, 'Argument')}</th>"
                     f"<th>{tr(CONTEXT, 'Type')}</th><th>{tr(CONTEXT, 'Description')}</th></tr>{rows}</table>"
                     f"<p>* {tr(CONTEXT, 'required')}</p>") if rows else f"<p>{tr(CONTEXT, 'No arguments.')}</p>"
        description = "<br>".join(_escape(line) for line in spec.description.strip().splitlines())
        self.details.setHtml(f"<h3><code>{_escape(spec.name)}</code></h3><p>{description}</p>"
                             f"<h4>{tr(CONTEXT, 'Arguments')}</h4>{arguments}")

    def _apply_filter(self) -> None:
        words = self.filter.text().strip().lower().split()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            spec = self.specs[item.data(0, QtCore.Qt.ItemDataRole.UserRole)]
            text = f"{spec.name} {spec.description}".lower()
            item.setHidden(not all(w in text for w in words))

    def visible_tools(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())
                if not self.tree.topLevelItem(i).isHidden()]

    def copy(self) -> None:
        spec = self.current_spec()
        if spec is not None:
            QtGui.QGuiApplication.clipboard().setText(json.dumps(spec.full(), indent=2, ensure_ascii=False))


_DIALOG: ToolsDialog | None = None


def show_tools_dialog(specs: list[Any], parent: Any = None) -> ToolsDialog:
    """Opens the dialog (one per session, raised when it is already open)."""
    global _DIALOG
    if _DIALOG is None:
        _DIALOG = ToolsDialog(specs, parent)
    _DIALOG.show()
    _DIALOG.raise_()
    _DIALOG.activateWindow()
    return _DIALOG

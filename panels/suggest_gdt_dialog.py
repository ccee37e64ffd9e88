"""The Suggest GD&T dialog: a checkable list of suggestions with their reasons; Accept selected."""

from __future__ import annotations

from typing import Any


def _qt() -> tuple[Any, Any]:
    from PySide import QtCore, QtGui

    return QtCore, QtGui


class SuggestGdtDialog:
    """Builds the dialog over suggestions (``gdt.suggest.Suggestion``); ``chosen()`` reads the ticked ids back."""

    def __init__(self, suggestions: list[Any], parent: Any = None) -> None:
        QtCore, QtGui = _qt()
        self.dialog = QtGui.QDialog(parent)
        self.dialog.setObjectName("SpatialSuggestGdtDialog")
        self.dialog.setWindowTitle("Suggest GD&T")
        self.dialog.resize(640, 420)
        layout = QtGui.QVBoxLayout(self.dialog)
        intro = QtGui.QLabel("Tick the suggestions to add to the model; the reason of each is under it. "
                             "Everything accepted is one step: Undo removes it all.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QtGui.QListWidget()
        self.list.setObjectName("SpatialSuggestions")
        self.list.setWordWrap(True)
        for s in suggestions:
            item = QtGui.QListWidgetItem(f"{s.title}   [{', '.join(r.split('.')[-1] for r in s.refs)}]\n{s.reason}")
            item.setData(QtCore.Qt.UserRole, s.id)
            item.setToolTip(s.reason)
            item.setFlags(item.flags() | QtCore.Qt.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.Checked)
            self.list.addItem(item)
        layout.addWidget(self.list)
        buttons = QtGui.QDialogButtonBox(QtGui.QDialogButtonBox.Cancel)
        self.accept_button = buttons.addButton("Accept selected", QtGui.QDialogButtonBox.AcceptRole)
        self.accept_button.setObjectName("SpatialAcceptSuggestions")
        buttons.accepted.connect(self.dialog.accept)
        buttons.rejected.connect(self.dialog.reject)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        """Ids of the ticked suggestions."""
        QtCore, _ = _qt()
        return [self.list.item(i).data(QtCore.Qt.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == QtCore.Qt.Checked]

    def run(self) -> list[str] | None:
        """Shows the dialog modally; the ticked ids, or None when cancelled."""
        run = getattr(self.dialog, "exec", None) or self.dialog.exec_
        return self.chosen() if run() else None

"""The Suggest GD&T dialog: a checkable list of suggestions with their reasons; Accept selected.

Each frame is shown as its drawing (``addon.annotations.overlay.frame_image``:
the position symbol ⌖ and circled modifiers are drawn, since Debian's fonts
have no glyph for them) beside its text in words, so no suggestion reads as
an empty box.
"""

from __future__ import annotations

from typing import Any

from .qt import QtCore, QtGui, QtWidgets, exec_dialog, tr

TITLE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1  # the suggestion's title with its symbols, for scripts and tests


def item_text(suggestion: Any) -> str:
    """The first line of an item: the frame in words (datums and sizes as they are), then its faces."""
    from freecad_spatial.spatial_tools.annotations.frame_text import frame_words, readable_text

    if suggestion.kind == "frame":
        head = frame_words({"Characteristic": suggestion.characteristic, "Zone": suggestion.zone,
                            "DiameterZone": suggestion.diameter_zone, "MaterialModifier": suggestion.material_modifier,
                            "DatumReferences": suggestion.datums})
    else:
        head = readable_text(suggestion.title)
    faces = ", ".join(r.split(".")[-1] for r in suggestion.refs)
    return f"{head}   [{faces}]"


def frame_icon(suggestion: Any) -> Any:
    """The frame (or datum box) as drawn on the model; a null icon for a size."""
    from freecad_spatial.addon.annotations.overlay import frame_image

    if suggestion.kind == "frame":
        lines = [suggestion.title]
    elif suggestion.kind == "datum" and suggestion.letter:
        lines = [f"|{suggestion.letter}|"]
    else:
        return QtGui.QIcon()
    return QtGui.QIcon(QtGui.QPixmap.fromImage(frame_image(lines, margin=0)))


class SuggestGdtDialog:
    """Builds the dialog over suggestions (``gdt.suggest.Suggestion``); ``chosen()`` reads the ticked ids back."""

    def __init__(self, suggestions: list[Any], parent: Any = None) -> None:
        self.dialog = QtWidgets.QDialog(parent)
        self.dialog.setObjectName("SpatialSuggestGdtDialog")
        self.dialog.setWindowTitle(tr("SuggestGdtDialog", "Suggest GD&T"))
        self.dialog.resize(720, 460)
        layout = QtWidgets.QVBoxLayout(self.dialog)
        intro = QtWidgets.QLabel(tr("SuggestGdtDialog", "Tick the suggestions to add to the model; the reason of each is under it. "
                                                        "Everything accepted is one step: Undo removes it all."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("SpatialSuggestions")
        self.list.setWordWrap(True)
        widest = QtCore.QSize(16, 16)
        for s in suggestions:
            item = QtWidgets.QListWidgetItem(f"{item_text(s)}\n{s.reason}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, s.id)
            item.setData(TITLE_ROLE, s.title)
            icon = frame_icon(s)
            if not icon.isNull():
                item.setIcon(icon)
                size = icon.availableSizes()[0] if icon.availableSizes() else QtCore.QSize(16, 16)
                widest = widest.expandedTo(size)
            item.setToolTip(s.reason)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.CheckState.Checked)
            self.list.addItem(item)
        self.list.setIconSize(widest)  # the drawing at its own size: never shrunk to an unreadable 16 px
        layout.addWidget(self.list)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.accept_button = buttons.addButton(tr("SuggestGdtDialog", "Accept selected"), QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.accept_button.setObjectName("SpatialAcceptSuggestions")
        buttons.accepted.connect(self.dialog.accept)
        buttons.rejected.connect(self.dialog.reject)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        """Ids of the ticked suggestions."""
        return [self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == QtCore.Qt.CheckState.Checked]

    def run(self) -> list[str] | None:
        """Shows the dialog modally; the ticked ids, or None when cancelled."""
        return self.chosen() if exec_dialog(self.dialog) else None

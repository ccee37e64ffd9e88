"""The Suggest GD&T dialog under pytest-qt (PySide6, offscreen) on the bracket's real suggestions.

Debian's fonts have no glyph for the position symbol ⌖ (nor ⌯, nor the circled
modifiers Ⓜ): typeset, it shows as an empty box. Each item must read with the
fonts there are, and carry the frame as a drawing.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import BRACKET, FreeCAD  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from freecad_spatial.panels.suggest_gdt_dialog import TITLE_ROLE, SuggestGdtDialog  # noqa: E402
from freecad_spatial.spatial_tools.gdt.suggest import suggest  # noqa: E402


@pytest.fixture(scope="module")
def suggestions():
    doc = FreeCAD.openDocument(str(BRACKET))
    try:
        yield suggest(doc, None)
    finally:
        FreeCAD.closeDocument(doc.Name)


def _no_font_has(text: str) -> set[str]:
    """The characters of ``text`` no installed font can draw (Qt would show a box for them)."""
    families = QtGui.QFontDatabase.families()
    raws = [QtGui.QRawFont.fromFont(QtGui.QFont(f)) for f in families]
    return {ch for ch in set(text) if not ch.isspace() and not any(r.supportsCharacter(ord(ch)) for r in raws)}


def test_every_item_reads_with_the_installed_fonts(qtbot, suggestions):
    dialog = SuggestGdtDialog(suggestions)
    qtbot.addWidget(dialog.dialog)
    items = [dialog.list.item(i) for i in range(dialog.list.count())]
    assert any("⌖" in item.data(TITLE_ROLE) for item in items), "the bracket gets a position frame"
    missing = {item.text().splitlines()[0]: _no_font_has(item.text()) for item in items}
    assert not any(missing.values()), missing
    position = next(item for item in items if "⌖" in item.data(TITLE_ROLE))
    assert position.text().startswith("Position ⌀"), position.text()


def _dark_pixels(image, x0: int, x1: int) -> int:
    return sum(1 for y in range(image.height()) for x in range(x0, x1) if QtGui.QColor(image.pixel(x, y)).lightness() < 100)


def test_frames_carry_their_drawing_with_the_position_symbol(qtbot, suggestions):
    dialog = SuggestGdtDialog(suggestions)
    qtbot.addWidget(dialog.dialog)
    position = next(dialog.list.item(i) for i in range(dialog.list.count()) if "⌖" in dialog.list.item(i).data(TITLE_ROLE))
    icon = position.icon()
    assert not icon.isNull()
    size = icon.availableSizes()[0]
    assert dialog.list.iconSize().width() >= size.width()  # shown at its size, not shrunk to 16 px
    image = icon.pixmap(size).toImage()
    cell = image.height()  # the symbol's cell is about square
    # The symbol's cell has ink inside it (circle and cross), not only its border: a box glyph would not.
    inner = _dark_pixels(image, 4, cell - 4)
    assert inner > 20, inner
    dialog.dialog.show()
    qtbot.waitExposed(dialog.dialog)
    shot = dialog.dialog.grab()
    out = os.environ.get("FREECAD_SPATIAL_SHOTS")
    if out:
        shot.save(os.path.join(out, "suggest_gdt_dialog.png"))
    assert shot.width() > 100


def test_ticked_ids_come_back(qtbot, suggestions):
    dialog = SuggestGdtDialog(suggestions)
    qtbot.addWidget(dialog.dialog)
    dialog.list.item(0).setCheckState(QtCore.Qt.CheckState.Unchecked)
    assert dialog.chosen() == [s.id for s in suggestions[1:]]

"""Coin overlays for annotations: drawn on top of the geometry (SoAnnotation), screen-sized.

A finding is a marker (SoMarkerSet: a fixed size in pixels whatever the zoom)
with a short label; a GD&T annotation is a picture of its frame drawn by Qt
(so the symbols come from whatever font has them) shown as an SoImage. Each
overlay sits under an SoSwitch so its parts can be switched off, and is not
pickable: clicking through it selects the part as usual.
"""

from __future__ import annotations

from typing import Any

# Severity colours as in the HTML report; anything unknown is a loud purple, never green.
SEVERITY_RGB = {"error": (0.84, 0.23, 0.29), "warning": (0.89, 0.55, 0.04), "info": (0.01, 0.40, 0.84)}
UNKNOWN_RGB = (0.47, 0.0, 0.63)
REVIEWED_RGB = (0.45, 0.50, 0.55)


class Overlay:
    """The nodes of one overlay; ``root`` goes into the view provider's display mode."""

    def __init__(self) -> None:
        from pivy import coin

        self.root = coin.SoSeparator()
        self.switch = coin.SoSwitch()
        self.switch.whichChild = coin.SO_SWITCH_ALL
        annotation = coin.SoAnnotation()
        pick = coin.SoPickStyle()
        pick.style = coin.SoPickStyle.UNPICKABLE
        light = coin.SoLightModel()
        light.model = coin.SoLightModel.BASE_COLOR
        self.translation = coin.SoTranslation()
        self.colour = coin.SoBaseColor()
        self.coords = coin.SoCoordinate3()
        self.coords.point.setValue(0, 0, 0)
        self.markers = coin.SoMarkerSet()
        self.markers.markerIndex = coin.SoMarkerSet.CIRCLE_FILLED_9_9
        self.label_switch = coin.SoSwitch()
        self.label_switch.whichChild = coin.SO_SWITCH_ALL
        label = coin.SoSeparator()
        self.font = coin.SoFont()
        self.font.size = 14
        self.text = coin.SoText2()
        self.image = coin.SoImage()
        self.image.vertAlignment = coin.SoImage.HALF
        self.image.horAlignment = coin.SoImage.LEFT
        self.label_offset = coin.SoTranslation()  # where the label sits against the marker (label_layout)
        self.label_offset.translation.setValue(0, 0, 0)
        label.addChild(self.font)
        label.addChild(self.label_offset)
        label.addChild(self.text)
        label.addChild(self.image)
        self.label_switch.addChild(label)
        for node in (pick, light, self.translation, self.colour, self.coords, self.markers, self.label_switch):
            annotation.addChild(node)
        self.switch.addChild(annotation)
        self.root.addChild(self.switch)

    def place(self, point: Any) -> None:
        self.translation.translation.setValue(point.x, point.y, point.z)

    def set_colour(self, rgb: tuple[float, float, float]) -> None:
        self.colour.rgb.setValue(*rgb)

    def set_marker(self, kind: str) -> None:
        from pivy import coin

        index = {"filled": coin.SoMarkerSet.CIRCLE_FILLED_9_9, "hollow": coin.SoMarkerSet.CIRCLE_LINE_9_9,
                 "none": -1, "triangle": coin.SoMarkerSet.TRIANGLE_FILLED_9_9}[kind]
        if index < 0:
            self.markers.numPoints = 0
        else:
            self.markers.numPoints = 1
            self.markers.markerIndex = index

    def set_text(self, text: str) -> None:
        self.text.string.setValue("  " + text if text else "")

    def set_label(self, text: str, offset: Any = None) -> None:
        """The label's text (no padding) and its offset from the marker (a 3D vector; None: beside it)."""
        self.text.string.setValue(text)
        if offset is None:
            self.label_offset.translation.setValue(0, 0, 0)
        else:
            self.label_offset.translation.setValue(offset.x, offset.y, offset.z)

    def label_text(self) -> str:
        return "".join(self.text.string.getValues())

    def set_picture(self, lines: list[str], boxed: bool = True, where: str = "middle", top_gap: int = 0) -> None:
        """Draws ``lines`` (each a list of cells separated by '|') into the SoImage with Qt.

        ``where``: 'above', 'middle' or 'below' the anchor (a frame above, a size below it).
        """
        from pivy import coin

        width, height, data = render_cells(lines, boxed, top_gap)
        self.image.image.setValue(coin.SbVec2s(width, height), 4, data)
        self.image.vertAlignment = {"above": coin.SoImage.BOTTOM, "below": coin.SoImage.TOP}.get(where, coin.SoImage.HALF)

    def show(self, visible: bool) -> None:
        from pivy import coin

        self.switch.whichChild = coin.SO_SWITCH_ALL if visible else coin.SO_SWITCH_NONE

    def show_label(self, visible: bool) -> None:
        from pivy import coin

        self.label_switch.whichChild = coin.SO_SWITCH_ALL if visible else coin.SO_SWITCH_NONE


def _draw_position(painter: Any, rect: Any) -> None:
    """⌖: a circle with a cross through it."""
    from freecad_spatial.panels.qt import QtCore

    c = rect.center()
    r = max(4, min(rect.width(), rect.height()) // 2 - 4)
    painter.drawEllipse(QtCore.QPoint(c.x(), c.y()), r - 2, r - 2)
    painter.drawLine(c.x() - r, c.y(), c.x() + r, c.y())
    painter.drawLine(c.x(), c.y() - r, c.x(), c.y() + r)


def _draw_symmetry(painter: Any, rect: Any) -> None:
    """⌯: three horizontal bars, the middle one longest."""
    c = rect.center()
    r = max(3, min(rect.width(), rect.height()) // 2 - 5)
    for dy, half in ((-r // 2 - 1, r * 2 // 3), (0, r), (r // 2 + 1, r * 2 // 3)):
        painter.drawLine(c.x() - half, c.y() + dy, c.x() + half, c.y() + dy)


# Drawn rather than typeset: Debian 12's fonts have no ⌖, ⌯ or circled letters (Ⓜ ...).
DRAWN_SYMBOLS = {"⌖": _draw_position, "⌯": _draw_symmetry}
CIRCLED = {"Ⓜ": "M", "Ⓛ": "L", "Ⓟ": "P", "Ⓕ": "F", "Ⓣ": "T", "Ⓤ": "U"}


def _advance(metrics: Any, text: str) -> int:
    return metrics.horizontalAdvance(text) if hasattr(metrics, "horizontalAdvance") else metrics.width(text)


def _char_width(ch: str, metrics: Any) -> int:
    if ch in DRAWN_SYMBOLS:
        return metrics.height()
    if ch in CIRCLED:
        return metrics.height() + 2
    return _advance(metrics, ch)


def _cell_width(cell: str, metrics: Any) -> int:
    return sum(_char_width(ch, metrics) for ch in cell)


def _draw_cell(painter: Any, rect: Any, cell: str, metrics: Any) -> None:
    """Draws ``cell`` centred in ``rect``, character by character, symbols as vector drawings."""
    from freecad_spatial.panels.qt import QtCore

    x = rect.x() + (rect.width() - _cell_width(cell, metrics)) // 2
    for ch in cell:
        w = _char_width(ch, metrics)
        box = QtCore.QRect(x, rect.y(), w, rect.height())
        if ch in DRAWN_SYMBOLS:
            DRAWN_SYMBOLS[ch](painter, box)
        elif ch in CIRCLED:
            d = metrics.height() - 2
            painter.drawEllipse(QtCore.QRect(box.center().x() - d // 2, box.center().y() - d // 2, d, d))
            small = painter.font()
            small.setPointSizeF(small.pointSizeF() * 0.7)
            painter.save()
            painter.setFont(small)
            painter.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, CIRCLED[ch])
            painter.restore()
        else:
            painter.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, ch)
        x += w


def frame_image(lines: list[str], boxed: bool = True, top_gap: int = 0, margin: int = 12) -> Any:
    """A QImage of a frame: each line a row of boxed cells, GD&T symbols no font has drawn as vectors.

    Debian's fonts have no ⌖, ⌯ or circled letters, so typesetting them shows a box; drawing them
    needs no font to ship. ``margin``: transparent pixels on the left (the 3D marker sits there);
    ``top_gap``: transparent pixels above (to clear a picture drawn at the same anchor).
    """
    from freecad_spatial.panels.qt import QtCore, QtGui

    font = QtGui.QFont("DejaVu Sans", 11)
    metrics = QtGui.QFontMetrics(font)
    pad, row_h = 6, metrics.height() + 8
    rows = [[c for c in line.strip("|").split("|")] for line in lines]
    widths = [[max(_cell_width(c, metrics), row_h - 2 * pad) + 2 * pad for c in row] for row in rows]
    width = max(sum(w) for w in widths) + 2 + margin
    height = row_h * len(rows) + 2 + top_gap
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGBA8888)
    image.fill(QtGui.QColor(0, 0, 0, 0))
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setFont(font)
    painter.setPen(QtGui.QPen(QtGui.QColor(20, 24, 30), 1.5))
    for r, row in enumerate(rows):
        x = margin
        y = 1 + top_gap + r * row_h
        for c, cell in enumerate(row):
            w = widths[r][c]
            rect = QtCore.QRect(x, y, w, row_h)
            painter.fillRect(rect, QtGui.QColor(255, 255, 255, 235))
            if boxed:
                painter.drawRect(rect)
            _draw_cell(painter, rect, cell, metrics)
            x += w
    painter.end()
    return image


def render_cells(lines: list[str], boxed: bool = True, top_gap: int = 0) -> tuple[int, int, bytes]:
    """RGBA bytes (bottom row first, as Coin wants) of ``frame_image``."""
    from freecad_spatial.panels.qt import QtGui

    flipped = frame_image(lines, boxed, top_gap).mirrored(False, True)
    width, height = flipped.width(), flipped.height()
    try:
        data = bytes(flipped.constBits())[: width * height * 4]
    except TypeError:  # a binding without the buffer protocol on constBits
        data = b"".join(
            bytes(QtGui.QColor.fromRgba(flipped.pixel(x, y)).getRgb()) for y in range(height) for x in range(width)
        )
    return width, height, data

"""Readable finding labels: numbered, merged per rule and feature, placed where they do not overlap.

Every finding marker is labelled with its number (the findings dock's first
column and the report's number) and a short rule name. Markers of the same
rule on the same object that sit close together on screen share one label,
"1-4 sharp corner", at the lowest-numbered marker; the others keep only their
dot. Labels are then placed in screen space, one at a time in number order, at
the first spot beside their marker that covers no other label and no marker.

Where markers crowd (an open box checked for moulding: a finding on every
wall and corner) a label that finds no free spot is left out rather than
drawn over another one: its marker keeps its dot, and the label comes back
when the user zooms in or selects the finding. The findings selected in the
dock (``set_focus``) are placed first, so theirs is always readable.

The layout is screen-dependent, so it is redone whenever the camera moves
(a Coin sensor on the camera) and whenever a finding changes (``schedule``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MERGE_PX = 110.0  # markers of one rule on one object closer than this share a label
GAP_PX = 9.0  # between a marker's centre and its label
DOT_PX = 6.0  # half the size of a marker dot
FONT_PX = 14

SHORT_RULES = {
    "sharp_internal_corner": "sharp corner",
    "flat_bottom_hole": "flat-bottom hole",
    "tall_thin_wall": "thin wall",
    "nonuniform_wall": "uneven wall",
    "invalid_solid": "invalid solid",
}

_LAYOUTS: dict[str, LabelLayout] = {}
_FOCUS: dict[str, set[str]] = {}  # document Name -> the finding Names selected in the dock


def short_rule(rule: str) -> str:
    """'cnc.sharp_internal_corner' -> 'sharp corner': a few words a user reads at a glance."""
    name = rule.split(".", 1)[-1]
    return SHORT_RULES.get(name, name.replace("_", " "))


def number_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 4, 7] -> "1-4, 7" (a hyphen: Coin's label font has no en dash)."""
    parts: list[str] = []
    run: list[int] = []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
        run = [n]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
    return ", ".join(parts)


CHAR_PX = 10.0  # Coin's SoText2 advance per character at FONT_PX, measured on 0.20 and 1.1 renders (~10 px)
LINE_PX = 16.0  # its line height


def text_size(text: str) -> tuple[float, float]:
    """Width and height in pixels of ``text`` as Coin draws a label (its font is monospaced; a little slack).

    Qt's metrics of a similar font came out ~15 % narrower than Coin's rendering, which let long labels
    ("14, 16, 18, 20 sharp corner") run into their neighbours: the width is Coin's measured advance.
    """
    return len(text) * CHAR_PX + 6.0, LINE_PX


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in screen pixels (y up, as Coin counts)


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass
class Marker:
    number: int
    name: str  # the finding object's Name
    rule: str
    target: str
    x: float
    y: float
    suffix: str = ""  # '(accepted)', '(lost)' ...


@dataclass
class Group:
    members: list[Marker] = field(default_factory=list)

    @property
    def leader(self) -> Marker:
        return self.members[0]

    def text(self) -> str:
        lead = self.leader
        return f"{number_ranges([m.number for m in self.members])} {short_rule(lead.rule)}{lead.suffix}"


def group_markers(markers: list[Marker], merge_px: float = MERGE_PX) -> list[Group]:
    """Markers of one rule on one object within ``merge_px`` of a group member join that group."""
    groups: list[Group] = []
    for m in sorted(markers, key=lambda m: m.number):
        home = next(
            (
                g
                for g in groups
                if g.leader.rule == m.rule
                and g.leader.target == m.target
                and g.leader.suffix == m.suffix
                and any(math.hypot(m.x - o.x, m.y - o.y) < merge_px for o in g.members)
            ),
            None,
        )
        if home is None:
            groups.append(Group([m]))
        else:
            home.members.append(m)
    return groups


def candidate_boxes(x: float, y: float, w: float, h: float) -> list[Box]:
    """Spots for a w×h label beside a marker at (x, y): right, left, above, below, then further out."""
    spots: list[Box] = []
    for reach in (0.0, 1.0, 2.0, 3.0, 4.5, 6.0):
        d = GAP_PX + reach * h
        for dx, dy in ((d, -h / 2), (-d - w, -h / 2), (-w / 2, d), (-w / 2, -d - h), (d, d), (d, -d - h), (-d - w, d), (-d - w, -d - h)):
            spots.append((x + dx, y + dy, x + dx + w, y + dy + h))
    return spots


def inside(box: Box, bounds: Box | None) -> bool:
    return bounds is None or (box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2] and box[3] <= bounds[3])


def place_labels(groups: list[Group], sizes: list[tuple[float, float]], bounds: Box | None = None) -> list[Box | None]:
    """One box per group, greedily in group order, inside ``bounds`` (the view), covering no earlier box and no marker.

    A group with no free spot gets None: its label is not drawn (never drawn over another, nor cut by the view's edge).
    """
    dots = [(m.x - DOT_PX, m.y - DOT_PX, m.x + DOT_PX, m.y + DOT_PX) for g in groups for m in g.members]
    placed: list[Box] = []
    boxes: list[Box | None] = []
    for g, (w, h) in zip(groups, sizes, strict=True):
        spots = [b for b in candidate_boxes(g.leader.x, g.leader.y, w, h) if inside(b, bounds)]
        best = next((b for b in spots if not any(overlaps(b, o) for o in placed + dots)), None)
        if best is not None:
            placed.append(best)
        boxes.append(best)
    return boxes


def focus_first(groups: list[Group], focus: set[str]) -> list[Group]:
    """The groups holding a focused (selected) finding first, the others in number order."""
    return sorted(groups, key=lambda g: (not any(m.name in focus for m in g.members), g.leader.number))


def set_focus(document_name: str, names: list[str]) -> None:
    """The findings selected in the dock: their labels are placed first, so always shown."""
    _FOCUS[document_name] = set(names)
    if document_name:
        schedule(document_name)


class LabelLayout:
    """The label layout of one GUI document's active 3D view."""

    def __init__(self, document_name: str) -> None:
        self.document_name = document_name
        self.sensor: Any = None
        self.camera: Any = None
        self.pending = False
        self.last: dict[str, tuple[str, Box | None]] = {}  # finding Name -> (label text, screen box)
        self.hidden: list[int] = []  # leader numbers of the groups whose label found no free spot

    def view(self) -> Any:
        import FreeCADGui

        gui_doc = FreeCADGui.getDocument(self.document_name) if self.document_name in _documents() else None
        view = gui_doc.activeView() if gui_doc is not None else None
        return view if view is not None and hasattr(view, "getCameraNode") else None

    def _watch_camera(self, view: Any) -> None:
        from pivy import coin

        camera = view.getCameraNode()
        if camera is self.camera and self.sensor is not None:
            return
        if self.sensor is not None:
            self.sensor.detach()
        self.camera = camera
        self.sensor = coin.SoNodeSensor(lambda *_: self.schedule(), None)
        self.sensor.setPriority(0)  # run right after the camera change, before the next redraw if possible
        self.sensor.attach(camera)

    def schedule(self) -> None:
        if self.pending:
            return
        from PySide import QtCore

        self.pending = True
        QtCore.QTimer.singleShot(0, self.update)

    def update(self) -> None:
        """Recomputes texts and places from the current camera."""
        import FreeCAD

        from freecad_spatial.spatial_tools.annotations.store import (
            annotations,
            finding_numbers,
            read_findings,
        )

        self.pending = False
        doc = FreeCAD.listDocuments().get(self.document_name)
        view = self.view()
        if doc is None or view is None:
            return
        self._watch_camera(view)
        numbers = finding_numbers(read_findings(doc))
        markers, overlays = [], {}
        for obj in annotations(doc, "Finding"):
            vobj = getattr(obj, "ViewObject", None)
            proxy = getattr(vobj, "Proxy", None) if vobj is not None else None
            overlay = getattr(proxy, "overlay", None)
            if overlay is None or obj.Name not in numbers:
                continue
            overlays[obj.Name] = (overlay, proxy.anchor_point)
            if not vobj.Visibility:
                continue
            from .view_finding import state_suffix

            x, y = screen_point(view, proxy.anchor_point)
            markers.append(Marker(numbers[obj.Name], obj.Name, obj.Rule, obj.TargetObject, float(x), float(y), state_suffix(obj)))
        focus = _FOCUS.get(self.document_name, set())
        groups = focus_first(group_markers(markers), focus)
        texts = [g.text() for g in groups]
        width, height = view_size(view)
        boxes = place_labels(groups, [text_size(t) for t in texts], (0.0, 0.0, width, height))
        self.last = {name: ("", None) for name in overlays}
        self.hidden = [g.leader.number for g, box in zip(groups, boxes, strict=True) if box is None]
        for g, text, box in zip(groups, texts, boxes, strict=True):
            if box is not None:
                self.last[g.leader.name] = (text, box)
        for name, (overlay, anchor) in overlays.items():
            text, box = self.last[name]
            if box is None:
                overlay.set_label(text, None)
                continue
            baseline = (box[0] + 2.0, box[1] + (box[3] - box[1]) * 0.28)
            overlay.set_label(text, _offset(view, anchor, baseline))


def view_size(view: Any) -> tuple[float, float]:
    """The 3D view's size in pixels (``getSize``; its render manager's viewport agrees, and reading that
    from Python crashes FreeCAD 1.1)."""
    width, height = view.getSize()
    return float(width), float(height)


def screen_point(view: Any, point: Any, size: tuple[float, float] | None = None) -> tuple[float, float]:
    """Where ``point`` is drawn in the view, in pixels from the bottom left, from the camera's view volume
    at the view's current size (or ``size``, e.g. of an image rendered from the view).

    Not ``getPointOnScreen``: on FreeCAD 1.1, after a dock narrows the 3D view, it keeps answering for the
    wider view it had, so labels laid out with it overlapped on screen and drifted from their markers.
    The volume is mapped as Coin's ``ADJUST_CAMERA`` viewport mapping draws it: in a view taller than
    wide the camera's height is kept for the width, so the volume grows by 1/aspect (without this,
    labels in a tall view, e.g. beside the findings dock, were spread wider than drawn and overlapped).
    """
    from pivy import coin

    width, height = size if size is not None else view_size(view)
    aspect = width / max(height, 1.0)
    camera = view.getCameraNode()
    volume = camera.getViewVolume(aspect)
    if aspect < 1.0 and int(camera.viewportMapping.getValue()) == int(coin.SoCamera.ADJUST_CAMERA):
        volume.scale(1.0 / aspect)
    projected = volume.projectToScreen(coin.SbVec3f(point.x, point.y, point.z))  # pivy returns the result
    x, y, _ = projected.getValue()
    return x * width, y * height


def _documents() -> dict:
    import FreeCAD

    return FreeCAD.listDocuments()


def _offset(view: Any, anchor: Any, screen: tuple[float, float]) -> Any:
    """The 3D vector from ``anchor`` to the point at its depth that projects onto pixel ``screen``.

    Built from ``screen_point`` alone (the projection the markers are placed with; ``getPoint`` is not its
    inverse on FreeCAD 1.1). The camera's right and up vectors are projected, and the pixel offset is
    solved on them.
    """
    import FreeCAD

    rotation = view.getCameraOrientation()
    right, up = rotation.multVec(FreeCAD.Vector(1, 0, 0)), rotation.multVec(FreeCAD.Vector(0, 1, 0))
    x0, y0 = screen_point(view, anchor)
    step = 1.0
    for _ in range(4):  # a step that moves ~200 px, so integer pixels do not blur the scale
        xr, yr = screen_point(view, anchor + FreeCAD.Vector(right).multiply(step))
        moved = math.hypot(xr - x0, yr - y0)
        if 100.0 <= moved <= 400.0:
            break
        step *= 200.0 / max(moved, 1e-3)
    xr, yr = screen_point(view, anchor + FreeCAD.Vector(right).multiply(step))
    xu, yu = screen_point(view, anchor + FreeCAD.Vector(up).multiply(step))
    a11, a12, a21, a22 = xr - x0, xu - x0, yr - y0, yu - y0
    det = a11 * a22 - a12 * a21
    if abs(det) < 1e-9:
        return FreeCAD.Vector()
    dx, dy = screen[0] - x0, screen[1] - y0
    a = (dx * a22 - a12 * dy) / det
    b = (a11 * dy - a21 * dx) / det
    return FreeCAD.Vector(right).multiply(a * step) + FreeCAD.Vector(up).multiply(b * step)


def layout_for(document_name: str) -> LabelLayout:
    if document_name not in _LAYOUTS:
        _LAYOUTS[document_name] = LabelLayout(document_name)
    return _LAYOUTS[document_name]


def schedule(document_name: str) -> None:
    """Lays the labels of ``document_name`` out again once the event loop is idle."""
    layout_for(document_name).schedule()

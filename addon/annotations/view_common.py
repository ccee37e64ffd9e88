"""What every annotation view provider shares: overlay, anchor point, double-click to the faces.

View-provider state is never saved (``dumps`` returns None): everything is
rebuilt from the object's properties when a file opens.
"""

from __future__ import annotations

from typing import Any

from freecad_spatial import RESOURCES

ICONS = RESOURCES / "icons"


def anchor(obj: Any) -> Any:
    """Where the overlay sits: the finding's location, else the centre of its linked elements."""
    import FreeCAD

    if "Location" in obj.PropertiesList and "location" not in getattr(obj, "NullFields", []):
        return obj.Location
    points = []
    for target, subs in obj.Faces:
        shape = getattr(target, "Shape", None)
        if shape is None or shape.isNull():
            continue
        for sub in subs:
            try:
                element = shape.getElement(sub)
            except Exception:  # a renumbered or lost element: ignore, the others still tell where
                continue
            points.append(element.BoundBox.Center)
    if not points:
        for target in obj.Targets:
            shape = getattr(target, "Shape", None)
            if shape is not None and not shape.isNull():
                points.append(shape.BoundBox.Center)
    if not points:
        return FreeCAD.Vector()
    total = FreeCAD.Vector()
    for p in points:
        total = total + p
    return total * (1.0 / len(points))


def select_and_fit(obj: Any) -> None:
    """Selects the annotation's linked elements and fits the 3D view to them."""
    import FreeCADGui

    FreeCADGui.Selection.clearSelection()
    chosen = False
    for target, subs in obj.Faces:
        for sub in subs:
            FreeCADGui.Selection.addSelection(target, sub)
            chosen = True
    if not chosen:
        for target in obj.Targets:
            FreeCADGui.Selection.addSelection(target)
            chosen = True
    if chosen and FreeCADGui.ActiveDocument is not None:
        FreeCADGui.SendMsgToActiveView("ViewSelection")


class ViewProviderAnnotation:
    """Base view provider: one display mode, 'Annotation', holding an overlay."""

    ICON = "freecad_spatial.svg"
    WATCHED: tuple[str, ...] = ("Faces", "Attachment", "Label")

    def __init__(self, vobj: Any) -> None:
        vobj.Proxy = self
        if "ShowLabel" not in vobj.PropertiesList:
            vobj.addProperty("App::PropertyBool", "ShowLabel", "Spatial", "Show the label beside the marker")
            vobj.ShowLabel = True

    def attach(self, vobj: Any) -> None:
        from .overlay import Overlay

        self.Object = vobj.Object
        self.overlay = Overlay()
        vobj.addDisplayMode(self.overlay.root, "Annotation")
        self.refresh()

    def getDisplayModes(self, vobj: Any) -> list[str]:  # noqa: N802 - FreeCAD's names
        return ["Annotation"]

    def getDefaultDisplayMode(self) -> str:  # noqa: N802
        return "Annotation"

    def setDisplayMode(self, mode: str) -> str:  # noqa: N802
        return mode

    def updateData(self, obj: Any, prop: str) -> None:  # noqa: N802
        if prop in self.WATCHED and getattr(self, "overlay", None) is not None:
            self.refresh()

    def onChanged(self, vobj: Any, prop: str) -> None:  # noqa: N802
        if prop == "ShowLabel" and getattr(self, "overlay", None) is not None:
            self.overlay.show_label(bool(vobj.ShowLabel))

    def doubleClicked(self, vobj: Any) -> bool:  # noqa: N802
        select_and_fit(vobj.Object)
        return True

    def getIcon(self) -> str:  # noqa: N802
        return str(ICONS / self.ICON)

    def refresh(self) -> None:
        """Redraws the overlay from the object's properties."""
        self.anchor_point = anchor(self.Object)
        self.overlay.place(self.anchor_point)

    def dumps(self) -> None:
        return None

    def loads(self, state: Any) -> None:
        return None

    __getstate__ = dumps
    __setstate__ = loads

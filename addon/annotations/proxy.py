"""What every annotation proxy does: keep its properties, follow its geometry, survive saving.

The proxy keeps no state of its own (``dumps`` returns only its kind), so a
file re-saved where the addon is missing loses nothing but the proxy
reference, which ``spatial_tools.annotations.store.repair_proxies`` puts back.
"""

from __future__ import annotations

from typing import Any


class AnnotationProxy:
    """Base of the FeaturePython proxies; subclasses set KIND and live in their own module."""

    KIND = ""

    def __init__(self, obj: Any) -> None:
        from freecad_spatial.spatial_tools.annotations.properties import ensure_properties

        obj.Proxy = self
        ensure_properties(obj, self.KIND)

    def execute(self, obj: Any) -> None:
        """A recompute of the linked geometry: find the elements again or mark them lost."""
        from freecad_spatial.spatial_tools.annotations.store import refresh_attachment

        refresh_attachment(obj)

    def onDocumentRestored(self, obj: Any) -> None:  # noqa: N802 - FreeCAD's name
        """Old files gain the properties added since; in the GUI the view provider is (re)attached."""
        from freecad_spatial.spatial_tools.annotations.properties import ensure_properties

        ensure_properties(obj, self.KIND)
        attach_view_later(obj)

    def dumps(self) -> dict:
        return {"kind": self.KIND}

    def loads(self, state: Any) -> None:
        return None

    # FreeCAD 0.20 calls only these two.
    __getstate__ = dumps
    __setstate__ = loads


def attach_view(obj: Any) -> None:
    """Gives ``obj`` its view provider when the GUI is up and it has none (files written headless)."""
    import FreeCAD

    if not FreeCAD.GuiUp or getattr(obj, "ViewObject", None) is None:
        return
    if getattr(obj.ViewObject, "Proxy", None) is not None:
        return
    from . import view_finding, view_gdt

    maker = view_finding.ViewProviderFinding if obj.SpatialType == "Finding" else view_gdt.VIEW_PROVIDERS.get(obj.SpatialType)
    if maker is not None:
        maker(obj.ViewObject)


def attach_view_later(obj: Any) -> None:
    """After the whole file is restored (GuiDocument.xml is read after the objects)."""
    import FreeCAD

    if not FreeCAD.GuiUp:
        return
    from PySide import QtCore

    doc_name, name = obj.Document.Name, obj.Name

    def attach() -> None:
        doc = FreeCAD.listDocuments().get(doc_name)
        target = doc.getObject(name) if doc is not None else None
        if target is not None:
            attach_view(target)

    QtCore.QTimer.singleShot(0, attach)

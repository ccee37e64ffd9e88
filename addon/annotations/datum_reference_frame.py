"""The DatumReferenceFrame document object (its module path is saved in files: keep it forever)."""

from __future__ import annotations

from typing import Any

from .proxy import AnnotationProxy, attach_view


class DatumReferenceFrameProxy(AnnotationProxy):
    KIND = "DatumReferenceFrame"


def create(document: Any, name: str = "DatumReferenceFrame") -> Any:
    """A new DatumReferenceFrame object with its proxy (and view provider in the GUI)."""
    obj = document.addObject("App::FeaturePython", name)
    DatumReferenceFrameProxy(obj)
    attach_view(obj)
    return obj

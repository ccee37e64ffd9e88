"""The SizeDimension document object (its module path is saved in files: keep it forever)."""

from __future__ import annotations

from typing import Any

from .proxy import AnnotationProxy, attach_view


class SizeDimensionProxy(AnnotationProxy):
    KIND = "SizeDimension"


def create(document: Any, name: str = "SizeDimension") -> Any:
    """A new SizeDimension object with its proxy (and view provider in the GUI)."""
    obj = document.addObject("App::FeaturePython", name)
    SizeDimensionProxy(obj)
    attach_view(obj)
    return obj

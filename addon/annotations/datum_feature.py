"""The DatumFeature document object (its module path is saved in files: keep it forever)."""

from __future__ import annotations

from typing import Any

from .proxy import AnnotationProxy, attach_view


class DatumFeatureProxy(AnnotationProxy):
    KIND = "DatumFeature"


def create(document: Any, name: str = "DatumFeature") -> Any:
    """A new DatumFeature object with its proxy (and view provider in the GUI)."""
    obj = document.addObject("App::FeaturePython", name)
    DatumFeatureProxy(obj)
    attach_view(obj)
    return obj

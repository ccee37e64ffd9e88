"""The FeatureControlFrame document object (its module path is saved in files: keep it forever)."""

from __future__ import annotations

from typing import Any

from .proxy import AnnotationProxy, attach_view


class FeatureControlFrameProxy(AnnotationProxy):
    KIND = "FeatureControlFrame"


def create(document: Any, name: str = "FeatureControlFrame") -> Any:
    """A new FeatureControlFrame object with its proxy (and view provider in the GUI)."""
    obj = document.addObject("App::FeaturePython", name)
    FeatureControlFrameProxy(obj)
    attach_view(obj)
    return obj

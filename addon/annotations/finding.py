"""The Finding document object (its module path is saved in files: keep it forever)."""

from __future__ import annotations

from typing import Any

from .proxy import AnnotationProxy, attach_view


class FindingProxy(AnnotationProxy):
    KIND = "Finding"


def create(document: Any, name: str = "Finding") -> Any:
    """A new Finding object with its proxy (and view provider in the GUI)."""
    obj = document.addObject("App::FeaturePython", name)
    FindingProxy(obj)
    attach_view(obj)
    return obj

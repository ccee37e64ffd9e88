"""Showing and hiding annotations by kind (findings, datums, frames, dimensions) in the GUI."""

from __future__ import annotations

from typing import Any


def set_kind_visible(document: Any, kind: str, visible: bool) -> int:
    """Shows or hides every annotation of ``kind``; returns how many (GUI only: view state)."""
    from freecad_spatial.spatial_tools.annotations.store import annotations

    count = 0
    for obj in annotations(document, kind):
        if getattr(obj, "ViewObject", None) is not None:
            obj.ViewObject.Visibility = visible
            count += 1
    return count


def kind_visible(document: Any, kind: str) -> bool:
    """True when at least one annotation of ``kind`` is shown (or there is none)."""
    from freecad_spatial.spatial_tools.annotations.store import annotations

    objs = [o for o in annotations(document, kind) if getattr(o, "ViewObject", None) is not None]
    return not objs or any(o.ViewObject.Visibility for o in objs)

"""The one hook for findings the assistant submits: annotation objects and the findings dock.

Uses the annotation store (spatial_tools.annotations.store.add_findings) as
one undoable step, without replacing findings from earlier checks, then asks
the findings dock to refresh when that panel is installed.
"""

from __future__ import annotations

import importlib
from typing import Any

PROCESS = "assistant"


def publish_findings(document: Any, findings: list[dict]) -> list[str]:
    """Creates one annotation object per finding; returns their names. GUI thread only."""
    from freecad_spatial.spatial_tools.annotations.store import add_findings
    from freecad_spatial.spatial_tools.dfm.finding import Finding

    objects = add_findings(document, [Finding.from_dict(f) for f in findings], process=PROCESS, checked=())
    document.recompute()
    try:
        dock = importlib.import_module("freecad_spatial.panels.findings_dock")
    except ImportError:
        dock = None
    refresh = getattr(dock, "refresh", None) if dock is not None else None
    if callable(refresh):
        refresh(document)
    return [o.Name for o in objects]

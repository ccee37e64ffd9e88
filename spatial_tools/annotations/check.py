"""Check manufacturability of a document and keep the findings in it: what the GUI command runs.

Headless, so the command stays a thin shell and tests can run the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..dfm.engine import DfmResult, check_document, default_targets
from .store import add_findings


@dataclass(frozen=True)
class CheckRequest:
    """What the Check manufacturability dialog asks for."""

    process: str
    profile: str | None = None  # a user profile file (TOML) overriding the process's values
    direction: tuple[float, float, float] | None = None  # pull (molding) or build (additive) direction
    objects: tuple[str, ...] = ()  # object Names; empty: every part of the document


def default_objects(document: Any, selection: list[Any] | None = None) -> list[str]:
    """The selected objects that have a shape, else every part of the document."""
    chosen = [o.Name for o in (selection or []) if getattr(o, "Shape", None) is not None and not o.Shape.isNull()]
    return chosen or [o.Name for o in default_targets(document)]


def check_and_annotate(document: Any, request: CheckRequest) -> tuple[DfmResult, list[Any]]:
    """Runs the process's rules and stores the findings as one undoable step named after the check."""
    direction = request.direction
    result = check_document(
        document,
        request.process,
        objects=list(request.objects) or None,
        profile=request.profile,
        pull_direction=direction if request.process == "injection-molding" else None,
        build_direction=direction if request.process == "fdm" else None,
    )
    return result, annotate(document, request, result.findings, result.checked)


def annotate(document: Any, request: CheckRequest, findings: list[Any], checked: list[str]) -> list[Any]:
    """Stores ``findings`` of ``checked`` objects as one undoable step named after the check."""
    n = len(findings)
    step = f"Check manufacturability ({request.process}): {n} finding{'s' if n != 1 else ''}"
    return add_findings(document, findings, process=request.process, checked=checked or None, name=step)

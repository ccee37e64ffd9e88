"""The gdt.* validation rules (gdt.md "Validation rules"): catalogue, rule unit, runner.

Like the DFM registry (``dfm.rules``): every id of gdt.md is in ``CATALOGUE``;
the modules in ``RULE_MODULES`` each define ``RULES`` (one ``GdtRule`` per id,
grouped by concept); a rule that crashes becomes an error finding naming the
rule, never a silent pass. Findings are the project's ``Finding``, with the
frame's faces as elements.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ...dfm.finding import Finding, Severity
from .model import Faces, Gdt, Geometry, read_gdt

CATALOGUE: dict[str, str] = {
    "gdt.form_with_datum": "A form tolerance references a datum",
    "gdt.missing_datum": "Orientation, location or runout tolerance without a datum",
    "gdt.undefined_datum": "A frame references a datum letter no datum feature defines",
    "gdt.modifier_on_non_size": "MMC/LMC on a feature that is not a feature of size",
    "gdt.diameter_zone_on_plane": "Diameter zone on a planar feature",
    "gdt.datum_order": "Datum repeated, or secondary without primary",
    "gdt.obsolete_symbol": "Concentricity or symmetry under ASME Y14.5-2018",
    "gdt.refinement": "Refinement not tighter than the tolerance it refines",
    "gdt.unlocated_hole": "Hole without a position tolerance in a toleranced part",
    "gdt.undimensioned_feature_of_size": "Feature of size without size tolerance or general tolerance",
}

RULE_MODULES = ("datums", "modifiers", "standard", "refinement", "coverage")


@dataclass
class GdtContext:
    """What a gdt rule sees: the document's annotations and the geometry behind them."""

    gdt: Gdt
    geometry: Geometry
    rule_id: str = ""

    def finding(
        self,
        severity: Severity | str,
        message: str,
        faces: Faces | None = None,
        *,
        object: str | None = None,
        elements: Iterable[str] = (),
        location: Any = None,
        measured: float | None = None,
        limit: float | None = None,
        unit: str | None = None,
        suggestion: str | None = None,
        related: Iterable[str] = (),
    ) -> Finding:
        """A finding of the current rule; ``faces`` gives object, elements and location at once."""
        if faces is not None:
            object = object or faces.object
            elements = elements or faces.elements
            if location is None:
                location = self.geometry.location(faces)
            related = tuple(related) or tuple(r for r in faces.refs if not r.startswith(f"{object}."))
        if location is not None and hasattr(location, "x"):
            location = (location.x, location.y, location.z)
        return Finding(rule=self.rule_id, severity=Severity.parse(severity), message=message, object=object,
                       elements=tuple(elements), location=location, measured=measured, limit=limit, unit=unit,
                       suggestion=suggestion, related=tuple(related))


@dataclass(frozen=True)
class GdtRule:
    id: str
    description: str
    check: Callable[[GdtContext], Iterable[Finding]]


@dataclass
class GdtResult:
    findings: list[Finding] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)
    annotations: int = 0  # how many GD&T objects were checked

    def to_dict(self) -> dict:
        return {"findings": [f.to_dict() for f in self.findings], "rules_run": list(self.rules_run),
                "annotations": self.annotations}


@cache
def load_rules() -> dict[str, GdtRule]:
    """Rule id -> rule, in catalogue order; a catalogue id without a rule is a defect caught by the tests."""
    found: dict[str, GdtRule] = {}
    for name in RULE_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for rule in module.RULES:
            if rule.id not in CATALOGUE or rule.id in found:
                raise RuntimeError(f"gdt rule {rule.id!r} of {name}.py is unknown or defined twice")
            found[rule.id] = rule
    return {rule_id: found[rule_id] for rule_id in CATALOGUE if rule_id in found}


def _crash(rule_id: str, exc: BaseException) -> Finding:
    detail = traceback.format_exception_only(exc)[-1].strip()
    return Finding(rule=rule_id, severity=Severity.ERROR, message=f"rule {rule_id} crashed ({detail}); its result is unknown",
                   suggestion="This is a defect of the checker, not necessarily of the drawing: report it with the file")


def has_gdt(document: Any) -> bool:
    """Whether the document holds any GD&T annotation (datum, frame, size dimension)."""
    return not read_gdt(document).empty


def check_gdt(document: Any, objects: list[str] | None = None, rules: Iterable[str] | None = None) -> GdtResult:
    """Every gdt.* rule (or those named) over the document's GD&T annotations (those on ``objects``)."""
    gdt = read_gdt(document, objects)
    result = GdtResult(annotations=len(gdt.frames) + len(gdt.datums) + len(gdt.datum_frames) + len(gdt.sizes))
    if gdt.empty:
        return result
    geometry = Geometry(document)
    chosen = set(rules) if rules is not None else None
    for rule_id, rule in load_rules().items():
        if chosen is not None and rule_id not in chosen:
            continue
        ctx = GdtContext(gdt, geometry, rule_id)
        try:
            produced = list(rule.check(ctx))
        except Exception as exc:  # a crashing rule must show up as a failure, never as silence
            produced = [_crash(rule_id, exc)]
        result.findings.extend(produced)
        result.rules_run.append(rule_id)
    return result


def gdt_findings(document: Any) -> list[Finding]:
    """The gdt.* findings of a document, [] when it has no GD&T: what ``freecad-spatial check`` adds."""
    return check_gdt(document).findings

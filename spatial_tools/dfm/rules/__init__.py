"""The one registry of DFM rules: the catalogue of ids, the Rule unit, what a rule sees.

Every rule id of dfm-rules.md is in ``CATALOGUE``. A rule is implemented by
a module of this package named after its id (``cnc.deep_hole`` ->
``cnc_deep_hole.py``) that defines ``RULE = Rule(...)``; an id with no module
yet is reported as not implemented, never as a pass. Rules ask geometric
questions through ``spatial_tools.geometry`` (one implementation each) and
return typed Findings.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Literal

from ..finding import Finding, Severity
from ..profiles import Profile, RuleSettings

# id -> short title (the "check" column of dfm-rules.md). Order is report order.
CATALOGUE: dict[str, str] = {
    "geom.invalid_solid": "Shape is not a valid closed solid",
    "fit.interference": "Bodies overlap where no press fit is declared",
    "fit.clearance": "Mating clearance below the declared fit's minimum",
    "cnc.deep_hole": "Drilled hole too deep for its diameter",
    "cnc.flat_bottom_hole": "Blind hole with a flat bottom",
    "cnc.nonstandard_hole": "Hole diameter is not a standard drill size",
    "cnc.partial_hole": "Hole breaks out of the part",
    "cnc.skewed_drill_entry": "Drill enters or exits a surface not perpendicular to its axis",
    "cnc.sharp_internal_corner": "Internal vertical corner an end mill cannot cut",
    "cnc.deep_pocket": "Pocket or slot too deep for its width",
    "cnc.thin_wall": "Wall too thin to machine",
    "cnc.tall_thin_wall": "Wall too tall for its thickness",
    "cnc.inaccessible_face": "Face no 3-axis tool direction reaches",
    "cnc.small_hole": "Hole below the smallest standard tool",
    "cnc.tapped_hole": "Tapped hole: tap drill, thread length or tap access",
    "mold.draft": "Walls parallel to the pull have too little draft",
    "mold.undercut": "Face blocked in both directions of the pull",
    "mold.min_wall": "Wall too thin to fill",
    "mold.max_wall": "Wall too thick (sink marks, voids)",
    "mold.nonuniform_wall": "Abrupt change of wall thickness",
    "mold.sharp_internal_corner": "Concave edge without a radius",
    "mold.rib_thickness": "Rib too thick or too tall for the wall",
    "sheet.bend_radius": "Inner bend radius too small",
    "sheet.hole_near_bend": "Hole too close to a bend",
    "sheet.hole_near_edge": "Hole too close to the edge",
    "sheet.small_hole": "Hole smaller than the sheet thickness",
    "sheet.short_flange": "Flange too short to bend",
    "am.overhang": "Downward face steeper than the printer can bridge",
    "am.thin_wall": "Wall below the nozzle's capability",
    "am.small_hole": "Hole that will close up when printed",
}


@dataclass(frozen=True)
class Rule:
    """One rule: its id, the texts reports show, and its check function."""

    id: str
    title: str
    description: str  # one paragraph: what is measured and why it matters
    help: str  # markdown: how to fix it; the thresholds come from the profile
    check: Callable[[RuleContext], Iterable[Finding]]
    scope: Literal["object", "document"] = "object"  # once per object, or once over all objects
    # What one finding stands for (dfm.grouping): the findings of one recognised feature ("feature"),
    # also of touching faces/edges ("region"), one wall each already ("wall"), or each alone ("none").
    thing: Literal["feature", "region", "wall", "none"] = "feature"


@dataclass
class Target:
    """An object to check and its shape in global coordinates."""

    obj: Any
    shape: Any
    cache: dict = field(default_factory=dict)  # per-object answers rules share (features, validity)

    @property
    def name(self) -> str:
        return self.obj.Name

    @cached_property
    def solids(self) -> list:
        return list(self.shape.Solids)

    @cached_property
    def _index(self) -> dict[str, dict[int, list[tuple[int, Any]]]]:
        index: dict[str, dict[int, list[tuple[int, Any]]]] = {}
        for kind, attr in (("Face", "Faces"), ("Edge", "Edges"), ("Vertex", "Vertexes")):
            table: dict[int, list[tuple[int, Any]]] = {}
            for i, sub in enumerate(getattr(self.shape, attr), start=1):
                table.setdefault(sub.hashCode(), []).append((i, sub))
            index[kind] = table
        return index

    def element_name(self, sub: Any) -> str | None:
        """'Face7' for a face/edge/vertex of this target's shape (1-based); None if not in it."""
        kind = {"Face": "Face", "Edge": "Edge", "Vertex": "Vertex"}.get(sub.ShapeType)
        if kind is None:
            return None
        for i, candidate in self._index[kind].get(sub.hashCode(), []):
            if candidate.isSame(sub):
                return f"{kind}{i}"
        return None


@dataclass
class RuleContext:
    """What a rule sees: the document, the profile and its own settings, the objects."""

    rule: Rule
    document: Any
    profile: Profile
    settings: RuleSettings
    targets: list[Target]
    target: Target | None = None  # set for object-scope rules
    notes: list[str] = field(default_factory=list)  # "not applicable" reasons a rule records

    def finding(
        self,
        severity: Severity | str,
        message: str,
        *,
        object: str | None = None,
        elements: Iterable[str] = (),
        location: Any = None,
        measured: float | None = None,
        limit: float | None = None,
        unit: str | None = None,
        suggestion: str | None = None,
        related: Iterable[str] = (),
        facts: dict[str, Any] | None = None,
    ) -> Finding:
        """A Finding of this rule on the current target unless ``object`` says otherwise.

        ``facts`` (depth, diameter, feature ...) fill the rule's title template (dfm.titles).
        """
        from ..titles import title_for

        if location is not None and hasattr(location, "x"):
            location = (location.x, location.y, location.z)
        elements = tuple(elements)
        unit = unit if unit is not None else self.settings.get("unit")
        return Finding(
            rule=self.rule.id,
            severity=Severity.parse(severity),
            message=message,
            object=object if object is not None else (self.target.name if self.target else None),
            elements=elements,
            location=location,
            measured=measured,
            limit=limit,
            unit=unit,
            suggestion=suggestion,
            related=tuple(related),
            title=title_for(self.rule.id, max(1, len(elements)), measured, limit, unit, facts),
        )


def module_name(rule_id: str) -> str:
    """``cnc.deep_hole`` -> ``cnc_deep_hole``: where a rule's module must live."""
    return rule_id.replace(".", "_", 1)


@dataclass(frozen=True)
class Loaded:
    rules: dict[str, Rule]
    errors: dict[str, str]  # rule id -> why its module could not be loaded
    missing: tuple[str, ...]  # ids with no module yet


@cache
def load_rules() -> Loaded:
    """Imports every implemented rule; a broken module is recorded, not raised."""
    rules: dict[str, Rule] = {}
    errors: dict[str, str] = {}
    missing: list[str] = []
    for rule_id in CATALOGUE:
        full = f"{__name__}.{module_name(rule_id)}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name == full:
                missing.append(rule_id)
                continue
            errors[rule_id] = traceback.format_exception_only(exc)[-1].strip()
            continue
        except Exception as exc:  # a rule that cannot load must show up as a failure
            errors[rule_id] = traceback.format_exception_only(exc)[-1].strip()
            continue
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule) or rule.id != rule_id:
            errors[rule_id] = f"{full} defines no RULE = Rule(id={rule_id!r}, ...)"
            continue
        rules[rule_id] = rule
    return Loaded(rules=rules, errors=errors, missing=tuple(missing))


def describe(rule_id: str) -> dict:
    """Texts of a rule for reports (SARIF descriptors, HTML tables), implemented or not."""
    rule = load_rules().rules.get(rule_id)
    if rule is not None:
        return {"id": rule_id, "title": rule.title, "description": rule.description, "help": rule.help}
    title = CATALOGUE.get(rule_id, rule_id)
    return {"id": rule_id, "title": title, "description": title + ".", "help": f"See dfm-rules.md, rule `{rule_id}`."}

"""Runs the rules of a process profile over a document's objects.

A rule that crashes becomes an error finding naming the rule: a crash must
never look like a pass. Objects that are not valid solids are reported by
geom.invalid_solid and not handed to the other rules.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotApplicable, ToolError
from ..refs import global_shape, resolve_object
from .finding import Finding, Severity
from .grouping import group_findings
from .profiles import Profile, load_profile
from .rules import CATALOGUE, Rule, RuleContext, Target, load_rules

# Objects that only hold others and have no shape of their own to check.
CONTAINER_TYPES = ("App::Part", "App::DocumentObjectGroup", "App::Origin")
# Reference geometry: origin planes and axes (which have a one-face Shape on FreeCAD 1.x) and
# datum features. Base type names of every supported version; an unknown name matches nothing.
REFERENCE_TYPES = ("App::OriginFeature", "App::DatumElement", "App::LocalCoordinateSystem",
                   "Part::Datum", "PartDesign::ShapeBinder")


@dataclass
class DfmResult:
    """Findings plus what was and was not checked, so a gap never reads as a pass."""

    profile: Profile
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # object Names the rules ran on
    not_checked: list[dict] = field(default_factory=list)  # [{object, reason}]
    skipped: list[dict] = field(default_factory=list)  # [{rule, object, reason}]: rule does not apply
    rules_run: list[str] = field(default_factory=list)
    not_implemented: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "process": self.profile.process,
            "profile": self.profile.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "checked": list(self.checked),
            "not_checked": list(self.not_checked),
            "skipped": list(self.skipped),
            "rules_run": list(self.rules_run),
            "not_implemented": list(self.not_implemented),
        }


def _has_faces(obj: Any) -> bool:
    shape = getattr(obj, "Shape", None)
    return shape is not None and not shape.isNull() and bool(shape.Faces)


def default_targets(document: Any) -> list[Any]:
    """The objects a user means by "the parts": shapes with faces that no other shape consumes
    (a Body, not its Pads; a Cut, not its operands)."""
    chosen = []
    for obj in document.Objects:
        if obj.TypeId in CONTAINER_TYPES or obj.isDerivedFrom("Part::Part2DObject"):
            continue
        if any(obj.isDerivedFrom(t) for t in REFERENCE_TYPES):
            continue
        if not _has_faces(obj):
            continue
        consumers = [p for p in obj.InList if p.TypeId not in CONTAINER_TYPES and hasattr(p, "Shape")]
        if consumers:
            continue
        chosen.append(obj)
    return chosen


def _crash(rule_id: str, target: Target | None, exc: BaseException) -> Finding:
    detail = exc.message if isinstance(exc, ToolError) else traceback.format_exception_only(exc)[-1].strip()
    where = f" on {target.name}" if target else ""
    return Finding(
        rule=rule_id,
        severity=Severity.ERROR,
        message=f"rule {rule_id} crashed{where} ({detail}); its result is unknown",
        object=target.name if target else None,
        suggestion="This is a defect of the checker, not necessarily of the part: report it with the file",
    )


def _run(rule: Rule, ctx: RuleContext, result: DfmResult) -> None:
    try:
        produced = list(rule.check(ctx))
        bad = [f for f in produced if not isinstance(f, Finding)]
        if bad:
            raise TypeError(f"returned {type(bad[0]).__name__} instead of Finding")
        result.findings.extend(produced)
    except NotApplicable as exc:
        result.skipped.append({"rule": rule.id, "object": ctx.target.name if ctx.target else None, "reason": exc.message})
    except Exception as exc:  # a crashing rule must show up as a failure, never as silence
        result.findings.append(_crash(rule.id, ctx.target, exc))


def _order(findings: Iterable[Finding]) -> list[Finding]:
    rank = {rule_id: i for i, rule_id in enumerate(CATALOGUE)}
    return sorted(
        findings,
        key=lambda f: (-f.severity.rank, rank.get(f.rule, len(rank)), f.object or "", f.elements, f.message),
    )


def check_document(
    document: Any,
    process: str,
    objects: list[str] | None = None,
    profile: str | os.PathLike | Mapping[str, Any] | None = None,
    pull_direction: Any = None,
    build_direction: Any = None,
    material: str | None = None,
) -> DfmResult:
    """Every enabled rule of ``process`` over ``objects`` (default: the document's parts)."""
    prof = load_profile(process, profile, material=material, pull_direction=pull_direction, build_direction=build_direction)
    if objects is None:
        targets = [Target(obj, global_shape(obj)) for obj in default_targets(document)]
    else:
        targets = []
        for name in objects:
            element = resolve_object(document, name)
            targets.append(Target(element.obj, element.shape))
    result = DfmResult(profile=prof)
    loaded = load_rules()
    enabled = prof.enabled_rules()
    result.not_implemented = [r for r in enabled if r in loaded.missing]
    for rule_id in enabled:
        if rule_id in loaded.errors:
            result.findings.append(
                Finding(
                    rule=rule_id,
                    severity=Severity.ERROR,
                    message=f"rule {rule_id} could not be loaded ({loaded.errors[rule_id]}); its result is unknown",
                    suggestion="This is a defect of the checker: report it",
                )
            )

    # Validity first: it decides which objects the other rules may measure.
    from .rules.geom_invalid_solid import diagnose

    validity = prof.rules.get("geom.invalid_solid")  # gates even when its findings are turned off
    valid: list[Target] = []
    inspected: list[Target] = []
    for target in targets:
        try:
            problems = diagnose(target, validity) if validity is not None else []
        except Exception as exc:  # the kernel choked on the shape itself
            result.findings.append(_crash("geom.invalid_solid", target, exc))
            result.not_checked.append({"object": target.name, "reason": "its shape could not be inspected"})
            continue
        inspected.append(target)
        blocking = [p for p in problems if p.blocking]
        if blocking:
            result.not_checked.append({"object": target.name, "reason": blocking[0].message})
        else:
            valid.append(target)
    result.checked = [t.name for t in valid]

    for rule_id in enabled:
        rule = loaded.rules.get(rule_id)
        if rule is None:
            continue
        result.rules_run.append(rule_id)
        settings = prof.settings(rule_id)
        if rule_id == "geom.invalid_solid":
            for target in inspected:
                _run(rule, RuleContext(rule, document, prof, settings, targets, target), result)
        elif rule.scope == "document":
            if valid:
                _run(rule, RuleContext(rule, document, prof, settings, valid), result)
        else:
            for target in valid:
                _run(rule, RuleContext(rule, document, prof, settings, valid, target), result)
    # One finding per thing (a hole, a pocket, a corner chain), whatever the rule measured face by face.
    things = {rule_id: rule.thing for rule_id, rule in loaded.rules.items() if rule.scope == "object"}
    things.pop("geom.invalid_solid", None)  # each validity problem is its own
    result.findings = _order(group_findings(result.findings, valid, things))
    return result


def run_dfm(
    document: Any,
    process: str,
    objects: list[str] | None = None,
    profile: str | os.PathLike | Mapping[str, Any] | None = None,
    pull_direction: Any = None,
    build_direction: Any = None,
    material: str | None = None,
) -> list[Finding]:
    """The findings of ``check_document`` (see there)."""
    return check_document(document, process, objects, profile, pull_direction, build_direction, material).findings

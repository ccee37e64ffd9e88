"""An engineer's expected findings for a real part, and how far a check's findings agree with them.

The expectations are data (a TOML per part, tests/data/real_parts/): which rule should report which
feature, located by geometry that survives renumbering of faces (a point near the feature, or the
feature's axis and diameter), plus the rules that must stay silent. Scoring is what the precision/
recall bench and the real-parts test share, so both count the same way.

Matching, per part and rule:
- a finding meets an expectation of the same rule when its ``location``, or any element it names
  (face/edge/vertex of its object), falls on the expectation's locator;
- each finding goes to the nearest expectation it meets; an expectation accepts up to ``max_count``
  findings (default 1: one finding per thing) and those are true findings; more findings on the same
  feature, or findings meeting no expectation, are false findings;
- a required expectation that no finding meets is a miss (false negative); optional ones
  (``required = false``: the engineer would accept the finding but does not demand it) never are.
Precision = true findings / all findings of the rule; recall = met / required expectations. Only the
rules a part judges are scored (all rules of its process with ``judged = "all"``), so a part written
for the hole rules does not count, e.g., its wall findings.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadArguments
from .finding import Finding, Severity

SCHEMA = "freecad-spatial/expected-findings@1"
DEFAULT_TOLERANCE = 0.5  # mm: how far off a locator a finding's geometry may lie

Point = tuple[float, float, float]
# (object name, element name) -> a Part shape in global coordinates, or None if unknown
ElementLookup = Callable[[str | None, str], Any]


def _point(value: Any, what: str) -> Point:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(c, (int, float)) for c in value)):
        raise BadArguments(f"{what} must be [x, y, z] in mm, got {value!r:.60}")
    return (float(value[0]), float(value[1]), float(value[2]))


@dataclass(frozen=True)
class Locator:
    """Where a feature is: within ``within`` mm of ``near``, or on the cylinder of ``diameter`` around
    the axis through ``axis_point`` along ``axis`` (within ``along`` mm of the point, axially)."""

    near: Point | None = None
    within: float = DEFAULT_TOLERANCE
    axis_point: Point | None = None
    axis: Point | None = None
    diameter: float | None = None
    along: float = math.inf

    def distance(self, p: Point) -> float:
        """How far ``p`` is outside the locator (0 when on it); smaller is nearer."""
        if self.near is not None:
            return max(0.0, math.dist(p, self.near) - self.within)
        assert self.axis_point is not None and self.axis is not None and self.diameter is not None
        d = [p[i] - self.axis_point[i] for i in range(3)]
        n = math.sqrt(sum(c * c for c in self.axis)) or 1.0
        u = [c / n for c in self.axis]
        axial = sum(d[i] * u[i] for i in range(3))
        radial = math.sqrt(max(0.0, sum(c * c for c in d) - axial * axial))
        off_radius = max(0.0, radial - self.diameter / 2 - self.within)
        off_axis = max(0.0, abs(axial) - self.along)
        return math.hypot(off_radius, off_axis)

    def centre(self) -> Point:
        return self.near if self.near is not None else self.axis_point  # type: ignore[return-value]


@dataclass(frozen=True)
class Expectation:
    """One finding an engineer expects (or accepts) on one feature."""

    rule: str
    locator: Locator
    severity: Severity | None
    reason: str
    required: bool = True
    max_count: int = 1
    feature: str = ""

    def describe(self) -> str:
        return f"{self.rule} on {self.feature or self.locator.centre()}"


@dataclass
class PartSpec:
    """A corpus part: how to get it, which process checks it, and what the engineer expects."""

    name: str
    process: str
    path: Path  # the TOML
    build: str | None = None  # builder name in the corpus's parts.py
    step: Path | None = None  # or a STEP file
    units: str = "mm"
    standards: str = ""
    judged: frozenset[str] | None = None  # None: every rule of the process
    must_not: tuple[str, ...] = ()
    expectations: list[Expectation] = field(default_factory=list)
    suite: bool = True  # fast enough for the test suite

    def judges(self, rule: str) -> bool:
        return self.judged is None or rule in self.judged


def _locator(entry: dict, where: str) -> Locator:
    within = float(entry.get("within", DEFAULT_TOLERANCE))
    if "near" in entry:
        return Locator(near=_point(entry["near"], f"{where}.near"), within=within)
    if "axis" in entry:
        axis = entry["axis"]
        if not isinstance(axis, dict) or not {"point", "direction", "diameter"} <= set(axis):
            raise BadArguments(f"{where}.axis needs point, direction and diameter")
        return Locator(
            axis_point=_point(axis["point"], f"{where}.axis.point"),
            axis=_point(axis["direction"], f"{where}.axis.direction"),
            diameter=float(axis["diameter"]),
            along=float(axis.get("along", math.inf)),
            within=within,
        )
    raise BadArguments(f"{where} needs a locator: near = [x, y, z] or axis = {{point, direction, diameter}}")


def load_part(path: str | Path) -> PartSpec:
    """One expectation TOML; raises BadArguments on anything malformed (a typo must not pass silently)."""
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise BadArguments(f"{path.name}: schema must be {SCHEMA!r}")
    for key in ("part", "process"):
        if not isinstance(data.get(key), str):
            raise BadArguments(f"{path.name}: '{key}' is required")
    source = data.get("source", {})
    build, step = source.get("build"), source.get("step")
    if (build is None) == (step is None):
        raise BadArguments(f"{path.name}: [source] needs exactly one of build or step")
    judged_raw = data.get("judged", "all")
    if judged_raw == "all":
        judged = None
    elif isinstance(judged_raw, list) and all(isinstance(r, str) for r in judged_raw):
        judged = frozenset(judged_raw)
    else:
        raise BadArguments(f"{path.name}: judged must be \"all\" or a list of rule ids")
    expectations = []
    for i, entry in enumerate(data.get("expect", [])):
        where = f"{path.name}: expect[{i}]"
        if not isinstance(entry.get("rule"), str) or not isinstance(entry.get("reason"), str):
            raise BadArguments(f"{where} needs rule and reason")
        severity = entry.get("severity")
        expectations.append(
            Expectation(
                rule=entry["rule"],
                locator=_locator(entry, where),
                severity=Severity.parse(severity) if severity is not None else None,
                reason=entry["reason"],
                required=bool(entry.get("required", True)),
                max_count=int(entry.get("max_count", 1)),
                feature=str(entry.get("feature", "")),
            )
        )
    must_not = tuple(data.get("must_not", []))
    if judged is not None:
        unjudged = [e.rule for e in expectations if e.rule not in judged] + [r for r in must_not if r not in judged]
        if unjudged:
            raise BadArguments(f"{path.name}: rules {sorted(set(unjudged))} are expected but not judged")
    for rule in must_not:
        if any(e.rule == rule for e in expectations):
            raise BadArguments(f"{path.name}: {rule} is both expected and in must_not")
    return PartSpec(
        name=data["part"],
        process=data["process"],
        path=path,
        build=build,
        step=(path.parent / step).resolve() if step else None,
        units=str(data.get("units", "mm")),
        standards=str(data.get("standards", "")),
        judged=judged,
        must_not=must_not,
        expectations=expectations,
        suite=bool(data.get("suite", True)),
    )


def load_corpus(folder: str | Path) -> list[PartSpec]:
    """Every ``*.toml`` of ``folder``, by name."""
    return [load_part(p) for p in sorted(Path(folder).glob("*.toml"))]


def _points_of(finding: Finding, element: ElementLookup) -> list[Any]:
    """The finding's location and the shapes of its elements (global coordinates)."""
    out: list[Any] = []
    if finding.location is not None:
        out.append(tuple(finding.location))
    for name in finding.elements:
        shape = element(finding.object, name)
        if shape is not None:
            out.append(shape)
    return out


def locator_distance(locator: Locator, finding: Finding, element: ElementLookup) -> float:
    """How far the finding's geometry lies outside the locator (0: on it); inf without geometry."""
    best = math.inf
    for item in _points_of(finding, element):
        if isinstance(item, tuple):
            best = min(best, locator.distance(item))
        else:
            best = min(best, _shape_distance(locator, item))
        if best == 0.0:
            break
    return best


def _shape_distance(locator: Locator, shape: Any) -> float:
    import FreeCAD
    import Part

    if locator.near is not None:
        gap = shape.distToShape(Part.Vertex(FreeCAD.Vector(*locator.near)))[0]
        return max(0.0, gap - locator.within)
    # an axis: the element's vertices and its centre must lie on the cylinder's band
    points = [tuple(v.Point) for v in shape.Vertexes]
    com = getattr(shape, "CenterOfMass", None)
    if com is not None:
        points.append(tuple(com))
    return min((locator.distance(p) for p in points), default=math.inf)


@dataclass
class RuleScore:
    """One rule's tally over one part or a corpus."""

    true: int = 0  # findings on an expected feature
    false: int = 0  # findings on no expected feature, or beyond max_count on one
    met: int = 0  # required expectations met
    missed: int = 0  # required expectations not met
    severity_mismatch: int = 0  # true findings whose severity differs from the expected one

    def add(self, other: RuleScore) -> None:
        self.true += other.true
        self.false += other.false
        self.met += other.met
        self.missed += other.missed
        self.severity_mismatch += other.severity_mismatch

    @property
    def precision(self) -> float | None:
        total = self.true + self.false
        return self.true / total if total else None

    @property
    def recall(self) -> float | None:
        total = self.met + self.missed
        return self.met / total if total else None

    def to_dict(self) -> dict:
        return {
            "tp": self.true,
            "fp": self.false,
            "fn": self.missed,
            "expected_met": self.met,
            "precision": None if self.precision is None else round(self.precision, 4),
            "recall": None if self.recall is None else round(self.recall, 4),
            "severity_mismatch": self.severity_mismatch,
        }


@dataclass
class PartScore:
    """How one part's findings compare with its expectations."""

    spec: PartSpec
    rules: dict[str, RuleScore] = field(default_factory=dict)
    false_findings: list[Finding] = field(default_factory=list)
    missed: list[Expectation] = field(default_factory=list)
    unjudged: int = 0  # findings of rules this part does not judge

    def to_dict(self) -> dict:
        return {
            "part": self.spec.name,
            "process": self.spec.process,
            "rules": {r: s.to_dict() for r, s in sorted(self.rules.items())},
            "false_findings": [
                {"rule": f.rule, "elements": list(f.elements)[:6], "location": list(f.location) if f.location else None,
                 "message": f.message[:160]}
                for f in self.false_findings
            ],
            "missed": [{"rule": e.rule, "feature": e.feature, "reason": e.reason} for e in self.missed],
            "unjudged_findings": self.unjudged,
        }


def score_part(spec: PartSpec, findings: Iterable[Finding], element: ElementLookup) -> PartScore:
    """Compares ``findings`` with ``spec`` as the module docstring says."""
    result = PartScore(spec)
    taken: dict[int, int] = {}  # expectation index -> findings accepted
    for finding in findings:
        if not spec.judges(finding.rule):
            result.unjudged += 1
            continue
        score = result.rules.setdefault(finding.rule, RuleScore())
        candidates = []
        for i, exp in enumerate(spec.expectations):
            if exp.rule != finding.rule:
                continue
            gap = locator_distance(exp.locator, finding, element)
            if gap == 0.0:
                where = finding.location or exp.locator.centre()
                candidates.append((math.dist(where, exp.locator.centre()), i))
        chosen = next((i for _, i in sorted(candidates) if taken.get(i, 0) < spec.expectations[i].max_count), None)
        if chosen is None:
            score.false += 1
            result.false_findings.append(finding)
            continue
        taken[chosen] = taken.get(chosen, 0) + 1
        score.true += 1
        expected = spec.expectations[chosen].severity
        if expected is not None and finding.severity != expected:
            score.severity_mismatch += 1
    for i, exp in enumerate(spec.expectations):
        if not exp.required:
            continue
        score = result.rules.setdefault(exp.rule, RuleScore())
        if taken.get(i):
            score.met += 1
        else:
            score.missed += 1
            result.missed.append(exp)
    return result


def total_by_rule(scores: Iterable[PartScore]) -> dict[str, RuleScore]:
    """Per rule, the sum over parts."""
    totals: dict[str, RuleScore] = {}
    for part in scores:
        for rule, score in part.rules.items():
            totals.setdefault(rule, RuleScore()).add(score)
    return dict(sorted(totals.items()))


def document_lookup(document: Any) -> ElementLookup:
    """Element shapes of a document's objects, in global coordinates (what findings name)."""
    from ..refs import global_shape

    cache: dict[str, Any] = {}

    def lookup(object_name: str | None, element_name: str) -> Any:
        if object_name is None:
            return None
        if object_name not in cache:
            obj = document.getObject(object_name)
            cache[object_name] = global_shape(obj) if obj is not None else None
        shape = cache[object_name]
        if shape is None:
            return None
        try:
            return shape.getElement(element_name)
        except Exception:  # an element the shape does not have: no geometry to compare
            return None

    return lookup

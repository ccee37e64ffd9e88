"""Findings on real parts against what an experienced engineer expects (tests/data/real_parts/*.toml).

The corpus: catalogue parts built by tests/data/real_parts/parts.py (modelled threads, counterbores,
fillets, draft, a bent sheet) and NIST models. Every part fast enough for the suite is checked once;
per part the expected findings must be there and the rules it names in ``must_not`` silent, and over
the corpus each rule's precision (true findings / findings, matched as spatial_tools/dfm/expectations.py
says) must be at least 0.9. bench/findings_precision.py prints the same figures for the whole corpus.
"""

from __future__ import annotations

import math
import sys

import pytest
from conftest import DATA, FreeCAD, Part

from freecad_spatial.spatial_tools.dfm.expectations import (
    Expectation,
    Locator,
    PartSpec,
    load_part,
    score_part,
    total_by_rule,
)
from freecad_spatial.spatial_tools.dfm.finding import Finding, Severity
from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.errors import BadArguments
from freecad_spatial.spatial_tools.gdt.validation import CATALOGUE as GDT_RULES

CORPUS = DATA / "real_parts"
sys.path.insert(0, str(CORPUS))
import corpus  # noqa: E402
import parts  # noqa: E402

PRECISION = 0.9
SUITE = corpus.specs(suite_only=True)
PROCESSES = sorted({s.process for s in SUITE})
# A STEP part is checked as `check` checks it (PMI imported, gdt.* findings added): those rules are scored too.
RULES = sorted({rule for p in PROCESSES for rule in load_profile(p).enabled_rules()} | set(GDT_RULES))
_results: dict[str, tuple] = {}


def checked(spec: PartSpec) -> tuple:
    """(score, findings) of one part, checked once per test session."""
    if spec.name not in _results:
        score, findings, _ = corpus.check_part(spec)
        _results[spec.name] = (score, findings)
    return _results[spec.name]


def summary(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.rule} {list(f.elements)[:4]} at {f.location}: {f.message[:100]}" for f in findings)


# --- the corpus itself -----------------------------------------------------------------------------


def test_every_part_has_a_source_and_a_judgement():
    specs = corpus.specs()
    assert len([s for s in specs if s.build]) >= 7 and len([s for s in specs if s.step]) >= 3
    for spec in specs:
        assert spec.build in parts.BUILDERS if spec.build else spec.step.is_file(), spec.name
        assert spec.standards, f"{spec.name}: say which standard the dimensions come from"
        assert spec.expectations or spec.must_not, f"{spec.name} judges nothing"
        for rule in list(spec.must_not) + [e.rule for e in spec.expectations]:
            known = set(load_profile(spec.process).enabled_rules()) | (set(GDT_RULES) if spec.step else set())
            assert rule in known, f"{spec.name}: unknown rule {rule}"


def test_parts_have_their_catalogue_dimensions():
    """Spot checks against values constructed from the standards (radii, counts, an exact volume)."""

    def radii(shape) -> list[float]:
        return sorted(round(f.Surface.Radius, 4) for f in shape.Faces if type(f.Surface).__name__ == "Cylinder")

    collar = parts.shaft_collar()
    assert collar.isValid() and len(collar.Solids) == 1
    assert {2.5, 10.0, 16.0} <= set(radii(collar))  # M6 tap drill Ø5, Ø20 bore, Ø32 body
    swept = [f for f in collar.Faces if type(f.Surface).__name__ not in ("Cylinder", "Plane")]
    assert len(swept) >= 3, "the modelled thread's flanks are missing"

    flange = parts.plate_flange()
    assert radii(flange).count(4.5) == 6 and radii(flange).count(7.5) == 6
    ring = math.pi * (60**2 - 25**2) * 20
    holes = 6 * (math.pi * 4.5**2 * 20 + math.pi * (7.5**2 - 4.5**2) * 9)
    chamfers = 2 * 2 * math.pi * (60 - 1 / 3) * 0.5  # 1×45° triangles revolved about the axis (Pappus)
    assert flange.Volume == pytest.approx(ring - holes - chamfers, rel=1e-6)

    shaft = parts.turned_shaft()
    assert shaft.isValid() and 2.0 in radii(shaft) and 12.5 in radii(shaft)
    assert shaft.BoundBox.ZMax == pytest.approx(115.0, abs=0.05)

    nut = parts.gland_nut()
    assert nut.isValid() and {6.5, 9.25} <= set(radii(nut))
    sheet = parts.sheet_bracket()
    assert sheet.Volume == pytest.approx(
        2 * (50 * (40 - 4) + 50 * (30 - 4)) + math.pi / 4 * (4**2 - 2**2) * 50 - 4 * math.pi * 3.3**2 * 2, rel=1e-6
    )


def test_locators_measure_from_the_feature():
    near = Locator(near=(10.0, 0.0, 0.0), within=2.0)
    assert near.distance((11.0, 0.0, 0.0)) == 0.0 and near.distance((15.0, 0.0, 0.0)) == pytest.approx(3.0)
    axis = Locator(axis_point=(0.0, 0.0, 0.0), axis=(0.0, 0.0, 2.0), diameter=4.0, along=10.0, within=0.5)
    assert axis.distance((2.4, 0.0, 9.0)) == 0.0  # on the bore wall, inside the span
    assert axis.distance((0.0, 3.5, 0.0)) == pytest.approx(1.0)  # 3.5 from the axis: 1 beyond r + within
    assert axis.distance((0.0, 0.0, 14.0)) == pytest.approx(4.0)  # past the end of the span


def test_scoring_counts_one_finding_per_feature(doc):
    """Two findings on one expected hole: one true, one false (a duplicate); a finding elsewhere: false;
    an unmet required expectation: a miss."""
    spec = PartSpec(
        name="t", process="cnc-3axis", path=CORPUS / "t.toml", build="x", judged=frozenset({"cnc.deep_hole"}),
        expectations=[
            Expectation("cnc.deep_hole", Locator(near=(0.0, 0.0, 0.0), within=3.0), Severity.ERROR, "deep"),
            Expectation("cnc.deep_hole", Locator(near=(50.0, 0.0, 0.0), within=3.0), Severity.ERROR, "deep too"),
        ],
    )

    def deep(x: float, severity: str = "error") -> Finding:
        return Finding("cnc.deep_hole", severity, "m", object="P", location=(x, 0.0, 0.0))

    other = Finding("cnc.thin_wall", "error", "m", object="P", location=(0.0, 0.0, 0.0))
    score = score_part(spec, [deep(1.0), deep(-1.0, "warning"), deep(20.0), other], lambda o, e: None)
    rule = score.rules["cnc.deep_hole"]
    assert (rule.true, rule.false, rule.met, rule.missed) == (1, 2, 1, 1)
    assert rule.precision == pytest.approx(1 / 3) and rule.recall == pytest.approx(0.5)
    assert score.unjudged == 1 and [e.reason for e in score.missed] == ["deep too"]


def test_element_geometry_places_a_finding_without_a_location(doc):
    """A finding that names a face but has no location is placed by that face's geometry."""
    box = Part.makeBox(10, 10, 10)
    spec = PartSpec(name="t", process="cnc-3axis", path=CORPUS / "t.toml", build="x",
                    expectations=[Expectation("cnc.thin_wall", Locator(near=(5.0, 5.0, 10.5), within=1.0), None, "r")])
    top = next(i for i, f in enumerate(box.Faces, 1) if f.BoundBox.ZMin > 9.9)
    finding = Finding("cnc.thin_wall", "warning", "m", object="P", elements=(f"Face{top}",))
    found = score_part(spec, [finding], lambda o, e: box.getElement(e)).rules["cnc.thin_wall"]
    assert (found.true, found.false) == (1, 0)
    bottom = next(i for i, f in enumerate(box.Faces, 1) if f.BoundBox.ZMax < 0.1)
    finding = Finding("cnc.thin_wall", "warning", "m", object="P", elements=(f"Face{bottom}",))
    assert score_part(spec, [finding], lambda o, e: box.getElement(e)).rules["cnc.thin_wall"].false == 1


def test_a_malformed_expectation_file_is_an_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = "freecad-spatial/expected-findings@1"\npart = "x"\nprocess = "cnc-3axis"\n'
                   'source = { build = "x" }\n[[expect]]\nrule = "cnc.deep_hole"\nreason = "r"\n')
    with pytest.raises(BadArguments, match="needs a locator"):
        load_part(bad)


# --- the rules on the corpus -----------------------------------------------------------------------


@pytest.mark.parametrize("spec", [s for s in SUITE if any(e.required for e in s.expectations)], ids=lambda s: s.name)
def test_expected_findings_are_reported(spec):
    score, findings = checked(spec)
    assert not score.missed, (
        f"{spec.name}: missing " + "; ".join(e.describe() for e in score.missed) + "\nreported:\n" + summary(findings)
    )


@pytest.mark.parametrize("spec", [s for s in SUITE if s.must_not], ids=lambda s: s.name)
def test_rules_that_must_not_fire_are_silent(spec):
    _, findings = checked(spec)
    wrong = [f for f in findings if f.rule in spec.must_not]
    assert not wrong, f"{spec.name}: {len(wrong)} findings an engineer rejects:\n" + summary(wrong)


@pytest.mark.parametrize("rule", RULES)
def test_precision_per_rule(rule):
    """Precision ≥ 0.9 for every rule over the suite's parts (a rule that reports nothing passes)."""
    scores = [checked(spec)[0] for spec in SUITE]
    total = total_by_rule(scores).get(rule)
    if total is None or total.precision is None:
        return
    false = [f for s in scores for f in s.false_findings if f.rule == rule]
    assert total.precision >= PRECISION, (
        f"{rule}: precision {total.precision:.2f} ({total.true} true, {total.false} false):\n" + summary(false[:15])
    )


@pytest.mark.parametrize("spec", [s for s in SUITE if s.step and any(r.startswith("gdt.") for r in s.judged or ())],
                         ids=lambda s: s.name)
def test_a_step_part_is_checked_with_its_pmi(spec):
    """The NIST parts judge gdt.* rules: their findings come from the file's own PMI, imported as `check` does."""
    _, findings = checked(spec)
    assert any(f.rule.startswith("gdt.") for f in findings) or not any(e.rule.startswith("gdt.") for e in spec.expectations)


def test_freecad_is_the_real_kernel():
    assert FreeCAD.Version()[0] in ("0", "1")

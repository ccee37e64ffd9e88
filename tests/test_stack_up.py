"""stack_up: published worked examples, hand-computed chains, Monte Carlo, Cp/Cpk, chains measured in a model."""

import json
import math

import pytest
from conftest import ORACLES, FreeCAD, Part, V, add_shape, error, face_where, ok

from freecad_spatial.spatial_tools.tools import stack_up as stack_up_tool

ORACLE = json.loads((ORACLES / "tolerances.json").read_text())["stack_ups"]


@pytest.mark.parametrize("example", ORACLE, ids=lambda e: e["id"])
def test_published_examples(example):
    r = ok(None, "stack_up", {"contributors": example["contributors"]})
    expect = example["expect"]
    assert r["mean"] == pytest.approx(expect["mean"], abs=1e-9)
    for method in ("worst_case", "rss"):
        for end in ("min", "max"):
            # the oracle prints rounded values: agree to half a unit of its last digit
            expected = expect[method][end]
            decimals = len(repr(expected).partition(".")[2])
            assert r[method][end] == pytest.approx(expected, abs=0.5 * 10**-decimals + 1e-12), (method, end)
    assert sum(c["percent"] for c in r["contributions"]) == pytest.approx(100)


def chain(*parts):
    return [{"name": n, "nominal": nom, "plus": p, "minus": m, "direction": d, **extra}
            for n, nom, p, m, d, extra in parts]


def test_hand_computed_chain():
    # A = 10 ±0.3 adds, B = 4 +0.2/-0 subtracts: mean 10 - 4.1 = 5.9, half bands 0.3 and 0.1
    r = ok(None, "stack_up", {"contributors": chain(("A", 10, 0.3, 0.3, 1, {}), ("B", 4, 0.2, 0, -1, {}))})
    assert r["nominal"] == pytest.approx(6) and r["mean"] == pytest.approx(5.9)
    assert r["worst_case"]["min"] == pytest.approx(5.5) and r["worst_case"]["max"] == pytest.approx(6.3)
    assert r["rss"]["tolerance"] == pytest.approx(math.sqrt(0.09 + 0.01))
    a, b = r["contributions"]
    assert (a["percent"], b["percent"]) == pytest.approx((90, 10))
    assert (a["percent_worst_case"], b["percent_worst_case"]) == pytest.approx((75, 25))
    assert (a["sensitivity"], b["sensitivity"]) == (1, -1)
    # Bender: 1.5 x 0.316 = 0.474 exceeds the worst case 0.4, so it is capped there
    assert r["modified_rss"]["tolerance"] == pytest.approx(0.4) and r["modified_rss"]["capped"]


def test_modified_rss_uncapped_and_sensitivity():
    parts = [(f"P{i}", 10, 0.1, 0.1, 1, {}) for i in range(9)]
    r = ok(None, "stack_up", {"contributors": chain(*parts)})
    assert r["rss"]["tolerance"] == pytest.approx(0.3)
    assert r["modified_rss"]["tolerance"] == pytest.approx(0.45) and not r["modified_rss"]["capped"]
    r = ok(None, "stack_up", {"contributors": chain(("lever", 10, 0.1, 0.1, 2.5, {}))})
    assert r["nominal"] == pytest.approx(25) and r["worst_case"]["tolerance"] == pytest.approx(0.25)


def test_monte_carlo_normal_is_seeded_and_matches_rss():
    contributors = chain(*[(f"P{i}", 5, 0.06, 0.06, 1 if i % 2 else -1, {}) for i in range(6)])
    args = {"contributors": contributors, "methods": ["monte_carlo"], "samples": 200_000, "seed": 7}
    r = ok(None, "stack_up", args)
    assert r == ok(None, "stack_up", args)
    mc = r["monte_carlo"]
    sigma = math.sqrt(6 * 0.02**2)  # each band ±3σ
    assert mc["sigma"] == pytest.approx(sigma, rel=0.01) and mc["mean"] == pytest.approx(0, abs=0.001)
    assert mc["samples"] == 200_000 and mc["seed"] == 7
    assert mc["percentile_99_865"] == pytest.approx(3 * sigma, rel=0.03)
    assert mc["max"] < r["worst_case"]["max"]
    other = ok(None, "stack_up", {**args, "seed": 8})["monte_carlo"]
    assert other["min"] != mc["min"]


def test_monte_carlo_uniform():
    contributors = chain(("A", 10, 0.3, 0.3, 1, {"distribution": "uniform"}), ("B", 5, 0.3, 0.3, -1, {"distribution": "uniform"}))
    r = ok(None, "stack_up", {"contributors": contributors, "methods": ["monte_carlo"], "seed": 1})
    mc = r["monte_carlo"]
    assert mc["sigma"] == pytest.approx(math.sqrt(2 * 0.3**2 / 3), rel=0.01)  # uniform σ = a/√3
    assert r["statistical"]["sigma"] == pytest.approx(math.sqrt(2 * 0.3**2 / 3))
    assert 4.4 <= mc["min"] and mc["max"] <= 5.6  # never outside the worst case


def test_capability():
    # one contributor 10 ±0.3 made with σ 0.05 about 10.1: Cp 0.6/0.3 = 2, Cpk 0.2/0.15
    contributors = chain(("A", 10, 0.3, 0.3, 1, {"sigma": 0.05, "process_mean": 10.1}))
    r = ok(None, "stack_up", {"contributors": contributors, "spec_lower": 9.7, "spec_upper": 10.3,
                              "methods": ["monte_carlo"], "samples": 400_000})
    st = r["statistical"]
    assert st["cp"] == pytest.approx(2) and st["cpk"] == pytest.approx(0.2 / 0.15)
    expected_out = 0.5 * math.erfc(4 / math.sqrt(2)) + 0.5 * math.erfc(8 / math.sqrt(2))
    assert st["fraction_outside"] == pytest.approx(expected_out, rel=1e-4)  # results carry 9 decimals
    assert r["contributions"][0]["cp"] == pytest.approx(2) and r["contributions"][0]["cpk"] == pytest.approx(4 / 3)
    assert r["monte_carlo"]["cpk"] == pytest.approx(4 / 3, rel=0.02)
    one_sided = ok(None, "stack_up", {"contributors": contributors, "spec_upper": 10.3})["statistical"]
    assert "cp" not in one_sided and one_sided["cpk"] == pytest.approx(4 / 3)


def test_typed_chain_errors():
    assert error(None, "stack_up", {})["code"] == "bad_arguments"
    assert error(None, "stack_up", {"contributors": []})["code"] == "bad_arguments"
    bad_minus = chain(("A", 0.375, 0, -0.031, -1, {}))
    assert "minus is the amount below nominal" in error(None, "stack_up", {"contributors": bad_minus})["message"]
    assert error(None, "stack_up", {"contributors": chain(("A", 1, 0.1, 0.1, 1, {}), ("A", 2, 0.1, 0.1, 1, {}))})["code"] == "bad_arguments"
    assert error(None, "stack_up", {"contributors": chain(("A", 1, 0.1, 0.1, 0, {}))})["code"] == "bad_arguments"
    assert error(None, "stack_up", {"contributors": chain(("A", 1, 0.1, 0.1, 1, {})), "methods": ["six_sigma"]})["code"] == "bad_arguments"
    missing = [{"name": "A", "nominal": 1, "plus": 0.1, "minus": 0.1}]
    assert error(None, "stack_up", {"contributors": missing})["code"] == "bad_arguments"
    assert error(None, "stack_up", {"chain": {"datum": "A.Face1", "target": "A.Face2"}})["code"] == "no_document"


# --- chains measured in the model -------------------------------------------------


def flat(obj, z):
    """The planar face of ``obj`` at height z (normal along Z)."""
    return face_where(obj, lambda f: f.Surface.__class__.__name__ == "Plane"
                      and abs(abs(f.normalAt(0, 0).z) - 1) < 1e-9 and abs(f.CenterOfMass.z - z) < 1e-9)


@pytest.fixture
def stacked(doc):
    """Base 10 mm high on the floor, Top 15 mm high resting on it."""
    base = add_shape(doc, "Base", Part.makeBox(40, 40, 10))
    top = add_shape(doc, "Top", Part.makeBox(40, 40, 15), FreeCAD.Placement(V(0, 0, 10), FreeCAD.Rotation()))
    return doc, base, top


def test_model_chain_through_two_parts(stacked):
    doc, base, top = stacked
    faces = {"datum": flat(base, 0), "via": [flat(base, 10), flat(top, 10)], "target": flat(top, 25)}
    r = ok(doc, "stack_up", {"chain": faces, "general_class": "m"})
    assert r["nominal"] == pytest.approx(25)
    # ISO 2768-m: 10 and 15 mm are both in 6-30: ±0.2 each
    assert r["worst_case"]["tolerance"] == pytest.approx(0.4)
    assert r["rss"]["tolerance"] == pytest.approx(math.sqrt(2) * 0.2)
    assert [c["nominal"] for c in r["contributions"]] == pytest.approx([10, 15])
    assert r["chain"]["direction"] == pytest.approx([0, 0, 1])
    assert [s.get("contact", False) for s in r["chain"]["steps"]] == [False, True, False]
    assert r["contributions"][0]["source"] == "ISO 2768-m"


def test_model_chain_with_a_step_back_and_the_document_class(doc):
    solid = Part.makeBox(40, 20, 30).fuse(Part.makeBox(40, 20, 12, V(0, 20, 0))).removeSplitter()
    step = add_shape(doc, "Step", solid)
    faces = {"datum": flat(step, 30), "via": [flat(step, 0)], "target": flat(step, 12)}
    assert "GeneralTolerance" in error(doc, "stack_up", {"chain": faces})["message"]
    doc.Meta = {**doc.Meta, "GeneralTolerance": "ISO 2768-cL"}
    r = ok(doc, "stack_up", {"chain": faces})
    # top down to the floor (+30), back up to the step (-12): the step lies 18 below the top
    assert r["nominal"] == pytest.approx(18) and r["chain"]["direction"] == pytest.approx([0, 0, -1])
    assert [c["sensitivity"] for c in r["contributions"]] == [1, -1]
    # ISO 2768-c: 30 mm ±0.5 (6-30), 12 mm ±0.5
    assert r["worst_case"]["tolerance"] == pytest.approx(1.0)
    # an explicit tolerance for one step wins over the class
    r = ok(doc, "stack_up", {"chain": {**faces, "tolerances": [{"plus": 0.05, "minus": 0.05}, None]}})
    assert r["worst_case"]["tolerance"] == pytest.approx(0.55)


def test_annotation_hook_is_asked_first(stacked):
    doc, base, top = stacked

    def provider(document, a, b, nominal):
        if a.obj is base and b.obj is base:
            return stack_up_tool.StepTolerance(0.02, 0.0, "annotation: Base height")
        return None

    stack_up_tool.register_tolerance_provider(provider)
    try:
        faces = {"datum": flat(base, 0), "via": [flat(base, 10), flat(top, 10)], "target": flat(top, 25)}
        r = ok(doc, "stack_up", {"chain": faces, "general_class": "f"})
    finally:
        stack_up_tool.TOLERANCE_PROVIDERS.remove(provider)
    base_step, top_step = r["contributions"]
    assert base_step["source"] == "annotation: Base height" and base_step["max"] == pytest.approx(10.02)
    assert top_step["source"] == "ISO 2768-f" and top_step["max"] == pytest.approx(15.1)
    assert r["mean"] == pytest.approx(25.01)


def test_model_chain_errors(stacked):
    doc, base, top = stacked
    side = face_where(base, lambda f: abs(f.normalAt(0, 0).x + 1) < 1e-9)
    e = error(doc, "stack_up", {"chain": {"datum": flat(base, 0), "target": side}, "general_class": "m"})
    assert e["code"] == "not_applicable" and "across" in e["message"]
    e = error(doc, "stack_up", {"chain": {"datum": flat(base, 0), "target": flat(top, 25)}, "general_class": "m"})
    assert e["code"] == "not_applicable" and "touch" in e["message"]
    e = error(doc, "stack_up", {"chain": {"datum": "Base.Face99", "target": flat(top, 25)}, "general_class": "m"})
    assert e["code"] == "bad_reference"
    thin = add_shape(doc, "Thin", Part.makeBox(5, 5, 2), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    e = error(doc, "stack_up", {"chain": {"datum": flat(thin, 0), "target": flat(thin, 2)}, "general_class": "v"})
    assert e["code"] == "bad_arguments" and "chain.tolerances" in e["message"]
    ok_result = ok(doc, "stack_up", {"chain": {"datum": flat(base, 0), "target": flat(base, 10)}, "general_class": "mK"})
    assert ok_result["worst_case"]["tolerance"] == pytest.approx(0.2)


def test_size_dimension_annotations_tolerance_their_steps(stacked):
    """A SizeDimension linked to both faces of a step gives that step its deviations or ISO 286
    class; the other step keeps the general class; a lost annotation is not trusted."""
    from freecad_spatial.spatial_tools.annotations import store

    doc, base, top = stacked
    faces = {"datum": flat(base, 0), "via": [flat(base, 10), flat(top, 10)], "target": flat(top, 25)}
    height = store.add_size_dimension(doc, 10.0, [flat(base, 0), flat(base, 10)], upper=0.03, lower=-0.01)
    store.add_size_dimension(doc, 15.0, [flat(top, 10), flat(top, 25)], fit_code="h9")
    r = ok(doc, "stack_up", {"chain": faces, "general_class": "c"})
    base_step, top_step = r["contributions"]
    assert base_step["source"].startswith("size dimension") and height.Name in base_step["source"]
    assert (base_step["min"], base_step["max"]) == (pytest.approx(9.99), pytest.approx(10.03))
    # ISO 286 h9 for 10-18 mm: 0 / -0.043
    assert (top_step["min"], top_step["max"]) == (pytest.approx(14.957), pytest.approx(15.0))
    assert r["worst_case"]["min"] == pytest.approx(25 - 0.01 - 0.043) and r["worst_case"]["max"] == pytest.approx(25.03)
    height.Attachment = "lost"
    base_step = ok(doc, "stack_up", {"chain": faces, "general_class": "c"})["contributions"][0]
    assert base_step["source"] == "ISO 2768-c" and base_step["max"] == pytest.approx(10.5)  # c: ±0.5 for 6-30 mm

"""The DFM engine and the general rules: each defect found at the right place, its clean twin silent,
and a crashing rule reported as an error, never as a pass."""

from pathlib import Path

import pytest
from conftest import FreeCAD, Part, V, add_shape, call, ok

from freecad_spatial.spatial_tools.dfm import engine
from freecad_spatial.spatial_tools.dfm.engine import check_document, default_targets, run_dfm
from freecad_spatial.spatial_tools.dfm.finding import Finding, Severity
from freecad_spatial.spatial_tools.dfm.rules import Loaded, Rule, load_rules
from freecad_spatial.spatial_tools.errors import BadReference, NotApplicable


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def _edge_names(obj, predicate):
    return sorted(f"Edge{i}" for i, e in enumerate(obj.Shape.Edges, start=1) if predicate(e))


def test_open_shell_is_found_at_its_free_edges_and_the_box_is_clean(doc):
    box = Part.makeBox(10, 20, 30)
    top = [f for f in box.Faces if abs(f.CenterOfMass.z - 30) < 1e-9]
    shell = add_shape(doc, "Shell", Part.Shell([f for f in box.Faces if not f.isSame(top[0])]))
    add_shape(doc, "Twin", Part.makeBox(10, 20, 30), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    result = check_document(doc, "cnc-3axis")
    invalid = _by_rule(result.findings, "geom.invalid_solid")
    assert len(invalid) == 1, invalid
    finding = invalid[0]
    assert finding.severity is Severity.ERROR and finding.object == "Shell"
    # The free edges are exactly the four edges of the missing top face (z = 30).
    top_edges = _edge_names(shell, lambda e: abs(e.BoundBox.ZMin - 30) < 1e-9 and abs(e.BoundBox.ZMax - 30) < 1e-9)
    assert sorted(finding.elements) == top_edges and len(top_edges) == 4
    assert finding.location == pytest.approx((5.0, 10.0, 30.0))
    assert result.checked == ["Twin"]
    assert result.not_checked == [{"object": "Shell", "reason": finding.message}]


def test_zero_volume_solid_is_found_and_a_thin_twin_is_clean(doc):
    square = Part.Face(Part.makePolygon([V(0, 0, 0), V(10, 0, 0), V(10, 10, 0), V(0, 10, 0), V(0, 0, 0)]))
    back = square.copy()
    back.reverse()
    flat = Part.Solid(Part.Shell([square, back]))
    assert flat.isValid() and flat.Volume == 0  # the kernel itself calls it valid: the rule must not
    add_shape(doc, "Flat", flat)
    add_shape(doc, "Thin", Part.makeBox(10, 10, 0.01, V(20, 0, 0)))
    result = check_document(doc, "fdm")
    (finding,) = _by_rule(result.findings, "geom.invalid_solid")
    assert finding.object == "Flat" and "no volume" in finding.message
    assert finding.measured == pytest.approx(0.0) and finding.unit == "mm3"
    assert finding.location == pytest.approx((5.0, 5.0, 0.0))
    assert sorted(finding.elements) == ["Face1", "Face2"]
    assert result.checked == ["Thin"]


def test_invalid_solid_from_an_open_shell(doc):
    box = Part.makeBox(10, 10, 10)
    broken = Part.Solid(Part.Shell(box.Faces[:5]))
    assert not broken.isValid()
    add_shape(doc, "Broken", broken)
    (finding,) = _by_rule(run_dfm(doc, "sheet-metal"), "geom.invalid_solid")
    assert finding.object == "Broken" and "open shell" in finding.message and len(finding.elements) == 4


def test_loose_faces_beside_a_solid_are_a_warning_and_do_not_block(doc):
    solid = Part.makeBox(10, 10, 10)
    sheet = Part.makePlane(5, 5, V(20, 0, 0))
    add_shape(doc, "Mixed", Part.Compound([solid, sheet]))
    result = check_document(doc, "cnc-3axis")
    (finding,) = _by_rule(result.findings, "geom.invalid_solid")
    assert finding.severity is Severity.WARNING and finding.elements == ("Face7",)
    assert finding.location == pytest.approx((22.5, 2.5, 0.0))
    assert result.checked == ["Mixed"]


def test_interference_is_found_on_the_faces_that_bound_the_overlap(doc):
    a = add_shape(doc, "A", Part.makeBox(10, 10, 10))
    b = add_shape(doc, "B", Part.makeBox(10, 10, 10, V(5, 5, 5)))
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "fit.interference")
    assert finding.severity is Severity.ERROR and finding.object == "A"
    assert finding.measured == pytest.approx(125.0) and finding.limit == 0.0 and finding.unit == "mm3"
    assert finding.location == pytest.approx((7.5, 7.5, 7.5))

    def faces_at(obj, coordinate):
        names = []
        for i, f in enumerate(obj.Shape.Faces, start=1):
            c = f.CenterOfMass
            if any(abs(getattr(c, axis) - coordinate) < 1e-9 and f.BoundBox.__getattribute__(f"{axis.upper()}Length") < 1e-9 for axis in "xyz"):
                names.append(f"Face{i}")
        return sorted(names)

    assert sorted(finding.elements) == faces_at(a, 10.0)  # A's faces at x, y, z = 10
    assert sorted(finding.related) == sorted(f"B.{n}" for n in faces_at(b, 5.0))


def test_touching_bodies_and_declared_press_fits_are_not_interference(doc):
    add_shape(doc, "A", Part.makeBox(10, 10, 10))
    add_shape(doc, "Touching", Part.makeBox(10, 10, 10, V(10, 0, 0)))
    assert not _by_rule(run_dfm(doc, "cnc-3axis"), "fit.interference")
    add_shape(doc, "Pin", Part.makeCylinder(2, 20, V(5, 5, -5)))
    assert len(_by_rule(run_dfm(doc, "cnc-3axis"), "fit.interference")) == 1
    declared = {"rules": {"fit.interference": {"press_fits": [["Pin", "A"]]}}}
    assert not _by_rule(run_dfm(doc, "cnc-3axis", profile=declared), "fit.interference")


def test_two_overlapping_solids_in_one_object(doc):
    add_shape(doc, "Pair", Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(10, 10, 10, V(0, 0, 8))]))
    (finding,) = _by_rule(run_dfm(doc, "fdm"), "fit.interference")
    assert finding.object == "Pair" and "solids 1 and 2 of Pair" in finding.message
    assert finding.measured == pytest.approx(200.0) and finding.location == pytest.approx((5, 5, 9))


def test_reference_geometry_is_not_a_part(doc):
    """Origin planes (a one-face Shape on FreeCAD 1.x) and datum planes are not parts to check."""
    body = doc.addObject("PartDesign::Body", "Body")
    box = body.newObject("PartDesign::AdditiveBox", "Box")
    box.Length = box.Width = box.Height = 10
    datum = doc.addObject("PartDesign::Plane", "DatumPlane")  # outside the body: nothing consumes it
    datum.Placement = FreeCAD.Placement(V(0, 0, 5), FreeCAD.Rotation())
    doc.recompute()
    assert datum.Shape.Faces, "a datum plane has a face: the filter must be by type"
    assert [o.Name for o in default_targets(doc)] == ["Body"]
    assert check_document(doc, "cnc-3axis").checked == ["Body"]


def test_default_targets_are_the_final_shapes(doc):
    base = add_shape(doc, "Base", Part.makeBox(10, 10, 10))
    tool = add_shape(doc, "Tool", Part.makeCylinder(2, 10, V(5, 5, 0)))
    cut = doc.addObject("Part::Cut", "Cut")
    cut.Base, cut.Tool = base, tool
    doc.recompute()
    assert [o.Name for o in default_targets(doc)] == ["Cut"]
    # The operands overlap, but only the result is a part: no interference.
    assert not _by_rule(run_dfm(doc, "cnc-3axis"), "fit.interference")
    with pytest.raises(BadReference, match="no object named 'Nope'"):
        run_dfm(doc, "cnc-3axis", objects=["Nope"])


def _fake_rules(monkeypatch, check):
    real = load_rules()
    rule = Rule(id="cnc.deep_hole", title="t", description="d", help="h", check=check)
    missing = tuple(r for r in real.missing if r != "cnc.deep_hole")
    monkeypatch.setattr(engine, "load_rules", lambda: Loaded({**real.rules, "cnc.deep_hole": rule}, dict(real.errors), missing))


def test_a_crashing_rule_is_an_error_finding_naming_it(doc, monkeypatch):
    add_shape(doc, "Plate", Part.makeBox(10, 10, 10))

    def crash(ctx):
        return [1 / 0]

    _fake_rules(monkeypatch, crash)
    result = check_document(doc, "cnc-3axis")
    (finding,) = _by_rule(result.findings, "cnc.deep_hole")
    assert finding.severity is Severity.ERROR and finding.object == "Plate"
    assert "rule cnc.deep_hole crashed on Plate" in finding.message and "ZeroDivisionError" in finding.message
    assert "cnc.deep_hole" in result.rules_run and "cnc.deep_hole" not in result.not_implemented


def test_a_rule_returning_junk_is_a_crash_and_not_applicable_is_recorded(doc, monkeypatch):
    add_shape(doc, "Plate", Part.makeBox(10, 10, 10))
    _fake_rules(monkeypatch, lambda ctx: ["not a finding"])
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.deep_hole")
    assert "returned str instead of Finding" in finding.message

    def not_applicable(ctx):
        raise NotApplicable("Plate has no holes")

    _fake_rules(monkeypatch, not_applicable)
    result = check_document(doc, "cnc-3axis")
    assert not _by_rule(result.findings, "cnc.deep_hole")
    assert {"rule": "cnc.deep_hole", "object": "Plate", "reason": "Plate has no holes"} in result.skipped


def test_a_rule_module_that_cannot_load_is_an_error(doc, monkeypatch):
    add_shape(doc, "Plate", Part.makeBox(10, 10, 10))
    real = load_rules()
    broken = Loaded(dict(real.rules), {**real.errors, "cnc.deep_hole": "SyntaxError: oops"}, tuple(r for r in real.missing if r != "cnc.deep_hole"))
    monkeypatch.setattr(engine, "load_rules", lambda: broken)
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.deep_hole")
    assert finding.severity is Severity.ERROR and "could not be loaded (SyntaxError: oops)" in finding.message


def test_findings_are_typed_and_ordered_worst_first(doc):
    add_shape(doc, "A", Part.makeBox(10, 10, 10))
    add_shape(doc, "B", Part.makeBox(10, 10, 10, V(5, 0, 0)))
    add_shape(doc, "Mixed", Part.Compound([Part.makeBox(1, 1, 1, V(50, 0, 0)), Part.makePlane(1, 1, V(60, 0, 0))]))
    findings = run_dfm(doc, "cnc-3axis")
    assert all(isinstance(f, Finding) for f in findings)
    assert [f.severity for f in findings] == [Severity.ERROR, Severity.WARNING]


def test_run_dfm_tool_through_the_registry(doc):
    add_shape(doc, "A", Part.makeBox(10, 10, 10))
    add_shape(doc, "B", Part.makeBox(10, 10, 10, V(0, 0, 9)))
    result = ok(doc, "run_dfm", {"process": "injection-molding", "material": "pc", "pull_direction": [0, 0, -1]})
    # Two 10 mm cubes are also far too thick and undrafted for molding: the other rules speak too.
    severities = [f["severity"] for f in result["findings"]]
    assert result["summary"] == {s: severities.count(s) for s in ("error", "warning", "info")}
    (finding,) = [f for f in result["findings"] if f["rule"] == "fit.interference"]
    assert finding["measured"] == pytest.approx(100.0)
    thick = [f for f in result["findings"] if f["rule"] == "mold.max_wall"]
    assert thick and all(f["measured"] == pytest.approx(10.0) and f["limit"] == pytest.approx(3.81) for f in thick)
    assert result["material"] == "pc" and result["pull_direction"] == [0, 0, -1]
    assert "mold.draft" in result["not_implemented"] or "mold.draft" in result["rules_run"]
    only_a = ok(doc, "run_dfm", {"process": "fdm", "objects": ["A"]})
    assert only_a["findings"] == [] and only_a["checked"] == ["A"]
    bad = call(doc, "run_dfm", {"process": "cnc-3axis", "profile": {"rules": {"cnc.deep_hole": {"warn_above": "N/A"}}}})
    assert bad["ok"] is False and 'rules."cnc.deep_hole".warn_above must be a number' in bad["error"]["message"]
    assert call(doc, "run_dfm", {"process": "laser"})["error"]["code"] == "bad_arguments"


NIST_STC_07 = Path(__file__).resolve().parent / "data" / "corpora" / "nist-pmi" / "step" / "nist_stc_07_asme1_ap242-e3.stp"


@pytest.mark.skipif(not NIST_STC_07.exists(), reason="NIST corpus not available")
def test_a_valid_imported_solid_stays_valid():
    """BRepCheck passes on NIST stc_07 as read; a placement copy of it does not. The rule judges the part."""
    from freecad_spatial.spatial_tools.documents import close_document, open_document

    document = open_document(NIST_STC_07)
    try:
        assert document.getObject("Part").Shape.Solids[0].isValid()
        result = check_document(document, "cnc-3axis")
        assert result.checked == ["Part"] and result.not_checked == []
        assert [f.severity for f in result.findings if f.rule == "geom.invalid_solid"] == [Severity.WARNING]  # its loose faces
    finally:
        close_document(document)

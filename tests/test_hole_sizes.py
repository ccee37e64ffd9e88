"""Hole sizes matched against standards (drills, ISO 273 clearance, tap drills; inch tables for inch
parts with the unit read from the STEP file) and tapped holes judged as tapped holes.

Every part is built here with constructed dimensions; STEP files are written to tmp_path.
"""

from __future__ import annotations

import re

import pytest
import thread_parts as tp
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.engine import check_document
from freecad_spatial.spatial_tools.dfm.hole_sizes import INCH, match, standards, thread_by_name
from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.dfm.rules import RuleContext, Target, load_rules
from freecad_spatial.spatial_tools.documents import open_document
from freecad_spatial.spatial_tools.refs import global_shape
from freecad_spatial.spatial_tools.step_units import length_unit, length_unit_of_text

V = FreeCAD.Vector
HOLE_RULES = ("cnc.deep_hole", "cnc.flat_bottom_hole", "cnc.nonstandard_hole", "cnc.partial_hole",
              "cnc.skewed_drill_entry", "cnc.small_hole", "cnc.tapped_hole")


def run_rule(doc, rule_id: str, obj, profile=None):
    prof = load_profile("cnc-3axis", profile)
    rule = load_rules().rules[rule_id]
    target = Target(obj, global_shape(obj))
    return list(rule.check(RuleContext(rule, doc, prof, prof.settings(rule_id), [target], target)))


def plate_with_holes(diameters: list[float], scale: float = 1.0):
    """A 10-thick plate with through holes of the given Ø in a row, all lengths × ``scale``."""
    width = (20 + 15 * len(diameters)) * scale
    shape = Part.makeBox(width, 30 * scale, 10 * scale)
    for k, d in enumerate(diameters):
        shape = shape.cut(Part.makeCylinder(d / 2, 10 * scale, V((15 + 15 * k) * scale, 15 * scale, 0)))
    return shape


def inch_step(shape_in_inch_numbers, path) -> None:
    """A STEP file modelled in inch: the shape's numbers are inches, the length unit says INCH."""
    shape_in_inch_numbers.exportStep(str(path))
    text = path.read_text()
    mm_unit = re.compile(r"\(\s*LENGTH_UNIT\s*\(\s*\)\s*NAMED_UNIT\s*\(\s*\*\s*\)\s*SI_UNIT\s*\(\s*\.MILLI\.\s*,\s*\.METRE\.\s*\)\s*\)")
    assert mm_unit.search(text), "FreeCAD wrote no mm length unit"
    text = mm_unit.sub("( CONVERSION_BASED_UNIT('INCH',#990001) LENGTH_UNIT() NAMED_UNIT(#990002) )", text, count=1)
    extra = ("#990001 = LENGTH_MEASURE_WITH_UNIT(LENGTH_MEASURE(25.4),#990003);\n"
             "#990002 = DIMENSIONAL_EXPONENTS(1.,0.,0.,0.,0.,0.,0.);\n"
             "#990003 = ( LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.MILLI.,.METRE.) );\n")
    data_end = text.rindex("ENDSEC;")
    path.write_text(text[:data_end] + extra + text[data_end:])


# --- the tables -------------------------------------------------------------------------------


def test_standard_sizes_match_within_their_tolerance():
    metric = standards("metric", "drill_sizes_metric.toml", 0.005, 0.0005)
    assert match(6.6, metric) is not None
    # ISO 273 medium clearance for M6 is Ø6.6 H13 (6.6 .. 6.82): Ø6.65 and Ø6.8 are that hole
    assert "ISO 273 medium clearance for M6" in match(6.65, metric).name
    assert "ISO 273 medium clearance for M6" in match(6.82, metric).name
    assert match(6.83, metric) is None and match(6.17, metric) is None
    assert "tap drill for M10x1.25" in match(8.8, metric).name or match(8.8, metric).kind == "drill"
    inch = standards("inch", "drill_sizes_metric.toml", 0.005, 0.0005)
    assert match(0.257 * INCH, inch).name.startswith("letter F drill")
    assert match(0.2600 * INCH, inch) is None  # between F (0.257) and G (0.261), 0.001 in from G
    assert match(0.201 * INCH, inch).name.startswith("#7 drill")
    assert match(0.5 * INCH, inch).name.startswith("1/2 in drill")


def test_thread_sizes_are_named_as_freecad_names_them():
    assert thread_by_name("M5") == thread_by_name("M5x0.8")  # 0.20/1.0 vs 1.1 enumeration
    assert thread_by_name("M5").pitch == 0.8 and thread_by_name("M10x1.25").tap_drill == 8.8
    assert thread_by_name("1/4-20").name == "1/4-20 UNC"
    assert thread_by_name("1/4-20").major == pytest.approx(6.35)
    assert thread_by_name("M5x0.6") is None and thread_by_name("nonsense") is None


def test_step_length_unit_is_read_from_the_file(tmp_path):
    mm = tmp_path / "mm.step"
    Part.makeBox(10, 10, 10).exportStep(str(mm))
    assert length_unit(mm) == "mm"
    inch = tmp_path / "inch.step"
    inch_step(Part.makeBox(1, 1, 1), inch)
    assert length_unit(inch) == "inch"
    assert Part.read(str(inch)).BoundBox.XLength == pytest.approx(25.4)  # the kernel converts to mm
    assert length_unit_of_text("ISO-10303-21;\nDATA;\nENDSEC;\n") is None
    assert length_unit(tmp_path / "missing.step") is None


# --- cnc.nonstandard_hole ---------------------------------------------------------------------


def test_iso273_clearance_holes_are_not_nonstandard(doc):
    # M6 medium (6.6 H13), M6 medium near its upper limit (6.65), M8 fine (8.4), M12 coarse (14.5 + 0.2)
    obj = add_shape(doc, "Clearance", plate_with_holes([6.6, 6.65, 8.4, 14.7]))
    assert run_rule(doc, "cnc.nonstandard_hole", obj) == []
    odd = add_shape(doc, "Odd", plate_with_holes([6.17]))
    (finding,) = run_rule(doc, "cnc.nonstandard_hole", odd)
    assert finding.measured == pytest.approx(6.17) and finding.unit == "mm"


def test_inch_part_is_judged_against_inch_drills(tmp_path):
    # letter F (0.257) and #7 (0.201) drills are standard in an inch part; Ø0.2600 is off every table
    path = tmp_path / "inch_plate.step"
    inch_step(_inch_plate(), path)
    document = open_document(path)
    try:
        result = check_document(document, "cnc-3axis")
        found = [f for f in result.findings if f.rule == "cnc.nonstandard_hole"]
        assert len(found) == 1
        (finding,) = found
        assert finding.unit == "in"
        assert finding.measured == pytest.approx(0.26, abs=1e-6)
        assert finding.limit == pytest.approx(0.261)  # letter G, the nearest
        assert "letter F drill" in finding.message and "letter G drill" in finding.message
        assert "the file is in inch" in finding.message
        assert finding.title.startswith("Hole Ø0.26 in is not a standard drill size")
    finally:
        FreeCAD.closeDocument(document.Name)


def _inch_plate():
    """A 2 x 1.2 x 0.4 in plate (numbers in inch) with Ø0.257, Ø0.201 and Ø0.2600 through holes."""
    shape = Part.makeBox(2.0, 1.2, 0.4)
    for k, d in enumerate((0.257, 0.201, 0.26)):
        shape = shape.cut(Part.makeCylinder(d / 2, 0.4, V(0.4 + 0.6 * k, 0.6, 0)))
    return shape


def test_metric_file_with_inch_sized_holes_is_an_inch_part(doc):
    # a part drawn in inch and exported in mm: 1/4, 5/16, 9/16 holes, none of them a metric size
    obj = add_shape(doc, "Exported", plate_with_holes([0.25 * INCH, 0.3125 * INCH, 0.5625 * INCH]))
    assert run_rule(doc, "cnc.nonstandard_hole", obj) == []
    assert len(run_rule(doc, "cnc.nonstandard_hole", obj, profile={"rules": {"cnc.nonstandard_hole": {"units": "metric"}}})) == 3


# --- tapped holes -----------------------------------------------------------------------------


def _faces_of_threads(shape) -> set[str]:
    from freecad_spatial.spatial_tools.geometry.threads import thread_faces

    return {f"Face{i + 1}" for i in thread_faces(shape)}


def test_collar_tapped_hole_is_one_hole_with_no_per_thread_face_findings(doc):
    body = tp.collar(doc)
    thread = _faces_of_threads(body.Shape)
    assert thread
    result = check_document(doc, "cnc-3axis")
    mine = [f for f in result.findings if f.rule in HOLE_RULES]
    # no finding of a hole rule names thread faces alone, and the good M5 tapped hole raises none
    assert not [f for f in mine if set(f.elements) <= thread]
    assert [f.rule for f in mine] == []


def _tapped_block(drill: float, major: float = 6.0, pitch: float = 1.0, depth: float = 12.0, thread_length: float = 10.0):
    """A 30 x 30 x 12 block, a through bore Ø``drill`` along Z with an internal helix-swept thread."""
    block = Part.makeBox(30, 30, depth, V(-15, -15, 0))
    block = block.cut(Part.makeCylinder(drill / 2, depth + 2, V(0, 0, -1)))
    groove = tp.helix_groove(major / 2, drill / 2, pitch, thread_length, internal=True)
    return block.cut(groove.translated(V(0, 0, (depth - thread_length) / 2)))


def test_tap_drill_too_large_for_its_thread_is_one_finding_on_the_whole_hole(doc):
    obj = add_shape(doc, "Loose", _tapped_block(5.6))  # M6 thread in a Ø5.6 hole: 37 % engagement
    (finding,) = run_rule(doc, "cnc.tapped_hole", obj)
    assert finding.measured == pytest.approx((6.0 - 5.6) / (2 * 0.5413 * 1.0), abs=0.01)
    assert finding.limit == pytest.approx(0.55)
    assert "M6" in finding.message and "too large" in finding.message
    thread = _faces_of_threads(obj.Shape)
    assert thread < set(finding.elements)  # the thread's faces and the bore's, in one finding
    assert run_rule(doc, "cnc.nonstandard_hole", obj) == []  # a tapped hole is judged as one
    good = add_shape(doc, "Good", _tapped_block(5.0))  # the M6 tap drill
    assert run_rule(doc, "cnc.tapped_hole", good) == []


def test_tapped_hole_thread_length_and_tap_access(doc):
    short = add_shape(doc, "Short", _tapped_block(5.0, thread_length=4.0))  # a 4 mm helix of M6: 0.67×D
    (finding,) = run_rule(doc, "cnc.tapped_hole", short)
    assert 4.0 / 6.0 <= finding.measured <= 5.0 / 6.0  # the helix plus the groove's width at both ends
    assert finding.limit == pytest.approx(1.0)
    # a wall above the entry of the same good hole: the tap cannot feed along the axis
    blocked = _tapped_block(5.0).fuse(Part.makeBox(30, 30, 5, V(-15, -15, 20)))
    obj = add_shape(doc, "Blocked", blocked)
    findings = run_rule(doc, "cnc.tapped_hole", obj)
    assert [("blocks the tap" in f.message or "tap's way" in f.message) for f in findings] == [True]


def test_cosmetic_thread_of_a_partdesign_hole_is_judged(doc):
    body = tp.collar(doc, model_thread=False)
    hole = doc.getObject("SetScrewHole")
    assert hole.Threaded and not hole.ModelThread
    result = check_document(doc, "cnc-3axis")
    tapped = [f for f in result.findings if f.rule == "cnc.tapped_hole"]
    assert tapped == [] or all("cosmetic thread" in f.message for f in tapped)
    # the same hole with a thread 3 mm long is too short: judged from the cosmetic thread's properties
    if "ThreadDepthType" in hole.PropertiesList:
        hole.ThreadDepthType = "Dimension"
        hole.ThreadDepth = 3.0
        doc.recompute()
        target = Target(body, global_shape(body))
        prof = load_profile("cnc-3axis")
        rule = load_rules().rules["cnc.tapped_hole"]
        (finding,) = rule.check(RuleContext(rule, doc, prof, prof.settings("cnc.tapped_hole"), [target], target))
        assert "cosmetic thread of SetScrewHole" in finding.message
        assert finding.measured == pytest.approx(3.0 / 5.0, abs=1e-6)

"""Sheet-metal, inside-corner, deep-pocket and fit-clearance rules: each defect found on the right faces
with its analytic measure and limit, and its clean twin silent."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, call, ok

from freecad_spatial.spatial_tools.dfm.engine import check_document, run_dfm
from freecad_spatial.spatial_tools.dfm.finding import Severity
from freecad_spatial.spatial_tools.dfm.profiles import ProfileError, load_profile
from freecad_spatial.spatial_tools.geometry.corners import concave_corners, corners_along
from freecad_spatial.spatial_tools.geometry.sheet import sheet_model, sheet_thickness

T = 2.0  # sheet thickness of every bracket
SHEET_RULES = ("sheet.bend_radius", "sheet.hole_near_bend", "sheet.hole_near_edge", "sheet.short_flange")


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def _names(shape, attr, predicate):
    return sorted(f"{attr[:-1]}{i}" for i, e in enumerate(getattr(shape, attr), start=1) if predicate(e))


def bracket(radius=2.0, flange=30.0, upright=30.0, width=30.0, holes=()):
    """An L-bracket of 2 mm sheet: a flat leg along +X from the bend's tangent line at x = 0 (z 0..2), a
    quarter-tube bend of inner ``radius`` about the Y axis line (x = 0, z = radius + T), and an upright leg
    (x = -(radius + T)..-radius) from z = radius + T up. ``holes`` are Ø3 through the flat leg at (x, y)."""
    c = radius + T
    flat = Part.makeBox(flange, width, T)
    tube = Part.makeCylinder(c, width, V(0, 0, c), V(0, 1, 0)).cut(Part.makeCylinder(radius, width, V(0, 0, c), V(0, 1, 0)))
    bend = tube.common(Part.makeBox(c, width, c, V(-c, 0, 0)))
    up = Part.makeBox(T, width, upright, V(-c, 0, c))
    shape = flat.fuse([bend, up]).removeSplitter()
    for x, y in holes:
        shape = shape.cut(Part.makeCylinder(1.5, T + 2, V(x, y, -1)))
    (solid,) = shape.Solids
    return solid


def sharp_bracket():
    """The same L with no bend radius: a sharp inside fold along Y at x = 0, z = 2."""
    (solid,) = Part.makeBox(30, 30, T).fuse(Part.makeBox(T, 30, 30, V(-T, 0, 0))).removeSplitter().Solids
    return solid


def _is_inner_bend(radius):
    return lambda f: type(f.Surface).__name__ == "Cylinder" and abs(f.Surface.Radius - radius) < 1e-9


def _hole_faces(shape):
    return _names(shape, "Faces", lambda f: type(f.Surface).__name__ == "Cylinder" and abs(f.Surface.Radius - 1.5) < 1e-9)


# --------------------------------------------------------------------------- the sheet reading


def test_sheet_thickness_bends_and_flanges_are_read_off_the_part():
    for radius in (0.5, 2.0):
        model = sheet_model(bracket(radius))
        assert model.thickness == pytest.approx(T)
        (bend,) = model.bends
        assert bend.radius == pytest.approx(radius) and bend.angle_deg == pytest.approx(90.0)
        assert abs(bend.axis.y) == pytest.approx(1.0)
        lengths = sorted(f.length for f in model.flanges if f.free)
        assert lengths == pytest.approx([30.0, 30.0])  # both legs, each from its tangent line
    assert sheet_thickness(bracket(1.0, flange=20.0)) == pytest.approx(T)
    assert sheet_thickness(Part.makeBox(5, 50, 50)) == pytest.approx(5.0)  # a plate is a flat sheet
    assert sheet_thickness(Part.makeCylinder(10, 50).cut(Part.makeCylinder(8, 50))) == pytest.approx(2.0)
    assert sheet_thickness(Part.makeBox(10, 20, 30)) is None  # a block is no sheet
    fold = sheet_model(sharp_bracket())
    (bend,) = fold.bends
    assert bend.sharp and bend.radius == 0 and bend.angle_deg == pytest.approx(90.0)
    assert sorted(f.length for f in fold.flanges) == pytest.approx([28.0, 30.0])


# --------------------------------------------------------------------------- sheet rules


def test_tight_bend_radius_is_found_on_the_inner_cylinder_and_the_twin_is_clean(doc):
    tight = add_shape(doc, "Tight", bracket(0.5))
    add_shape(doc, "Good", bracket(2.0), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    result = check_document(doc, "sheet-metal")
    assert result.checked == ["Tight", "Good"]
    (finding,) = _by_rule(result.findings, "sheet.bend_radius")
    assert finding.object == "Tight" and finding.severity is Severity.WARNING
    assert list(finding.elements) == _names(tight.Shape, "Faces", _is_inner_bend(0.5))
    assert finding.measured == pytest.approx(0.5) and finding.limit == pytest.approx(1.0 * T) and finding.unit == "mm"
    assert "0.5 mm" in finding.message and "2 mm" in finding.message
    # on the inner surface, midway round the bend: 0.5 from the bend axis (x = 0, z = 2.5)
    x, y, z = finding.location
    assert math.hypot(x, z - 2.5) == pytest.approx(0.5) and x < 0 and z < 2.5
    assert not [f for f in result.findings if f.rule in SHEET_RULES and f.object == "Good"]


def test_steel_allows_half_t_but_not_below_0_8_mm(doc):
    add_shape(doc, "Bracket", bracket(1.0))
    assert not _by_rule(run_dfm(doc, "sheet-metal", material="steel"), "sheet.bend_radius")  # max(0.5 T, 0.8) = 1.0
    (finding,) = _by_rule(run_dfm(doc, "sheet-metal"), "sheet.bend_radius")  # aluminium: 1 T = 2.0
    assert finding.limit == pytest.approx(2.0)


def test_sharp_fold_is_a_zero_radius_bend(doc):
    obj = add_shape(doc, "Fold", sharp_bracket())
    (finding,) = _by_rule(run_dfm(doc, "sheet-metal"), "sheet.bend_radius")
    assert finding.measured == 0.0 and finding.limit == pytest.approx(T)
    fold_edge = _names(obj.Shape, "Edges", lambda e: e.BoundBox.XLength < 1e-9 and e.BoundBox.ZLength < 1e-9
                       and abs(e.BoundBox.XMin) < 1e-9 and abs(e.BoundBox.ZMin - T) < 1e-9)
    assert list(finding.elements) == fold_edge and len(fold_edge) == 1


def test_hole_near_bend_is_measured_from_the_rim_to_the_tangent_line(doc):
    near = add_shape(doc, "Near", bracket(2.0, holes=[(2.0 + 1.5, 15.0)]))  # rim 2 mm from x = 0
    add_shape(doc, "Far", bracket(2.0, holes=[(15.0 + 1.5, 15.0)]), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    findings = run_dfm(doc, "sheet-metal")
    (finding,) = _by_rule(findings, "sheet.hole_near_bend")
    assert finding.object == "Near" and finding.severity is Severity.WARNING
    assert list(finding.elements) == _hole_faces(near.Shape)
    assert finding.measured == pytest.approx(2.0) and finding.limit == pytest.approx(2.5 * T + 2.0)
    assert finding.location == pytest.approx((2.0, 15.0, pytest.approx(finding.location[2])))
    assert finding.location[2] in (pytest.approx(0.0), pytest.approx(T))  # on the rim, on a skin
    assert sorted(finding.related) == sorted(f"Near.{n}" for n in _names(near.Shape, "Faces", lambda f: type(f.Surface).__name__ == "Cylinder" and f.Surface.Radius > 1.9))
    assert not [f for f in findings if f.rule in SHEET_RULES and f.object == "Far"]
    assert not _by_rule(findings, "sheet.hole_near_edge")


def test_add_bend_radius_off_leaves_2_5_t(doc):
    add_shape(doc, "Near", bracket(2.0, holes=[(6.0 + 1.5, 15.0)]))  # rim 6 mm: < 5 + 2, not < 5
    assert _by_rule(run_dfm(doc, "sheet-metal"), "sheet.hole_near_bend")
    profile = {"rules": {"sheet.hole_near_bend": {"add_bend_radius": False}}}
    assert not _by_rule(run_dfm(doc, "sheet-metal", profile=profile), "sheet.hole_near_bend")


def test_hole_near_edge_is_measured_to_the_outer_boundary(doc):
    near = add_shape(doc, "Near", bracket(2.0, holes=[(30.0 - 1.0 - 1.5, 15.0)]))  # rim 1 mm from x = 30
    add_shape(doc, "Far", bracket(2.0, holes=[(30.0 - 10.0 - 1.5, 15.0)]), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    findings = run_dfm(doc, "sheet-metal")
    (finding,) = _by_rule(findings, "sheet.hole_near_edge")
    assert finding.object == "Near" and list(finding.elements) == _hole_faces(near.Shape)
    assert finding.measured == pytest.approx(1.0) and finding.limit == pytest.approx(2.0 * T)
    assert finding.location[:2] == pytest.approx((29.0, 15.0))
    (edge_ref,) = finding.related
    edge = near.Shape.Edges[int(edge_ref.split(".Edge")[1]) - 1]
    assert edge.BoundBox.XMin == pytest.approx(30.0) and edge.BoundBox.XMax == pytest.approx(30.0)
    assert not [f for f in findings if f.rule in SHEET_RULES and f.object == "Far"]


def test_short_flange_is_found_and_the_long_one_is_not(doc):
    short = add_shape(doc, "Short", bracket(2.0, flange=5.0))
    add_shape(doc, "Long", bracket(2.0, flange=20.0), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    findings = run_dfm(doc, "sheet-metal")
    (finding,) = _by_rule(findings, "sheet.short_flange")
    assert finding.object == "Short" and finding.severity is Severity.WARNING
    skins = _names(short.Shape, "Faces", lambda f: f.BoundBox.ZLength < 1e-9 and f.BoundBox.XMax == pytest.approx(5.0) and f.BoundBox.XMin > -1e-9)
    assert sorted(finding.elements) == skins and len(skins) == 2  # the flange's two skins
    assert finding.measured == pytest.approx(5.0) and finding.limit == pytest.approx(4 * T)
    assert finding.location == pytest.approx((5.0, 15.0, T))  # the middle of the flange's far edge
    assert "9 mm outside" in finding.message  # 5 + R 2 + T 2
    assert not [f for f in findings if f.rule in SHEET_RULES and f.object == "Long"]


def test_u_channel_in_any_placement(doc):
    """Two bends joined by a 30 mm web, a hole 2 mm from each bend, the part turned and moved: the web is
    no flange, R = T exactly meets the limit, and the findings sit on the placed geometry."""
    half = bracket(2.0, flange=15.0, holes=[(3.5, 15.0)])
    (channel,) = half.fuse(half.mirror(V(15, 0, 0), V(1, 0, 0))).removeSplitter().Solids
    placement = FreeCAD.Placement(V(5, 7, 9), FreeCAD.Rotation(V(1, 1, 0), 33))
    obj = add_shape(doc, "Channel", channel, placement)
    model = sheet_model(obj.Shape)
    assert len(model.bends) == 2 and sorted((f.free, round(f.length, 9)) for f in model.flanges) == [
        (False, 30.0), (False, 30.0), (True, 30.0), (True, 30.0)]
    findings = [f for f in run_dfm(doc, "sheet-metal") if f.rule in SHEET_RULES]
    assert sorted(f.rule for f in findings) == ["sheet.hole_near_bend"] * 2
    rims = sorted(placement.inverse().multVec(V(*f.location)).x for f in findings)
    assert rims == pytest.approx([2.0, 28.0])
    assert all(f.measured == pytest.approx(2.0) and f.limit == pytest.approx(7.0) for f in findings)


def test_sheet_rules_skip_parts_that_are_not_sheets(doc):
    add_shape(doc, "Block", Part.makeBox(10, 20, 30))
    result = check_document(doc, "sheet-metal")
    assert not [f for f in result.findings if f.rule in SHEET_RULES]
    skipped = {s["rule"] for s in result.skipped if s["object"] == "Block"}
    assert set(SHEET_RULES) <= skipped


# --------------------------------------------------------------------------- CNC corners and pockets


def pocket_block(radius=0.0, width=10.0, length=20.0, depth=6.0, height=20.0):
    """A 40 x 30 block with a pocket open at the top (z = height), centred, corners rounded to ``radius``."""
    block = Part.makeBox(40, 30, height)
    x0, y0 = 20 - length / 2, 15 - width / 2
    pocket = Part.makeBox(length, width, depth + 1, V(x0, y0, height - depth))
    if radius:
        pocket = pocket.makeFillet(radius, [e for e in pocket.Edges if abs(e.tangentAt(e.FirstParameter).z) > 0.99])
    (solid,) = block.cut(pocket).Solids
    return solid


def _vertical_pocket_edges(shape, height=20.0, depth=6.0):
    return _names(shape, "Edges", lambda e: e.BoundBox.XLength < 1e-9 and e.BoundBox.YLength < 1e-9
                  and e.BoundBox.ZMin == pytest.approx(height - depth) and e.BoundBox.ZMax == pytest.approx(height))


def test_corners_module_finds_vertical_concave_edges_and_fillets():
    sharp = pocket_block()
    corners = concave_corners(sharp)
    vertical = corners_along(corners, V(0, 0, 1))
    assert len(vertical) == 4 and all(c.sharp and c.depth_along(V(0, 0, 1)) == pytest.approx(6.0) for c in vertical)
    assert len(corners) == 8  # and the four floor edges
    rounded = corners_along(concave_corners(pocket_block(3.0)), V(0, 0, -1))
    assert [c.radius for c in rounded] == pytest.approx([3.0] * 4)
    assert all(c.depth_along(V(0, 0, 1)) == pytest.approx(6.0) for c in rounded)


def test_sharp_vertical_pocket_corners_are_one_error_per_pocket_in_mm_and_r3_at_depth_6_is_clean(doc):
    sharp = add_shape(doc, "Sharp", pocket_block())
    add_shape(doc, "Round", pocket_block(3.0), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    findings = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.sharp_internal_corner")
    # The four corners of the pocket are one problem with one fix: one finding naming the four edges.
    (finding,) = findings
    assert finding.object == "Sharp" and finding.severity is Severity.ERROR
    # In the engineer's units: the corner's radius (0) against the radius a cutter 6 mm deep leaves (6/3 = 2 mm).
    assert finding.measured == 0.0 and finding.limit == pytest.approx(2.0, rel=1e-5) and finding.unit == "mm"
    assert sorted(finding.elements) == sorted(_vertical_pocket_edges(sharp.Shape)) and len(finding.elements) == 4
    assert tuple(round(c, 6) for c in finding.location) in [(10, 10, 17), (10, 20, 17), (30, 10, 17), (30, 20, 17)]
    assert "6 mm of depth" in finding.message and "4 corners of the pocket" in finding.message
    assert finding.title == "4 sharp inside corners of a pocket, 6 mm deep — needs R ≥ 2 mm for a Ø4 mm cutter"


def test_unlike_corners_of_one_pocket_stay_apart(doc):
    # Two corners of the pocket rounded R 1, two sharp: two problems (an error and a warning, other fixes);
    # grouping them into one finding would hide the error behind the warning.
    block = Part.makeBox(40, 30, 20)
    pocket = Part.makeBox(20, 10, 7, V(10, 10, 14))
    vertical = [e for e in pocket.Edges if abs(e.tangentAt(e.FirstParameter).z) > 0.99]
    pocket = pocket.makeFillet(1.0, [e for e in vertical if e.BoundBox.XMin < 15])
    add_shape(doc, "Mixed", block.cut(pocket).Solids[0])
    findings = sorted(_by_rule(run_dfm(doc, "cnc-3axis"), "cnc.sharp_internal_corner"), key=lambda f: f.measured)
    assert [(f.severity, f.measured, len(f.elements)) for f in findings] == [
        (Severity.ERROR, 0.0, 2), (Severity.WARNING, pytest.approx(1.0), 2)], [(f.title, f.elements) for f in findings]
    assert findings[0].title.startswith("2 sharp inside corners of a pocket")


def test_small_fillet_for_its_depth_is_a_warning(doc):
    obj = add_shape(doc, "Small", pocket_block(1.0))
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.sharp_internal_corner")
    assert finding.severity is Severity.WARNING
    assert finding.measured == pytest.approx(1.0) and finding.unit == "mm"  # R 1 mm, not the ratio 1/6
    blends = _names(obj.Shape, "Faces", _is_inner_bend(1.0))
    assert sorted(finding.elements) == blends and len(blends) == 4
    assert finding.title.startswith("4 R 1 mm inside corners of a pocket, 6 mm deep")


def test_deep_narrow_pocket_is_a_warning_and_a_square_one_is_clean(doc):
    deep = add_shape(doc, "Deep", pocket_block(width=5.0, depth=30.0, height=40.0))
    add_shape(doc, "Shallow", pocket_block(width=10.0, length=10.0, depth=10.0), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    findings = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.deep_pocket")
    (finding,) = findings
    assert finding.object == "Deep" and finding.severity is Severity.WARNING
    assert finding.measured == pytest.approx(30.0 / 5.0) and finding.limit == pytest.approx(4.0) and finding.unit == "ratio"
    inside = _names(deep.Shape, "Faces", lambda f: 10 - 1e-9 <= f.BoundBox.XMin and f.BoundBox.XMax <= 30 + 1e-9
                    and 12.5 - 1e-9 <= f.BoundBox.YMin and f.BoundBox.YMax <= 17.5 + 1e-9 and f.BoundBox.ZMin >= 10 - 1e-9)
    assert sorted(finding.elements) == inside and len(inside) == 5  # floor and four walls
    assert finding.location == pytest.approx((20.0, 15.0, 10.0))  # the middle of its floor


# --------------------------------------------------------------------------- mold corners


def test_mold_corners_below_half_the_wall(doc):
    fold = add_shape(doc, "Fold", sharp_bracket())
    small = add_shape(doc, "Small", bracket(0.5), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    add_shape(doc, "Good", bracket(1.0), FreeCAD.Placement(V(0, 200, 0), FreeCAD.Rotation()))
    findings = _by_rule(run_dfm(doc, "injection-molding"), "mold.sharp_internal_corner")
    by_object = {f.object: f for f in findings}
    assert sorted(by_object) == ["Fold", "Small"]  # R 1.0 on a 2 mm wall is exactly 0.5 × wall
    sharp = by_object["Fold"]
    # In mm, as the message: R 0 against R ≥ 0.5 × the 2 mm wall.
    assert sharp.measured == 0.0 and sharp.limit == pytest.approx(0.5 * T) and sharp.unit == "mm"
    assert sharp.title == f"Sharp inside corner on a {T:g} mm wall — needs R ≥ {0.5 * T:.2g} mm"
    assert len(sharp.elements) == 1 and fold.Shape.Edges[int(sharp.elements[0][4:]) - 1].BoundBox.ZMin == pytest.approx(T)
    assert sharp.location == pytest.approx((0.0, 15.0, T))
    round_ = by_object["Small"]
    assert round_.measured == pytest.approx(0.5) and round_.unit == "mm" and list(round_.elements) == _names(small.Shape, "Faces", _is_inner_bend(0.5))
    assert "2 mm wall" in round_.message


# --------------------------------------------------------------------------- fits


def _shaft_in_plate(doc, shaft_diameter, offset=0.0):
    add_shape(doc, "Plate", Part.makeBox(30, 30, 10).cut(Part.makeCylinder(5.0, 10, V(15, 15, 0))))
    add_shape(doc, "Shaft", Part.makeCylinder(shaft_diameter / 2, 30, V(15 + offset, 15, -10)))


FIT = {"rules": {"fit.clearance": {"fits": [{"a": "Shaft", "b": "Plate", "fit": "H7/g6", "min_clearance": 0.02}]}}}


def test_fit_clearance_below_the_declared_minimum(doc):
    _shaft_in_plate(doc, 9.99)
    plate = doc.getObject("Plate")
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis", profile=FIT), "fit.clearance")
    assert finding.object == "Plate" and finding.severity is Severity.WARNING
    assert finding.measured == pytest.approx(0.01, abs=1e-9) and finding.limit == pytest.approx(0.02) and finding.unit == "mm"
    assert list(finding.elements) == _names(plate.Shape, "Faces", lambda f: type(f.Surface).__name__ == "Cylinder")
    assert finding.related == ("Shaft.Face1",)
    x, y, z = finding.location
    assert math.hypot(x - 15, y - 15) == pytest.approx(5.0) and z == pytest.approx(5.0)
    assert "H7/g6" in finding.message and "0.01 mm" in finding.message and "0.02 mm" in finding.message


def test_fit_clearance_twin_and_off_axis_shaft(doc):
    _shaft_in_plate(doc, 9.95)
    assert not _by_rule(run_dfm(doc, "cnc-3axis", profile=FIT), "fit.clearance")
    doc.getObject("Shaft").Placement = FreeCAD.Placement(V(0.02, 0, 0), FreeCAD.Rotation())
    doc.recompute()
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis", profile=FIT), "fit.clearance")
    assert finding.measured == pytest.approx(0.05 - 2 * 0.02, abs=1e-9)  # the gap closes on one side
    assert finding.location[0] == pytest.approx(20.0) and "0.02 mm apart" in finding.message


def test_fit_clearance_needs_a_declaration_and_names_bad_ones(doc):
    _shaft_in_plate(doc, 9.99)
    result = check_document(doc, "cnc-3axis")
    assert not _by_rule(result.findings, "fit.clearance")
    assert any(s["rule"] == "fit.clearance" and "no clearance fits declared" in s["reason"] for s in result.skipped)
    typo = {"rules": {"fit.clearance": {"fits": [{"a": "Shaft", "b": "Plat", "min_clearance": 0.02}]}}}
    (info,) = _by_rule(run_dfm(doc, "cnc-3axis", profile=typo), "fit.clearance")
    assert info.severity is Severity.INFO and "'Plat'" in info.message
    with pytest.raises(ProfileError, match=r"fits\[0\] needs min_clearance"):
        load_profile("cnc-3axis", {"rules": {"fit.clearance": {"fits": [{"a": "Shaft", "b": "Plate"}]}}})
    with pytest.raises(ProfileError, match="unknown key 'clearance'"):
        load_profile("sheet-metal", {"rules": {"fit.clearance": {"fits": [{"a": "S", "b": "P", "clearance": 0.1}]}}})


def test_fit_without_min_clearance_takes_the_iso_286_minimum(doc):
    _shaft_in_plate(doc, 9.999)
    iso = {"rules": {"fit.clearance": {"fits": [{"a": "Plate", "b": "Shaft", "fit": "H7/g6"}]}}}
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis", profile=iso), "fit.clearance")
    # H7/g6 at Ø10 (over 6 up to 10): hole EI 0, shaft es -0.005 -> least clearance 0.005
    assert finding.limit == pytest.approx(0.005) and finding.measured == pytest.approx(0.001, abs=1e-9)
    assert "ISO 286 minimum of H7/g6 at Ø10" in finding.message
    doc.getObject("Shaft").Shape = Part.makeCylinder(9.99 / 2, 30, V(15, 15, -10))
    doc.recompute()
    assert not _by_rule(run_dfm(doc, "cnc-3axis", profile=iso), "fit.clearance")  # 0.01 >= 0.005
    bad = {"rules": {"fit.clearance": {"fits": [{"a": "Plate", "b": "Shaft", "fit": "H7/zz9"}]}}}
    (info,) = _by_rule(run_dfm(doc, "cnc-3axis", profile=bad), "fit.clearance")
    assert info.severity is Severity.INFO and "shaft letter 'zz'" in info.message


def test_run_dfm_tool_reports_the_fit_and_the_sheet(doc):
    _shaft_in_plate(doc, 9.99)
    result = ok(doc, "run_dfm", {"process": "cnc-3axis", "profile": FIT})
    (finding,) = [f for f in result["findings"] if f["rule"] == "fit.clearance"]
    assert finding["measured"] == pytest.approx(0.01, abs=1e-9) and finding["limit"] == 0.02
    assert "fit.clearance" in result["rules_run"]
    add_shape(doc, "Bracket", bracket(0.5, flange=5.0), FreeCAD.Placement(V(0, 100, 0), FreeCAD.Rotation()))
    sheet = ok(doc, "run_dfm", {"process": "sheet-metal", "objects": ["Bracket"]})
    rules = sorted(f["rule"] for f in sheet["findings"])
    assert rules == ["sheet.bend_radius", "sheet.short_flange"]
    for rule in SHEET_RULES + ("cnc.sharp_internal_corner", "cnc.deep_pocket"):
        assert rule not in sheet["not_implemented"]
    bad = call(doc, "run_dfm", {"process": "cnc-3axis", "profile": {"rules": {"fit.clearance": {"fits": "Shaft"}}}})
    assert bad["ok"] is False and "fits must be a list" in bad["error"]["message"]

"""The hole DFM rules: each defect found on the right faces with the measured value and the limit,
its clean twin silent, and profile overrides moving the thresholds."""

from __future__ import annotations

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, ok

from freecad_spatial.spatial_tools.dfm.engine import check_document
from freecad_spatial.spatial_tools.dfm.finding import Severity
from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.dfm.rules import RuleContext, Target, load_rules
from freecad_spatial.spatial_tools.errors import NotApplicable
from freecad_spatial.spatial_tools.geometry.hole_checks import features_of
from freecad_spatial.spatial_tools.refs import global_shape

T = 12.0  # plate thickness
POINT = 118.0  # drill point angle


def plate(height: float = T) -> Part.Shape:
    return Part.makeBox(80, 50, height)


def drill(d: float, depth: float, top: V, axis: V | None = None, point: bool = True) -> Part.Shape:
    """A drill's cut from ``top`` along ``axis`` (default -Z): Ø ``d`` to ``depth``, then a 118° point."""
    axis = V(0, 0, -1) if axis is None else V(axis).normalize()
    r = d / 2
    body = Part.makeCylinder(r, depth + 1, top - axis * 1, axis)  # starts above the surface
    if not point:
        return body
    tip = r / math.tan(math.radians(POINT / 2))
    return body.fuse(Part.makeCone(r, 0, tip, top + axis * depth, axis))


def run_rule(doc, rule_id: str, obj, process: str = "cnc-3axis", profile=None, material=None, build_direction=None):
    """One rule on one object, as the engine runs it."""
    prof = load_profile(process, profile, material=material, build_direction=build_direction)
    rule = load_rules().rules[rule_id]
    target = Target(obj, global_shape(obj))
    return list(rule.check(RuleContext(rule, doc, prof, prof.settings(rule_id), [target], target)))


def names(obj, predicate) -> list[str]:
    return [f"Face{i}" for i, f in enumerate(obj.Shape.Faces, start=1) if predicate(f)]


def cylinder(radius: float):
    return lambda f: type(f.Surface).__name__ == "Cylinder" and abs(f.Surface.Radius - radius) < 1e-7


def cone(f) -> bool:
    return type(f.Surface).__name__ == "Cone"


def plane_at_z(z: float):
    return lambda f: type(f.Surface).__name__ == "Plane" and abs(f.BoundBox.ZMin - z) < 1e-7 and abs(f.BoundBox.ZMax - z) < 1e-7


def test_every_hole_rule_is_implemented():
    loaded = load_rules()
    for rule_id in (
        "cnc.deep_hole", "cnc.flat_bottom_hole", "cnc.nonstandard_hole", "cnc.partial_hole",
        "cnc.skewed_drill_entry", "cnc.small_hole", "am.small_hole", "sheet.small_hole",
    ):
        assert rule_id in loaded.rules, loaded.errors.get(rule_id, "missing")


# --- cnc.deep_hole ----------------------------------------------------------------------------


def test_deep_hole_is_an_error_past_10d_and_a_4d_hole_is_clean(doc):
    h = 60.0
    deep = add_shape(doc, "Deep", plate(h).cut(drill(4, 50, V(20, 20, h))))
    shallow = add_shape(doc, "Shallow", plate(h).cut(drill(4, 12, V(20, 20, h))))
    (finding,) = run_rule(doc, "cnc.deep_hole", deep)
    assert finding.severity is Severity.ERROR and finding.object == "Deep"
    assert finding.measured == pytest.approx(12.5) and finding.limit == 10.0 and finding.unit == "ratio"
    assert sorted(finding.elements) == sorted(names(deep, cylinder(2)) + names(deep, cone))
    assert finding.location == pytest.approx((20, 20, h))
    assert "Ø4" in finding.message and "50 mm" in finding.message and "12.5×D" in finding.message and "10×D" in finding.message
    assert run_rule(doc, "cnc.deep_hole", shallow) == []  # 3×D


def test_deep_hole_warning_and_counterbored_hole_is_judged_by_its_narrow_bore(doc):
    h = 40.0
    # Ø6.6 through a 40 mm block under a Ø11 x 6.8 counterbore: the Ø6.6 drill cuts to 40 mm = 6.06×D
    tool = Part.makeCylinder(3.3, h, V(30, 25, 0)).fuse(Part.makeCylinder(5.5, 6.8, V(30, 25, h - 6.8)))
    obj = add_shape(doc, "Block", plate(h).cut(tool))
    (finding,) = run_rule(doc, "cnc.deep_hole", obj)
    assert finding.severity is Severity.WARNING and finding.limit == 4.0
    assert finding.measured == pytest.approx(h / 6.6)
    assert set(finding.elements) >= set(names(obj, cylinder(3.3)) + names(obj, cylinder(5.5)))


def test_deep_hole_limits_follow_an_inline_profile_and_a_profile_file(doc, tmp_path):
    h = 60.0
    shallow = add_shape(doc, "Shallow", plate(h).cut(drill(4, 12, V(20, 20, h))))
    deep = add_shape(doc, "Deep", plate(h).cut(drill(4, 50, V(20, 20, h))))
    (finding,) = run_rule(doc, "cnc.deep_hole", shallow, profile={"rules": {"cnc.deep_hole": {"warn_above": 2.5}}})
    assert finding.severity is Severity.WARNING and finding.limit == 2.5 and finding.measured == pytest.approx(3.0)
    path = tmp_path / "shop.toml"
    path.write_text('[rules."cnc.deep_hole"]\nerror_above = 15.0\n')
    (finding,) = run_rule(doc, "cnc.deep_hole", deep, profile=path)
    assert finding.severity is Severity.WARNING and finding.limit == 4.0  # 12.5×D: no longer an error


def test_deep_hole_in_the_second_solid_of_a_compound_names_faces_of_the_whole_object(doc):
    h = 60.0
    first = plate(h).cut(drill(4, 12, V(20, 20, h)))
    second = plate(h).cut(drill(4, 50, V(20, 20, h)))
    second.translate(V(200, 0, 0))
    obj = add_shape(doc, "Pair", Part.Compound([first, second]))
    (finding,) = run_rule(doc, "cnc.deep_hole", obj)
    assert finding.measured == pytest.approx(12.5) and finding.location == pytest.approx((220, 20, h))
    faces = obj.Shape.Faces
    assert all(faces[int(n[4:]) - 1].BoundBox.XMin > 100 for n in finding.elements)
    assert sorted(finding.elements) == sorted(n for n in names(obj, cylinder(2)) + names(obj, cone) if faces[int(n[4:]) - 1].BoundBox.XMin > 100)
    assert sorted(f["id"] for f in features_of(obj.Shape) if f["kind"] == "hole") == ["hole1", "hole2"]


# --- cnc.flat_bottom_hole ---------------------------------------------------------------------


def test_flat_bottom_hole_is_found_on_its_bottom_face_and_a_drill_point_is_clean(doc):
    flat = add_shape(doc, "Flat", plate().cut(drill(6, 7, V(40, 25, T), point=False)))
    pointed = add_shape(doc, "Pointed", plate().cut(drill(6, 7, V(40, 25, T))))
    through = add_shape(doc, "Through", plate().cut(Part.makeCylinder(3, T, V(40, 25, 0))))
    (finding,) = run_rule(doc, "cnc.flat_bottom_hole", flat)
    assert finding.severity is Severity.WARNING and finding.object == "Flat"
    assert list(finding.elements) == names(flat, plane_at_z(T - 7)) and len(finding.elements) == 1
    assert finding.location == pytest.approx((40, 25, T - 7))
    assert "Ø6" in finding.message and "7 mm" in finding.message
    assert run_rule(doc, "cnc.flat_bottom_hole", pointed) == []
    assert run_rule(doc, "cnc.flat_bottom_hole", through) == []
    quiet = run_rule(doc, "cnc.flat_bottom_hole", flat, profile={"rules": {"cnc.flat_bottom_hole": {"severity": "info"}}})
    assert [f.severity for f in quiet] == [Severity.INFO]


def test_wide_flat_bottom_bore_is_milled_and_not_judged_unless_the_profile_says(doc):
    bore = add_shape(doc, "Bore", Part.makeBox(100, 100, 30).cut(drill(60, 10, V(50, 50, 30), point=False)))
    assert run_rule(doc, "cnc.flat_bottom_hole", bore) == []  # Ø60 > the largest drill (50)
    (finding,) = run_rule(doc, "cnc.flat_bottom_hole", bore, profile={"rules": {"cnc.flat_bottom_hole": {"max_diameter": 80.0}}})
    assert list(finding.elements) == names(bore, plane_at_z(20))


# --- cnc.nonstandard_hole ---------------------------------------------------------------------


def test_nonstandard_diameter_is_reported_with_the_nearest_drills(doc):
    # Ø6.17: no drill, no ISO 273 clearance (M6 fine is Ø6.4 H12), no tap drill
    odd = add_shape(doc, "Odd", plate().cut(Part.makeCylinder(6.17 / 2, T, V(20, 25, 0))))
    standard = add_shape(doc, "Standard", plate().cut(Part.makeCylinder(6.6 / 2, T, V(20, 25, 0))))
    bored = add_shape(doc, "Bored", Part.makeBox(100, 100, T).cut(Part.makeCylinder(30.3, T, V(50, 50, 0))))
    (finding,) = run_rule(doc, "cnc.nonstandard_hole", odd)
    assert finding.severity is Severity.INFO and finding.unit == "mm"
    assert finding.measured == pytest.approx(6.17)
    assert finding.limit == pytest.approx(6.2)
    assert "Ø6.1 drill or Ø6.2 drill" in finding.message
    assert list(finding.elements) == names(odd, cylinder(6.17 / 2))
    assert finding.location == pytest.approx((20, 25, T))
    assert run_rule(doc, "cnc.nonstandard_hole", standard) == []
    assert run_rule(doc, "cnc.nonstandard_hole", bored) == []  # Ø60.6 is past the table: bored, not drilled


def test_nonstandard_hole_follows_the_profile_tolerance_and_drill_table(doc, tmp_path):
    odd = add_shape(doc, "Odd", plate().cut(Part.makeCylinder(6.13 / 2, T, V(20, 25, 0))))
    (finding,) = run_rule(doc, "cnc.nonstandard_hole", odd)
    assert finding.limit == pytest.approx(6.1)
    assert run_rule(doc, "cnc.nonstandard_hole", odd, profile={"rules": {"cnc.nonstandard_hole": {"tolerance": 0.05}}}) == []
    table = tmp_path / "shop_drills.toml"
    table.write_text("extra = [6.13]\n[[series]]\nfrom = 1.0\nto = 10.0\nstep = 0.5\n")
    shop = {"rules": {"cnc.nonstandard_hole": {"drill_table": str(table)}}}
    assert run_rule(doc, "cnc.nonstandard_hole", odd, profile=shop) == []
    standard = add_shape(doc, "Standard", plate().cut(Part.makeCylinder(6.2 / 2, T, V(20, 25, 0))))
    (finding,) = run_rule(doc, "cnc.nonstandard_hole", standard, profile=shop)  # 6.2 is not in this shop's table
    assert finding.limit == pytest.approx(6.13) and "Ø6.13 drill or Ø6.5 drill" in finding.message


# --- cnc.partial_hole -------------------------------------------------------------------------


def test_half_hole_on_the_part_edge_is_partial_and_a_full_hole_is_clean(doc):
    half = add_shape(doc, "Half", plate().cut(Part.makeCylinder(5, T, V(0, 25, 0))))
    full = add_shape(doc, "Full", plate().cut(Part.makeCylinder(5, T, V(20, 25, 0))))
    (finding,) = run_rule(doc, "cnc.partial_hole", half)
    assert finding.severity is Severity.WARNING and finding.unit == "%"
    assert finding.measured == pytest.approx(50.0) and finding.limit == 75.0
    assert sorted(finding.elements) == sorted(names(half, cylinder(5))) and len(finding.elements) == 2
    x, y, z = finding.location  # on the remaining wall
    assert math.hypot(x, y - 25) == pytest.approx(5.0) and x >= -1e-9 and 0 <= z <= T
    assert "50%" in finding.message and "180°" in finding.message and "75%" in finding.message
    assert run_rule(doc, "cnc.partial_hole", full) == []
    placement = FreeCAD.Placement(V(100, 200, 300), FreeCAD.Rotation(V(1, 1, 0), 70))
    placed = add_shape(doc, "Placed", plate().cut(Part.makeCylinder(5, T, V(0, 25, 0))), placement)
    (finding,) = run_rule(doc, "cnc.partial_hole", placed)
    assert finding.measured == pytest.approx(50.0)
    local = placement.inverse().multVec(V(*finding.location))
    assert math.hypot(local.x, local.y - 25) == pytest.approx(5.0)


def test_partial_hole_made_of_faces_split_along_its_length_counts_each_angle_once(doc):
    # two stacked cutters leave the half bore in four faces: two above, two below z = 6
    tool = Part.makeCylinder(5, 6, V(0, 25, 0)).fuse(Part.makeCylinder(5, 6, V(0, 25, 6)))
    obj = add_shape(doc, "Split", plate().cut(tool))
    assert len(names(obj, cylinder(5))) == 4
    (hole,) = [f for f in features_of(obj.Shape) if f["kind"] == "hole"]
    assert hole["span_deg"] == pytest.approx(180.0) and hole["partial"] is True
    (finding,) = run_rule(doc, "cnc.partial_hole", obj)
    assert finding.measured == pytest.approx(50.0) and len(finding.elements) == 4


def test_partial_hole_threshold_follows_the_profile(doc):
    # centre 4 mm inside the edge: the Ø10 wall keeps 360 - 2·acos(0.8) = 286.3° = 79.5 % (above 75 %)
    obj = add_shape(doc, "Near", plate().cut(Part.makeCylinder(5, T, V(4, 25, 0))))
    expected = 100 * (360 - 2 * math.degrees(math.acos(0.8))) / 360
    assert run_rule(doc, "cnc.partial_hole", obj) == []
    (finding,) = run_rule(doc, "cnc.partial_hole", obj, profile={"rules": {"cnc.partial_hole": {"warn_below": 90.0}}})
    assert finding.measured == pytest.approx(expected) and finding.limit == 90.0


# --- cnc.skewed_drill_entry -------------------------------------------------------------------

SLOPE = 10.0


def sloped_block(slope: float = SLOPE) -> Part.Shape:
    """60 x 40 block in XY, 20 mm high at x = 0 rising at ``slope``° toward x = 60."""
    rise = 60 * math.tan(math.radians(slope))
    profile = Part.makePolygon([V(0, 0, 0), V(60, 0, 0), V(60, 0, 20 + rise), V(0, 0, 20), V(0, 0, 0)])
    return Part.Face(profile).extrude(V(0, 40, 0))


def slope_top(x: float) -> float:
    return 20 + x * math.tan(math.radians(SLOPE))


def is_sloped(f) -> bool:
    return type(f.Surface).__name__ == "Plane" and f.BoundBox.ZLength > 1


def test_hole_entering_a_sloped_face_is_skewed_and_a_square_hole_is_clean(doc):
    skewed = add_shape(doc, "Skewed", sloped_block().cut(Part.makeCylinder(3, 50, V(30, 20, -5))))
    normal = V(-math.sin(math.radians(SLOPE)), 0, math.cos(math.radians(SLOPE)))
    entry = V(30, 20, slope_top(30))
    square = add_shape(doc, "Square", sloped_block().cut(drill(6, 10, entry, -normal)))
    (finding,) = run_rule(doc, "cnc.skewed_drill_entry", skewed)  # the flat exit at z = 0 is square
    assert finding.severity is Severity.WARNING and finding.unit == "deg"
    assert finding.measured == pytest.approx(SLOPE) and finding.limit == 1.0
    sloped = [n for n in names(skewed, is_sloped) if skewed.Shape.Faces[int(n[4:]) - 1].normalAt(0, 0).z > 0.9]
    assert list(finding.elements) == sloped and len(sloped) == 1
    assert finding.location == pytest.approx((30, 20, slope_top(30)))
    assert "enters" in finding.message and "10°" in finding.message
    assert finding.related == tuple(f"Skewed.{n}" for n in names(skewed, cylinder(3)))
    assert run_rule(doc, "cnc.skewed_drill_entry", square) == []


def test_face_sloped_exactly_at_the_limit_and_wide_bores_are_not_skewed(doc):
    at_limit = add_shape(doc, "AtLimit", sloped_block(1.0).cut(Part.makeCylinder(3, 50, V(30, 20, -5))))
    assert run_rule(doc, "cnc.skewed_drill_entry", at_limit) == []  # 1° is not above 1° (kernel noise aside)
    (finding,) = run_rule(doc, "cnc.skewed_drill_entry", at_limit, profile={"rules": {"cnc.skewed_drill_entry": {"warn_above": 0.5}}})
    assert finding.measured == pytest.approx(1.0) and finding.limit == 0.5
    wide = Part.Face(Part.makePolygon([V(0, 0, 0), V(200, 0, 0), V(200, 0, 55.3), V(0, 0, 20), V(0, 0, 0)])).extrude(V(0, 100, 0))
    bored = add_shape(doc, "Bored", wide.cut(Part.makeCylinder(30, 100, V(100, 50, -5))))  # Ø60 through a 10° slope
    assert run_rule(doc, "cnc.skewed_drill_entry", bored) == []


def test_skewed_exit_is_found_on_a_placed_part(doc):
    # the same block turned upside down (about X, in the placement): the hole now leaves through the slope
    flipped = add_shape(
        doc, "Flipped", sloped_block().cut(Part.makeCylinder(3, 50, V(30, 20, -5))),
        FreeCAD.Placement(V(0, 0, 100), FreeCAD.Rotation(V(1, 0, 0), 180)),
    )
    (finding,) = run_rule(doc, "cnc.skewed_drill_entry", flipped)
    assert "leaves" in finding.message and finding.measured == pytest.approx(SLOPE)
    assert finding.location == pytest.approx((30, -20, 100 - slope_top(30)))  # y -> -y, z -> 100 - z


def test_cross_hole_in_a_shaft_reads_its_angle_where_the_axis_meets_the_surface(doc):
    def shaft_with_hole(offset: float) -> Part.Shape:
        return Part.makeCylinder(20, 60, V(0, 0, 0), V(1, 0, 0)).cut(Part.makeCylinder(3, 50, V(30, offset, -25)))

    radial = add_shape(doc, "Radial", shaft_with_hole(0.0))
    assert run_rule(doc, "cnc.skewed_drill_entry", radial) == []  # square to the surface at the axis
    offset = add_shape(doc, "Offset", shaft_with_hole(5.0))
    findings = run_rule(doc, "cnc.skewed_drill_entry", offset)
    expected = math.degrees(math.asin(5.0 / 20.0))  # 14.5°: the normal at y = 5 on a R20 shaft
    assert sorted("enters" in f.message for f in findings) == [False, True]
    assert [f.measured for f in findings] == pytest.approx([expected, expected])
    shaft_face = names(offset, cylinder(20))
    assert all(list(f.elements) == shaft_face for f in findings)
    for f in findings:
        x, y, z = f.location
        assert y == pytest.approx(5.0) and math.hypot(y, z) == pytest.approx(20.0) and x == pytest.approx(30.0)


# --- cnc.small_hole ---------------------------------------------------------------------------


def test_small_hole_limit_depends_on_the_material_group(doc):
    tiny = add_shape(doc, "Tiny", plate().cut(Part.makeCylinder(0.2, T, V(20, 25, 0))))
    small = add_shape(doc, "Small", plate().cut(Part.makeCylinder(0.4, T, V(20, 25, 0))))
    normal = add_shape(doc, "Normal", plate().cut(Part.makeCylinder(1.5, T, V(20, 25, 0))))
    (finding,) = run_rule(doc, "cnc.small_hole", tiny, material="steel")  # Ø0.4
    assert finding.severity is Severity.WARNING and finding.unit == "mm"
    assert finding.measured == pytest.approx(0.4) and finding.limit == pytest.approx(1.2)
    assert list(finding.elements) == names(tiny, cylinder(0.2))
    assert finding.location == pytest.approx((20, 25, T))
    assert "steel" in finding.message and "hard metal" in finding.message
    assert run_rule(doc, "cnc.small_hole", normal, material="steel") == []  # Ø3
    (finding,) = run_rule(doc, "cnc.small_hole", small, material="titanium")  # Ø0.8 in a hard metal
    assert finding.limit == pytest.approx(1.2)
    assert run_rule(doc, "cnc.small_hole", small, material="aluminium") == []  # soft metal: 0.5
    (finding,) = run_rule(doc, "cnc.small_hole", tiny)  # default aluminium
    assert finding.limit == pytest.approx(0.5)
    exact = add_shape(doc, "Exact", plate().cut(Part.makeCylinder(0.6, T, V(20, 25, 0))))
    assert run_rule(doc, "cnc.small_hole", exact, material="steel") == []  # Ø1.2 is not below Ø1.2
    override = {"rules": {"cnc.small_hole": {"by_group": {"soft_metal": {"warn_below": 1.0}}}}}
    (finding,) = run_rule(doc, "cnc.small_hole", small, profile=override)
    assert finding.limit == pytest.approx(1.0) and finding.measured == pytest.approx(0.8)


# --- am.small_hole ----------------------------------------------------------------------------


def test_printed_small_holes_along_and_across_the_build_direction(doc):
    vertical = add_shape(doc, "Vertical", plate().cut(Part.makeCylinder(0.75, T, V(20, 25, 0))))
    horizontal = add_shape(doc, "Horizontal", plate().cut(Part.makeCylinder(0.75, 80, V(0, 25, 6), V(1, 0, 0))))
    wide = add_shape(doc, "Wide", plate().cut(Part.makeCylinder(1.5, T, V(20, 25, 0))))
    (finding,) = run_rule(doc, "am.small_hole", vertical, process="fdm")
    assert finding.measured == pytest.approx(1.5) and finding.limit == 2.0 and finding.unit == "mm"
    assert list(finding.elements) == names(vertical, cylinder(0.75))
    assert "along the build direction" in finding.message
    (finding,) = run_rule(doc, "am.small_hole", horizontal, process="fdm")
    assert "across the build direction" in finding.message
    (finding,) = run_rule(doc, "am.small_hole", horizontal, process="fdm", build_direction=[1, 0, 0])
    assert "along the build direction" in finding.message
    assert run_rule(doc, "am.small_hole", wide, process="fdm") == []  # Ø3
    (finding,) = run_rule(doc, "am.small_hole", wide, process="fdm", profile={"rules": {"am.small_hole": {"warn_below": 3.5}}})
    assert finding.limit == 3.5


# --- sheet.small_hole -------------------------------------------------------------------------


def test_sheet_hole_smaller_than_the_thickness(doc):
    sheet = Part.makeBox(100, 60, 2.0)
    small = add_shape(doc, "Small", sheet.cut(Part.makeCylinder(0.75, 2, V(20, 30, 0))))
    wide = add_shape(doc, "Wide", sheet.cut(Part.makeCylinder(1.5, 2, V(20, 30, 0))))
    (finding,) = run_rule(doc, "sheet.small_hole", small, process="sheet-metal")
    assert finding.severity is Severity.WARNING and finding.unit == "mm"
    assert finding.measured == pytest.approx(1.5) and finding.limit == pytest.approx(2.0)
    assert "T = 2 mm" in finding.message and list(finding.elements) == names(small, cylinder(0.75))
    assert finding.location == pytest.approx((20, 30, 2))
    assert run_rule(doc, "sheet.small_hole", wide, process="sheet-metal") == []
    (finding,) = run_rule(doc, "sheet.small_hole", wide, process="sheet-metal", profile={"rules": {"sheet.small_hole": {"warn_below_t": 2.0}}})
    assert finding.limit == pytest.approx(4.0) and finding.measured == pytest.approx(3.0)


def test_small_hole_in_the_flange_of_a_bent_bracket(doc):
    # an L bracket of 1.5 mm sheet, inner bend radius 2, with a Ø1 and a Ø4 hole in the upright flange
    t, r = 1.5, 2.0

    def edge_along_y(shape, x: float, z: float):
        (edge,) = [e for e in shape.Edges if e.BoundBox.YLength > 1 and abs(e.BoundBox.XMin - x) < 1e-9
                   and abs(e.BoundBox.XMax - x) < 1e-9 and abs(e.BoundBox.ZMin - z) < 1e-9]
        return edge

    corner = Part.makeBox(40, 30, t).fuse(Part.makeBox(t, 30, 30)).removeSplitter()
    inside = corner.makeFillet(r, [edge_along_y(corner, t, t)])
    bracket = inside.makeFillet(r + t, [edge_along_y(inside, 0, 0)])
    assert bracket.isValid() and len([f for f in bracket.Faces if cylinder(r)(f) or cylinder(r + t)(f)]) == 2
    bracket = bracket.cut(Part.makeCylinder(0.5, 5, V(-1, 10, 20), V(1, 0, 0))).cut(Part.makeCylinder(2, 5, V(-1, 20, 20), V(1, 0, 0)))
    obj = add_shape(doc, "Bracket", bracket)
    (finding,) = run_rule(doc, "sheet.small_hole", obj, process="sheet-metal")  # the bend is no hole
    assert finding.measured == pytest.approx(1.0) and finding.limit == pytest.approx(t)
    assert list(finding.elements) == names(obj, cylinder(0.5))


def test_sheet_small_hole_does_not_apply_to_a_block(doc):
    # no one offset pairs most of its area (a cube would: a 40 mm "sheet")
    block = add_shape(doc, "Block", Part.makeBox(60, 50, 40).cut(Part.makeCylinder(0.5, 40, V(20, 20, 0))))
    with pytest.raises(NotApplicable):
        run_rule(doc, "sheet.small_hole", block, process="sheet-metal")
    result = check_document(doc, "sheet-metal")
    assert {"rule": "sheet.small_hole", "object": "Block"} in [{k: s[k] for k in ("rule", "object")} for s in result.skipped]
    assert not [f for f in result.findings if f.rule == "sheet.small_hole"]


# --- through the engine and the registry tool --------------------------------------------------


def test_run_dfm_tool_reports_the_hole_rules_of_one_part(doc):
    h = 60.0
    part = plate(h).cut(drill(4, 50, V(20, 20, h), point=False)).cut(Part.makeCylinder(6.17 / 2, h, V(50, 25, 0)))
    obj = add_shape(doc, "Part", part)
    result = ok(doc, "run_dfm", {"process": "cnc-3axis", "material": "steel"})
    by_rule = {}
    for f in result["findings"]:
        by_rule.setdefault(f["rule"], []).append(f)
    (deep,) = [f for f in by_rule["cnc.deep_hole"] if f["measured"] == pytest.approx(12.5)]
    assert deep["severity"] == "error" and deep["object"] == "Part" and deep["limit"] == 10.0
    (flat,) = by_rule["cnc.flat_bottom_hole"]
    assert flat["elements"] == names(obj, plane_at_z(h - 50))
    (odd,) = by_rule["cnc.nonstandard_hole"]
    assert odd["measured"] == pytest.approx(6.17) and odd["elements"] == names(obj, cylinder(6.17 / 2))
    for rule in ("cnc.partial_hole", "cnc.skewed_drill_entry", "cnc.small_hole"):
        assert rule in result["rules_run"] and rule not in by_rule
    engine_result = check_document(doc, "cnc-3axis", profile={"rules": {"cnc.deep_hole": {"error_above": 20.0}}})
    deep = [f for f in engine_result.findings if f.rule == "cnc.deep_hole" and f.measured == pytest.approx(12.5)]
    assert [f.severity for f in deep] == [Severity.WARNING]

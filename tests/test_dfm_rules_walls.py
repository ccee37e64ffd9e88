"""Wall-thickness DFM rules: each defect built from boxes and found with its constructed thickness,
its limit and its faces; each clean twin silent; and the one wall map shared by all of them."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, face_where, ok

from freecad_spatial.spatial_tools.dfm.engine import check_document, run_dfm
from freecad_spatial.spatial_tools.dfm.finding import Severity
from freecad_spatial.spatial_tools.geometry import walls as walls_module
from freecad_spatial.spatial_tools.geometry.walls import FLOOR, PIN, TUBE, WALL, WEB, find_walls

WALL_RULES = (
    "cnc.thin_wall",
    "cnc.tall_thin_wall",
    "mold.min_wall",
    "mold.max_wall",
    "mold.nonuniform_wall",
    "mold.rib_thickness",
    "am.thin_wall",
)


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def _name(obj, predicate) -> str:
    """``FaceN`` of the one face of an object (or of a bare shape) that matches ``predicate``."""
    if hasattr(obj, "ShapeType"):
        matches = [f"Face{i}" for i, f in enumerate(obj.Faces, 1) if predicate(f)]
        assert len(matches) == 1, matches
        return matches[0]
    return face_where(obj, predicate).split(".", 1)[1]


def _plane_at(axis: str, value: float, low: float | None = None):
    """A planar face square to ``axis`` at ``value`` (optionally: whose box starts at ``low`` along z)."""

    def predicate(face):
        box = face.BoundBox
        flat = getattr(box, f"{axis.upper()}Length") < 1e-9 and abs(getattr(box, f"{axis.upper()}Min") - value) < 1e-9
        return flat and (low is None or abs(box.ZMin - low) < 1e-9)

    return predicate


def _pocket_block(wall: float):
    """A 40×40×20 block with a 10 deep pocket leaving a ``wall`` mm wall at x = 40 (5 mm elsewhere)."""
    return Part.makeBox(40, 40, 20).cut(Part.makeBox(35 - wall, 30, 11, V(5, 5, 10)))


def _assert_clean(findings, *rules):
    for rule in rules:
        assert not _by_rule(findings, rule), _by_rule(findings, rule)


# ---------------------------------------------------------------------------------------- the wall map


def test_wall_map_measures_the_pocket_wall_as_built_and_agrees_with_measure_thickness(doc):
    block = add_shape(doc, "Block", _pocket_block(0.4))
    found = find_walls(block.Shape)
    inner, outer = _name(block, _plane_at("x", 39.6)), _name(block, _plane_at("x", 40))
    (thin,) = [w for w in found.walls if w.thickness < 1]
    assert set(thin.elements) == {inner, outer} and thin.kind == WALL
    assert thin.thickness == pytest.approx(0.4, abs=1e-9)
    assert thin.location.x == pytest.approx(39.8) and 5 < thin.location.y < 35 and 10 < thin.location.z < 20
    # the three 5 mm pocket walls and the 10 mm floor under the pocket; no chord the long way through
    assert sorted(round(w.thickness, 9) for w in found.walls) == [0.4, 5.0, 5.0, 5.0, 10.0]
    assert [w.kind for w in found.walls if w.thickness == pytest.approx(10)] == [FLOOR]
    # the measure_thickness tool casts its ray chord from the same face and gets the same wall
    measured = ok(doc, "measure_thickness", {"at": f"Block.{inner}"})
    assert measured["thickness"] == pytest.approx(thin.thickness, abs=1e-6)


def test_walls_are_found_in_the_parts_own_frame_and_reported_where_the_part_is(doc):
    placement = FreeCAD.Placement(V(100, -50, 7), FreeCAD.Rotation(V(1, 2, 3), 33))
    shape = _pocket_block(0.4)
    add_shape(doc, "Block", shape, placement)
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.thin_wall")
    assert finding.measured == pytest.approx(0.4, abs=1e-9)
    assert set(finding.elements) == {_name(shape, _plane_at("x", 39.6)), _name(shape, _plane_at("x", 40))}
    local = placement.inverse().multVec(V(*finding.location))
    assert local.x == pytest.approx(39.8) and 5 < local.y < 35 and 10 < local.z < 20


def test_cylinder_walls_tube_web_and_pin():
    tube = find_walls(Part.makeCylinder(5, 20).cut(Part.makeCylinder(4.2, 20)))
    assert [(w.kind, round(w.thickness, 9)) for w in tube.walls] == [(TUBE, 0.8)]
    web = find_walls(Part.makeBox(20, 20, 10).cut(Part.makeCylinder(2, 10, V(10, 17.6, 0))))
    (hole_web,) = [w for w in web.walls if w.kind == WEB]
    assert hole_web.thickness == pytest.approx(20 - 17.6 - 2, abs=1e-9)
    assert hole_web.location.y == pytest.approx(19.8)
    pin = find_walls(Part.makeBox(20, 20, 5).fuse(Part.makeCylinder(1, 10, V(10, 10, 5))).removeSplitter())
    assert [(w.kind, round(w.thickness, 9)) for w in pin.walls if w.kind == PIN] == [(PIN, 2.0)]


def test_a_plate_is_as_thick_as_it_is_not_as_long(doc):
    found = find_walls(Part.makeBox(50, 50, 6))
    assert [round(w.thickness, 9) for w in found.walls] == [6.0]


def test_the_wall_map_is_computed_once_for_all_wall_rules(doc, monkeypatch):
    add_shape(doc, "Block", _pocket_block(0.4))
    calls = []
    real = walls_module.find_walls

    def counting(shape):
        calls.append(shape)
        return real(shape)

    monkeypatch.setattr(walls_module, "find_walls", counting)
    result = check_document(doc, "cnc-3axis")
    assert {"cnc.thin_wall", "cnc.tall_thin_wall"} <= set(result.rules_run)
    assert len(calls) == 1
    calls.clear()
    check_document(doc, "injection-molding")
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------- cnc.thin_wall


@pytest.mark.parametrize(
    ("material", "wall", "severity", "limit"),
    [
        ("aluminium", 0.4, Severity.ERROR, 0.5),
        ("aluminium", 0.6, Severity.WARNING, 0.8),
        ("aluminium", 2.0, None, None),
        ("aluminium", 1.2, None, None),
        ("abs", 0.4, Severity.ERROR, 1.0),
        ("abs", 1.2, Severity.WARNING, 1.5),  # the same wall as above: the material group moves the limit
        ("abs", 2.0, None, None),
        ("steel", 0.6, Severity.WARNING, 0.8),
    ],
)
def test_cnc_thin_wall_in_metal_and_plastic(doc, material, wall, severity, limit):
    block = add_shape(doc, "Block", _pocket_block(wall))
    findings = _by_rule(run_dfm(doc, "cnc-3axis", material=material), "cnc.thin_wall")
    if severity is None:
        assert findings == []
        return
    (finding,) = findings
    assert finding.severity is severity and finding.object == "Block"
    assert set(finding.elements) == {_name(block, _plane_at("x", 40 - wall)), _name(block, _plane_at("x", 40))}
    assert finding.measured == pytest.approx(wall, abs=1e-9)
    assert finding.limit == limit and finding.unit == "mm"
    assert finding.location[0] == pytest.approx(40 - wall / 2)
    assert f"{wall:g} mm thick" in finding.message and f"{limit:g} mm" in finding.message
    assert finding.suggestion


def test_cnc_thin_wall_limit_comes_from_the_profile(doc):
    add_shape(doc, "Block", _pocket_block(2.0))
    assert not _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.thin_wall")
    stricter = {"rules": {"cnc.thin_wall": {"warn_below": 3.0, "error_below": 1.0}}}
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis", profile=stricter), "cnc.thin_wall")
    assert finding.severity is Severity.WARNING and finding.limit == 3.0 and finding.measured == pytest.approx(2.0)


def test_cnc_thin_wall_web_beside_a_hole(doc):
    part = add_shape(doc, "Plate", Part.makeBox(20, 20, 10).cut(Part.makeCylinder(2, 10, V(10, 17.6, 0))))
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.thin_wall")
    bore = _name(part, lambda f: f.Surface.__class__.__name__ == "Cylinder")
    assert set(finding.elements) == {bore, _name(part, _plane_at("y", 20))}
    assert finding.measured == pytest.approx(0.4, abs=1e-9) and finding.limit == 0.5
    assert finding.location == pytest.approx((10, 19.8, finding.location[2])) and "hole" in finding.message


def test_blind_holes_give_no_nonsense_walls_but_a_thin_flat_floor_is_named(doc):
    # a drilled blind hole whose 118° point nearly reaches the bottom: a cone is no wall
    point = 3 / math.tan(math.radians(59))  # length of the 118° drill point of a Ø6 drill
    drill = Part.makeCylinder(3, 11, V(20, 20, 0.3 + point)).fuse(Part.makeCone(0, 3, point, V(20, 20, 0.3)))
    add_shape(doc, "Drilled", Part.makeBox(40, 40, 12).cut(drill))
    assert not _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.thin_wall")
    # a flat-bottomed hole leaving 0.3 mm under it: that floor is what breaks through
    flat = add_shape(doc, "Flat", Part.makeBox(40, 40, 12, V(100, 0, 0)).cut(Part.makeCylinder(3, 12, V(120, 20, 0.3))))
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.thin_wall")
    assert finding.object == "Flat" and finding.measured == pytest.approx(0.3, abs=1e-9)
    assert set(finding.elements) == {_name(flat, _plane_at("z", 0.3)), _name(flat, _plane_at("z", 0))}
    assert finding.message.startswith("Floor")


# ---------------------------------------------------------------------------------------- cnc.tall_thin_wall


def _fin(thickness: float, height: float):
    """A 30×20×5 base with a fin across it (full length in y) standing ``height`` above it."""
    base = Part.makeBox(30, 20, 5)
    fin = Part.makeBox(thickness, 20, height, V(15 - thickness / 2, 0, 5))
    return base.fuse(fin).removeSplitter()


def test_tall_thin_fin_is_an_error_and_a_stubby_one_is_clean(doc):
    fin = add_shape(doc, "Fin", _fin(1.0, 20.0))
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.tall_thin_wall")
    assert finding.severity is Severity.ERROR and finding.unit == "ratio"
    assert finding.measured == pytest.approx(20.0) and finding.limit == 8.0
    assert set(finding.elements) == {_name(fin, _plane_at("x", 14.5)), _name(fin, _plane_at("x", 15.5))}
    assert "20 mm tall and 1 mm thick" in finding.message
    doc.removeObject("Fin")
    add_shape(doc, "Stubby", _fin(5.0, 10.0))
    _assert_clean(run_dfm(doc, "cnc-3axis"), "cnc.tall_thin_wall", "cnc.thin_wall")


def test_a_pocket_side_wall_stands_as_deep_as_the_pocket(doc):
    block = add_shape(doc, "Block", _pocket_block(2.0))  # 10 deep pocket, 2 mm wall: 5:1
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.tall_thin_wall")
    assert finding.severity is Severity.WARNING and finding.limit == 4.0
    assert finding.measured == pytest.approx(5.0)
    assert set(finding.elements) == {_name(block, _plane_at("x", 38)), _name(block, _plane_at("x", 40))}
    lenient = {"rules": {"cnc.tall_thin_wall": {"warn_above": 6.0}}}
    assert not _by_rule(run_dfm(doc, "cnc-3axis", profile=lenient), "cnc.tall_thin_wall")


def test_a_long_ledge_is_a_floor_not_a_tall_wall(doc):
    # 1 mm ledge 20 mm long beside a 3 mm section: the tool faces it from above
    add_shape(doc, "Ledge", Part.makeBox(40, 20, 3).cut(Part.makeBox(20, 20, 3, V(20, 0, 1))))
    _assert_clean(run_dfm(doc, "cnc-3axis"), "cnc.tall_thin_wall", "cnc.thin_wall")


# ---------------------------------------------------------------------------------------- molding walls


def test_mold_max_wall_per_resin(doc):
    plate = add_shape(doc, "Plate", Part.makeBox(50, 40, 6))
    (finding,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.max_wall")
    assert finding.severity is Severity.WARNING and finding.limit == 3.56 and finding.unit == "mm"
    assert finding.measured == pytest.approx(6.0, abs=1e-9)
    assert set(finding.elements) == {_name(plate, _plane_at("z", 0)), _name(plate, _plane_at("z", 6))}
    assert finding.location[2] == pytest.approx(3.0)
    (pc,) = _by_rule(run_dfm(doc, "injection-molding", material="pc"), "mold.max_wall")
    assert pc.limit == 3.81
    assert not _by_rule(run_dfm(doc, "injection-molding", material="pmma"), "mold.max_wall")  # 12.7 mm allowed
    doc.removeObject("Plate")
    add_shape(doc, "Thin", Part.makeBox(50, 40, 2.5))
    _assert_clean(run_dfm(doc, "injection-molding"), "mold.max_wall", "mold.min_wall", "mold.nonuniform_wall")


def test_mold_min_wall_per_resin(doc):
    plate = add_shape(doc, "Plate", Part.makeBox(50, 40, 0.8))
    (finding,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.min_wall")
    assert finding.severity is Severity.WARNING and finding.limit == 1.14 and finding.unit == "mm"
    assert finding.measured == pytest.approx(0.8, abs=1e-9)
    assert set(finding.elements) == {_name(plate, _plane_at("z", 0)), _name(plate, _plane_at("z", 0.8))}
    assert not _by_rule(run_dfm(doc, "injection-molding", material="pom"), "mold.min_wall")  # 0.76 mm
    doc.removeObject("Plate")
    add_shape(doc, "Twin", Part.makeBox(50, 40, 2.0))
    _assert_clean(run_dfm(doc, "injection-molding"), "mold.min_wall")


def _stepped_plate(thick: float, thin: float):
    """A 40×20 plate, ``thick`` mm for x < 20 and ``thin`` mm beyond."""
    return Part.makeBox(40, 20, thick).cut(Part.makeBox(20, 20, thick, V(20, 0, thin)))


def test_mold_nonuniform_wall_at_the_step(doc):
    plate = add_shape(doc, "Plate", _stepped_plate(3.0, 1.0))
    (finding,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.nonuniform_wall")
    assert finding.severity is Severity.WARNING and finding.unit == "ratio"
    assert finding.measured == pytest.approx(3.0) and finding.limit == 2.0
    bottom, thick_top, thin_top = (_name(plate, _plane_at("z", z)) for z in (0, 3, 1))
    assert set(finding.elements) == {bottom, thick_top, thin_top}
    assert finding.location[0] == pytest.approx(20.0)  # where the thin section starts
    assert "1 mm" in finding.message and "3 mm" in finding.message


@pytest.mark.parametrize(("thick", "thin"), [(2.0, 2.0), (3.0, 2.0)])
def test_uniform_or_gently_stepped_plates_are_not_nonuniform(doc, thick, thin):
    add_shape(doc, "Plate", _stepped_plate(thick, thin) if thick != thin else Part.makeBox(40, 20, thick))
    _assert_clean(run_dfm(doc, "injection-molding"), "mold.nonuniform_wall")


def _ribbed_plate(rib: float, height: float, wall: float = 2.0):
    """A 40×30 plate ``wall`` thick with a 20 long rib across its middle."""
    plate = Part.makeBox(40, 30, wall)
    return plate.fuse(Part.makeBox(rib, 20, height, V(20 - rib / 2, 5, wall))).removeSplitter()


def test_mold_rib_too_thick_for_its_wall(doc):
    part = add_shape(doc, "Ribbed", _ribbed_plate(2.0, 5.0))
    findings = run_dfm(doc, "injection-molding")
    (finding,) = _by_rule(findings, "mold.rib_thickness")
    assert finding.severity is Severity.WARNING and finding.unit == "ratio"
    assert finding.measured == pytest.approx(1.0) and finding.limit == 0.6
    assert set(finding.elements) == {_name(part, _plane_at("x", 19)), _name(part, _plane_at("x", 21))}
    assert set(finding.related) == {f"Ribbed.{_name(part, _plane_at('z', z))}" for z in (0, 2)}
    assert 2 < finding.location[2] < 7 and finding.location[0] == pytest.approx(20)
    _assert_clean(findings, "mold.nonuniform_wall")  # a rib is not a change of the nominal wall
    doc.removeObject("Ribbed")
    add_shape(doc, "Good", _ribbed_plate(1.0, 5.0))
    _assert_clean(run_dfm(doc, "injection-molding"), "mold.rib_thickness", "mold.nonuniform_wall")


def test_mold_rib_too_thin_or_too_tall(doc):
    add_shape(doc, "Thin", _ribbed_plate(0.6, 5.0))
    (thin,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.rib_thickness")
    assert thin.measured == pytest.approx(0.3) and thin.limit == 0.4
    doc.removeObject("Thin")
    add_shape(doc, "Tall", _ribbed_plate(1.0, 8.0))
    (tall,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.rib_thickness")
    assert tall.measured == pytest.approx(4.0) and tall.limit == 3.0 and "8 mm tall" in tall.message


# ---------------------------------------------------------------------------------------- am.thin_wall


def _cup(wall: float):
    """A 20×20×10 open box with ``wall`` mm sides and floor."""
    return Part.makeBox(20, 20, 10).cut(Part.makeBox(20 - 2 * wall, 20 - 2 * wall, 10, V(wall, wall, wall)))


def test_am_thin_wall_through_the_run_dfm_tool(doc):
    cup = add_shape(doc, "Cup", _cup(0.5))
    result = ok(doc, "run_dfm", {"process": "fdm"})
    findings = [f for f in result["findings"] if f["rule"] == "am.thin_wall"]
    assert len(findings) == 5  # four sides and the floor
    assert all(f["severity"] == "warning" and f["limit"] == 0.8 and f["unit"] == "mm" for f in findings)
    assert all(f["measured"] == pytest.approx(0.5, abs=1e-9) for f in findings)
    floor = {_name(cup, _plane_at("z", 0)), _name(cup, _plane_at("z", 0.5))}
    assert floor in [set(f["elements"]) for f in findings]
    doc.removeObject("Cup")
    add_shape(doc, "Sturdy", _cup(1.2))
    assert not [f for f in ok(doc, "run_dfm", {"process": "fdm"})["findings"] if f["rule"] == "am.thin_wall"]


def test_no_wall_rule_fires_on_a_plain_machined_block(doc):
    add_shape(doc, "Block", Part.makeBox(60, 40, 25).cut(Part.makeBox(30, 20, 8, V(15, 10, 17))))
    findings = run_dfm(doc, "cnc-3axis")
    _assert_clean(findings, *WALL_RULES)
    assert not [f for f in findings if "crashed" in f.message]


def test_a_chord_across_a_slot_is_not_a_wall():
    # two 1 mm fins 3 mm apart: their outer faces are 5 mm apart, but across air
    part = Part.makeBox(30, 20, 5).fuse([Part.makeBox(1, 20, 20, V(10, 0, 5)), Part.makeBox(1, 20, 20, V(14, 0, 5))])
    found = find_walls(part.removeSplitter())
    fins = [w for w in found.walls if w.thickness < 2]
    assert sorted(round(w.location.x, 9) for w in fins) == [10.5, 14.5]
    assert not [w for w in found.walls if w.thickness == pytest.approx(5.0) and w.location.z > 5]


def test_a_wall_beside_a_conical_hole_is_cleared_by_the_kernels_section():
    # the cone's box covers the corners of the plate, where the top-to-bottom chords are sampled
    plate = Part.makeBox(12, 12, 2).cut(Part.makeCone(4, 5, 2, V(6, 6, 0)))
    found = find_walls(plate)
    assert [(w.kind, round(w.thickness, 9)) for w in found.walls] == [(WALL, 2.0)]
    (wall,) = found.walls
    corner = min(abs(wall.location.x - 6), abs(wall.location.y - 6))
    assert math.hypot(wall.location.x - 6, wall.location.y - 6) > 5 and corner < 5


def test_rounds_and_root_fillets_do_not_repeat_the_wall_they_belong_to():
    plate = Part.makeBox(40, 20, 2)
    edge = next(e for e in plate.Edges if abs(e.BoundBox.XMin - 40) < 1e-9 and abs(e.BoundBox.ZMin - 2) < 1e-9)
    rounded = plate.makeFillet(0.5, [edge])
    assert [round(w.thickness, 9) for w in find_walls(rounded).walls] == [2.0]
    fin = _fin(1.0, 10.0)
    roots = [e for e in fin.Edges if abs(e.BoundBox.ZMin - 5) < 1e-9 and abs(e.BoundBox.ZMax - 5) < 1e-9 and e.BoundBox.YLength > 19]
    filleted = fin.makeFillet(0.5, roots)
    found = find_walls(filleted)
    assert sorted(round(w.thickness, 9) for w in found.walls) == [1.0, 5.0, 5.0]
    assert not [w for w in found.walls if w.kind == WEB]


def test_a_drafted_wall_is_measured_from_its_thin_top_to_its_thick_root(doc):
    draft = 10 * math.tan(math.radians(1.0))  # 1° on each side over a 10 mm height
    section = Part.Face(Part.makePolygon([V(0, 0, 0), V(2, 0, 0), V(2 - draft, 0, 10), V(draft, 0, 10), V(0, 0, 0)]))
    add_shape(doc, "Drafted", section.extrude(V(0, 30, 0)))
    (wall,) = find_walls(doc.Drafted.Shape).walls
    assert 2 - 2 * draft < wall.thickness < wall.thickest < 2.0
    profile = {"rules": {"mold.max_wall": {"warn_above": 1.9}, "mold.min_wall": {"warn_below": 1.8}}}
    findings = run_dfm(doc, "injection-molding", material="resin", profile=profile)
    (thick,) = _by_rule(findings, "mold.max_wall")
    (thin,) = _by_rule(findings, "mold.min_wall")
    assert thick.measured == pytest.approx(wall.thickest) and thick.limit == 1.9
    assert thin.measured == pytest.approx(wall.thickness) and thin.limit == 1.8


def test_each_solid_of_a_compound_is_measured_and_named_in_the_whole_shape(doc):
    first, second = _pocket_block(0.4), _pocket_block(0.6)
    second.translate(V(100, 0, 0))
    part = add_shape(doc, "Pair", Part.Compound([first, second]))
    findings = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.thin_wall")
    assert sorted((round(f.measured, 9), f.severity.value) for f in findings) == [(0.4, "error"), (0.6, "warning")]
    for finding in findings:
        x = 39.6 if finding.measured < 0.5 else 139.4
        assert set(finding.elements) == {_name(part, _plane_at("x", x)), _name(part, _plane_at("x", x + finding.measured))}


def test_a_thin_hollow_boss_is_a_tall_thin_tube(doc):
    base = Part.makeBox(30, 30, 4)
    boss = Part.makeCylinder(3, 15, V(15, 15, 4)).cut(Part.makeCylinder(2.4, 15, V(15, 15, 4)))
    part = add_shape(doc, "Boss", base.fuse(boss).removeSplitter())
    findings = run_dfm(doc, "cnc-3axis")
    (thin,) = _by_rule(findings, "cnc.thin_wall")
    (tall,) = _by_rule(findings, "cnc.tall_thin_wall")
    cylinders = {f"Face{i}" for i, f in enumerate(part.Shape.Faces, 1) if type(f.Surface).__name__ == "Cylinder"}
    assert set(thin.elements) == set(tall.elements) == cylinders
    assert thin.measured == pytest.approx(0.6, abs=1e-9) and thin.severity is Severity.WARNING and thin.limit == 0.8
    assert tall.measured == pytest.approx(15 / 0.6) and tall.severity is Severity.ERROR
    assert "Tube wall" in tall.message

"""Direction rules (cnc.inaccessible_face, mold.undercut, mold.draft, am.overhang) and the one ray
caster behind them: each defect built from boxes and found on exactly the faces that have it, with
the constructed angle and the profile's limit; each clean twin silent; and the answer following the
pull or build direction when it changes."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, ok

from freecad_spatial.spatial_tools.dfm.engine import check_document, run_dfm
from freecad_spatial.spatial_tools.dfm.finding import Severity
from freecad_spatial.spatial_tools.dfm.rules import Target
from freecad_spatial.spatial_tools.geometry import visibility as visibility_module
from freecad_spatial.spatial_tools.geometry.visibility import (
    Visibility,
    face_samples,
    face_visible,
    part_axes,
    visibility_of,
)

AXES = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def _faces(shape, predicate) -> set[str]:
    return {f"Face{i}" for i, face in enumerate(shape.Faces, 1) if predicate(face)}


def _within(zlo: float, zhi: float):
    def predicate(face):
        box = face.BoundBox
        return box.ZMin >= zlo - 1e-9 and box.ZMax <= zhi + 1e-9

    return predicate


def _on_face(shape, element: str, location) -> bool:
    face = shape.Faces[int(element[4:]) - 1]
    return face.distToShape(Part.Vertex(V(*location)))[0] < 1e-6


def _t_slot_block():
    """60×40×30 block with a closed T cavity: a 10 wide opening (x 25-35, z 20-30) over a 30 wide
    chamber (x 15-45, z 10-20), both y 10-30, so the chamber reaches past the opening on both sides."""
    tool = Part.makeBox(10, 20, 10, V(25, 10, 20)).fuse(Part.makeBox(30, 20, 10, V(15, 10, 10)))
    return Part.makeBox(60, 40, 30).cut(tool)


def _frustum(draft_deg: float, width: float = 40.0, depth: float = 30.0, height: float = 20.0):
    """A block whose four side walls lean in by ``draft_deg`` towards the top (z = height)."""
    inset = height * math.tan(math.radians(draft_deg))

    def rectangle(z, d):
        return Part.makePolygon([V(d, d, z), V(width - d, d, z), V(width - d, depth - d, z), V(d, depth - d, z), V(d, d, z)])

    return Part.makeLoft([rectangle(0, 0), rectangle(height, inset)], True, True)


def _tee(ledge_deg: float):
    """An FDM T: a 10 wide stem standing on the plate (z = 0) and a 30 wide head whose undersides
    lean ``ledge_deg`` from vertical (90: flat ledges at z = 5), extruded 10 along y."""
    rise = 0.0 if ledge_deg >= 90 else 10.0 / math.tan(math.radians(ledge_deg))
    profile = [(10, 0), (20, 0), (20, 5), (30, 5 + rise), (30, 10 + rise), (0, 10 + rise), (0, 5 + rise), (10, 5)]
    points = [V(x, 0, z) for x, z in profile]
    wire = Part.makePolygon(points + points[:1])
    return Part.Face(wire).extrude(V(0, 10, 0))


# ------------------------------------------------------------------------------------ the ray caster


def test_visibility_hides_exactly_the_chamber_of_a_t_cavity_and_names_what_is_in_the_way():
    shape = _t_slot_block()
    vis = Visibility(shape)
    hidden = {f"Face{f.index + 1}": f for f in vis.hidden_faces(AXES)}
    chamber = _faces(shape, _within(10, 20))
    assert len(chamber) == 7 and set(hidden) == chamber
    for name, face in hidden.items():
        box = shape.Faces[int(name[4:]) - 1].BoundBox
        # Ceilings (z = 20) and the side walls (x = 15, 45) are hidden all over; the floor and the end
        # walls (y = 10, 30) show their middle third (x 25-35) through the opening: 3 of 9 points.
        whole = abs(box.ZMin - 20) < 1e-9 or box.XLength < 1e-9
        assert (face.hidden, face.samples) == ((9, 9) if whole else (6, 9)), name
        assert 10 - 1e-9 <= face.point.z <= 20 + 1e-9
    # The left ceiling looks down (-Z) onto the floor: that is what hides it from -Z.
    ceiling = next(f for n, f in hidden.items() if shape.Faces[int(n[4:]) - 1].BoundBox.XMax < 25 + 1e-9 and abs(shape.Faces[int(n[4:]) - 1].BoundBox.ZMin - 20) < 1e-9)
    floor = next(i for i, f in enumerate(shape.Faces) if abs(f.BoundBox.ZMax - 10) < 1e-9 and f.BoundBox.ZLength < 1e-9)
    assert ceiling.blockers[5] == (floor,)
    assert 4 not in ceiling.blockers  # a ceiling turns its back on +Z: no ray is cast that way


def test_face_visible_asks_one_face_and_one_direction():
    shape = Part.makeBox(40, 40, 20).cut(Part.makeBox(20, 20, 10, V(10, 10, 10)))
    target = Target(obj=None, shape=shape)
    floor = next(i for i, f in enumerate(shape.Faces) if abs(f.BoundBox.ZMax - 10) < 1e-9 and f.BoundBox.ZLength < 1e-9)
    top = next(i for i, f in enumerate(shape.Faces) if abs(f.BoundBox.ZMin - 20) < 1e-9)
    assert face_visible(target, floor, (0, 0, 1))
    assert not face_visible(target, floor, (1, 0, 0))  # the pocket wall at x = 30 is in the way
    assert not face_visible(target, floor, (0, 0, -1))  # the floor turns its back on -Z
    assert face_visible(target, top, (0, 0, 1))
    assert target.cache[visibility_module.VISIBILITY_KEY] is visibility_of(target)


def test_face_samples_are_on_the_trimmed_face_with_outward_normals():
    shape = Part.makeBox(20, 20, 20).cut(Part.makeCylinder(5, 20, V(10, 10, 0)))
    bore = next(f for f in shape.Faces if "Cylinder" in type(f.Surface).__name__)
    samples = face_samples(bore)
    assert len(samples) == 9
    for s in samples:
        radial = V(s.point.x - 10, s.point.y - 10, 0)
        assert radial.Length == pytest.approx(5.0)
        assert s.normal.dot(radial) / radial.Length == pytest.approx(-1.0)  # a bore's outward normal points at the axis
    top = next(f for f in shape.Faces if abs(f.BoundBox.ZMin - 20) < 1e-9)
    assert all((V(s.point.x - 10, s.point.y - 10, 0)).Length > 5 for s in face_samples(top))  # none in the hole


def test_rays_sliding_along_curved_walls_are_decided_by_the_kernel_not_the_mesh():
    """Holes along each axis, blind and through: every wall point is reached along the hole's axis,
    though the rays run a lift away from chords that cut into the bore."""
    block = Part.makeBox(60, 60, 60)
    for axis, start in (((1, 0, 0), V(0, 20, 20)), ((0, 1, 0), V(40, 0, 40)), ((0, 0, 1), V(20, 40, 0))):
        block = block.cut(Part.makeCylinder(1.5, 35, start, V(*axis)))
    block = block.cut(Part.makeCylinder(7.5, 60, V(45, 15, 0)))
    assert Visibility(block).hidden_faces(AXES) == []


def test_faces_the_mesher_merges_fall_back_to_one_mesh_per_face(monkeypatch):
    import MeshPart

    class Unsegmented:
        Topology = ([], [])

        def countSegments(self):
            return 0

    monkeypatch.setattr(MeshPart, "meshFromShape", lambda **kwargs: Unsegmented())
    shape = _t_slot_block()
    hidden = Visibility(shape).hidden_faces(AXES)
    assert {f"Face{f.index + 1}" for f in hidden} == _faces(shape, _within(10, 20))


# ------------------------------------------------------------------------------- cnc.inaccessible_face


def test_cnc_inaccessible_face_flags_the_t_cavity_and_the_open_pocket_is_clean(doc):
    tee = add_shape(doc, "TSlot", _t_slot_block())
    add_shape(doc, "Pocket", Part.makeBox(60, 40, 30).cut(Part.makeBox(30, 20, 20, V(15, 10, 10))), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    findings = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.inaccessible_face")
    # One finding for the one thing: the chamber, all seven of its faces (dfm.grouping).
    (f,) = findings
    assert f.object == "TSlot" and set(f.elements) == _faces(tee.Shape, _within(10, 20))
    assert f.severity is Severity.WARNING and f.unit == "%" and f.limit == 0.0
    assert f.measured == pytest.approx(100.0)  # the worst face: a ceiling, hidden all over
    assert any(_on_face(tee.Shape, e, f.location) for e in f.elements)
    assert "±X ±Y ±Z" in f.message and "7 faces" in f.message and "T-slot" in f.suggestion
    assert all(r.startswith("TSlot.Face") for r in f.related)
    assert not set(f.related) & {f"TSlot.{e}" for e in f.elements}  # its own faces are the thing, not in its way


def test_a_t_slot_running_out_through_both_ends_is_reached_along_it(doc):
    """The definition is visibility from ±X ±Y ±Z: a slot open at its ends is cut from ±Y."""
    tool = Part.makeBox(10, 40, 10, V(25, 0, 20)).fuse(Part.makeBox(30, 40, 10, V(15, 0, 10)))
    add_shape(doc, "Through", Part.makeBox(60, 40, 30).cut(tool))
    assert not _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.inaccessible_face")


def test_an_angled_hole_needs_a_tilt_and_the_same_part_placed_square_is_clean(doc):
    axis = V(1, 0, 1).normalize()
    bore = Part.makeCylinder(3, 200, V(30, 20, 20) - axis * 100, axis)
    angled = add_shape(doc, "Angled", Part.makeBox(60, 40, 40).cut(bore))
    (finding,) = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.inaccessible_face")
    wall = next(f"Face{i}" for i, f in enumerate(angled.Shape.Faces, 1) if "Cylinder" in type(f.Surface).__name__)
    assert finding.elements == (wall,) and finding.measured > 50
    assert "0.707" in finding.suggestion and "tilt" in finding.suggestion
    # Modelled square (hole along z) and placed at 45°: the part's own axes turn with it.
    doc.removeObject("Angled")
    square = Part.makeBox(40, 40, 60).cut(Part.makeCylinder(3, 60, V(20, 20, 0)))
    placed = add_shape(doc, "Placed", square, FreeCAD.Placement(V(0, 0, 0), FreeCAD.Rotation(V(0, 1, 0), 45)))
    assert part_axes(Target(placed, placed.Shape).shape)[4] == pytest.approx((math.sqrt(0.5), 0.0, math.sqrt(0.5)))
    assert not _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.inaccessible_face")


# -------------------------------------------------------------------------------------- mold.undercut


def _side_hole_box():
    return Part.makeBox(40, 30, 20).cut(Part.makeCylinder(4, 40, V(0, 15, 10), V(1, 0, 0)))


def test_mold_undercut_side_hole_needs_a_slide_and_a_hole_along_the_pull_is_clean(doc):
    side = add_shape(doc, "Side", _side_hole_box())
    add_shape(doc, "Along", Part.makeBox(40, 30, 20).cut(Part.makeCylinder(4, 20, V(20, 15, 0))), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    (finding,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.undercut")
    bore = next(f"Face{i}" for i, f in enumerate(side.Shape.Faces, 1) if "Cylinder" in type(f.Surface).__name__)
    assert finding.object == "Side" and finding.elements == (bore,)
    assert finding.severity is Severity.ERROR and finding.measured == pytest.approx(100.0) and finding.limit == 0.0
    assert "pull +Z" in finding.message and "slide" in finding.suggestion and "along +X" in finding.suggestion
    assert _on_face(side.Shape, bore, finding.location)


@pytest.mark.parametrize("how", ["argument", "profile"])
def test_the_side_hole_is_fine_when_the_mold_opens_along_its_axis(doc, how):
    add_shape(doc, "Side", _side_hole_box())
    if how == "argument":
        result = check_document(doc, "injection-molding", pull_direction=(1, 0, 0))
    else:
        result = check_document(doc, "injection-molding", profile={"pull_direction": [-1, 0, 0]})
    assert not _by_rule(result.findings, "mold.undercut")
    assert abs(result.profile.pull_direction[0]) == 1.0


def test_undercut_through_the_run_dfm_tool_follows_the_pull_direction(doc):
    side = add_shape(doc, "Side", _side_hole_box())
    bore = next(f"Face{i}" for i, f in enumerate(side.Shape.Faces, 1) if "Cylinder" in type(f.Surface).__name__)
    default = ok(doc, "run_dfm", {"process": "injection-molding"})
    assert [f["elements"] for f in default["findings"] if f["rule"] == "mold.undercut"] == [[bore]]
    along = ok(doc, "run_dfm", {"process": "injection-molding", "pull_direction": [1, 0, 0]})
    assert along["pull_direction"] == [1.0, 0.0, 0.0]
    assert not [f for f in along["findings"] if f["rule"] == "mold.undercut"]


# ----------------------------------------------------------------------------------------- mold.draft


def _walls(shape):
    return _faces(shape, lambda f: f.BoundBox.ZLength > 1e-9)


def test_mold_draft_vertical_walls_are_errors_and_2_degree_walls_are_clean(doc):
    box = add_shape(doc, "Box", Part.makeBox(40, 30, 20))
    add_shape(doc, "Drafted", _frustum(2.0), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    findings = _by_rule(run_dfm(doc, "injection-molding"), "mold.draft")
    assert {f.object for f in findings} == {"Box"}
    assert {f.elements[0] for f in findings} == _walls(box.Shape) and len(findings) == 4
    for f in findings:
        assert f.severity is Severity.ERROR and f.measured == pytest.approx(0.0, abs=1e-9)
        assert f.limit == 0.5 and f.unit == "deg" and "0.00°" in f.message and "pull +Z" in f.message
        assert _on_face(box.Shape, f.elements[0], f.location)


def test_mold_draft_measures_the_constructed_angle_of_planes_and_cones(doc):
    shallow = add_shape(doc, "Shallow", _frustum(0.7))
    cone = add_shape(doc, "Cone", Part.makeCone(10, 10 - 20 * math.tan(math.radians(0.3)), 20, V(100, 0, 0)))
    add_shape(doc, "Boss", Part.makeCone(10, 10 - 20 * math.tan(math.radians(1.5)), 20, V(200, 0, 0)))
    findings = _by_rule(run_dfm(doc, "injection-molding"), "mold.draft")
    shallow_walls = [f for f in findings if f.object == "Shallow"]
    assert {f.elements[0] for f in shallow_walls} == _walls(shallow.Shape)
    for f in shallow_walls:
        assert f.severity is Severity.WARNING and f.measured == pytest.approx(0.7, abs=1e-9) and f.limit == 1.0
    (side,) = [f for f in findings if f.object == "Cone"]
    assert side.elements == (next(f"Face{i}" for i, f in enumerate(cone.Shape.Faces, 1) if "Cone" in type(f.Surface).__name__),)
    assert side.severity is Severity.ERROR and side.measured == pytest.approx(0.3, abs=1e-9)
    assert not [f for f in findings if f.object == "Boss"]
    # Limits come from the profile.
    lenient = {"rules": {"mold.draft": {"warn_below": 0.6, "error_below": 0.2}}}
    findings = _by_rule(run_dfm(doc, "injection-molding", profile=lenient), "mold.draft")
    assert {f.object for f in findings} == {"Cone"} and findings[0].severity is Severity.WARNING


def test_mold_draft_follows_the_pull_and_leaves_undercuts_to_mold_undercut(doc):
    drafted = add_shape(doc, "Drafted", _frustum(2.0))
    findings = _by_rule(run_dfm(doc, "injection-molding", pull_direction=(1, 0, 0)), "mold.draft")
    # Pulled along x, the walls facing ±y and the top and bottom run along the pull with no draft.
    expected = _faces(drafted.Shape, lambda f: abs(f.normalAt(*f.Surface.parameter(f.CenterOfMass)).x) < 1e-9)
    assert {f.elements[0] for f in findings} == expected and len(expected) == 4
    assert all(f.measured == pytest.approx(0.0, abs=1e-9) and "pull +X" in f.message for f in findings)
    doc.removeObject("Drafted")
    side = add_shape(doc, "Side", _side_hole_box())
    result = run_dfm(doc, "injection-molding")
    bore = next(f"Face{i}" for i, f in enumerate(side.Shape.Faces, 1) if "Cylinder" in type(f.Surface).__name__)
    assert [f.elements for f in _by_rule(result, "mold.undercut")] == [(bore,)]
    assert bore not in {f.elements[0] for f in _by_rule(result, "mold.draft")}
    assert len(_by_rule(result, "mold.draft")) == 4


# ---------------------------------------------------------------------------------------- am.overhang


def test_am_overhang_flat_ledges_are_found_and_a_30_degree_chamfer_is_clean(doc):
    flat = add_shape(doc, "Flat", _tee(90))
    add_shape(doc, "Chamfered", _tee(30), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    findings = _by_rule(run_dfm(doc, "fdm"), "am.overhang")
    ledges = _faces(flat.Shape, lambda f: f.BoundBox.ZLength < 1e-9 and abs(f.BoundBox.ZMin - 5) < 1e-9)
    assert len(ledges) == 2 and {f.elements[0] for f in findings} == ledges
    for f in findings:
        assert f.object == "Flat" and f.severity is Severity.WARNING
        assert f.measured == pytest.approx(90.0) and f.limit == 45.0 and f.unit == "deg"
        assert "90.0°" in f.message and "+Z" in f.message
        assert _on_face(flat.Shape, f.elements[0], f.location)


def test_am_overhang_measures_the_lean_of_a_60_degree_underside(doc):
    steep = add_shape(doc, "Steep", _tee(60))
    findings = _by_rule(run_dfm(doc, "fdm"), "am.overhang")
    assert len(findings) == 2
    for f in findings:
        assert f.measured == pytest.approx(60.0, abs=1e-9)
        face = steep.Shape.Faces[int(f.elements[0][4:]) - 1]
        assert face.BoundBox.ZLength > 1 and face.BoundBox.XLength == pytest.approx(10.0)
    assert not _by_rule(run_dfm(doc, "fdm", profile={"rules": {"am.overhang": {"warn_above": 61.0}}}), "am.overhang")


def test_am_overhang_follows_the_build_direction_and_spares_the_face_on_the_plate(doc):
    add_shape(doc, "Flat", _tee(90))
    # Printed upside down the head lies on the plate and the ledges face up.
    assert not _by_rule(run_dfm(doc, "fdm", build_direction=(0, 0, -1)), "am.overhang")
    # A plain block: only its bottom faces down, and it rests on the plate.
    doc.removeObject("Flat")
    add_shape(doc, "Block", Part.makeBox(10, 10, 10, V(0, 0, 5)))
    assert not _by_rule(run_dfm(doc, "fdm"), "am.overhang")


# -------------------------------------------------------------------------------------- sharing


def test_one_visibility_per_object_serves_undercut_and_draft(doc, monkeypatch):
    add_shape(doc, "Side", _side_hole_box())
    made = []
    original = Visibility.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Visibility, "__init__", counting)
    result = check_document(doc, "injection-molding")
    assert _by_rule(result.findings, "mold.undercut") and _by_rule(result.findings, "mold.draft")
    assert len(made) == 1

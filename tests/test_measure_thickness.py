"""measure_thickness and the shared ray-casting function against walls of known thickness."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, face_where, ok

from freecad_spatial.spatial_tools.geometry.thickness import chord_at


def cylinder_face(obj, radius):
    return face_where(obj, lambda f: isinstance(f.Surface, Part.Cylinder) and abs(f.Surface.Radius - radius) < 1e-9)


def plane_face_at(obj, axis, value):
    """Ref of the planar face whose centre has coordinate ``axis`` == ``value`` (global)."""
    return face_where(
        obj, lambda f: isinstance(f.Surface, Part.Plane) and abs(getattr(f.CenterOfMass, axis) - value) < 1e-9
    )


@pytest.fixture
def tube(doc):
    """Tube R10 / r7, 20 long, along Z, moved and turned so coordinates are not trivial."""
    shape = Part.makeCylinder(10, 20).cut(Part.makeCylinder(7, 20))
    return add_shape(doc, "Tube", shape, FreeCAD.Placement(V(5, 6, 7), FreeCAD.Rotation(V(0, 1, 0), 90)))


def test_tube_wall_from_outer_and_inner_face(doc, tube):
    axis_point, axis_dir = tube.Placement.Base, tube.Placement.Rotation.multVec(V(0, 0, 1))

    def radius(p):
        v = V(*p) - axis_point
        return (v - axis_dir * v.dot(axis_dir)).Length

    for ref in (cylinder_face(tube, 10), cylinder_face(tube, 7)):
        r = ok(doc, "measure_thickness", {"at": ref})
        assert r["thickness"] == pytest.approx(10 - 7, abs=1e-7), ref
        assert r["face"] == ref
        assert (V(*r["point_out"]) - V(*r["point_in"])).Length == pytest.approx(r["thickness"], abs=1e-9)
        assert r["point_in"] == pytest.approx(r["at"], abs=1e-9)
    outer = ok(doc, "measure_thickness", {"at": cylinder_face(tube, 10)})
    assert radius(outer["point_in"]) == pytest.approx(10, abs=1e-7)
    assert radius(outer["point_out"]) == pytest.approx(7, abs=1e-7)


def test_annular_end_face_uses_a_point_inside_the_face(doc, tube):
    """The UV centre of the tube's end face is in the bore; the measurement must start on the ring."""
    end = plane_face_at(tube, "x", 5)  # the end at local z = 0 lies in the plane x = 5 after the turn
    r = ok(doc, "measure_thickness", {"at": end})
    assert r["thickness"] == pytest.approx(20, abs=1e-7)
    assert r["direction"] == pytest.approx([1, 0, 0], abs=1e-9)
    start = V(*r["point_in"]) - tube.Placement.Base
    assert 7 < math.hypot(start.y, start.z) < 10


def test_box_wall_and_direction_at_an_angle(doc):
    box = add_shape(doc, "Wall", Part.makeBox(40, 30, 5))
    top = plane_face_at(box, "z", 5)
    r = ok(doc, "measure_thickness", {"at": top})
    assert r["thickness"] == pytest.approx(5, abs=1e-9)
    assert r["direction"] == pytest.approx([0, 0, -1], abs=1e-12)
    theta = math.radians(30)
    tilted = [math.sin(theta), 0, -math.cos(theta)]
    r = ok(doc, "measure_thickness", {"at": {"point": [10, 15, 5]}, "direction": tilted, "object": "Wall"})
    assert r["thickness"] == pytest.approx(5 / math.cos(theta), abs=1e-9)
    assert r["point_out"] == pytest.approx([10 + 5 * math.tan(theta), 15, 0], abs=1e-9)


def test_outward_direction_measures_the_same_wall(doc):
    add_shape(doc, "Wall", Part.makeBox(40, 30, 5))
    r = ok(doc, "measure_thickness", {"at": {"point": [10, 15, 5]}, "direction": [0, 0, 1]})
    assert r["thickness"] == pytest.approx(5, abs=1e-9)
    assert r["direction"] == pytest.approx([0, 0, -1], abs=1e-12)
    assert r["object"] == "Wall"


def test_point_inside_material_gives_the_whole_chord(doc):
    add_shape(doc, "Wall", Part.makeBox(40, 30, 5))
    r = ok(doc, "measure_thickness", {"at": {"point": [10, 15, 2]}, "direction": [0, 0, -1]})
    assert r["thickness"] == pytest.approx(5, abs=1e-9)
    assert r["point_in"] == pytest.approx([10, 15, 5], abs=1e-9)
    assert r["point_out"] == pytest.approx([10, 15, 0], abs=1e-9)
    # default direction: across the nearest wall (the bottom, 2 mm away)
    r = ok(doc, "measure_thickness", {"at": {"point": [10, 15, 2]}})
    assert r["thickness"] == pytest.approx(5, abs=1e-9)
    assert r["direction"] == pytest.approx([0, 0, 1], abs=1e-12)


def test_concave_part_counts_only_the_first_wall(doc):
    """A U: a 30 long base, 4 high, with 10 mm walls at both ends. Only the run the point is in counts."""
    u = Part.makeBox(30, 10, 10).cut(Part.makeBox(10, 10, 6, V(10, 0, 4)))
    obj = add_shape(doc, "U", u)
    r = ok(doc, "measure_thickness", {"at": plane_face_at(obj, "x", 0)})  # face centre (0, 5, 5): wall height
    assert r["thickness"] == pytest.approx(10, abs=1e-9)
    assert r["point_out"] == pytest.approx([10, 5, 5], abs=1e-9)
    r = ok(doc, "measure_thickness", {"at": {"point": [0, 5, 2]}, "direction": [1, 0, 0]})
    assert r["thickness"] == pytest.approx(30, abs=1e-9)  # through the base


def test_shared_function_matches_the_tool(doc, tube):
    """DFM wall rules call chord_at directly: same numbers as the tool."""
    r = ok(doc, "measure_thickness", {"at": cylinder_face(tube, 10)})
    chord = chord_at(tube.Shape, V(*r["at"]), V(*r["direction"]))
    assert chord.thickness == pytest.approx(r["thickness"], abs=1e-12)
    assert list(chord.point_out) == pytest.approx(r["point_out"], abs=1e-12)
    assert chord_at(tube.Shape, V(100, 100, 100), V(1, 0, 0)) is None


def test_body_inside_part_with_placements(doc):
    part = doc.addObject("App::Part", "Asm")
    body = doc.addObject("PartDesign::Body", "Body")
    part.addObject(body)
    cyl = doc.addObject("PartDesign::AdditiveCylinder", "Cyl")
    body.addObject(cyl)
    cyl.Radius, cyl.Height = 4, 6
    part.Placement = FreeCAD.Placement(V(0, 0, 100), FreeCAD.Rotation())
    body.Placement = FreeCAD.Placement(V(10, 0, 0), FreeCAD.Rotation(V(1, 0, 0), 90))
    doc.recompute()
    side = cylinder_face(body, 4)
    r = ok(doc, "measure_thickness", {"at": f"Asm.{side}"})
    assert r["thickness"] == pytest.approx(8, abs=1e-7)  # across the diameter
    # the axis, after both placements, runs through (10, y, 100) along -Y
    mid = (V(*r["point_in"]) + V(*r["point_out"])) * 0.5
    assert [mid.x, mid.z] == pytest.approx([10, 100], abs=1e-7)
    r = ok(doc, "measure_thickness", {"at": {"point": [10, -3, 100]}, "direction": [0, -1, 0]})
    assert r["thickness"] == pytest.approx(6, abs=1e-9)
    assert r["object"] == "Body"


def test_errors(doc):
    add_shape(doc, "Wall", Part.makeBox(40, 30, 5))
    add_shape(doc, "Sheet", Part.makePlane(5, 5, V(100, 0, 0)))
    assert error(doc, "measure_thickness", {"at": {"point": [10, 15, 50]}})["code"] == "not_applicable"
    assert error(doc, "measure_thickness", {"at": "Wall"})["code"] == "bad_reference"
    assert error(doc, "measure_thickness", {"at": "Wall.Edge1"})["code"] == "bad_reference"
    assert error(doc, "measure_thickness", {"at": "Wall.Face1", "direction": [0, 0, 0]})["code"] == "bad_arguments"
    assert error(doc, "measure_thickness", {"at": "Sheet.Face1"})["code"] == "not_applicable"
    assert error(doc, "measure_thickness", {"at": "Wall.Face9"})["code"] == "bad_reference"
    # the line through a corner along the diagonal of the outside only touches the box
    err = error(doc, "measure_thickness", {"at": {"point": [0, 0, 5]}, "direction": [-1, 1, 0], "object": "Wall"})
    assert err["code"] == "not_applicable"


def test_point_on_an_edge_uses_a_bounding_face(doc):
    add_shape(doc, "Wall", Part.makeBox(40, 30, 5))
    r = ok(doc, "measure_thickness", {"at": {"point": [20, 0, 5]}})  # on the top front edge
    expected = {(0, 0, -1): 5, (0, 1, 0): 30}  # into the material from the top or from the front face
    key = tuple(round(c) for c in r["direction"])
    assert key in expected and r["thickness"] == pytest.approx(expected[key], abs=1e-9)
    assert r["face"].startswith("Wall.Face")


def test_point_slightly_off_the_surface_snaps_and_ambiguous_points_are_refused(doc):
    add_shape(doc, "Wall", Part.makeBox(40, 30, 5))  # diagonal 50.2 mm: picks within 0.05 mm snap
    r = ok(doc, "measure_thickness", {"at": {"point": [10, 15, 5.01]}})
    assert r["snapped"] == pytest.approx(0.01, abs=1e-9)
    assert r["at"] == pytest.approx([10, 15, 5], abs=1e-9)
    assert r["thickness"] == pytest.approx(5, abs=1e-9)
    assert error(doc, "measure_thickness", {"at": {"point": [10, 15, 5.2]}})["code"] == "not_applicable"
    add_shape(doc, "Overlap", Part.makeBox(10, 10, 10, V(5, 10, 0)))
    err = error(doc, "measure_thickness", {"at": {"point": [10, 15, 2]}})
    assert err["code"] == "bad_arguments" and "Wall" in err["message"] and "Overlap" in err["message"]
    assert ok(doc, "measure_thickness", {"at": {"point": [10, 15, 2]}, "object": "Overlap"})["object"] == "Overlap"

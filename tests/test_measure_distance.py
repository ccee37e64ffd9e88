"""measure_distance against distances computed by hand on parts the tests build."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, face_where, ok

from freecad_spatial.spatial_tools.refs import resolve

PLACEMENT = FreeCAD.Placement(V(12, -7, 30), FreeCAD.Rotation(V(1, 2, 3), 37))


def is_cylinder(radius):
    return lambda f: isinstance(f.Surface, Part.Cylinder) and abs(f.Surface.Radius - radius) < 1e-9


def circle_edge(obj, radius, z):
    """Ref of the circular edge of ``radius`` at local height ``z`` (before the object's placement)."""
    local = obj.Placement.inverse()
    hits = [
        i + 1
        for i, e in enumerate(obj.Shape.Edges)
        if isinstance(e.Curve, Part.Circle)
        and abs(e.Curve.Radius - radius) < 1e-9
        and abs(local.multVec(e.Curve.Center).z - z) < 1e-9
    ]
    assert len(hits) == 1
    return f"{obj.Name}.Edge{hits[0]}"


@pytest.fixture
def plate(doc):
    """100 x 60 x 10 plate, hole Ø6 at (20, 20), hole Ø8 at (70, 40), placed off-axis."""
    shape = (
        Part.makeBox(100, 60, 10)
        .cut(Part.makeCylinder(3, 10, V(20, 20, 0)))
        .cut(Part.makeCylinder(4, 10, V(70, 40, 0)))
    )
    return add_shape(doc, "Plate", shape, PLACEMENT)


def test_two_holes_centre_axis_and_wall_distance(doc, plate):
    small, big = face_where(plate, is_cylinder(3)), face_where(plate, is_cylinder(4))
    r = ok(doc, "measure_distance", {"a": small, "b": big})
    spacing = math.hypot(50, 20)
    assert r["center_distance"] == pytest.approx(spacing, abs=1e-9)
    assert r["axis_distance"] == pytest.approx(spacing, abs=1e-9)
    assert r["axes_parallel"] is True
    assert r["distance"] == pytest.approx(spacing - 3 - 4, abs=1e-7)
    # centres are mid-depth on each axis, in global coordinates
    assert r["center_a"] == pytest.approx(list(PLACEMENT.multVec(V(20, 20, 5))), abs=1e-9)
    assert r["center_b"] == pytest.approx(list(PLACEMENT.multVec(V(70, 40, 5))), abs=1e-9)
    # the closest points lie on the two hole walls
    pa, pb = V(*r["point_a"]), V(*r["point_b"])
    assert resolve(doc, small).shape.distToShape(Part.Vertex(pa))[0] < 1e-6
    assert resolve(doc, big).shape.distToShape(Part.Vertex(pb))[0] < 1e-6
    assert (pb - pa).Length == pytest.approx(r["distance"], abs=1e-9)
    assert r["tolerance"] > 0


def test_hit_elements(doc, plate):
    """Element refs are reported as given; whole objects name the exact face, edge or vertex hit."""
    small, big = face_where(plate, is_cylinder(3)), face_where(plate, is_cylinder(4))
    assert ok(doc, "measure_distance", {"a": small, "b": big})["elements"] == [small, big]
    r = ok(doc, "measure_distance", {"a": "Plate", "b": {"point": list(PLACEMENT.multVec(V(20, 20, 5)))}})
    assert r["distance"] == pytest.approx(3, abs=1e-7)  # from the hole's axis to its wall
    whole = plate.Shape  # one shape for both lookups: isSame also compares placements
    wall, hit = whole.getElement(small.split(".")[1]), whole.getElement(r["elements"][0].split(".")[1])
    assert r["elements"][0] == small or any(hit.isSame(e) for e in wall.Edges), r["elements"]


def test_circular_edges_centre_distance(doc, plate):
    top_small = circle_edge(plate, 3, 10)
    bottom_big = circle_edge(plate, 4, 0)
    r = ok(doc, "measure_distance", {"a": top_small, "b": bottom_big})
    assert r["center_distance"] == pytest.approx(math.sqrt(50**2 + 20**2 + 10**2), abs=1e-9)
    assert "axis_distance" not in r  # axis_distance is for two cylinders
    assert r["elements"] == [top_small, bottom_big]


def test_parallel_cylinders_offset_along_axis(doc):
    add_shape(doc, "A", Part.makeCylinder(2, 10))
    add_shape(doc, "B", Part.makeCylinder(3, 10, V(10, 0, 6)))
    a = face_where(doc.A, is_cylinder(2))
    b = face_where(doc.B, is_cylinder(3))
    r = ok(doc, "measure_distance", {"a": a, "b": b})
    assert r["axis_distance"] == pytest.approx(10, abs=1e-9)
    assert r["axes_parallel"] is True
    assert r["center_distance"] == pytest.approx(math.hypot(10, 6), abs=1e-9)
    assert r["distance"] == pytest.approx(10 - 2 - 3, abs=1e-7)


def test_skew_cylinders_axis_distance(doc):
    add_shape(doc, "Post", Part.makeCylinder(2, 40))  # along Z through the origin
    add_shape(doc, "Bar", Part.makeCylinder(1, 40, V(-20, 7, 20), V(1, 0, 0)))  # along X at y=7, z=20
    r = ok(doc, "measure_distance", {"a": face_where(doc.Post, is_cylinder(2)), "b": face_where(doc.Bar, is_cylinder(1))})
    assert r["axis_distance"] == pytest.approx(7, abs=1e-9)
    assert r["axes_parallel"] is False
    assert r["distance"] == pytest.approx(7 - 2 - 1, abs=1e-6)
    assert r["center_distance"] == pytest.approx(7, abs=1e-9)  # centres (0,0,20) and (0,7,20)


def test_skew_axes_rotated_by_an_arbitrary_placement(doc):
    """A rigid motion of both parts must not change the axis distance."""
    motion = FreeCAD.Placement(V(3, 4, 5), FreeCAD.Rotation(V(1, 1, 0), 70))
    add_shape(doc, "Post", Part.makeCylinder(2, 40), motion)
    bar = Part.makeCylinder(1, 40, V(-20, 7, 20), V(1, 1, 0))
    add_shape(doc, "Bar", bar, motion)
    r = ok(doc, "measure_distance", {"a": face_where(doc.Post, is_cylinder(2)), "b": face_where(doc.Bar, is_cylinder(1))})
    # Z axis vs the line (-20,7,20) + t(1,1,0)/√2: distance = |(p2-p1)·n|/|n| with n = z × d
    n = V(0, 0, 1).cross(V(1, 1, 0))
    assert r["axis_distance"] == pytest.approx(abs(V(-20, 7, 20).dot(n)) / n.Length, abs=1e-9)


def test_coaxial_cylinders(doc):
    add_shape(doc, "Shaft", Part.makeCylinder(2, 10))
    add_shape(doc, "Ring", Part.makeCylinder(5, 10, V(0, 0, 20)).cut(Part.makeCylinder(3, 10, V(0, 0, 20))))
    r = ok(doc, "measure_distance", {"a": face_where(doc.Shaft, is_cylinder(2)), "b": face_where(doc.Ring, is_cylinder(3))})
    assert r["axis_distance"] == pytest.approx(0, abs=1e-9)
    assert r["center_distance"] == pytest.approx(20, abs=1e-9)
    assert r["distance"] == pytest.approx(math.hypot(3 - 2, 20 - 10), abs=1e-7)


def test_spheres_and_sphere_to_cylinder(doc):
    add_shape(doc, "S1", Part.makeSphere(2, V(0, 0, 0)))
    add_shape(doc, "S2", Part.makeSphere(3, V(10, 5, 0)))
    add_shape(doc, "C", Part.makeCylinder(1, 8, V(0, 20, -4)))
    r = ok(doc, "measure_distance", {"a": "S1.Face1", "b": "S2.Face1"})
    assert r["center_distance"] == pytest.approx(math.hypot(10, 5), abs=1e-9)
    assert r["distance"] == pytest.approx(math.hypot(10, 5) - 5, abs=1e-7)
    assert "axis_distance" not in r
    r = ok(doc, "measure_distance", {"a": "S1.Face1", "b": face_where(doc.C, is_cylinder(1))})
    assert r["center_distance"] == pytest.approx(20, abs=1e-9)  # cylinder centre (0, 20, 0)


def test_point_to_object_reports_the_face_hit(doc):
    box = add_shape(doc, "Box", Part.makeBox(10, 10, 10), FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation()))
    r = ok(doc, "measure_distance", {"a": {"point": [105, 5, 20]}, "b": "Box"})
    assert r["distance"] == pytest.approx(10, abs=1e-9)
    assert r["point_b"] == pytest.approx([105, 5, 10], abs=1e-9)
    top = face_where(box, lambda f: abs(f.CenterOfMass.z - 10) < 1e-9 and abs(f.normalAt(0, 0).z) > 0.5)
    assert r["elements"] == ["point(105, 5, 20)", top]
    assert "center_distance" not in r


def test_plane_faces_have_no_centre_distance(doc, plate):
    local = plate.Placement.inverse()
    left = face_where(plate, lambda f: abs(local.multVec(f.CenterOfMass).x) < 1e-9)
    right = face_where(plate, lambda f: abs(local.multVec(f.CenterOfMass).x - 100) < 1e-9)
    r = ok(doc, "measure_distance", {"a": left, "b": right})
    assert "center_distance" not in r and "axis_distance" not in r
    assert r["distance"] == pytest.approx(100, abs=1e-9)


def test_errors(doc, plate):
    assert error(doc, "measure_distance", {"a": "Plate.Face99", "b": "Plate"})["code"] == "bad_reference"
    assert error(doc, "measure_distance", {"a": "Plate", "b": {"point": [1, 2]}})["code"] == "bad_reference"
    assert error(doc, "measure_distance", {"a": "Plate"})["code"] == "bad_arguments"

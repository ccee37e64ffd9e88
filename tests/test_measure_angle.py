"""measure_angle against rotations the tests apply: planes, edges, cylinder/cone/torus axes, mixes."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, face_where, ok


def rotated(axis, degrees, base=None):
    return FreeCAD.Placement(base or V(0, 0, 0), FreeCAD.Rotation(axis, degrees))


def face_with_local_normal(obj, normal):
    """Ref of the planar face whose outward normal, before the placement, is ``normal``."""
    rot = obj.Placement.Rotation.inverted()
    return face_where(
        obj,
        lambda f: isinstance(f.Surface, Part.Plane)
        and (rot.multVec(f.normalAt(*f.Surface.parameter(f.CenterOfMass))) - normal).Length < 1e-9,
    )


def test_rotated_box_faces(doc):
    add_shape(doc, "Fixed", Part.makeBox(10, 10, 10))
    add_shape(doc, "Turned", Part.makeBox(10, 10, 10), rotated(V(0, 0, 1), 30, V(50, 0, 0)))
    fixed_x = face_with_local_normal(doc.Fixed, V(1, 0, 0))
    r = ok(doc, "measure_angle", {"a": fixed_x, "b": face_with_local_normal(doc.Turned, V(1, 0, 0))})
    assert r["angle_deg"] == pytest.approx(30, abs=1e-9)
    assert r["acute_deg"] == pytest.approx(30, abs=1e-9)
    assert r["oriented"] is True
    assert r["a"]["kind"] == r["b"]["kind"] == "normal"
    r = ok(doc, "measure_angle", {"a": fixed_x, "b": face_with_local_normal(doc.Turned, V(-1, 0, 0))})
    assert r["angle_deg"] == pytest.approx(150, abs=1e-9)
    assert r["acute_deg"] == pytest.approx(30, abs=1e-9)


def test_opposite_faces_honour_orientation(doc):
    """Top and bottom of a box share a surface axis; only the face Orientation makes them 180° apart."""
    box = add_shape(doc, "Box", Part.makeBox(10, 20, 30))
    r = ok(doc, "measure_angle", {"a": face_with_local_normal(box, V(0, 0, 1)), "b": face_with_local_normal(box, V(0, 0, -1))})
    assert r["angle_deg"] == pytest.approx(180, abs=1e-9)
    assert r["acute_deg"] == pytest.approx(0, abs=1e-9)
    r = ok(doc, "measure_angle", {"a": face_with_local_normal(box, V(0, 0, 1)), "b": face_with_local_normal(box, V(0, 1, 0))})
    assert r["angle_deg"] == pytest.approx(90, abs=1e-9)


def test_off_axis_rotation(doc):
    """A normal n turned by θ about unit k makes cos φ = cos θ + (1 - cos θ)(n·k)² with itself."""
    theta, k = 50.0, V(1, 1, 1)
    add_shape(doc, "A", Part.makeBox(5, 5, 5))
    add_shape(doc, "B", Part.makeBox(5, 5, 5), rotated(k, theta, V(20, -3, 8)))
    r = ok(doc, "measure_angle", {"a": face_with_local_normal(doc.A, V(0, 0, 1)), "b": face_with_local_normal(doc.B, V(0, 0, 1))})
    c = math.cos(math.radians(theta))
    expected = math.degrees(math.acos(c + (1 - c) / 3))
    assert r["angle_deg"] == pytest.approx(expected, abs=1e-9)


def test_linear_edges(doc):
    add_shape(doc, "A", Part.makeBox(10, 10, 10))
    add_shape(doc, "B", Part.makeBox(10, 10, 10), rotated(V(0, 0, 1), 25))
    along_x = [i + 1 for i, e in enumerate(doc.A.Shape.Edges) if abs(abs(e.Curve.Direction.x) - 1) < 1e-12][0]
    rot = FreeCAD.Rotation(V(0, 0, 1), 25)
    turned_x = [
        i + 1 for i, e in enumerate(doc.B.Shape.Edges) if (e.Curve.Direction.cross(rot.multVec(V(1, 0, 0)))).Length < 1e-12
    ][0]
    r = ok(doc, "measure_angle", {"a": f"A.Edge{along_x}", "b": f"B.Edge{turned_x}"})
    assert r["acute_deg"] == pytest.approx(25, abs=1e-9)
    assert r["a"]["kind"] == "direction" and r["oriented"] is False


def test_cylinder_axis_against_plane_normal(doc):
    add_shape(doc, "Base", Part.makeBox(50, 50, 5))
    add_shape(doc, "Pin", Part.makeCylinder(2, 20), rotated(V(1, 0, 0), 40, V(25, 25, 5)))
    pin = face_where(doc.Pin, lambda f: isinstance(f.Surface, Part.Cylinder))
    r = ok(doc, "measure_angle", {"a": face_with_local_normal(doc.Base, V(0, 0, 1)), "b": pin})
    assert r["acute_deg"] == pytest.approx(40, abs=1e-9)
    assert r["b"]["kind"] == "axis"


def test_cone_and_cylinder_axes(doc):
    add_shape(doc, "Cone", Part.makeCone(4, 1, 10), rotated(V(0, 1, 0), 25))
    add_shape(doc, "Cyl", Part.makeCylinder(1, 10, V(30, 0, 0)))
    cone = face_where(doc.Cone, lambda f: isinstance(f.Surface, Part.Cone))
    cyl = face_where(doc.Cyl, lambda f: isinstance(f.Surface, Part.Cylinder))
    r = ok(doc, "measure_angle", {"a": cone, "b": cyl})
    assert r["acute_deg"] == pytest.approx(25, abs=1e-9)


def test_torus_axis_and_circular_edge(doc):
    add_shape(doc, "Ring", Part.makeTorus(10, 2), rotated(V(1, 0, 0), 60))
    add_shape(doc, "Disc", Part.makeCylinder(5, 1))
    top_circle = [i + 1 for i, e in enumerate(doc.Disc.Shape.Edges) if isinstance(e.Curve, Part.Circle)][0]
    r = ok(doc, "measure_angle", {"a": "Ring.Face1", "b": f"Disc.Edge{top_circle}"})
    assert r["acute_deg"] == pytest.approx(60, abs=1e-9)
    assert r["a"]["kind"] == r["b"]["kind"] == "axis"


def test_partdesign_body_with_placement(doc):
    body = doc.addObject("PartDesign::Body", "Body")
    box = doc.addObject("PartDesign::AdditiveBox", "Box")
    body.addObject(box)
    body.Placement = rotated(V(0, 0, 1), 35, V(10, 20, 30))
    doc.recompute()
    add_shape(doc, "Ref", Part.makeBox(1, 1, 1))
    faces = body.Shape.Faces  # the Body's shape is already placed
    plus_x = next(
        i + 1 for i, f in enumerate(faces) if (f.normalAt(0, 0) - body.Placement.Rotation.multVec(V(1, 0, 0))).Length < 1e-9
    )
    r = ok(doc, "measure_angle", {"a": f"Body.Face{plus_x}", "b": face_with_local_normal(doc.Ref, V(1, 0, 0))})
    assert r["angle_deg"] == pytest.approx(35, abs=1e-9)
    r2 = ok(doc, "measure_angle", {"a": f"Body.Box.Face{plus_x}", "b": face_with_local_normal(doc.Ref, V(1, 0, 0))})
    assert r2["angle_deg"] == pytest.approx(35, abs=1e-9)


def test_not_applicable(doc):
    add_shape(doc, "Ball", Part.makeSphere(5))
    add_shape(doc, "Box", Part.makeBox(1, 1, 1))
    freeform = Part.BSplineSurface()
    freeform.interpolate([[V(0, 0, 0), V(0, 1, 0.3), V(0, 2, 0)], [V(1, 0, 0.2), V(1, 1, 1), V(1, 2, 0.1)], [V(2, 0, 0), V(2, 1, 0.4), V(2, 2, 0)]])
    add_shape(doc, "Sheet", freeform.toShape())
    for a in ("Ball.Face1", "Sheet.Face1", "Box", "Box.Vertex1", {"point": [0, 0, 0]}):
        err = error(doc, "measure_angle", {"a": a, "b": "Box.Face1"})
        assert err["code"] == "not_applicable", (a, err)
    assert "sphere" in error(doc, "measure_angle", {"a": "Ball.Face1", "b": "Box.Face1"})["message"]
    assert error(doc, "measure_angle", {"a": "Box.Face7", "b": "Box.Face1"})["code"] == "bad_reference"

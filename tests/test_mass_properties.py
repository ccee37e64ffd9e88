"""mass_properties against volumes, areas and inertia computed by hand."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, ok


def test_box_volume_area_com_mass(doc):
    add_shape(doc, "Block", Part.makeBox(10, 20, 30), FreeCAD.Placement(V(5, 0, 0), FreeCAD.Rotation()))
    r = ok(doc, "mass_properties", {"object": "Block", "density": 2.7})
    assert r["volume"] == pytest.approx(6000)
    assert r["area"] == pytest.approx(2 * (200 + 300 + 600))
    assert r["center_of_mass"] == pytest.approx([10, 10, 15])
    assert r["bbox"]["min"] == pytest.approx([5, 0, 0]) and r["bbox"]["max"] == pytest.approx([15, 20, 30])
    assert r["mass"] == pytest.approx(6000 * 2.7e-3)
    # Ixx of a box about its centre: m (b² + c²) / 12
    m = 6000 * 2.7e-3
    assert r["inertia"][0][0] == pytest.approx(m * (20**2 + 30**2) / 12, rel=1e-6)
    assert r["inertia"][2][2] == pytest.approx(m * (10**2 + 20**2) / 12, rel=1e-6)


def test_cylinder_cone_torus_volumes(doc):
    add_shape(doc, "Cyl", Part.makeCylinder(3, 10))
    add_shape(doc, "Cone", Part.makeCone(4, 2, 6))
    add_shape(doc, "Torus", Part.makeTorus(10, 2))
    assert ok(doc, "mass_properties", {"object": "Cyl"})["volume"] == pytest.approx(math.pi * 9 * 10, rel=1e-9)
    assert ok(doc, "mass_properties", {"object": "Cone"})["volume"] == pytest.approx(
        math.pi * 6 / 3 * (16 + 8 + 4), rel=1e-9
    )
    assert ok(doc, "mass_properties", {"object": "Torus"})["volume"] == pytest.approx(
        2 * math.pi**2 * 10 * 4, rel=1e-6
    )


def test_rotated_off_axis_centre_of_mass(doc):
    placement = FreeCAD.Placement(V(100, -50, 7), FreeCAD.Rotation(V(0, 0, 1), 90))
    add_shape(doc, "Bar", Part.makeBox(40, 2, 2), placement)
    r = ok(doc, "mass_properties", {"object": "Bar"})
    # the bar's centre (20, 1, 1) turned 90° about Z is (-1, 20, 1), then moved
    assert r["center_of_mass"] == pytest.approx([99, -30, 8])


def test_errors(doc):
    add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    assert error(doc, "mass_properties", {"object": "Nope"})["code"] == "bad_reference"
    assert error(doc, "mass_properties", {"object": "Block.Face1"})["code"] == "bad_reference"
    assert error(doc, "mass_properties", {"object": "Block", "density": "heavy"})["code"] == "bad_arguments"
    assert error(doc, "mass_properties", {})["code"] == "bad_arguments"
    add_shape(doc, "Sheet", Part.makePlane(5, 5))
    assert error(doc, "mass_properties", {"object": "Sheet"})["code"] == "not_applicable"


def test_a_solid_without_volume_is_a_clear_error(doc):
    square = Part.Face(Part.makePolygon([V(0, 0, 0), V(10, 0, 0), V(10, 10, 0), V(0, 10, 0), V(0, 0, 0)]))
    back = square.copy()
    back.reverse()
    add_shape(doc, "Flat", Part.Solid(Part.Shell([square, back])))
    err = error(doc, "mass_properties", {"object": "Flat"})
    assert err["code"] != "internal_error" and "encloses no volume" in err["message"], err


def test_a_compound_is_weighed_by_volume(doc):
    pair = Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(20, 10, 10, V(100, 0, 0))])
    add_shape(doc, "Pair", pair)
    r = ok(doc, "mass_properties", {"object": "Pair"})
    # 1000 mm³ centred at x=5 and 2000 mm³ centred at x=110: (5·1000 + 110·2000) / 3000 = 75
    assert r["volume"] == pytest.approx(3000) and r["center_of_mass"] == pytest.approx([75, 5, 5])

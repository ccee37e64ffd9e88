"""check_interference against overlaps and gaps the tests build."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, ok


def box_at(doc, name, x, y=0.0, z=0.0, size=10.0):
    return add_shape(doc, name, Part.makeBox(size, size, size), FreeCAD.Placement(V(x, y, z), FreeCAD.Rotation()))


def test_overlapping_boxes(doc):
    box_at(doc, "A", 0)
    box_at(doc, "B", 5, 4, 3)
    r = ok(doc, "check_interference", {"a": "A", "b": "B"})
    assert r["interferes"] is True
    assert r["volume"] == pytest.approx(5 * 6 * 7, abs=1e-9)
    assert r["min_clearance"] == 0
    assert r["touching"] is False


def test_touching_boxes(doc):
    box_at(doc, "A", 0)
    box_at(doc, "B", 10, 3, 0)
    r = ok(doc, "check_interference", {"a": "A", "b": "B"})
    assert r["interferes"] is False
    assert r["volume"] == 0
    assert r["min_clearance"] == 0
    assert r["touching"] is True


def test_separated_boxes(doc):
    box_at(doc, "A", 0)
    box_at(doc, "B", 12.5, 0, 0)
    r = ok(doc, "check_interference", {"a": "A", "b": "B"})
    assert r["interferes"] is False and r["touching"] is False
    assert r["min_clearance"] == pytest.approx(2.5, abs=1e-9)
    assert r["volume"] == 0
    assert all(ref.startswith(("A.", "B.")) for ref in r["elements"])


def test_diagonal_gap_between_turned_boxes(doc):
    """Corner to corner: the gap is the length of the diagonal offset, not an axis distance."""
    box_at(doc, "A", 0)
    box_at(doc, "B", 13, 14, 22)
    r = ok(doc, "check_interference", {"a": "A", "b": "B"})
    assert r["min_clearance"] == pytest.approx(math.sqrt(3**2 + 4**2 + 12**2), abs=1e-9)


def test_contained_solid(doc):
    box_at(doc, "Big", 0, size=20)
    box_at(doc, "Small", 5, 5, 5, size=2)
    r = ok(doc, "check_interference", {"a": "Big", "b": "Small"})
    assert r["interferes"] is True
    assert r["volume"] == pytest.approx(8, abs=1e-9)


def test_shaft_in_hole_clearance_and_press_fit(doc):
    plate = Part.makeBox(30, 30, 8).cut(Part.makeCylinder(5, 8, V(15, 15, 0)))
    add_shape(doc, "Plate", plate)
    add_shape(doc, "Loose", Part.makeCylinder(4.9, 8, V(15, 15, 0)))
    add_shape(doc, "Tight", Part.makeCylinder(5.1, 8, V(15, 15, 0)))
    r = ok(doc, "check_interference", {"a": "Plate", "b": "Loose"})
    assert r["interferes"] is False
    assert r["min_clearance"] == pytest.approx(0.1, abs=1e-7)
    r = ok(doc, "check_interference", {"a": "Plate", "b": "Tight"})
    assert r["interferes"] is True
    assert r["volume"] == pytest.approx(math.pi * (5.1**2 - 5**2) * 8, rel=1e-6)


def test_rotated_parts_inside_a_body_with_placement(doc):
    """A PartDesign box moved by its Body's placement overlaps a Part box by a known volume."""
    body = doc.addObject("PartDesign::Body", "Body")
    feature = doc.addObject("PartDesign::AdditiveBox", "Box")
    body.addObject(feature)
    feature.Length, feature.Width, feature.Height = 10, 10, 10
    # turned 90° about Z around the origin, then moved: occupies x [-5, 5], y [0, 10], z [0, 10]
    body.Placement = FreeCAD.Placement(V(5, 0, 0), FreeCAD.Rotation(V(0, 0, 1), 90))
    doc.recompute()
    box_at(doc, "Block", 0)
    r = ok(doc, "check_interference", {"a": "Body", "b": "Block"})
    assert r["volume"] == pytest.approx(5 * 10 * 10, abs=1e-7)


def test_errors(doc):
    box_at(doc, "A", 0)
    add_shape(doc, "Sheet", Part.makePlane(5, 5))
    assert error(doc, "check_interference", {"a": "A", "b": "A"})["code"] == "bad_arguments"
    assert error(doc, "check_interference", {"a": "A", "b": "A.Face1"})["code"] == "bad_reference"
    assert error(doc, "check_interference", {"a": "A", "b": "Nope"})["code"] == "bad_reference"
    assert error(doc, "check_interference", {"a": "A", "b": "Sheet"})["code"] == "not_applicable"

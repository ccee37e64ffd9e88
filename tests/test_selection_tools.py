"""get_selection and select_region on a plate whose holes, faces and edges the test knows."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, call, error, face_where, ok


def is_cylinder(radius):
    return lambda f: isinstance(f.Surface, Part.Cylinder) and abs(f.Surface.Radius - radius) < 1e-9


@pytest.fixture
def plate(doc):
    """80 x 40 x 10 plate: vertical holes Ø6 at (20, 20) and Ø10 at (60, 20), a Ø4 cross hole along X at y=30, z=5."""
    shape = (
        Part.makeBox(80, 40, 10)
        .cut(Part.makeCylinder(3, 10, V(20, 20, 0)))
        .cut(Part.makeCylinder(5, 10, V(60, 20, 0)))
        .cut(Part.makeCylinder(2, 80, V(0, 34, 5), V(1, 0, 0)))
    )
    return add_shape(doc, "Plate", shape)


def refs_where(obj, kind, predicate):
    return [f"{obj.Name}.{kind}{i}" for i, e in enumerate(getattr(obj.Shape, kind + ("es" if kind == "Vertex" else "s")), 1) if predicate(e)]


# --------------------------------------------------------------------------- get_selection


def test_get_selection_summaries(doc, plate):
    hole = face_where(plate, is_cylinder(3))
    top = face_where(plate, lambda f: isinstance(f.Surface, Part.Plane) and abs(f.CenterOfMass.z - 10) < 1e-9)
    rim = refs_where(plate, "Edge", lambda e: isinstance(e.Curve, Part.Circle) and abs(e.Curve.Radius - 5) < 1e-9)[0]
    selection = [
        {"ref": hole, "picked_point": [23, 20, 4]},
        {"ref": top, "picked_point": [1, 1, 10]},
        {"ref": rim, "picked_point": None},
        {"ref": "Plate", "picked_point": None},
    ]
    items = ok(doc, "get_selection", selection=selection)
    assert [i["ref"] for i in items] == [hole, top, rim, "Plate"]
    assert items[0]["picked_point"] == [23, 20, 4] and items[2]["picked_point"] is None
    s = items[0]["summary"]
    assert s["kind"] == "face" and s["surface"] == "cylinder"
    assert s["radius"] == pytest.approx(3) and s["area"] == pytest.approx(2 * math.pi * 3 * 10)
    assert [abs(c) for c in s["axis"]] == pytest.approx([0, 0, 1])
    s = items[1]["summary"]
    assert s["surface"] == "plane" and s["normal"] == pytest.approx([0, 0, 1])
    assert s["area"] == pytest.approx(80 * 40 - math.pi * (9 + 25))
    s = items[2]["summary"]
    assert s["kind"] == "edge" and s["curve"] == "circle"
    assert s["radius"] == pytest.approx(5) and s["length"] == pytest.approx(2 * math.pi * 5)
    s = items[3]["summary"]
    assert s["kind"] == "object" and s["volume"] == pytest.approx(plate.Shape.Volume)


def test_get_selection_live_provider_and_empty(doc, plate):
    assert ok(doc, "get_selection") == []
    live = [{"ref": "Plate.Vertex1", "picked_point": None}]
    items = ok(doc, "get_selection", selection=[{"ref": "Plate.Face1", "picked_point": None}], selection_provider=lambda: live)
    assert [i["ref"] for i in items] == ["Plate.Vertex1"]
    assert items[0]["summary"]["kind"] == "vertex"


def test_get_selection_names_every_bad_ref(doc, plate):
    selection = [
        {"ref": "Plate.Face1", "picked_point": None},
        {"ref": "Gone.Face1", "picked_point": None},
        {"ref": "Plate.Face99", "picked_point": None},
    ]
    err = error(doc, "get_selection", selection=selection)
    assert err["code"] == "bad_reference"
    assert "Gone" in err["message"] and "Face99" in err["message"]


# --------------------------------------------------------------------------- select_region


def test_filter_by_surface_type_and_radius(doc, plate):
    holes = refs_where(plate, "Face", lambda f: isinstance(f.Surface, Part.Cylinder))
    assert len(holes) == 3
    r = ok(doc, "select_region", {"object": "Plate", "filter": {"surface_type": "cylinder"}})
    assert sorted(r["elements"]) == sorted(holes) and r["count"] == 3
    r = ok(doc, "select_region", {"object": "Plate", "filter": {"surface_type": "cylinder", "radius_min": 2.5, "radius_max": 3.5}})
    assert r["elements"] == [face_where(plate, is_cylinder(3))]


def test_filter_by_axis(doc, plate):
    """Style guide example: cylindrical faces of radius < 6 along Z (either sense)."""
    r = ok(doc, "select_region", {"object": "Plate", "filter": {"surface_type": "cylinder", "radius_max": 6, "axis": [0, 0, -1]}})
    assert sorted(r["elements"]) == sorted([face_where(plate, is_cylinder(3)), face_where(plate, is_cylinder(5))])
    r = ok(doc, "select_region", {"object": "Plate", "filter": {"axis": [1, 0, 0]}})
    assert r["elements"] == [face_where(plate, is_cylinder(2))]


def test_filter_by_normal_and_area(doc, plate):
    top = face_where(plate, lambda f: isinstance(f.Surface, Part.Plane) and abs(f.CenterOfMass.z - 10) < 1e-9)
    assert ok(doc, "select_region", {"object": "Plate", "filter": {"normal": [0, 0, 1]}})["elements"] == [top]
    bottom = ok(doc, "select_region", {"object": "Plate", "filter": {"normal": [0, 0, -1]}})["elements"]
    assert len(bottom) == 1 and bottom != [top]
    # the two 80 x 10 sides (800 mm²); the 40 x 10 ends are smaller and pierced by the cross hole
    sides = ok(doc, "select_region", {"object": "Plate", "filter": {"surface_type": "plane", "area_min": 700, "area_max": 900}})
    assert sides["count"] == 2


def test_normal_tolerance(doc):
    add_shape(doc, "Tilted", Part.makeBox(10, 10, 10), FreeCAD.Placement(V(0, 0, 0), FreeCAD.Rotation(V(1, 0, 0), 0.5)))
    assert ok(doc, "select_region", {"object": "Tilted", "filter": {"normal": [0, 0, 1]}})["count"] == 1
    assert ok(doc, "select_region", {"object": "Tilted", "filter": {"normal": [0, 0, 1], "angle_tol_deg": 0.4}})["count"] == 0


def test_filter_edges(doc, plate):
    big_rims = refs_where(plate, "Edge", lambda e: isinstance(e.Curve, Part.Circle) and abs(e.Curve.Radius - 5) < 1e-9)
    assert len(big_rims) == 2
    r = ok(doc, "select_region", {"object": "Plate", "filter": {"element": "edge", "curve_type": "circle", "radius_min": 4}})
    assert sorted(r["elements"]) == sorted(big_rims)
    long_edges = ok(doc, "select_region", {"object": "Plate", "filter": {"element": "edge", "curve_type": "line", "length_min": 80}})
    assert long_edges["count"] == 5  # the four 80 mm edges of the plate and the cross hole's seam


def test_box_selects_by_element_centre(doc, plate):
    r = ok(doc, "select_region", {"object": "Plate", "box": {"min": [15, 15, 0], "max": [25, 25, 10]}})
    assert r["elements"] == [face_where(plate, is_cylinder(3))]  # the wall's centre of mass is on the axis
    r = ok(doc, "select_region", {"object": "Plate", "box": {"min": [15, 15, 9], "max": [25, 25, 11], "element": "edge"}})
    assert r["count"] == 1 and r["elements"][0].startswith("Plate.Edge")
    r = ok(doc, "select_region", {"object": "Plate", "box": {"min": [-1, -1, -1], "max": [0.5, 0.5, 0.5], "element": "vertex"}})
    assert r["count"] == 1


def test_box_in_global_coordinates_of_a_placed_part(doc):
    part = doc.addObject("App::Part", "Asm")
    obj = add_shape(doc, "Block", Part.makeBox(10, 10, 10))
    part.addObject(obj)
    part.Placement = FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation())
    doc.recompute()
    assert ok(doc, "select_region", {"object": "Block", "box": {"min": [0, 0, 0], "max": [10, 10, 10]}})["count"] == 0
    assert ok(doc, "select_region", {"object": "Block", "box": {"min": [100, 0, 0], "max": [110, 10, 10]}})["count"] == 6


def test_explicit_elements_and_on_select(doc, plate):
    picked = []
    r = ok(doc, "select_region", {"object": "Plate", "elements": ["Face3", "Plate.Edge2", "Plate.Face3"]}, on_select=picked.append)
    assert r["elements"] == ["Plate.Face3", "Plate.Edge2"]
    assert picked == [r["elements"]]
    add_shape(doc, "Other", Part.makeBox(1, 1, 1))
    err = error(doc, "select_region", {"object": "Plate", "elements": ["Other.Face1", "Face99"]})
    assert err["code"] == "bad_reference" and "Other" in err["message"] and "Face99" in err["message"]


def test_select_region_argument_errors(doc, plate):
    def code(arguments):
        return error(doc, "select_region", arguments)["code"]

    assert code({"object": "Plate"}) == "bad_arguments"
    assert code({"object": "Plate", "filter": {}, "box": {"min": [0, 0, 0], "max": [1, 1, 1]}}) == "bad_arguments"
    assert code({"object": "Plate", "filter": {"colour": "red"}}) == "bad_arguments"
    assert code({"object": "Plate", "filter": {"surface_type": "blob"}}) == "bad_arguments"
    assert code({"object": "Plate", "filter": {"element": "edge", "surface_type": "plane"}}) == "bad_arguments"
    assert code({"object": "Plate", "filter": {"radius_min": 5, "radius_max": 1}}) == "bad_arguments"
    assert code({"object": "Plate", "filter": {"normal": [0, 0, 0]}}) == "bad_arguments"
    assert code({"object": "Plate", "box": {"min": [1, 0, 0], "max": [0, 1, 1]}}) == "bad_arguments"
    assert code({"object": "Plate.Face1", "filter": {}}) == "bad_reference"
    assert code({"object": "Nope", "filter": {}}) == "bad_reference"


def test_on_select_is_not_required(doc, plate):
    envelope = call(doc, "select_region", {"object": "Plate", "filter": {"surface_type": "torus"}})
    assert envelope["ok"] and envelope["result"]["elements"] == []

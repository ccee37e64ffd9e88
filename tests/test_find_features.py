"""find_features on parts built here, against the dimensions they were built with."""

from __future__ import annotations

import math

import pytest
from conftest import CORPORA, FreeCAD, Part, V, add_shape, error, face_where, ok
from scene_builders import circle_sketch, rectangle_sketch

from freecad_spatial.spatial_tools.documents import close_document, open_document
from freecad_spatial.spatial_tools.geometry.adjacency import face_graph

T = 12.0  # plate thickness


def plate() -> Part.Shape:
    return Part.makeBox(80, 50, T)


def only(result: dict, kind: str) -> dict:
    matches = [f for f in result["features"] if f["kind"] == kind]
    assert len(matches) == 1, result["features"]
    return matches[0]


def is_cylinder(radius: float):
    return lambda f: type(f.Surface).__name__ == "Cylinder" and abs(f.Surface.Radius - radius) < 1e-9


def is_plane_at(z: float, normal_z: float | None = None):
    def test(f):
        if type(f.Surface).__name__ != "Plane" or abs(f.CenterOfMass.z - z) > 1e-9:
            return False
        n = f.normalAt(0, 0)
        return abs(abs(n.z) - 1) < 1e-9 and (normal_z is None or n.z * normal_z > 0)

    return test


# --- holes ----------------------------------------------------------------------------------


def test_through_hole_diameter_position_axis(doc):
    obj = add_shape(doc, "Plate", plate().cut(Part.makeCylinder(4, T, V(20, 30, 0))))
    hole = only(ok(doc, "find_features", {"object": "Plate"}), "hole")
    assert hole["id"] == "hole1"
    assert hole["diameter"] == pytest.approx(8.0)
    assert hole["depth"] == pytest.approx(T)
    assert hole["through"] is True and hole["bottom"] == "through"
    assert hole["position"] == pytest.approx([20, 30, T])  # entered from the top
    assert hole["axis"] == pytest.approx([0, 0, -1])
    assert hole["faces"] == [face_where(obj, is_cylinder(4))]
    assert hole["partial"] is False and hole["span_deg"] == pytest.approx(360)


def test_blind_flat_bottom_hole_depth(doc):
    obj = add_shape(doc, "Plate", plate().cut(Part.makeCylinder(3, 7, V(40, 25, T - 7))))
    hole = only(ok(doc, "find_features", {"object": "Plate"}), "hole")
    assert hole["diameter"] == pytest.approx(6.0)
    assert hole["depth"] == pytest.approx(7.0)
    assert hole["through"] is False and hole["bottom"] == "flat"
    assert hole["position"] == pytest.approx([40, 25, T])
    assert hole["bottom_face"] == face_where(obj, is_plane_at(T - 7))
    assert set(hole["faces"]) == {face_where(obj, is_cylinder(3)), hole["bottom_face"]}


def test_drilled_hole_with_118_degree_point(doc):
    r, depth = 2.5, 9.0
    tip = r / math.tan(math.radians(59))  # cone height of a 118° point
    drill = Part.makeCylinder(r, depth, V(30, 20, T - depth)).fuse(Part.makeCone(0, r, tip, V(30, 20, T - depth - tip)))
    add_shape(doc, "Plate", plate().cut(drill))
    hole = only(ok(doc, "find_features", {"object": "Plate"}), "hole")
    assert hole["bottom"] == "cone"
    assert hole["tip_angle_deg"] == pytest.approx(118.0)
    assert hole["depth"] == pytest.approx(depth)  # to the end of the cylinder, not the tip
    assert hole["diameter"] == pytest.approx(5.0)
    cone = [s for s in hole["segments"] if s["shape"] == "cone"]
    assert len(cone) == 1 and cone[0]["end"] == pytest.approx(depth + tip)


def test_counterbore_is_one_hole(doc):
    # ISO 4762 M6: Ø6.6 through, counterbore Ø11 x 6.8
    tool = Part.makeCylinder(3.3, T, V(50, 25, 0)).fuse(Part.makeCylinder(5.5, 6.8, V(50, 25, T - 6.8)))
    obj = add_shape(doc, "Plate", plate().cut(tool))
    result = ok(doc, "find_features", {"object": "Plate"})
    hole = only(result, "hole")
    assert hole["diameter"] == pytest.approx(6.6)
    assert hole["counterbore"] == pytest.approx({"diameter": 11.0, "depth": 6.8})
    assert hole["through"] is True and hole["depth"] == pytest.approx(T)
    assert hole["position"] == pytest.approx([50, 25, T])  # the counterbore end is the entry
    shoulder = face_where(obj, is_plane_at(T - 6.8))
    assert set(hole["faces"]) == {face_where(obj, is_cylinder(3.3)), face_where(obj, is_cylinder(5.5)), shoulder}
    assert [s["shape"] for s in hole["segments"]] == ["cylinder", "flat", "cylinder"]
    assert not [f for f in result["features"] if f["kind"] in ("pocket", "step")]


def test_countersink(doc):
    tool = Part.makeCylinder(3, T, V(50, 25, 0)).fuse(Part.makeCone(3, 6, 3, V(50, 25, T - 3)))
    add_shape(doc, "Plate", plate().cut(tool))
    hole = only(ok(doc, "find_features", {"object": "Plate"}), "hole")
    assert hole["countersink"] == pytest.approx({"diameter": 12.0, "angle_deg": 90.0})
    assert hole["diameter"] == pytest.approx(6.0) and hole["through"] is True


def test_ball_end_and_rounded_rim(doc):
    ball = Part.makeCylinder(3, 6, V(20, 20, T - 6)).fuse(Part.makeSphere(3, V(20, 20, T - 6))).removeSplitter()
    add_shape(doc, "Ball", plate().cut(ball))
    hole = only(ok(doc, "find_features", {"object": "Ball"}), "hole")
    assert hole["bottom"] == "spherical" and hole["depth"] == pytest.approx(6.0)
    assert [s["shape"] for s in hole["segments"]] == ["cylinder", "sphere"]
    # a 1 mm round on the lower rim: still one through hole, entered from the top, full depth
    drilled = plate().cut(Part.makeCylinder(4, T, V(40, 25, 0)))
    rim = [e for e in drilled.Edges if hasattr(e.Curve, "Radius") and abs(e.CenterOfMass.z) < 1e-9 and abs(e.Curve.Radius - 4) < 1e-9]
    add_shape(doc, "Rounded", drilled.makeFillet(1, rim))
    hole = only(ok(doc, "find_features", {"object": "Rounded"}), "hole")
    assert hole["through"] is True and hole["depth"] == pytest.approx(T)
    assert hole["position"] == pytest.approx([40, 25, T])
    assert [s["shape"] for s in hole["segments"]] == ["cylinder", "round"]


def test_hole_through_curved_stock(doc):
    # a Ø6 cross hole through a Ø40 shaft lying along X
    shaft = Part.makeCylinder(20, 60, V(0, 0, 0), V(1, 0, 0)).cut(Part.makeCylinder(3, 50, V(30, 0, -25)))
    add_shape(doc, "Shaft", shaft)
    hole = only(ok(doc, "find_features", {"object": "Shaft"}), "hole")
    assert hole["through"] is True and hole["diameter"] == pytest.approx(6.0)
    assert hole["axis"] == pytest.approx([0, 0, -1])
    assert hole["position"] == pytest.approx([30, 0, 20], abs=1e-6)  # where the drill first touches
    assert hole["depth"] == pytest.approx(40.0, abs=1e-6)


def test_partial_hole_breaking_out_of_an_edge(doc):
    add_shape(doc, "Plate", plate().cut(Part.makeCylinder(5, T, V(0, 25, 0))))
    hole = only(ok(doc, "find_features", {"object": "Plate"}), "hole")
    assert hole["partial"] is True and hole["span_deg"] == pytest.approx(180.0)
    assert len(hole["faces"]) == 2  # the half bore comes split in two quarter faces


def test_rotated_placement_gives_global_positions(doc):
    # blind hole drilled into the local top, then the part turned upside down and moved
    shape = plate().cut(Part.makeCylinder(2, 5, V(10, 40, T - 5)))
    placement = FreeCAD.Placement(V(100, -20, 50), FreeCAD.Rotation(V(1, 0, 0), 180))
    add_shape(doc, "Flipped", shape, placement)
    hole = only(ok(doc, "find_features", {"object": "Flipped"}), "hole")
    assert hole["axis"] == pytest.approx([0, 0, 1], abs=1e-9)  # drilled upwards now
    assert hole["position"] == pytest.approx(list(placement.multVec(V(10, 40, T))))
    assert hole["position"] == pytest.approx([110, -60, 50 - T])
    assert hole["depth"] == pytest.approx(5.0)


def test_off_axis_rotation(doc):
    shape = plate().cut(Part.makeCylinder(4, T, V(20, 30, 0)))
    rotation = FreeCAD.Rotation(V(1, 1, 0), 30)
    placement = FreeCAD.Placement(V(5, 6, 7), rotation)
    add_shape(doc, "Tilted", shape, placement)
    hole = only(ok(doc, "find_features", {"object": "Tilted"}), "hole")
    down = rotation.multVec(V(0, 0, -1))
    assert hole["axis"] == pytest.approx([down.x, down.y, down.z], abs=1e-9)
    assert hole["position"] == pytest.approx(list(placement.multVec(V(20, 30, T))), abs=1e-9)


def test_hole_in_a_partdesign_body_with_a_body_placement(doc):
    body = doc.addObject("PartDesign::Body", "Body")
    body.Placement = FreeCAD.Placement(V(100, 0, 0), FreeCAD.Rotation(V(0, 0, 1), 90))
    pad = body.newObject("PartDesign::Pad", "Pad")
    pad.Profile = rectangle_sketch(body, "Sketch", 40, 30)
    pad.Length = 10
    doc.recompute()
    circle = circle_sketch(body, "HoleSketch", 10, 15, 10, 3)
    doc.recompute()
    hole_feature = body.newObject("PartDesign::Hole", "Hole")
    hole_feature.Profile = circle
    hole_feature.Diameter = 6
    hole_feature.DepthType = "Dimension"
    hole_feature.Depth = 8
    hole_feature.DrillPoint = "Angled"
    hole_feature.DrillPointAngle = 118
    doc.recompute()
    assert hole_feature.Shape.isValid()
    for name in ("Body", "Hole"):
        result = ok(doc, "find_features", {"object": name, "kind": "hole"})
        hole = only(result, "hole")
        assert hole["faces"][0].startswith(f"{name}.Face")
        assert hole["diameter"] == pytest.approx(6.0) and hole["depth"] == pytest.approx(8.0)
        assert hole["bottom"] == "cone" and hole["tip_angle_deg"] == pytest.approx(118.0)
        # body-local (10, 15, 10) turned 90° about Z and moved by (100, 0, 0)
        assert hole["position"] == pytest.approx([85, 10, 10], abs=1e-9)
        assert hole["axis"] == pytest.approx([0, 0, -1], abs=1e-9)


# --- pockets, slots, steps --------------------------------------------------------------------


def test_pocket_depth_width_length(doc):
    obj = add_shape(doc, "Plate", plate().cut(Part.makeBox(30, 14, 4, V(10, 8, T - 4))))
    pocket = only(ok(doc, "find_features", {"object": "Plate"}), "pocket")
    assert pocket["depth"] == pytest.approx(4.0)
    assert pocket["width"] == pytest.approx(14.0) and pocket["length"] == pytest.approx(30.0)
    assert pocket["through"] is False and pocket["profile"] == "rectangular" and pocket["sides"] == 4
    assert pocket["floor"] == [face_where(obj, is_plane_at(T - 4))]
    assert len(pocket["walls"]) == 4 and len(pocket["faces"]) == 5
    assert pocket["position"] == pytest.approx([25, 15, T - 4])
    assert pocket["axis"] == pytest.approx([0, 0, -1])


def test_pocket_with_rounded_corners_and_a_hole_in_its_floor(doc):
    cutter = Part.makeBox(30, 20, 4, V(10, 10, T - 4))
    cutter = cutter.makeFillet(3, [e for e in cutter.Edges if abs(e.tangentAt(e.FirstParameter).z) > 0.99])
    add_shape(doc, "Plate", plate().cut(cutter).cut(Part.makeCylinder(2, T, V(25, 20, 0))))
    result = ok(doc, "find_features", {"object": "Plate"})
    pocket = only(result, "pocket")
    assert pocket["corner_radius"] == pytest.approx(3.0) and len(pocket["blend_faces"]) == 4
    assert pocket["width"] == pytest.approx(20.0) and pocket["length"] == pytest.approx(30.0)
    assert pocket["position"] == pytest.approx([25, 20, T - 4])
    hole = only(result, "hole")
    assert hole["depth"] == pytest.approx(T - 4) and hole["position"] == pytest.approx([25, 20, T - 4])


def test_through_slot_and_blind_slot(doc):
    add_shape(doc, "Through", plate().cut(Part.makeBox(80, 8, 3, V(0, 20, T - 3))))
    slot = only(ok(doc, "find_features", {"object": "Through"}), "slot")
    assert slot["through"] is True and slot["profile"] == "rectangular"
    assert slot["width"] == pytest.approx(8.0) and slot["depth"] == pytest.approx(3.0)
    assert slot["length"] == pytest.approx(80.0)
    assert abs(slot["run"][0]) == pytest.approx(1.0)
    add_shape(doc, "Blind", plate().cut(Part.makeBox(50, 8, 3, V(30, 20, T - 3))))
    blind = only(ok(doc, "find_features", {"object": "Blind"}), "slot")
    assert blind["through"] is False and len(blind["walls"]) == 3
    assert blind["width"] == pytest.approx(8.0) and blind["length"] == pytest.approx(50.0)


def test_obround_slot_through_the_plate(doc):
    cutter = Part.makeBox(20, 8, T, V(30, 21, 0)).fuse(Part.makeCylinder(4, T, V(30, 25, 0)))
    cutter = cutter.fuse(Part.makeCylinder(4, T, V(50, 25, 0))).removeSplitter()
    add_shape(doc, "Plate", plate().cut(cutter))
    result = ok(doc, "find_features", {"object": "Plate"})
    slot = only(result, "slot")
    assert slot["profile"] == "obround" and slot["through"] is True
    assert slot["width"] == pytest.approx(8.0) and slot["length"] == pytest.approx(28.0)
    assert slot["depth"] == pytest.approx(T)
    assert not [f for f in result["features"] if f["kind"] == "hole"]  # half-round ends are not holes


def test_step(doc):
    obj = add_shape(doc, "Plate", plate().cut(Part.makeBox(80, 15, 5, V(0, 35, T - 5))))
    step = only(ok(doc, "find_features", {"object": "Plate"}), "step")
    assert step["through"] is True and step["profile"] == "straight"
    assert step["depth"] == pytest.approx(5.0) and step["width"] == pytest.approx(15.0)
    assert step["floor"] == [face_where(obj, is_plane_at(T - 5))]
    assert len(step["walls"]) == 1


# --- fillets, chamfers, bosses ----------------------------------------------------------------


def _top_front_edge(shape):
    return [e for e in shape.Edges if abs(e.CenterOfMass.z - T) < 1e-9 and abs(e.CenterOfMass.y) < 1e-9]


def test_filleted_edge_radius(doc):
    base = plate()
    add_shape(doc, "Plate", base.makeFillet(2.5, _top_front_edge(base)))
    fillet = only(ok(doc, "find_features", {"object": "Plate", "kind": "fillet"}), "fillet")
    assert fillet["radius"] == pytest.approx(2.5)
    assert fillet["concave"] is False and fillet["length"] == pytest.approx(80.0)
    assert fillet["faces"] == [face_where(doc.getObject("Plate"), is_cylinder(2.5))]


def test_inside_corner_fillet_is_concave(doc):
    bracket = Part.makeBox(40, 30, 5).fuse(Part.makeBox(5, 30, 40)).removeSplitter()
    inner = [e for e in bracket.Edges if abs(e.CenterOfMass.x - 5) < 1e-9 and abs(e.CenterOfMass.z - 5) < 1e-9]
    add_shape(doc, "Bracket", bracket.makeFillet(4, inner))
    fillet = only(ok(doc, "find_features", {"object": "Bracket", "kind": "fillet"}), "fillet")
    assert fillet["radius"] == pytest.approx(4.0) and fillet["concave"] is True


def test_chamfer_size_and_angle(doc):
    base = plate()
    add_shape(doc, "Plate", base.makeChamfer(1.5, _top_front_edge(base)))
    chamfer = only(ok(doc, "find_features", {"object": "Plate"}), "chamfer")
    assert chamfer["size"] == pytest.approx(1.5)
    assert chamfer["legs"] == pytest.approx([1.5, 1.5])
    assert chamfer["angle_deg"] == pytest.approx(45.0)
    assert chamfer["length"] == pytest.approx(80.0)


def test_unequal_chamfer_legs(doc):
    base = plate()
    add_shape(doc, "Plate", base.makeChamfer(1.0, 2.0, _top_front_edge(base)))
    chamfer = only(ok(doc, "find_features", {"object": "Plate"}), "chamfer")
    assert sorted(chamfer["legs"]) == pytest.approx([1.0, 2.0])
    assert chamfer["size"] == pytest.approx(1.0)
    # the angle to the face that carries the first leg: tan = other leg / this leg
    first, second = chamfer["legs"]
    assert chamfer["angle_deg"] == pytest.approx(math.degrees(math.atan2(second, first)))


def test_boss(doc):
    add_shape(doc, "Plate", plate().fuse(Part.makeCylinder(5, 8, V(50, 25, T))))
    boss = only(ok(doc, "find_features", {"object": "Plate", "kind": "boss"}), "boss")
    assert boss["diameter"] == pytest.approx(10.0) and boss["height"] == pytest.approx(8.0)
    assert boss["position"] == pytest.approx([50, 25, T]) and boss["axis"] == pytest.approx([0, 0, 1])
    assert len(boss["faces"]) == 2  # side and flat top


def test_boss_with_a_base_fillet(doc):
    shape = plate().fuse(Part.makeCylinder(5, 8, V(50, 25, T)))
    base = [e for e in shape.Edges if hasattr(e.Curve, "Radius") and abs(e.CenterOfMass.z - T) < 1e-9]
    add_shape(doc, "Plate", shape.makeFillet(1, base))
    result = ok(doc, "find_features", {"object": "Plate"})
    boss = only(result, "boss")
    assert boss["height"] == pytest.approx(8.0) and boss["base_fillet_radius"] == pytest.approx(1.0)
    fillet = only(result, "fillet")
    assert fillet["concave"] is True and fillet["faces"] == boss["blend_faces"]
    assert fillet["length"] == pytest.approx(2 * math.pi * 6)  # along the fillet's centre line


# --- the call itself ---------------------------------------------------------------------------


def test_kind_filter_ids_and_counts(doc):
    shape = plate().cut(Part.makeCylinder(2, T, V(10, 10, 0))).cut(Part.makeCylinder(2, T, V(70, 10, 0)))
    shape = shape.cut(Part.makeBox(20, 10, 3, V(30, 30, T - 3)))
    add_shape(doc, "Plate", shape)
    everything = ok(doc, "find_features", {"object": "Plate"})
    assert everything["counts"] == {"hole": 2, "pocket": 1}
    assert len({f["id"] for f in everything["features"]}) == 3
    holes = ok(doc, "find_features", {"object": "Plate", "kind": "hole"})
    assert [f["kind"] for f in holes["features"]] == ["hole", "hole"]
    assert sorted(f["id"] for f in holes["features"]) == ["hole1", "hole2"]
    assert ok(doc, "find_features", {"object": "Plate", "kind": "chamfer"})["features"] == []
    rib = ok(doc, "find_features", {"object": "Plate", "kind": "rib"})
    assert rib["features"] == [] and "not implemented" in rib["note"]


def test_compound_of_two_solids_names_faces_of_the_compound(doc):
    a = plate().cut(Part.makeCylinder(2, T, V(10, 10, 0)))
    b = plate().cut(Part.makeCylinder(3, T, V(10, 10, 0)))
    b.translate(V(0, 0, 50))
    obj = add_shape(doc, "Pair", Part.Compound([a, b]))
    result = ok(doc, "find_features", {"object": "Pair", "kind": "hole"})
    by_diameter = {round(f["diameter"]): f for f in result["features"]}
    assert set(by_diameter) == {4, 6}
    assert by_diameter[6]["faces"] == [face_where(obj, is_cylinder(3))]
    assert by_diameter[6]["position"] == pytest.approx([10, 10, 50 + T])


def test_bad_inputs(doc):
    add_shape(doc, "Plate", plate())
    assert error(doc, "find_features", {"object": "Nope"})["code"] == "bad_reference"
    assert error(doc, "find_features", {"object": "Plate.Face1"})["code"] == "bad_reference"
    assert error(doc, "find_features", {"object": "Plate", "kind": "thread"})["code"] == "bad_arguments"
    assert error(doc, "find_features", {})["code"] == "bad_arguments"
    add_shape(doc, "Sheet", Part.makePlane(5, 5))
    assert error(doc, "find_features", {"object": "Sheet"})["code"] == "not_applicable"
    assert ok(doc, "find_features", {"object": "Plate"})["features"] == []  # a plain block has none


def test_counterbores_match_the_nist_ftc06_pmi(doc):
    """NIST FTC 06 (inch) annotates ⌴∅.40 ↧.31, ⌴∅.625 ↧.50 and 2X ⌴∅.812 ↧.56 (CTC-FTC-Test-Cases.csv)."""
    path = CORPORA / "nist-pmi" / "step" / "nist_ftc_06_asme1_ap242-e2.stp"
    if not path.exists():
        pytest.skip("NIST PMI corpus not present")
    part = open_document(path)
    try:
        result = ok(part, "find_features", {"object": part.Objects[0].Name, "kind": "hole"})
    finally:
        close_document(part)
    inch = 25.4
    found = sorted(
        (h["counterbore"]["diameter"] / inch, h["counterbore"]["depth"] / inch)
        for h in result["features"] if "counterbore" in h
    )
    kinds = sorted({(round(d, 3), round(t, 3)) for d, t in found})
    annotated = [(0.40, 0.31), (0.625, 0.50), (0.812, 0.56)]
    assert len(kinds) == len(annotated)
    for (d, t), (d_pmi, t_pmi) in zip(kinds, annotated, strict=True):
        assert d == pytest.approx(d_pmi, abs=0.001) and t == pytest.approx(t_pmi, abs=0.005)
    assert sum(1 for d, _ in found if abs(d - 0.8125) < 0.001) == 2  # "2X"


def test_edge_convexity_of_a_pocketed_block():
    block = Part.makeBox(10, 10, 10).cut(Part.makeBox(4, 4, 5, V(3, 3, 5)))
    graph = face_graph(block)
    kinds = sorted((e.convexity, round(e.angle_deg)) for e in graph.edges)
    assert kinds.count(("convex", 90)) == 12 + 4  # the block's edges and the pocket's rim
    assert kinds.count(("concave", 270)) == 4 + 4  # floor to walls, wall to wall
    assert len(kinds) == 24

"""Element references resolve to global coordinates through Bodies, App::Parts and links; bad ones fail clearly."""

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, ok

from freecad_spatial.spatial_tools.errors import BadReference
from freecad_spatial.spatial_tools.refs import resolve, resolve_all

TURN_Z_90 = FreeCAD.Rotation(V(0, 0, 1), 90)


def bounds(shape):
    b = shape.BoundBox
    return [b.XMin, b.YMin, b.ZMin, b.XMax, b.YMax, b.ZMax]


@pytest.fixture
def body(doc):
    """PartDesign Body (placed: turned 90° about Z, moved +100 X) holding a 10 x 20 x 30 AdditiveBox at +5 X."""
    body = doc.addObject("PartDesign::Body", "Body")
    box = doc.addObject("PartDesign::AdditiveBox", "Box")
    body.addObject(box)
    box.Length, box.Width, box.Height = 10, 20, 30
    box.Placement = FreeCAD.Placement(V(5, 0, 0), FreeCAD.Rotation())
    body.Placement = FreeCAD.Placement(V(100, 0, 0), TURN_Z_90)
    doc.recompute()
    return body


# The box spans x 5..15, y 0..20 in the Body; turned 90° about Z: x -20..0, y 5..15; then +100 X.
BODY_BOUNDS = [80, 5, 0, 100, 15, 30]


def test_body_and_its_feature_resolve_in_global_coordinates(doc, body):
    for ref in ("Body", "Box", "Body.Box"):
        assert bounds(resolve(doc, ref).shape) == pytest.approx(BODY_BOUNDS, abs=1e-9), ref
    top = next(i for i, f in enumerate(body.Shape.Faces, 1) if abs(f.CenterOfMass.z - 30) < 1e-9)
    for ref in (f"Body.Face{top}", f"Body.Box.Face{top}", f"Box.Face{top}"):
        assert bounds(resolve(doc, ref).shape) == pytest.approx([80, 5, 30, 100, 15, 30], abs=1e-9), ref


def test_tools_see_body_geometry_where_the_user_does(doc, body):
    r = ok(doc, "measure_distance", {"a": {"point": [90, 10, 40]}, "b": "Body"})
    assert r["distance"] == pytest.approx(10, abs=1e-9)
    assert r["point_b"] == pytest.approx([90, 10, 30], abs=1e-9)
    assert r["elements"][1].startswith("Body.Face")
    r = ok(doc, "mass_properties", {"object": "Body.Box"})
    assert r["center_of_mass"] == pytest.approx([90, 10, 15], abs=1e-9)


def test_subtractive_feature_in_a_placed_body(doc, body):
    hole = doc.addObject("PartDesign::SubtractiveCylinder", "Hole")
    body.addObject(hole)
    hole.Radius, hole.Height = 2, 30
    hole.Placement = FreeCAD.Placement(V(10, 10, 0), FreeCAD.Rotation())  # body coordinates
    doc.recompute()
    wall = next(i for i, f in enumerate(body.Shape.Faces, 1) if isinstance(f.Surface, Part.Cylinder))
    r = ok(doc, "measure_distance", {"a": f"Body.Face{wall}", "b": f"Body.Hole.Face{wall}"})
    assert r["distance"] == 0
    # (10, 10) in the Body is (-10, 10) after the turn, then (90, 10)
    r = ok(doc, "select_region", {"object": "Body", "filter": {"surface_type": "cylinder"}})
    assert r["elements"] == [f"Body.Face{wall}"]
    axis = resolve(doc, f"Body.Face{wall}").shape.Surface
    assert [axis.Center.x, axis.Center.y] == pytest.approx([90, 10], abs=1e-9)


def test_object_inside_a_placed_app_part(doc):
    part = doc.addObject("App::Part", "Part")
    box = doc.addObject("Part::Box", "Box")
    part.addObject(box)
    box.Placement = FreeCAD.Placement(V(5, 0, 0), FreeCAD.Rotation())
    part.Placement = FreeCAD.Placement(V(0, 50, 0), FreeCAD.Rotation(V(1, 0, 0), 90))
    doc.recompute()
    # Box 10³ at x 5..15; turned 90° about X: (x, y, z) -> (x, -z, y); then +50 Y
    expected = [5, 40, 0, 15, 50, 10]
    for ref in ("Box", "Part.Box"):
        assert bounds(resolve(doc, ref).shape) == pytest.approx(expected, abs=1e-9)
    face1 = resolve(doc, "Part.Box.Face1").shape  # Face1 of a Part::Box is the x = 0 side
    assert bounds(face1) == pytest.approx([5, 40, 0, 5, 50, 10], abs=1e-9)
    r = ok(doc, "measure_distance", {"a": "Part.Box.Face1", "b": {"point": [0, 45, 5]}})
    assert r["distance"] == pytest.approx(5, abs=1e-9)


def test_body_inside_a_placed_app_part(doc):
    part = doc.addObject("App::Part", "Asm")
    body = doc.addObject("PartDesign::Body", "Body")
    part.addObject(body)
    cyl = doc.addObject("PartDesign::AdditiveCylinder", "Cyl")
    body.addObject(cyl)
    cyl.Radius, cyl.Height = 5, 10
    part.Placement = FreeCAD.Placement(V(0, 0, 100), FreeCAD.Rotation())
    body.Placement = FreeCAD.Placement(V(10, 0, 0), FreeCAD.Rotation())
    doc.recompute()
    for ref in ("Body", "Cyl", "Asm.Body", "Asm.Body.Cyl"):
        assert bounds(resolve(doc, ref).shape) == pytest.approx([5, -5, 100, 15, 5, 110], abs=1e-9), ref


def test_link_inside_a_placed_app_part(doc):
    """App::Link has no getGlobalPlacement in FreeCAD 0.20: the container's placement must still apply."""
    add_shape(doc, "Source", Part.makeBox(10, 10, 10))
    part = doc.addObject("App::Part", "Asm")
    link = doc.addObject("App::Link", "Link")
    link.LinkedObject = doc.Source
    link.Placement = FreeCAD.Placement(V(0, 20, 0), FreeCAD.Rotation())
    part.addObject(link)
    part.Placement = FreeCAD.Placement(V(1000, 0, 0), FreeCAD.Rotation())
    doc.recompute()
    assert bounds(resolve(doc, "Asm.Link").shape) == pytest.approx([1000, 20, 0, 1010, 30, 10], abs=1e-9)
    assert bounds(resolve(doc, "Link.Face1").shape) == pytest.approx([1000, 20, 0, 1000, 30, 10], abs=1e-9)
    assert bounds(resolve(doc, "Source").shape) == pytest.approx([0, 0, 0, 10, 10, 10], abs=1e-9)


def test_resolving_does_not_move_the_document_object(doc):
    part = doc.addObject("App::Part", "Asm")
    obj = add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    part.addObject(obj)
    part.Placement = FreeCAD.Placement(V(7, 0, 0), FreeCAD.Rotation())
    doc.recompute()
    before = bounds(obj.Shape)
    for _ in range(2):
        assert bounds(resolve(doc, "Block").shape) == pytest.approx([7, 0, 0, 8, 1, 1], abs=1e-12)
    assert bounds(obj.Shape) == before


def test_an_unplaced_object_resolves_to_its_stored_shape_not_a_relocated_copy(doc, body):
    """Tools measure the stored shape itself: an extra (identity) location on every element
    would make the kernel compose it on each access (distToShape 3-8 % slower)."""
    whole = resolve(doc, "Body")
    assert whole.shape.isSame(body.Shape)  # same TShape, same location: nothing added
    face = resolve(doc, "Body.Face1")
    assert face.shape.isSame(body.Shape.getElement("Face1"))
    # Inside a placed App::Part the container's placement is applied, and only to the wrapper.
    part = doc.addObject("App::Part", "Asm")
    block = add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    part.addObject(block)
    part.Placement = FreeCAD.Placement(V(7, 0, 0), FreeCAD.Rotation())
    doc.recompute()
    placed = resolve(doc, "Block").shape
    assert placed.isPartner(block.Shape) and not placed.isSame(block.Shape)
    assert block.Shape.Placement.isIdentity()


def test_references_of_one_call_share_each_objects_shape(doc, body):
    """resolve_all places each object's shape once; every element is what resolve gives alone."""
    block = add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    block.Placement = FreeCAD.Placement(V(0, 0, 50), FreeCAD.Rotation())
    doc.recompute()
    refs = ["Body.Face1", "Body.Face2", "Block.Face3", {"point": [1, 2, 3]}, "Body"]
    together = resolve_all(doc, refs)
    assert together[0].owner is together[1].owner is together[4].shape
    assert together[2].owner is not together[0].owner
    for element, ref in zip(together, refs, strict=True):
        alone = resolve(doc, ref)
        assert element.ref == alone.ref
        assert element.is_point or element.shape.isSame(alone.shape)
        assert bounds(element.shape) == pytest.approx(bounds(alone.shape), abs=1e-12)
    assert bounds(together[4].shape) == pytest.approx(BODY_BOUNDS, abs=1e-9)
    with pytest.raises(BadReference, match="Face99"):
        resolve_all(doc, ["Body.Face1", "Body.Face99"])


def test_a_shape_property_that_is_not_a_part_shape_is_a_bad_reference(doc):
    """FEM meshes keep a link in a property named Shape: that is no geometry to measure."""
    mesh_like = doc.addObject("App::FeaturePython", "MeshLike")
    mesh_like.addProperty("App::PropertyLink", "Shape")
    mesh_like.Shape = add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    doc.recompute()
    with pytest.raises(BadReference, match="MeshLike"):
        resolve(doc, "MeshLike")
    assert error(doc, "mass_properties", {"object": "MeshLike"})["code"] == "bad_reference"


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("Nope", ["no object named 'Nope'"]),
        ("Plate.Face99", ["Face99", "6 faces"]),
        ("Plate.Edge13", ["Edge13", "12 edges"]),
        ("Plate.Face0", ["not an element name"]),
        ("Plate.face1", ["not an element name"]),
        ("Plate..Face1", ["not an object name"]),
        ("Plate.Face1.Edge1", ["Face1"]),
        ("", ["a reference is a string"]),
        ("My Plate", ["use its Name 'Plate'"]),
        ({"point": [1, 2, 3], "extra": 1}, ["point"]),
    ],
)
def test_bad_references_are_bad_reference_errors(doc, ref, words):
    plate = add_shape(doc, "Plate", Part.makeBox(10, 10, 10))
    plate.Label = "My Plate"
    with pytest.raises(BadReference) as caught:
        resolve(doc, ref)
    for word in words:
        assert word in caught.value.message, caught.value.message
    # the same reference through a tool gives the error envelope, never a traceback
    err = error(doc, "measure_distance", {"a": ref, "b": "Plate"})
    assert err["code"] == "bad_reference", err


def test_point_with_two_coordinates_is_a_bad_reference(doc):
    add_shape(doc, "Plate", Part.makeBox(10, 10, 10))
    err = error(doc, "measure_distance", {"a": {"point": [1, 2]}, "b": "Plate"})
    assert err["code"] == "bad_reference" and "point" in err["message"]
    with pytest.raises(BadReference):
        resolve(doc, {"point": [1, 2]})
    # a bad non-reference argument is still a bad argument
    assert error(doc, "measure_thickness", {"at": "Plate.Face1", "direction": [1, 2]})["code"] == "bad_arguments"

"""What the Check manufacturability task panel offers, headless: the direction a picked face or edge gives
(spatial_tools.geometry.direction) and the materials of a process (the CLI's ``--material`` list)."""

from __future__ import annotations

import pytest
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.profiles import (
    ProfileError,
    load_profile,
    materials,
    processes,
)
from freecad_spatial.spatial_tools.errors import BadReference
from freecad_spatial.spatial_tools.geometry.direction import NoDirection, direction_from_ref


def _face(obj, predicate):
    return next(f"{obj.Name}.Face{i + 1}" for i, f in enumerate(obj.Shape.Faces) if predicate(f))


def test_a_planar_face_gives_its_outward_normal_in_global_coordinates(doc):
    # A box turned 90° about X: its top (local +Z) faces -Y in the document.
    box = add_shape(doc, "Box", Part.makeBox(10, 20, 30),
                    FreeCAD.Placement(FreeCAD.Vector(5, 0, 0), FreeCAD.Rotation(FreeCAD.Vector(1, 0, 0), 90)))
    top = _face(box, lambda f: abs(f.CenterOfMass.y - box.Shape.BoundBox.YMin) < 1e-6)
    picked = direction_from_ref(doc, top)
    assert picked.kind == "face_normal" and picked.ref == top
    assert picked.vector == (0.0, -1.0, 0.0)  # away from the material, no -0.0 or 1e-17 noise
    bottom = _face(box, lambda f: abs(f.CenterOfMass.y - box.Shape.BoundBox.YMax) < 1e-6)
    assert direction_from_ref(doc, bottom).vector == (0.0, 1.0, 0.0)


def test_a_cylindrical_face_gives_its_axis_and_a_straight_edge_its_direction(doc):
    pin = add_shape(doc, "Pin", Part.makeCylinder(3, 40, FreeCAD.Vector(0, 0, 0), FreeCAD.Vector(1, 0, 0)))
    side = _face(pin, lambda f: type(f.Surface).__name__ == "Cylinder")
    picked = direction_from_ref(doc, side)
    assert picked.kind == "face_axis" and [abs(c) for c in picked.vector] == [1.0, 0.0, 0.0]
    box = add_shape(doc, "Box", Part.makeBox(10, 20, 30))
    edge = next(f"Box.Edge{i + 1}" for i, e in enumerate(box.Shape.Edges)
                if abs(e.Vertexes[0].Point.z - e.Vertexes[-1].Point.z) > 1)
    picked = direction_from_ref(doc, edge)
    assert picked.kind == "edge" and [abs(c) for c in picked.vector] == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("ref, what", [("Ball.Face1", "surface:Sphere"), ("Pin.Edge1", "curve:Circle"),
                                       ("Ball.Vertex1", "vertex"), ("Ball", "object")])
def test_anything_else_says_what_it_is(doc, ref, what):
    add_shape(doc, "Ball", Part.makeSphere(5))
    add_shape(doc, "Pin", Part.makeCylinder(3, 40))
    with pytest.raises(NoDirection) as raised:
        direction_from_ref(doc, ref)
    assert raised.value.what == what and raised.value.ref == ref
    with pytest.raises(BadReference):
        direction_from_ref(doc, "Nothing.Face1")


def test_the_materials_are_what_load_profile_and_so_the_cli_accept(tmp_path):
    for process in processes():
        names, default = materials(process)
        assert default in names and names
        for name in names:
            assert load_profile(process, material=name).material == name
        with pytest.raises(ProfileError, match="unknown material"):
            load_profile(process, material="unobtainium")
    # A user profile's own material is offered too, as --profile FILE --material NAME would take it.
    profile = tmp_path / "own.toml"
    profile.write_text('[materials.ultem]\ngroup = "resin"\nlabel = "PEI (Ultem)"\n', encoding="utf-8")
    names, _ = materials("injection-molding", profile)
    assert names["ultem"] == "PEI (Ultem)" and load_profile("injection-molding", profile, material="ultem")

"""Modelled threads found as threads: a PartDesign tapped hole and Part helix sweeps, outside and in.

The parts are built here with constructed dimensions (tests/thread_parts.py); the expected
diameters and pitches are the ones they were built with.
"""

from __future__ import annotations

import math

import pytest
import thread_parts as tp
from conftest import FreeCAD, Part, call

from freecad_spatial.spatial_tools.geometry.threads import find_threads, thread_faces

V = FreeCAD.Vector


def _freeform(shape) -> set[int]:
    return {i for i, f in enumerate(shape.Faces) if type(f.Surface).__name__ == "BSplineSurface"}


def test_collar_tapped_hole_is_one_internal_m5_thread(doc):
    shape = tp.collar(doc).Shape
    threads = find_threads(shape)
    assert len(threads) == 1
    t = threads[0]
    assert t.internal
    assert t.pitch == pytest.approx(0.8, abs=0.01)  # M5 coarse
    assert t.major_diameter == pytest.approx(5.0, abs=0.1)
    assert t.minor_diameter == pytest.approx(4.134, abs=0.15)  # ISO minor Ø of M5 (FreeCAD drills 4.224)
    # the axis is the hole's: along Z through (7, 0)
    assert abs(t.axis_direction[2]) == pytest.approx(1.0, abs=1e-6)
    assert t.axis_origin[0] == pytest.approx(7.0, abs=1e-6) and t.axis_origin[1] == pytest.approx(0.0, abs=1e-6)
    # every freeform face of the part is a thread face, and the thread runs through the 7.5 mm wall
    assert _freeform(shape) <= set(t.faces)
    assert all(type(shape.Faces[i].Surface).__name__ == "Plane" for i in set(t.faces) - _freeform(shape))
    assert thread_faces(shape) == frozenset(t.faces)
    assert 7.5 <= t.length <= 10.0 + 1e-6
    # the tap-drill bore it sits in: coaxial cylinders of the minor Ø, not the Ø25 shaft bore
    assert t.hole_faces
    for i in t.hole_faces:
        surface = shape.Faces[i].Surface
        assert type(surface).__name__ in ("Cylinder", "Cone", "Plane")
        if type(surface).__name__ == "Cylinder":
            assert surface.Radius == pytest.approx(t.minor_diameter / 2, abs=0.01)


def test_gland_nut_has_an_external_and_an_internal_thread():
    shape = tp.gland_nut()
    threads = sorted(find_threads(shape), key=lambda t: t.major_diameter)
    assert [t.internal for t in threads] == [True, False]
    nut, shank = threads
    assert nut.major_diameter == pytest.approx(12.0, abs=1e-3)
    assert nut.minor_diameter == pytest.approx(12.0 - 1.0825 * 1.5, abs=1e-3)
    assert shank.major_diameter == pytest.approx(20.0, abs=1e-3)
    assert shank.minor_diameter == pytest.approx(20.0 - 2 * 0.6134 * 1.5, abs=1e-3)
    for t in threads:
        assert t.pitch == pytest.approx(1.5, abs=1e-3)
        assert t.axis_direction == pytest.approx((0.0, 0.0, 1.0), abs=1e-9) or t.axis_direction == pytest.approx((0.0, 0.0, -1.0), abs=1e-9)
        assert math.hypot(t.axis_origin[0], t.axis_origin[1]) == pytest.approx(0.0, abs=1e-6)
    assert shank.hole_faces == ()
    assert all(shape.Faces[i].Surface.Radius == pytest.approx(nut.minor_diameter / 2, abs=1e-3)
               for i in nut.hole_faces if type(shape.Faces[i].Surface).__name__ == "Cylinder")
    every = set(nut.faces) | set(shank.faces)
    assert _freeform(shape) <= every
    # besides the flanks only the flat caps where a groove starts and runs out, in planes along the axis
    for i in every - _freeform(shape):
        assert type(shape.Faces[i].Surface).__name__ == "Plane"
        assert abs(shape.Faces[i].Surface.Axis.z) < 1e-6
    assert not set(nut.faces) & set(shank.faces)


@pytest.mark.parametrize("pitch", [1.0, 2.5])
def test_external_thread_pitch_is_measured(pitch):
    shape = tp.threaded_shaft(16.0, pitch, 10 * pitch)
    (t,) = find_threads(shape)
    assert not t.internal
    assert t.pitch == pytest.approx(pitch, rel=1e-3)
    assert t.major_diameter == pytest.approx(16.0, abs=1e-3)


def test_parts_without_threads_have_none():
    plain = Part.makeBox(30, 20, 10).cut(Part.makeCylinder(3, 10, V(10, 10, 0)))
    assert find_threads(plain) == []
    # a freeform surface that is not helical: a B-spline dome lofted over circles
    loft = Part.makeLoft([Part.Wire(Part.makeCircle(r, V(0, 0, z))) for r, z in ((10, 0), (8, 5), (3, 9))], True)
    assert any(type(f.Surface).__name__ == "BSplineSurface" for f in loft.Faces)
    assert find_threads(loft) == []
    assert thread_faces(loft) == frozenset()


def test_threads_are_cached_per_shape(doc):
    shape = tp.threaded_shaft(10.0, 1.5, 12.0)
    assert find_threads(shape) is find_threads(shape)
    moved = shape.translated(V(5, 0, 0))
    (t,) = find_threads(moved)
    assert t.axis_origin[0] == pytest.approx(5.0, abs=1e-6)  # the moved copy is not the cached one


def test_find_features_reports_the_tapped_hole_as_one_hole_with_its_thread(doc):
    tp.collar(doc)
    envelope = call(doc, "find_features", {"object": "Body", "kind": "hole"})  # checked against the schema
    assert envelope["ok"], envelope
    result = envelope["result"]
    tapped = [h for h in result["features"] if "thread" in h]
    assert len(tapped) == 1
    (hole,) = tapped
    assert hole["thread"]["pitch"] == pytest.approx(0.8, abs=0.01)
    assert hole["diameter"] == pytest.approx(hole["thread"]["minor_diameter"], abs=0.01)
    (segment,) = [s for s in hole["segments"] if s["shape"] == "thread"]
    shape = doc.getObject("Body").Shape
    assert {f"Body.Face{i + 1}" for i in thread_faces(shape)} == set(segment["faces"])
    assert set(segment["faces"]) < set(hole["faces"])


def test_threads_survive_a_step_round_trip(doc, tmp_path):
    """STEP-imported threads: the same threads read back from a STEP file (freeform faces in the file)."""
    from freecad_spatial.spatial_tools.documents import open_document

    path = tmp_path / "gland.step"
    tp.gland_nut().exportStep(str(path))
    document = open_document(path)
    try:
        shape = document.Objects[0].Shape
        threads = sorted(find_threads(shape), key=lambda t: t.major_diameter)
        assert [(t.internal, round(t.major_diameter, 3), round(t.pitch, 3)) for t in threads] == [(True, 12.0, 1.5), (False, 20.0, 1.5)]
        assert document.Meta.get("FreeCADSpatial.LengthUnit") == "mm"
    finally:
        FreeCAD.closeDocument(document.Name)

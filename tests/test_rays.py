"""geometry/rays: the one exact ray primitive of wall thickness and accessibility, checked against
analytic answers on parts built here and against points stepped along each ray and asked to the
kernel one by one (``Shape.isInside``), which is not the code under test."""

from __future__ import annotations

import math

import pytest
from conftest import FreeCAD, Part

from freecad_spatial.spatial_tools.geometry import thickness
from freecad_spatial.spatial_tools.geometry.rays import ENTER, LEAVE, TOUCH, RayCaster
from freecad_spatial.spatial_tools.geometry.visibility import ESCAPED, Visibility

V = FreeCAD.Vector
STEP = 0.25  # mm between sampled points along a ray
MARGIN = 1e-3  # mm: sampled points this close to a run's end are on the boundary, not judged


def _box_with_hole():
    """40 × 20 × 10 box, a Ø10 through hole along Z centred at (20, 10): material x 0-15 and 25-40 on y = 10."""
    return Part.makeBox(40, 20, 10).cut(Part.makeCylinder(5, 10, V(20, 10, 0)))


def _sampled_inside(shape, origin, direction, t0, t1):
    """(t, inside) every STEP along the ray from t0 to t1, by the kernel's point classification."""
    n = int((t1 - t0) / STEP)
    return [(t0 + k * STEP, shape.isInside(origin + direction * (t0 + k * STEP), 1e-7, False)) for k in range(n + 1)]


def _agrees_with_sampling(shape, origin, direction):
    runs = thickness.material_runs(shape, origin, direction)
    boundary = [e.t for e in RayCaster(shape).crossings(origin, direction)]  # points on the surface
    for t, inside in _sampled_inside(shape, origin, direction, -60.0, 60.0):
        if any(abs(t - end) < MARGIN for end in boundary):
            continue
        assert inside == any(t0 < t < t1 for t0, t1 in runs), (origin, direction, t, runs)
    return [end for run in runs for end in run]  # flat, for pytest.approx


def test_ray_across_a_hole_enters_and_leaves_at_the_constructed_coordinates():
    shape = _box_with_hole()
    events = RayCaster(shape).crossings(V(-5, 10, 5), V(1, 0, 0))
    assert [e.kind for e in events] == [ENTER, LEAVE, ENTER, LEAVE]
    assert [e.t for e in events] == pytest.approx([5.0, 20.0, 30.0, 45.0], abs=1e-7)
    runs = _agrees_with_sampling(shape, V(-5, 10, 5), V(1, 0, 0))
    assert runs == pytest.approx([5.0, 20.0, 30.0, 45.0], abs=1e-7)


def test_oblique_ray_through_the_hole_matches_the_circle_intersection():
    """Along (1, 1, 0)/√2 through the hole centre (20, 10): the hole wall is met 5 mm either side of
    the centre, the box at y = 0 (x = 10) and x = 40 (y = 30 > 20, so y = 20 first: x = 30)."""
    shape = _box_with_hole()
    d = V(1, 1, 0).normalize()
    origin = V(20, 10, 5)  # t = 0 at the hole centre
    runs = _agrees_with_sampling(shape, origin, d)
    assert runs == pytest.approx([-10 * math.sqrt(2), -5.0, 5.0, 10 * math.sqrt(2)], abs=1e-7)


def test_ray_grazing_an_edge_from_outside_touches_and_stays_outside():
    """Along (1, -1, 0) through the box's vertical edge x = 0, y = 0: outside on both sides."""
    shape = _box_with_hole()
    d = V(1, -1, 0).normalize()
    caster = RayCaster(shape)
    events = caster.crossings(V(0, 0, 5), d)
    assert [e.kind for e in events] == [TOUCH]
    assert events[0].t == pytest.approx(0.0, abs=1e-7)
    assert _agrees_with_sampling(shape, V(0, 0, 5), d) == []
    assert caster.first_block(V(0, 0, 5) - d * 10, d, 0.0) is None


def test_ray_entering_through_an_edge_is_one_entry():
    """Along (1, 1, 0) through the same edge: enters there (both faces), leaves through y = 20 at x = 20."""
    shape = Part.makeBox(40, 20, 10)
    d = V(1, 1, 0).normalize()
    runs = _agrees_with_sampling(shape, V(0, 0, 5), d)
    assert runs == pytest.approx([0.0, 20 * math.sqrt(2)], abs=1e-7)


def test_ray_along_a_hole_tangent_runs_through_material():
    """y = 5 is tangent to the Ø10 hole (centre y 10): the ray touches the wall at x = 20 and stays in material."""
    shape = _box_with_hole()
    events = RayCaster(shape).crossings(V(-5, 5, 5), V(1, 0, 0))
    assert [e.kind for e in events] == [ENTER, TOUCH, LEAVE]
    assert [e.t for e in events] == pytest.approx([5.0, 25.0, 45.0], abs=1e-6)
    assert _agrees_with_sampling(shape, V(-5, 5, 5), V(1, 0, 0)) == pytest.approx([5.0, 45.0], abs=1e-7)


def test_ray_along_a_cylinder_tangent_misses_it():
    """A Ø10 pin at the origin: y = 5 touches it, y = 4.9 crosses it at x = ±√(25 - 4.9²)."""
    pin = Part.makeCylinder(5, 10)
    caster = RayCaster(pin)
    assert [e.kind for e in caster.crossings(V(-20, 5, 5), V(1, 0, 0))] == [TOUCH]
    assert caster.first_block(V(-20, 5, 5), V(1, 0, 0), 0.0) is None
    assert _agrees_with_sampling(pin, V(-20, 5, 5), V(1, 0, 0)) == []
    half = math.sqrt(25 - 4.9**2)
    assert _agrees_with_sampling(pin, V(0, 4.9, 5), V(1, 0, 0)) == pytest.approx([-half, half], abs=1e-7)


def test_visibility_exact_check_stops_where_material_runs_begins():
    """The accessibility check and the wall measure read one ray alike: from inside the hole along +X
    the first block is the hole wall at x = 25, where material_runs' run ahead starts."""
    shape = _box_with_hole()
    vis = Visibility(shape)
    origin = V(20, 10, 5)
    wall = vis.exact_blocker(origin, V(1, 0, 0), 1e-6)
    assert wall != ESCAPED and "Cylinder" in type(shape.Faces[wall].Surface).__name__
    block = vis.rays.first_block(origin, V(1, 0, 0), 1e-6)
    assert block.kind == ENTER and block.t == pytest.approx(5.0, abs=1e-7)
    ahead = [run for run in thickness.material_runs(shape, origin, V(1, 0, 0)) if run[0] > 0]
    assert ahead[0][0] == pytest.approx(block.t, abs=1e-7)
    # Straight up out of the hole nothing is in the way.
    assert vis.exact_blocker(origin, V(0, 0, 1), 1e-6) == ESCAPED

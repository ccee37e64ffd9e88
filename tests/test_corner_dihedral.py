"""Sharp-corner rules only where the surface really turns (profile ``min_turn_deg``): a plane that meets
a cylinder 9° off tangent is no corner, a 90° step is. The part is a profile extruded 10 mm along Z, so
each concave edge's turn is the constructed angle between the profile's segments."""

from __future__ import annotations

import math

import pytest
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.engine import run_dfm
from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.geometry.corners import concave_corners

V = FreeCAD.Vector
KINK_DEG = 9.0  # the cylinder–plane edge
R = 20.0


def _kinked_block():
    """Profile (counter-clockwise, material on the left): a 90° inside step at (50, 10), and at (30, 25)
    a line heading -X meets an R 20 arc whose tangent there heads 171°: a concave turn of 9°. The arc
    runs on tangentially into the left side. Returns (shape, point of the 90° corner, point of the 9° one)."""
    heading = math.radians(180.0 - KINK_DEG)
    start = V(30, 25, 0)
    centre = start + V(math.cos(heading + math.pi / 2), math.sin(heading + math.pi / 2), 0) * R
    a0 = math.atan2(start.y - centre.y, start.x - centre.x)
    end = centre + V(-R, 0, 0)  # the arc ends heading -Y (at 180° on its circle): tangent to the left side
    mid = centre + V(math.cos(0.5 * (a0 + math.pi)), math.sin(0.5 * (a0 + math.pi)), 0) * R
    bottom_left = V(end.x, 0, 0)
    edges = [
        Part.LineSegment(bottom_left, V(70, 0, 0)).toShape(),
        Part.LineSegment(V(70, 0, 0), V(70, 10, 0)).toShape(),
        Part.LineSegment(V(70, 10, 0), V(50, 10, 0)).toShape(),
        Part.LineSegment(V(50, 10, 0), V(50, 25, 0)).toShape(),
        Part.LineSegment(V(50, 25, 0), start).toShape(),
        Part.Arc(start, mid, end).toShape(),
        Part.LineSegment(end, bottom_left).toShape(),
    ]
    shape = Part.Face(Part.Wire(edges)).extrude(V(0, 0, 10))
    return shape, V(50, 10, 5), V(30, 25, 5)


def _corner_at(corners, shape, point):
    for corner in corners:
        for k in corner.edges:
            if shape.Edges[k].distToShape(Part.Vertex(point))[0] < 1e-6:
                return corner
    raise AssertionError(f"no concave corner at {point}")


def test_corners_carry_the_angle_the_surface_turns_through():
    shape, square, kink = _kinked_block()
    assert shape.isValid()
    corners = concave_corners(shape)
    assert _corner_at(corners, shape, square).turn_deg == pytest.approx(90.0, abs=1e-6)
    assert _corner_at(corners, shape, kink).turn_deg == pytest.approx(KINK_DEG, abs=1e-6)


def test_min_turn_is_profile_data_for_both_sharp_corner_rules():
    for process, rule in (("cnc-3axis", "cnc.sharp_internal_corner"), ("injection-molding", "mold.sharp_internal_corner")):
        assert load_profile(process).settings(rule).number("min_turn_deg") > KINK_DEG


def test_mold_sharp_corner_is_reported_at_the_step_and_not_at_the_9_degree_kink(doc):
    shape, square, kink = _kinked_block()
    obj = add_shape(doc, "Kinked", shape)
    found = [f for f in run_dfm(doc, "injection-molding") if f.rule == "mold.sharp_internal_corner"]
    edges = {e for f in found for e in f.elements}
    named = {f"Edge{i}" for i, e in enumerate(obj.Shape.Edges, 1) if e.distToShape(Part.Vertex(square))[0] < 1e-6}
    kinked = {f"Edge{i}" for i, e in enumerate(obj.Shape.Edges, 1) if e.distToShape(Part.Vertex(kink))[0] < 1e-6}
    assert named and named <= edges
    assert not kinked & edges


def test_a_profile_may_lower_the_threshold_and_then_the_kink_is_a_corner(doc):
    shape, _, kink = _kinked_block()
    obj = add_shape(doc, "Kinked", shape)
    profile = {"rules": {"mold.sharp_internal_corner": {"min_turn_deg": 5.0}}}
    found = [f for f in run_dfm(doc, "injection-molding", profile=profile) if f.rule == "mold.sharp_internal_corner"]
    kinked = {f"Edge{i}" for i, e in enumerate(obj.Shape.Edges, 1) if e.distToShape(Part.Vertex(kink))[0] < 1e-6}
    assert kinked & {e for f in found for e in f.elements}

"""The query vocabulary: canonical surface recognition, axes, normals, interior points, line distances."""

import math

import pytest
from conftest import FreeCAD, Part, V

from freecad_spatial.spatial_tools.geometry import query as q

TWO_PI = 2 * math.pi


def test_canonical_faces_of_primitives():
    placement = FreeCAD.Placement(V(1, 2, 3), FreeCAD.Rotation(V(1, 0, 0), 90))
    cyl = Part.makeCylinder(3, 10)
    cyl.Placement = placement
    side = next(f for f in cyl.Faces if q.surface_type(f) is q.SurfaceType.CYLINDER)
    info = q.surface_info(side)
    assert info.radius == pytest.approx(3)
    assert info.axis.direction.cross(V(0, -1, 0)).Length < 1e-12  # Z turned 90° about X
    assert info.axis.distance_to(V(1, 0, 3)) == pytest.approx(0, abs=1e-12)
    assert q.surface_type(Part.makeSphere(2).Faces[0]) == "sphere"
    torus = q.surface_info(Part.makeTorus(10, 2).Faces[0])
    assert torus.type == "torus" and torus.radius == 2 and torus.major_radius == 10
    cone = q.surface_info(next(f for f in Part.makeCone(4, 2, 6).Faces if isinstance(f.Surface, Part.Cone)))
    assert cone.semi_angle_deg == pytest.approx(math.degrees(math.atan(2 / 6)))
    assert cone.apex.z == pytest.approx(12)  # radius 4 -> 2 over 6 mm reaches 0 at z = 12


def test_extrusions_are_planes_and_cylinders():
    circle = Part.SurfaceOfExtrusion(Part.Circle(V(5, 0, 0), V(0, 0, 1), 3), V(0, 0, 1)).toShape(0, TWO_PI, 0, 4)
    info = q.surface_info(circle)
    assert info.type == "cylinder" and info.representation == "SurfaceOfExtrusion"
    assert info.radius == pytest.approx(3) and info.axis.distance_to(V(5, 0, 0)) == pytest.approx(0)
    wall = Part.SurfaceOfExtrusion(Part.LineSegment(V(0, 0, 0), V(1, 0, 0)), V(0, 0, 1)).toShape(0, 1, 0, 1)
    assert q.surface_type(wall) == "plane"
    assert q.is_parallel(q.face_normal_at(wall), V(0, 1, 0))
    skew = Part.SurfaceOfExtrusion(Part.Circle(V(0, 0, 0), V(0, 0, 1), 3), V(1, 0, 1)).toShape(0, TWO_PI, 0, 4)
    assert q.surface_type(skew) == "extrusion"  # an elliptic cylinder is not a cylinder


def test_revolutions_are_recognised():
    z = (V(0, 0, 0), V(0, 0, 1))
    tube = Part.SurfaceOfRevolution(Part.LineSegment(V(3, 0, 0), V(3, 0, 5)), *z).toShape(0, TWO_PI, 0, 5)
    assert q.surface_info(tube).type == "cylinder" and q.surface_info(tube).radius == pytest.approx(3)
    slope = Part.SurfaceOfRevolution(Part.LineSegment(V(3, 0, 0), V(5, 0, 4)), *z).toShape(0, TWO_PI, 0, 1)
    cone = q.surface_info(slope)
    assert cone.type == "cone"
    assert list(cone.apex) == pytest.approx([0, 0, -6])  # r = 3 + 2t, z = 4t: r = 0 at t = -1.5
    assert cone.semi_angle_deg == pytest.approx(math.degrees(math.atan2(2, 4)))
    ring = Part.SurfaceOfRevolution(Part.Circle(V(10, 0, 0), V(0, 1, 0), 2), *z).toShape(0, TWO_PI, 0, TWO_PI)
    torus = q.surface_info(ring)
    assert torus.type == "torus" and torus.radius == pytest.approx(2) and torus.major_radius == pytest.approx(10)
    ball = Part.SurfaceOfRevolution(Part.Circle(V(0, 0, 1), V(0, 1, 0), 2), *z).toShape(0, TWO_PI, 0, math.pi)
    assert q.surface_info(ball).type == "sphere" and list(q.surface_info(ball).center) == pytest.approx([0, 0, 1])
    hyperboloid = Part.SurfaceOfRevolution(Part.LineSegment(V(3, 0, 0), V(3, 1, 1)), *z).toShape(0, TWO_PI, 0, 1)
    info = q.surface_info(hyperboloid)
    assert info.type == "revolution" and q.is_parallel(info.axis.direction, V(0, 0, 1))


def test_offset_and_trimmed_surfaces():
    offset_cyl = Part.OffsetSurface(Part.Cylinder(), 2.0).toShape(0, 3, 0, 5)
    assert q.surface_info(offset_cyl).type == "cylinder" and q.surface_info(offset_cyl).radius == pytest.approx(3)
    offset_plane = Part.OffsetSurface(Part.Plane(), 1.5).toShape(0, 1, 0, 1)
    info = q.surface_info(offset_plane)
    assert info.type == "plane" and info.axis.location.z == pytest.approx(1.5)
    trimmed = Part.RectangularTrimmedSurface(Part.Sphere(), 0, 1, -0.5, 0.5)
    assert q.surface_info(Part.Face(trimmed)).type == "sphere"


def test_bspline_planes_count_as_planes_and_freeform_does_not():
    flat = Part.makePlane(5, 5).toNurbs().Faces[0]
    info = q.surface_info(flat)
    assert info.type == "plane" and info.representation == "BSplineSurface"
    assert q.is_parallel(q.face_normal_at(flat), V(0, 0, 1))
    side = next(f for f in Part.makeCylinder(2, 5).toNurbs().Faces if not f.Surface.isPlanar())
    assert q.surface_type(side) == "bspline"


def test_normals_honour_orientation_and_hole_walls_are_internal():
    block = Part.makeBox(10, 10, 10).cut(Part.makeCylinder(2, 10, V(5, 5, 0)))
    bottom = next(f for f in block.Faces if abs(f.CenterOfMass.z) < 1e-9)
    assert list(q.face_normal_at(bottom)) == pytest.approx([0, 0, -1])
    assert q.plane_normal(bottom) is not None
    wall = next(f for f in block.Faces if isinstance(f.Surface, Part.Cylinder))
    assert q.is_internal(wall) is True
    assert q.plane_normal(wall) is None
    assert q.is_internal(Part.makeCylinder(2, 10).Faces[0]) is False


def test_point_inside_an_annulus():
    ring = Part.makeCylinder(10, 1).cut(Part.makeCylinder(7, 1))
    end = next(f for f in ring.Faces if isinstance(f.Surface, Part.Plane))
    point, (u, v) = q.point_inside(end)
    assert 7 < math.hypot(point.x, point.y) < 10
    assert end.isPartOfDomain(u, v)


def test_point_inside_a_ring_too_thin_for_the_uv_grid():
    """No UV grid point lands on a 0.1 mm ring: the tessellation fallback must still find one."""
    ring = Part.makeCylinder(10, 1).cut(Part.makeCylinder(9.9, 1))
    end = next(f for f in ring.Faces if isinstance(f.Surface, Part.Plane))
    point, (u, v) = q.point_inside(end)
    assert 9.9 - 1e-6 <= math.hypot(point.x, point.y) <= 10 + 1e-6
    assert end.isPartOfDomain(u, v)


def test_line_distance():
    z = q.Axis(V(0, 0, 0), V(0, 0, 1))
    assert q.line_distance(z, q.Axis(V(3, 4, 100), V(0, 0, -1))) == pytest.approx(5)  # parallel
    assert q.line_distance(z, q.Axis(V(0, 7, 2), V(1, 0, 0))) == pytest.approx(7)  # skew
    assert q.line_distance(z, q.Axis(V(1, 1, 5), q.unit(V(1, 1, 0)))) == pytest.approx(0)  # meeting


def test_curves():
    box = Part.makeBox(1, 2, 3)
    edge = box.Edges[0]
    assert q.curve_type(edge) == "line"
    assert q.edge_direction(edge).Length == pytest.approx(1)
    arc = Part.Edge(Part.ArcOfCircle(Part.Circle(V(1, 2, 3), V(0, 0, 1), 4), 0, 1))
    assert q.curve_type(arc) == "circle" and list(q.circle_center(arc)) == pytest.approx([1, 2, 3])
    assert q.edge_direction(arc) is None


def test_filter_and_box_helpers():
    block = Part.makeBox(10, 10, 10).cut(Part.makeCylinder(2, 10, V(5, 5, 0)))
    cyl = q.ElementFilter(surface_type=q.SurfaceType.CYLINDER, axis=V(0, 0, 1), radius_max=2)
    assert [block.Faces[i - 1].Surface.Radius for i in q.filter_elements(block, cyl)] == [2]
    assert q.filter_elements(block, q.ElementFilter(surface_type=q.SurfaceType.CYLINDER, radius_max=1.9)) == []
    rims = q.filter_elements(block, q.ElementFilter(element=q.ElementKind.EDGE, curve_type=q.CurveType.CIRCLE))
    assert len(rims) == 2
    assert len(q.elements_in_box(block, q.ElementKind.VERTEX, [-1, -1, -1], [11, 11, 0.5])) == 4 + 1  # + the seam vertex

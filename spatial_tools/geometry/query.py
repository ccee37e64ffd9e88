"""The one vocabulary of geometry questions about faces and edges.

What kind of surface or curve an element is, where its normal, axis, centre
and radius are, and which elements of a shape match a filter. The tools,
feature recognition and the DFM rules all ask through these functions, so
"cylindrical faces of radius < 3 along Z" has exactly one implementation
(style.md, "One query vocabulary").

Everything works on FreeCAD ``Part`` shapes in whatever coordinates they carry
(the tools pass global ones). FreeCAD 0.20 compatible: surfaces are classified
by their Part geometry class, looking through trimmed and offset surfaces and
recognising extrusions/revolutions and planar B-splines that are really
canonical.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Numerical noise floors of the kernel (not design thresholds): two directions
# whose cross product is below this are parallel; a point this close to a line
# lies on it (relative to the sizes involved).
PARALLEL_EPS = 1e-9
ON_LINE_EPS = 1e-7

# How many UV samples per direction ``point_inside`` tries before tessellating.
_UV_GRID = 7


class SurfaceType(StrEnum):
    PLANE = "plane"
    CYLINDER = "cylinder"
    CONE = "cone"
    SPHERE = "sphere"
    TORUS = "torus"
    BSPLINE = "bspline"
    BEZIER = "bezier"
    EXTRUSION = "extrusion"
    REVOLUTION = "revolution"
    OFFSET = "offset"
    OTHER = "other"


class CurveType(StrEnum):
    LINE = "line"
    CIRCLE = "circle"
    ELLIPSE = "ellipse"
    HYPERBOLA = "hyperbola"
    PARABOLA = "parabola"
    BSPLINE = "bspline"
    BEZIER = "bezier"
    OFFSET = "offset"
    OTHER = "other"


class ElementKind(StrEnum):
    FACE = "face"
    EDGE = "edge"
    VERTEX = "vertex"


KIND_ATTR = {ElementKind.FACE: "Faces", ElementKind.EDGE: "Edges", ElementKind.VERTEX: "Vertexes"}
KIND_NAME = {ElementKind.FACE: "Face", ElementKind.EDGE: "Edge", ElementKind.VERTEX: "Vertex"}

# Surfaces that have a rotation axis (a line), as opposed to spheres, planes and free forms.
AXIAL_SURFACES = frozenset({SurfaceType.CYLINDER, SurfaceType.CONE, SurfaceType.TORUS, SurfaceType.REVOLUTION})


@dataclass(frozen=True)
class Axis:
    """A line in space: a point on it and a unit direction."""

    location: Any  # FreeCAD.Vector
    direction: Any  # FreeCAD.Vector, unit length

    def project(self, point: Any) -> Any:
        """The foot of the perpendicular from ``point`` on this line."""
        return self.location + self.direction * (point - self.location).dot(self.direction)

    def distance_to(self, point: Any) -> float:
        return (point - self.project(point)).Length


@dataclass(frozen=True)
class SurfaceInfo:
    """A face's surface in canonical terms, in the coordinates of the face.

    ``axis`` is the rotation axis of cylinders, cones, tori and revolutions,
    and for planes the point and normal of the *surface* (use
    ``face_normal_at`` for the face's outward normal, which honours its
    Orientation). ``radius`` is the cylinder/sphere radius or the torus tube
    (minor) radius, which is the fillet radius of a rolling-ball fillet.
    """

    type: SurfaceType
    representation: str  # the kernel class, e.g. "BSplineSurface" for a planar B-spline
    axis: Axis | None = None
    center: Any = None  # sphere and torus centre
    radius: float | None = None
    major_radius: float | None = None  # torus
    apex: Any = None  # cone
    semi_angle_deg: float | None = None  # cone


@dataclass(frozen=True)
class CurveInfo:
    """An edge's curve: lines carry ``axis`` (point + direction), circles their centre, normal and radius."""

    type: CurveType
    representation: str
    axis: Axis | None = None  # line: the line; circle/ellipse: centre + plane normal
    center: Any = None
    radius: float | None = None


def _vector(x: float, y: float, z: float) -> Any:
    import FreeCAD

    return FreeCAD.Vector(x, y, z)


def unit(vector: Any) -> Any:
    length = vector.Length
    if length == 0:
        raise ValueError("a zero vector has no direction")
    return vector * (1.0 / length)


def as_vector(values: Sequence[float]) -> Any:
    return _vector(*map(float, values))


def is_parallel(a: Any, b: Any, eps: float = PARALLEL_EPS) -> bool:
    """Unit vectors ``a`` and ``b`` lie on one line (either sense)."""
    return a.cross(b).Length <= eps


def angle_deg(a: Any, b: Any) -> float:
    """Angle between two directions in degrees, 0-180 (sign-sensitive)."""
    cosine = unit(a).dot(unit(b))
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def acute_deg(angle: float) -> float:
    """The angle between the lines (not the directions): 0-90."""
    return min(angle, 180.0 - angle)


def line_distance(a: Axis, b: Axis) -> float:
    """Shortest distance between two infinite lines: 0 when they meet, exact for skew and parallel ones."""
    normal = a.direction.cross(b.direction)
    offset = b.location - a.location
    if normal.Length <= PARALLEL_EPS:
        return offset.cross(a.direction).Length
    return abs(offset.dot(normal)) / normal.Length


# --------------------------------------------------------------------------- surfaces


_PARAMETER_CLAMP = 1e6  # infinite surfaces report ±2e100 bounds: stay near the origin of the parameters


def _middle(u0: float, u1: float, v0: float, v1: float) -> tuple[float, float]:
    c = _PARAMETER_CLAMP
    return (max(-c, min(c, u0)) + max(-c, min(c, u1))) / 2.0, (max(-c, min(c, v0)) + max(-c, min(c, v1))) / 2.0


def _mid_parameters(surface: Any, face: Any = None) -> tuple[float, float]:
    """The middle of a face's parameter range, or of a surface's bounds."""
    return _middle(*(face.ParameterRange if face is not None else surface.bounds()))


def _line_of(curve: Any) -> Axis | None:
    name = type(curve).__name__
    if name == "Line":
        return Axis(curve.Location, unit(curve.Direction))
    if name == "LineSegment":
        return Axis(curve.StartPoint, unit(curve.EndPoint - curve.StartPoint))
    return None


def _basis_curve(curve: Any) -> Any:
    """Looks through trimmed curves (arcs keep their circle, segments their line)."""
    while type(curve).__name__ == "TrimmedCurve" and hasattr(curve, "BasisCurve"):
        curve = curve.BasisCurve
    return curve


def _circle_of(curve: Any) -> tuple[Any, Any, float] | None:
    """(centre, unit normal, radius) of a circle or arc of circle."""
    if type(curve).__name__ in ("Circle", "ArcOfCircle"):
        return curve.Center, unit(curve.Axis), float(curve.Radius)
    return None


def _revolution(surface: Any, name: str) -> SurfaceInfo:
    axis = Axis(surface.Location, unit(surface.Direction))
    curve = _basis_curve(surface.BasisCurve)
    line = _line_of(curve)
    if line is not None:
        if is_parallel(line.direction, axis.direction):
            return SurfaceInfo(SurfaceType.CYLINDER, name, axis=axis, radius=axis.distance_to(line.location))
        if abs(line.direction.dot(axis.direction)) <= PARALLEL_EPS:
            return SurfaceInfo(SurfaceType.PLANE, name, axis=Axis(line.location, axis.direction))
        normal = line.direction.cross(axis.direction)
        if abs((line.location - axis.location).dot(unit(normal))) <= ON_LINE_EPS:
            # Coplanar with the axis: a cone whose apex is where the line meets the axis.
            t = (axis.location - line.location).cross(axis.direction).dot(normal) / normal.Length**2
            apex = line.location + line.direction * t
            half = acute_deg(angle_deg(line.direction, axis.direction))
            return SurfaceInfo(SurfaceType.CONE, name, axis=Axis(apex, axis.direction), apex=apex, semi_angle_deg=half)
    circle = _circle_of(curve)
    if circle is not None:
        centre, normal, radius = circle
        in_meridian = abs(normal.dot(axis.direction)) <= PARALLEL_EPS and abs(
            (centre - axis.location).dot(normal)
        ) <= ON_LINE_EPS
        if in_meridian:
            offset = axis.distance_to(centre)
            if offset <= ON_LINE_EPS:
                return SurfaceInfo(SurfaceType.SPHERE, name, center=centre, radius=radius)
            return SurfaceInfo(
                SurfaceType.TORUS,
                name,
                axis=Axis(axis.project(centre), axis.direction),
                center=axis.project(centre),
                radius=radius,
                major_radius=offset,
            )
    return SurfaceInfo(SurfaceType.REVOLUTION, name, axis=axis)


def _extrusion(surface: Any, name: str) -> SurfaceInfo:
    direction = unit(surface.Direction)
    curve = _basis_curve(surface.BasisCurve)
    line = _line_of(curve)
    if line is not None and not is_parallel(line.direction, direction):
        return SurfaceInfo(SurfaceType.PLANE, name, axis=Axis(line.location, unit(line.direction.cross(direction))))
    circle = _circle_of(curve)
    if circle is not None and is_parallel(circle[1], direction):
        return SurfaceInfo(SurfaceType.CYLINDER, name, axis=Axis(circle[0], direction), radius=circle[2])
    return SurfaceInfo(SurfaceType.EXTRUSION, name)


def _offset(surface: Any, name: str) -> SurfaceInfo:
    """An offset of a canonical surface is the same kind of surface, moved by the offset."""
    basis = _canonical(surface.BasisSurface, name)
    u, v = _mid_parameters(surface.BasisSurface)
    point = surface.value(u, v)
    if basis.type is SurfaceType.PLANE:
        return SurfaceInfo(SurfaceType.PLANE, name, axis=Axis(point, basis.axis.direction))
    if basis.type is SurfaceType.CYLINDER:
        return SurfaceInfo(SurfaceType.CYLINDER, name, axis=basis.axis, radius=basis.axis.distance_to(point))
    if basis.type is SurfaceType.SPHERE:
        return SurfaceInfo(SurfaceType.SPHERE, name, center=basis.center, radius=(point - basis.center).Length)
    if basis.type is SurfaceType.TORUS:
        rho = basis.axis.distance_to(point)
        height = (point - basis.center).dot(basis.axis.direction)
        minor = math.hypot(rho - basis.major_radius, height)
        return SurfaceInfo(
            SurfaceType.TORUS, name, axis=basis.axis, center=basis.center, radius=minor, major_radius=basis.major_radius
        )
    if basis.type is SurfaceType.CONE:
        # Same axis and half-angle; the apex slides along the axis.
        rho = basis.axis.distance_to(point)
        along = (point - basis.axis.location).dot(basis.axis.direction)
        sign = 1.0 if (point - basis.apex).dot(basis.axis.direction) >= 0 else -1.0
        apex = basis.axis.location + basis.axis.direction * (
            along - sign * rho / math.tan(math.radians(basis.semi_angle_deg))
        )
        return SurfaceInfo(
            SurfaceType.CONE, name, axis=Axis(apex, basis.axis.direction), apex=apex, semi_angle_deg=basis.semi_angle_deg
        )
    return SurfaceInfo(SurfaceType.OFFSET, name, axis=basis.axis if basis.type in AXIAL_SURFACES else None)


def _canonical(surface: Any, name: str) -> SurfaceInfo:
    kind = type(surface).__name__
    if kind == "Plane":
        return SurfaceInfo(SurfaceType.PLANE, name, axis=Axis(surface.Position, unit(surface.Axis)))
    if kind == "Cylinder":
        return SurfaceInfo(SurfaceType.CYLINDER, name, axis=Axis(surface.Center, unit(surface.Axis)), radius=float(surface.Radius))
    if kind == "Cone":
        return SurfaceInfo(
            SurfaceType.CONE,
            name,
            axis=Axis(surface.Apex, unit(surface.Axis)),
            apex=surface.Apex,
            semi_angle_deg=abs(math.degrees(surface.SemiAngle)),
        )
    if kind == "Sphere":
        return SurfaceInfo(SurfaceType.SPHERE, name, center=surface.Center, radius=float(surface.Radius))
    if kind == "Toroid":
        return SurfaceInfo(
            SurfaceType.TORUS,
            name,
            axis=Axis(surface.Center, unit(surface.Axis)),
            center=surface.Center,
            radius=float(surface.MinorRadius),
            major_radius=float(surface.MajorRadius),
        )
    if kind == "RectangularTrimmedSurface":
        return _canonical(surface.BasisSurface, name)
    if kind == "OffsetSurface":
        return _offset(surface, name)
    if kind == "SurfaceOfExtrusion":
        return _extrusion(surface, name)
    if kind == "SurfaceOfRevolution":
        return _revolution(surface, name)
    if kind in ("BSplineSurface", "BezierSurface"):
        # STEP files often carry planes as B-splines; they are planes for every question we ask.
        if surface.isPlanar():
            u, v = _mid_parameters(surface)
            return SurfaceInfo(SurfaceType.PLANE, name, axis=Axis(surface.value(u, v), unit(surface.normal(u, v))))
        return SurfaceInfo(SurfaceType.BSPLINE if kind == "BSplineSurface" else SurfaceType.BEZIER, name)
    return SurfaceInfo(SurfaceType.OTHER, name)


def surface_info(face: Any) -> SurfaceInfo:
    """The canonical description of ``face``'s surface (see SurfaceInfo)."""
    surface = face.Surface
    return _canonical(surface, type(surface).__name__)


def surface_type(face: Any) -> SurfaceType:
    return surface_info(face).type


def face_normal_at(face: Any, point: Any = None) -> Any:
    """Unit normal of ``face`` at ``point`` (default: a point inside it), honouring the face's
    Orientation, so faces of a solid give the outward normal."""
    if point is None:
        u, v = point_inside(face)[1]
    else:
        u, v = face.Surface.parameter(point)
    return unit(face.normalAt(u, v))


def plane_normal(face: Any) -> Any | None:
    """The outward normal of a planar face; None when the face is not planar."""
    if surface_info(face).type is not SurfaceType.PLANE:
        return None
    return face_normal_at(face)


def face_axis(face: Any) -> Axis | None:
    """Rotation axis of a cylinder, cone, torus or surface of revolution; None otherwise."""
    info = surface_info(face)
    return info.axis if info.type in AXIAL_SURFACES else None


def face_radius(face: Any) -> float | None:
    """Cylinder or sphere radius, torus tube radius; None for other surfaces."""
    return surface_info(face).radius


def axial_center(face: Any, axis: Axis | None = None) -> Any | None:
    """Centre of a cylinder-like face: the middle of its extent, projected on its axis."""
    axis = axis or face_axis(face)
    if axis is None:
        return None
    u, v = _middle(*face.ParameterRange)  # face.Surface would build a geometry copy for nothing
    return axis.project(face.valueAt(u, v))


def is_internal(face: Any) -> bool | None:
    """For an axial face of a solid: True when its outward normal points at the axis (a hole or
    bore wall), False for a boss or shaft; None when the face has no axis."""
    axis = face_axis(face)
    if axis is None:
        return None
    point, (u, v) = point_inside(face)
    radial = point - axis.project(point)
    if radial.Length <= ON_LINE_EPS:
        return None
    return face.normalAt(u, v).dot(radial) < 0


def point_inside(face: Any) -> tuple[Any, tuple[float, float]]:
    """A point in the interior of ``face`` and its (u, v): the UV centre when it lies on the
    face, else the UV grid point nearest the centre that does, else a tessellation triangle."""
    u0, u1, v0, v1 = face.ParameterRange
    candidates = []
    for i in range(_UV_GRID):
        for j in range(_UV_GRID):
            s, t = (i + 0.5) / _UV_GRID, (j + 0.5) / _UV_GRID
            candidates.append(((s - 0.5) ** 2 + (t - 0.5) ** 2, u0 + s * (u1 - u0), v0 + t * (v1 - v0)))
    candidates.sort()
    for _, u, v in candidates:
        if face.isPartOfDomain(u, v):
            return face.valueAt(u, v), (u, v)
    points, triangles = face.tessellate(max(face.BoundBox.DiagonalLength / 100.0, 1e-3))
    best = None
    for a, b, c in triangles:
        area = (points[b] - points[a]).cross(points[c] - points[a]).Length
        if best is None or area > best[0]:
            best = (area, (points[a] + points[b] + points[c]) * (1.0 / 3.0))
    if best is None:
        from ..errors import GeometryError

        raise GeometryError("the face has no interior point the kernel can find (degenerate face?)")
    u, v = face.Surface.parameter(best[1])
    return face.valueAt(u, v), (u, v)


# --------------------------------------------------------------------------- curves


_CURVE_NAMES = {
    "Line": CurveType.LINE,
    "LineSegment": CurveType.LINE,
    "Circle": CurveType.CIRCLE,
    "ArcOfCircle": CurveType.CIRCLE,
    "Ellipse": CurveType.ELLIPSE,
    "ArcOfEllipse": CurveType.ELLIPSE,
    "Hyperbola": CurveType.HYPERBOLA,
    "ArcOfHyperbola": CurveType.HYPERBOLA,
    "Parabola": CurveType.PARABOLA,
    "ArcOfParabola": CurveType.PARABOLA,
    "BSplineCurve": CurveType.BSPLINE,
    "BezierCurve": CurveType.BEZIER,
    "OffsetCurve": CurveType.OFFSET,
}


def curve_info(edge: Any) -> CurveInfo:
    curve = _basis_curve(edge.Curve)
    name = type(curve).__name__
    kind = _CURVE_NAMES.get(name, CurveType.OTHER)
    if kind is CurveType.LINE:
        return CurveInfo(kind, name, axis=_line_of(curve))
    if kind is CurveType.CIRCLE:
        centre, normal, radius = _circle_of(curve)
        return CurveInfo(kind, name, axis=Axis(centre, normal), center=centre, radius=radius)
    if kind is CurveType.ELLIPSE:
        return CurveInfo(kind, name, axis=Axis(curve.Center, unit(curve.Axis)), center=curve.Center)
    return CurveInfo(kind, name)


def curve_type(edge: Any) -> CurveType:
    return curve_info(edge).type


def edge_direction(edge: Any) -> Any | None:
    """Unit direction of a straight edge, reversed with the edge's Orientation; None if curved."""
    info = curve_info(edge)
    if info.type is not CurveType.LINE:
        return None
    return -info.axis.direction if edge.Orientation == "Reversed" else info.axis.direction


def circle_center(edge: Any) -> Any | None:
    """Centre of a circular edge (full circle or arc); None for other curves."""
    return curve_info(edge).center


# --------------------------------------------------------------------------- filtering


def element_center(element: Any) -> Any:
    """Where an element is: centre of mass of a face or edge, the point of a vertex."""
    if element.ShapeType == "Vertex":
        return element.Point
    return element.CenterOfMass


@dataclass(frozen=True)
class ElementFilter:
    """A conjunction of geometric conditions on faces or edges; unset fields do not filter.

    ``normal`` keeps planar faces whose outward normal is within ``angle_tol_deg``
    of it; ``axis`` keeps axial faces, straight edges and circular edges whose
    axis/direction is parallel to it (either sense); ``radius_*`` compares the
    radius of cylinders, spheres, torus tubes and circles.
    """

    element: ElementKind = ElementKind.FACE
    surface_type: SurfaceType | None = None
    curve_type: CurveType | None = None
    normal: Any = None
    axis: Any = None
    angle_tol_deg: float = 1.0
    radius_min: float | None = None
    radius_max: float | None = None
    area_min: float | None = None
    area_max: float | None = None
    length_min: float | None = None
    length_max: float | None = None

    def _radius_ok(self, radius: float | None) -> bool:
        if self.radius_min is None and self.radius_max is None:
            return True
        if radius is None:
            return False
        return (self.radius_min is None or radius >= self.radius_min) and (
            self.radius_max is None or radius <= self.radius_max
        )

    def _axis_ok(self, direction: Any) -> bool:
        if self.axis is None:
            return True
        if direction is None:
            return False
        return acute_deg(angle_deg(direction, self.axis)) <= self.angle_tol_deg

    @staticmethod
    def _in_range(value: float, low: float | None, high: float | None) -> bool:
        return (low is None or value >= low) and (high is None or value <= high)

    def matches(self, element: Any) -> bool:
        if self.element is ElementKind.FACE:
            return self._face_matches(element)
        if self.element is ElementKind.EDGE:
            return self._edge_matches(element)
        return True

    def _face_matches(self, face: Any) -> bool:
        info = surface_info(face)
        if self.surface_type is not None and info.type is not self.surface_type:
            return False
        if not self._radius_ok(info.radius):
            return False
        if self.axis is not None and not self._axis_ok(info.axis.direction if info.type in AXIAL_SURFACES else None):
            return False
        if self.normal is not None:
            if info.type is not SurfaceType.PLANE:
                return False
            if angle_deg(face_normal_at(face), self.normal) > self.angle_tol_deg:
                return False
        if self.area_min is not None or self.area_max is not None:
            return self._in_range(face.Area, self.area_min, self.area_max)
        return True

    def _edge_matches(self, edge: Any) -> bool:
        info = curve_info(edge)
        if self.curve_type is not None and info.type is not self.curve_type:
            return False
        if not self._radius_ok(info.radius):
            return False
        if self.axis is not None and not self._axis_ok(info.axis.direction if info.axis is not None else None):
            return False
        if self.length_min is not None or self.length_max is not None:
            return self._in_range(edge.Length, self.length_min, self.length_max)
        return True


def elements_of(shape: Any, kind: ElementKind) -> list:
    return getattr(shape, KIND_ATTR[ElementKind(kind)])


def filter_elements(shape: Any, element_filter: ElementFilter) -> list[int]:
    """1-based indices of the elements of ``shape`` that match (FreeCAD's FaceN/EdgeN numbering)."""
    return [i for i, element in enumerate(elements_of(shape, element_filter.element), 1) if element_filter.matches(element)]


def elements_in_box(shape: Any, kind: ElementKind, low: Iterable[float], high: Iterable[float]) -> list[int]:
    """1-based indices of the elements whose ``element_center`` lies in the axis-aligned box."""
    low, high = list(low), list(high)
    found = []
    for i, element in enumerate(elements_of(shape, kind), 1):
        c = element_center(element)
        if all(lo <= x <= hi for lo, x, hi in zip(low, (c.x, c.y, c.z), high, strict=True)):
            found.append(i)
    return found

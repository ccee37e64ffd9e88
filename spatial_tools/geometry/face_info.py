"""What feature recognition needs to know about each face, computed once per face.

Recognition asks the same questions many times (is this face planar, where
does its normal point, is this cylinder a bore or a shaft); asking the kernel
once per face keeps a 50-face part well under a few milliseconds of work.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from freecad_spatial import RESOURCES

SETTINGS_FILE = RESOURCES / "features.toml"

SURFACE_KINDS = {
    "Plane": "plane",
    "Cylinder": "cylinder",
    "Cone": "cone",
    "Sphere": "sphere",
    "Toroid": "torus",
}


@dataclass(frozen=True)
class Settings:
    """Recognition tolerances from resources/features.toml."""

    angle_tol_deg: float
    length_tol: float
    full_hole_span_deg: float
    min_hole_span_deg: float
    chamfer_min_angle_deg: float
    chamfer_max_angle_deg: float
    profiles: dict

    @property
    def sin_tol(self) -> float:
        return math.sin(math.radians(self.angle_tol_deg))


@cache
def settings() -> Settings:
    with open(SETTINGS_FILE, "rb") as fh:
        data = tomllib.load(fh)
    try:
        result = Settings(**data)
    except TypeError as exc:
        raise ValueError(f"{SETTINGS_FILE.name}: {exc}") from exc
    for name in ("angle_tol_deg", "length_tol"):
        if not getattr(result, name) > 0:
            raise ValueError(f"{SETTINGS_FILE.name}: {name} must be positive")
    return result


@dataclass
class FaceInfo:
    """One face: its surface kind and the parameters recognition uses (local coordinates)."""

    index: int  # 0-based
    face: Any
    kind: str  # plane, cylinder, cone, sphere, torus, other
    normal: Any = None  # planes: outward unit normal
    offset: float = 0.0  # planes: normal · point
    axis_point: Any = None  # cylinders, cones, tori, spheres: a point on the axis / the centre
    axis: Any = None  # unit axis direction of the surface (its parametrisation's, not oriented)
    radius: float = 0.0  # cylinders, spheres; tori: minor radius
    major_radius: float = 0.0  # tori
    semi_angle: float = 0.0  # cones, radians
    internal: bool = False  # curved faces: material outside the surface (a bore, a concave blend)

    # Mass properties and sub-shape lists cost the kernel real work: computed on first use.
    @cached_property
    def area(self) -> float:
        return self.face.Area

    @cached_property
    def center(self) -> Any:
        """Centre of mass of the face."""
        return self.face.CenterOfMass

    @cached_property
    def edges(self) -> list[Any]:
        return self.face.Edges

    def axial(self, point: Any) -> float:
        """Coordinate of ``point`` along the axis from ``axis_point``."""
        return (point - self.axis_point).dot(self.axis)

    def radial(self, point: Any) -> float:
        """Distance of ``point`` from the axis."""
        d = point - self.axis_point
        return (d - self.axis * d.dot(self.axis)).Length


def _sample_normal(face: Any):
    """A point of the surface and the face's outward normal there.

    On a cylinder, cone, sphere or torus the side the normal points to (toward
    the axis or away) is the same everywhere, so any parameter will do; the
    middle of the parameter box avoids a degenerate apex or pole.
    """
    u0, u1, v0, v1 = face.ParameterRange
    u, v = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
    return face.valueAt(u, v), face.normalAt(u, v)


def face_info(index: int, face: Any) -> FaceInfo:
    surface = face.Surface
    kind = SURFACE_KINDS.get(type(surface).__name__, "other")
    info = FaceInfo(index=index, face=face, kind=kind)
    if kind == "plane":
        u0, u1, v0, v1 = face.ParameterRange
        normal = face.normalAt(0.5 * (u0 + u1), 0.5 * (v0 + v1))  # constant over a plane
        info.normal = normal
        info.offset = normal.dot(surface.Position)
        return info
    if kind in ("cylinder", "cone", "torus"):
        info.axis = surface.Axis.normalize()  # Axis is a copy: normalising it in place is safe
    if kind in ("cylinder", "torus"):
        info.axis_point = surface.Center
    if kind == "cylinder":
        info.radius = surface.Radius
    elif kind == "cone":
        info.axis_point = surface.Apex
        info.radius = surface.Radius
        info.semi_angle = surface.SemiAngle
    elif kind == "torus":
        info.radius = surface.MinorRadius
        info.major_radius = surface.MajorRadius
    elif kind == "sphere":
        info.axis_point = surface.Center
        info.radius = surface.Radius
    if kind in ("cylinder", "cone", "torus", "sphere"):
        point, normal = _sample_normal(face)
        if kind == "sphere":
            info.internal = normal.dot(point - info.axis_point) < 0
        elif kind == "torus":
            # the tube centre nearest the point; the tube is concave when the normal faces it
            d = point - info.axis_point
            planar = d - info.axis * d.dot(info.axis)
            ring = info.axis_point + (planar.normalize() * info.major_radius if planar.Length > 1e-12 else planar)
            info.internal = normal.dot(point - ring) < 0
        else:
            d = point - info.axis_point
            radial = d - info.axis * d.dot(info.axis)
            info.internal = normal.dot(radial) < 0
    return info


def face_infos(shape: Any) -> list[FaceInfo]:
    return [face_info(i, f) for i, f in enumerate(shape.Faces)]

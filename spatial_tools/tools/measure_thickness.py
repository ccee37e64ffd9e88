"""measure_thickness: the wall at a face or point, by casting a ray through the solid."""

from __future__ import annotations

from typing import Annotated, Any

from ..context import ToolContext
from ..errors import BadArguments, BadReference, NotApplicable
from ..geometry.query import as_vector, unit
from ..geometry.thickness import chord_at, chord_at_face, tolerance_of
from ..refs import element_ref, global_shape, resolve, resolve_object
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg, Ref, Vec3

RESULT = {
    "type": "object",
    "properties": {
        "thickness": {"type": "number", "minimum": 0},
        "point_in": VEC3_SCHEMA,
        "point_out": VEC3_SCHEMA,
        "direction": VEC3_SCHEMA,
        "at": VEC3_SCHEMA,
        "object": {"type": "string"},
        "face": {"type": "string"},
        "snapped": {"type": "number"},
        "tolerance": {"type": "number"},
    },
    "required": ["thickness", "point_in", "point_out", "direction", "at", "object", "tolerance"],
}

# A point this far outside the solid, relative to the solid's size, is moved onto
# its surface: picks on tessellated curved faces land that far off the exact surface.
SNAP_RELATIVE = 1e-3

_CONTAINERS = ("App::Part", "App::DocumentObjectGroup", "App::Origin", "App::Line", "App::Plane")


def _leaf_solids(document: Any) -> list[Any]:
    """Objects whose solid is what the user sees: not consumed by another feature, not a container."""
    found = []
    for obj in document.Objects:
        if any(obj.isDerivedFrom(t) for t in _CONTAINERS) or not hasattr(obj, "Shape"):
            continue
        consumers = [p for p in obj.InList if not any(p.isDerivedFrom(t) for t in _CONTAINERS)]
        if consumers or obj.Shape.isNull() or not obj.Shape.Solids:
            continue
        found.append(obj)
    return found


def _object_at(document: Any, point: Any) -> tuple[Any, Any]:
    """The one visible solid the point lies on or in: (object, global shape)."""
    hits = []
    for obj in _leaf_solids(document):
        shape = global_shape(obj)
        box = shape.BoundBox
        limit = max(SNAP_RELATIVE * box.DiagonalLength, tolerance_of(shape))
        box.enlarge(limit)
        # distToShape of a solid is 0 for points inside it, so this is "in, on or near".
        if box.isInside(point) and shape.distToShape(_vertex(point))[0] <= limit:
            hits.append((obj, shape))
    if not hits:
        raise NotApplicable("the point is on or in no solid of the document; check the coordinates or pass `object`")
    if len(hits) > 1:
        names = ", ".join(o.Name for o, _ in hits)
        raise BadArguments(f"the point lies on several solids ({names}): pass `object` to choose one")
    return hits[0]


def _vertex(point: Any) -> Any:
    import Part

    return Part.Vertex(point)


def _face_near(solid: Any, point: Any) -> tuple[Any, int, float, Any]:
    """(nearest point on the surface, number of the nearest face, distance, that face).

    Measured to the faces, not the solid: distToShape gives 0 for a point inside a solid.
    """
    import Part

    faces = solid.Faces
    surface = Part.Compound(faces)
    distance, pairs, infos = surface.distToShape(_vertex(point))
    near = pairs[0][0]
    kind, index = infos[0][0], infos[0][1]
    if kind == "Face":
        number = index + 1
    else:  # nearest to an edge or vertex: take the first face that bounds it
        sub = getattr(surface, "Edges" if kind == "Edge" else "Vertexes")[index]
        first = surface.ancestorsOfType(sub, Part.Face)[0]
        number = next(i for i, f in enumerate(faces, 1) if f.isSame(first))
    return near, number, distance, faces[number - 1]


@tool(result=RESULT, raw_geometry=True)
def measure_thickness(
    ctx: ToolContext,
    at: Annotated[Ref, Arg("Where to measure: a face ref such as 'Plate.Face3' (measured from a point inside that face) or {'point': [x, y, z]} on or in the solid")],
    direction: Annotated[Vec3 | None, Arg("Ray direction [x, y, z]; default: into the material along the face normal at that point")] = None,
    object: Annotated[str | None, Arg("Object to measure when `at` is a point and several solids are near it")] = None,
) -> dict:
    ray = None
    if direction is not None:
        ray = as_vector(direction)
        if ray.Length == 0:
            raise BadArguments("direction must not be the zero vector")
        ray = unit(ray)
    element = resolve(ctx.document, at)
    if element.kind in (None, "Edge"):
        raise BadReference(f"'{element.ref}': `at` must be a face ref (e.g. 'Plate.Face3') or a point")
    face_ref = None
    snapped = None
    if element.kind == "Face":
        obj, solid = element.obj, element.owner
        if not solid.Solids:
            raise NotApplicable(f"'{obj.Name}' has no solid, so no wall thickness")
        chord, origin = chord_at_face(solid, element.shape, ray)
        face_ref = element.ref
    else:  # a point, or a vertex of an object
        origin = element.shape.Point
        if element.kind == "Vertex":
            obj, solid = element.obj, element.owner
        elif object is not None:
            owner = resolve_object(ctx.document, object)
            obj, solid = owner.obj, owner.shape
        else:
            obj, solid = _object_at(ctx.document, origin)
        if not solid.Solids:
            raise NotApplicable(f"'{obj.Name}' has no solid, so no wall thickness")
        near, number, distance, face = _face_near(solid, origin)
        tol = tolerance_of(solid)
        if distance > tol and not solid.isInside(origin, tol, True):
            limit = SNAP_RELATIVE * solid.BoundBox.DiagonalLength
            if distance > limit:
                raise NotApplicable(f"the point is {distance:.4g} mm outside '{obj.Name}': give a point on or in the solid")
            origin, snapped = near, distance
        if ray is None:
            u, v = face.Surface.parameter(near)
            ray = -face.normalAt(u, v)
            face_ref = element_ref(obj, "Face", number)
        chord = chord_at(solid, origin, ray)
    if chord is None:
        raise NotApplicable(f"no material along that direction at {element.ref}: the ray only grazes or misses '{obj.Name}'")
    result = {
        "thickness": chord.thickness,
        "point_in": chord.point_in,
        "point_out": chord.point_out,
        "direction": chord.direction,
        "at": origin,
        "object": obj.Name,
        "tolerance": tolerance_of(solid),
    }
    if face_ref:
        result["face"] = face_ref
    if snapped is not None:
        result["snapped"] = snapped
    return result

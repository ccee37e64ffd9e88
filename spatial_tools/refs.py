"""Element references (tools.md): ``Plate``, ``Plate.Face7``, ``Body.Pad.Face2``, ``{"point": [...]}``.

Every tool resolves references here, so a bad reference gets the same clear
error everywhere and every shape comes back in global coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadReference

ELEMENT_RE = re.compile(r"^(Face|Edge|Vertex)([1-9][0-9]*)$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KIND_ATTR = {"Face": "Faces", "Edge": "Edges", "Vertex": "Vertexes"}


@dataclass
class Element:
    """A resolved reference: the object, the element, its shape in global mm."""

    ref: str  # canonical "Object.Face7" (or "point(x,y,z)")
    obj: Any  # FreeCAD document object, None for a point
    kind: str | None  # "Face" | "Edge" | "Vertex" | "Point" | None for a whole object
    index: int | None  # 1-based
    shape: Any  # Part.Shape in global coordinates
    owner: Any = None  # the whole object's shape in global coordinates (None for a point)

    @property
    def is_point(self) -> bool:
        return self.kind == "Point"


def element_ref(obj: Any, kind: str, index: int) -> str:
    return f"{obj.Name}.{kind}{index}"


def parent_placement(obj: Any):
    """Placement of the containers above ``obj`` (Body, App::Part, links)."""
    import FreeCAD

    # Asked of the container, not of obj: App::Link has no getGlobalPlacement in 0.20.
    group = obj.getParentGeoFeatureGroup() if hasattr(obj, "getParentGeoFeatureGroup") else None
    if group is None:
        return FreeCAD.Placement()
    return group.getGlobalPlacement()


def _has_part_shape(obj: Any) -> bool:
    """True when ``obj`` itself holds a Part shape property.

    Asked by property type: an App::Link answers ``obj.Shape`` with its target's
    shape (placed without the link's placement), and a FEM mesh's ``Shape`` is a
    link. Cheaper than scanning ``PropertiesList``, which this runs on every call.
    """
    try:
        return obj.getTypeIdOfProperty("Shape") == "Part::PropertyPartShape"
    except AttributeError:  # no such property
        return False


def global_shape(obj: Any) -> Any:
    """The object's shape placed where the user sees it in the 3D view.

    An object with a Shape property gets a new wrapper of that shape: it shares
    the TShape and its location, so nothing is copied, moving the wrapper leaves
    obj.Shape alone (immutable for PartDesign features), and cache entries keyed
    by TShape still match. ``Part.getShape(transform=True)`` would give every
    element an identity location that makes distToShape 3-8 % slower. Links,
    App::Part, origin axes and planes (no Shape property) and objects whose
    Shape is not a Part shape (FEM meshes link theirs) go through Part.getShape.
    """
    import Part

    stored = obj.Shape if _has_part_shape(obj) else None
    if stored is not None and not stored.isNull():
        shape = Part.Shape(stored)
    else:
        try:
            shape = Part.getShape(obj, "", needSubElement=False, transform=True)
        except Exception as exc:  # Part raises its own error types
            raise BadReference(f"object '{obj.Name}' has no usable shape: {exc}") from exc
    if shape is None or shape.isNull():
        raise BadReference(f"object '{obj.Name}' ({obj.TypeId}) has no shape")
    outer = parent_placement(obj)
    if not outer.isIdentity():
        shape.Placement = outer.multiply(shape.Placement)
    return shape


def get_object(document: Any, name: str) -> Any:
    obj = document.getObject(name) if isinstance(name, str) and NAME_RE.match(name) else None
    if obj is None:
        # Labels may hold spaces or accents, so look for one before judging the name's form.
        labelled = [o.Name for o in document.Objects if o.Label == name] if isinstance(name, str) else []
        hint = f" (an object is labelled '{name}': use its Name '{labelled[0]}')" if labelled else ""
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise BadReference(f"'{name}' is not an object name (names are like Plate, Body, Pad001){hint}")
        raise BadReference(f"no object named '{name}' in document '{document.Name}'{hint}")
    return obj


def _is_inside(parent: Any, child: Any) -> bool:
    if child in getattr(parent, "OutListRecursive", []):
        return True
    return child in getattr(parent, "Group", [])


def resolve(document: Any, ref: Any) -> Element:
    """Resolves one reference or raises BadReference naming what was wrong."""
    return _resolve(document, ref, global_shape)


def resolve_all(document: Any, refs: list[Any]) -> list[Element]:
    """Resolves the references of one call; elements of one object share its global shape.

    Two faces of one part are the common case for a two-reference tool; on a
    small part, fetching and placing its shape a second time is a visible share
    of what a call adds to the kernel's work (bench/tool_overhead.py).
    """
    shapes: dict[str, Any] = {}

    def shape_of(obj: Any) -> Any:
        if obj.Name not in shapes:
            shapes[obj.Name] = global_shape(obj)
        return shapes[obj.Name]

    return [_resolve(document, ref, shape_of) for ref in refs]


def _resolve(document: Any, ref: Any, shape_of: Callable[[Any], Any]) -> Element:
    if isinstance(ref, dict):
        return _point(ref)
    if not isinstance(ref, str) or not ref.strip():
        raise BadReference(f"a reference is a string like 'Plate.Face7' or a point, got {ref!r:.80}")
    names, kind, index = _parse(ref)
    if kind is None and len(names) > 1 and re.match(r"^(Face|Edge|Vertex)", names[-1], re.I) and document.getObject(names[-1]) is None:
        raise BadReference(f"'{names[-1]}' in '{ref}' is not an element name (Face1, Edge3, Vertex2: 1-based)")
    if not names:
        raise BadReference(f"'{ref}' names no object")
    objects = [get_object(document, name) for name in names]
    for parent, child in zip(objects, objects[1:], strict=False):
        if not _is_inside(parent, child):
            raise BadReference(f"'{child.Name}' is not inside '{parent.Name}' in '{ref}'")
    obj = objects[-1]
    shape = shape_of(obj)
    if kind is None:
        return Element(ref=obj.Name, obj=obj, kind=None, index=None, shape=shape, owner=shape)
    element = f"{kind}{index}"
    try:
        sub = shape.getElement(element)
    except Exception:  # Part.OCCError "Index out of bound": count only when it is needed
        count = shape.countElement(kind)
        raise BadReference(f"'{ref}': {obj.Name} has {count} {KIND_ATTR[kind].lower()}, no {element}") from None
    return Element(ref=element_ref(obj, kind, index), obj=obj, kind=kind, index=index, shape=sub, owner=shape)


def _parse(ref: str) -> tuple[list[str], str | None, int | None]:
    """(object names, element kind, 1-based index) of a string reference."""
    tokens = ref.strip().split(".")
    match = ELEMENT_RE.match(tokens[-1])
    if match:
        return tokens[:-1], match.group(1), int(match.group(2))
    return tokens, None, None


def _point(ref: dict) -> Element:
    import FreeCAD
    import Part

    point = ref.get("point")
    if (
        set(ref) != {"point"}
        or not isinstance(point, (list, tuple))
        or len(point) != 3
        or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
    ):
        raise BadReference(f'a point reference is {{"point": [x, y, z]}} in mm, got {ref!r:.80}')
    vector = FreeCAD.Vector(*map(float, point))
    return Element(
        ref="point({:g}, {:g}, {:g})".format(*point), obj=None, kind="Point", index=None, shape=Part.Vertex(vector)
    )


def resolve_object(document: Any, name: Any) -> Element:
    """Resolves a reference that must name a whole object."""
    element = resolve(document, name)
    if element.kind is not None:
        raise BadReference(f"'{name}' must name a whole object, not a {element.kind.lower()}")
    return element

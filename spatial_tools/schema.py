"""JSON Schemas derived from tool signatures, and a validator for that subset.

The tool layer must run inside FreeCAD with no third-party packages, so the
validator covers exactly the schema forms ``schema_for`` produces.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin


@dataclass(frozen=True)
class Arg:
    """Annotated metadata of a tool argument: its description and extra schema."""

    description: str
    schema: dict | None = None  # replaces the derived schema when given
    minimum: float | None = None
    maximum: float | None = None


POINT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "point": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}
    },
    "required": ["point"],
    "additionalProperties": False,
}

REF_SCHEMA: dict = {
    "anyOf": [
        {"type": "string", "description": "Object name, or Object.FaceN / Object.EdgeN / Object.VertexN, or Container.Object.FaceN"},
        POINT_SCHEMA,
    ]
}

VEC3_SCHEMA: dict = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}


class Ref(str):
    """Marker type: an element reference (string) or a ``{"point": [x, y, z]}``."""


class Vec3(tuple):
    """Marker type: a 3-vector in mm or a direction."""


def schema_for(tp: Any) -> dict:
    if tp is Ref:
        return dict(REF_SCHEMA)
    if tp is Vec3:
        return dict(VEC3_SCHEMA)
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        schema = schema_for(base)
        for m in meta:
            if isinstance(m, Arg):
                if m.schema is not None:
                    schema = dict(m.schema)
                schema["description"] = m.description
                if m.minimum is not None:
                    schema["minimum"] = m.minimum
                if m.maximum is not None:
                    schema["maximum"] = m.maximum
        return schema
    if origin is Literal:
        values = list(get_args(tp))
        kind = {str: "string", int: "integer", float: "number", bool: "boolean"}[type(values[0])]
        return {"type": kind, "enum": values}
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return schema_for(members[0])
        return {"anyOf": [schema_for(m) for m in members]}
    if origin in (list, typing.List):  # noqa: UP006
        (item,) = get_args(tp) or (Any,)
        return {"type": "array", "items": schema_for(item)}
    if origin in (dict, typing.Dict):  # noqa: UP006
        return {"type": "object"}
    simple = {str: "string", float: "number", int: "integer", bool: "boolean", dict: "object", list: "array"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is Any:
        return {}
    raise TypeError(f"no JSON Schema for {tp!r}")


_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "null": (type(None),),
}


def validate(value: Any, schema: dict, path: str = "arguments") -> list[str]:
    """Returns readable problems; empty when ``value`` fits ``schema``."""
    problems: list[str] = []
    if "anyOf" in schema:
        options = []
        for option in schema["anyOf"]:  # stops at the first form that fits: no messages built for nothing
            found = validate(value, option, path)
            if not found:
                return problems
            options.append(found)
        problems.append(f"{path}: does not match any allowed form ({'; '.join(o[0] for o in options)})")
        return problems
    kind = schema.get("type")
    if kind:
        ok = isinstance(value, _TYPES[kind]) and not (kind in ("number", "integer") and isinstance(value, bool))
        if ok and kind == "number" and isinstance(value, float) and value != value:
            ok = False
        if not ok:
            return [f"{path}: expected {kind}, got {type(value).__name__} {value!r:.60}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    if kind == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{path}: needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{path}: takes at most {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                problems += validate(item, schema["items"], f"{path}[{i}]")
    if kind == "object":
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}: missing required '{name}'")
        if schema.get("additionalProperties") is False:
            for name in value:
                if name not in props:
                    problems.append(f"{path}: unknown field '{name}' (allowed: {', '.join(props) or 'none'})")
        for name, sub in props.items():
            if name in value:
                problems += validate(value[name], sub, f"{path}.{name}")
    return problems

"""FreeCAD property values as canonical JSON values: numbers, quantities, links, placements.

Canonical means the same document gives the same bytes: every number is rounded
to a fixed number of significant digits, quantities are written in FreeCAD's
internal units (never the user's unit schema, which differs between machines),
links are object names, and nothing that prints a memory address gets through.
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

CONFIG_FILE = RESOURCES / "encoder.toml"

# Internal base units of FreeCAD, in the order of Base.Unit.Signature.
_BASE_UNITS = ("mm", "kg", "s", "A", "K", "mol", "cd", "deg")
# Shorter names for derived units whose composed form reads badly.
_NAMED_UNITS = {
    (1, 1, -2, 0, 0, 0, 0, 0): "mN",  # kg*mm/s^2
    (-1, 1, -2, 0, 0, 0, 0, 0): "kPa",  # kg/(mm*s^2)
    (2, 1, -2, 0, 0, 0, 0, 0): "mJ",  # kg*mm^2/s^2 (also torque, N*mm... in mJ)
    (2, 1, -3, 0, 0, 0, 0, 0): "mW",
}

LINK_SUB_TYPES = {"App::PropertyLinkSub", "App::PropertyXLinkSub", "App::PropertyLinkSubChild"}
LINK_SUB_LIST_TYPES = {"App::PropertyLinkSubList", "App::PropertyXLinkSubList", "App::PropertyLinkSubListChild"}


@cache
def config() -> dict:
    """The encoder's data file (resources/encoder.toml), loaded once."""
    with open(CONFIG_FILE, "rb") as fh:
        data = tomllib.load(fh)
    data["skip"]["names"] = frozenset(data["skip"]["names"])
    data["skip"]["types"] = frozenset(data["skip"]["types"])
    return data


def number(value: float) -> int | float | None:
    """A float rounded to the configured significant digits; integral values become ints."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    value = float(value)
    if not math.isfinite(value):
        return None
    if abs(value) < 1e-9:  # kernel noise around zero (1e-15) must not print as 1e-15
        return 0
    digits = config()["limits"]["significant_digits"]
    rounded = float(f"{value:.{digits}g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return int(rounded)
    return rounded


def vector(v: Any) -> list:
    return [number(v.x), number(v.y), number(v.z)]


def unit_symbol(unit: Any) -> str:
    """The internal unit of a Base.Unit as text: ``mm``, ``mm^2``, ``deg``, ``kg/mm^3``."""
    signature = tuple(unit.Signature)
    if signature in _NAMED_UNITS:
        return _NAMED_UNITS[signature]
    up = [b if e == 1 else f"{b}^{e}" for b, e in zip(_BASE_UNITS, signature, strict=False) if e > 0]
    down = [b if e == -1 else f"{b}^{-e}" for b, e in zip(_BASE_UNITS, signature, strict=False) if e < 0]
    text = "*".join(up) or ("1" if down else "")
    if down:
        text += "/" + "/".join(down)
    return text


# The units the encoding's header declares: a quantity in one of them is a plain number, like
# every coordinate, radius and volume beside it; any other unit stays with its value ("5 kPa").
UNITS = {"length": "mm", "angle": "deg", "area": "mm^2", "volume": "mm^3"}
_HEADER_SYMBOLS = frozenset(UNITS.values())


def quantity(q: Any) -> str | int | float | None:
    """A length or angle as a plain number (the header's units); ``5 kPa`` for another unit."""
    value = number(q.Value)
    symbol = unit_symbol(q.Unit)
    if not symbol or value is None or symbol in _HEADER_SYMBOLS:
        return value
    return f"{value} {symbol}"


def placement(p: Any) -> dict | None:
    """Position and rotation (axis, angle in degrees); None for the identity."""
    result: dict = {}
    position = vector(p.Base)
    if any(position):
        result["position"] = position
    angle = number(math.degrees(p.Rotation.Angle))
    if angle:
        result["axis"] = vector(p.Rotation.Axis)
        result["angle"] = angle
    return result or None


def ref(obj: Any, sub: str = "") -> str:
    name = obj.Name if hasattr(obj, "Name") else str(obj)
    return f"{name}.{sub}" if sub else name


def _subs(sub: Any) -> list[str]:
    if sub is None:
        return []
    if isinstance(sub, str):
        return [sub] if sub else []
    return [s for s in sub if s]


def link_sub(value: Any) -> str | list | None:
    """``(Pad, ["Edge1", "Edge3"])`` -> ``["Pad.Edge1", "Pad.Edge3"]``; a bare object -> its name."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[0], (tuple, list)):
        obj, sub = value
        subs = _subs(sub)
        return [ref(obj, s) for s in subs] if subs else ref(obj)
    if hasattr(value, "Name"):
        return value.Name
    return None


def link_sub_list(value: Any) -> list:
    """A LinkSubList as a flat list of refs, in FreeCAD's order."""
    refs: list[str] = []
    for item in value or []:
        if isinstance(item, tuple) and len(item) == 2:
            obj, sub = item
            subs = _subs(sub)
            refs += [ref(obj, s) for s in subs] if subs else [ref(obj)]
        elif hasattr(item, "Name"):
            refs.append(item.Name)
    return refs


def capped(items: list) -> list | dict:
    limits = config()["limits"]
    if len(items) > limits["list_items"]:
        return {"count": len(items), "first": items[: limits["list_head"]]}
    return items


def value(v: Any, type_id: str = "") -> Any:
    """Any property value as JSON, or None when it has no faithful JSON form (skipped)."""
    if type_id in LINK_SUB_TYPES:
        return link_sub(v)
    if type_id in LINK_SUB_LIST_TYPES:
        return capped(link_sub_list(v))
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, str):
        limit = config()["limits"]["string_chars"]
        return v if len(v) <= limit else v[:limit] + "..."
    kind = type(v).__name__
    if kind == "Quantity":
        return quantity(v)
    if kind == "Vector":
        return vector(v)
    if kind == "Placement":
        return placement(v) or {}
    if kind == "Rotation":
        angle = number(math.degrees(v.Angle))
        return {"axis": vector(v.Axis), "angle": angle} if angle else {}
    if hasattr(v, "TypeId") and hasattr(v, "Name") and hasattr(v, "Document"):
        return v.Name  # a document object
    if isinstance(v, (list, tuple)):
        items = [value(item) for item in v]
        if any(item is None for item in items) and any(item is not None for item in v):
            return None  # something in it has no JSON form: skip rather than misreport
        return capped(items)
    if isinstance(v, dict):
        items = {str(k): value(item) for k, item in sorted(v.items(), key=lambda kv: str(kv[0]))}
        return items if all(item is not None for item in items.values()) else None
    return None

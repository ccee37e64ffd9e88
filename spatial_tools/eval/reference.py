"""The reference agent: answers each item through the registry's tools, with a scripted tool choice
per question template. It proves every answer key is reachable from the tools (the ceiling); it
never reads the item's answer, only what the question names (``item.params``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .items import Item

Call = Callable[[str, dict], dict]  # (tool, arguments) -> result; raises ReferenceFailed on an error envelope


class ReferenceFailed(Exception):
    """A tool call of the script failed, or the script found no answer in the results."""


def _features(call: Call, kind: str) -> list[dict]:
    return call("find_features", {"object": "Part", "kind": kind})["features"]


def _holes(call: Call, through: bool | None = None) -> list[dict]:
    return [h for h in _features(call, "hole") if through is None or h["through"] == through]


def _one(values: list[Any], what: str) -> Any:
    distinct = sorted({round(v, 6) for v in values})
    if len(distinct) != 1:
        raise ReferenceFailed(f"{what}: expected one value, found {distinct}")
    return distinct[0]


def _by_diameter(call: Call, d: float) -> list[dict]:
    return [h for h in _holes(call) if abs(h["diameter"] - d) < 1e-6]


def _pocket(call: Call) -> dict:
    pockets = [p for p in _features(call, "pocket") if p.get("profile") == "rectangular"]
    if len(pockets) != 1:
        raise ReferenceFailed(f"{len(pockets)} rectangular pockets")
    return pockets[0]


def _slot(call: Call) -> dict:
    slots = _features(call, "slot")
    if len(slots) != 1:
        raise ReferenceFailed(f"{len(slots)} slots")
    return slots[0]


def _bevel_angle(call: Call) -> float:
    chamfers = [c for c in _features(call, "chamfer") if abs(c["legs"][0] - c["legs"][1]) > 1e-6]
    if len(chamfers) != 1:
        raise ReferenceFailed(f"{len(chamfers)} unequal-leg chamfers")
    chamfer = chamfers[0]
    for other in chamfer["between"]:
        result = call("measure_angle", {"a": chamfer["faces"][0], "b": other})
        if result["b"]["direction"][2] < -0.999:  # the bottom face's outward normal
            return result["acute_deg"]
    raise ReferenceFailed("the bevel does not meet the bottom face")


def _pocket_side_wall(call: Call) -> float:
    for wall in _pocket(call)["walls"]:
        result = call("measure_thickness", {"at": wall})
        if result["direction"][0] > 0.999:
            return result["thickness"]
    raise ReferenceFailed("no pocket wall faces +X")


def _hole_to_side(call: Call, d: float) -> float:
    holes = _by_diameter(call, d)
    if len(holes) != 1:
        raise ReferenceFailed(f"{len(holes)} holes of {d} mm")
    return holes[0]["position"][1] - call("mass_properties", {"object": "Part"})["bbox"]["min"][1]


def _axis_distance(call: Call, d1: float, d2: float) -> float:
    a, b = _by_diameter(call, d1), _by_diameter(call, d2)
    if len(a) != 1 or len(b) != 1:
        raise ReferenceFailed(f"{len(a)} holes of {d1} mm, {len(b)} of {d2} mm")
    face_a, face_b = a[0]["segments"][0]["faces"][0], b[0]["segments"][0]["faces"][0]
    return call("measure_distance", {"a": face_a, "b": face_b})["axis_distance"]


def _stack_up(call: Call, p: dict, method: str, end: str) -> float:
    chain = {"datum": p["datum"], "target": p["target"], "via": p["via"]}
    return call("stack_up", {"chain": chain, "methods": []})[method][end]


def _names(p: dict) -> list[str]:
    return [n.strip() for n in p["names"].split(",")]


def _touching(call: Call, p: dict) -> str:
    found = [n for n in _names(p) if n != p["a"] and call("check_interference", {"a": p["a"], "b": n})["touching"]]
    return ", ".join(found) or "none"


def _bbox(call: Call, name: str) -> dict:
    return call("mass_properties", {"object": name})["bbox"]


def _vertical(call: Call, p: dict) -> str:
    a, b = _bbox(call, p["a"]), _bbox(call, p["b"])
    if b["min"][2] >= a["max"][2] - 1e-9:
        return "above"
    return "below" if b["max"][2] <= a["min"][2] + 1e-9 else "overlapping"


def _within_x(call: Call, p: dict) -> str:
    a, b = _bbox(call, p["a"]), _bbox(call, p["b"])
    return "yes" if b["min"][0] >= a["min"][0] - 1e-9 and b["max"][0] <= a["max"][0] + 1e-9 else "no"


def _dfm(call: Call, p: dict) -> str:
    findings = call("run_dfm", {"process": "cnc-3axis"})["findings"]
    if len({f["rule"] for f in findings}) != 1:
        raise ReferenceFailed(f"{len(findings)} findings of rules {sorted({f['rule'] for f in findings})}")
    refs = sorted({f"{f['object']}.{e}" for f in findings for e in f["elements"]})
    return f"{findings[0]['rule']} at {', '.join(refs)}"


SCRIPTS: dict[str, Callable[[Call, dict], Any]] = {
    # primitives
    "count_through_holes": lambda call, p: len(_holes(call, True)),
    "count_blind_holes": lambda call, p: len(_holes(call, False)),
    "count_holes": lambda call, p: len(_holes(call)),
    "through_hole_diameter": lambda call, p: _one([h["diameter"] for h in _holes(call, True)], "diameter"),
    "blind_hole_diameter": lambda call, p: _one([h["diameter"] for h in _holes(call, False)], "diameter"),
    "blind_hole_depth": lambda call, p: _one([h["depth"] for h in _holes(call, False)], "depth"),
    "hole_is_through": lambda call, p: "yes" if _one([h["through"] for h in _by_diameter(call, p["d"])], "through") else "no",
    "count_pockets": lambda call, p: len([k for k in _features(call, "pocket") if k.get("profile") == "rectangular"]),
    "pocket_depth": lambda call, p: _one([k["depth"] for k in _features(call, "pocket")], "depth"),
    "slot_width": lambda call, p: _slot(call)["width"],
    "slot_length": lambda call, p: _slot(call)["length"],
    "corner_fillet_radius": lambda call, p: _one([f["radius"] for f in _features(call, "fillet") if not f["concave"]], "radius"),
    "edge_chamfer_size": lambda call, p: _one([c["size"] for c in _features(call, "chamfer")], "size"),
    # measure
    "volume": lambda call, p: call("mass_properties", {"object": "Part"})["volume"],
    "extent": lambda call, p: call("mass_properties", {"object": "Part"})["bbox"]["size"]["XYZ".index(p["axis"])],
    "hole_axis_distance": lambda call, p: _axis_distance(call, p["d1"], p["d2"]),
    "hole_to_side": lambda call, p: _hole_to_side(call, p["d"]),
    "pocket_side_wall": lambda call, p: _pocket_side_wall(call),
    "pocket_floor": lambda call, p: call("measure_thickness", {"at": _pocket(call)["floor"][0]})["thickness"],
    "bevel_angle": lambda call, p: _bevel_angle(call),
    # relations
    "touching": _touching,
    "clearance": lambda call, p: call("check_interference", {"a": p["a"], "b": p["b"]})["min_clearance"],
    "interferes": lambda call, p: "yes" if call("check_interference", {"a": p["a"], "b": p["b"]})["interferes"] else "no",
    "interference_volume": lambda call, p: call("check_interference", {"a": p["a"], "b": p["b"]})["volume"],
    "vertical": _vertical,
    "within_x": _within_x,
    # dfm
    "which_rule": _dfm,
    # tolerance-chains: the chain the question names, tolerances from the document's general class
    "worst_min": lambda call, p: _stack_up(call, p, "worst_case", "min"),
    "worst_max": lambda call, p: _stack_up(call, p, "worst_case", "max"),
    "rss_min": lambda call, p: _stack_up(call, p, "rss", "min"),
    "rss_max": lambda call, p: _stack_up(call, p, "rss", "max"),
}


def answer(item: Item, call: Call) -> str:
    """The reference's answer text for ``item`` ("ANSWER: value"), from tool calls only."""
    script = SCRIPTS.get(item.template)
    if script is None:
        raise ReferenceFailed(f"no reference script for template '{item.template}'")
    value = script(call, item.params)
    if isinstance(value, float):
        value = f"{value:.9g}"
    return f"ANSWER: {value}" + (f" {item.unit}" if item.unit and item.type == "number" else "")

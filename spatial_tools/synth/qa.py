"""Question/answer items whose answers are tool results on the sample's document.

Every item names the tool, its arguments and the path of the answer in the result, so anyone can
re-derive it by calling the same tool on the sample's STEP (tests/test_synth.py does, for every item).
GD&T items name the pseudo-tool ``pmi``: the callout <-> faces pairs read from the GD&T annotation
objects of the sample's saved document (``part.FCStd``), as a part that carries PMI holds them.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from ..context import ToolContext
from ..gdt.validation.model import read_gdt
from ..registry import load_builtin_tools

CONFIG_FILE = RESOURCES / "synth" / "synth.toml"
AXES = ("X", "Y", "Z")
PMI = "pmi"  # not a registered tool: the GD&T annotation objects of the document (see pmi_pairs)


@cache
def config() -> dict:
    with open(CONFIG_FILE, "rb") as fh:
        return tomllib.load(fh)


class ToolFailed(RuntimeError):
    """A tool the answers come from failed on a sample: the sample is not written."""


def pmi_pairs(document: Any) -> dict:
    """The callout <-> faces pairs the document's GD&T annotation objects hold (its PMI model)."""
    gdt = read_gdt(document)
    return {"datums": [{"name": d.name, "letter": d.letter, "faces": d.faces.refs} for d in gdt.datums],
            "frames": [{"name": f.name, "label": f.label, "characteristic": f.characteristic,
                        "datums": list(f.datums), "faces": f.faces.refs} for f in gdt.frames]}


def call(document: Any, tool: str, arguments: dict) -> dict:
    if tool == PMI:
        return pmi_pairs(document)
    envelope = load_builtin_tools().call(tool, arguments, ToolContext(document=document))
    if not envelope["ok"]:
        raise ToolFailed(f"{tool}({json.dumps(arguments)}): {envelope['error']['message']}")
    return envelope["result"]


def extract(result: Any, path: str) -> Any:
    """The value at ``path`` ("bbox.size.0", "features.#" for a length, "suggestions.id=datum_A.refs")."""
    value = result
    for step in path.split(".") if path else []:
        if step == "#":
            value = len(value)
        elif "=" in step:
            key, _, wanted = step.partition("=")
            value = next(v for v in value if str(v.get(key)) == wanted)
        elif isinstance(value, list):
            value = value[int(step)]
        else:
            value = value[step]
    return value


@dataclass
class Item:
    kind: str
    question: str
    tool: str
    arguments: dict
    path: str
    value: Any
    tolerance: float

    def answer(self) -> str:
        return answer_text(self.kind, self.value)

    def to_dict(self, index: int) -> dict:
        """A row every item shares (one schema for the datasets loader): value and arguments as JSON text."""
        return {"id": f"q{index}", "kind": self.kind, "question": self.question, "answer": self.answer(),
                "value_json": json.dumps(self.value), "tolerance": self.tolerance, "tool": self.tool,
                "arguments_json": json.dumps(self.arguments, sort_keys=True), "path": self.path}


def _number(value: float) -> str:
    text = f"{value:.{config()['answers']['decimals']}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def answer_text(kind: str, value: Any) -> str:
    if kind in ("hole_count",):
        return f"{value}"
    if kind == "volume":
        return f"{_number(value)} mm³"
    if kind in ("datum_a",):
        return f"{value[0]}"
    if kind == "frame_faces":
        return ", ".join(value)
    if kind == "stack_worst_case":
        return f"{_number(value['min'])} mm to {_number(value['max'])} mm"
    if kind == "stack_rss":
        return f"±{_number(value)} mm"
    return f"{_number(value)} mm"


def _q(kind: str, **fields: Any) -> str:
    return config()["questions"][kind].format(**fields)


def _item(document: Any, kind: str, question: str, tool: str, arguments: dict, path: str,
          results: dict[str, dict], tolerance: float | None = None) -> Item:
    key = tool + json.dumps(arguments, sort_keys=True)
    if key not in results:
        results[key] = call(document, tool, arguments)
    tol = config()["answers"]["tolerance"] if tolerance is None else tolerance
    return Item(kind, question, tool, arguments, path, extract(results[key], path), tol)


def part_items(document: Any, obj: str) -> list[Item]:
    """Sizes, volume, holes (count, diameter, spacing), datum A and a frame's faces of one part."""
    results: dict[str, dict] = {}
    items = [_item(document, "size", _q("size", axis=AXES[i]), "mass_properties", {"object": obj},
                   f"bbox.size.{i}", results) for i in range(3)]
    volume = _item(document, "volume", _q("volume"), "mass_properties", {"object": obj}, "volume", results)
    volume.tolerance = max(volume.tolerance, abs(volume.value) * 1e-9)
    items.append(volume)
    holes = call(document, "find_features", {"object": obj, "kind": "hole"})["features"]
    results["find_features" + json.dumps({"kind": "hole", "object": obj}, sort_keys=True)] = {"features": holes}
    items.append(_item(document, "hole_count", _q("hole_count"), "find_features", {"object": obj, "kind": "hole"},
                       "features.#", results, 0.0))
    if holes:
        first = holes[0]
        items.append(_item(document, "hole_diameter", _q("hole_diameter", hole=first["id"], face=first["faces"][0]),
                           "find_features", {"object": obj, "kind": "hole"}, f"features.id={first['id']}.diameter",
                           results))
    if len(holes) >= 2:
        a, b = holes[0]["faces"][0], holes[1]["faces"][0]
        items.append(_item(document, "hole_spacing", _q("hole_spacing", a=a, b=b), "measure_distance",
                           {"a": a, "b": b}, "axis_distance", results))
    items.extend(gdt_items(document, obj, results))
    return items


def gdt_items(document: Any, obj: str, results: dict[str, dict]) -> list[Item]:
    """Puts suggest_gdt's scheme into the document as annotation objects (the part's PMI), then asks
    about the callout <-> faces pairs those objects hold."""
    call(document, "suggest_gdt", {"object": obj, "accept": ["all"]})
    pairs = call(document, PMI, {})
    items = []
    if any(d["letter"] == "A" for d in pairs["datums"]):
        items.append(_item(document, "datum_a", _q("datum_a"), PMI, {}, "datums.letter=A.faces", results, 0.0))
    frames = [f for f in pairs["frames"] if f["characteristic"] == "position"]
    if frames:
        frame = frames[0]
        items.append(_item(document, "frame_faces", _q("frame_faces", frame=f"{frame['label']} ({frame['name']})"),
                           PMI, {}, f"frames.name={frame['name']}.faces", results, 0.0))
    return items


def _top_face(document: Any, obj: str) -> tuple[str, str]:
    """(bottom, top) planar faces of a plate, normals along -Z/+Z, found by geometry."""
    shape = document.getObject(obj).Shape
    planar = [(i, f) for i, f in enumerate(shape.Faces, start=1) if f.Surface.__class__.__name__ == "Plane"]
    flat = [(i, f) for i, f in planar if abs(abs(f.normalAt(0, 0).z) - 1) < 1e-9]
    bottom = min(flat, key=lambda p: p[1].CenterOfMass.z)[0]
    top = max(flat, key=lambda p: p[1].CenterOfMass.z)[0]
    return f"{obj}.Face{bottom}", f"{obj}.Face{top}"


def assembly_items(document: Any, objects: list[str]) -> list[Item]:
    """The stack's height: nominal, worst case and RSS from stack_up on the chain measured in the model."""
    order = sorted(objects, key=lambda o: document.getObject(o).Shape.BoundBox.ZMin)
    faces = [f for o in order for f in _top_face(document, o)]  # bottom, top of each plate, upwards
    klass = config()["answers"]["general_class"]
    args = {"chain": {"datum": faces[0], "via": faces[1:-1], "target": faces[-1], "direction": [0, 0, 1]},
            "general_class": klass, "methods": ["modified_rss"]}
    results: dict[str, dict] = {}
    items = [
        _item(document, "stack_nominal", _q("stack_nominal"), "stack_up", args, "nominal", results),
        _item(document, "stack_worst_case", _q("stack_worst_case", klass=klass), "stack_up", args, "worst_case",
              results),
        _item(document, "stack_rss", _q("stack_rss", klass=klass), "stack_up", args, "rss.tolerance", results),
    ]
    worst = items[1]
    worst.value = {"min": worst.value["min"], "max": worst.value["max"]}
    worst.path = "worst_case"
    for o in order:
        items.append(_item(document, "size", _q("size", axis="Z") + f" ({o})", "mass_properties", {"object": o},
                           "bbox.size.2", results))
    return items


def same(value: Any, expected: Any, tolerance: float) -> bool:
    """Numbers within ``tolerance``, everything else equal (dicts and lists member by member)."""
    if isinstance(expected, dict):
        return isinstance(value, dict) and all(same(value.get(k), v, tolerance) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(value, list) and len(value) == len(expected) and all(
            same(a, b, tolerance) for a, b in zip(value, expected, strict=True))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(value, (int, float)) and math.isclose(value, expected, rel_tol=0, abs_tol=tolerance)
    return value == expected

"""Seeded generators of the shipped suites. Each item's part is built by FreeCAD from its own source
script and every answer is read back from that solid by the kernel (parts.py), never typed."""

from __future__ import annotations

import math
import random
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from .items import Item
from .parts import (
    corner_fillet_radius,
    depression_depth,
    floor_at,
    hole_facts,
    plane_faces,
    plate_params,
    slot_facts,
    top_chamfer_size,
)
from .sources import (
    assembly_script,
    housing_script,
    plate_script,
    run_freecad_script,
    run_freecad_source,
)

EVAL = RESOURCES / "eval"


@cache
def templates() -> dict:
    with open(EVAL / "templates.toml", "rb") as f:
        return tomllib.load(f)


@cache
def suites() -> dict:
    with open(EVAL / "suites.toml", "rb") as f:
        return tomllib.load(f)


def _item(suite: str, index: int, template: str, params: dict, answer: Any, script: str, tags: list[str]) -> Item:
    t = templates()[suite][template]
    return Item(id=f"{suite}-{index:04d}", suite=suite, source={"freecad": script},
                question=t["question"].format(**params), answer=answer, type=t["type"],
                tolerance=dict(t.get("tolerance", {})), unit=t.get("unit", ""), tags=tags,
                template=template, params=params)


# --- primitives ---------------------------------------------------------------------------------


def _primitive_questions(p: dict, shape: Any) -> dict[str, tuple[dict, Any]]:
    """template -> (params, kernel answer) for every question this plate can answer."""
    holes = [hole_facts(shape, h) for h in p["holes"]]
    through = [h for h in holes if h["through"]]
    blind = [h for h in holes if not h["through"]]
    out: dict[str, tuple[dict, Any]] = {
        "count_through_holes": ({}, len(through)),
        "count_blind_holes": ({}, len(blind)),
        "count_holes": ({}, len(holes)),
        "count_pockets": ({}, len(p["pockets"])),
    }
    if through:
        out["through_hole_diameter"] = ({}, through[0]["d"])
        out["hole_is_through"] = ({"d": round(through[0]["d"], 6)}, True)
    if blind:
        out["blind_hole_diameter"] = ({}, blind[0]["d"])
        out["blind_hole_depth"] = ({}, blind[0]["depth"])
        if not through or len(holes) % 2:
            out["hole_is_through"] = ({"d": round(blind[0]["d"], 6)}, False)
    if p["pockets"]:
        k = p["pockets"][0]
        out["pocket_depth"] = ({}, depression_depth(shape, k["x"], k["y"]))
    if p["slots"]:
        facts = slot_facts(shape, p["slots"][0])
        out["slot_width"] = ({}, facts["w"])
        out["slot_length"] = ({}, facts["l"])
    corner = p.get("corner")
    if corner and corner["kind"] == "fillet":
        out["corner_fillet_radius"] = ({}, corner_fillet_radius(shape))
    elif corner and corner["kind"] == "chamfer":
        out["edge_chamfer_size"] = ({}, top_chamfer_size(shape))
    return out


def _choose(rng: random.Random, index: int, available: dict, order: list[str]) -> str:
    """Templates in turn (so every template is well represented); one the part cannot ask is replaced
    by a random one it can."""
    name = order[index % len(order)]
    return name if name in available else rng.choice(sorted(available))


def primitives_item(index: int, seed: int) -> Item:
    rng = random.Random(f"primitives:{seed}:{index}")
    p = plate_params(rng)
    script = plate_script(p)
    shape = run_freecad_script(script)
    available = _primitive_questions(p, shape)
    template = _choose(rng, index, available, list(templates()["primitives"]))
    params, answer = available[template]
    tags = [name for name, present in (("hole", p["holes"]), ("pocket", p["pockets"]), ("slot", p["slots"]))
            if present] + ([p["corner"]["kind"]] if p.get("corner") else [])
    return _item("primitives", index, template, params, _plain(answer), script, tags)


# --- measure ------------------------------------------------------------------------------------


def _measure_questions(p: dict, shape: Any) -> dict[str, tuple[dict, Any]]:
    box = shape.BoundBox
    out: dict[str, tuple[dict, Any]] = {"volume": ({}, shape.Volume)}
    axis = ("X", "Y", "Z")[len(p["holes"]) % 3]
    out["extent"] = ({"axis": axis}, {"X": box.XLength, "Y": box.YLength, "Z": box.ZLength}[axis])
    by_d: dict[float, dict] = {}
    for h in p["holes"]:
        facts = hole_facts(shape, h)
        by_d.setdefault(round(facts["d"], 6), facts)
    if len(by_d) == 2 and len(p["holes"]) == 2:
        (d1, f1), (d2, f2) = sorted(by_d.items())
        c1, c2 = f1["face"].Surface.Center, f2["face"].Surface.Center
        out["hole_axis_distance"] = ({"d1": d1, "d2": d2}, math.hypot(c1.x - c2.x, c1.y - c2.y))
    unique = [d for d in by_d if sum(1 for h in p["holes"] if round(h["d"], 6) == d) == 1]
    if unique:
        d = unique[0]
        out["hole_to_side"] = ({"d": d}, by_d[d]["face"].Surface.Center.y - min(f.BoundBox.YMin for f in plane_faces(shape, (0, -1, 0))))
    if len(p["pockets"]) == 1:
        k = p["pockets"][0]
        row = [f for f in p["holes"] + p["slots"] if abs(f["y"] - k["y"]) < 1e-6 and f["x"] > k["x"]]
        floor = floor_at(shape, k["x"], k["y"])
        walls = [f for f in plane_faces(shape, (-1, 0, 0)) if f.BoundBox.ZMax <= box.ZMax + 1e-6
                 and f.BoundBox.YMin >= floor.BoundBox.YMin - 1e-6 and f.BoundBox.YMax <= floor.BoundBox.YMax + 1e-6
                 and abs(f.BoundBox.ZMin - floor.BoundBox.ZMin) < 1e-6]
        side = max(plane_faces(shape, (1, 0, 0)), key=lambda f: f.BoundBox.XMax)
        if len(walls) == 1 and not row:  # nothing between the pocket and the +X side
            out["pocket_side_wall"] = ({}, walls[0].distToShape(side)[0])
        bottom = min(plane_faces(shape, (0, 0, -1)), key=lambda f: f.BoundBox.ZMin)
        out["pocket_floor"] = ({}, floor.distToShape(bottom)[0])
    if p.get("bevel"):
        bottom = min(plane_faces(shape, (0, 0, -1)), key=lambda f: f.BoundBox.ZMin)
        bevel = [f for f in shape.Faces if type(f.Surface).__name__ == "Plane" and f.BoundBox.XMax < p["W"] / 2
                 and f.BoundBox.ZLength > 1e-6 and f.BoundBox.XLength > 1e-6 and f.BoundBox.ZMin < 1e-6]
        if len(bevel) == 1:
            n1 = bevel[0].normalAt(*bevel[0].Surface.parameter(bevel[0].CenterOfMass))
            n2 = bottom.normalAt(*bottom.Surface.parameter(bottom.CenterOfMass))
            angle = math.degrees(n1.getAngle(n2))
            out["bevel_angle"] = ({}, min(angle, 180 - angle))
    return out


def measure_item(index: int, seed: int) -> Item:
    rng = random.Random(f"measure:{seed}:{index}")
    p = plate_params(rng, bevel=rng.random() < 0.4)
    if rng.random() < 0.7:  # often one hole of each diameter, so "the 5 mm hole" names one hole
        through = [h for h in p["holes"] if h["through"]][:1]
        blind = [h for h in p["holes"] if not h["through"]][:1]
        p["holes"] = through + blind
    script = plate_script(p)
    shape = run_freecad_script(script)
    available = _measure_questions(p, shape)
    template = _choose(rng, index, available, list(templates()["measure"]))
    params, answer = available[template]
    return _item("measure", index, template, params, _plain(answer), script, [template])


# --- relations ----------------------------------------------------------------------------------

_TOUCH = 1e-7  # mm: closer than this is touching


def _assembly_params(rng: random.Random) -> list[dict]:
    """A base plate and 2-3 parts each placed on, into, above or beside it (or beside another part)."""
    parts = [{"name": "Base", "kind": "box", "size": [60.0, 40.0, 10.0], "at": [0.0, 0.0, 0.0]}]
    for name in ["Block", "Pin", "Cap"][: rng.randint(2, 3)]:
        kind = "cylinder" if name == "Pin" else "box"
        w, d, h = float(rng.randint(6, 16)), float(rng.randint(6, 16)), float(rng.randint(5, 20))
        r = float(rng.randint(2, 5))
        x, y = float(rng.randint(2, 40)), float(rng.randint(2, 24))
        where = rng.choice(["on", "into", "above", "beside", "beside_gap"])
        z = {"on": 10.0, "into": 10.0 - rng.randint(1, 4), "above": 10.0 + rng.choice([0.5, 1, 2, 5, 12])}.get(where, 0.0)
        if where.startswith("beside"):
            x = 60.0 + (rng.choice([0.5, 1, 3, 8]) if where == "beside_gap" else 0.0)
        if kind == "cylinder":
            parts.append({"name": name, "kind": kind, "r": r, "h": h, "at": [x + r, y + r, z]})
        else:
            parts.append({"name": name, "kind": kind, "size": [w, d, h], "at": [x, y, z]})
    return parts


def _relation(shapes: dict, a: str, b: str) -> dict:
    sa, sb = shapes[a], shapes[b]
    volume = sa.common(sb).Volume
    distance = sa.distToShape(sb)[0]
    return {"volume": volume if volume > 1e-9 else 0.0, "distance": distance,
            "touching": volume <= 1e-9 and distance <= _TOUCH}


def relations_item(index: int, seed: int) -> Item:
    rng = random.Random(f"relations:{seed}:{index}")
    spec = _assembly_params(rng)
    script = assembly_script(spec)
    shapes, _ = run_freecad_source(script)
    names = list(shapes)
    a, b = ("Base", rng.choice(names[1:])) if rng.random() < 0.75 else rng.sample(names, 2)  # parts sit on Base
    rel = _relation(shapes, a, b)
    base = {"names": ", ".join(names), "a": a, "b": b}
    available: dict[str, tuple[dict, Any]] = {}
    touching = [n for n in names if n != a and _relation(shapes, a, n)["touching"]]
    available["touching"] = (base, touching or ["none"])
    if rel["volume"] == 0 and rel["distance"] > _TOUCH:
        available["clearance"] = (base, rel["distance"])
    available["interferes"] = (base, rel["volume"] > 0)
    available["interference_volume"] = (base, rel["volume"])
    ba, bb = shapes[a].BoundBox, shapes[b].BoundBox
    vertical = "above" if bb.ZMin >= ba.ZMax - 1e-9 else "below" if bb.ZMax <= ba.ZMin + 1e-9 else "overlapping"
    available["vertical"] = (base, vertical)
    available["within_x"] = (base, bb.XMin >= ba.XMin - 1e-9 and bb.XMax <= ba.XMax + 1e-9)
    template = _choose(rng, index, available, list(templates()["relations"]))
    params, answer = available[template]
    item = _item("relations", index, template, params, _plain(answer), script, [template])
    if template == "vertical":
        item = Item(**{**item.to_dict(), "choices": ["above", "below", "overlapping"]})
    return item


# --- dfm ----------------------------------------------------------------------------------------

DEFECTS = ("cnc.deep_hole", "cnc.flat_bottom_hole", "cnc.nonstandard_hole", "cnc.sharp_internal_corner")


def _dfm_params(rng: random.Random, rule: str) -> tuple[dict, tuple[float, ...]]:
    """A plate with two standard through holes and the defect of ``rule``; the region the defect's cut
    occupies (xmin, ymin, zmin, xmax, ymax, zmax)."""
    W, D, T = float(rng.randint(70, 110)), float(rng.randint(45, 70)), float(rng.randint(14, 20))
    p: dict = {"W": W, "D": D, "T": T, "pockets": [], "slots": [],
               "holes": [{"x": 12.0, "y": 10.0, "d": float(rng.choice([5, 6, 8])), "through": True},
                         {"x": W - 12.0, "y": 10.0, "d": float(rng.choice([5, 6, 8])), "through": True}]}
    x, y = float(rng.randint(30, int(W) - 30)), float(rng.randint(25, int(D) - 15))
    if rule == "cnc.deep_hole":
        d = float(rng.choice([2, 2.5, 3]))
        p["holes"].append({"x": x, "y": y, "d": d, "through": True})
        region = (x - d / 2, y - d / 2, 0.0, x + d / 2, y + d / 2, T)
    elif rule == "cnc.flat_bottom_hole":
        d, depth = float(rng.choice([6, 8, 10])), float(rng.randint(3, int(T) - 4))
        p["holes"].append({"x": x, "y": y, "d": d, "through": False, "depth": depth})
        region = (x - d / 2, y - d / 2, T - depth, x + d / 2, y + d / 2, T)
    elif rule == "cnc.nonstandard_hole":
        # off every drill, ISO 273 clearance and tap-drill size, metric and inch (dfm/hole_sizes.py)
        d = rng.choice([5.77, 6.37, 6.87, 9.27, 9.63])
        p["holes"].append({"x": x, "y": y, "d": d, "through": True})
        region = (x - d / 2, y - d / 2, 0.0, x + d / 2, y + d / 2, T)
    else:
        w, length, depth = float(rng.randint(12, 24)), float(rng.randint(8, 12)), float(rng.randint(2, 5))
        p["pockets"].append({"x": x, "y": y, "w": w, "l": length, "depth": depth})
        region = (x - w / 2, y - length / 2, T - depth, x + w / 2, y + length / 2, T)
    return p, region


def _within(box: Any, region: tuple[float, ...]) -> bool:
    e = 1e-6
    return (box.XMin >= region[0] - e and box.YMin >= region[1] - e and box.ZMin >= region[2] - e
            and box.XMax <= region[3] + e and box.YMax <= region[4] + e and box.ZMax <= region[5] + e)


def dfm_item(index: int, seed: int) -> Item:
    import FreeCAD

    from ..dfm.engine import check_document

    rule = DEFECTS[index % len(DEFECTS)]
    for attempt in range(5):
        rng = random.Random(f"dfm:{seed}:{index}:{attempt}")
        p, region = _dfm_params(rng, rule)
        script = plate_script(p)
        shape = run_freecad_script(script)
        location = sorted({f"Part.Face{i}" for i, f in enumerate(shape.Faces, 1) if _within(f.BoundBox, region)}
                          | {f"Part.Edge{i}" for i, e in enumerate(shape.Edges, 1) if _within(e.BoundBox, region)})
        doc = FreeCAD.newDocument("EvalDfm")
        try:
            obj = doc.addObject("Part::Feature", "Part")
            obj.Shape = shape
            doc.recompute()
            result = check_document(doc, "cnc-3axis")
        finally:
            FreeCAD.closeDocument(doc.Name)
        found = list(result.findings)
        rules = {f.rule for f in found}
        refs = {f"Part.{e}" for f in found for e in f.elements}
        if rules == {rule} and refs and refs <= set(location):
            params = {"rules": ", ".join(suites()["dfm"]["rules"])}
            return _item("dfm", index, "which_rule", params, {"rule": rule, "refs": location}, script, [rule])
    raise RuntimeError(f"dfm item {index}: no plate with only {rule} in 5 tries")


# --- tolerance-chains ---------------------------------------------------------------------------


def _face_index(shape: Any, x: float, normal_x: float) -> int:
    """1-based index of the planar face at ``x`` whose outward normal is ``normal_x`` along X."""
    for i, face in enumerate(shape.Faces, 1):
        if type(face.Surface).__name__ == "Plane" and face.BoundBox.XLength < 1e-9 and abs(face.BoundBox.XMin - x) < 1e-9:
            n = face.normalAt(*face.Surface.parameter(face.CenterOfMass))
            if n.x * normal_x > 0.999:
                return i
    raise LookupError(f"no face at x={x}")


FITS_SHAFT = ("h7", "h9", "h11", "f7", "g6", "js9", "k6")  # a block's length: an outer size
FITS_HOLE = ("H7", "H9", "H11", "JS9")  # the housing's inner width: an inner size


def tolerance_chain_item(index: int, seed: int) -> Item:
    from ..tolerances.iso286 import limits
    from ..tolerances.iso2768 import general_tolerance
    from ..tolerances.stackup import Contributor, stack_up

    rng = random.Random(f"tolerance-chains:{seed}:{index}")
    n = 1 + index % 7  # 2..8 links
    blocks = [float(rng.choice(range(4, 121)) if rng.random() < 0.8 else rng.choice(range(121, 400))) for _ in range(n)]
    p = {"w": 8.0, "depth": 30.0, "H": 40.0, "block_h": 20.0, "blocks": blocks,
         "S": sum(blocks) + rng.choice([0.5, 1.0, 1.5, 2.0, 3.0]), "class": rng.choice("fmcv")}
    shapes, _ = run_freecad_source(housing_script(p))
    housing = shapes["Housing"]
    left, right = _face_index(housing, p["w"], 1.0), _face_index(housing, p["w"] + p["S"], -1.0)
    fits: dict[str, str] = {}  # object -> ISO 286 class of its size along the chain (a size dimension)
    if rng.random() < 0.3 and p["S"] <= 500:  # the ISO 286 tables end at 500 mm
        fits["Housing"] = rng.choice(FITS_HOLE)
    for k in range(1, n + 1):
        if rng.random() < 0.35:
            fits[f"Block{k}"] = rng.choice(FITS_SHAFT)
    sizes = []
    for name, code in fits.items():
        refs = [f"Housing.Face{left}", f"Housing.Face{right}"] if name == "Housing" else [f"{name}.Face1", f"{name}.Face2"]
        nominal = p["S"] if name == "Housing" else blocks[int(name[5:]) - 1]
        sizes.append({"nominal": nominal, "refs": refs, "fit": code})
    p["sizes"] = sizes
    script = housing_script(p)
    parts, meta = run_freecad_source(script)
    designation = meta["GeneralTolerance"]

    def contributor(name: str, nominal: float, direction: float) -> Contributor:
        if name in fits:
            lim = limits(nominal, fits[name], "hole" if fits[name][0].isupper() else "shaft")
            return Contributor(name, nominal, lim.upper, -lim.lower, direction)
        tol = general_tolerance(nominal, designation).tolerance
        return Contributor(name, nominal, tol, tol, direction)

    span = parts["Housing"].Faces[right - 1].distToShape(parts["Housing"].Faces[left - 1])[0]
    contributors = [contributor("Housing", span, 1.0)]
    contributors += [contributor(f"Block{k}", parts[f"Block{k}"].BoundBox.XLength, -1.0) for k in range(1, n + 1)]
    result = stack_up(contributors, ["worst_case", "rss"])
    via = [f"Housing.Face{left}"] + [f"Block{k}.Face{f}" for k in range(1, n + 1) for f in (1, 2)][:-1]
    target = f"Block{n}.Face2"
    described = [f"the housing's inner width is {fits['Housing']}"] if "Housing" in fits else []
    described += [f"{name}'s length is {code}" for name, code in fits.items() if name != "Housing"]
    params = {"datum": f"Housing.Face{right}", "target": target, "via": via, "cls": p["class"],
              "chain": " → ".join([f"Housing.Face{right}", *via, target]),
              "fits": f"Size dimensions in the document: {', '.join(described)} (ISO 286). " if described else ""}
    order = list(templates()["tolerance-chains"])
    template = order[(index // 7) % len(order)]
    method, end = template.split("_")
    answer = result["worst_case" if method == "worst" else "rss"][end]
    return _item("tolerance-chains", index, template, params, _plain(answer), script,
                 [f"links-{n + 1}", f"iso2768-{p['class']}"] + (["fits"] if fits else []))


# --- the suite table ----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value, 9)
    return value


GENERATORS: dict[str, Callable[[int, int], Item]] = {"primitives": primitives_item, "measure": measure_item,
                                                     "relations": relations_item, "dfm": dfm_item,
                                                     "tolerance-chains": tolerance_chain_item}


def generate(suite: str, size: int | None = None, seed: int | None = None) -> Iterator[Item]:
    """Items 0..size-1 of a shipped suite (defaults from resources/eval/suites.toml)."""
    if suite not in GENERATORS:
        raise KeyError(f"no suite named '{suite}' (suites: {', '.join(GENERATORS)})")
    conf = suites()[suite]
    size = conf["size"] if size is None else size
    seed = conf["seed"] if seed is None else seed
    for index in range(size):
        yield GENERATORS[suite](index, seed)

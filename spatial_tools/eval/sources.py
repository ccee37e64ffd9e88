"""CAD sources of eval items as FreeCAD Python scripts: written from a part's parameters, run into a shape.

A script assigns its solid to ``result`` (one object, named ``Part``) or a dict of named solids to
``parts`` (an assembly), and may set ``meta`` (document metadata such as the general tolerance) and
``sizes`` (size-dimension annotations: ``{"nominal", "refs", "fit"}``);
it sees ``Part``, ``FreeCAD``, ``Vector`` and ``math``.
Generated suites use these (FreeCAD is there wherever this package runs); imported suites may bring
CadQuery programs instead (builder.py runs both in a child process with time and memory limits; CadQuery
in its own interpreter, cadquery_source.py).
"""

from __future__ import annotations

import math
from typing import Any

HEADER = "import math\nimport Part\nfrom FreeCAD import Vector\n"


def build_freecad(script: str) -> tuple[dict[str, Any], dict[str, str], list[dict]]:
    """(object name -> shape, document meta, size dimensions) of a FreeCAD script; a foreign script only
    in the builder's child."""
    import FreeCAD
    import Part

    namespace: dict[str, Any] = {"Part": Part, "FreeCAD": FreeCAD, "Vector": FreeCAD.Vector, "math": math,
                                 "__name__": "eval_source"}
    exec(compile(script, "<item source>", "exec"), namespace)  # noqa: S102 - the builder's child, limited
    parts = namespace.get("parts")
    if parts is None:
        shape = namespace.get("result")
        if shape is None or not hasattr(shape, "Solids"):
            raise ValueError("the script assigns no shape to `result` (nor a dict of shapes to `parts`)")
        parts = {"Part": shape}
    if not isinstance(parts, dict) or not all(isinstance(k, str) and hasattr(v, "Solids") for k, v in parts.items()):
        raise ValueError("`parts` must map object names to shapes")
    meta = namespace.get("meta") or {}
    sizes = namespace.get("sizes") or []
    if not isinstance(sizes, list) or not all(isinstance(s, dict) and {"nominal", "refs", "fit"} <= set(s) for s in sizes):
        raise ValueError("`sizes` must be a list of {nominal, refs, fit}")
    return parts, {str(k): str(v) for k, v in dict(meta).items()}, sizes


def run_freecad_source(script: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(object name -> shape, document meta) of a FreeCAD script."""
    parts, meta, _ = build_freecad(script)
    return parts, meta


def run_freecad_script(script: str) -> Any:
    """The shape of a one-part FreeCAD script."""
    parts, _ = run_freecad_source(script)
    if len(parts) != 1:
        raise ValueError(f"the script builds {len(parts)} parts, not one")
    return next(iter(parts.values()))


def fmt(value: float) -> str:
    return repr(round(float(value), 6))


def plate_script(p: dict) -> str:
    """A plate W x D x T with rounded or chamfered vertical corners or chamfered top edges, holes,
    pockets and slots cut from the top face, and an optional bevel along its x=0 bottom edge."""
    lines = [HEADER, f"result = Part.makeBox({fmt(p['W'])}, {fmt(p['D'])}, {fmt(p['T'])})"]
    T = p["T"]
    corner = p.get("corner")
    if corner and corner["kind"] == "fillet":
        lines.append("edges = [e for e in result.Edges if abs(e.tangentAt(e.FirstParameter).z) > 0.99]")
        lines.append(f"result = result.makeFillet({fmt(corner['size'])}, edges)")
    elif corner and corner["kind"] == "chamfer":
        lines.append(f"edges = [e for e in result.Edges if abs(e.BoundBox.ZMin - {fmt(T)}) < 1e-6 "
                     f"and abs(e.BoundBox.ZMax - {fmt(T)}) < 1e-6]")
        lines.append(f"result = result.makeChamfer({fmt(corner['size'])}, edges)")
    bevel = p.get("bevel")
    if bevel:
        leg, rise = bevel["leg"], bevel["leg"] * math.tan(math.radians(bevel["angle"]))
        # the bevel line z = rise * (1 - x / leg), extended 1 mm past the box on both ends
        low, high = -rise / leg, rise * (1 + 1 / leg)
        lines.append(f"tri = Part.Face(Part.makePolygon([Vector({fmt(leg + 1)}, -1, {fmt(low)}), "
                     f"Vector(-1, -1, {fmt(high)}), Vector(-1, -1, {fmt(low)}), Vector({fmt(leg + 1)}, -1, {fmt(low)})]))")
        lines.append(f"result = result.cut(tri.extrude(Vector(0, {fmt(p['D'] + 2)}, 0)))")
    for h in p.get("holes", []):
        depth = T + 2 if h["through"] else h["depth"] + 1
        z = -1 if h["through"] else T - h["depth"]
        lines.append(f"result = result.cut(Part.makeCylinder({fmt(h['d'] / 2)}, {fmt(depth)}, "
                     f"Vector({fmt(h['x'])}, {fmt(h['y'])}, {fmt(z)})))")
    for k in p.get("pockets", []):
        lines.append(f"result = result.cut(Part.makeBox({fmt(k['w'])}, {fmt(k['l'])}, {fmt(k['depth'] + 1)}, "
                     f"Vector({fmt(k['x'] - k['w'] / 2)}, {fmt(k['y'] - k['l'] / 2)}, {fmt(T - k['depth'])})))")
    for s in p.get("slots", []):
        r, half, z = s["w"] / 2, s["l"] / 2 - s["w"] / 2, T - s["depth"]
        lines.append(
            f"slot = Part.makeBox({fmt(2 * half)}, {fmt(s['w'])}, {fmt(s['depth'] + 1)}, "
            f"Vector({fmt(s['x'] - half)}, {fmt(s['y'] - r)}, {fmt(z)})).fuse(["
            f"Part.makeCylinder({fmt(r)}, {fmt(s['depth'] + 1)}, Vector({fmt(s['x'] - half)}, {fmt(s['y'])}, {fmt(z)})), "
            f"Part.makeCylinder({fmt(r)}, {fmt(s['depth'] + 1)}, Vector({fmt(s['x'] + half)}, {fmt(s['y'])}, {fmt(z)}))])")
        lines.append("result = result.cut(slot.removeSplitter())")
    lines.append("result = result.removeSplitter()")
    return "\n".join(lines) + "\n"


def housing_script(p: dict) -> str:
    """A U-shaped housing (walls of thickness ``w`` around an inner span ``S``) with blocks stacked along X
    from its left wall; the document's general tolerance class in ``meta``."""
    w, S, H = p["w"], p["S"], p["H"]
    lines = [HEADER,
             f"housing = Part.makeBox({fmt(S + 2 * w)}, {fmt(p['depth'])}, {fmt(w)}).fuse(["
             f"Part.makeBox({fmt(w)}, {fmt(p['depth'])}, {fmt(H)}), "
             f"Part.makeBox({fmt(w)}, {fmt(p['depth'])}, {fmt(H)}, Vector({fmt(S + w)}, 0, 0))]).removeSplitter()",
             'parts = {"Housing": housing}']
    x = w
    for k, length in enumerate(p["blocks"], 1):
        lines.append(f'parts["Block{k}"] = Part.makeBox({fmt(length)}, {fmt(p["depth"])}, {fmt(p["block_h"])}, '
                     f"Vector({fmt(x)}, 0, {fmt(w)}))")
        x += length
    lines.append(f'meta = {{"GeneralTolerance": "ISO 2768-{p["class"]}K"}}')
    if p.get("sizes"):
        lines.append(f"sizes = {p['sizes']!r}")
    return "\n".join(lines) + "\n"


def assembly_script(parts: list[dict]) -> str:
    """Named boxes (``size``) and vertical cylinders (``r``, ``h``) at their ``at`` corner/base centre."""
    lines = [HEADER, "parts = {}"]
    for part in parts:
        x, y, z = (fmt(v) for v in part["at"])
        if part["kind"] == "box":
            w, d, h = (fmt(v) for v in part["size"])
            lines.append(f'parts["{part["name"]}"] = Part.makeBox({w}, {d}, {h}, Vector({x}, {y}, {z}))')
        else:
            lines.append(f'parts["{part["name"]}"] = Part.makeCylinder({fmt(part["r"])}, {fmt(part["h"])}, '
                         f"Vector({x}, {y}, {z}))")
    return "\n".join(lines) + "\n"

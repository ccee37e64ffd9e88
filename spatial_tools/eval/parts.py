"""Random plate parameters laid out on a grid of cells (one feature per cell, so features never meet),
and kernel queries that read the built plate back: the answers of generated items come from here."""

from __future__ import annotations

import math
import random
from typing import Any

COLUMNS, ROWS = 4, 3


def plate_params(rng: random.Random, *, bevel: bool = False) -> dict:
    """Plate dimensions and features: through and blind holes (one diameter each), pockets, slots and
    an outer edge treatment. ``bevel``: a bevel along the x=0 bottom edge, column 0 left empty."""
    W = rng.choice(range(80, 124, 4))
    D = rng.choice(range(51, 72, 3))
    T = rng.choice(range(8, 17, 2))
    cw, ch = W / COLUMNS, D / ROWS
    cells = [(c, r) for c in range(1 if bevel else 0, COLUMNS) for r in range(ROWS)]
    rng.shuffle(cells)
    d_through, d_blind = rng.sample([3.0, 4.0, 5.0, 6.0, 8.0, 10.0], 2)
    n_through, n_blind = rng.randint(0, 4), rng.randint(0, 3)
    n_pocket, n_slot = rng.randint(0, 2), rng.randint(0, 1)
    while n_through + n_blind + n_pocket + n_slot > len(cells):
        n_through -= 1
    blind_depth = float(rng.randint(2, T - 3))
    p: dict[str, Any] = {"W": float(W), "D": float(D), "T": float(T), "holes": [], "pockets": [], "slots": []}

    def centre(cell: tuple[int, int]) -> tuple[float, float]:
        return round((cell[0] + 0.5) * cw, 3), round((cell[1] + 0.5) * ch, 3)

    for _ in range(n_through):
        x, y = centre(cells.pop())
        p["holes"].append({"x": x, "y": y, "d": d_through, "through": True})
    for _ in range(n_blind):
        x, y = centre(cells.pop())
        p["holes"].append({"x": x, "y": y, "d": d_blind, "through": False, "depth": blind_depth})
    pocket_depth = float(rng.randint(2, T - 3))
    for _ in range(n_pocket):
        x, y = centre(cells.pop())
        p["pockets"].append({"x": x, "y": y, "w": float(rng.randint(8, int(cw) - 6)),
                             "l": float(rng.randint(6, int(ch) - 6)), "depth": pocket_depth})
    for _ in range(n_slot):
        x, y = centre(cells.pop())
        w = float(rng.choice([4, 5, 6]))
        p["slots"].append({"x": x, "y": y, "w": w, "l": float(rng.randint(int(w) + 4, int(cw) - 5)),
                           "depth": float(rng.randint(2, T - 3))})
    treatment = rng.choice([None, "fillet", "chamfer"])
    if bevel:
        treatment = None  # the edge treatment would meet the bevel
    if treatment == "fillet":
        p["corner"] = {"kind": "fillet", "size": float(rng.choice([2, 3, 4]))}
    elif treatment == "chamfer":
        p["corner"] = {"kind": "chamfer", "size": float(rng.choice([0.5, 1.0, 1.5]))}
    if bevel:
        angle = float(rng.choice([15, 20, 25, 30, 35, 40]))
        most = min(cw / 2, (T - 2) / math.tan(math.radians(angle)))  # the bevel stays below the top face
        p["bevel"] = {"leg": float(rng.randint(3, max(3, int(most)))), "angle": angle}
    return p


# --- kernel read-back --------------------------------------------------------------------------


def _is(surface: Any, name: str) -> bool:
    return type(surface).__name__ == name


def _u_span(face: Any) -> float:
    u0, u1, _, _ = face.ParameterRange
    return u1 - u0


def cylinder_at(shape: Any, x: float, y: float) -> Any:
    """The full (360°) cylindrical face whose vertical axis passes through (x, y)."""
    for face in shape.Faces:
        s = face.Surface
        if _is(s, "Cylinder") and abs(abs(s.Axis.z) - 1) < 1e-9 and _u_span(face) > 2 * math.pi - 1e-6:
            if math.hypot(s.Center.x - x, s.Center.y - y) < 1e-6:
                return face
    raise LookupError(f"no hole face at ({x}, {y})")


def hole_facts(shape: Any, hole: dict) -> dict:
    """Diameter, depth and through-ness of a hole as the kernel built it."""
    face = cylinder_at(shape, hole["x"], hole["y"])
    box = shape.BoundBox
    through = abs(face.BoundBox.ZMin - box.ZMin) < 1e-6 and abs(face.BoundBox.ZMax - box.ZMax) < 1e-6
    return {"d": 2 * face.Surface.Radius, "depth": face.BoundBox.ZLength, "through": through, "face": face}


def floor_at(shape: Any, x: float, y: float) -> Any:
    """The upward planar floor face below the top whose bounding box contains (x, y)."""
    top = shape.BoundBox.ZMax
    for face in shape.Faces:
        if _is(face.Surface, "Plane") and face.BoundBox.ZLength < 1e-9 and face.BoundBox.ZMax < top - 1e-6:
            n = face.normalAt(*face.Surface.parameter(face.CenterOfMass))
            b = face.BoundBox
            if n.z > 0.999 and b.XMin - 1e-6 <= x <= b.XMax + 1e-6 and b.YMin - 1e-6 <= y <= b.YMax + 1e-6:
                return face
    raise LookupError(f"no floor at ({x}, {y})")


def depression_depth(shape: Any, x: float, y: float) -> float:
    return shape.BoundBox.ZMax - floor_at(shape, x, y).BoundBox.ZMin


def slot_facts(shape: Any, slot: dict) -> dict:
    """Width (2 x end radius) and length (end centres apart + width) of a slot as built."""
    ends = []
    for face in shape.Faces:
        s = face.Surface
        if _is(s, "Cylinder") and abs(face.BoundBox.YMin + face.BoundBox.YMax - 2 * slot["y"]) < 1e-6 \
                and abs(s.Center.y - slot["y"]) < 1e-6 and abs(s.Center.x - slot["x"]) < slot["l"] / 2 \
                and _u_span(face) < 2 * math.pi - 1e-6:
            ends.append(face)
    if len(ends) != 2:
        raise LookupError(f"slot at ({slot['x']}, {slot['y']}): {len(ends)} rounded ends")
    radius = ends[0].Surface.Radius
    apart = abs(ends[0].Surface.Center.x - ends[1].Surface.Center.x)
    return {"w": 2 * radius, "l": apart + 2 * radius}


def corner_fillet_radius(shape: Any) -> float:
    """Radius of the convex vertical cylinders at the plate's outer corners."""
    box = shape.BoundBox
    radii = {round(f.Surface.Radius, 9) for f in shape.Faces
             if _is(f.Surface, "Cylinder") and abs(f.BoundBox.ZLength - box.ZLength) < 1e-6
             and (abs(f.BoundBox.XMin - box.XMin) < 1e-6 or abs(f.BoundBox.XMax - box.XMax) < 1e-6)}
    if len(radii) != 1:
        raise LookupError(f"corner radii {sorted(radii)}")
    return radii.pop()


def top_chamfer_size(shape: Any) -> float:
    """Leg of the 45° chamfer along the top outer edges: the drop of its inclined faces."""
    sizes = {round(f.BoundBox.ZLength, 9) for f in shape.Faces if _is(f.Surface, "Plane")
             and 0.1 < abs(f.normalAt(*f.Surface.parameter(f.CenterOfMass)).z) < 0.9
             and abs(f.BoundBox.ZMax - shape.BoundBox.ZMax) < 1e-6}
    if len(sizes) != 1:
        raise LookupError(f"chamfer drops {sorted(sizes)}")
    return sizes.pop()


def plane_faces(shape: Any, normal: tuple[float, float, float]) -> list[Any]:
    """Planar faces whose outward normal is ``normal``."""
    out = []
    for face in shape.Faces:
        if _is(face.Surface, "Plane"):
            n = face.normalAt(*face.Surface.parameter(face.CenterOfMass))
            if n.x * normal[0] + n.y * normal[1] + n.z * normal[2] > 1 - 1e-9:
                out.append(face)
    return out

"""Real parts modelled after catalogue standards, built with the Part API at test time.

Each builder returns one solid in millimetres; the expectation TOML beside it
(same name) says which standard each dimension comes from and which findings
an engineer expects. Threads are swept along a Part helix (not PartDesign
ModelThread, which FreeCAD 0.20 lacks), so the same part exists on 0.20/1.0/1.1.

Run as a script to write every part as STEP into a folder:
    python parts.py OUTDIR
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import FreeCAD
import Part

V = FreeCAD.Vector


def _rotation_to(axis: FreeCAD.Vector) -> FreeCAD.Rotation:
    return FreeCAD.Rotation(V(0, 0, 1), axis)


def thread_ridge(major_d: float, pitch: float, length: float, internal: bool) -> Part.Shape:
    """An ISO 68-1 60° thread form swept along a right-hand helix on +Z from z=0.

    External: a ridge whose root sits on the minor Ø (fuse it onto a minor-Ø core).
    Internal: a groove whose crest sits on the major Ø (cut it from a tap-drill bore).
    Never call removeSplitter on a shape with a swept thread: it merges the helical faces into an
    invalid solid. The triangle is truncated (H/8 at the crest, H/4 at the root) as ISO 68-1 does.
    """
    h = pitch * math.sqrt(3) / 2  # fundamental triangle height
    r_major = major_d / 2
    r_minor = r_major - 5 * h / 8
    depth = r_major - r_minor
    half_base = pitch * 3 / 8  # flank width at the minor Ø (ISO 68-1 basic profile)
    half_top = pitch / 16
    overlap = 0.05  # sink the profile into the core / bore so the boolean has volume contact
    if internal:
        r_in, r_out = r_minor - overlap, r_major
        w_in, w_out = half_top + overlap * math.tan(math.radians(30)), half_base
        # groove: narrow at the bore, wide at the major Ø
        w_in, w_out = half_base - (depth + overlap) * math.tan(math.radians(30)), half_base
        w_in = max(w_in, pitch / 16)
    else:
        r_in, r_out = r_minor - overlap, r_major
        w_in, w_out = half_base, half_top
    profile = Part.makePolygon([V(r_in, 0, -w_in), V(r_out, 0, -w_out), V(r_out, 0, w_out), V(r_in, 0, w_in), V(r_in, 0, -w_in)])
    helix = Part.makeHelix(pitch, length, r_in)
    sweep = Part.Wire(helix).makePipeShell([profile], True, True)
    return sweep


def external_thread(major_d: float, pitch: float, length: float, base: FreeCAD.Vector, axis: FreeCAD.Vector) -> Part.Shape:
    """A minor-Ø core with a swept thread ridge, from ``base`` along ``axis``."""
    h = pitch * math.sqrt(3) / 2
    r_minor = major_d / 2 - 5 * h / 8
    ridge = thread_ridge(major_d, pitch, length - pitch, internal=False)
    ridge.translate(V(0, 0, pitch / 2))
    core = Part.makeCylinder(r_minor, length)
    threaded = core.fuse(ridge)
    # trim the ridge's ends flat to the thread length
    threaded = threaded.common(Part.makeCylinder(major_d, length))
    threaded.Placement = FreeCAD.Placement(base, _rotation_to(axis))
    return threaded


def tapped_hole(major_d: float, pitch: float, tap_drill: float, drill_length: float, thread_start: float,
                thread_length: float, base: FreeCAD.Vector, axis: FreeCAD.Vector) -> Part.Shape:
    """What drilling and tapping remove, as one solid to cut: the tap-drill bore from ``base`` along ``axis``
    (``drill_length``) with the swept thread groove from ``thread_start`` for ``thread_length``.

    Bore and groove are fused first and cut once: cutting the groove from an already drilled bore
    (helical flanks crossing a coaxial cylinder) fails silently in the kernel."""
    groove = thread_ridge(major_d, pitch, thread_length, internal=True)
    groove.translate(V(0, 0, thread_start))
    void = Part.makeCylinder(tap_drill / 2, drill_length).fuse(groove)
    void.Placement = FreeCAD.Placement(base, _rotation_to(axis))
    return void


def shaft_collar() -> Part.Shape:
    """One-piece set-screw shaft collar for a Ø20 shaft (DIN 705 form A, size 20: d1=20, d2=32, b=14, set screw M6)."""
    body = Part.makeCylinder(16, 14).cut(Part.makeCylinder(10, 16, V(0, 0, -1)))
    # radial tapped hole M6x1 at mid-width along +X: tap drill Ø5.0 (ISO 2306), thread through the 6 mm wall
    # tapped through the 6 mm wall (the groove runs from x = 9 to 17, past both surfaces)
    return body.cut(tapped_hole(6.0, 1.0, 5.0, 10.0, 1.0, 8.0, V(8, 0, 7), V(1, 0, 0)))


def plate_flange() -> Part.Shape:
    """Round plate flange Ø120×20 with a Ø50 bore and 6 counterbored holes for ISO 4762 M8 on a Ø90 bolt circle.

    Clearance Ø9 (ISO 273 medium), counterbore Ø15 × 9 deep (DIN 974-1 for ISO 4762 M8, head 13×8)."""
    body = Part.makeCylinder(60, 20).cut(Part.makeCylinder(25, 22, V(0, 0, -1)))
    for k in range(6):
        a = math.radians(60 * k + 30)
        c = V(45 * math.cos(a), 45 * math.sin(a), 0)
        body = body.cut(Part.makeCylinder(4.5, 22, c + V(0, 0, -1)))
        body = body.cut(Part.makeCylinder(7.5, 10, c + V(0, 0, 11)))
    edges = [e for e in body.Edges if isinstance(e.Curve, Part.Circle) and abs(e.Curve.Radius - 60) < 1e-6]
    return body.makeChamfer(1.0, edges).removeSplitter()


def l_bracket() -> Part.Shape:
    """Machined L bracket 60×50×40, 8 mm legs, inner fillet R6, outer edge rounds R3,
    two 6.6×20 slots (M6, ISO 273 medium) in the base and two Ø6.6 holes in the upright."""
    base = Part.makeBox(60, 50, 8)
    upright = Part.makeBox(60, 8, 40)
    body = base.fuse(upright).removeSplitter()
    inner = [e for e in body.Edges if abs(e.BoundBox.YMin - 8) < 1e-6 and abs(e.BoundBox.ZMin - 8) < 1e-6 and e.BoundBox.XLength > 59]
    body = body.makeFillet(6.0, inner)
    for x in (15, 45):
        slot = Part.makeCylinder(3.3, 10, V(x, 25, -1)).fuse(Part.makeCylinder(3.3, 10, V(x, 45, -1)))
        slot = slot.fuse(Part.makeBox(6.6, 20, 10, V(x - 3.3, 25, -1)))
        body = body.cut(slot)
        body = body.cut(Part.makeCylinder(3.3, 10, V(x, -1, 28), V(0, 1, 0)))
    outer = [e for e in body.Edges if isinstance(e.Curve, Part.Line) and e.BoundBox.XLength < 1e-6
             and ((abs(e.BoundBox.YMin - 50) < 1e-6 and abs(e.BoundBox.ZMax - 8) < 1e-6)
                  or (abs(e.BoundBox.ZMin - 40) < 1e-6 and abs(e.BoundBox.YMax - 8) < 1e-6))]
    if outer:
        body = body.makeFillet(3.0, outer)
    return body.removeSplitter()


def turned_shaft() -> Part.Shape:
    """Stepped shaft along +Z: Ø25×80 journal with a DIN 6885-A 8×7 keyway (shaft depth t1=4, length 32,
    milled with a Ø8 end mill), Ø20 shoulder section, M20×1.5 thread 20 long at the end (ISO 261 fine),
    1×45° chamfers, and an axial Ø4 lubrication bore 60 deep from the unthreaded end."""
    journal = Part.makeCylinder(12.5, 80)
    neck = Part.makeCylinder(10, 15, V(0, 0, 80))
    body = journal.fuse(neck)
    thread = external_thread(20.0, 1.5, 20.0, V(0, 0, 95), V(0, 0, 1))
    body = body.fuse(thread)
    chamfer = [e for e in body.Edges if isinstance(e.Curve, Part.Circle) and abs(e.Curve.Radius - 12.5) < 1e-6
               and e.BoundBox.ZMin < 1e-6]
    body = body.makeChamfer(1.0, chamfer)
    # keyway: 8 wide, 4 deep from the top of the Ø25 (y=+12.5), from z=20 to z=52 with round ends
    top = 12.5 - 4.0
    key = Part.makeCylinder(4, 10, V(0, top, 24), V(0, 1, 0)).fuse(Part.makeCylinder(4, 10, V(0, top, 48), V(0, 1, 0)))
    key = key.fuse(Part.makeBox(8, 10, 24, V(-4, top, 24)))
    body = body.cut(key)
    # axial lubrication bore Ø4 × 60 with a 118° drill point
    tip = 2 / math.tan(math.radians(59))
    bore = Part.makeCylinder(2, 61, V(0, 0, -1)).fuse(Part.makeCone(2, 0, tip, V(0, 0, 60)))
    return body.cut(bore)


def gland_nut() -> Part.Shape:
    """Cable gland body (EN 62444 size M20×1.5): hex 24 AF × 10, external M20×1.5 entry thread 10 long below it,
    internal M20×1.5 thread 8 deep for the dome nut above, Ø13 cable passage through."""
    hexagon = Part.makePolygon([V(24 / math.sqrt(3) * math.cos(math.radians(60 * k)), 24 / math.sqrt(3) * math.sin(math.radians(60 * k)), 0)
                                for k in range(7)])
    hex_prism = Part.Face(hexagon).extrude(V(0, 0, 10))
    hex_prism.translate(V(0, 0, 10))
    entry = external_thread(20.0, 1.5, 10.0, V(0, 0, 0), V(0, 0, 1))
    body = hex_prism.fuse(entry)
    body = body.cut(Part.makeCylinder(6.5, 22, V(0, 0, -1)))
    # internal thread for the dome nut: tap drill Ø18.5 (ISO 2306 M20×1.5), 8 deep from the hex's top face
    return body.cut(tapped_hole(20.0, 1.5, 18.5, 9.0, 1.2, 6.5, V(0, 0, 12), V(0, 0, 1)))


def sheet_bracket() -> Part.Shape:
    """Bent angle bracket from 2 mm steel sheet: flanges 40 and 30 long, 50 wide, inside bend radius 2 (=t),
    two Ø6.6 holes (M6, ISO 273) per flange; the upright's holes sit 3 mm from the bend, closer than 2.5t+R."""
    t, r, w = 2.0, 2.0, 50.0
    # section in the YZ plane, extruded along X
    flat = Part.makeBox(w, 40 - r - t, t, V(0, r + t, 0))
    upright = Part.makeBox(w, t, 30 - r - t, V(0, 0, r + t))
    bend_out = Part.makeCylinder(r + t, w, V(0, r + t, r + t), V(1, 0, 0))
    bend_in = Part.makeCylinder(r, w, V(0, r + t, r + t), V(1, 0, 0))
    quarter = Part.makeBox(w, r + t, r + t)
    bend = bend_out.cut(bend_in).common(quarter)
    body = flat.fuse(upright).fuse(bend).removeSplitter()
    for x in (12.5, 37.5):
        body = body.cut(Part.makeCylinder(3.3, 4, V(x, 25, -1)))  # base holes, 21 mm from the bend
        body = body.cut(Part.makeCylinder(3.3, 4, V(x, -1, r + t + 3 + 3.3), V(0, 1, 0)))  # 3 mm from the bend
    return body.removeSplitter()


def molded_box() -> Part.Shape:
    """Injection-molded ABS open box 80×60×30 (pull +Z), 2.5 mm walls with 1° draft outside and inside, inside
    corners R1.5 (0.6 t) and outside corners R4 (R + t), two free-standing ribs on the floor 1.6 mm at the root
    (0.64 t; 1.2 mm at the tip, mean 0.57 t), 7 high (2.8 t), 1.5° draft: rib proportions after Protolabs / BASF
    design guides (0.5-0.6 t, height ≤ 3 t, draft ≥ 0.5°). The rib roots have
    no fillet (the one defect an engineer would mark)."""
    t = 2.5
    outer = _draft_prism(_rectangle(0, 0, 80, 60, 0), 30, 1.0, outward=False)
    outer = outer.makeFillet(4.0, [e for e in outer.Edges if _vertical_corner(e)])
    cavity = _draft_prism(_rectangle(t, t, 80 - 2 * t, 60 - 2 * t, t), 30, 1.0, outward=True)
    cavity = cavity.makeFillet(1.5, [e for e in cavity.Edges if _vertical_corner(e)])
    cavity = cavity.makeFillet(1.5, [e for e in cavity.Edges if abs(e.BoundBox.ZMax - t) < 1e-6 and abs(e.BoundBox.ZMin - t) < 1e-6])
    body = outer.cut(cavity)
    for y in (20.0, 40.0):
        rib = _draft_prism(_rectangle(10, y - 0.8, 60, 1.6, t - 0.1), 7.1, 1.5, outward=False)
        body = body.fuse(rib)
    return body.removeSplitter()


def _rectangle(x0: float, y0: float, lx: float, ly: float, z: float) -> Part.Face:
    return Part.Face(Part.makePolygon([V(x0, y0, z), V(x0 + lx, y0, z), V(x0 + lx, y0 + ly, z), V(x0, y0 + ly, z), V(x0, y0, z)]))


def _vertical_corner(edge: Part.Edge) -> bool:
    """A straight side edge of a drafted prism (rises in Z, not a top or bottom edge)."""
    ends = edge.Vertexes
    straight = len(ends) == 2 and abs(ends[0].Point.distanceToPoint(ends[1].Point) - edge.Length) < 1e-6
    return straight and edge.BoundBox.ZLength > 1.0


def _draft_prism(face: Part.Face, height: float, draft_deg: float, outward: bool) -> Part.Shape:
    """A prism of ``face`` up +Z whose side walls lean in (or out for a cavity) by ``draft_deg``."""
    offset = height * math.tan(math.radians(draft_deg))
    top = face.makeOffset2D(offset if outward else -offset, join=2)  # join=2: sharp (intersection) corners
    top.translate(V(0, 0, height))
    return Part.makeLoft([face.OuterWire, top.OuterWire], True)


BUILDERS: dict[str, Callable[[], Part.Shape]] = {
    "shaft_collar": shaft_collar,
    "plate_flange": plate_flange,
    "l_bracket": l_bracket,
    "turned_shaft": turned_shaft,
    "gland_nut": gland_nut,
    "sheet_bracket": sheet_bracket,
    "molded_box": molded_box,
}


if __name__ == "__main__":
    from pathlib import Path

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        build().exportStep(str(out / f"{name}.step"))

"""Real threaded parts built in FreeCAD with constructed dimensions, for the thread and hole tests.

- ``collar``: a set-screw shaft collar (Ø25 bore, Ø40 OD, 14 wide, axis along X) with one radial
  M5 tapped hole, a PartDesign Hole with ModelThread (0.20, 1.0 and 1.1 all model it).
- ``helix_groove``: a V-groove swept along a helix (a Part helix sweep), cut from a shaft for an
  external thread or from a bore wall for an internal one.
- ``gland_nut``: a cable gland nut, a Ø20 shank with an external M20x1.5 thread and a bore with an
  internal M12x1.5 thread, both helix sweeps.
"""

from __future__ import annotations

import math
from typing import Any

from freecad_spatial.spatial_tools import freecad_env
from freecad_spatial.spatial_tools.samples import attach, new_feature, xy_plane

App = freecad_env.load()
import Part  # noqa: E402  (FreeCAD first)

V = App.Vector

COLLAR = {"bore": 25.0, "od": 40.0, "width": 14.0, "thread": "M5", "pitch": 0.8, "tap_depth": 10.0}


def collar(doc: Any, thread_size: str = "M5", model_thread: bool = True, threaded: bool = True) -> Any:
    """The shaft collar body: a ring along X at x 0..14, the tapped hole from the top (+Z) at x 7."""
    body = doc.addObject("PartDesign::Body", "Body")
    ring = new_feature(body, "PartDesign::AdditiveCylinder", "Ring")
    ring.Radius, ring.Height = COLLAR["od"] / 2, COLLAR["width"]
    ring.AttachmentOffset = App.Placement(V(0, 0, 0), App.Rotation(V(0, 1, 0), 90))
    bore = new_feature(body, "PartDesign::SubtractiveCylinder", "Bore")
    bore.Radius, bore.Height = COLLAR["bore"] / 2, COLLAR["width"]
    bore.AttachmentOffset = ring.AttachmentOffset
    for feature in (ring, bore):
        attach(feature, xy_plane(body))
        feature.MapMode = "FlatFace"
    doc.recompute()
    sketch = body.newObject("Sketcher::SketchObject", "HoleSketch")
    attach(sketch, xy_plane(body))
    sketch.MapMode = "FlatFace"
    sketch.AttachmentOffset = App.Placement(V(0, 0, COLLAR["od"] / 2), App.Rotation())
    sketch.addGeometry(Part.Circle(V(COLLAR["width"] / 2, 0, 0), V(0, 0, 1), 2.5), False)
    doc.recompute()
    hole = new_feature(body, "PartDesign::Hole", "SetScrewHole")
    hole.Profile = sketch
    hole.Threaded = threaded
    hole.ThreadType = "ISOMetricProfile"
    sizes = hole.getEnumerationsOfProperty("ThreadSize")  # "M5" on 0.20 and 1.0, "M5x0.8" on 1.1
    hole.ThreadSize = next(n for n in sizes if n == thread_size or n.startswith(thread_size + "x"))
    hole.ModelThread = model_thread
    hole.DepthType = "Dimension"
    hole.Depth = COLLAR["tap_depth"]
    if "ThreadDepthType" in hole.PropertiesList:
        hole.ThreadDepthType = "Hole Depth"
    hole.DrillPoint = "Flat"
    doc.recompute()
    before = bore.Shape.Volume
    if not hole.Shape.Volume < before - 1.0:  # drilled away from the part: turn it round
        hole.Reversed = not hole.Reversed
        doc.recompute()
    assert hole.Shape.isValid() and hole.Shape.Volume < before - 1.0, "the collar's hole did not cut"
    return body


def helix_groove(r_root: float, r_crest: float, pitch: float, length: float, internal: bool) -> Any:
    """A solid V-groove (60° thread flanks) swept along a helix about +Z from z 0 to ``length``.

    For an external thread it is cut from a shaft of radius ``r_crest`` down to ``r_root``; for an
    internal thread from the wall of a bore of radius ``r_crest`` (the minor radius) out to ``r_root``.
    """
    inner, outer = (r_crest, r_root) if internal else (r_root, r_crest)
    depth = outer - inner
    half = depth * math.tan(math.radians(30))  # half width at the wide end, 60° flanks
    over = 0.3 * depth  # the groove reaches past the surface it is cut from
    if internal:
        pts = [V(outer, 0, 0), V(inner - over, 0, -half - over * math.tan(math.radians(30))),
               V(inner - over, 0, half + over * math.tan(math.radians(30)))]
    else:
        pts = [V(inner, 0, 0), V(outer + over, 0, -half - over * math.tan(math.radians(30))),
               V(outer + over, 0, half + over * math.tan(math.radians(30)))]
    profile = Part.makePolygon([*pts, pts[0]])
    helix = Part.makeHelix(pitch, length, inner)
    sweep = Part.Wire(helix).makePipeShell([profile], True, True)
    return sweep


def threaded_shaft(major: float, pitch: float, length: float) -> Any:
    """A shaft of Ø``major`` with an external ISO-like thread over ``length`` (thread depth 0.6134 P)."""
    r = major / 2
    shaft = Part.makeCylinder(r, length + 4 * pitch, V(0, 0, -2 * pitch))
    return shaft.cut(helix_groove(r - 0.6134 * pitch, r, pitch, length, internal=False))


def gland_nut() -> Any:
    """A cable gland nut: Ø26 x 6 collar, Ø20 x 16 shank with M20x1.5 outside, an M12x1.5 bore through."""
    flange = Part.makeCylinder(13.0, 6.0, V(0, 0, 0))
    shank = Part.makeCylinder(10.0, 16.0, V(0, 0, 6.0))
    body = flange.fuse(shank)
    body = body.cut(helix_groove(10.0 - 0.6134 * 1.5, 10.0, 1.5, 12.0, internal=False).translated(V(0, 0, 8.0)))
    minor = 12.0 - 1.0825 * 1.5  # ISO minor diameter of the nut thread
    body = body.cut(Part.makeCylinder(minor / 2, 30.0, V(0, 0, -5)))
    body = body.cut(helix_groove(6.0, minor / 2, 1.5, 18.0, internal=True).translated(V(0, 0, 2.0)))
    solid = body.Solids[0] if len(body.Solids) == 1 else body
    return solid

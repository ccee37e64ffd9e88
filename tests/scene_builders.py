"""Real FreeCAD scenes for the encoder tests and bench: PartDesign bodies built feature by feature.

Shared by tests/test_encoder.py, tests/test_query_feature_tree.py and bench/encode.py,
so the benchmark measures the same kind of document the tests check.
"""

from __future__ import annotations

import math
from typing import Any

from freecad_spatial.spatial_tools import freecad_env
from freecad_spatial.spatial_tools.samples import attach, new_feature, xy_plane

App = freecad_env.load()
import Part  # noqa: E402  (FreeCAD first)
import Sketcher  # noqa: E402


def rectangle_sketch(body: Any, name: str, width: float, height: float, width_name: str | None = "Width") -> Any:
    """A fully constrained width x height rectangle on XY at the origin; the width constraint is named."""
    sketch = body.newObject("Sketcher::SketchObject", name)
    attach(sketch, xy_plane(body))
    sketch.MapMode = "FlatFace"
    V = App.Vector
    corners = [V(0, 0, 0), V(width, 0, 0), V(width, height, 0), V(0, height, 0)]
    for i in range(4):
        sketch.addGeometry(Part.LineSegment(corners[i], corners[(i + 1) % 4]), False)
    for i in range(4):
        sketch.addConstraint(Sketcher.Constraint("Coincident", i, 2, (i + 1) % 4, 1))
    sketch.addConstraint(Sketcher.Constraint("Horizontal", 0))
    sketch.addConstraint(Sketcher.Constraint("Horizontal", 2))
    sketch.addConstraint(Sketcher.Constraint("Vertical", 1))
    sketch.addConstraint(Sketcher.Constraint("Vertical", 3))
    sketch.addConstraint(Sketcher.Constraint("DistanceX", 0, 1, 0, 2, width))
    if width_name:
        sketch.renameConstraint(len(sketch.Constraints) - 1, width_name)
    sketch.addConstraint(Sketcher.Constraint("DistanceY", 1, 1, 1, 2, height))
    sketch.addConstraint(Sketcher.Constraint("Coincident", 0, 1, -1, 1))  # corner on the origin
    return sketch


def circle_sketch(body: Any, name: str, x: float, y: float, z: float, radius: float) -> Any:
    """A circle of ``radius`` at (x, y) on a plane parallel to XY at height z."""
    sketch = body.newObject("Sketcher::SketchObject", name)
    attach(sketch, xy_plane(body))
    sketch.MapMode = "FlatFace"
    sketch.AttachmentOffset = App.Placement(App.Vector(0, 0, z), App.Rotation())
    sketch.addGeometry(Part.Circle(App.Vector(x, y, 0), App.Vector(0, 0, 1), radius), False)
    sketch.addConstraint(Sketcher.Constraint("Radius", 0, radius))
    return sketch


def grid_body(doc: Any, features: int, name: str = "Body", pitch: float = 10.0) -> Any:
    """A plate, then bosses, holes and boss fillets on a grid: ``features`` PartDesign features.

    After the plate pad, features cycle pad (a boss), fillet (its top edge), pocket (a hole).
    Returns the body, recomputed. Every boss is 2 mm tall, radius 2.
    """
    body = doc.addObject("PartDesign::Body", name)
    cells = max(2, math.ceil((features * 2 / 3) ** 0.5))
    size = cells * pitch
    plate_sketch = rectangle_sketch(body, "PlateSketch", size, size)
    plate = new_feature(body, "PartDesign::Pad", "Plate")
    plate.Profile = plate_sketch
    plate.Length = 5
    doc.recompute()
    count, cell, last_boss = 1, 0, None
    while count < features:
        kind = ("pad", "fillet", "pocket")[(count - 1) % 3]
        if kind == "fillet":
            top = 7.0
            cx, cy = last_boss
            base = body.Tip
            edges = [
                f"Edge{i + 1}"
                for i, e in enumerate(base.Shape.Edges)
                if hasattr(e.Curve, "Radius")
                and abs(e.Curve.Radius - 2) < 1e-6
                and abs(e.Curve.Center.z - top) < 1e-6
                and abs(e.Curve.Center.x - cx) < 1e-6
                and abs(e.Curve.Center.y - cy) < 1e-6
            ]
            fillet = new_feature(body, "PartDesign::Fillet", f"Fillet{count:03d}")
            fillet.Base = (base, edges)
            fillet.Radius = 0.5
        else:
            cx = pitch / 2 + (cell % cells) * pitch
            cy = pitch / 2 + (cell // cells) * pitch
            cell += 1
            sketch = circle_sketch(body, f"Sketch{count:03d}", cx, cy, 5.0, 2.0)
            if kind == "pad":
                feature = new_feature(body, "PartDesign::Pad", f"Pad{count:03d}")
                feature.Length = 2
                last_boss = (cx, cy)
            else:
                feature = new_feature(body, "PartDesign::Pocket", f"Pocket{count:03d}")
                feature.Length = 3
            feature.Profile = sketch
        count += 1
        if kind == "pad":
            doc.recompute()  # the fillet that follows looks its edge up on this shape
    doc.recompute()
    return body


FILLET_R = 2.0
# 40 x 20 x 10 pad, a Ø10 x 4 pocket from the top, one 10 mm vertical edge rounded with r = 2.
PART_VOLUME = 40 * 20 * 10 - math.pi * 5**2 * 4 - (FILLET_R**2 - math.pi * FILLET_R**2 / 4) * 10


def corner_edge(feature: Any) -> str:
    """The vertical edge of the block at x = y = 0 (the one the scene's fillet rounds)."""
    corner = [
        f"Edge{i + 1}"
        for i, e in enumerate(feature.Shape.Edges)
        if e.Vertexes[0].Point.x == 0 and e.Vertexes[0].Point.y == 0 and e.Vertexes[-1].Point.x == 0
        and e.Vertexes[-1].Point.y == 0
    ]
    assert len(corner) == 1
    return corner[0]


def build_scene(doc: Any, broken: bool = False) -> Any:
    """Body (sketch 'Width' = 40, pad = Spreadsheet.thick, pocket, fillet), sheet, Part, Link, group."""
    sheet = doc.addObject("Spreadsheet::Sheet", "Spreadsheet")
    sheet.set("A1", "thickness")
    sheet.set("B1", "=10mm")
    sheet.setAlias("B1", "thick")
    doc.recompute()
    body = doc.addObject("PartDesign::Body", "Body")
    sketch = rectangle_sketch(body, "Sketch", 40, 20)
    pad = new_feature(body, "PartDesign::Pad", "Pad")
    pad.Profile = sketch
    pad.setExpression("Length", "Spreadsheet.thick")
    doc.recompute()
    hole_sketch = circle_sketch(body, "HoleSketch", 20, 10, 10, 5)
    pocket = new_feature(body, "PartDesign::Pocket", "Pocket")
    pocket.Profile = hole_sketch
    pocket.Length = 4
    doc.recompute()
    corner = [corner_edge(pocket)]
    fillet = new_feature(body, "PartDesign::Fillet", "Fillet")
    fillet.Base = (pocket, corner)
    fillet.Radius = FILLET_R
    part = doc.addObject("App::Part", "Part")
    box = doc.addObject("Part::Box", "Box")
    box.Length, box.Width, box.Height = 10, 20, 30
    part.addObject(box)
    part.Placement = App.Placement(App.Vector(100, 0, 0), App.Rotation(App.Vector(0, 0, 1), 90))
    link = doc.addObject("App::Link", "Link")
    link.LinkedObject = box
    link.Placement = App.Placement(App.Vector(0, 50, 0), App.Rotation())
    group = doc.addObject("App::DocumentObjectGroup", "Group")
    group.addObject(link)
    ghost = doc.addObject("Part::Sphere", "Ghost")
    ghost.Radius = 3
    ghost.Visibility = False
    if broken:
        empty = new_feature(body, "PartDesign::Pocket", "EmptyPocket")
        assert empty.Profile is None
    doc.recompute()
    return body

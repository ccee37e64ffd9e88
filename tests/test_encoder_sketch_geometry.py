"""Issue 16: the encoding answers "how far apart are the holes" and drops meaningless parameters.

A real PartDesign body (plate, a through PartDesign::Hole on a two-circle sketch that sits on a
rotated, offset attachment, a pocket): the hole centres come out of the JSON in global mm and
their distance is the constructed one; a plain through hole shows no thread or depth numbers.
"""

from __future__ import annotations

import json
import math

from conftest import FreeCAD
from scene_builders import circle_sketch, rectangle_sketch

from freecad_spatial.spatial_tools import encoder
from freecad_spatial.spatial_tools.samples import new_feature

App = FreeCAD
A, B = (12.0, 9.0), (47.5, 31.0)  # the hole centres in the sketch, mm
TOP = 8.0


def _node(encoding: dict, name: str) -> dict:
    stack = list(encoding["tree"])
    while stack:
        n = stack.pop()
        if n["name"] == name:
            return n
        stack += n.get("children", [])
    raise KeyError(name)


def _holed_plate(doc):
    import Part

    body = doc.addObject("PartDesign::Body", "Body")
    body.Placement = App.Placement(App.Vector(100, -20, 3), App.Rotation(App.Vector(0, 0, 1), 30))
    plate = new_feature(body, "PartDesign::Pad", "Plate")
    plate.Profile = rectangle_sketch(body, "PlateSketch", 60, 40)
    plate.Length = TOP
    doc.recompute()
    sketch = circle_sketch(body, "HoleSketch", A[0], A[1], TOP, 3.0)
    sketch.addGeometry(Part.Circle(App.Vector(B[0], B[1], 0), App.Vector(0, 0, 1), 3.0), False)
    sketch.addConstraint(__import__("Sketcher").Constraint("DistanceX", 0, 3, 1, 3, B[0] - A[0]))
    sketch.addGeometry(Part.Circle(App.Vector(30, 20, 0), App.Vector(0, 0, 1), 8.0), True)  # construction
    hole = new_feature(body, "PartDesign::Hole", "Hole")
    hole.Profile = sketch
    doc.recompute()
    hole.Diameter = 6
    hole.DepthType = "ThroughAll"
    doc.recompute()
    assert hole.isValid() and len(body.Shape.Solids) == 1
    return body, hole


def test_hole_centres_and_their_distance_come_from_the_json_alone(doc):
    body, _ = _holed_plate(doc)
    encoding = json.loads(encoder.encode_json(doc))
    sketch = _node(encoding, "Hole")["profile"]  # the hole's sketch, folded into it
    assert sketch["name"] == "HoleSketch"
    (group,) = sketch["circles"]  # the construction circle is no hole
    assert group["r"] == 3
    first, second = group["at"]
    assert abs(math.dist(first, second) - math.hypot(B[0] - A[0], B[1] - A[1])) < 1e-3
    # global: the body's placement applies, so the centres are where the holes are in the part
    axis_points = [
        (f.CenterOfMass, f.Surface.Radius) for f in body.Shape.Faces
        if type(f.Surface).__name__ == "Cylinder" and abs(f.Surface.Radius - 3) < 1e-6
    ]
    assert len(axis_points) == 2
    for centre in (first, second):
        on_axis = [
            p for p, _ in axis_points
            if math.hypot(p.x - centre[0], p.y - centre[1]) < 1e-3  # vertical axes: x, y agree (6 significant digits)
        ]
        assert on_axis, f"{centre} is not on a hole axis"
    assert f"DistanceX {B[0] - A[0]:g}" in sketch["dimensions"]
    assert "Circle" not in sketch.get("geometry", {}) or sketch["geometry"]["Circle"] == 1  # the construction one


def test_plain_through_hole_shows_no_thread_or_depth(doc):
    _holed_plate(doc)
    params = _node(json.loads(encoder.encode_json(doc)), "Hole")
    assert params["DepthType"] == "ThroughAll" and params["Diameter"] == 6
    shown = set(params)
    for meaningless in ("ThreadDepth", "ThreadType", "ThreadSize", "ThreadClass", "ThreadDirection", "ModelThread",
                        "Depth", "DrillPoint", "DrillPointAngle", "HoleCutType", "HoleCutDiameter", "HoleCutDepth"):
        assert meaningless not in shown, f"{meaningless} = {params[meaningless]} on a plain through hole"


def test_threaded_blind_hole_keeps_its_thread_and_depth(doc):
    _, hole = _holed_plate(doc)
    hole.ThreadType = "ISOMetricProfile"
    size = next(s for s in hole.getEnumerationsOfProperty("ThreadSize") if s.split("x")[0] == "M6")  # 1.1: "M6x1.0"?
    hole.ThreadSize = size
    hole.Threaded = True
    hole.DepthType = "Dimension"
    hole.Depth = 5
    doc.recompute()
    params = _node(json.loads(encoder.encode_json(doc)), "Hole")
    assert params["Threaded"] is True and params["ThreadSize"] == size
    assert params["Depth"] == 5


def test_through_all_pocket_has_no_length(doc):
    body, _ = _holed_plate(doc)
    pocket = new_feature(body, "PartDesign::Pocket", "Pocket")
    pocket.Profile = circle_sketch(body, "PocketSketch", 30, 20, TOP, 4.0)
    pocket.Length = 3
    pocket.Type = "ThroughAll"
    doc.recompute()
    params = _node(json.loads(encoder.encode_json(doc)), "Pocket")
    assert params["Type"] == "ThroughAll" and "Length" not in params

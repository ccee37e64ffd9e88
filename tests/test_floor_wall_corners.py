"""cnc.sharp_internal_corner: a concave edge is a milling corner problem only when no 3-axis setup has it
where a floor meets a wall. The issue's case (NIST ctc_03): a low wall's top (a floor facing +Z) meets a taller
wall; a flat end mill fed along -Z cuts that edge sharp. A pocket's vertical inside corner stays a finding:
each of its walls faces the opposite one, so no setup reaches it as a floor. Parts built here, edges found
by the points they were constructed through."""

from __future__ import annotations

from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.engine import run_dfm
from freecad_spatial.spatial_tools.geometry.adjacency import face_graph
from freecad_spatial.spatial_tools.geometry.corners import concave_corners, floor_wall_setup

V = FreeCAD.Vector
RULE = "cnc.sharp_internal_corner"
LOW = 20.0  # z of the notch's floor
WALL_Y = 10.0  # y of the tall wall's face the floor runs into


def _stepped_block():
    """A 60 × 40 × 40 block with a corner notch (x 50..60, y 0..10, z 20..40) cut away: a low floor at z 20
    beside a tall wall at y 10 (and one at x 50), open to +X, -Y and +Z, as the ledges on ctc_03. The
    floor meets the tall wall along X at (x, 10, 20)."""
    return Part.makeBox(60, 40, 40).cut(Part.makeBox(10, WALL_Y, 40 - LOW, V(50, 0, LOW)))


def _pocketed_block():
    """A 60 × 40 × 20 block with a 30 × 20 × 10 pocket from the top (x 15..45, y 10..30): four sharp
    vertical inside corners, 10 mm deep, at (15|45, 10|30)."""
    return Part.makeBox(60, 40, 20).cut(Part.makeBox(30, 20, 10, V(15, 10, 10)))


def _edges_through(shape, *points) -> set[str]:
    return {f"Edge{i}" for i, e in enumerate(shape.Edges, 1)
            if all(e.distToShape(Part.Vertex(p))[0] < 1e-6 for p in points)}


def _flagged(doc) -> set[str]:
    return {e for f in run_dfm(doc, "cnc-3axis") if f.rule == RULE for e in f.elements}


def test_a_low_floor_running_into_a_tall_wall_is_a_floor_wall_edge_not_a_corner(doc):
    obj = add_shape(doc, "Stepped", _stepped_block())
    step = _edges_through(obj.Shape, V(50, WALL_Y, LOW), V(60, WALL_Y, LOW))
    notch = step | _edges_through(obj.Shape, V(50, 0, LOW), V(50, WALL_Y, LOW))
    notch |= _edges_through(obj.Shape, V(50, WALL_Y, LOW), V(50, WALL_Y, 40))
    assert len(step) == 1 and len(notch) == 3
    assert not notch & _flagged(doc)


def test_each_edge_of_the_notch_has_a_setup_that_reaches_it_as_a_floor():
    """Fed along -Z the cutter sits on the notch's floor; fed along +Y or -X it faces a wall above the floor:
    any of them cuts the edge sharp (the first found is returned)."""
    shape = _stepped_block()
    graph = face_graph(shape)
    corners = [c for c in concave_corners(shape, graph=graph) if c.sharp]
    assert len(corners) == 3
    for corner in corners:
        assert floor_wall_setup(corner, graph, 0.05) is not None


def test_a_pockets_vertical_inside_corners_are_still_findings(doc):
    obj = add_shape(doc, "Pocketed", _pocketed_block())
    corners = set()
    for x in (15, 45):
        for y in (10, 30):
            found = _edges_through(obj.Shape, V(x, y, 10), V(x, y, 20))
            assert len(found) == 1
            corners |= found
    assert corners <= _flagged(doc)
    graph = face_graph(obj.Shape)
    vertical = [c for c in concave_corners(obj.Shape, graph=graph) if c.sharp and abs(c.line.z) > 0.99]
    assert len(vertical) == 4 and all(floor_wall_setup(c, graph, 0.05) is None for c in vertical)


def test_a_pockets_floor_edges_are_floor_wall_edges_from_the_top():
    shape = _pocketed_block()
    graph = face_graph(shape)
    floor = [c for c in concave_corners(shape, graph=graph) if c.sharp and abs(c.location.z - 10) < 1e-6
             and c.line is not None and abs(c.line.z) < 1e-6]
    assert len(floor) == 4 and all(floor_wall_setup(c, graph, 0.05) == (0.0, 0.0, 1.0) for c in floor)

"""One finding per thing (dfm.grouping): a rule's findings on the faces of one cavity, one pocket, one
modelled thread become one finding that lists all its faces and names the thing, so a count of findings
by rule is a count of things. The parts are built here; the expected faces are the ones built."""

from __future__ import annotations

from collections import Counter

import pytest
import thread_parts as tp
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.engine import run_dfm
from freecad_spatial.spatial_tools.geometry.threads import thread_faces

V = FreeCAD.Vector


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def _faces_within(shape, box) -> set[str]:
    """FaceN of every face whose bounding box lies inside ``box`` (xmin, ymin, zmin, xmax, ymax, zmax)."""
    x0, y0, z0, x1, y1, z1 = box
    eps = 1e-9
    return {
        f"Face{i}" for i, f in enumerate(shape.Faces, 1)
        if f.BoundBox.XMin >= x0 - eps and f.BoundBox.XMax <= x1 + eps and f.BoundBox.YMin >= y0 - eps
        and f.BoundBox.YMax <= y1 + eps and f.BoundBox.ZMin >= z0 - eps and f.BoundBox.ZMax <= z1 + eps
    }


def _two_t_cavities():
    """A 120×40×30 block with two closed T cavities side by side (x 0-60 and 60-120): each a 10 wide
    opening over a 30 wide chamber (z 10-20, y 10-30). Each chamber has 7 faces no axis reaches."""
    block = Part.makeBox(120, 40, 30)
    for x in (0.0, 60.0):
        tool = Part.makeBox(10, 20, 10, V(x + 25, 10, 20)).fuse(Part.makeBox(30, 20, 10, V(x + 15, 10, 10)))
        block = block.cut(tool)
    return block


def test_each_hidden_chamber_is_one_finding_listing_all_its_faces(doc):
    obj = add_shape(doc, "TwoSlots", _two_t_cavities())
    findings = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.inaccessible_face")
    left = _faces_within(obj.Shape, (15, 10, 10, 45, 30, 20))
    right = _faces_within(obj.Shape, (75, 10, 10, 105, 30, 20))
    assert len(left) == len(right) == 7
    assert sorted(set(f.elements) for f in findings) == sorted([left, right], key=sorted)  # 2 things, not 14 faces
    for f in findings:
        assert "7 faces" in f.message and f.measured == pytest.approx(100.0)
        assert not set(f.related) & {f"TwoSlots.{e}" for e in f.elements}  # the thing's own faces are not "in the way"


def test_the_sharp_inside_corners_of_one_pocket_are_one_mold_finding(doc):
    """A 20×20×10 square pocket in a 40×40×20 block: 8 sharp inside edges (4 along the walls, 4 round
    the floor), all of the pocket; one finding names the pocket and lists the 8 edges."""
    obj = add_shape(doc, "Pocketed", Part.makeBox(40, 40, 20).cut(Part.makeBox(20, 20, 10, V(10, 10, 10))))
    (finding,) = _by_rule(run_dfm(doc, "injection-molding"), "mold.sharp_internal_corner")
    eps = 1e-9
    edges = {
        f"Edge{i}" for i, e in enumerate(obj.Shape.Edges, 1)
        if e.BoundBox.XMin >= 10 - eps and e.BoundBox.XMax <= 30 + eps and e.BoundBox.YMin >= 10 - eps
        and e.BoundBox.YMax <= 30 + eps and e.BoundBox.ZMin >= 10 - eps and e.BoundBox.ZMin < 20 - eps
    }  # the pocket's edges below its rim
    assert len(edges) == 8
    assert set(finding.elements) == edges
    assert finding.message.startswith("Pocket") and "8 edges" in finding.message
    assert finding.measured == 0.0 or finding.unit == "ratio"


def test_a_modelled_tapped_hole_is_not_judged_face_by_face(doc):
    """The set-screw collar (tests/thread_parts.py): an M5 tapped hole along Z, the collar's axis X.
    The tap reaches it along Z: no thread face is an inaccessible face or a sharp corner."""
    body = tp.collar(doc)
    shape = body.Shape
    threaded = thread_faces(shape)
    assert threaded, "the collar's thread was not modelled"
    findings = run_dfm(doc, "cnc-3axis", objects=[body.Name])
    counts = Counter(f.rule for f in findings)
    on_thread = [f for f in findings if f.rule in ("cnc.inaccessible_face", "cnc.sharp_internal_corner")
                 and {int(e[4:]) - 1 for e in f.elements if e.startswith("Face")} & threaded]
    assert not on_thread, [(f.rule, f.elements[:3]) for f in on_thread]
    assert counts["cnc.inaccessible_face"] == 0 and counts["cnc.sharp_internal_corner"] == 0


def test_a_thread_at_an_angle_is_one_finding_for_the_whole_thread(doc):
    """The gland nut's two threads (along its Z) turned 30° about X in its geometry, its own axes the
    world's: no machine axis runs along them, so two findings, one per thread, and no thread face
    reported on its own."""
    nut = tp.gland_nut()
    turned = nut.copy()
    turned.transformShape(FreeCAD.Placement(V(0, 0, 0), FreeCAD.Rotation(V(1, 0, 0), 30)).toMatrix(), True)
    assert turned.Placement.isIdentity()  # the turn is in the geometry: the part's own axes stay the world's
    add_shape(doc, "Tilted", turned)
    findings = _by_rule(run_dfm(doc, "cnc-3axis"), "cnc.inaccessible_face")
    threads = [f for f in findings if "thread" in f.message.lower() or "tapped" in f.message.lower()]
    assert len(threads) == 2
    faces = thread_faces(doc.getObject("Tilted").Shape)
    for f in threads:
        assert {int(e[4:]) - 1 for e in f.elements} & faces
    per_face = [f for f in findings if f not in threads and {int(e[4:]) - 1 for e in f.elements} & faces]
    assert not per_face

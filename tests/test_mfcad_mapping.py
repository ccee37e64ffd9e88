"""MFCAD face names -> FreeCAD faces, proven on every face of every file of the sample.

The mapping (Face{k+1} carries the k-th name of the STEP CLOSED_SHELL) is
checked against the STEP text itself: each mapped face must have the STEP
face's surface type, plane (or axis and radius) and vertex set, and match no
other STEP face. The checker is shown to reject a wrong mapping, and the
label ids are shown to name what classes.json does not say they name.
"""

from __future__ import annotations

import pytest
from conftest import CORPORA, Part

from freecad_spatial.spatial_tools import mfcad
from freecad_spatial.spatial_tools.documents import close_document, open_document
from freecad_spatial.spatial_tools.geometry.adjacency import face_graph

MFCAD = CORPORA / "mfcad"
pytestmark = pytest.mark.skipif(not (MFCAD / "step").is_dir(), reason="MFCAD corpus not present")
STEMS = mfcad.stems(MFCAD) if (MFCAD / "step").is_dir() else []


@pytest.fixture(scope="module")
def opened():
    """Every file as the tools see it: the shape of the document object."""
    shapes = {}
    for stem in STEMS:
        doc = open_document(MFCAD / "step" / f"{stem}.step")
        shapes[stem] = doc.Objects[0].Shape.copy()
        close_document(doc)
    return shapes


def test_the_sample_is_complete():
    assert len(STEMS) == 30
    for stem in STEMS:
        faces = mfcad.read_step_faces(MFCAD / "step" / f"{stem}.step")
        labels = mfcad.read_labels(MFCAD / "labels_json" / f"{stem}.json")
        assert sorted(f.name for f in faces) == list(range(len(labels)))


def test_every_face_of_every_file_maps_to_its_step_entity(opened):
    checked = 0
    for stem in STEMS:
        step_faces = mfcad.read_step_faces(MFCAD / "step" / f"{stem}.step")
        assert mfcad.check_mapping(opened[stem], step_faces) == [], stem
        checked += len(step_faces)
    assert checked == 590


def test_a_wrong_mapping_is_rejected(opened):
    stem = STEMS[0]
    step_faces = mfcad.read_step_faces(MFCAD / "step" / f"{stem}.step")
    shifted = step_faces[1:] + step_faces[:1]
    problems = mfcad.check_mapping(opened[stem], shifted)
    assert len(problems) == len(step_faces)  # every face is caught, not just some
    assert mfcad.check_mapping(opened[stem], step_faces[:-1])  # a missing face too


def test_the_check_compares_geometry_not_order():
    # a box whose STEP twin lists the same faces: a face moved by 1 mm no longer matches
    box = Part.makeBox(10, 20, 30)
    faces = [
        mfcad.StepFace(
            name=k,
            surface_type="PLANE",
            location=tuple(f.Surface.Position),
            axis=tuple(f.Surface.Axis),
            vertices=[tuple(v.Point) for v in f.Vertexes],
        )
        for k, f in enumerate(box.Faces)
    ]
    assert mfcad.check_mapping(box, faces) == []
    moved = faces[2]
    moved.location = tuple(c + a for c, a in zip(moved.location, moved.axis, strict=True))  # 1 mm along its normal
    problems = mfcad.check_mapping(box, faces)
    assert len(problems) == 1 and "Face3" in problems[0] and "off the face plane" in problems[0]


def test_face_labels_follow_the_mapping():
    stem = "2-7-10-14-14-23"
    names = mfcad.face_names(MFCAD / "step" / f"{stem}.step")
    labels = mfcad.read_labels(MFCAD / "labels_json" / f"{stem}.json")
    assert mfcad.face_labels(MFCAD, stem) == [labels[n] for n in names]


def _label_groups(shape, labels, label):
    """Faces of one label, split where they do not meet at a concave edge."""
    graph = face_graph(shape)
    todo = {k for k, lab in enumerate(labels) if lab == label}
    groups = []
    while todo:
        group = [todo.pop()]
        for i in group:
            for j in graph.adjacent(i, "concave"):
                if j in todo:
                    todo.discard(j)
                    group.append(j)
        groups.append(group)
    return groups


def test_label_ids_name_the_geometry_not_classes_json(opened):
    """classes.json says label 0 is a rectangular through slot and 14 a chamfer; the faces disagree."""
    listed = mfcad.read_classes(MFCAD)
    assert listed[0] == "rectangular_through_slot" and listed[14] == "chamfer"
    # label 0: single planes, every edge convex, meeting two faces at 135° - chamfers
    shape = opened["0-0-0-0-6-23"]
    labels = mfcad.face_labels(MFCAD, "0-0-0-0-6-23")
    graph = face_graph(shape)
    chamfers = [k for k, lab in enumerate(labels) if lab == 0]
    assert chamfers
    for k in chamfers:
        edges = [e for es in graph.neighbours[k].values() for e in es]
        assert all(e.convexity == "convex" for e in edges)
        assert sum(1 for e in edges if abs(e.angle_deg - 135) < 1e-6) >= 2
    assert mfcad.LABEL_NAMES[0] == "chamfer"
    # label 14: groups of three mutually square planes in a corner - rectangular blind steps
    shape = opened["14-14-14-14-14-23"]
    labels = mfcad.face_labels(MFCAD, "14-14-14-14-14-23")
    groups = _label_groups(shape, labels, 14)
    assert len(groups) == 5
    for group in groups:
        normals = [shape.Faces[i].normalAt(0, 0) for i in group]
        assert len(group) == 3
        assert all(abs(a.dot(b)) < 1e-9 for a in normals for b in normals if a is not b)
    assert mfcad.LABEL_NAMES[14] == "rectangular_blind_step"

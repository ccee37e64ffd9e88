"""Annotation objects headless: every finding field kept, review status, GD&T objects, undo, signatures."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from conftest import FreeCAD, Part

from freecad_spatial.spatial_tools.annotations import properties as P
from freecad_spatial.spatial_tools.annotations import store
from freecad_spatial.spatial_tools.annotations.frame_text import frame_text, size_text
from freecad_spatial.spatial_tools.annotations.report import document_report, render
from freecad_spatial.spatial_tools.annotations.signature import has_element_map
from freecad_spatial.spatial_tools.dfm.finding import Finding
from freecad_spatial.spatial_tools.errors import BadArguments, BadReference

V = FreeCAD.Vector
# FreeCAD 1.x names faces through an element map and renames a link's faces itself on
# recompute; 0.20 does not. Tests branch on this capability, never on the version number.
ELEMENT_MAPS = has_element_map(Part.makeBox(1, 1, 1))


def top_face(obj) -> str:
    faces = [i + 1 for i, f in enumerate(obj.Shape.Faces) if f.Surface.__class__.__name__ == "Plane" and abs(f.CenterOfMass.z - obj.Shape.BoundBox.ZMax) < 1e-6]
    assert len(faces) == 1
    return f"Face{faces[0]}"


def upward_faces(obj, z: float) -> list[str]:
    """The planar faces of ``obj`` whose normal is +Z at height ``z``: a face by its geometry, whatever its number."""
    found = []
    for i, f in enumerate(obj.Shape.Faces):
        if f.Surface.__class__.__name__ != "Plane" or abs(f.CenterOfMass.z - z) > 1e-6:
            continue
        u0, u1, v0, v1 = f.ParameterRange
        if f.normalAt((u0 + u1) / 2, (v0 + v1) / 2).getAngle(V(0, 0, 1)) < 1e-6:
            found.append(f"Face{i + 1}")
    return found


@pytest.fixture
def part(doc):
    return cut_part(doc)


def cut_part(doc):
    """A Cut of a box (40 x 30 x 10) by a cylinder parked far away: moving the tool renumbers faces."""
    box = doc.addObject("Part::Box", "Box")
    box.Length, box.Width, box.Height = 40, 30, 10
    tool = doc.addObject("Part::Cylinder", "Tool")
    tool.Radius, tool.Height = 3, 10
    tool.Placement = FreeCAD.Placement(V(100, 100, 0), FreeCAD.Rotation())
    cut = doc.addObject("Part::Cut", "Part")
    cut.Base, cut.Tool = box, tool
    doc.recompute()
    return cut


def sample_findings(elements: str = "Face6") -> list[Finding]:
    return [
        Finding(rule="cnc.deep_hole", severity="error", message="Hole Ø4 is 50 mm deep", object="Part", elements=(elements,),
                location=(20.0, 15.0, 10.0), measured=12.5, limit=10.0, unit="ratio", suggestion="drill from both sides", related=("Part.Face1",)),
        Finding(rule="cnc.thin_wall", severity="warning", message="wall 0.8 mm", object="Part", elements=("Face1", "Face2")),
        Finding(rule="geom.invalid_solid", severity="info", message="no location at all"),
    ]


def test_every_field_of_the_finding_format_has_a_property():
    assert set(P.FINDING_FIELDS) == {f.name for f in dataclasses.fields(Finding)}
    names = [p.name for p in P.properties_of(P.FINDING)]
    assert len(names) == len(set(names)), "a property is defined twice"


def test_findings_become_objects_in_the_spatial_group_and_read_back_exactly(doc, part):
    objs = store.add_findings(doc, sample_findings(top_face(part)), process="cnc-3axis")
    group = doc.getObject("Spatial")
    assert group is not None and {o.Name for o in group.Group} == {o.Name for o in objs}
    assert all(o.TypeId == "App::FeaturePython" and o.SpatialType == "Finding" for o in objs)
    back = store.read_findings(doc)
    assert [b.finding for b in back] == sample_findings(top_face(part))
    assert [b.finding.to_dict() for b in back] == [f.to_dict() for f in sample_findings(top_face(part))]
    first = objs[0]
    assert first.Faces[0][0].Name == "Part" and list(first.Faces[0][1]) == [top_face(part)]
    assert first.Severity == "error" and first.Status == "open" and first.Process == "cnc-3axis"
    assert first.Attachment == "attached" and objs[2].Attachment == "unlinked"
    assert "location" in objs[2].NullFields and objs[2].Elements == []
    assert json.loads(first.ElementSignatures)["Part"][top_face(part)]["surface"] == "plane"
    assert doc.UndoNames[0] == "Spatial: 3 findings (cnc-3axis)"


def test_adding_is_one_undo_step_and_undo_restores_exactly(doc, part):
    before = sorted(o.Name for o in doc.Objects)
    store.add_findings(doc, sample_findings(), process="cnc-3axis")
    assert doc.UndoCount == 1
    doc.undo()
    assert sorted(o.Name for o in doc.Objects) == before
    doc.redo()
    assert [b.finding for b in store.read_findings(doc)] == sample_findings()


def test_accept_waive_clear_each_one_named_undo_step(doc, part):
    objs = store.add_findings(doc, sample_findings(), process="cnc-3axis")
    store.set_status(doc, [objs[0].Name], "accepted", by="ana")
    assert doc.UndoNames[0] == "Spatial: accept 1 finding"
    with pytest.raises(BadArguments, match="needs a reason"):
        store.set_status(doc, [objs[1].Name], "waived", "  ")
    store.set_status(doc, [objs[1].Name, objs[2].Name], "waived", "supplier drills it", by="bo")
    assert doc.UndoNames[0] == "Spatial: waive 2 findings"
    got = {b.name: b for b in store.read_findings(doc)}
    assert (got[objs[0].Name].status, got[objs[0].Name].by) == ("accepted", "ana") and got[objs[0].Name].at
    assert (got[objs[1].Name].status, got[objs[1].Name].reason, got[objs[1].Name].by) == ("waived", "supplier drills it", "bo")
    doc.undo()
    assert [b.status for b in store.read_findings(doc)] == ["accepted", "open", "open"]
    assert objs[1].StatusReason == "" and objs[1].StatusBy == ""
    assert store.clear_findings(doc) == 3
    assert doc.UndoNames[0] == "Spatial: clear 3 findings" and store.read_findings(doc) == []
    doc.undo()
    assert [b.status for b in store.read_findings(doc)] == ["accepted", "open", "open"]
    with pytest.raises(BadReference):
        store.set_status(doc, ["Box"], "accepted")


def test_a_new_check_replaces_open_findings_and_keeps_reviewed_ones(doc, part):
    objs = store.add_findings(doc, sample_findings(), process="cnc-3axis")
    store.set_status(doc, [objs[0].Name], "waived", "ok by customer")
    store.add_findings(doc, sample_findings(), process="cnc-3axis")
    got = store.read_findings(doc)
    assert len(got) == 3 and [g.status for g in got].count("waived") == 1
    assert sum(1 for g in got if g.finding.rule == "cnc.deep_hole") == 1


def test_report_from_the_document_lists_reviewed_findings_as_not_failing(doc, part):
    objs = store.add_findings(doc, sample_findings(), process="cnc-3axis")
    store.set_status(doc, [objs[0].Name], "waived", "supplier drills it", by="bo")
    report = document_report(doc)
    assert report.process == "cnc-3axis"
    assert [f.rule for f in report.files[0].findings] == ["cnc.thin_wall", "geom.invalid_solid"]
    assert any("waived by bo" in s["reason"] and "supplier drills it" in s["reason"] for s in report.files[0].skipped)
    data = json.loads(render(doc, "json"))
    assert data["schema"] == "freecad-spatial/report@1" and len(data["files"][0]["findings"]) == 2
    assert json.loads(render(doc, "sarif"))["runs"][0]["results"]
    html = render(doc, "html")
    assert "cnc.thin_wall" in html and "<html" in html
    # The waived finding is listed with who waived it and why, apart from the failing ones.
    assert "Reviewed or not checked (1)" in html and "waived by bo" in html and "supplier drills it" in html


# --- topology changes ---------------------------------------------------------------------


def test_renumbered_face_is_found_again_by_its_signature(doc, part):
    top = top_face(part)
    assert top == "Face6"
    (obj,) = store.add_findings(doc, sample_findings(top)[:1], process="cnc-3axis")
    # The tool now cuts a notch in the front side: new faces, the top face moves in the numbering.
    part.Tool.Placement = FreeCAD.Placement(V(-5, 15, 5), FreeCAD.Rotation(V(0, 1, 0), 90))
    doc.recompute()
    assert top_face(part) != top
    assert obj.Attachment == "rematched"
    assert list(obj.Faces[0][1]) == [top_face(part)] == upward_faces(part, 10.0) and obj.Elements == [top_face(part)]
    assert obj.LostElements == []
    assert list(json.loads(obj.ElementSignatures)["Part"]) == [top_face(part)]


def test_changed_face_is_marked_lost_never_moved_to_another(doc, part):
    """A hole through the flagged top face. 0.20: another face now, so lost. 1.x: FreeCAD's element map
    says it is the same face, modified, and renames the link Face6 -> Face3: followed, but as rematched
    (its geometry is not the one flagged), never as a silent attached, and never onto another face."""
    (obj,) = store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    part.Tool.Placement = FreeCAD.Placement(V(20, 15, 0), FreeCAD.Rotation())  # a hole through the top face
    doc.recompute()
    if ELEMENT_MAPS:
        (top,) = upward_faces(part, 10.0)
        assert top != "Face6"
        assert obj.Attachment == "rematched" and obj.LostElements == []
        assert list(obj.Faces[0][1]) == [top] and obj.Elements == [top]
        assert part.Shape.getElement(top).Area == pytest.approx(40 * 30 - math.pi * 3**2)
        # The signature is the face as it is now, for a later re-match.
        assert json.loads(obj.ElementSignatures)["Part"][top]["area"] == pytest.approx(40 * 30 - math.pi * 3**2)
    else:
        assert obj.Attachment == "lost" and obj.LostElements == ["Part.Face6"]
        assert obj.Faces == [] and obj.Elements == []
        # The finding itself is still there, readable, and says so in a report.
        (held,) = store.read_findings(doc)
        assert held.attachment == "lost" and held.finding.rule == "cnc.deep_hole"
        assert any("geometry lost" in s["reason"] for s in document_report(doc).files[0].skipped)
    # When the change is taken back, the face is found again (by FreeCAD's renaming on 1.x).
    part.Tool.Placement = FreeCAD.Placement(V(100, 100, 0), FreeCAD.Rotation())
    doc.recompute()
    assert obj.LostElements == [] and list(obj.Faces[0][1]) == ["Face6"] == upward_faces(part, 10.0)
    assert obj.Attachment == ("rematched" if ELEMENT_MAPS else "attached")


def test_face_moved_up_by_a_height_change(doc, part):
    """The top face of the Cut moves from z = 10 to z = 12. 0.20: its signature is gone, so lost. 1.x: the
    element map still names it the base box's Face6 (FreeCAD keeps the link on Face6): followed, rematched."""
    (obj,) = store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    part.Base.Height = 12
    doc.recompute()
    if ELEMENT_MAPS:
        assert upward_faces(part, 12.0) == ["Face6"]
        assert obj.Attachment == "rematched" and obj.LostElements == []
        assert list(obj.Faces[0][1]) == ["Face6"] and obj.Elements == ["Face6"]
        assert json.loads(obj.ElementSignatures)["Part"]["Face6"]["centroid"] == [20.0, 15.0, 12.0]
    else:
        assert obj.Attachment == "lost" and obj.LostElements == ["Part.Face6"] and obj.Faces == []


def test_split_face_is_lost_on_every_version(doc, part):
    """A groove across the top splits it in two: no single face is the flagged one. 1.x marks the link
    '?Face6' (missing) and the signature finds no face either; 0.20 finds none by signature."""
    (obj,) = store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    part.Tool.Height = 40
    part.Tool.Placement = FreeCAD.Placement(V(20, -5, 10), FreeCAD.Rotation(V(1, 0, 0), -90))  # along Y, axis at z = 10
    doc.recompute()
    assert len(upward_faces(part, 10.0)) == 2
    assert obj.Attachment == "lost" and obj.LostElements == ["Part.Face6"]
    assert obj.Faces == [] and obj.Elements == []
    part.Tool.Placement = FreeCAD.Placement(V(100, 100, 0), FreeCAD.Rotation())
    doc.recompute()
    assert obj.Attachment == "attached" and obj.LostElements == [] and list(obj.Faces[0][1]) == ["Face6"]


def test_each_face_of_a_link_follows_its_own_face(doc, part):
    """Two faces in one link: a notch renumbers the top (Face6 -> Face3, unchanged) and cuts into the
    front face (Face1, x = 0). 0.20: the top is found by its signature, the front is lost. 1.x: FreeCAD
    renames each in place and both follow: the top to Face3, the front stays Face1 with its new area."""
    finding = dataclasses.replace(sample_findings()[0], elements=("Face6", "Face1"))
    (obj,) = store.add_findings(doc, [finding], process="cnc-3axis")
    part.Tool.Placement = FreeCAD.Placement(V(-5, 15, 5), FreeCAD.Rotation(V(0, 1, 0), 90))
    doc.recompute()
    (top,) = upward_faces(part, 10.0)
    assert top != "Face6"
    if ELEMENT_MAPS:
        assert obj.Attachment == "rematched" and obj.LostElements == []
        assert list(obj.Faces[0][1]) == [top, "Face1"] and obj.Elements == [top, "Face1"]
        front = part.Shape.getElement("Face1")
        assert front.CenterOfMass.x == pytest.approx(0.0) and front.Area == pytest.approx(30 * 10 - math.pi * 3**2)
        assert set(json.loads(obj.ElementSignatures)["Part"]) == {top, "Face1"}
    else:
        assert obj.Attachment == "lost" and obj.LostElements == ["Part.Face1"]
        assert list(obj.Faces[0][1]) == [top] and obj.Elements == [top]


def test_a_shape_named_by_index_only_is_checked_by_its_signature(doc):
    """A Part::Feature whose shape is replaced from Python has no element map even on 1.x: FreeCAD
    keeps the link on Face6, which is now a side face. The signature finds the top face instead."""
    obj_part = doc.addObject("Part::Feature", "Part")
    obj_part.Shape = Part.makeBox(40, 30, 10)
    doc.recompute()
    assert upward_faces(obj_part, 10.0) == ["Face6"]
    (obj,) = store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    obj_part.Shape = Part.makeBox(40, 30, 10).cut(Part.makeCylinder(3, 10, V(-5, 15, 5), V(1, 0, 0)))
    doc.recompute()
    (top,) = upward_faces(obj_part, 10.0)
    assert top != "Face6"
    assert obj.Attachment == "rematched" and obj.LostElements == []
    assert list(obj.Faces[0][1]) == [top] and obj.Elements == [top]


@pytest.mark.skipif(not ELEMENT_MAPS, reason="FreeCAD 0.20 never marks a link element missing")
def test_element_freecad_marks_missing_is_found_again_by_its_signature(doc, part):
    """'?Face6' is how 1.x says it lost track of Face6; the face may still be there, renumbered: the
    signature finds it (Face3 after the notch) and the link is repaired, without the '?'."""
    (obj,) = store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    part.Tool.Placement = FreeCAD.Placement(V(-5, 15, 5), FreeCAD.Rotation(V(0, 1, 0), 90))
    doc.recompute()
    (top,) = upward_faces(part, 10.0)
    obj.Faces = [(part, ["?Face6"])]  # as FreeCAD leaves a link it could not follow
    assert store.refresh_attachment(obj) == "rematched"
    assert list(obj.Faces[0][1]) == [top] and obj.Elements == [top] and obj.LostElements == []


def test_ambiguous_match_is_lost_rather_than_guessed():
    from freecad_spatial.spatial_tools.annotations.signature import rematch

    sig = {"surface": "plane", "area": 100.0, "centroid": [0.0, 0.0, 0.0], "direction": [0.0, 0.0, 1.0]}
    other = dict(sig, centroid=[50.0, 0.0, 0.0])
    found = rematch({"Face1": sig}, {"Face": [other, sig, dict(sig)]}, size=100)
    assert found.lost == ["Face1"] and found.names == {}
    found = rematch({"Face1": sig}, {"Face": [other, sig]}, size=100)
    assert found.names == {"Face1": "Face2"}


def test_a_face_at_an_odd_angle_matches_its_own_rounded_signature(doc):
    """Stored normals are rounded: (0.5, 0.866025, 0) must still match itself, and a face
    turned by a tenth of a degree must not."""
    import Part

    from freecad_spatial.spatial_tools.annotations.signature import face_signature, signatures_match

    def slab(degrees):
        box = Part.makeBox(10, 20, 30)
        box.rotate(V(0, 0, 0), V(0, 0, 1), degrees)
        return box

    face = max(slab(30).Faces, key=lambda f: f.Area)
    sig = face_signature(face)
    assert sorted(abs(c) for c in sig["direction"]) == pytest.approx([0.0, 0.5, 0.866025], abs=1e-6)
    assert signatures_match(sig, json.loads(json.dumps(sig)), size=40)
    turned = face_signature(max(slab(30.1).Faces, key=lambda f: f.Area))
    assert not signatures_match(sig, dict(turned, centroid=sig["centroid"], area=sig["area"]), size=40)


def test_signature_survives_moving_the_part(doc, part):
    (obj,) = store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    part.Placement = FreeCAD.Placement(V(5, 7, 9), FreeCAD.Rotation(V(0, 0, 1), 30))
    doc.recompute()
    assert obj.Attachment == "attached" and list(obj.Faces[0][1]) == ["Face6"]


# --- GD&T --------------------------------------------------------------------------------


def test_gdt_objects_with_their_faces_and_text(doc, part):
    datum = store.add_datum_feature(doc, "a", ["Part.Face5"])
    drf = store.add_datum_reference_frame(doc, "A", "B", "C", {"secondary": "MMC"})
    fcf = store.add_feature_control_frame(doc, "position", 0.1, ["Part.Face6"], datums=["A", "B(M)"], diameter_zone=True, material_modifier="MMC")
    size = store.add_size_dimension(doc, 10.0, ["Part.Face6"], fit_code="H7")
    assert [o.SpatialType for o in store.annotations(doc)] == ["DatumFeature", "DatumReferenceFrame", "FeatureControlFrame", "SizeDimension"]
    assert datum.Letter == "A" and list(datum.Faces[0][1]) == ["Face5"] and datum.Label == "Datum A"
    assert drf.SecondaryModifier == "MMC" and drf.Attachment == "unlinked"
    assert frame_text(fcf) == "|⌖|⌀0.1 Ⓜ|A|BⓂ|" and fcf.Label == frame_text(fcf)
    assert size_text(size) == "10 H7" and size_text({"Nominal": 25, "UpperDeviation": 0.1, "LowerDeviation": -0.1}) == "25 ±0.1"
    assert all(o.InList[0].Name == "Spatial" for o in (datum, drf, fcf, size))
    assert doc.UndoNames[:4] == ["Spatial: add 10 H7", "Spatial: add |⌖|⌀0.1 Ⓜ|A|BⓂ|", "Spatial: add DRF A|B|C", "Spatial: add Datum A"]
    for _ in range(4):
        doc.undo()
    assert store.annotations(doc) == []
    with pytest.raises(BadArguments):
        store.add_feature_control_frame(doc, "wobble", 0.1, ["Part.Face6"])
    with pytest.raises(BadReference):
        store.add_datum_feature(doc, "B", ["Part.Face99"])
    assert store.annotations(doc) == [], "a failed step leaves nothing behind"

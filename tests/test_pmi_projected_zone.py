"""Issue 20: projected-zone position frames the file ties only to construction curves in their holes are linked
to those holes' faces, and the link is listed as inferred.

NIST CTC 04's ⊕ ∅0.75 (P)50 | A | B | C and FTC 10's three ⌖ ⌀0.8 Ⓟ3.2 frames name, as their toleranced
shape, a composite group of 'Thread Cylinder' curve sets (a circle and two lines along each thread's axis,
supplemental geometry), never a face. The holes are found here with FreeCAD's own geometry (every cylinder
of the tap-drill size), never with the reader's output; the rule itself is checked on a part built here.
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import CORPORA, FreeCAD, Part

from freecad_spatial.spatial_tools.gdt.pmi_import import (
    import_pmi,
    load_step_shape,
    read_pmi_records,
)
from freecad_spatial.spatial_tools.gdt.pmi_summary import public_summary, summary_lines

NIST = CORPORA / "nist-pmi" / "step"
CTC_04 = NIST / "nist_ctc_04_asme1_ap242-e1.stp"
FTC_10 = NIST / "nist_ftc_10_asme1_ap242-e2.stp"
needs_reader = pytest.mark.skipif(
    importlib.util.find_spec("OCP") is None or not (CTC_04.is_file() and FTC_10.is_file()),
    reason="needs the cadquery-ocp bindings ('pmi' extra) and the NIST PMI corpus",
)

_cache: dict = {}


def _read(path):
    if path not in _cache:
        shape = load_step_shape(path)
        _cache[path] = (shape, read_pmi_records(path, shape=shape))
    return _cache[path]


def _face(shape, ref: str):
    return shape.Faces[int(ref.rpartition("Face")[2]) - 1]


def _axes(faces) -> list[tuple]:
    """Distinct axis lines of cylindrical faces (a hole split in two half-cylinders is one), as rounded points."""
    out = []
    for face in faces:
        s = face.Surface
        d = FreeCAD.Vector(s.Axis)
        d.normalize()
        c = FreeCAD.Vector(s.Center)
        foot = c - d * c.dot(d)  # the axis line's point nearest the origin
        key = tuple(round(v, 3) for v in foot)
        if key not in out:
            out.append(key)
    return out


def _holes_of_radius(shape, radius: float) -> dict[str, Part.Face]:
    """'Part.FaceN' -> face, for every cylindrical face of that radius."""
    return {f"Part.Face{i + 1}": f for i, f in enumerate(shape.Faces)
            if isinstance(f.Surface, Part.Cylinder) and abs(f.Surface.Radius - radius) < 1e-6}


@needs_reader
def test_ctc04_projected_zone_frame_is_linked_to_its_four_tapped_holes():
    shape, result = _read(CTC_04)
    hits = [r for r in result["records"] if r["kind"] == "tolerance" and r["projected_length"]]
    assert [(r["characteristic"], r["value"], r["projected_length"], r["datums"]) for r in hits] == [
        ("position", 0.75, 50.0, ["A", "B", "C"])]
    frame = hits[0]
    # NIST's drawing: 4X M12x1.75-6H, tap drill ∅10.2 (ISO 2306 for M12x1.75). Every ∅10.2 cylinder of the part is
    # one of those four holes; the frame must sit on exactly those faces, all of them.
    drills = _holes_of_radius(shape, 10.2 / 2)
    assert len(_axes(drills.values())) == 4
    assert sorted(frame["faces"]) == sorted(drills)
    assert frame["unmatched_faces"] == 0
    assert frame["inferred_link"] and "inferred" in frame["inferred_link"]
    assert any(link["what"].startswith("|⌖|⌀0.75") for link in result["inferred_links"])


@needs_reader
def test_ftc10_three_projected_zone_frames_each_on_their_two_holes():
    shape, result = _read(FTC_10)
    hits = [r for r in result["records"] if r["kind"] == "tolerance" and r["projected_length"]]
    assert len(hits) == 3
    assert {(r["value"], r["projected_length"]) for r in hits} == {(0.8, 3.2)}
    seen: set = set()
    for frame in hits:
        faces = [_face(shape, ref) for ref in frame["faces"]]
        assert faces and frame["unmatched_faces"] == 0 and frame["inferred_link"], frame
        assert all(isinstance(f.Surface, Part.Cylinder) for f in faces)
        axes = _axes(faces)
        assert len(axes) == 2, axes  # each frame: 2X, its own two holes
        assert not seen & set(axes)
        seen |= set(axes)
        # the holes run along Y (the file's thread axes), and are smaller than the M3 thread they carry
        assert all(abs(abs(FreeCAD.Vector(f.Surface.Axis).normalize().y) - 1) < 1e-9 for f in faces)
        assert all(f.Surface.Radius < 1.5 for f in faces)
    # the ∅3 sizes on the same thread curves (the file's DIMENSIONAL_SIZE on each frame's group) sit on the same holes
    sizes = [r for r in result["records"] if r["kind"] == "dimension" and r.get("inferred_link")]
    assert sorted(sorted(r["faces"]) for r in sizes) == sorted(sorted(r["faces"]) for r in hits)
    assert {(r["value"], r["count"]) for r in sizes} == {(3.0, 2)}


def _plate_with_holes(drill_r: float, bore_r: float):
    """A 100 × 60 × 20 plate with a ∅2·drill_r hole at (30, 30) and a counterbored one at (70, 30), both along Z."""
    plate = Part.makeBox(100, 60, 20)
    drill = Part.makeCylinder(drill_r, 20, FreeCAD.Vector(30, 30, 0), FreeCAD.Vector(0, 0, 1))
    drill2 = Part.makeCylinder(drill_r, 20, FreeCAD.Vector(70, 30, 0), FreeCAD.Vector(0, 0, 1))
    bore = Part.makeCylinder(bore_r, 5, FreeCAD.Vector(70, 30, 15), FreeCAD.Vector(0, 0, 1))
    return plate.cut(drill).cut(drill2).cut(bore)


def test_supplemental_faces_links_the_coaxial_drill_and_nothing_else():
    from freecad_spatial.spatial_tools.gdt.pmi_import import supplemental_faces, supplemental_limits

    shape = _plate_with_holes(5.1, 9.0)
    limits = supplemental_limits()
    thread = {"name": "Thread Cylinder", "point": [30.0, 30.0, 10.0], "direction": [0.0, 0.0, -1.0], "radius": 6.0, "span": [-8.0, 8.0]}
    faces, missing = supplemental_faces([thread], shape, "P", limits)
    assert missing == 0
    picked = [shape.Faces[int(r.rpartition("Face")[2]) - 1] for r in faces]
    assert picked and all(isinstance(f.Surface, Part.Cylinder) and abs(f.Surface.Radius - 5.1) < 1e-9 for f in picked)
    assert {tuple(round(v, 6) for v in (f.Surface.Center.x, f.Surface.Center.y)) for f in picked} == {(30.0, 30.0)}
    # the counterbored hole: its drill is linked, its ∅18 counterbore (ratio 1.5) is not
    other = thread | {"point": [70.0, 30.0, 5.0], "span": [-5.0, 5.0]}
    faces, missing = supplemental_faces([other], shape, "P", limits)
    radii = {round(shape.Faces[int(r.rpartition("Face")[2]) - 1].Surface.Radius, 6) for r in faces}
    assert missing == 0 and radii == {5.1}
    # an axis 1 mm off any hole, a thread beyond the part (no overlap), a thread far larger, an axis across: nothing linked
    for wrong in (thread | {"point": [31.0, 30.0, 10.0]}, thread | {"point": [30.0, 30.0, 60.0]}, thread | {"radius": 12.0},
                  thread | {"direction": [1.0, 0.0, 0.0]}):
        assert supplemental_faces([wrong], shape, "P", limits) == ([], 1)


def test_degenerate_curves_link_nothing_and_raise_nothing():
    from freecad_spatial.spatial_tools.gdt.pmi_import import supplemental_faces

    shape = _plate_with_holes(5.1, 9.0)
    thread = {"point": [30.0, 30.0, 10.0], "direction": [0.0, 0.0, 1.0], "radius": 6.0, "span": None}
    assert supplemental_faces([thread | {"radius": 0.0}], shape, "P") == ([], 1)
    assert supplemental_faces([thread | {"direction": [0.0, 0.0, 0.0]}], shape, "P") == ([], 1)
    faces, missing = supplemental_faces([thread], shape, "P")  # no lines along the axis: no length to cover
    assert missing == 0 and faces


def test_supplemental_faces_follows_the_part_placement():
    from freecad_spatial.spatial_tools.gdt.pmi_import import supplemental_faces

    shape = _plate_with_holes(5.1, 9.0)
    shape.Placement = FreeCAD.Placement(FreeCAD.Vector(0, 0, 100), FreeCAD.Rotation(FreeCAD.Vector(1, 0, 0), 90))
    thread = {"point": [30.0, 30.0, 10.0], "direction": [0.0, 0.0, 1.0], "radius": 6.0, "span": [-8.0, 8.0]}
    faces, missing = supplemental_faces([thread], shape, "P")
    assert missing == 0 and faces


@needs_reader
def test_import_summary_lists_the_inferred_links(doc):
    summary = import_pmi(doc, CTC_04)
    inferred = [i for i in summary["imported"] if i.get("inferred")]
    assert {i["kind"] for i in inferred} == {"tolerance", "dimension"}
    frame = next(i for i in inferred if i["kind"] == "tolerance")
    obj = doc.getObject(frame["object"])
    assert obj.ProjectedLength == 50.0 and obj.Attachment != "unlinked"
    assert frame["faces"] == 8 and frame["unmatched_faces"] == 0  # 4 holes, each two half-cylinders
    public = public_summary(summary)
    assert all(i.get("inferred") for i in public["items"] if i["object"] in {x["object"] for x in inferred})
    lines = summary_lines(summary)
    assert any("linked by inference" in line for line in lines), lines
    assert not any(u["what"] == frame["what"] for u in public["unlinked"])


@needs_reader
def test_summary_dialog_marks_the_inferred_links(qtbot, doc, monkeypatch):
    import os

    monkeypatch.setenv("QT_QPA_PLATFORM", os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    monkeypatch.setenv("FREECAD_SPATIAL_QT", "pyside6")  # as test_pmi_summary_dialog: the dialog under pytest-qt
    pytest.importorskip("PySide6")
    from freecad_spatial.panels.pmi_summary import PmiSummaryDialog

    data = public_summary(import_pmi(doc, CTC_04))
    dialog = PmiSummaryDialog(data)
    qtbot.addWidget(dialog.dialog)
    marked = [(text, note) for text, note in dialog.rows(dialog.imported_root) if "inference" in note]
    assert sorted(text for text, _ in marked) == ["4X M12x1.75-6H", "|position|⌀0.75 (P)50|A|B|C|"], marked
    rows = [dialog.imported_root.child(i).child(j) for i in range(dialog.imported_root.childCount())
            for j in range(dialog.imported_root.child(i).childCount())]
    assert all("inferred from geometry" in r.toolTip(1) for r in rows if "inference" in r.text(1))

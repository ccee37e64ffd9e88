"""suggest_gdt on the sample L bracket: the datum choice, the frames, and accepting them in one undo step."""

from __future__ import annotations

import math

import pytest
from conftest import BRACKET, error, ok

from freecad_spatial.spatial_tools.annotations import store
from freecad_spatial.spatial_tools.errors import BadArguments
from freecad_spatial.spatial_tools.gdt.suggest import accept, defaults, suggest
from freecad_spatial.spatial_tools.gdt.validation import check_gdt


def faces(document, suggestion):
    shape = document.getObject("Body").Shape
    return [shape.Faces[int(r.split(".Face")[1]) - 1] for r in suggestion.refs]


def normal(face):
    u0, u1, v0, v1 = face.ParameterRange
    return face.normalAt((u0 + u1) / 2, (v0 + v1) / 2)


def by_id(found):
    return {s.id: s for s in found}


def test_datum_reference_frame_of_the_bracket(bracket):
    found = by_id(suggest(bracket))
    a, b, c = (faces(bracket, found[f"datum_{x}"]) for x in "ABC")
    # A: the base's bottom, Z = 0, normal -Z; all coplanar faces of it (base and wall foot), the largest planar area.
    assert all(abs(f.CenterOfMass.z) < 1e-6 and normal(f).z == pytest.approx(-1) for f in a)
    assert sum(f.Area for f in a) == pytest.approx(80 * 70 - 4 * math.pi * 3.3**2 - 2 * (5**2 - math.pi * 5**2 / 4))  # holes, R5 corners
    # B: the back face Y = 70 (base back and wall back, one plane 80 long, 80 x 40): the longest plane
    # perpendicular to A, and of the equally long ones (wall front, Y = 65) the larger.
    assert all(abs(f.CenterOfMass.y - 70) < 1e-6 and normal(f).y == pytest.approx(1) for f in b)
    assert sum(f.Area for f in b) == pytest.approx(80 * 40)
    # C: perpendicular to both: a side, X = 0 (the origin side of the two equal ones).
    assert all(abs(f.CenterOfMass.x) < 1e-6 and normal(f).x == pytest.approx(-1) for f in c)
    assert all(s.reason for s in found.values())
    assert "Largest planar face" in found["datum_A"].reason and "perpendicular to A" in found["datum_B"].reason


def test_frames_of_the_bracket(bracket):
    found = by_id(suggest(bracket))
    position = found["position_1"]
    assert position.characteristic == "position" and position.material_modifier == "MMC" and position.diameter_zone
    assert position.datums == ["A", "B", "C"]
    centres = sorted((round(f.CenterOfMass.x), round(f.CenterOfMass.y)) for f in faces(bracket, position))
    assert centres == [(20, 10), (20, 50), (60, 10), (60, 50)]
    assert all(f.Surface.Radius == pytest.approx(3.3) for f in faces(bracket, position))
    # ISO 273 medium M6 (Ø6.6), fixed fastener: (6.6 - 6) / 2 = 0.3.
    assert position.zone == pytest.approx(0.3) and "M6" in position.reason and "ISO 273" in position.reason
    assert position.title == "|⌖|⌀0.3 Ⓜ|A|B|C|"
    assert found["size_1"].characteristic == "H13" and found["size_1"].refs == position.refs
    assert found["flatness_A"].refs == found["datum_A"].refs and found["flatness_A"].zone == defaults()["primary"]["flatness_zone"]
    # The blind Ø5 hole is a bore: located, and perpendicular to A tighter than its position.
    perpendicular = found["perpendicularity_2"]
    assert perpendicular.datums == ["A"] and perpendicular.zone < found["position_2"].zone
    assert [round(f.Surface.Radius, 3) for f in faces(bracket, perpendicular)] == [2.5]


def test_accepting_is_one_undo_step(bracket):
    before = sorted(o.Name for o in bracket.Objects)
    undo_before = bracket.UndoCount
    found = suggest(bracket)
    created = accept(bracket, found)
    kinds = [o.SpatialType for o in created]
    assert kinds.count("DatumFeature") == 3 and kinds.count("DatumReferenceFrame") == 1
    assert kinds.count("FeatureControlFrame") == 4 and kinds.count("SizeDimension") == 1
    assert bracket.UndoCount == undo_before + 1 and bracket.UndoNames[0] == "Spatial: accept 8 GD&T suggestions"
    drf = next(o for o in created if o.SpatialType == "DatumReferenceFrame")
    assert (drf.Primary, drf.Secondary, drf.Tertiary) == ("A", "B", "C")
    # The accepted GD&T passes its own check, but for the blind hole's size (left to the designer).
    assert [f.rule for f in check_gdt(bracket).findings] == ["gdt.undimensioned_feature_of_size"]
    bracket.undo()
    assert sorted(o.Name for o in bracket.Objects) == before
    assert store.annotations(bracket) == []


def test_accepting_some_and_refusing_frames_without_their_datums(bracket):
    found = suggest(bracket)
    with pytest.raises(BadArguments, match="datum_B"):
        accept(bracket, found, ["datum_A", "position_1"])
    assert store.annotations(bracket) == []
    with pytest.raises(BadArguments, match="unknown"):
        accept(bracket, found, ["nope"])
    created = accept(bracket, found, ["datum_A", "flatness_A"])
    assert [o.SpatialType for o in created] == ["DatumFeature", "FeatureControlFrame"]


def test_the_tool_proposes_and_accepts(bracket):
    result = ok(bracket, "suggest_gdt")
    assert result["object"] == "Body" and result["created"] == []
    assert {s["id"] for s in result["suggestions"]} >= {"datum_A", "datum_B", "datum_C", "position_1", "flatness_A"}
    assert store.annotations(bracket) == []
    accepted = ok(bracket, "suggest_gdt", {"accept": ["all"]})
    assert len(accepted["created"]) == 9 and bracket.UndoNames[0].startswith("Spatial: accept")
    assert "Nope" in error(bracket, "suggest_gdt", {"object": "Nope"})["message"]


GUI_SCRIPT = r'''
r = harness.result
Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
r["registered"] = "Spatial_SuggestGdt" in Gui.listCommands()
doc = App.openDocument(harness.params["sample"])
harness.wait(300)

def answer(tries=[0]):
    w = QtGui.QApplication.activeModalWidget()
    if w is None:
        tries[0] += 1
        if tries[0] < 100:
            QtCore.QTimer.singleShot(100, answer)
        return
    items = w.findChild(QtGui.QListWidget, "SpatialSuggestions")
    r["title"] = w.windowTitle()
    r["items"] = [items.item(i).text() for i in range(items.count())]
    from freecad_spatial.panels.suggest_gdt_dialog import TITLE_ROLE
    r["icons"] = [not items.item(i).icon().isNull() for i in range(items.count())]
    for i in range(items.count()):  # keep the datums and the hole pattern's position only
        title = items.item(i).data(TITLE_ROLE)
        keep = title.startswith("Datum") or title.startswith("|⌖|⌀0.3")
        items.item(i).setCheckState(QtCore.Qt.Checked if keep else QtCore.Qt.Unchecked)
    harness.screenshot("suggest_gdt_dialog", w)
    w.findChild(QtGui.QPushButton, "SpatialAcceptSuggestions").click()

QtCore.QTimer.singleShot(300, answer)
Gui.runCommand("Spatial_SuggestGdt")
harness.wait(300)
r["types"] = sorted(o.SpatialType for o in doc.Objects if "SpatialType" in o.PropertiesList)
r["undo"] = doc.UndoNames[:1]
doc.undo()
r["after_undo"] = [o.Name for o in doc.Objects if "SpatialType" in o.PropertiesList]
'''


@pytest.mark.gui
def test_suggest_gdt_command_in_the_gui(tmp_path):
    import gui_harness

    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    run = gui_harness.run_in_freecad_gui(GUI_SCRIPT, params={"sample": str(BRACKET)}, work_dir=tmp_path)
    r = run.result
    assert r["registered"] and r["title"] == "Suggest GD&T"
    assert any(t.startswith("Datum A") and "Largest planar face" in t for t in r["items"])
    # The position frame reads in words (no font here has ⌖) and is drawn beside them.
    assert any(t.startswith("Position ⌀0.3 (M) to A|B|C") for t in r["items"]), r["items"]
    assert not any("⌖" in t or "Ⓜ" in t for t in r["items"]) and sum(r["icons"]) >= 4
    print("dialog screenshot:", run.screenshots.get("suggest_gdt_dialog"))
    assert r["types"] == ["DatumFeature"] * 3 + ["DatumReferenceFrame", "FeatureControlFrame"]
    assert r["undo"] == ["Spatial: accept 4 GD&T suggestions"] and r["after_undo"] == []

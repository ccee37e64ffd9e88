"""The scene encoder on real documents: what the model sees, checked against what the test built."""

import json
import math

import pytest
from conftest import FreeCAD, Part, face_where
from scene_builders import FILLET_R, PART_VOLUME, build_scene, corner_edge, grid_body

from freecad_spatial.spatial_tools import encoder
from freecad_spatial.spatial_tools.errors import BadArguments
from freecad_spatial.spatial_tools.tokens import estimate_tokens


def node(encoding: dict, name: str) -> dict:
    def walk(nodes):
        for n in nodes:
            if n["name"] == name:
                return n
            found = walk(n.get("children", []))
            if found:
                return found
        return None

    found = walk(encoding["tree"])
    assert found is not None, f"{name} not in the encoding"
    return found


def test_hierarchy_parameters_and_units(doc):
    build_scene(doc)
    enc = encoder.encode(doc)
    assert enc["schema"] == "freecad-spatial/scene@1"
    assert [n["name"] for n in enc["tree"]] == ["Spreadsheet", "Body", "Part", "Group", "Ghost"]
    body = node(enc, "Body")
    # each profile sketch is folded into the feature that consumes it (issue 16)
    assert [c["name"] for c in body["children"]] == ["Pad", "Pocket", "Fillet"]
    assert [c.get("tip", False) for c in body["children"]] == [False, False, True]
    assert body["type"] == "PartDesign::Body"
    profile = node(enc, "Pad")["profile"]
    assert profile["name"] == "Sketch" and "type" not in profile  # a profile is a sketch
    sketch = profile
    assert sketch["named_constraints"]["Width"] == {"type": "DistanceX", "value": 40}
    assert "unnamed_constraints" not in sketch  # the geometric ones say nothing; dimensions do
    assert sketch["dimensions"] == ["DistanceY 20"]
    assert sketch["geometry"] == {"LineSegment": 4}
    assert sketch["fully_constrained"] is True
    assert profile["on"] == "XY_Plane" and "mode" not in profile  # FlatFace: a sketch's usual mode
    pad = node(enc, "Pad")
    assert "type" not in pad  # a Body's feature named by its short type and a number: the name says it
    assert node(enc, "Fillet")["tip"] is True and "type" not in node(enc, "Fillet")
    assert pad["Length"] == 10 and "Profile" not in pad and "params" not in pad  # Type Length: the length says so; the profile its sketch
    assert pad["expressions"] == {"Length": "Spreadsheet.thick"}
    assert node(enc, "Pocket")["Length"] == 4
    hole = node(enc, "Pocket")["profile"]
    # the plane's 10 mm shift is in the circle's global centre: not said twice
    assert hole["name"] == "HoleSketch" and "offset" not in hole
    assert all(c[2] == 10 for group in hole["circles"] for c in group["at"])
    assert "placement" not in hole  # it follows from the attachment
    # query_feature_tree shows every object as its own node, the sketch with its attachment
    full = encoder.subtree(doc, "Body")["tree"][0]
    assert [c["name"] for c in full["children"]] == ["Sketch", "Pad", "HoleSketch", "Pocket", "Fillet"]
    assert full["children"][0]["type"] == "Sketch" and full["children"][0]["attachment"] == {"support": ["XY_Plane"]}
    assert (full["children"][1]["Length"], full["children"][1]["Profile"]) == (10, "Sketch")
    assert full["children"][2]["attachment"]["offset"] == {"position": [0, 0, 10]}
    fillet = node(enc, "Fillet")
    assert fillet["Radius"] == 2
    assert len(fillet["Base"]) == 1 and fillet["Base"][0].startswith("Pocket.Edge")
    aliases = node(enc, "Spreadsheet")["spreadsheet"]["aliases"]
    # FreeCAD 1.x normalises the formula's text ("=10 mm"): the encoding shows what FreeCAD holds.
    assert aliases == {"thick": {"cell": "B1", "value": 10, "formula": doc.getObject("Spreadsheet").getContents("B1")}}
    assert aliases["thick"]["formula"].replace(" ", "") == "=10mm"


def test_shape_summary_matches_the_built_solid(doc):
    build_scene(doc)
    shape = node(encoder.encode(doc), "Body")["shape"]
    assert shape["volume"] == pytest.approx(PART_VOLUME, rel=1e-5)
    # 6 faces of the block, the pocket's wall and floor, the fillet's quarter cylinder.
    assert shape["faces"] == {"Cylinder": 2, "Plane": 7}
    assert shape["bbox"] == {"min": [0, 0, 0], "max": [40, 20, 10]}
    assert shape["solids"] == 1 and shape["valid"] is True
    top_and_bottom = 2 * (800 - math.pi * 25) + math.pi * 25  # the pocket floor replaces its disc
    assert shape["area"] > top_and_bottom  # sides too; the exact area is the kernel's


def test_an_edit_is_never_reported_with_old_numbers(doc):
    build_scene(doc)
    assert node(encoder.encode(doc), "Body")["shape"]["volume"] == pytest.approx(PART_VOLUME, rel=1e-5)
    doc.getObject("Spreadsheet").set("B1", "=12mm")  # the pad follows Spreadsheet.thick
    doc.recompute()
    # FreeCAD 1.0's element map loses the fillet's edge on this edit ('?Edge1'): the body keeps
    # its old solid and says so (test_failed_feature_marks_the_body_numbers_stale). Point the
    # fillet at the corner again, as a user would.
    fillet, pocket = doc.getObject("Fillet"), doc.getObject("Pocket")
    fillet.Base = (pocket, [corner_edge(pocket)])
    doc.recompute()
    assert "Invalid" not in fillet.State
    enc = encoder.encode(doc)
    assert node(enc, "Pad")["Length"] == 12
    # The pocket's sketch stays at z = 10, so its 4 mm cylinder is cut as before (now closed in).
    taller = 40 * 20 * 12 - math.pi * 5**2 * 4 - (FILLET_R**2 - math.pi * FILLET_R**2 / 4) * 12
    assert node(enc, "Body")["shape"]["volume"] == pytest.approx(taller, rel=1e-5)
    assert node(enc, "Body")["shape"]["bbox"]["max"] == [40, 20, 12]


def test_failed_feature_marks_the_body_numbers_stale(doc):
    """A body whose feature fails keeps its last good solid: the numbers must say they are old."""
    build_scene(doc)
    fillet = doc.getObject("Fillet")
    fillet.Radius = 50  # larger than the block: OCC cannot build it
    doc.recompute()
    assert "Invalid" in fillet.State or "Error" in fillet.State
    shape = node(encoder.encode(doc), "Body")["shape"]
    assert shape["stale"].startswith("Fillet failed")
    assert shape["volume"] == pytest.approx(doc.getObject("Body").Shape.Volume, rel=1e-5)
    fillet.Radius = FILLET_R
    doc.recompute()
    assert "stale" not in node(encoder.encode(doc), "Body")["shape"]


def test_part_link_group_and_visibility(doc):
    build_scene(doc)
    enc = encoder.encode(doc)
    part = node(enc, "Part")
    assert part["placement"] == {"position": [100, 0, 0], "axis": [0, 0, 1], "angle": 90}
    box = part["children"][0]
    assert (box["Length"], box["Width"], box["Height"]) == (10, 20, 30)
    # The box (x 0..10, y 0..20) turned 90° about Z and moved by x = 100.
    assert box["shape"]["bbox"] == {"min": [80, 0, 0], "max": [100, 10, 30]}
    assert box["shape"]["volume"] == 6000
    group = node(enc, "Group")
    assert [c["name"] for c in group["children"]] == ["Link"]
    link = group["children"][0]
    assert link["link"] == "Box" and link["placement"] == {"position": [0, 50, 0]}
    assert link["shape"]["bbox"] == {"min": [0, 50, 0], "max": [10, 70, 30]}
    assert node(enc, "Ghost")["visible"] is False
    assert node(enc, "Ghost")["Radius"] == 3
    assert "visible" not in box and "visible" not in node(enc, "Body")


def test_broken_features_show_their_error(doc):
    body = build_scene(doc, broken=True)
    bad = body.newObject("Sketcher::SketchObject", "Conflict")
    bad.addGeometry(Part.LineSegment(FreeCAD.Vector(0, 0, 0), FreeCAD.Vector(10, 0, 0)), False)
    import Sketcher

    bad.addConstraint(Sketcher.Constraint("Distance", 0, 10))
    bad.addConstraint(Sketcher.Constraint("Distance", 0, 20))
    doc.recompute()
    enc = encoder.encode(doc)
    pocket = node(enc, "EmptyPocket")
    # The wording is FreeCAD's: 0.20 says "No profile linked", 1.x "No object linked".
    assert "invalid" in pocket["state"] and pocket["error"] == doc.getObject("EmptyPocket").getStatusString()
    assert pocket["error"] in ("No profile linked", "No object linked")
    conflict = node(enc, "Conflict")
    assert "invalid" in conflict["state"] and "conflicting constraints" in conflict["error"]
    assert "error" not in node(enc, "Pad") and "state" not in node(enc, "Pad")


def test_selection_refs_with_picked_points(doc):
    build_scene(doc)
    pad = doc.getObject("Pad")
    top = face_where(pad, lambda f: abs(f.normalAt(0, 0).z - 1) < 1e-9 and abs(f.CenterOfMass.z - 10) < 1e-9)
    enc = encoder.encode(
        doc, selection=[{"ref": top, "picked_point": [5, 5, 10]}, {"ref": "Pad.Face99", "picked_point": None}]
    )
    first, second = enc["selection"]
    assert first["ref"] == top and first["picked_point"] == [5, 5, 10]
    assert first["object"] == "Body.Pad" and first["surface"] == "Plane" and first["area"] == 800
    assert "Face99" in second["error"] and "picked_point" not in second
    # The selected feature shows its own shape: the bare pad, 40 x 20 x 10.
    assert node(enc, "Pad")["shape"]["volume"] == 8000
    assert "shape" not in node(enc, "Pocket")
    with pytest.raises(BadArguments):
        encoder.encode(doc, selection=[{"ref": top, "picked_point": [1, 2]}])
    with pytest.raises(BadArguments):
        encoder.encode(doc, selection=[{"ref": top, "picked_point": [1, 2, "x"]}])
    with pytest.raises(BadArguments):
        encoder.encode(doc, selection=[42])


def test_encoding_is_deterministic_across_save_and_reopen(doc, tmp_path):
    build_scene(doc)
    path = tmp_path / "scene.FCStd"
    doc.saveAs(str(path))  # saveAs renames the document's label to the file's stem
    first = encoder.encode_json(doc)
    assert encoder.encode_json(doc) == first
    # FreeCAD hands back the open document for its own path, and names a document after its file.
    copy = tmp_path / "copy" / "scene.FCStd"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    reopened = FreeCAD.openDocument(str(copy))
    try:
        assert reopened is not doc
        assert encoder.encode_json(reopened) == first
    finally:
        FreeCAD.closeDocument(reopened.Name)
    assert json.loads(first) == encoder.encode(doc)
    assert " at 0x" not in first and str(tmp_path) not in first


def test_no_defaults_or_view_noise(doc):
    build_scene(doc)
    text = encoder.encode_json(doc)
    for noise in ("Label2", "ExpressionEngine", "Visibility", "ShapeColor", "Uid", "AddSubShape", "Refine", "_Body"):
        assert f'"{noise}"' not in text, noise


def test_version_defaults_and_touched_state_stay_out_of_the_nodes(doc):
    """FreeCAD 1.x defaults Refine from a preference and marks a 0.20 file's features touched."""
    build_scene(doc)
    pad = doc.getObject("Pad")
    pad.Refine = True
    doc.recompute()
    assert node(encoder.encode(doc), "Pad")["Refine"] is True
    pad.Refine = False
    doc.recompute()
    enc = encoder.encode(doc)
    assert "Refine" not in node(enc, "Pad")
    assert "recompute_pending" not in enc["document"]
    pad.Length = float(pad.Length) + 1.0  # changed, not yet recomputed
    enc = encoder.encode(doc)
    touched = [o for o in doc.Objects if "Touched" in o.State]
    assert enc["document"]["recompute_pending"] == len(touched) >= 1
    assert "state" not in node(enc, "Pad")


@pytest.fixture(scope="module")
def grid_doc():
    document = FreeCAD.newDocument("EncoderGrid")
    grid_body(document, 60)
    yield document
    FreeCAD.closeDocument(document.Name)


def _naive_dump(document) -> str:
    return json.dumps({o.Name: {p: str(getattr(o, p)) for p in o.PropertiesList} for o in document.Objects})


def test_grid_body_is_complete_and_compact(grid_doc):
    body = grid_doc.getObject("Body")
    assert all(o.isValid() for o in body.Group), "the generated body must build"
    enc = encoder.encode(grid_doc)
    children = enc["tree"][0]["children"]
    profiles = [c["profile"]["name"] for c in children if "profile" in c]
    assert sorted([c["name"] for c in children] + profiles) == sorted(o.Name for o in body.Group)
    assert len(children) == 60 and all(not c["name"].startswith("Sketch") for c in children)  # all profiles
    plate = children[0]
    assert plate["name"] == "Plate" and plate["type"] == "Pad"  # a name that does not say the type
    assert node(enc, "Body")["shape"]["volume"] == pytest.approx(body.Shape.Volume, rel=1e-5)
    ratio = estimate_tokens(_naive_dump(grid_doc)) / estimate_tokens(encoder.encode_json(grid_doc))
    assert ratio >= 8, f"only {ratio:.1f}x smaller than a naive property dump"  # 4.9 before issue 16, 6.5 on main, 8.9 now


def test_large_body_points_to_its_numbers_instead_of_measuring(grid_doc, monkeypatch):
    from freecad_spatial.spatial_tools import encoder_values
    from freecad_spatial.spatial_tools.context import ToolContext
    from freecad_spatial.spatial_tools.registry import load_builtin_tools

    body = grid_doc.getObject("Body")
    measured = node(encoder.encode(grid_doc), "Body")["shape"]  # numbers now in the shape cache
    assert measured["volume"] == pytest.approx(body.Shape.Volume, rel=1e-5)
    # The limit in force is the running version's entry of the table in resources/encoder.toml
    # (every supported version has one): the other entries are set to 0 here, and the body is
    # still measured at 60 features when its entry says 60, not one below (cache or no cache).
    table = encoder_values.config()["limits"]["summary_max_body_features"]
    running = ".".join(FreeCAD.Version()[:2])
    assert running in table and encoder.body_feature_limit() == table[running]
    for version in table:
        monkeypatch.setitem(table, version, 0)
    monkeypatch.setitem(table, running, 60)
    assert encoder.body_feature_limit() == 60
    # A version the table does not list takes the entry of the newest listed one before it.
    with monkeypatch.context() as patched:
        patched.setitem(table, "0.20", 20)
        patched.setitem(table, "1.1", 11)
        for version, limit in ((["0", "19", "0"], 20), (["0", "21", "4"], 20), (["1", "2", "0"], 11)):
            patched.setattr(FreeCAD, "Version", lambda v=version: v)
            assert encoder.body_feature_limit() == limit, version
    assert node(encoder.encode(grid_doc), "Body")["shape"] == measured
    monkeypatch.setitem(table, running, 59)
    link = grid_doc.addObject("App::Link", "BodyLink")
    link_link = grid_doc.addObject("App::Link", "LinkLink")
    try:
        link.LinkedObject = body
        link_link.LinkedObject = link
        grid_doc.recompute()
        enc = encoder.encode(grid_doc)
        shape = node(enc, "Body")["shape"]
        assert "volume" not in shape and "60 PartDesign features" in shape["not_measured"]
        assert shape["get"] == {"tool": "mass_properties", "args": {"object": "Body"}}
        assert node(enc, "BodyLink")["shape"]["get"]["args"] == {"object": "BodyLink"}
        assert node(enc, "LinkLink")["shape"]["get"]["args"] == {"object": "LinkLink"}
        # A selected feature shows its own shape: measured early in the history, not at its end.
        tip, early = body.Tip.Name, "Pad001"
        picked = encoder.encode(grid_doc, selection=[f"{tip}.Face1", f"{early}.Face1"])
        assert "60 PartDesign features" in node(picked, tip)["shape"]["not_measured"]
        assert node(picked, early)["shape"]["volume"] > 0
        # In budget mode a dropped pointer still names the cheap call, not query_feature_tree.
        pointers = []
        for budget in range(400, 3000, 100):
            fitted = encoder.encode(grid_doc, budget_tokens=budget)
            pointers += [e for e in fitted.get("omitted", []) if e["path"] == "Body" and e["what"] == ["shape"]]
        assert pointers, "no budget dropped the Body's shape part: the check below would be empty"
        assert all(e["get"] == shape["get"] for e in pointers)
        # The pointer's call measures it; query_feature_tree on the path gives the whole summary.
        registry, ctx = load_builtin_tools(), ToolContext(document=grid_doc)
        for ref in ("Body", "BodyLink"):
            got = registry.call(shape["get"]["tool"], {"object": ref}, ctx)["result"]
            assert got["volume"] == pytest.approx(body.Shape.Volume, rel=1e-5)
            assert got["bbox"]["min"] + got["bbox"]["max"] == pytest.approx(
                measured["bbox"]["min"] + measured["bbox"]["max"], abs=1e-3
            )
        summary = registry.call("query_feature_tree", {"path": "Body"}, ctx)["result"]["tree"][0]["shape"]
        assert summary["faces"] == measured["faces"] and summary["valid"] is True
    finally:
        grid_doc.removeObject("LinkLink")
        grid_doc.removeObject("BodyLink")


@pytest.mark.parametrize("budget", [150, 400, 1000, 2500])
def test_budget_fits_and_says_what_it_left_out(grid_doc, budget):
    text = encoder.encode_json(grid_doc, budget_tokens=budget)
    assert estimate_tokens(text) <= budget
    enc = json.loads(text)
    assert enc["omitted"], "a 60-feature body cannot fit without omissions"
    for entry in enc["omitted"]:
        assert entry["what"] and entry["get"]["tool"] == "query_feature_tree"
    body = grid_doc.getObject("Body")
    features = [o.Name for o in body.Group]
    shown = [c["name"] for root in enc["tree"] for c in root.get("children", [])]
    shown += [c["profile"]["name"] for root in enc["tree"] for c in root.get("children", []) if "profile" in c]
    missing = [name for name in features if name not in shown]
    pointers = [e for e in enc["omitted"] if {"object", "objects", "tree"} & set(e["what"])]
    for name in missing:  # every object left out is covered by a pointer to it or above it
        assert any(e["path"] in ("", "Body", f"Body.{name}") for e in pointers), name
    if shown:
        assert body.Tip.Name in shown  # the Tip goes in before its siblings
        # child_count counts the Body's entries: its features, each with its profile sketch inside
        assert enc["tree"][0].get("child_count", len(enc["tree"][0]["children"])) == 60
    if budget >= 1000:  # room for exact pointers: their counts add up
        assert sum(e.get("count", 1) for e in pointers) == len(missing)
        assert "Body" in {e["path"] for e in enc["omitted"] if e["what"] == ["shape"]} or "shape" in enc["tree"][0]


def test_budget_keeps_the_selection_first(grid_doc):
    ref = "Pad025.Face1"
    text = encoder.encode_json(grid_doc, selection=[{"ref": ref, "picked_point": [1, 2, 3]}], budget_tokens=600)
    enc = json.loads(text)
    assert enc["selection"][0]["ref"] == ref
    pad = node(enc, "Pad025")
    assert pad["Length"] == 2 and "shape" in pad


def test_large_budget_is_the_full_encoding(grid_doc):
    full = encoder.encode_json(grid_doc)
    assert encoder.encode_json(grid_doc, budget_tokens=10 * estimate_tokens(full)) == full


def test_too_small_a_budget_is_refused(grid_doc):
    with pytest.raises(BadArguments, match="below the smallest encoding"):
        encoder.encode(grid_doc, budget_tokens=20)
    with pytest.raises(BadArguments):
        encoder.encode(grid_doc, budget_tokens=0)


def test_encoding_leaves_the_session_as_it_was(doc):
    build_scene(doc)
    FreeCAD.setActiveDocument(doc.Name)
    documents = set(FreeCAD.listDocuments())
    states = {o.Name: o.State for o in doc.Objects}
    encoder._defaults_cache.clear()  # forces the scratch document that reads FreeCAD's defaults
    encoder.encode(doc)
    assert set(FreeCAD.listDocuments()) == documents
    assert FreeCAD.ActiveDocument.Name == doc.Name
    assert {o.Name: o.State for o in doc.Objects} == states


def test_cli_encode_with_a_budget(doc, tmp_path, capsys):
    from freecad_spatial.spatial_tools.cli import main

    build_scene(doc)
    path = tmp_path / "scene.FCStd"
    doc.saveAs(str(path))
    assert main(["encode", str(path)]) == 0
    assert capsys.readouterr().out.strip() == encoder.encode_json(doc)
    assert main(["encode", str(path), "--budget", "300"]) == 0
    text = capsys.readouterr().out.strip()
    assert estimate_tokens(text) <= 300 and json.loads(text)["omitted"]


def test_token_estimate_follows_its_documented_rule():
    # '{"' name '":"' Pad '"}'  -> 5 pieces of one token each
    assert estimate_tokens('{"name":"Pad"}') == 5
    # Part|Design (case change), '::', Sketch (capitalised, 6 letters: 1), 001 (3 digits: 1)
    assert estimate_tokens("PartDesign::Sketch001") == 2 + 1 + 1 + 1
    assert estimate_tokens("1234567") == 3  # digits in groups of three
    assert estimate_tokens("") == 0
    assert estimate_tokens("x = 1\n    y") == 1 + 1 + 1 + 1 + 1  # x, =, 1, newline+indent, y

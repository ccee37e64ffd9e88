"""query_feature_tree through the registry: subtrees, depth, full detail, and bad paths."""

import json

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, ok
from scene_builders import FILLET_R, PART_VOLUME, build_scene

from freecad_spatial.spatial_tools import encoder


def names(nodes):
    return [n["name"] for n in nodes]


def every_name(nodes):
    return [m for n in nodes for m in [n["name"], *([n["profile"]["name"]] if "profile" in n else [])]
            + every_name(n.get("children", []))]


def test_whole_document_and_depth(doc):
    build_scene(doc)
    whole = ok(doc, "query_feature_tree")
    assert whole["path"] == "" and names(whole["tree"]) == ["Spreadsheet", "Body", "Part", "Group", "Ghost"]
    # the overview is the compact form of the same tree: every object, profile sketches inside their features
    assert sorted(every_name(whole["tree"])) == sorted(every_name(encoder.encode(doc)["tree"]))
    top = ok(doc, "query_feature_tree", {"depth": 1})
    body = top["tree"][1]
    assert "children" not in body and body["child_count"] == 5
    nothing = ok(doc, "query_feature_tree", {"depth": 0})
    assert nothing["tree"] == [] and nothing["child_count"] == 5


def test_a_body_and_its_features(doc):
    build_scene(doc)
    result = ok(doc, "query_feature_tree", {"path": "Body", "depth": 1})
    (body,) = result["tree"]
    assert result["path"] == "Body"
    assert names(body["children"]) == ["Sketch", "Pad", "HoleSketch", "Pocket", "Fillet"]
    assert body["shape"]["volume"] == pytest.approx(PART_VOLUME, rel=1e-5)
    alone = ok(doc, "query_feature_tree", {"path": "Body", "depth": 0})["tree"][0]
    assert "children" not in alone and alone["child_count"] == 5


def test_a_feature_gets_its_own_shape_and_validity(doc):
    build_scene(doc)
    (pad,) = ok(doc, "query_feature_tree", {"path": "Body.Pad"})["tree"]
    assert pad["Length"] == 10 and pad["expressions"] == {"Length": "Spreadsheet.thick"}
    assert pad["shape"]["volume"] == 8000 and pad["shape"]["valid"] is True
    (fillet,) = ok(doc, "query_feature_tree", {"path": "Fillet"})["tree"]  # a bare name works too
    assert fillet["tip"] is True and fillet["Radius"] == FILLET_R
    (box,) = ok(doc, "query_feature_tree", {"path": "Part.Box"})["tree"]
    assert box["shape"]["volume"] == 10 * 20 * 30


def test_validity_of_large_shapes_only_on_request(doc, monkeypatch):
    """BRepCheck runs for minutes on a large body (on the GUI thread in the chat): over
    validity_max_faces a path query says how to ask for it, and check_validity runs it."""
    from freecad_spatial.spatial_tools import encoder_values

    bowtie = Part.Face(Part.makePolygon([V(0, 0, 0), V(10, 10, 0), V(10, 0, 0), V(0, 10, 0), V(0, 0, 0)]))
    add_shape(doc, "Broken", bowtie.extrude(V(0, 0, 5)))  # 6 faces, self-intersecting: invalid
    add_shape(doc, "Block", Part.makeBox(1, 2, 3))  # 6 faces, valid
    doc.recompute()

    def shape(path, **args):
        return ok(doc, "query_feature_tree", {"path": path, **args})["tree"][0]["shape"]

    limits = encoder_values.config()["limits"]
    monkeypatch.setitem(limits, "validity_max_faces", 6)  # at the limit: checked
    assert shape("Broken")["valid"] is False and shape("Block")["valid"] is True
    monkeypatch.setitem(limits, "validity_max_faces", 5)  # over it: not checked, and said how to
    skipped = shape("Broken")
    assert "valid" not in skipped and "check_validity true" in skipped["valid_check"]
    assert "6 faces" in skipped["valid_check"]
    assert shape("Broken", check_validity=True)["valid"] is False
    assert shape("Block", check_validity=True)["valid"] is True
    never = shape("Broken", check_validity=False)
    assert "valid" not in never and "valid_check" not in never
    whole = ok(doc, "query_feature_tree", {"check_validity": True})["tree"]
    assert {n["name"]: n["shape"]["valid"] for n in whole} == {"Broken": False, "Block": True}
    assert error(doc, "query_feature_tree", {"path": "Block", "check_validity": "yes"})["code"] == "bad_arguments"


@pytest.mark.parametrize(
    "path, words",
    [
        ("Nope", "no object named 'Nope'"),
        ("Body.Box", "not inside 'Body'"),
        ("Body.Pad.Face1", "element"),
        ("XY_Plane", "not in the feature tree"),
        ("Body..Pad", "not an object name"),
    ],
)
def test_bad_paths_are_bad_references(doc, path, words):
    build_scene(doc)
    problem = error(doc, "query_feature_tree", {"path": path})
    assert problem["code"] == "bad_reference" and words in problem["message"], problem


def test_bad_arguments(doc):
    build_scene(doc)
    assert error(doc, "query_feature_tree", {"depth": -1})["code"] == "bad_arguments"
    assert error(doc, "query_feature_tree", {"path": 3})["code"] == "bad_arguments"
    assert error(None, "query_feature_tree")["code"] == "no_document"


def _find(nodes, name):
    for n in nodes:
        if n["name"] == name:
            return n
        found = _find(n.get("children", []), name)
        if found:
            return found
    return None


def test_following_an_omission_returns_what_was_left_out(doc):
    build_scene(doc)
    full = encoder.subtree(doc)["tree"]  # one node per object, as query_feature_tree returns them
    for budget in (300, 450, 600, 800):  # the first budget that leaves some parameters out
        budgeted = json.loads(encoder.encode_json(doc, budget_tokens=budget))
        entries = [e for e in budgeted.get("omitted", []) if "parameters" in e["what"]]
        if entries:
            break
    assert entries, budgeted
    keys = ("placement", "attachment", "link", "params", "sketch", "expressions", "spreadsheet")
    for entry in entries:
        result = ok(doc, entry["get"]["tool"], entry["get"]["args"])
        named = [entry["first"], entry["last"]] if "first" in entry else [entry["path"].split(".")[-1]]
        for name in named:
            got, want = _find(result["tree"], name), _find(full, name)
            assert got is not None and want is not None, name
            params = [k for k in set(got) | set(want) if k[:1].isupper()]  # properties, by their own names
            assert {k: got.get(k) for k in (*keys, *params)} == {k: want.get(k) for k in (*keys, *params)}, name
            if "count" not in entry:  # one object said to miss its parameters: here they are
                assert any(k in got for k in keys), name


def test_reopened_document_gives_the_same_tree(doc, tmp_path):
    build_scene(doc)
    path = tmp_path / "q.FCStd"
    doc.saveAs(str(path))
    copy = tmp_path / "copy" / "q.FCStd"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    reopened = FreeCAD.openDocument(str(copy))
    try:
        assert ok(reopened, "query_feature_tree", {"path": "Body"}) == ok(doc, "query_feature_tree", {"path": "Body"})
    finally:
        FreeCAD.closeDocument(reopened.Name)

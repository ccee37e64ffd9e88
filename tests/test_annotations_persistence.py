"""Annotations survive save/reopen, a FreeCAD without the addon (open and re-save), and its return.

What happens where the addon is missing (verified here on Debian's 0.20.2):
the file opens, every object and property is there, only ``Proxy`` is None
(FreeCAD cannot import the proxy module). Re-saving there writes the proxy
as null: the data stays, the objects stay ``App::FeaturePython`` with their
``SpatialType``; when the addon is back, ``store.repair_proxies`` (called by
the workbench and its commands) gives each one its proxy again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import gui_harness
import pytest
from conftest import FreeCAD
from test_annotations import cut_part, sample_findings

from freecad_spatial.spatial_tools.annotations import store

FREECADCMD = next((p for p in map(shutil.which, ("freecadcmd", "FreeCADCmd")) if p), None)
needs_freecadcmd = pytest.mark.skipif(FREECADCMD is None, reason="no freecadcmd on PATH")
V = FreeCAD.Vector


def build(doc):
    box = doc.addObject("Part::Box", "Part")
    box.Length, box.Width, box.Height = 40, 30, 10
    doc.recompute()
    objs = store.add_findings(doc, sample_findings("Face6"), process="cnc-3axis")
    store.set_status(doc, [objs[1].Name], "waived", "supplier drills it", by="bo")
    store.add_datum_feature(doc, "A", ["Part.Face5"])
    store.add_feature_control_frame(doc, "flatness", 0.05, ["Part.Face6"])
    store.add_size_dimension(doc, 10, ["Part.Face6"], upper=0.1, lower=-0.1)
    store.add_datum_reference_frame(doc, "A")
    return snapshot(doc)


def snapshot(doc) -> dict:
    """Everything a user could lose: every annotation's properties (links by name)."""
    out = {}
    for obj in store.annotations(doc):
        props = {}
        for name in obj.PropertiesList:
            if name in ("Proxy", "ExpressionEngine", "Visibility", "Label2"):
                continue
            value = getattr(obj, name)
            if name == "Faces":
                value = [[t.Name, list(s)] for t, s in value]
            elif name == "Targets":
                value = [t.Name for t in value]
            elif isinstance(value, FreeCAD.Vector):
                value = [value.x, value.y, value.z]
            props[name] = value if isinstance(value, (str, int, float, bool, list, type(None))) else repr(value)
        out[obj.Name] = props
    return out


@pytest.fixture
def own_doc():
    """A document this test may close itself (conftest's ``doc`` closes its own at the end)."""
    document = FreeCAD.newDocument("Annotated")
    document.UndoMode = 1
    yield document
    if _alive(document):
        FreeCAD.closeDocument(document.Name)


def _alive(document) -> bool:
    try:
        _ = document.Name
    except ReferenceError:
        return False
    return True


def test_save_close_reopen_restores_everything(own_doc, tmp_path):
    doc = own_doc
    before = build(doc)
    path = tmp_path / "annotated.FCStd"
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    store.import_proxies()
    reopened = FreeCAD.openDocument(str(path))
    try:
        assert snapshot(reopened) == before
        assert all(type(o.Proxy).__module__.startswith("freecad_spatial.addon.annotations.") for o in store.annotations(reopened))
        assert {o.Name for o in reopened.getObject("Spatial").Group} == set(before)
        # Proxies work after reopening: a change of the part re-checks the links.
        # The top face moves up: it is another face now. A Part::Box has no element map on 1.x either
        # (its faces have no mapped name, FreeCAD keeps the link by index), so the signature decides there too.
        reopened.getObject("Part").Height = 12
        reopened.recompute()
        top = [o for o in store.annotations(reopened, "Finding") if o.TargetObject == "Part" and o.Rule == "cnc.deep_hole"]
        assert top[0].Attachment == "lost" and top[0].LostElements == ["Part.Face6"]
    finally:
        FreeCAD.closeDocument(reopened.Name)
    doc_xml = zipfile.ZipFile(path).read("Document.xml").decode()
    assert 'module="freecad_spatial.addon.annotations.finding" class="FindingProxy"' in doc_xml


def test_reopened_file_follows_a_renumbered_face(own_doc, tmp_path):
    """Saved, reopened, then a notch renumbers the flagged top face (Face6 -> Face3): found again on every
    version, by its signature on 0.20 and by FreeCAD's element map (restored from the file) on 1.x."""
    doc = own_doc
    cut_part(doc)
    store.add_findings(doc, sample_findings("Face6")[:1], process="cnc-3axis")
    path = tmp_path / "renumbered.FCStd"
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    store.import_proxies()
    reopened = FreeCAD.openDocument(str(path))
    try:
        reopened.getObject("Tool").Placement = FreeCAD.Placement(V(-5, 15, 5), FreeCAD.Rotation(V(0, 1, 0), 90))
        reopened.recompute()
        part = reopened.getObject("Part")
        (top,) = [f"Face{i + 1}" for i, f in enumerate(part.Shape.Faces) if f.Surface.__class__.__name__ == "Plane" and abs(f.CenterOfMass.z - 10) < 1e-6]
        assert top != "Face6" and part.Shape.getElement(top).normalAt(0, 0).getAngle(V(0, 0, 1)) < 1e-6
        (obj,) = store.annotations(reopened, "Finding")
        assert obj.Attachment == "rematched" and obj.LostElements == []
        assert list(obj.Faces[0][1]) == [top] and obj.Elements == [top]
    finally:
        FreeCAD.closeDocument(reopened.Name)


NO_ADDON = textwrap.dedent(
    """
    import json, sys, traceback
    out = {}
    try:
        import FreeCAD
        out["addon_importable"] = "freecad_spatial" in sys.modules
        doc = FreeCAD.openDocument(SOURCE)
        objs = [o for o in doc.Objects if "SpatialType" in o.PropertiesList]
        out["objects"] = {o.Name: {"type": o.TypeId, "kind": o.SpatialType, "proxy": repr(o.Proxy),
                                   "label": o.Label} for o in objs}
        out["finding_fields"] = {o.Name: [o.Rule, o.Severity, o.Message, o.Status, o.StatusReason]
                                 for o in objs if o.SpatialType == "Finding"}
        out["faces"] = {o.Name: [[t.Name, list(s)] for t, s in o.Faces] for o in objs}
        doc.getObject("Part").Height = 10  # an edit, then save: the user's normal work
        doc.recompute()
        doc.saveAs(RESAVED)
    except BaseException:
        out["error"] = traceback.format_exc()
    with open(RESULT, "w") as fh:
        json.dump(out, fh)
    """
)


def run_freecadcmd(tmp_path: Path, script: str, install: bool) -> dict:
    home = tmp_path / ("home-addon" if install else "home-empty")
    mod = home / ".local/share/FreeCAD/Mod"
    mod.mkdir(parents=True)
    if install:
        gui_harness.install_addon(mod)
    result = tmp_path / f"result-{install}.json"
    script_file = tmp_path / f"script-{install}.py"
    script_file.write_text(f"RESULT = {str(result)!r}\n" + script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_", "FREECAD_USER", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"))
    proc = subprocess.run([FREECADCMD, str(script_file)], capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert result.exists(), f"freecadcmd wrote no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    data = json.loads(result.read_text())
    assert "error" not in data, data["error"]
    return data


@needs_freecadcmd
def test_opens_and_resaves_without_the_addon_and_recovers_when_it_is_back(doc, tmp_path):
    before = build(doc)
    source, resaved = tmp_path / "annotated.FCStd", tmp_path / "resaved.FCStd"
    doc.saveAs(str(source))
    script = f"SOURCE = {str(source)!r}\nRESAVED = {str(resaved)!r}\n" + NO_ADDON
    data = run_freecadcmd(tmp_path, script, install=False)
    # Without the addon: every object opens with its data, only the proxy is missing.
    assert data["addon_importable"] is False
    assert set(data["objects"]) == set(before)
    assert all(o["type"] == "App::FeaturePython" and o["proxy"] == "None" for o in data["objects"].values())
    waived = [f for f in data["finding_fields"].values() if f[3] == "waived"]
    assert waived == [["cnc.thin_wall", "warning", "wall 0.8 mm", "waived", "supplier drills it"]]
    assert data["faces"] == {name: props["Faces"] for name, props in before.items()}
    # Re-saved there, the proxy is written as null ...
    xml = zipfile.ZipFile(resaved).read("Document.xml").decode()
    assert "freecad_spatial.addon.annotations" not in xml
    # ... and with the addon back, the data is intact and the proxies are repaired.
    store.import_proxies()
    back = FreeCAD.openDocument(str(resaved))
    try:
        assert snapshot(back) == before
        assert sorted(store.repair_proxies(back)) == sorted(before)
        assert all(type(o.Proxy).__name__.endswith("Proxy") for o in store.annotations(back))
        assert store.repair_proxies(back) == []
        assert [f.finding for f in store.read_findings(back)] == sample_findings("Face6")
    finally:
        FreeCAD.closeDocument(back.Name)


RESTORE_WITH_ADDON = textwrap.dedent(
    """
    import json, traceback
    out = {}
    try:
        import FreeCAD
        doc = FreeCAD.openDocument(SOURCE)
        out["proxies"] = sorted({type(o.Proxy).__module__ for o in doc.Objects if "SpatialType" in o.PropertiesList})
    except BaseException:
        out["error"] = traceback.format_exc()
    with open(RESULT, "w") as fh:
        json.dump(out, fh)
    """
)


@needs_freecadcmd
def test_freecad_with_the_installed_addon_restores_the_proxies_itself(doc, tmp_path):
    build(doc)
    source = tmp_path / "annotated.FCStd"
    doc.saveAs(str(source))
    data = run_freecadcmd(tmp_path, f"SOURCE = {str(source)!r}\n" + RESTORE_WITH_ADDON, install=True)
    assert data["proxies"] == [
        "freecad_spatial.addon.annotations.datum_feature",
        "freecad_spatial.addon.annotations.datum_reference_frame",
        "freecad_spatial.addon.annotations.feature_control_frame",
        "freecad_spatial.addon.annotations.finding",
        "freecad_spatial.addon.annotations.size_dimension",
    ]

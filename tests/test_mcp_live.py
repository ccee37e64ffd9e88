"""The live MCP session inside the real FreeCAD GUI under Xvfb (issue 15).

Spatial > Serve the open documents over MCP starts the server in FreeCAD; the
SDK's Streamable HTTP client, in another process, measures the document the
user has open, submits a finding (it appears in the model and the findings
dock, as one undo step) and makes a call that would compute for minutes: with
the session's deadline (3 s here, CallTimeout) the client gets an error while
a QTimer ticking every 10 ms on the GUI thread shows the event loop never
stalled; the next call is answered.
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import textwrap

import gui_harness
import pytest
from conftest import REPO

pytest.importorskip("mcp", reason="the mcp extra is not installed")
pytestmark = [pytest.mark.gui, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked calls")]

CLIENT = textwrap.dedent('''
    import json, sys, time
    import anyio, httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    url, token, out, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    finding = {"rule": "cnc.hole_spacing", "severity": "warning", "message": "Holes closer than 2×D",
               "object": "Plate", "elements": ["Face7"], "measured": 12.0, "limit": 16.0, "unit": "mm"}

    async def main():
        r = {}
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer " + token}, timeout=120) as client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    if mode == "measure":  # one hole distance, nothing else
                        started = time.monotonic()
                        m = await s.call_tool("measure_distance", {"a": "Plate.Face7", "b": "Plate.Face8",
                                                                   "document": "LiveSample"})
                        json.dump({"error": m.is_error, "content": m.structured_content,
                                   "elapsed_s": time.monotonic() - started}, open(out, "w"))
                        return
                    r["tools"] = sorted(t.name for t in (await s.list_tools()).tools)
                    listed = await s.call_tool("list_documents", {})
                    r["documents"] = listed.structured_content["documents"]
                    started = time.monotonic()
                    m = await s.call_tool("measure_distance", {"a": "Plate.Face7", "b": "Plate.Face8",
                                                               "document": "LiveSample"})
                    r["distance"] = m.structured_content
                    r["distance_s"] = time.monotonic() - started
                    sub = await s.call_tool("submit_findings", {"findings": [finding], "document": "LiveSample"})
                    r["submitted"] = sub.structured_content
                    open("%s.slow" % out, "w").write(str(time.monotonic()))
                    started = time.monotonic()
                    slow = await s.call_tool("measure_distance", {"a": "Plate", "b": "Plate2", "document": "LivePlates"})
                    r["slow"] = {"error": slow.is_error, "content": slow.structured_content,
                                 "elapsed_s": time.monotonic() - started}
                    open("%s.slow_done" % out, "w").write(str(time.monotonic()))
                    started = time.monotonic()
                    after = await s.call_tool("mass_properties", {"object": "Plate", "document": "LiveSample"})
                    r["after"] = {"error": after.is_error, "volume": (after.structured_content or {}).get("volume"),
                                  "elapsed_s": time.monotonic() - started}
        json.dump(r, open(out, "w"))

    anyio.run(main)
''')

SCRIPT = r'''
import sys, time, os, subprocess, json
for p in harness.params["site"]:
    sys.path.append(p)
os.environ["FREECAD_SPATIAL_AUDIT_LOG"] = os.path.join(harness.out_dir, "audit.jsonl")
r = harness.result
Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
import Part
mcp_params = App.ParamGet("User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/MCP")
mcp_params.SetInt("Port", 0)
mcp_params.SetFloat("CallTimeout", 3.0)  # the call that would take minutes stops after 3 s

# Two plates of 400 holes, built and saved hidden by the test (see ``plates_file``): measure_distance between
# them computes for minutes. Not built here: on FreeCAD 1.1 the parallel boolean cut (or meshing a large part)
# starts OpenCASCADE's thread pool, after which a forked measure_distance deadlocks (see the last test).
plates = App.openDocument(harness.params["plates"])
big = [plates.getObject("Plate"), plates.getObject("Plate2")]
sample = App.newDocument("LiveSample")
sample.UndoMode = 1
sample.addObject("Part::Feature", "Plate").Shape = Part.read(harness.params["step"])
sample.recompute()
App.setActiveDocument(sample.Name)
Gui.activeDocument().activeView().viewIsometric()
Gui.SendMsgToActiveView("ViewFit")
harness.wait(300)

r["registered"] = "Spatial_ServeMCP" in Gui.listCommands()
Gui.runCommand("Spatial_ServeMCP", 1)
harness.wait(300)
from freecad_spatial.spatial_tools.mcp import live
server = live.running()
r["running"] = server is not None
r["url"] = server.url
r["report"] = harness.report_text()

ticks = []
timer = QtCore.QTimer()
timer.setInterval(10)
timer.timeout.connect(lambda: ticks.append(time.monotonic()))
timer.start()
out = os.path.join(harness.out_dir, "client.json")
proc = subprocess.Popen([harness.params["python"], harness.params["client"], server.url, server.http.token, out,
                         "full"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
end = time.monotonic() + 200
while proc.poll() is None and time.monotonic() < end:
    harness.wait(20)
timer.stop()
r["client_exit"] = proc.poll()
r["client_output"] = proc.stdout.read().decode(errors="replace")[-3000:] if proc.poll() is not None else "timeout"
r["client"] = json.load(open(out)) if os.path.exists(out) else None
slow_from = float(open(out + ".slow").read()) if os.path.exists(out + ".slow") else None
slow_to = float(open(out + ".slow_done").read()) if os.path.exists(out + ".slow_done") else None
def max_gap(a, b):
    inside = [t for t in ticks if (a is None or t >= a) and (b is None or t <= b)]
    gaps = [y - x for x, y in zip(inside, inside[1:])]
    return round(max(gaps) * 1000, 1) if gaps else None
r["ticks"] = len(ticks)
r["slow_max_gap_ms"] = max_gap(slow_from, slow_to)
r["slow_ticks"] = len([t for t in ticks if slow_from and slow_to and slow_from <= t <= slow_to])

findings = [o for o in sample.Objects if "SpatialType" in o.PropertiesList and o.SpatialType == "Finding"]
r["findings"] = [(o.Rule if hasattr(o, "Rule") else "", o.TargetObject, o.Status) for o in findings]
mw = Gui.getMainWindow()
dock = mw.findChild(QtGui.QDockWidget, "SpatialFindings")
table = dock.findChild(QtGui.QTableWidget, "SpatialFindingTable") if dock else None
r["dock_visible"] = bool(dock and dock.isVisible())
r["dock_rows"] = table.rowCount() if table else -1
r["dock_text"] = [table.item(i, j).text() for i in range(table.rowCount()) for j in range(table.columnCount())
                  if table.item(i, j)] if table else []
r["undo_names"] = sample.UndoNames[:1]
report_view = mw.findChild(QtGui.QDockWidget, "Report view")
if report_view is not None:  # what the user reads on turning the server on: the address and the client line
    report_view.show()
    report_view.raise_()
harness.wait(300)
harness.screenshot("live_mcp_finding")
sample.undo()
harness.wait(300)
r["after_undo"] = len([o for o in sample.Objects if "SpatialType" in o.PropertiesList and o.SpatialType == "Finding"])
# The user shows the large plates (FreeCAD meshes them) and cuts 400 holes in a box (OpenCASCADE's boolean
# runs in parallel), then the client measures the small part again.
for obj in big:
    obj.ViewObject.Visibility = True
holes = [Part.makeCylinder(1.5, 15, App.Vector(10 + 10 * i, 10 + 10 * j, 5)) for i in range(20) for j in range(20)]
r["cut_faces"] = len(Part.makeBox(210, 210, 20).cut(holes).Faces)
App.setActiveDocument(plates.Name)
Gui.SendMsgToActiveView("ViewFit")
harness.wait(1500)
App.setActiveDocument(sample.Name)
again = os.path.join(harness.out_dir, "again.json")
proc = subprocess.Popen([harness.params["python"], harness.params["client"], server.url, server.http.token, again,
                         "measure"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
end = time.monotonic() + 60
while proc.poll() is None and time.monotonic() < end:
    harness.wait(20)
r["after_mesh"] = json.load(open(again)) if os.path.exists(again) else proc.stdout.read().decode(errors="replace")[-2000:]
Gui.runCommand("Spatial_ServeMCP", 0)
harness.wait(300)
r["stopped"] = live.running() is None
audit_path = os.path.join(harness.out_dir, "audit.jsonl")
r["audit"] = [json.loads(line) for line in open(audit_path)] if os.path.exists(audit_path) else []
'''


def plates_file(folder) -> str:
    """LivePlates.FCStd: two overlapping plates of 400 holes, hidden (no meshing when FreeCAD opens it)."""
    from conftest import FreeCAD, Part

    doc = FreeCAD.newDocument("LivePlates")
    holes = [Part.makeCylinder(1.5 + 0.1 * ((20 * i + j) % 7), 15, FreeCAD.Vector(10 + 10 * i, 10 + 10 * j, 5))
             for i in range(20) for j in range(20)]
    shape = Part.makeBox(210, 210, 20).cut(holes)
    for name, placed in (("Plate", shape), ("Plate2", shape.translated(FreeCAD.Vector(100, 0, 0)))):
        obj = doc.addObject("Part::Feature", name)
        obj.Shape = placed
        obj.Visibility = False
    path = str(folder / "LivePlates.FCStd")
    doc.saveAs(path)
    FreeCAD.closeDocument(doc.Name)
    return path


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("gui-mcp")
    client = work / "client.py"
    client.write_text(CLIENT)
    params = {"step": str(REPO / "resources" / "samples" / "plate_with_holes.step"), "client": str(client),
              "plates": plates_file(work),
              "python": sys.executable, "site": [p for p in site.getsitepackages() if ".venv" in p]}
    return gui_harness.run_in_freecad_gui(SCRIPT, params=params, work_dir=work, timeout=400, screen=(1400, 900))


def test_the_toggle_serves_the_open_document(gui):
    r = gui.result
    assert r["registered"] and r["running"], r
    assert r["url"].startswith("http://127.0.0.1:")
    assert r["url"] in r["report"] and "claude mcp add" in r["report"]
    client = r["client"]
    assert client is not None, r["client_output"]
    assert "measure_distance" in client["tools"] and "submit_findings" in client["tools"]
    assert {d["name"] for d in client["documents"]} >= {"LiveSample", "LivePlates"}
    distance = client["distance"]
    assert "center_distance" in distance, distance
    assert distance["center_distance"] > 0 and distance["elements"] == ["Plate.Face7", "Plate.Face8"]


def test_what_the_client_got_is_in_the_audit_log(gui):
    records = gui.result["audit"]
    tools = [r["tools"][0] for r in records]
    assert {"list_documents", "measure_distance", "submit_findings", "mass_properties"} <= set(tools)
    assert all(r["host"] == "mcp-live" and r["backend"] == "mcp" for r in records)
    assert all(r["bytes"] > 0 for r in records)


def test_a_submitted_finding_appears_in_the_model_and_the_dock_as_one_undo_step(gui):
    r = gui.result
    if os.environ.get("FREECAD_SPATIAL_UPDATE_DOCS") == "1":  # the README's picture of the live session
        shutil.copyfile(gui.screenshots["live_mcp_finding"], REPO / "docs" / "mcp_live.png")
    assert len(r["client"]["submitted"]["added"]) == 1
    assert [tuple(f) for f in r["findings"]] == [("cnc.hole_spacing", "Plate", "open")], r["findings"]
    assert r["dock_visible"] and r["dock_rows"] == 1
    assert any("Holes closer than 2×D" in t or "hole_spacing" in t for t in r["dock_text"]), r["dock_text"]
    assert r["undo_names"] and r["after_undo"] == 0


def test_a_call_past_its_deadline_returns_an_error_and_the_gui_stays_responsive(gui):
    r = gui.result
    slow = r["client"]["slow"]
    assert slow["error"] and slow["content"]["error"]["code"] == "deadline_exceeded", slow
    assert 2.5 < slow["elapsed_s"] < 10, slow  # the 3 s budget, not the minutes the call would take
    # The event loop ticked throughout: never held for more than a fraction of the budget.
    # (The tick count only shows the timer ran; on 2 shared cores it fires well below 100 Hz.)
    assert r["slow_ticks"] >= 10 and r["slow_max_gap_ms"] < 1000, (r["slow_ticks"], r["slow_max_gap_ms"])
    assert not r["client"]["after"]["error"] and r["client"]["after"]["volume"] > 0
    assert r["client"]["after"]["elapsed_s"] < 10
    assert r["stopped"]
    print(f"live MCP: slow call {slow['elapsed_s']:.2f} s, GUI max gap {r['slow_max_gap_ms']} ms over {r['slow_ticks']} ticks")


def test_a_hole_distance_after_a_large_part_was_shown(gui):
    # Once OpenCASCADE's thread pool has run in the GUI (a large part meshed, a parallel boolean), a forked
    # call's child would wait for pool workers a fork does not copy; tool_process parks the pool around
    # the fork (this hung until its deadline on 1.0 and 1.1 before).
    again = gui.result["after_mesh"]
    assert isinstance(again, dict) and not again["error"], again
    assert again["content"]["center_distance"] > 0

"""render_view in the FreeCAD GUI draws what the user sees (issue 19): the real GUI under Xvfb.

A scripted model (loopback protocol server, OpenAI wire, local tier, vision on) asks through the chat
dock for render_view with ``view: "current"``, then with no view at all, then after the view was
switched to a perspective camera. Between the asks the live camera changes (isometric and fit all;
a camera set by hand; perspective). The picture the model received is checked against Coin's own
projection of the live camera (``SbViewVolume.projectToScreen`` at the picture's aspect, as the view
draws it): the highlighted face's centre lands on a pixel of the highlight's colour, and a changed
camera gives a different picture.
"""

from __future__ import annotations

import base64
import site
import sys

import gui_harness
import numpy as np
import pytest

from freecad_spatial.spatial_tools.render import png

pytestmark = [pytest.mark.gui]

SCRIPT = r'''
import sys, json, base64, math, time
for p in harness.params["site"]:
    sys.path.append(p)
import os
os.environ["FREECAD_SPATIAL_OPENAI_API_KEY"] = "sk-gui-test"
os.environ["FREECAD_SPATIAL_AUDIT_LOG"] = os.path.join(harness.out_dir, "audit.jsonl")
r = harness.result
Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
import Part
from pivy import coin
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer
CASES = [("Block.Face6", (20.0, 10.0, 10.0), {"view": "current"}),
         ("Block.Face2", (40.0, 10.0, 5.0), {}),
         ("Block.Face3", (20.0, 0.0, 5.0), {"view": "current"})]
script = []
for ref, _, args in CASES:
    script.append({"text": "Looking.", "delay_s": 0.01,
                   "tool_calls": [{"name": "render_view", "arguments": {**args, "highlight": [ref]}}]})
    script.append({"text": "Face 1 is highlighted.", "delay_s": 0.01})
server = ProtocolServer(script).start()
p = App.ParamGet("User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/Assistant")
p.SetString("Tier", "local"); p.SetString("Backend", "openai"); p.SetString("Vision", "on")
p.SetString("BaseUrl", server.url + "/v1"); p.SetString("Model", "scripted")
doc = App.newDocument("Live")
block = doc.addObject("Part::Feature", "Block")
block.Shape = Part.makeBox(40, 20, 10)
doc.recompute()
Gui.runCommand("Spatial_OpenChat")
harness.wait(800)
from freecad_spatial.panels import chat_dock
dock = chat_dock._DOCK
controller = dock.controller
view = Gui.ActiveDocument.ActiveView

def set_camera(i):
    if i == 0:
        view.viewIsometric()
        view.fitAll()
    elif i == 1:  # by hand: from the right, a little from the front and above, zoomed in on the block
        camera = view.getCameraNode()
        d = App.Vector(-1.0, 0.45, -0.35).normalize()
        up = App.Vector(0, 0, 1) - d * d.z
        up.normalize()
        right = d.cross(up)
        m = App.Matrix()  # the camera's local axes: x right, y up, z back (it looks along -z)
        m.A11, m.A21, m.A31 = right.x, right.y, right.z
        m.A12, m.A22, m.A32 = up.x, up.y, up.z
        m.A13, m.A23, m.A33 = -d.x, -d.y, -d.z
        q = App.Placement(m).Rotation.Q
        camera.orientation.setValue(coin.SbRotation(q[0], q[1], q[2], q[3]))
        centre = App.Vector(20, 10, 5)
        camera.position.setValue(coin.SbVec3f(*(centre - d * 100)))
        camera.focalDistance.setValue(100)
        camera.height.setValue(55.0)
    else:
        view.setCameraType("Perspective")
        view.viewIsometric()
        view.fitAll()
    harness.wait(1500)  # any view animation has ended

def coin_pixel(point, width, height):
    """Coin's projection of ``point`` for a picture of the view at width x height (px from the top left)."""
    camera = view.getCameraNode()
    aspect = width / height
    volume = camera.getViewVolume(aspect)
    if aspect < 1.0 and int(camera.viewportMapping.getValue()) == int(coin.SoCamera.ADJUST_CAMERA):
        volume.scale(1.0 / aspect)
    x, y, _ = volume.projectToScreen(coin.SbVec3f(*point)).getValue()
    return [x * width, (1 - y) * height]

r["asks"] = []
for i, (ref, centre, args) in enumerate(CASES):
    set_camera(i)
    before = len(server.requests)
    controller.ask("Show me the face " + ref, send_selection=False)
    deadline = time.monotonic() + 90
    while controller.busy and time.monotonic() < deadline:
        harness.wait(50)
    harness.wait(200)
    ask = {"busy": controller.busy, "camera_type": view.getCameraType(), "size": list(view.getSize())}
    for request in server.requests[before:]:
        images = request.images()
        if images:
            ask["png"] = base64.b64encode(images[-1].data).decode()  # the history carries earlier ones
            tool = [m for m in request.body["messages"] if m.get("role") == "tool"][-1]
            ask["tool"] = json.loads(tool["content"])
    result = ask.get("tool", {}).get("result", ask.get("tool", {}))
    if "width" in result:  # a refused call (an error envelope) has none: the test says what it was
        ask["pixel"] = coin_pixel(centre, result["width"], result["height"])
        ask["outside"] = coin_pixel((-30.0, -30.0, -30.0), result["width"], result["height"])
    entry = controller.conversation.entries[-1] if controller.conversation.entries else None
    ask["trace"] = [(t.tool, t.ok) for t in entry.trace if t.kind == "tool"] if entry else []
    r["asks"].append(ask)
server.stop()
'''


def decode(ask: dict) -> np.ndarray:
    return png.decode(base64.b64decode(ask["png"]))


def hue_share(rgb: np.ndarray, pixel, colour) -> int:
    """How many of the 3 x 3 pixels around ``pixel`` have the (shaded) highlight's hue."""
    col, row = int(pixel[0]), int(pixel[1])
    patch = rgb[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].reshape(-1, 3).astype(float)
    c = np.asarray(colour, float)
    cos = patch @ c / (np.linalg.norm(patch, axis=1) * np.linalg.norm(c) + 1e-9)
    return int((cos > 0.995).sum())


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    params = {"site": [p for p in site.getsitepackages() if ".venv" in p]}
    run = gui_harness.run_in_freecad_gui(SCRIPT, params=params, work_dir=tmp_path_factory.mktemp("gui-render"),
                                         timeout=300, screen=(1400, 900))
    print(f"GUI run folder: {run.work_dir}", file=sys.stderr)
    return run


@pytest.mark.parametrize("i", [0, 1, 2], ids=["iso-current", "by-hand-no-view", "perspective"])
def test_the_model_sees_the_live_view_with_the_face_where_coin_draws_it(gui, i):
    ask = gui.result["asks"][i]
    assert [tuple(t) for t in ask["trace"]] == [("render_view", True)], (ask["trace"], ask.get("tool"))
    result = ask["tool"].get("result", ask["tool"])
    assert result["view"] == "current"
    vw, vh = ask["size"]
    assert abs(result["width"] / result["height"] - vw / vh) < 0.01, "the picture has the viewport's aspect"
    rgb = decode(ask)
    colour = result["highlights"][0]["colour"]
    assert hue_share(rgb, ask["pixel"], colour) >= 6, (ask["pixel"], result["highlights"])
    # Far off the part (a point outside the block, drawn where Coin puts it) there is no highlight.
    col, row = (int(v) for v in ask["outside"])
    if 0 <= row < rgb.shape[0] and 0 <= col < rgb.shape[1]:
        assert hue_share(rgb, (col, row), colour) == 0
    if i == 2:
        assert ask["camera_type"] == "Perspective" and len(result["camera"]) == 3


def test_changing_the_live_camera_changes_the_picture(gui):
    shas = [ask["tool"].get("result", ask["tool"])["sha256"] for ask in gui.result["asks"]]
    assert len(set(shas)) == 3
    first, second = (decode(a) for a in gui.result["asks"][:2])
    # Not just another label: the part's pixels moved (a camera change, not only a highlight change).
    assert first.shape != second.shape or (first != second).any(axis=2).mean() > 0.05

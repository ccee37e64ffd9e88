"""render_view through the live 3D view's camera (issue 19, "the GUI uses the live 3D view"), headless.

The cameras here are snapshots written by hand, as the chat takes them from Coin (live_view.snapshot):
position, view direction, up, orthographic height or perspective angle, the viewport's size. The
expected pixels come from the camera maths written out again below (Coin's conventions: right =
direction x up; the height spans the picture's short side under ADJUST_CAMERA), not from the code
under test.
"""

from __future__ import annotations

import base64
import math
import time

import numpy as np
import pytest
from conftest import REGISTRY, Part, add_shape, error, ok

from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.render import png
from freecad_spatial.spatial_tools.render.view import config, render

CENTRE = (20.0, 10.0, 5.0)  # of the 40 x 20 x 10 box at the origin


@pytest.fixture
def box(doc):
    add_shape(doc, "Block", Part.makeBox(40, 20, 10))
    return doc


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def shot(direction, up, *, height=80.0, distance=100.0, viewport=(900, 600), angle=None) -> dict:
    """A camera looking along ``direction`` at the box's centre from ``distance`` mm; ``up`` is made square
    to the direction, as a Coin camera's is."""
    d = unit(direction)
    up = unit([u - dot(up, d) * x for u, x in zip(up, d, strict=True)])
    position = [c - distance * x for c, x in zip(CENTRE, d, strict=True)]
    out = {"kind": "perspective" if angle else "orthographic", "position": position, "direction": d, "up": up,
           "focal_distance": distance, "aspect_ratio": 1.0, "viewport": list(viewport), "adjust_camera": True}
    if angle:
        out["height_angle"] = angle
    else:
        out["height"] = height
    return out


def pixel_of(camera: dict, point, width: int, height: int) -> tuple[float, float]:
    """Coin's projection written out: offset from the camera along right/up, px per mm from the short side."""
    d = unit(camera["direction"])
    up = unit(camera["up"])
    right = cross(d, up)
    rel = [p - c for p, c in zip(point, camera["position"], strict=True)]
    if camera["kind"] == "perspective":
        f = min(width, height) / 2 / math.tan(camera["height_angle"] / 2)
        z = dot(rel, d)
        return width / 2 + f * dot(rel, right) / z, height / 2 - f * dot(rel, up) / z
    s = min(width, height) / camera["height"]
    return width / 2 + s * dot(rel, right), height / 2 - s * dot(rel, up)


def picture(result: dict) -> np.ndarray:
    return png.decode(base64.b64decode(result["image"]["data"]))


def hue_is(pixel, colour) -> bool:
    """The shaded pixel has the highlight's hue (colour directions within a few degrees)."""
    p, c = np.asarray(pixel, float), np.asarray(colour, float)
    return float(p @ c) / (np.linalg.norm(p) * np.linalg.norm(c) + 1e-9) > 0.995


# (face ref, its centre, a camera that sees it): the front (y=0), top (z=10) and right (x=40) faces.
CASES = [
    ("Block.Face3", (20, 0, 5), shot((-0.6, 1.0, -0.45), (0, 0, 1))),
    ("Block.Face6", (20, 10, 10), shot((0.3, 0.5, -1.0), (0, 1, 0), height=60, viewport=(500, 700))),
    ("Block.Face2", (40, 10, 5), shot((-1.0, 0.35, -0.2), (0.1, 0, 1), angle=math.radians(45), distance=120)),
]


@pytest.mark.parametrize("ref,centre,camera", CASES, ids=["ortho-wide", "ortho-tall", "perspective"])
def test_current_view_draws_the_highlight_where_the_live_camera_puts_the_face(box, ref, centre, camera):
    result = ok(box, "render_view", {"view": "current", "highlight": [ref]}, view_camera=camera)
    rgb = picture(result)
    w, h = result["width"], result["height"]
    vw, vh = camera["viewport"]
    assert result["view"] == "current"
    assert max(w, h) == config()["image"]["width"] and abs(w / h - vw / vh) < 0.01, "the viewport's aspect"
    col, row = pixel_of(camera, centre, w, h)
    assert hue_is(rgb[int(row), int(col)], result["highlights"][0]["colour"]), (col, row, rgb[int(row), int(col)])
    # The camera the result reports projects the same way.
    m = np.asarray(result["camera"], float)
    u = m @ np.array([*centre, 1.0])
    reported = (u[0] / u[2], u[1] / u[2]) if len(m) == 3 else (u[0], u[1])
    assert reported == pytest.approx((col, row), abs=1e-6)


def test_orthographic_silhouette_is_the_box_s_analytic_extent(box):
    camera = shot((-1.0, -2.0, -1.5), (0, 0, 1), height=70, viewport=(640, 480))
    corners = [(x, y, z) for x in (0, 40) for y in (0, 20) for z in (0, 10)]
    # Pixel centres inside the projected hull are drawn: the drawn extent is the analytic one to a pixel;
    # zooming in (half the height) doubles it about the view's centre.
    for height in (70.0, 35.0):
        cam = {**camera, "height": height}
        ids = render(box, view="current", width=640, height=480, live_camera=cam).ids
        cols, rows = zip(*(pixel_of(cam, c, 640, 480) for c in corners), strict=True)
        seen_rows, seen_cols = np.nonzero(ids >= 0)
        assert seen_cols.min() == pytest.approx(min(cols), abs=1.0)
        assert seen_cols.max() + 1 == pytest.approx(max(cols), abs=1.0)
        assert seen_rows.min() == pytest.approx(min(rows), abs=1.0)
        assert seen_rows.max() + 1 == pytest.approx(max(rows), abs=1.0)
    assert max(cols) - min(cols) > 500  # zoomed: most of the 640 px width


def test_no_view_given_means_the_live_view_when_there_is_one(box):
    camera = shot((0.3, 0.5, -1.0), (0, 1, 0))
    default = ok(box, "render_view", {"highlight": ["Block.Face6"]}, view_camera=camera)
    current = ok(box, "render_view", {"view": "current", "highlight": ["Block.Face6"]}, view_camera=camera)
    assert default["view"] == "current" and default["sha256"] == current["sha256"]
    # Without a live view nothing changes: iso, as the CLI always drew it.
    assert ok(box, "render_view", {})["view"] == "iso"
    # A named view or a direction still wins over the live camera.
    assert ok(box, "render_view", {"view": "top"}, view_camera=camera)["view"] == "top"
    assert ok(box, "render_view", {"direction": [1, 0, 0]}, view_camera=camera)["view"] == "direction"


@pytest.mark.parametrize("apart", ["fork", "worker"])
def test_the_snapshot_crosses_to_the_process_that_draws(box, monkeypatch, apart):
    """The chat's call runs in a forked child (Linux) or a warm worker on a saved copy (no fork): the
    camera snapshot reaches both, and the picture is the one drawn here."""
    from freecad_spatial.spatial_tools import tool_process, tool_worker

    camera = shot((0.3, 0.5, -1.0), (0, 1, 0), viewport=(700, 500))
    args = {"view": "current", "highlight": ["Block.Face6"]}
    here = ok(box, "render_view", args, view_camera=camera)
    seen = []
    kind = tool_process.ChildCall if apart == "fork" else tool_worker.WorkerCall
    original = kind.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        seen.append(self)

    monkeypatch.setattr(kind, "__init__", init)
    if apart == "worker":
        monkeypatch.setenv(tool_process.DISABLE_ENV, "1")
        monkeypatch.delenv(tool_worker.DISABLE_ENV, raising=False)
    try:
        far = REGISTRY.call("render_view", args, ToolContext(document=box, deadline=time.monotonic() + 120,
                                                             view_camera=camera))
    finally:
        tool_worker.shutdown()
    assert len(seen) == 1, "the call ran apart"
    assert far["ok"], far
    assert far["result"]["view"] == "current" and far["result"]["sha256"] == here["sha256"]


def test_current_view_outside_the_gui_is_a_clear_error(box):
    problem = error(box, "render_view", {"view": "current"})
    assert problem["code"] == "not_applicable"
    assert "no live view" in problem["message"] and "named view" in problem["message"]
    bad = error(box, "render_view", {"view": "current"}, view_camera={"kind": "orthographic", "position": [0, 0]})
    assert bad["code"] == "bad_arguments"
    both = error(box, "render_view", {"view": "current", "direction": [1, 0, 0]}, view_camera=shot((1, 0, 0), (0, 0, 1)))
    assert both["code"] == "bad_arguments"


def test_a_part_partly_behind_a_perspective_camera_is_drawn_without_error(box):
    """The camera inside the box: faces behind it are left out, the picture is still made."""
    camera = {**shot((1.0, 0.0, 0.0), (0, 0, 1), angle=math.radians(60), distance=0.0)}
    camera["position"] = [5.0, 10.0, 5.0]
    markers = [{"point": [30, 10, 5], "label": "ahead"}, {"point": [0, 10, 5], "label": "behind"}]
    result = ok(box, "render_view", {"view": "current", "highlight": ["Block.Face2"], "markers": markers},
                view_camera=camera)
    assert result["markers"][0]["pixel"] == pytest.approx(pixel_of(camera, (30, 10, 5), result["width"],
                                                                    result["height"]), abs=0.06)
    assert result["markers"][1]["pixel"] is None, "behind the camera: not drawn"
    rgb = picture(result)
    col, row = pixel_of(camera, (40, 10, 5), result["width"], result["height"])
    assert hue_is(rgb[int(row), int(col)], result["highlights"][0]["colour"])

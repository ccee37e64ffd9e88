"""Where the 3D labels go is where Coin draws: label_layout.screen_point against real renders.

The labels are laid out in screen pixels computed from the camera (not from
``getPointOnScreen``, which goes stale on FreeCAD 1.1). The truth here is
independent of that computation: the view is rendered offscreen
(``saveImage``) at a wide, a square and a tall size with small red spheres at
known points, and each sphere's pixel centroid in the image must be where
``screen_point`` says, within a few pixels. A tall view (taller than wide, as
beside the findings dock) is where Coin's viewport mapping widens the camera's
volume; the projection missed that and spread labels wider than drawn.
"""

from __future__ import annotations

import site

import gui_harness
import pytest

pytestmark = pytest.mark.gui

SCRIPT = r'''
import sys
for p in harness.params["site"]:
    sys.path.append(p)
import Part
from freecad_spatial.addon.annotations.label_layout import screen_point
doc = App.newDocument("Projection")
points = [App.Vector(0, 0, 0), App.Vector(40, 0, 0), App.Vector(0, 30, 0), App.Vector(-35, -20, 10), App.Vector(25, 25, -15)]
for i, p in enumerate(points):
    ball = doc.addObject("Part::Feature", f"Ball{i}")
    ball.Shape = Part.makeSphere(1.2, p)
    ball.ViewObject.ShapeColor = (1.0, 0.0, 0.0)
    ball.ViewObject.LineColor = (1.0, 0.0, 0.0)
    ball.ViewObject.PointColor = (1.0, 0.0, 0.0)
doc.recompute()
view = Gui.ActiveDocument.ActiveView
view.viewIsometric()
view.fitAll()
harness.wait(300)
out = {}
for width, height in [(900, 500), (600, 600), (420, 900)]:
    path = harness.save_view(f"balls_{width}x{height}", width, height, "White")
    image = QtGui.QImage(path)
    xs, ys = [], []
    for y in range(image.height()):
        for x in range(image.width()):
            c = QtGui.QColor(image.pixel(x, y))
            if c.red() > 150 and c.green() < 90 and c.blue() < 90:
                xs.append(x); ys.append(y)
    expected = [screen_point(view, p, (width, height)) for p in points]
    out[f"{width}x{height}"] = {"red": list(zip(xs, ys)), "expected": [[x, height - y] for x, y in expected],
                                "size": [image.width(), image.height()]}
harness.result["renders"] = out
'''


def _blobs(pixels: list, gap: float = 3.0) -> list[tuple[float, float]]:
    """Centroids of the connected groups of red pixels (pixels closer than ``gap`` belong together)."""
    remaining = set(map(tuple, pixels))
    found = []
    while remaining:
        stack = [remaining.pop()]
        group = []
        while stack:
            x, y = stack.pop()
            group.append((x, y))
            near = {(a, b) for a, b in remaining if abs(a - x) <= gap and abs(b - y) <= gap}
            remaining -= near
            stack.extend(near)
        if len(group) >= 3:
            found.append((sum(p[0] for p in group) / len(group), sum(p[1] for p in group) / len(group)))
    return found


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    params = {"site": [p for p in site.getsitepackages() if ".venv" in p]}
    run = gui_harness.run_in_freecad_gui(SCRIPT, params=params, work_dir=tmp_path_factory.mktemp("projection"),
                                         timeout=240)
    return run.result["renders"]


@pytest.mark.parametrize("size", ["900x500", "600x600", "420x900"])
def test_labels_are_placed_where_coin_draws_in_wide_square_and_tall_views(renders, size):
    render = renders[size]
    width, height = render["size"]
    assert [width, height] == [int(v) for v in size.split("x")]
    found = _blobs(render["red"])
    assert len(found) == 5, (size, found)
    for x, y in render["expected"]:
        nearest = min(found, key=lambda b: (b[0] - x) ** 2 + (b[1] - y) ** 2)
        error = ((nearest[0] - x) ** 2 + (nearest[1] - y) ** 2) ** 0.5
        assert error < 4.0, (size, (x, y), nearest, error)

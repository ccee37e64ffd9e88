"""render_view: highlighted refs land where their faces project, labels, id map, size cap, token estimate,
determinism, and the PNG coming back from a forked tool child; the policy and vision setting around it."""

from __future__ import annotations

import base64
import math
import time

import numpy as np
import pytest
from conftest import REGISTRY, FreeCAD, Part, add_shape, ok

from freecad_spatial.spatial_tools.backends.settings import BackendSettings, vision_enabled
from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.render import png
from freecad_spatial.spatial_tools.render.view import config, decode_id_map, image_tokens, render
from freecad_spatial.spatial_tools.tiers import Policy

# A 40 x 20 x 10 box at the origin: Part.makeBox numbers its faces x=0, x=40, y=0, y=20, z=0, z=10.
FACE = {"x0": 1, "x40": 2, "y0": 3, "y20": 4, "z0": 5, "z10": 6}


@pytest.fixture
def box(doc):
    add_shape(doc, "Block", Part.makeBox(40, 20, 10))
    return doc


def picture(result: dict) -> np.ndarray:
    data = base64.b64decode(result["image"]["data"])
    assert data.startswith(b"\x89PNG")
    return png.decode(data)


def project(camera: list[list[float]], point) -> tuple[int, int]:
    col = camera[0][0] * point[0] + camera[0][1] * point[1] + camera[0][2] * point[2] + camera[0][3]
    row = camera[1][0] * point[0] + camera[1][1] * point[1] + camera[1][2] * point[2] + camera[1][3]
    return int(math.floor(col)), int(math.floor(row))


def nearest_colour(pixel, colours: dict[str, list[int]]) -> str:
    """The named colour whose hue the (shaded) pixel has: compare directions of the RGB vectors."""
    p = np.asarray(pixel, float)
    best = max(colours, key=lambda k: float(p @ np.asarray(colours[k], float))
               / (np.linalg.norm(p) * np.linalg.norm(colours[k]) + 1e-9))
    return best


def test_highlighted_faces_have_their_colour_where_their_centres_project(box):
    refs = ["Block.Face3", "Block.Face6", "Block.Face2"]  # front (y=0), top (z=10), right (x=40): seen in iso
    result = ok(box, "render_view", {"view": "iso", "highlight": refs})
    rgb = picture(result)
    assert rgb.shape == (result["height"], result["width"], 3) == (600, 800, 3)
    colours = {"part": config()["colours"]["part"], **{h["ref"]: h["colour"] for h in result["highlights"]}}
    centres = {"Block.Face3": (20, 0, 5), "Block.Face6": (20, 10, 10), "Block.Face2": (40, 10, 5)}
    for n, h in enumerate(result["highlights"], start=1):
        assert h["number"] == n and h["ref"] == refs[n - 1] and h["visible"]
        col, row = project(result["camera"], centres[h["ref"]])
        assert nearest_colour(rgb[row, col], colours) == h["ref"], (h, rgb[row, col])
    # A face nobody highlighted keeps the part's grey; the hidden bottom is reported as not visible.
    hidden = ok(box, "render_view", {"highlight": ["Block.Face5"]})["highlights"][0]
    assert hidden["visible"] is False


def test_front_view_is_the_analytic_projection(box):
    """Front: x to the right, z up, the box centred: its front face fills a 40:10 rectangle in the middle."""
    result = ok(box, "render_view", {"view": "front", "width": 400, "height": 400, "highlight": ["Block.Face3"]})
    margin = config()["image"]["margin"]
    scale = 400 * (1 - 2 * margin) / 40  # the box's 40 mm span fits the width
    cam = result["camera"]
    assert cam[0][0] == pytest.approx(scale) and cam[1][2] == pytest.approx(-scale)
    assert project(cam, (20, 0, 5)) == (200, 200)
    rgb = picture(result)
    red = nearest_colour(rgb[200, 200], {"face": result["highlights"][0]["colour"], "bg": [255, 255, 255]})
    assert red == "face"
    # Just outside the rectangle (5 mm above the top edge) is background.
    col, row = project(cam, (20, 0, 15))
    assert (rgb[row, col] == 255).all()


def test_labels_are_numbered_boxes_beside_their_faces(box):
    result = ok(box, "render_view", {"highlight": ["Block.Face6", "Block.Face3"]})
    rgb = picture(result)
    dx, dy = config()["labels"]["offset"]
    for h in result["highlights"]:
        col, row = (int(v) for v in h["pixel"])
        patch = rgb[row + dy - 12:row + dy + 12, col + dx - 12:col + dx + 12]
        assert (patch == 0).all(axis=2).sum() >= 9, "the label's black digit strokes"
        assert (patch == 255).all(axis=2).sum() >= 9, "the label's white box"


def test_id_map_names_the_face_at_each_pixel(box):
    picture_ = render(box, view="iso", width=320, height=240)
    ids = decode_id_map(picture_.id_map_png())
    assert (ids == picture_.ids).all()
    seen = {picture_.refs[i] for i in np.unique(ids) if i >= 0}
    assert seen == {"Block.Face3", "Block.Face6", "Block.Face2"}
    col, row = project(picture_.camera.matrix, (20, 0, 5))
    assert picture_.refs[ids[row, col]] == "Block.Face3"
    assert ids[0, 0] == -1


def test_same_input_same_bytes_and_through_a_forked_child(box):
    args = {"view": "right", "highlight": ["Block.Face2"], "markers": [{"point": [40, 10, 5], "label": "F1"}]}
    first = ok(box, "render_view", args)
    second = ok(box, "render_view", args)
    assert first["sha256"] == second["sha256"] and first["image"]["data"] == second["image"]["data"]
    apart = REGISTRY.call("render_view", args, ToolContext(document=box, deadline=time.monotonic() + 60))
    assert apart["ok"], apart
    assert apart["result"]["image"]["data"] == first["image"]["data"]
    assert first["markers"][0]["number"] == 2


def test_long_edge_is_capped_and_tokens_estimated(box):
    result = ok(box, "render_view", {"width": 4000, "height": 3000})
    assert (result["width"], result["height"], result["scaled_down"]) == (1024, 768, True)
    assert picture(result).shape == (768, 1024, 3)
    # Anthropic: w*h/750; OpenAI high detail: 1024x768 is already 768 short side -> 2x2 tiles of 512.
    assert result["image_tokens"] == {"anthropic": math.ceil(1024 * 768 / 750), "openai": 85 + 170 * 4}
    assert image_tokens(512, 512) == {"anthropic": 350, "openai": 85 + 170}


def test_bad_input_is_a_clear_error(box):
    from conftest import error

    assert error(box, "render_view", {"highlight": ["Block.Face99"]})["code"] == "bad_reference"
    assert error(box, "render_view", {"direction": [0, 0, 0]})["code"] == "bad_arguments"
    assert error(box, "render_view", {"view": "sideways"})["code"] == "bad_arguments"
    assert error(box, "render_view", {"width": 10})["code"] == "bad_arguments"


def test_views_of_the_schema_are_those_of_the_data():
    """The named views of render.toml, and "current": the live 3D view in the GUI (test_render_live_view)."""
    assert set(REGISTRY.get("render_view").input_schema["properties"]["view"]["enum"]) == {*config()["views"], "current"}


def test_policy_offers_renders_only_to_vision_models_and_never_as_hidden_geometry():
    spec = REGISTRY.get("render_view")
    assert spec.raw_geometry and "image" in spec.tags
    assert not Policy().tool_allowed(spec), "off unless the model takes images"
    assert Policy(images=True).tool_allowed(spec)
    assert not Policy(images=True, allow_raw_geometry=False).tool_allowed(spec), "a render is geometry"
    exported = Policy(images=True, classification="export-controlled")
    assert exported.tier == "local" and exported.tool_allowed(spec)  # stays on this machine
    assert Policy(images=False).tool_allowed(REGISTRY.get("mass_properties"))


def test_vision_setting():
    assert vision_enabled("claude-sonnet-4-5") and vision_enabled("gpt-4o-mini")
    assert not vision_enabled("Qwen/Qwen3-8B") and not vision_enabled("")
    assert vision_enabled("Qwen/Qwen3-8B", "on") and not vision_enabled("claude-sonnet-4-5", "off")
    settings = BackendSettings.for_provider("openai", {"model": "Qwen/Qwen3-8B"})
    assert not settings.sends_images()
    assert BackendSettings.for_provider("openai", {"model": "Qwen/Qwen3-8B", "vision": "on"}).sends_images()
    with pytest.raises(ValueError):
        BackendSettings.for_provider("openai", {"model": "x", "vision": "maybe"})


def test_bracket_render_for_the_readme(bracket, tmp_path):
    """The README's picture: the sample bracket, its top face and a hole wall numbered."""
    result = ok(bracket, "render_view", {"view": "iso", "highlight": ["Body.Face2", "Body.Face20"]})
    assert all(h["visible"] for h in result["highlights"])
    rgb = picture(result)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 20
    (tmp_path / "bracket.png").write_bytes(base64.b64decode(result["image"]["data"]))


def test_document_without_shapes_is_refused(doc):
    from conftest import error

    assert error(doc, "render_view", {})["code"] == "not_applicable"
    FreeCAD.ActiveDocument  # noqa: B018 - FreeCAD stays importable after the refusal


def test_provider_default_models_and_the_vision_override():
    from freecad_spatial.spatial_tools.backends.settings import provider_sends_images

    assert provider_sends_images("anthropic", {}) and not provider_sends_images("openai", {})
    assert provider_sends_images("openai", {"model": "gpt-4o"}) and provider_sends_images("openai", {"vision": "on"})
    assert not provider_sends_images("anthropic", {"vision": "off"})

"""render_view: a PNG of the document (or some objects) from a named view or a direction, headless.

Highlighted faces and edges get a colour and a numbered label keyed to their ref, findings get ring
markers; the long edge is capped and the image-token cost estimated, because every picture the model
sees is paid for. The same input gives the same bytes (render/raster.py).

In the FreeCAD GUI, ``view: "current"`` (and no view at all) is what the user sees: the chat snapshots
the live 3D view's camera on the GUI thread (ToolContext.view_camera) and the picture is drawn through
that camera, at the viewport's aspect. The pixels still come from our rasteriser, not from the screen's
framebuffer: it gives the same bytes for the same camera, the labels and the id map agree with the
refs exactly, and it runs where the call runs (a forked child or a worker process has no GL context).
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from ..context import ToolContext
from ..registry import tool
from ..render.live_view import default_size
from ..render.view import capped_size, image_tokens, render
from ..schema import VEC3_SCHEMA, Arg, Ref, Vec3

RESULT = {
    "type": "object",
    "properties": {
        "image": {
            "type": "object",
            "description": "the PNG; backends send it to the model as an image block, never as text",
            "properties": {"media_type": {"type": "string"}, "data": {"type": "string"}},
            "required": ["media_type", "data"],
        },
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "scaled_down": {"type": "boolean"},
        "view": {"type": "string"},
        "objects": {"type": "array", "items": {"type": "string"}},
        "highlights": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"number": {"type": "integer"}, "ref": {"type": "string"},
                               "colour": {"type": "array"}, "pixel": {"type": "array"},
                               "visible": {"type": "boolean"}},
                "required": ["number", "ref", "pixel", "visible"],
            },
        },
        "markers": {"type": "array"},
        "camera": {"type": "array", "description": "[col, row] = camera @ [x, y, z, 1] (px from mm); three "
                                                   "rows for a perspective live view: [u, v, w], pixel u/w, v/w"},
        "image_tokens": {"type": "object"},
        "bytes": {"type": "integer"},
        "sha256": {"type": "string"},
    },
    "required": ["image", "width", "height", "view", "highlights", "camera", "image_tokens", "sha256"],
}

MARKERS_SCHEMA = {
    "type": "array",
    "maxItems": 50,
    "items": {
        "type": "object",
        "properties": {"point": VEC3_SCHEMA, "label": {"type": "string"}},
        "required": ["point"],
    },
}


@tool(result=RESULT, raw_geometry=True, tags=("image",))
def render_view(
    ctx: ToolContext,
    view: Annotated[Literal["iso", "front", "back", "left", "right", "top", "bottom", "current"] | None,
                    Arg("Named view, or 'current': the live 3D view's camera in the FreeCAD GUI "
                        "(default: current in the GUI, else iso)")] = None,
    direction: Annotated[Vec3 | None, Arg("Camera direction from the part, instead of a named view")] = None,
    objects: Annotated[list[str] | None, Arg("Objects to render (default: the visible parts)")] = None,
    highlight: Annotated[list[Ref] | None, Arg("Faces/edges to colour and number, e.g. 'Plate.Face7'",
                                               schema={"type": "array", "maxItems": 20,
                                                       "items": {"type": "string"}})] = None,
    markers: Annotated[list[dict] | None, Arg("Points to ring, e.g. findings", schema=MARKERS_SCHEMA)] = None,
    width: Annotated[int | None, Arg("Pixels (long edge capped at 1024)", minimum=64, maximum=4096)] = None,
    height: Annotated[int | None, Arg("Pixels", minimum=64, maximum=4096)] = None,
) -> dict:
    live = ctx.view_camera
    if view is None and direction is None and live is not None:
        view = "current"
    if view == "current":
        width, height = default_size(live, width, height)
    w, h, scaled = capped_size(width, height)
    picture = render(ctx.document, objects=objects, view=view, direction=list(direction) if direction else None,
                     width=w, height=h, highlight=highlight, markers=markers, live_camera=live)
    return {
        "image": {"media_type": "image/png", "data": base64.b64encode(picture.png).decode("ascii")},
        "width": w,
        "height": h,
        "scaled_down": scaled,
        "view": picture.view,
        "objects": picture.objects,
        "highlights": picture.highlights,
        "markers": picture.markers,
        "camera": picture.camera.matrix,
        "image_tokens": image_tokens(w, h),
        "bytes": len(picture.png),
        "sha256": picture.sha256,
    }

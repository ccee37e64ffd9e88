"""The live 3D view's camera as plain data, and the render camera it gives.

The chat takes the snapshot on FreeCAD's GUI thread when it starts a tool call (``snapshot``); the
dict of floats crosses to the forked child or the worker process in the ToolContext, where
``camera_of`` turns it into the rasteriser's camera. Coin's conventions: the camera looks along its
orientation's -Z with +Y up; an orthographic camera shows ``height`` mm, a perspective one the full
vertical angle ``height_angle``; with the ``ADJUST_CAMERA`` viewport mapping (FreeCAD's), a picture
taller than wide keeps that extent across its width instead (the volume grows by 1/aspect).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import BadArguments, NotApplicable
from .raster import Camera, PerspectiveCamera

NO_LIVE_VIEW = ("render_view: view 'current' is the live 3D view of the FreeCAD GUI, and there is no live view "
                "here (CLI, MCP, batch or a document without a 3D view): use a named view or a direction")


def snapshot(gui_document: Any) -> dict | None:
    """The camera of ``gui_document``'s active 3D view (GUI thread only); None when it has no 3D view."""
    view = getattr(gui_document, "ActiveView", None) if gui_document is not None else None
    if view is None or not hasattr(view, "getCameraNode"):
        return None
    camera = view.getCameraNode()
    rotation = camera.orientation.getValue()  # SbRotation
    direction = rotation.multVec(_sbvec(0.0, 0.0, -1.0))
    up = rotation.multVec(_sbvec(0.0, 1.0, 0.0))
    width, height = view.getSize()
    perspective = camera.getTypeId().getName().getString() == "PerspectiveCamera"
    shot = {
        "kind": "perspective" if perspective else "orthographic",
        "position": [float(v) for v in camera.position.getValue().getValue()],
        "direction": [float(v) for v in direction.getValue()],
        "up": [float(v) for v in up.getValue()],
        "focal_distance": float(camera.focalDistance.getValue()),
        "aspect_ratio": float(camera.aspectRatio.getValue()),
        "viewport": [int(width), int(height)],
        "adjust_camera": int(camera.viewportMapping.getValue()) == _adjust_camera(),
    }
    if perspective:
        shot["height_angle"] = float(camera.heightAngle.getValue())
    else:
        shot["height"] = float(camera.height.getValue())
    return shot


def _sbvec(x: float, y: float, z: float) -> Any:
    from pivy import coin

    return coin.SbVec3f(x, y, z)


def _adjust_camera() -> int:
    from pivy import coin

    return int(coin.SoCamera.ADJUST_CAMERA)


def default_size(shot: dict | None, width: int | None, height: int | None) -> tuple[int | None, int | None]:
    """A size the caller left open follows the live viewport's aspect (long edge: the default width)."""
    if shot is None or (width is not None and height is not None):
        return width, height
    try:
        vw, vh = (max(int(v), 1) for v in shot["viewport"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadArguments(f"render_view: the live view's size could not be read ({exc!r})") from exc
    if width is not None:
        return width, max(1, round(width * vh / vw))
    if height is not None:
        return max(1, round(height * vw / vh)), height
    from .view import config

    long_edge = int(config()["image"]["width"])
    if vw >= vh:
        return long_edge, max(1, round(long_edge * vh / vw))
    return max(1, round(long_edge * vw / vh)), long_edge


def camera_of(shot: dict | None, width: int, height: int) -> Camera:
    """The rasteriser's camera for ``shot`` drawn at ``width`` x ``height`` px."""
    if shot is None:
        raise NotApplicable(NO_LIVE_VIEW)
    try:
        position = _vector(shot["position"])
        direction = _unit(shot["direction"])
        up = _vector(shot["up"])
        up = up - direction * float(up @ direction)
        up = _unit(up)
        kind = shot["kind"]
        extent = float(shot["height_angle"] if kind == "perspective" else shot["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadArguments(f"render_view: the live view's camera could not be read ({exc!r})") from exc
    if not math.isfinite(extent) or extent <= 0:
        raise BadArguments("render_view: the live view's camera has no extent")
    toward = -direction
    right = np.cross(up, toward)
    # ADJUST_CAMERA: the extent spans the picture's height, or its width when the picture is taller than wide.
    span_px = float(min(width, height)) if shot.get("adjust_camera", True) else float(height)
    if kind == "perspective":
        if extent >= math.pi:
            raise BadArguments("render_view: the live view's perspective angle is not below 180 degrees")
        focal_px = span_px / 2 / math.tan(extent / 2)
        return PerspectiveCamera(right, up, toward, focal_px / max(float(shot.get("focal_distance", 1.0)), 1e-9),
                                 (width / 2, height / 2), width, height, position=position, focal_px=focal_px)
    scale = span_px / extent
    offset = (width / 2 - float(position @ right) * scale, height / 2 + float(position @ up) * scale)
    return Camera(right, up, toward, scale, offset, width, height)


def _vector(values: Any) -> np.ndarray:
    v = np.asarray(values, float)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise ValueError("not a finite [x, y, z]")
    return v


def _unit(values: Any) -> np.ndarray:
    v = _vector(values)
    n = float(np.linalg.norm(v))
    if n < 1e-12:
        raise ValueError("a zero direction")
    return v / n

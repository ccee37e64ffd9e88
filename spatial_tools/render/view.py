"""Renders of a FreeCAD document: which objects, which view, highlights with numbered labels, markers.

Faces are tessellated by FreeCAD (global coordinates), drawn by raster.py and encoded by png.py; the
picture, an id map (each pixel's face ref) and the camera come back together so a caller can check
where a ref landed.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from freecad_spatial import RESOURCES

from ..errors import BadArguments, BadReference, NotApplicable
from ..refs import element_ref, global_shape, resolve
from . import png
from .live_view import NO_LIVE_VIEW, camera_of
from .raster import Camera, Canvas

CONFIG_FILE = RESOURCES / "render.toml"


@cache
def config() -> dict:
    with open(CONFIG_FILE, "rb") as fh:
        return tomllib.load(fh)


def view_names() -> list[str]:
    return list(config()["views"])


def capped_size(width: int | None, height: int | None) -> tuple[int, int, bool]:
    """The picture size with its long edge capped (render.toml); True when it was scaled down."""
    image = config()["image"]
    w, h = int(width or image["width"]), int(height or image["height"])
    if w < image["min_edge"] or h < image["min_edge"]:
        raise BadArguments(f"render_view: the picture must be at least {image['min_edge']} px on each side")
    long_edge = max(w, h)
    if long_edge <= image["max_long_edge"]:
        return w, h, False
    f = image["max_long_edge"] / long_edge
    return max(image["min_edge"], int(w * f)), max(image["min_edge"], int(h * f)), True


def image_tokens(width: int, height: int) -> dict[str, int]:
    """Estimated input tokens of the picture for Anthropic and OpenAI (high detail) models."""
    t = config()["tokens"]
    anthropic = math.ceil(width * height / t["anthropic_pixels_per_token"])
    w, h = float(width), float(height)
    if max(w, h) > t["openai_fit"]:
        f = t["openai_fit"] / max(w, h)
        w, h = w * f, h * f
    if min(w, h) > t["openai_short_side"]:
        f = t["openai_short_side"] / min(w, h)
        w, h = w * f, h * f
    tiles = math.ceil(w / t["openai_tile"]) * math.ceil(h / t["openai_tile"])
    return {"anthropic": anthropic, "openai": t["openai_base"] + t["openai_per_tile"] * tiles}


def default_objects(document: Any) -> list[Any]:
    """The objects a user sees as the document's parts: visible shapes no other shape object consumes."""
    out = []
    for obj in document.Objects:
        shape = getattr(obj, "Shape", None)
        if shape is None or not hasattr(shape, "Faces") or shape.isNull() or not shape.Faces:
            continue
        if not getattr(obj, "Visibility", True):
            continue
        if any(getattr(p, "Shape", None) is not None and not p.isDerivedFrom("App::Part") for p in obj.InList):
            continue
        out.append(obj)
    return out


@dataclass
class Mesh:
    """Triangles of every face of the rendered objects, and the edges as polylines (global mm)."""

    refs: list[str] = field(default_factory=list)  # face index -> "Object.FaceN"
    vertices: list[np.ndarray] = field(default_factory=list)
    triangles: list[np.ndarray] = field(default_factory=list)
    edges: dict[str, np.ndarray] = field(default_factory=dict)  # "Object.EdgeN" -> (n, 3)
    points: np.ndarray | None = None  # every vertex, for fitting the camera


def tessellate(objects: list[Any]) -> Mesh:
    """FreeCAD's tessellation of ``objects`` with a deflection relative to their size (render.toml)."""
    cfg = config()["tessellation"]
    shapes = [(obj, global_shape(obj)) for obj in objects]
    box = None
    for _, shape in shapes:
        b = shape.BoundBox
        box = b if box is None else box.united(b)
    diagonal = box.DiagonalLength if box is not None and box.isValid() else 1.0
    deflection = max(diagonal * cfg["relative_deflection"], 1e-4)
    mesh = Mesh()
    angle = cfg["angular_deflection_rad"]
    for obj, placed in shapes:
        # A copy without the stored triangulation, so an earlier finer mesh (the 3D view's) never changes
        # the picture: the same shape always gives the same triangles.
        shape = placed.copy()
        for i, face in enumerate(shape.Faces, start=1):
            radius = getattr(face.Surface, "Radius", None)
            tol = deflection
            if isinstance(radius, float) and radius > 0:  # round faces stay round: bound the chord angle too
                tol = min(deflection, max(radius * (1 - math.cos(angle / 2)), deflection / 20))
            pts, tris = face.tessellate(tol)
            mesh.refs.append(element_ref(obj, "Face", i))
            mesh.vertices.append(np.array([(p.x, p.y, p.z) for p in pts], float).reshape(-1, 3))
            mesh.triangles.append(np.array(tris, np.int64).reshape(-1, 3))
        for i, edge in enumerate(shape.Edges, start=1):
            if getattr(edge, "Degenerated", False):
                continue
            try:
                radius = getattr(edge.Curve, "Radius", None)
                tol = deflection
                if isinstance(radius, float) and radius > 0:
                    tol = min(deflection, max(radius * (1 - math.cos(angle / 2)), deflection / 20))
                pts = edge.discretize(Deflection=tol)
            except Exception:  # an edge the kernel cannot discretise is left out of the outline only
                continue
            mesh.edges[element_ref(obj, "Edge", i)] = np.array([(p.x, p.y, p.z) for p in pts], float).reshape(-1, 3)
    parts = mesh.vertices + list(mesh.edges.values())
    mesh.points = np.concatenate(parts) if parts else np.zeros((0, 3))
    return mesh


@dataclass
class Render:
    """One picture: PNG bytes, the id map, the camera, and where each highlight and marker landed."""

    png: bytes
    ids: np.ndarray  # (h, w) face index per pixel, -1 background
    refs: list[str]  # face index -> ref
    camera: Camera
    view: str
    highlights: list[dict]
    markers: list[dict]
    objects: list[str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()

    def id_map_png(self) -> bytes:
        """The id map as PNG: face index + 1 in red (low byte) and green (high byte), black background."""
        v = (self.ids + 1).astype(np.int64)
        rgb = np.zeros((*self.ids.shape, 3), np.uint8)
        rgb[:, :, 0], rgb[:, :, 1] = v & 255, (v >> 8) & 255
        return png.encode(rgb)


def decode_id_map(data: bytes) -> np.ndarray:
    """The face index per pixel (-1 background) of an id-map PNG written by ``Render.id_map_png``."""
    rgb = png.decode(data).astype(np.int64)
    return rgb[:, :, 0] + (rgb[:, :, 1] << 8) - 1


def _direction(view: str | None, direction: list[float] | None) -> tuple[str, np.ndarray, np.ndarray]:
    views = config()["views"]
    if direction is not None:
        d = np.asarray(direction, float)
        if d.shape != (3,) or not np.all(np.isfinite(d)) or np.linalg.norm(d) < 1e-9:
            raise BadArguments("render_view: `direction` must be a non-zero [x, y, z]")
        d = d / np.linalg.norm(d)
        up = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
        return "direction", d, up
    name = view or "iso"
    if name not in views:
        raise BadArguments(f"render_view: unknown view '{name}' (views: {', '.join(views)})")
    return name, np.asarray(views[name]["toward"], float), np.asarray(views[name]["up"], float)


def render(document: Any, *, objects: list[str] | None = None, view: str | None = None,
           direction: list[float] | None = None, width: int | None = None, height: int | None = None,
           highlight: list[Any] | None = None, markers: list[dict] | None = None,
           mesh: Mesh | None = None, live_camera: dict | None = None) -> Render:
    """Renders ``objects`` (default: the visible parts) from a named view, a direction (part -> camera), or
    with ``view="current"`` through the live 3D view's camera (``live_camera``, live_view.snapshot)."""
    cfg = config()
    colours, shading, labels = cfg["colours"], cfg["shading"], cfg["labels"]
    if objects:
        chosen = []
        for name in objects:
            element = resolve(document, name)
            if element.obj is None or element.kind is not None:
                raise BadReference(f"render_view: '{name}' is not an object")
            chosen.append(element.obj)
    else:
        chosen = default_objects(document)
    if view == "current" and live_camera is None:
        raise NotApplicable(NO_LIVE_VIEW)
    if not chosen:
        raise NotApplicable("render_view: the document has no visible shape to render")
    if view == "current" and direction is not None:
        raise BadArguments("render_view: give either view 'current' or a direction, not both")
    w, h, _ = capped_size(width, height)
    if view == "current":
        name, camera = "current", camera_of(live_camera, w, h)
    if mesh is None:
        mesh = tessellate(chosen)
    if view != "current":
        name, toward, up = _direction(view, direction)
        camera = Camera.fit(mesh.points, toward, up, w, h, cfg["image"]["margin"])
    canvas = Canvas(camera, colours["background"])

    palette = [np.asarray(c, float) for c in colours["highlights"]]
    face_colour: dict[int, np.ndarray] = {}
    edge_colour: dict[str, np.ndarray] = {}
    wanted: list[tuple[int, str, str]] = []  # (number, ref, kind)
    index_of = {ref: i for i, ref in enumerate(mesh.refs)}
    for n, ref in enumerate(highlight or [], start=1):
        element = resolve(document, ref)
        colour = palette[(n - 1) % len(palette)]
        if element.kind == "Face" and element.ref in index_of:
            face_colour[index_of[element.ref]] = colour
        elif element.kind == "Edge" and element.ref in mesh.edges:
            edge_colour[element.ref] = colour
        else:
            raise BadReference(f"render_view: '{element.ref}' is not a face or edge of the rendered objects")
        wanted.append((n, element.ref, element.kind))

    # Faces: one batch of triangles, in face order (ties in depth go to the earlier face: deterministic).
    base = np.asarray(colours["part"], float)
    offset, verts, tris, ids, cols = 0, [], [], [], []
    for i, (v, t) in enumerate(zip(mesh.vertices, mesh.triangles, strict=True)):
        verts.append(v)
        tris.append(t + offset)
        ids.append(np.full(len(t), i, np.int32))
        cols.append(np.repeat(face_colour.get(i, base)[None, :], len(t), axis=0))
        offset += len(v)
    if verts:
        canvas.triangles(np.concatenate(verts), np.concatenate(tris), np.concatenate(ids), np.concatenate(cols),
                         shading["ambient"], shading["diffuse"])
    bias = camera.depth_bias(2.0)  # two pixels' worth of depth, so edges on a face are not hidden by it
    for ref, pts in mesh.edges.items():
        if ref not in edge_colour:
            canvas.polyline(pts, colours["edge"], bias)
    for ref, colour in edge_colour.items():  # highlighted edges: three px wide
        for dx, dy in ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)):
            shifted = mesh.edges[ref] + (camera.right * dx + camera.up * dy) / camera.scale
            canvas.polyline(shifted, colour.astype(np.uint8), bias)

    infos: list[dict] = []
    for n, ref, kind in wanted:
        anchor, visible = _anchor(canvas, mesh, index_of, ref, kind)
        info = {"number": n, "ref": ref, "colour": [int(c) for c in palette[(n - 1) % len(palette)]],
                "pixel": [round(anchor[0], 1), round(anchor[1], 1)], "visible": visible}
        infos.append(info)
    marker_infos: list[dict] = []
    for m, marker in enumerate(markers or [], start=len(wanted) + 1):
        point = marker.get("point") if isinstance(marker, dict) else None
        if not (isinstance(point, list) and len(point) == 3 and all(isinstance(x, (int, float)) for x in point)):
            raise BadArguments("render_view: each marker needs a `point` [x, y, z] in mm")
        col, row, _ = camera.project(np.asarray(point, float))[0]
        if not camera.in_front(np.asarray(point, float))[0]:  # behind a perspective live view: not drawn
            marker_infos.append({"number": m, "point": point, "pixel": None, "label": str(marker.get("label", ""))[:80]})
            continue
        canvas.ring((col, row), 7.0, colours["marker"])
        marker_infos.append({"number": m, "point": point, "pixel": [round(col, 1), round(row, 1)],
                             "label": str(marker.get("label", ""))[:80]})
    # Labels last, over everything: a box offset from its point with a leader that stops short of it.
    dx, dy = labels["offset"]
    for info in infos + [m for m in marker_infos if m["pixel"] is not None]:
        col, row = info["pixel"]
        box = canvas.label(str(info["number"]), (col + dx, row + dy), labels["scale"], colours["label_text"],
                           colours["label_box"], colours["edge"])
        bx = min(max(col, box[0]), box[2] - 1)
        by = min(max(row, box[1]), box[3] - 1)
        length = math.hypot(col - bx, row - by)
        gap = labels["leader_gap"]
        if length > gap + 1:
            f = (length - gap) / length
            canvas.line_2d((bx, by), (bx + (col - bx) * f, by + (row - by) * f), colours["edge"])
    return Render(png=png.encode(canvas.rgb), ids=canvas.ids.copy(), refs=list(mesh.refs), camera=camera,
                  view=name, highlights=infos, markers=marker_infos, objects=[o.Name for o in chosen])


def _anchor(canvas: Canvas, mesh: Mesh, index_of: dict[str, int], ref: str, kind: str) -> tuple[tuple[float, float], bool]:
    """Where a highlight's label points: the face's visible pixel nearest the centre of its visible
    pixels, else the projection of its vertices' centre (``visible`` False); an edge's middle point."""
    cam = canvas.camera
    if kind == "Edge":
        pts = mesh.edges[ref]
        mid = cam.project(pts[len(pts) // 2])[0]
        return (float(mid[0]), float(mid[1])), True
    i = index_of[ref]
    rows, cols = np.nonzero(canvas.ids == i)
    if len(rows) == 0:
        c = cam.project(mesh.vertices[i].mean(axis=0))[0]
        return (float(c[0]), float(c[1])), False
    cy, cx = rows.mean(), cols.mean()
    k = int(np.argmin((rows - cy) ** 2 + (cols - cx) ** 2))
    return (float(cols[k]) + 0.5, float(rows[k]) + 0.5), True

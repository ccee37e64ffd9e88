"""A z-buffer rasteriser in numpy (orthographic, or perspective for a live view's camera): shaded faces, an id map, edges, numbered labels.

Pure arithmetic on arrays in a fixed order, so the same triangles give the same pixels on every machine;
no OpenGL context and no display (see the package docstring for why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Candidate pixels handled at once by Canvas.triangles (memory: about 100 bytes each).
_CHUNK = 2_000_000

# 3x5 glyphs of the label digits (rows top to bottom, 3 bits each).
_GLYPHS = {
    "0": (7, 5, 5, 5, 7), "1": (2, 6, 2, 2, 7), "2": (7, 1, 7, 4, 7), "3": (7, 1, 7, 1, 7), "4": (5, 5, 7, 1, 1),
    "5": (7, 4, 7, 1, 7), "6": (7, 4, 7, 5, 7), "7": (7, 1, 1, 1, 1), "8": (7, 5, 7, 5, 7), "9": (7, 5, 7, 1, 7),
    "F": (7, 4, 7, 4, 4),
}


@dataclass(frozen=True)
class Camera:
    """Orthographic camera: pixel (col, row) = ``matrix @ [x, y, z, 1]``; depth grows towards the camera."""

    right: np.ndarray
    up: np.ndarray
    toward: np.ndarray
    scale: float  # px per mm
    offset: tuple[float, float]  # pixel of the world origin's projection
    width: int
    height: int

    @classmethod
    def fit(cls, points: np.ndarray, toward, up, width: int, height: int, margin: float) -> Camera:
        """The camera that looks along ``-toward`` and fits ``points`` into the picture with ``margin``."""
        t = np.asarray(toward, float)
        t = t / np.linalg.norm(t)
        u = np.asarray(up, float)
        u = u - t * float(u @ t)
        if np.linalg.norm(u) < 1e-9:
            raise ValueError("the up direction is parallel to the view direction")
        u = u / np.linalg.norm(u)
        r = np.cross(u, t)
        if len(points) == 0:
            points = np.zeros((1, 3))
        sx, sy = points @ r, points @ u
        span_x, span_y = max(float(np.ptp(sx)), 1e-9), max(float(np.ptp(sy)), 1e-9)
        scale = min(width * (1 - 2 * margin) / span_x, height * (1 - 2 * margin) / span_y)
        cx, cy = (float(sx.max()) + float(sx.min())) / 2, (float(sy.max()) + float(sy.min())) / 2
        return cls(r, u, t, scale, (width / 2 - cx * scale, height / 2 + cy * scale), width, height)

    @property
    def matrix(self) -> list[list[float]]:
        """Rows giving pixel column and row of a point in mm: ``[col, row] = M @ [x, y, z, 1]``."""
        return [[*(self.right * self.scale), self.offset[0]], [*(-self.up * self.scale), self.offset[1]]]

    def project(self, points: np.ndarray) -> np.ndarray:
        """(n, 3) mm -> (n, 3): pixel column, pixel row, depth (mm, larger is nearer)."""
        p = np.asarray(points, float).reshape(-1, 3)
        return np.stack([p @ self.right * self.scale + self.offset[0], -(p @ self.up) * self.scale + self.offset[1],
                         p @ self.toward], axis=1)

    def in_front(self, points: np.ndarray) -> np.ndarray:
        """Which points the camera can draw (all, for an orthographic camera)."""
        return np.ones(len(np.asarray(points).reshape(-1, 3)), bool)

    def depth_bias(self, px: float) -> float:
        """``px`` pixels' worth of depth (near the focal point), so edges on a face are not hidden by it."""
        return px / self.scale


@dataclass(frozen=True)
class PerspectiveCamera(Camera):
    """Perspective camera at ``position``: pixel = centre + ``focal_px`` * (x, -y) / distance along the view.

    Depth is 1 / distance, which is affine over the screen, so the rasteriser's depth planes stay exact;
    ``scale`` is px per mm at the focal distance. Points closer than ``near`` (or behind) are not drawn.
    """

    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    focal_px: float = 1.0
    near: float = 1e-3

    @property
    def matrix(self) -> list[list[float]]:
        """Homogeneous rows: ``[u, v, w] = M @ [x, y, z, 1]``, pixel column u / w, row v / w."""
        look = -self.toward
        rows = [self.right * self.focal_px + look * self.offset[0], -self.up * self.focal_px + look * self.offset[1],
                look]
        return [[*r, -float(r @ self.position)] for r in rows]

    def _distance(self, p: np.ndarray) -> np.ndarray:
        return -((p - self.position) @ self.toward)

    def project(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, float).reshape(-1, 3)
        d = p - self.position
        z = np.maximum(self._distance(p), self.near)
        return np.stack([self.focal_px * (d @ self.right) / z + self.offset[0],
                         -self.focal_px * (d @ self.up) / z + self.offset[1], 1.0 / z], axis=1)

    def in_front(self, points: np.ndarray) -> np.ndarray:
        return self._distance(np.asarray(points, float).reshape(-1, 3)) > self.near

    def depth_bias(self, px: float) -> float:
        focal_distance = self.focal_px / self.scale
        return px / self.scale / focal_distance**2


class Canvas:
    """Colour, depth and face-id buffers of one picture."""

    def __init__(self, camera: Camera, background) -> None:
        self.camera = camera
        h, w = camera.height, camera.width
        self.rgb = np.empty((h, w, 3), np.uint8)
        self.rgb[:] = np.asarray(background, np.uint8)
        self.depth = np.full((h, w), -np.inf)
        self.ids = np.full((h, w), -1, np.int32)  # index of the face seen at each pixel, -1: background

    def triangles(self, vertices: np.ndarray, triangles: np.ndarray, face_ids: np.ndarray, colours: np.ndarray,
                  ambient: float, diffuse: float) -> None:
        """Fills triangles (vertex indices) with flat Lambert shading; ``colours`` per triangle (n, 3)."""
        if len(triangles) == 0:
            return
        screen = self.camera.project(vertices)
        front = self.camera.in_front(vertices)[triangles].all(axis=1)
        world = vertices[triangles]
        normals = np.cross(world[:, 1] - world[:, 0], world[:, 2] - world[:, 0])
        lengths = np.linalg.norm(normals, axis=1)
        keep = lengths > 1e-15
        facing = np.abs(normals[keep] @ self.camera.toward) / lengths[keep]
        light = np.zeros(len(triangles))
        light[keep] = ambient + diffuse * facing
        shaded = np.clip(np.rint(colours * light[:, None]), 0, 255).astype(np.uint8)
        tri = screen[triangles]  # (n, 3 corners, 3)
        h, w = self.camera.height, self.camera.width
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        ok = keep & front & (np.abs(area) > 1e-12)
        safe = np.where(ok, area, 1.0)
        # Depth is a plane over the screen: z = z0 + dzdx (x - x0) + dzdy (y - y0).
        dzdx = (e1[:, 2] * e2[:, 1] - e2[:, 2] * e1[:, 1]) / safe
        dzdy = (e2[:, 2] * e1[:, 0] - e1[:, 2] * e2[:, 0]) / safe
        r0 = np.maximum(np.ceil(tri[:, :, 1].min(axis=1) - 0.5), 0).astype(np.int64)
        r1 = np.minimum(np.floor(tri[:, :, 1].max(axis=1) - 0.5), h - 1).astype(np.int64)
        nrows = np.where(ok, (r1 - r0 + 1).clip(min=0), 0)
        # Scanlines: for every (triangle, pixel row) the covered span of pixel centres, so the work is the
        # rows plus the covered pixels (a sliver's bounding box can be most of the picture).
        owner = np.repeat(np.arange(len(tri)), nrows)
        if len(owner) == 0:
            return
        row = r0[owner] + (np.arange(len(owner)) - np.repeat(np.cumsum(nrows) - nrows, nrows))
        y = row + 0.5
        t = tri[owner]
        left = np.full(len(owner), np.inf)
        right = np.full(len(owner), -np.inf)
        for i, j in ((0, 1), (1, 2), (2, 0)):
            py, qy = t[:, i, 1], t[:, j, 1]
            dy = qy - py
            on = ((y - py) * (y - qy) <= 0) & (dy != 0)
            x = t[:, i, 0] + (y - py) * (t[:, j, 0] - t[:, i, 0]) / np.where(dy != 0, dy, 1.0)
            left = np.where(on, np.minimum(left, x), left)
            right = np.where(on, np.maximum(right, x), right)
        c0 = np.maximum(np.ceil(left - 0.5), 0)
        c1 = np.minimum(np.floor(right - 0.5), w - 1)
        ncols = np.where(np.isfinite(c0) & np.isfinite(c1), c1 - c0 + 1, 0).clip(min=0).astype(np.int64)
        c0 = np.where(ncols > 0, c0, 0).astype(np.int64)
        # Fragments in chunks of about _CHUNK; equal depths go to the earlier triangle, earlier chunks win ties.
        csum = np.cumsum(ncols)
        start = 0
        while start < len(ncols):
            base = csum[start - 1] if start else 0
            stop = max(int(np.searchsorted(csum, base + _CHUNK, side="right")), start + 1)
            sl = slice(start, stop)
            counts = ncols[sl]
            k = np.repeat(owner[sl], counts)
            col = np.repeat(c0[sl], counts) + (np.arange(len(k)) - np.repeat(np.cumsum(counts) - counts, counts))
            rr = np.repeat(row[sl], counts)
            z = tri[k, 0, 2] + dzdx[k] * (col + 0.5 - tri[k, 0, 0]) + dzdy[k] * (rr + 0.5 - tri[k, 0, 1])
            self._resolve(rr * w + col, z, k, face_ids, shaded)
            start = stop

    def _resolve(self, pixel: np.ndarray, z: np.ndarray, k: np.ndarray, face_ids: np.ndarray,
                 shaded: np.ndarray) -> None:
        """Keeps per pixel the nearest fragment (ties: the lowest triangle index) where it beats the buffer."""
        if len(pixel) == 0:
            return
        order = np.lexsort((k, -z, pixel))
        pixel, z, k = pixel[order], z[order], k[order]
        best = np.ones(len(pixel), bool)
        best[1:] = pixel[1:] != pixel[:-1]
        pixel, z, k = pixel[best], z[best], k[best]
        depth = self.depth.reshape(-1)
        nearer = z > depth[pixel]
        pixel, z, k = pixel[nearer], z[nearer], k[nearer]
        depth[pixel] = z
        self.ids.reshape(-1)[pixel] = face_ids[k]
        self.rgb.reshape(-1, 3)[pixel] = shaded[k]

    def polyline(self, points: np.ndarray, colour, depth_bias: float, step_px: float = 0.5) -> None:
        """Draws a 3D polyline one pixel wide where no surface is nearer than it (plus ``depth_bias`` mm)."""
        screen = self.camera.project(points)
        if len(screen) < 2:
            return
        front = self.camera.in_front(points)
        drawn = front[:-1] & front[1:]  # a segment reaching behind a perspective camera is left out
        a, b = screen[:-1][drawn], screen[1:][drawn]
        if len(a) == 0:
            return
        lengths = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
        counts = np.maximum(1, np.ceil(lengths / step_px).astype(int)) + 1
        seg = np.repeat(np.arange(len(a)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        t = (np.arange(len(seg)) - first) / np.repeat(counts - 1, counts)  # 0 .. 1 along each segment
        samples = a[seg] + (b[seg] - a[seg]) * t[:, None]
        cols, rows = np.floor(samples[:, 0]).astype(int), np.floor(samples[:, 1]).astype(int)
        h, w = self.camera.height, self.camera.width
        ok = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
        cols, rows, z = cols[ok], rows[ok], samples[ok, 2]
        visible = z + depth_bias >= self.depth[rows, cols]
        self.rgb[rows[visible], cols[visible]] = np.asarray(colour, np.uint8)

    def line_2d(self, start, end, colour) -> None:
        """A screen-space line over everything (label leaders)."""
        n = int(max(abs(end[0] - start[0]), abs(end[1] - start[1]))) * 2 + 2
        xs = np.rint(np.linspace(start[0], end[0], n)).astype(int)
        ys = np.rint(np.linspace(start[1], end[1], n)).astype(int)
        ok = (xs >= 0) & (xs < self.camera.width) & (ys >= 0) & (ys < self.camera.height)
        self.rgb[ys[ok], xs[ok]] = np.asarray(colour, np.uint8)

    def label(self, text: str, centre: tuple[float, float], scale: int, text_colour, box_colour,
              border_colour) -> tuple[int, int, int, int]:
        """A boxed label of digits centred at ``centre`` (kept inside the picture); returns its box x0, y0, x1, y1."""
        gw, gh, pad = 3 * scale, 5 * scale, scale
        bw, bh = len(text) * (gw + scale) - scale + 2 * pad + 2, gh + 2 * pad + 2
        h, w = self.camera.height, self.camera.width
        x0 = int(min(max(round(centre[0] - bw / 2), 0), max(w - bw, 0)))
        y0 = int(min(max(round(centre[1] - bh / 2), 0), max(h - bh, 0)))
        x1, y1 = min(x0 + bw, w), min(y0 + bh, h)
        self.rgb[y0:y1, x0:x1] = np.asarray(border_colour, np.uint8)
        self.rgb[y0 + 1:y1 - 1, x0 + 1:x1 - 1] = np.asarray(box_colour, np.uint8)
        for i, ch in enumerate(text):
            rows = _GLYPHS[ch]
            gx = x0 + 1 + pad + i * (gw + scale)
            for r, bits in enumerate(rows):
                for c in range(3):
                    if bits >> (2 - c) & 1:
                        ys, xs = y0 + 1 + pad + r * scale, gx + c * scale
                        self.rgb[ys:min(ys + scale, h), xs:min(xs + scale, w)] = np.asarray(text_colour, np.uint8)
        return x0, y0, x1, y1

    def ring(self, centre: tuple[float, float], radius: float, colour, thickness: float = 2.0) -> None:
        """A circle outline over everything (findings markers)."""
        r = int(math.ceil(radius + thickness))
        cx, cy = centre
        ys, xs = np.mgrid[int(cy) - r:int(cy) + r + 1, int(cx) - r:int(cx) + r + 1]
        d = np.hypot(xs + 0.5 - cx, ys + 0.5 - cy)
        on = (np.abs(d - radius) <= thickness / 2) & (xs >= 0) & (xs < self.camera.width) & (ys >= 0) & (ys < self.camera.height)
        self.rgb[ys[on], xs[on]] = np.asarray(colour, np.uint8)

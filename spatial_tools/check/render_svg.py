"""Draws parts headless as an isometric SVG with numbered finding markers.

No GUI and no OpenGL: each face is tessellated by the kernel, projected
isometrically, lit with flat (Lambert) shading and painted back to front
(painter's algorithm). Faces named by a finding are tinted with its
severity's colour; each finding with a location gets a numbered circle at
its projected point, numbered in the order the report lists findings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..dfm.finding import Finding, Severity

WIDTH, HEIGHT, MARGIN = 520, 390, 28
EYE = (1.0, -1.0, 1.0)  # towards the viewer: +X to the right and down, +Y to the right and up, +Z up
LIGHT = (0.45, -0.25, 0.85)
BASE_RGB = (176, 190, 208)
SEVERITY_RGB = {Severity.ERROR: (215, 58, 73), Severity.WARNING: (227, 140, 9), Severity.INFO: (3, 102, 214)}
UNKNOWN_RGB = (120, 0, 160)  # never green: anything unexpected is drawn loud
MARKER_RADIUS = 10
EDGE_COLOUR = "#3b4756"


def _norm(v: Sequence[float]) -> tuple[float, float, float]:
    length = math.sqrt(sum(c * c for c in v)) or 1.0
    return (v[0] / length, v[1] / length, v[2] / length)


def _cross(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@dataclass(frozen=True)
class View:
    """An orthographic view: screen axes ``right``/``up`` and ``eye`` towards the viewer."""

    eye: tuple[float, float, float]
    right: tuple[float, float, float]
    up: tuple[float, float, float]

    @classmethod
    def isometric(cls, eye: Sequence[float] = EYE) -> View:
        e = _norm(eye)
        right = _norm(_cross((0.0, 0.0, 1.0), e))
        up = _norm(_cross(e, right))
        return cls(e, right, up)

    def project(self, p: Sequence[float]) -> tuple[float, float, float]:
        """(x right, y up, depth towards the viewer) in model units."""
        return (_dot(p, self.right), _dot(p, self.up), _dot(p, self.eye))


@dataclass
class Fit:
    """Maps projected model coordinates to SVG pixels (y down), keeping proportions."""

    scale: float
    x0: float
    y0: float

    @classmethod
    def around(cls, xs: Iterable[float], ys: Iterable[float]) -> Fit:
        xs, ys = list(xs) or [0.0], list(ys) or [0.0]
        span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
        scale = min((WIDTH - 2 * MARGIN) / (span_x or 1.0), (HEIGHT - 2 * MARGIN) / (span_y or 1.0))
        x0 = MARGIN + (WIDTH - 2 * MARGIN - span_x * scale) / 2 - min(xs) * scale
        y0 = MARGIN + (HEIGHT - 2 * MARGIN - span_y * scale) / 2 + max(ys) * scale
        return cls(scale, x0, y0)

    def pixel(self, x: float, y: float) -> tuple[float, float]:
        return (self.x0 + x * self.scale, self.y0 - y * self.scale)


def _rgb(rgb: Sequence[float], light: float) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, int(c * light))) for c in rgb))


def _face_triangles(face: Any, tolerance: float) -> list[tuple[tuple, tuple, tuple]]:
    """The face's triangles, wound so their normal points out of the material."""
    points, triangles = face.tessellate(tolerance)
    tris = [(tuple(points[a]), tuple(points[b]), tuple(points[c])) for a, b, c in triangles]
    if not tris:
        return tris
    # The kernel's winding follows the surface, not the face orientation: compare once per face.
    a, b, c = tris[len(tris) // 2]
    wound = _cross([b[i] - a[i] for i in range(3)], [c[i] - a[i] for i in range(3)])
    centre = [(a[i] + b[i] + c[i]) / 3 for i in range(3)]
    try:
        import FreeCAD

        u, v = face.Surface.parameter(FreeCAD.Vector(*centre))
        normal = face.normalAt(u, v)
        if _dot(wound, (normal.x, normal.y, normal.z)) < 0:
            tris = [(p, r, q) for p, q, r in tris]
    except Exception:  # a surface without parameters: keep the kernel's winding
        return tris
    return tris


def _face_tints(findings: Sequence[Finding], objects: set[str]) -> dict[tuple[str, str], Severity]:
    tints: dict[tuple[str, str], Severity] = {}
    for finding in findings:
        if finding.object not in objects:
            continue
        for element in finding.elements:
            if element.startswith("Face"):
                known = tints.get((finding.object, element))
                if known is None or finding.severity.rank > known.rank:
                    tints[(finding.object, element)] = finding.severity
    return tints


def render(
    parts: Sequence[tuple[str, Any]],
    findings: Sequence[Finding],
    view: View | None = None,
    title: str = "",
) -> str:
    """SVG of ``parts`` ([(object name, shape in global mm)]) with one numbered marker
    per finding that has a location (numbers are 1-based positions in ``findings``)."""
    import Part

    view = view or View.isometric()
    shapes = [s for _, s in parts if s is not None and not s.isNull()]
    if not shapes:
        raise ValueError("nothing to draw")
    box = Part.Compound(shapes).BoundBox
    tolerance = max(box.DiagonalLength / 200.0, 1e-3)
    tints = _face_tints(findings, {n for n, _ in parts})
    light = _norm(LIGHT)
    polygons = []  # (depth, projected points, fill)
    for name, shape in parts:
        closed = {f.hashCode() for solid in shape.Solids for f in solid.Faces}  # others are two-sided
        for index, face in enumerate(shape.Faces, start=1):
            severity = tints.get((name, f"Face{index}"))
            rgb = SEVERITY_RGB.get(severity, UNKNOWN_RGB) if severity else BASE_RGB
            for tri in _face_triangles(face, tolerance):
                normal = _norm(_cross([tri[1][i] - tri[0][i] for i in range(3)], [tri[2][i] - tri[0][i] for i in range(3)]))
                facing = _dot(normal, view.eye)
                if facing <= 0:  # back face of a closed solid
                    if face.hashCode() in closed:
                        continue
                    normal, facing = tuple(-c for c in normal), -facing
                shade = 0.45 + 0.55 * max(0.0, _dot(normal, light))
                projected = [view.project(p) for p in tri]
                depth = sum(p[2] for p in projected) / 3
                polygons.append((depth, projected, _rgb(rgb, shade)))
    polygons.sort(key=lambda item: item[0])
    corners = [view.project((x, y, z)) for x in (box.XMin, box.XMax) for y in (box.YMin, box.YMax) for z in (box.ZMin, box.ZMax)]
    fit = Fit.around([c[0] for c in corners], [c[1] for c in corners])
    depth = _depth_buffer([p for _, p, _ in polygons], fit)
    slack = max(2.0 / fit.scale, box.DiagonalLength * 0.004)
    lines = _visible_edges(parts, view, fit, depth, tolerance, slack)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title or "part")}" class="part-view">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fbfcfd"/>',
        '<g stroke-linejoin="round" stroke-width="0.6">',
    ]
    for _, projected, fill in polygons:
        pts = " ".join("{:.1f},{:.1f}".format(*fit.pixel(p[0], p[1])) for p in projected)
        out.append(f'<polygon points="{pts}" fill="{fill}" stroke="{fill}"/>')
    out.append("</g>")
    out.append(f'<g fill="none" stroke="{EDGE_COLOUR}" stroke-width="0.9" stroke-linecap="round">')
    for run in lines:
        out.append('<polyline points="{}"/>'.format(" ".join(f"{x:.1f},{y:.1f}" for x, y in run)))
    out.append("</g>")
    out.extend(_markers(findings, view, fit))
    out.append(_axes(view))
    out.append("</svg>")
    return "\n".join(out)


def _depth_buffer(triangles: Sequence[Sequence[tuple[float, float, float]]], fit: Fit):
    """Largest depth (nearest to the viewer) per pixel over ``triangles``: a z-buffer."""
    import numpy as np

    buffer = np.full((HEIGHT, WIDTH), -np.inf)
    for tri in triangles:
        (x1, y1), (x2, y2), (x3, y3) = (fit.pixel(p[0], p[1]) for p in tri)
        d1, d2, d3 = (p[2] for p in tri)
        denom = (y2 - y3) * (x1 - x3) + (x3 - x2) * (y1 - y3)
        if abs(denom) < 1e-9:
            continue
        c0, c1 = max(0, int(math.floor(min(x1, x2, x3)))), min(WIDTH - 1, int(math.ceil(max(x1, x2, x3))))
        r0, r1 = max(0, int(math.floor(min(y1, y2, y3)))), min(HEIGHT - 1, int(math.ceil(max(y1, y2, y3))))
        if c1 < c0 or r1 < r0:
            continue
        gx, gy = np.meshgrid(np.arange(c0, c1 + 1, dtype=float), np.arange(r0, r1 + 1, dtype=float))
        l1 = ((y2 - y3) * (gx - x3) + (x3 - x2) * (gy - y3)) / denom
        l2 = ((y3 - y1) * (gx - x3) + (x1 - x3) * (gy - y3)) / denom
        l3 = 1.0 - l1 - l2
        inside = (l1 >= -0.02) & (l2 >= -0.02) & (l3 >= -0.02)
        values = np.where(inside, l1 * d1 + l2 * d2 + l3 * d3, -np.inf)
        window = buffer[r0 : r1 + 1, c0 : c1 + 1]
        np.maximum(window, values, out=window)
    return buffer


def _visible_edges(parts, view: View, fit: Fit, depth, tolerance: float, slack: float) -> list[list[tuple[float, float]]]:
    """Runs of pixel points along the parts' edges where nothing nearer covers them."""
    runs: list[list[tuple[float, float]]] = []
    for _, shape in parts:
        for edge in shape.Edges:
            if edge.Degenerated:
                continue
            try:
                points = edge.discretize(Deflection=tolerance / 4)
            except Exception:  # an edge the kernel cannot sample is left undrawn
                continue
            run: list[tuple[float, float]] = []
            for p in points:
                x, y, d = view.project((p.x, p.y, p.z))
                px, py = fit.pixel(x, y)
                c, r = int(round(px)), int(round(py))
                window = depth[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2]
                visible = window.size == 0 or d >= float(window.min()) - slack
                if visible:
                    run.append((px, py))
                else:
                    if len(run) > 1:
                        runs.append(run)
                    run = []
            if len(run) > 1:
                runs.append(run)
    return runs


def marker_positions(findings: Sequence[Finding], view: View, fit: Fit) -> list[tuple[int, float, float, Finding]]:
    """(number, x, y, finding) of every marker, nudged apart where they would overlap."""
    placed: list[tuple[int, float, float, Finding]] = []
    for number, finding in enumerate(findings, start=1):
        if finding.location is None:
            continue
        px, py, _ = view.project(finding.location)
        x, y = fit.pixel(px, py)
        # Overlapping markers move out on a spiral, first towards the picture's centre.
        base = math.atan2(HEIGHT / 2 - y, WIDTH / 2 - x)
        ax, ay, step = x, y, 0
        while any(math.hypot(x - ox, y - oy) < 2.1 * MARKER_RADIUS for _, ox, oy, _ in placed) and step < 24:
            step += 1
            angle = base + step * 0.9
            reach = MARKER_RADIUS * (2.2 + 0.35 * step)
            x, y = ax + reach * math.cos(angle), ay + reach * math.sin(angle)
        placed.append((number, x, y, finding))
    return placed


def _markers(findings: Sequence[Finding], view: View, fit: Fit) -> list[str]:
    out = ['<g class="markers" font-family="sans-serif" font-size="11" font-weight="bold" text-anchor="middle">']
    for number, x, y, finding in marker_positions(findings, view, fit):
        px, py, _ = view.project(finding.location)
        ax, ay = fit.pixel(px, py)
        fill = _rgb(SEVERITY_RGB.get(finding.severity, UNKNOWN_RGB), 1.0)
        if (ax, ay) != (x, y):
            out.append(f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{fill}" stroke-width="1.5"/>')
            out.append(f'<circle cx="{ax:.1f}" cy="{ay:.1f}" r="2.5" fill="{fill}"/>')
        label = escape(f"{number}: {finding.rule} ({finding.severity.value})")
        out.append(
            f'<g class="marker" data-finding="{number}"><title>{label}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{MARKER_RADIUS}" fill="{fill}" stroke="#ffffff" stroke-width="2"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" fill="#ffffff">{number}</text></g>'
        )
    out.append("</g>")
    return out


def _axes(view: View) -> str:
    """A small axis tripod in the lower left corner so the reader knows the orientation."""
    ox, oy, size = 34, HEIGHT - 30, 18
    parts = ['<g class="axes" font-family="sans-serif" font-size="10">']
    for label, axis, colour in (("X", (1, 0, 0), "#c0392b"), ("Y", (0, 1, 0), "#27ae60"), ("Z", (0, 0, 1), "#2c6fbb")):
        dx, dy, _ = view.project(axis)
        x, y = ox + dx * size, oy - dy * size
        parts.append(f'<line x1="{ox}" y1="{oy}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x + (dx * 8):.1f}" y="{y - dy * 8 + 3:.1f}" fill="{colour}">{label}</text>')
    parts.append("</g>")
    return "".join(parts)


def render_document(document: Any, names: Sequence[str], findings: Sequence[Finding]) -> str:
    """SVG of the named objects of ``document`` (global placement) with ``findings`` marked."""
    from ..refs import global_shape

    parts = []
    for name in names:
        obj = document.getObject(name)
        if obj is not None:
            parts.append((name, global_shape(obj)))
    return render(parts, findings, title=getattr(document, "Label", ""))

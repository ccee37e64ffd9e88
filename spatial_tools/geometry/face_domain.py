"""Is a (u, v) on a planar face? Answered from the face's outline as polygons, the kernel asked only near its edges.

``Face.isPartOfDomain`` builds OpenCASCADE's 2D classifier anew on every
call, which costs milliseconds on a face with many edges; wall finding asks
thousands of times per part (NIST ftc_10: 3,777 calls, 3.9 s of its 6.6 s
thin-wall rule). A plane's parameters are lengths along two orthonormal
axes, so its edges discretized with a chord deviation ``d`` are polygons
within ``d`` of the true outline in (u, v): a point farther than twice that
from every polygon edge is classified by the even-odd rule (holes are inner
loops); a point nearer returns None and the caller asks the kernel.
"""

from __future__ import annotations

from typing import Any

import numpy

RELATIVE_DEFLECTION = 1e-3  # of the face's diagonal: the outline polygons' chord deviation


class PlaneDomain:
    """The outline of one planar face as 2D segments in its surface's parameters."""

    def __init__(self, face: Any):
        surface = face.Surface
        box = face.BoundBox
        deflection = max(RELATIVE_DEFLECTION * box.DiagonalLength, 1e-6)
        starts, ends = [], []
        for edge in face.Edges:
            if getattr(edge, "Degenerated", False):
                continue
            points = edge.discretize(Deflection=deflection)
            # Ends snapped onto the edge's own vertices: the loops close exactly, so a ray through
            # a vertex crosses once (two computed copies of one vertex could differ in the last bit).
            ends_at = [v.Point for v in edge.Vertexes]
            points[0] = min(ends_at, key=lambda q: (q - points[0]).Length)
            points[-1] = min(ends_at, key=lambda q: (q - points[-1]).Length)
            uv = [surface.parameter(p) for p in points]
            starts += uv[:-1]
            ends += uv[1:]
        self.a = numpy.array(starts, dtype=float).reshape(-1, 2)
        self.b = numpy.array(ends, dtype=float).reshape(-1, 2)
        tolerance = max([face.Tolerance] + [e.Tolerance for e in face.Edges] + [v.Tolerance for v in face.Vertexes])
        self.margin = 2.0 * deflection + 2.0 * tolerance

    def contains(self, u: float, v: float) -> bool | None:
        """True inside, False outside; None within ``margin`` of the outline (ask the kernel)."""
        if not len(self.a):
            return None
        p = numpy.array((u, v))
        d = self.b - self.a
        span = numpy.einsum("ij,ij->i", d, d)
        t = numpy.clip(numpy.einsum("ij,ij->i", p - self.a, d) / numpy.where(span > 0, span, 1.0), 0.0, 1.0)
        nearest = self.a + d * t[:, None]
        if numpy.min(numpy.einsum("ij,ij->i", p - nearest, p - nearest)) <= self.margin * self.margin:
            return None
        ya, yb = self.a[:, 1], self.b[:, 1]
        straddles = (ya > v) != (yb > v)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            x_cross = self.a[:, 0] + (v - ya) * d[:, 0] / d[:, 1]
        crossings = numpy.count_nonzero(straddles & (x_cross > u))
        return bool(crossings % 2)

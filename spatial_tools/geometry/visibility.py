"""Which faces of a solid can be seen from a direction: the one ray caster of the direction rules.

"Face F is visible from direction d" means: from points of F, a ray leaving
along d (F must not turn its back on d; grazing is allowed) escapes to
infinity without entering the solid again. A 3-axis cutter reaches a face
along one of ±X ±Y ±Z that way, a mold half releases a face along its pull.

Each face is sampled on a small UV grid (``face_samples``: exact points and
outward normals, shared with the draft and overhang rules). Rays are cast
against a mesh of the whole shape made once per object: a uniform grid over
the plane across the ray direction holds the triangles whose shadow falls in
each cell, so a ray tests only the triangles of its own cell, and all rays of
one direction go in one numpy pass. Sample points of curved faces are first
moved onto their face's triangles and every ray starts a tiny lift off its
face. Samples try their best-facing direction first and stop at the first
that is clear, so most cost one ray.

The mesh proposes, the kernel decides: a chord can stand in a ray's way where
the exact surface does not (a ray sliding along a hole wall past the chords
of its rim), so a face is reported hidden only after the exact ray primitive
(``rays``, the one ``thickness.material_runs`` and so measure_thickness use)
confirms, for at least one of its points, that every direction is blocked. Points the kernel
clears count as reached; the face's other hidden points keep the mesh's word.

Everything is cached on the DFM target (``VISIBILITY_KEY``, ``SAMPLES_KEY``):
the mesh, one grid per ray line, and each direction set's answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .query import point_inside, unit
from .rays import RayCaster, caster_of

VISIBILITY_KEY = "visibility"  # per-object cache key of the Visibility
SAMPLES_KEY = "visibility.samples"  # per-object cache key of the faces' UV samples

SAMPLES_PER_SIDE = 3  # UV grid n × n per face (points outside a trimmed face are dropped)
# Mesh fidelity (not design thresholds): chord error as a fraction of the part's diagonal, and
# the angle one triangle may turn through on a curved face.
LINEAR_DEFLECTION = 1e-3
ANGULAR_DEFLECTION = 0.35  # rad
# Numerical floors. A sample is lifted this fraction of the diagonal off its face before its ray
# starts; hits nearer than that are the face itself. Kernel rays start at least this many of the
# face's edge tolerances off it, or the fuzzy section sees them touch the rim they slide past.
LIFT = 1e-5
EXACT_LIFT_FACTOR = 2.0
GRAZING = 1e-4  # n·d ≥ -GRAZING: the face does not turn away from d (a vertical wall, seen from above)
BARY_EPS = 1e-7  # a ray on the shared edge of two triangles hits both
DEGENERATE = 1e-9  # triangles whose shadow is thinner than this (relative) lie along the ray
TRIANGLES_PER_CELL = 4.0
MAX_CELLS_PER_SIDE = 1024
MAX_PAIRS = 4_000_000  # ray/triangle tests per numpy pass

ESCAPED = -1  # blocker code: the ray escaped
TURNED_AWAY = -2  # the face turns its back on the direction, no ray cast
NOT_CAST = -3  # the sample was already reached from a better direction


@dataclass(frozen=True)
class FaceSample:
    """A point of a face, its outward unit normal and its (u, v)."""

    point: Any  # FreeCAD.Vector
    normal: Any  # FreeCAD.Vector
    uv: tuple[float, float]


def face_samples(face: Any, per_side: int = SAMPLES_PER_SIDE) -> list[FaceSample]:
    """Points of ``face`` on an ``per_side`` × ``per_side`` grid of its UV range (cell centres,
    so none lies on a boundary), keeping those on the trimmed face, with the outward normal
    there. A face the grid misses gets ``point_inside``'s point. Poles (no normal) are skipped."""
    u0, u1, v0, v1 = face.ParameterRange
    samples: list[FaceSample] = []
    for i in range(per_side):
        for j in range(per_side):
            u = u0 + (i + 0.5) / per_side * (u1 - u0)
            v = v0 + (j + 0.5) / per_side * (v1 - v0)
            if not face.isPartOfDomain(u, v):
                continue
            sample = _sample(face, u, v)
            if sample is not None:
                samples.append(sample)
    if not samples:
        try:
            _, (u, v) = point_inside(face)
        except Exception:  # a degenerate face has no interior point: nothing to sample
            return []
        sample = _sample(face, u, v)
        if sample is not None:
            samples.append(sample)
    return samples


def _sample(face: Any, u: float, v: float) -> FaceSample | None:
    try:
        normal = unit(face.normalAt(u, v))
    except Exception:  # a pole or an apex has no normal
        return None
    return FaceSample(face.valueAt(u, v), normal, (u, v))


def samples_of(target: Any) -> list[list[FaceSample]]:
    """``face_samples`` of every face of a DFM target's shape (index i is Face{i+1}), cached."""
    cached = target.cache.get(SAMPLES_KEY)
    if cached is None:
        cached = [face_samples(face) for face in target.shape.Faces]
        target.cache[SAMPLES_KEY] = cached
    return cached


def visibility_of(target: Any) -> Visibility:
    """The Visibility of a DFM target's shape, made once and cached on the target."""
    cached = target.cache.get(VISIBILITY_KEY)
    if cached is None:
        cached = Visibility(target.shape, samples_of(target))
        target.cache[VISIBILITY_KEY] = cached
    return cached


def part_axes(shape: Any) -> list[tuple[float, float, float]]:
    """±X ±Y ±Z of the part's own frame (its placement's rotation) in global coordinates."""
    import FreeCAD

    rotation = shape.Placement.Rotation
    axes = []
    for axis in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
        d = rotation.multVec(FreeCAD.Vector(*axis))
        axes += [(d.x, d.y, d.z), (-d.x, -d.y, -d.z)]
    return axes


def direction_name(direction: Sequence[float]) -> str:
    """'+Z', '-X' for axis directions, else the rounded vector."""
    names = "XYZ"
    for k in range(3):
        if abs(abs(direction[k]) - 1.0) < 1e-9:
            return ("+" if direction[k] > 0 else "-") + names[k]
    return "(" + ", ".join(f"{c:.3g}" for c in direction) + ")"


@dataclass(frozen=True)
class FaceReach:
    """A face some of whose sample points no direction of a set reaches."""

    index: int  # 0-based: Face{index + 1}
    samples: int
    hidden: int  # samples no direction reaches
    point: Any  # FreeCAD.Vector: the kernel-confirmed hidden sample point (on the exact face)
    blockers: dict[int, tuple[int, ...]] = field(default_factory=dict)  # direction index -> 0-based faces in the way

    @property
    def share(self) -> float:
        """Hidden samples, % of the face's samples."""
        return 100.0 * self.hidden / self.samples


@dataclass
class _Grid:
    """Triangles of the mesh projected along one line, binned in a uniform 2D grid."""

    axis: Any  # numpy (3,), unit
    basis: Any  # numpy (2, 3)
    origin: tuple[float, float]
    cell: tuple[float, float]
    shape: tuple[int, int]
    starts: Any  # numpy (cells + 1,) into ``members``
    members: Any  # numpy: triangle rows (into the arrays below), grouped by cell
    a: Any  # (T, 2) first vertex in the plane
    e1: Any  # (T, 2)
    e2: Any  # (T, 2)
    inv_det: Any  # (T,)
    h: Any  # (T, 3) heights along ``axis`` of the three vertices
    tri: Any  # (T,) row of each triangle in the mesh


class Visibility:
    """Ray casting along directions against one shape (see the module docstring)."""

    def __init__(self, shape: Any, samples: list[list[FaceSample]] | None = None):
        self.shape = shape
        self.faces = list(shape.Faces)
        self.face_samples = samples if samples is not None else [face_samples(f) for f in self.faces]
        self.size = max(shape.BoundBox.DiagonalLength, 1e-9)
        self.lift = LIFT * self.size
        self._grids: dict[tuple[float, float, float], _Grid] = {}
        self._reach: dict[tuple, tuple[Any, Any, Any]] = {}

    # ----------------------------------------------------------------- mesh and samples

    @cached_property
    def mesh(self) -> tuple[Any, Any, Any]:
        """(vertices (N, 3), triangles (M, 3), face of each triangle (M,)) of the whole shape."""
        import MeshPart
        import numpy as np

        mesh = MeshPart.meshFromShape(
            Shape=self.shape,
            LinearDeflection=LINEAR_DEFLECTION * self.size,
            AngularDeflection=ANGULAR_DEFLECTION,
            Relative=False,
            Segments=True,
        )
        points, facets = mesh.Topology
        if mesh.countSegments() == len(self.faces) and facets:
            vertices = np.array([(p.x, p.y, p.z) for p in points], dtype=float)
            triangles = np.array(facets, dtype=np.int64).reshape(-1, 3)
            face = np.full(len(triangles), -1, dtype=np.int64)
            for i in range(len(self.faces)):
                face[np.asarray(mesh.getSegment(i), dtype=np.int64)] = i
            return vertices, triangles, face
        # The mesher dropped or merged a face: mesh face by face so each triangle keeps its face.
        chunks, tris, owners, offset = [], [], [], 0
        for i, f in enumerate(self.faces):
            try:
                pts, fts = f.tessellate(LINEAR_DEFLECTION * self.size)
            except Exception:  # a face the mesher rejects blocks nothing
                continue
            if not fts:
                continue
            chunks.append(np.array([(p.x, p.y, p.z) for p in pts], dtype=float))
            tris.append(np.array(fts, dtype=np.int64).reshape(-1, 3) + offset)
            owners.append(np.full(len(fts), i, dtype=np.int64))
            offset += len(pts)
        if not chunks:
            return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(chunks), np.concatenate(tris), np.concatenate(owners)

    @cached_property
    def samples(self) -> tuple[Any, Any, Any, Any]:
        """Ray origins: (points on the mesh (S, 3), exact normals (S, 3), face (S,), exact points (S, 3))."""
        import numpy as np

        vertices, triangles, owner = self.mesh
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(self.faces) + 1))
        points, normals, faces, exact = [], [], [], []
        for i, samples in enumerate(self.face_samples):
            if not samples:
                continue
            p = np.array([(s.point.x, s.point.y, s.point.z) for s in samples], dtype=float)
            n = np.array([(s.normal.x, s.normal.y, s.normal.z) for s in samples], dtype=float)
            mine = triangles[order[bounds[i] : bounds[i + 1]]]
            # Planes are meshed exactly; curved faces' points go onto their chords.
            points.append(p if self.planar[i] or not len(mine) else _onto_mesh(p, vertices, mine))
            normals.append(n)
            faces.append(np.full(len(p), i, dtype=np.int64))
            exact.append(p)
        if not points:
            empty = np.zeros((0, 3))
            return empty, empty, np.zeros(0, dtype=np.int64), empty
        return np.concatenate(points), np.concatenate(normals), np.concatenate(faces), np.concatenate(exact)

    @cached_property
    def planar(self) -> Any:
        """Per face: True for planes, which cannot hide themselves (their own hits are noise)."""
        import numpy as np

        from .query import SurfaceType, surface_info

        return np.array([surface_info(f).type is SurfaceType.PLANE for f in self.faces], dtype=bool)

    # ----------------------------------------------------------------- grids and casting

    def _grid(self, direction: Any) -> tuple[_Grid, float]:
        """The grid of the line of ``direction`` and the sign of ``direction`` along its axis."""
        import numpy as np

        d = np.asarray(direction, dtype=float)
        d = d / np.linalg.norm(d)
        lead = d[np.argmax(np.abs(d))]
        sign = 1.0 if lead > 0 else -1.0
        axis = d * sign
        key = tuple(round(float(c), 12) for c in axis)
        grid = self._grids.get(key)
        if grid is None:
            grid = self._build_grid(axis)
            self._grids[key] = grid
        return grid, sign

    def _build_grid(self, axis: Any) -> _Grid:
        import numpy as np

        vertices, triangles, owner = self.mesh
        helper = np.array((1.0, 0.0, 0.0)) if abs(axis[0]) < 0.9 else np.array((0.0, 1.0, 0.0))
        b1 = np.cross(axis, helper)
        b1 /= np.linalg.norm(b1)
        b2 = np.cross(axis, b1)
        basis = np.stack([b1, b2])
        flat = vertices @ basis.T
        height = vertices @ axis
        a, b, c = (flat[triangles[:, k]] for k in range(3))
        e1, e2 = b - a, c - a
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        scale = np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1)
        keep = np.nonzero(np.abs(det) > DEGENERATE * np.maximum(scale, 1e-300))[0]
        a, e1, e2, det = a[keep], e1[keep], e2[keep], det[keep]
        tri = triangles[keep]
        low = np.minimum(np.minimum(a, a + e1), a + e2)
        high = np.maximum(np.maximum(a, a + e1), a + e2)
        pad = 1e-9 * self.size
        if len(keep):
            origin = low.min(axis=0) - pad
            extent = np.maximum(high.max(axis=0) + pad - origin, 1e-12)
        else:
            origin, extent = np.zeros(2), np.ones(2)
        cells = max(1.0, len(keep) / TRIANGLES_PER_CELL)
        nx = int(min(MAX_CELLS_PER_SIDE, max(1, round(math.sqrt(cells * extent[0] / extent[1])))))
        ny = int(min(MAX_CELLS_PER_SIDE, max(1, round(cells / nx))))
        cell = extent / np.array((nx, ny))
        i0 = np.clip(((low[:, 0] - pad - origin[0]) // cell[0]).astype(np.int64), 0, nx - 1)
        i1 = np.clip(((high[:, 0] + pad - origin[0]) // cell[0]).astype(np.int64), 0, nx - 1)
        j0 = np.clip(((low[:, 1] - pad - origin[1]) // cell[1]).astype(np.int64), 0, ny - 1)
        j1 = np.clip(((high[:, 1] + pad - origin[1]) // cell[1]).astype(np.int64), 0, ny - 1)
        wide = j1 - j0 + 1
        counts = (i1 - i0 + 1) * wide
        rows = np.repeat(np.arange(len(keep)), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        ci = i0[rows] + offsets // wide[rows]
        cj = j0[rows] + offsets % wide[rows]
        cell_id = ci * ny + cj
        order = np.argsort(cell_id, kind="stable")
        starts = np.searchsorted(cell_id[order], np.arange(nx * ny + 1))
        return _Grid(
            axis=axis,
            basis=basis,
            origin=(float(origin[0]), float(origin[1])),
            cell=(float(cell[0]), float(cell[1])),
            shape=(nx, ny),
            starts=starts,
            members=rows[order],
            a=a,
            e1=e1,
            e2=e2,
            inv_det=1.0 / det,
            h=height[tri],
            tri=keep,
        )

    def cast(self, origins: Any, direction: Any, own: Any = None) -> Any:
        """For rays from ``origins`` (R, 3) along ``direction``: the 0-based face of the mesh each
        first hits beyond the lift distance, or ESCAPED. Hits on face ``own[r]`` (-1: none) are ignored."""
        import numpy as np

        origins = np.asarray(origins, dtype=float).reshape(-1, 3)
        face = np.full(len(origins), ESCAPED, dtype=np.int64)
        owner = self.mesh[2]
        for ray, t, tri in self._hits(origins, direction, own):
            order = np.lexsort((t, ray))
            ray, tri = ray[order], tri[order]
            nearest = np.ones(len(ray), dtype=bool)
            nearest[1:] = ray[1:] != ray[:-1]
            face[ray[nearest]] = owner[tri[nearest]]
        return face

    def _hits(self, origins: Any, direction: Any, own: Any):
        """Yields (ray, t, triangle) arrays of every ray/triangle hit beyond the lift, pass by pass."""
        import numpy as np

        if not len(origins) or not len(self.mesh[1]):
            return
        grid, sign = self._grid(direction)
        flat = origins @ grid.basis.T
        height = origins @ grid.axis
        nx, ny = grid.shape
        ci = np.floor((flat[:, 0] - grid.origin[0]) / grid.cell[0]).astype(np.int64)
        cj = np.floor((flat[:, 1] - grid.origin[1]) / grid.cell[1]).astype(np.int64)
        rays = np.nonzero((ci >= 0) & (ci < nx) & (cj >= 0) & (cj < ny))[0]
        if not len(rays):
            return
        cell_id = ci[rays] * ny + cj[rays]
        first = grid.starts[cell_id]
        counts = grid.starts[cell_id + 1] - first
        own = np.full(len(origins), -1, dtype=np.int64) if own is None else np.asarray(own, dtype=np.int64)
        # Rays in chunks so that no pass builds more than MAX_PAIRS ray/triangle pairs.
        bounds = [0]
        running = 0
        for k, count in enumerate(counts.tolist()):
            if running + count > MAX_PAIRS and k > bounds[-1]:
                bounds.append(k)
                running = 0
            running += count
        bounds.append(len(rays))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            total = int(counts[lo:hi].sum())
            if not total:
                continue
            ray = np.repeat(rays[lo:hi], counts[lo:hi])
            offsets = np.arange(total) - np.repeat(np.cumsum(counts[lo:hi]) - counts[lo:hi], counts[lo:hi])
            tri = grid.members[np.repeat(first[lo:hi], counts[lo:hi]) + offsets]
            w = flat[ray] - grid.a[tri]
            e1, e2 = grid.e1[tri], grid.e2[tri]
            u = (w[:, 0] * e2[:, 1] - w[:, 1] * e2[:, 0]) * grid.inv_det[tri]
            v = (e1[:, 0] * w[:, 1] - e1[:, 1] * w[:, 0]) * grid.inv_det[tri]
            h = grid.h[tri]
            t = sign * (h[:, 0] + u * (h[:, 1] - h[:, 0]) + v * (h[:, 2] - h[:, 0]) - height[ray])
            tri = grid.tri[tri]
            hit = (u >= -BARY_EPS) & (v >= -BARY_EPS) & (u + v <= 1.0 + BARY_EPS) & (t > self.lift)
            hit &= self.mesh[2][tri] != own[ray]
            if hit.any():
                yield ray[hit], t[hit], tri[hit]

    # ----------------------------------------------------------------- exact confirmation

    @cached_property
    def rays(self) -> RayCaster:
        """The exact ray primitive over this shape's faces (the one material_runs uses)."""
        return caster_of(self.shape)

    def exact_blocker(self, origin: Any, direction: Any, lift: float) -> int:
        """The face where the exact ray from ``origin`` first enters (or leaves) the solid beyond
        ``lift``, by ``rays.RayCaster.first_block``; ESCAPED when it leaves the part clear. Grazing
        an edge or running along a tangent does not block."""
        import FreeCAD

        start = FreeCAD.Vector(*map(float, origin))
        d = FreeCAD.Vector(*map(float, direction))
        block = self.rays.first_block(start, d, lift)
        return ESCAPED if block is None else block.faces[0]

    def exact_lift(self, face_index: int) -> float:
        """How far a kernel ray starts off face ``face_index``: beyond the tolerance of its edges,
        or the kernel's fuzzy section finds the ray touching the rim it slides past."""
        return max(self.lift, EXACT_LIFT_FACTOR * self.faces[face_index].getTolerance(1))

    # ----------------------------------------------------------------- questions

    def blockers(self, directions: Sequence[Sequence[float]], skip: frozenset[int] = frozenset()) -> tuple[Any, Any, Any]:
        """Per sample, which of ``directions`` reach it: (reached (S,) bool, blocker (S, K) int,
        confirmed (S,) bool). blocker[s, k] is the 0-based face that hides sample s from direction
        k, ESCAPED, TURNED_AWAY, or NOT_CAST when it was reached from a direction tried before.
        ``confirmed`` marks the hidden samples the kernel checked (one per hidden face)."""
        import numpy as np

        key = (tuple(tuple(round(float(c), 12) for c in d) for d in directions), skip)
        cached = self._reach.get(key)
        if cached is not None:
            return cached
        points, normals, faces, _ = self.samples
        dirs = np.array([np.asarray(d, dtype=float) / np.linalg.norm(d) for d in directions]).reshape(-1, 3)
        facing = normals @ dirs.T
        admissible = facing >= -GRAZING
        blocker = np.where(admissible, NOT_CAST, TURNED_AWAY).astype(np.int64)
        reached = np.zeros(len(points), dtype=bool)
        own = np.where(self.planar[faces], faces, -1) if len(faces) else faces
        origins = points + normals * self.lift
        rank = np.argsort(-facing, axis=1, kind="stable")  # best-facing direction first
        everyone = np.arange(len(points))
        for r in range(len(dirs)):
            choice = rank[:, r] if len(points) else np.zeros(0, dtype=np.int64)
            todo = ~reached & admissible[everyone, choice]
            for k in np.unique(choice[todo]):
                rows = np.nonzero(todo & (choice == k))[0]
                hits = self.cast(origins[rows], dirs[k], own[rows])
                blocker[rows, k] = hits
                reached[rows] |= hits == ESCAPED
        # The kernel has the last word on one hidden point per face (see the module docstring).
        confirmed = np.zeros(len(points), dtype=bool)
        hidden = np.nonzero(~reached)[0]
        for face in np.unique(faces[hidden]):
            if int(face) in skip:  # judged otherwise by the caller (a thread): not worth the kernel's time
                continue
            for row in hidden[faces[hidden] == face]:
                if self._confirm(int(row), dirs, rank[row], admissible[row], blocker):
                    confirmed[row] = True
                    break
                reached[row] = True
        self._reach[key] = (reached, blocker, confirmed)
        return reached, blocker, confirmed

    def _confirm(self, row: int, dirs: Any, rank: Any, admissible: Any, blocker: Any) -> bool:
        """True when the kernel finds sample ``row`` blocked in every admissible direction;
        updates its row of ``blocker`` with the kernel's blockers."""
        points, normals, faces, exact = self.samples
        lift = self.exact_lift(int(faces[row]))
        start = exact[row] + normals[row] * lift
        for k in rank:
            if not admissible[k]:
                continue
            found = self.exact_blocker(start, dirs[k], lift)
            blocker[row, k] = found
            if found == ESCAPED:
                for j in range(len(dirs)):
                    if j != k and admissible[j]:
                        blocker[row, j] = NOT_CAST
                return False
        return True

    def hidden_faces(self, directions: Sequence[Sequence[float]], skip: frozenset[int] = frozenset()) -> list[FaceReach]:
        """Faces with sample points that none of ``directions`` reaches (kernel-confirmed for
        one point each, which is the reported ``point``), in face order; faces in ``skip`` are
        left out (the caller judges them otherwise) and cost no confirmation."""
        import FreeCAD
        import numpy as np

        reached, blocker, confirmed = self.blockers(directions, skip)
        _, _, faces, exact = self.samples
        found = []
        for i in np.unique(faces[confirmed]):
            rows = np.nonzero(faces == i)[0]
            hidden = rows[~reached[rows]]
            by_direction = {}
            for k in range(blocker.shape[1]):
                names = sorted({int(b) for b in blocker[hidden, k] if b >= 0})
                if names:
                    by_direction[k] = tuple(names)
            x, y, z = exact[rows[confirmed[rows]][0]]
            found.append(
                FaceReach(
                    index=int(i),
                    samples=len(rows),
                    hidden=len(hidden),
                    point=FreeCAD.Vector(float(x), float(y), float(z)),
                    blockers=by_direction,
                )
            )
        return found

    def reaches_all(self, face_index: int, direction: Sequence[float]) -> bool:
        """Every sample of one face is reached from ``direction``: it faces it (or grazes) and its
        ray escapes (the mesh's blocked rays re-asked to the kernel)."""
        import numpy as np

        points, normals, faces, exact = self.samples
        rows = np.nonzero(faces == face_index)[0]
        if not len(rows):
            return False
        d = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        if (normals[rows] @ d < -GRAZING).any():
            return False
        own = np.full(len(rows), face_index if self.planar[face_index] else -1, dtype=np.int64)
        origins = points[rows] + normals[rows] * self.lift
        lift = self.exact_lift(face_index)
        for row, hit in zip(rows, self.cast(origins, d, own), strict=True):
            if hit == ESCAPED:
                continue
            start = exact[row] + normals[row] * lift
            if self.exact_blocker(start, d, lift) != ESCAPED:
                return False
        return True


def face_visible(target: Any, face_index: int, direction: Sequence[float]) -> bool:
    """Is Face{face_index + 1} of a DFM target visible from ``direction``: every sampled point
    faces it (or grazes) and its ray along it leaves the part."""
    return visibility_of(target).reaches_all(face_index, direction)


def _onto_mesh(points: Any, vertices: Any, triangles: Any) -> Any:
    """Each point moved to the closest point of the nearest of ``triangles``."""
    import numpy as np

    p = points[:, None, :]
    a, b, c = (vertices[triangles[:, k]][None, :, :] for k in range(3))
    q = _closest_on_triangles(p, a, b, c)
    gap = ((q - p) ** 2).sum(-1)
    return q[np.arange(len(points)), np.argmin(gap, axis=1)]


def _closest_on_triangles(p: Any, a: Any, b: Any, c: Any) -> Any:
    """Closest point to each ``p`` on each triangle (a, b, c broadcast together): Ericson's
    Voronoi-region test, vectorised; later regions override earlier ones as his early returns do."""
    import numpy as np

    def dot(x: Any, y: Any) -> Any:
        return (x * y).sum(-1)

    ab, ac = b - a, c - a
    ap, bp, cp = p - a, p - b, p - c
    d1, d2 = dot(ab, ap), dot(ac, ap)
    d3, d4 = dot(ab, bp), dot(ac, bp)
    d5, d6 = dot(ab, cp), dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v = np.where(denom != 0, vb / denom, 0.0)
        w = np.where(denom != 0, vc / denom, 0.0)
        out = a + ab * v[..., None] + ac * w[..., None]
        t = np.where(d4 - d3 + d5 - d6 != 0, (d4 - d3) / (d4 - d3 + d5 - d6), 0.0)
        out = np.where(((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0))[..., None], b + (c - b) * t[..., None], out)
        t = np.where(d2 - d6 != 0, d2 / (d2 - d6), 0.0)
        out = np.where(((vb <= 0) & (d2 >= 0) & (d6 <= 0))[..., None], a + ac * t[..., None], out)
        out = np.where(((d6 >= 0) & (d5 <= d6))[..., None], c, out)
        t = np.where(d1 - d3 != 0, d1 / (d1 - d3), 0.0)
        out = np.where(((vc <= 0) & (d1 >= 0) & (d3 <= 0))[..., None], a + ab * t[..., None], out)
    out = np.where(((d3 >= 0) & (d4 <= d3))[..., None], b, out)
    return np.where(((d1 <= 0) & (d2 <= 0))[..., None], a, out)

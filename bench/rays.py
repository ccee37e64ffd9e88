"""One wall-thickness ray, before and after geometry/rays: prints JSON.

Usage: python bench/rays.py [--rays N] STEP [STEP ...]

``thickness.material_runs`` used to intersect a long line with the solid by a boolean ``common``;
it now calls the exact ray primitive ``rays.RayCaster`` (box prefilter, closed-form plane and
cylinder hits, the kernel's section elsewhere). For N faces of each model (evenly spread over the
face list) the ray along the inward normal from a point inside the face is timed both ways, back
to back, and the runs compared (``agree``: same number of runs, ends within 1e-4 mm). The load
average is printed beside the times: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def common_runs(solid, origin, direction) -> list[tuple[float, float]]:
    """The former material_runs: the boolean common of a long edge with the solid (the reference)."""
    import Part

    box = solid.BoundBox
    reach = box.DiagonalLength + (origin - box.Center).Length + 1.0
    line = Part.LineSegment(origin - direction * reach, origin + direction * reach).toShape()
    runs = []
    for edge in solid.common(line).Edges:
        ends = [(edge.valueAt(p) - origin).dot(direction) for p in (edge.FirstParameter, edge.LastParameter)]
        runs.append((min(ends), max(ends)))
    runs.sort()
    merged: list[tuple[float, float]] = []
    for t0, t1 in runs:
        if merged and t0 <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], t1))
        else:
            merged.append((t0, t1))
    return merged


def bench(path: str, n: int) -> dict:
    from freecad_spatial.spatial_tools.documents import open_document
    from freecad_spatial.spatial_tools.geometry.query import point_inside
    from freecad_spatial.spatial_tools.geometry.rays import RayCaster

    doc = open_document(path)
    shape = max((o.Shape for o in doc.Objects if hasattr(o, "Shape") and o.Shape.Solids), key=lambda s: s.Volume)
    solid = shape.Solids[0] if len(shape.Solids) == 1 else shape
    faces = solid.Faces
    picks = [faces[i * len(faces) // n] for i in range(n)]
    t_build = time.perf_counter()
    caster = RayCaster(solid)
    t_build = time.perf_counter() - t_build
    old, new, agree = [], [], 0
    for face in picks:
        point, (u, v) = point_inside(face)
        d = -face.normalAt(u, v)
        a = time.perf_counter()
        reference = common_runs(solid, point, d)
        b = time.perf_counter()
        runs = caster.material_runs(point, d)
        c = time.perf_counter()
        old.append(b - a)
        new.append(c - b)
        same = len(runs) == len(reference) and all(
            abs(x0 - y0) < 1e-4 and abs(x1 - y1) < 1e-4 for (x0, x1), (y0, y1) in zip(runs, reference, strict=True)
        )
        agree += same
    return {
        "model": os.path.basename(path),
        "faces": len(faces),
        "rays": n,
        "boolean_common_s": {"median": statistics.median(old), "min": min(old), "max": max(old)},
        "rays_primitive_s": {"median": statistics.median(new), "min": min(new), "max": max(new)},
        "caster_build_s": t_build,
        "speedup_median": statistics.median(old) / max(statistics.median(new), 1e-12),
        "agree": agree,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rays", type=int, default=20)
    parser.add_argument("steps", nargs="+")
    args = parser.parse_args()
    out = {"load_before": os.getloadavg()[0], "cpus": os.cpu_count(), "models": []}
    for path in args.steps:
        out["models"].append(bench(path, args.rays))
    out["load_after"] = os.getloadavg()[0]
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

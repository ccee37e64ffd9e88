"""Large PartDesign bodies: location chains in the shape, and what its numbers cost; prints JSON.

    .venv/bin/python bench/large_body.py [--features 50 100 200 250] [--repeat 3]

Why: FreeCAD gives every element of a PartDesign body's shape one more nested
(identity) location per feature (0.20, 1.0 and 1.1 give the same BREP
locations), and OCC walks those chains on every access, so the encoder's shape summary of a long body grows fast with its
feature count; above ``summary_max_body_features`` (resources/encoder.toml, per
FreeCAD version) the overview points to mass_properties instead of measuring.
This bench shows, per body size, whether the running FreeCAD nests the chains
and what they cost, to set that limit from.

For each size a grid body is built (tests/scene_builders.grid_body: a plate
pad, then cycles of boss pad, fillet of its top edge, hole pocket), then
measured back to back in the same process:

- ``build_s``: building and recomputing the body.
- ``brep``: the body shape's BREP (``exportBrepToString``), its "Locations"
  section: ``locations`` entries, of which ``elementary`` (one transformation)
  and ``identity`` (elementary with the identity transformation: what a
  feature adds on 0.20), ``composite`` (a chain of elementary ones) and
  ``longest_chain`` (the most (location, power) links in one composite entry).
- ``face_count_ms``: ``countElement("Face")``.
- ``summary_ms``: the encoder's shape summary (volume, area, bbox, face types;
  ``encoder_shapes.summary`` without BRepCheck), shape-summary cache cleared
  before each of --repeat runs.
- ``encode_ms``: the first ``encoder.encode`` of the document (cache cleared),
  with the limit in force (``measured`` says whether the Body got its numbers)
  and with the limit lifted (what the overview would cost if it measured).
- ``load``: ``os.getloadavg()`` before the build and after the measurements
  (the machine is shared: read every figure next to it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # scene_builders: the same bodies the tests build

from freecad_spatial.spatial_tools import freecad_env  # noqa: E402

FreeCAD = freecad_env.load()

from freecad_spatial.spatial_tools import encoder, encoder_shapes  # noqa: E402


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def brep_locations(text: str) -> dict:
    """The "Locations" section of a BREP text: entry counts and the longest chain.

    An entry is ``1`` and a 3 x 4 matrix (elementary) or ``2`` and (index, power)
    pairs ending in ``0`` (a chain of earlier entries), as OCC's TopTools_LocationSet writes them.
    """
    start = text.index("Locations ")
    tokens = text[start:].split()
    count = int(tokens[1])
    i, elementary, identity, composite, longest = 2, 0, 0, 0, 0
    unit = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    for _ in range(count):
        kind = tokens[i]
        if kind == "1":
            matrix = [float(t) for t in tokens[i + 1 : i + 13]]
            elementary += 1
            identity += all(abs(a - b) < 1e-12 for a, b in zip(matrix, unit, strict=True))
            i += 13
        elif kind == "2":
            i += 1
            links = 0
            while tokens[i] != "0":
                links += 1
                i += 2
            i += 1
            composite += 1
            longest = max(longest, links)
        else:
            raise ValueError(f"unexpected location entry {kind!r} in the BREP")
    return {
        "locations": count,
        "elementary": elementary,
        "identity": identity,
        "composite": composite,
        "longest_chain": longest,
    }


def ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def spread(runs: list[float]) -> dict:
    return {"median": round(statistics.median(runs), 1), "min": min(runs), "max": max(runs), "runs": runs}


def cold_encode(document, lifted: bool) -> tuple[float, dict]:
    """The first encode (cache cleared); ``lifted``: as if the limit were above this body."""
    saved = encoder.body_feature_limit
    if lifted:
        encoder.body_feature_limit = lambda: 10**9
    try:
        encoder_shapes.clear_cache()
        start = time.perf_counter()
        encoding = encoder.encode(document)
        elapsed = ms(start)
    finally:
        encoder.body_feature_limit = saved
    body = next(n for n in encoding["tree"] if n["name"] == "Body")
    return elapsed, body.get("shape", {})


def measure(features: int, repeat: int) -> dict:
    from scene_builders import grid_body

    before = load()
    document = FreeCAD.newDocument(f"Large{features}")
    try:
        start = time.perf_counter()
        body = grid_body(document, features)
        build_s = round(time.perf_counter() - start, 1)
        bad = [o.Name for o in body.Group if not o.isValid()]
        if bad:
            raise SystemExit(f"the {features}-feature body has invalid features: {bad[:5]}")
        shape = encoder_shapes.global_shape(body)
        start = time.perf_counter()
        faces = shape.countElement("Face")
        face_count_ms = ms(start)
        start = time.perf_counter()
        text = shape.exportBrepToString()
        export_ms = ms(start)
        brep = brep_locations(text)
        brep["export_ms"] = export_ms
        brep["chars"] = len(text)
        del text
        summaries = []
        for _ in range(repeat):
            encoder_shapes.clear_cache()
            start = time.perf_counter()
            encoder_shapes.summary(shape, "never")
            summaries.append(ms(start))
        in_force, overview = cold_encode(document, lifted=False)
        lifted, lifted_overview = cold_encode(document, lifted=True)
        assert "volume" in lifted_overview, "with the limit lifted the Body must be measured"
        return {
            "features": encoder._solid_features(body),
            "faces": faces,
            "build_s": build_s,
            "brep": brep,
            "face_count_ms": face_count_ms,
            "summary_ms": spread(summaries),
            "encode_ms": {
                "limit_in_force": in_force,
                "measured": "volume" in overview,
                "limit_lifted": lifted,
            },
            "load": {"before": before, "after": load()},
        }
    finally:
        FreeCAD.closeDocument(document.Name)
        encoder_shapes.clear_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, nargs="+", default=[50, 100, 200, 250], help="body sizes (features)")
    parser.add_argument("--repeat", type=int, default=3, help="shape summaries per body (cache cleared before each)")
    args = parser.parse_args(argv)
    report: dict = {
        "benchmark": "large_body",
        "freecad": ".".join(FreeCAD.Version()[:3]),
        "cpus": os.cpu_count(),
        "limit": encoder.body_feature_limit(),
        "bodies": [],
    }
    for features in args.features:
        report["bodies"].append(measure(features, args.repeat))
        print(f"{features} features: done", file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shape summaries for the scene encoder: volume, area, bbox, faces by surface type, validity.

Volume, area, surface types and BRepCheck cost real time on large bodies
(0.3 s, 0.1 s and 8 s for a 200-feature body) and the encoder runs on every
chat turn while shapes rarely change. So the placement-independent numbers
are remembered per OCC shape. An entry keeps its shape alive, so no new shape
can reuse its TShape address, and a hit is confirmed with ``isPartner`` (same
TShape, any placement; the bbox also needs the same placement): an
edited feature gets a new TShape and new numbers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from . import encoder_values as ev

Validity = Literal["auto", "always", "never"]

_cache: list[list] = []  # [shape, intrinsic summary, bbox or None], most recently used last


def clear_cache() -> None:
    """Forgets every remembered summary (the bench uses it to time a cold encode)."""
    _cache.clear()


def _entry(shape: Any) -> list:
    for i in range(len(_cache) - 1, -1, -1):
        entry = _cache[i]
        if entry[0].isPartner(shape):
            if entry[0].Placement.Matrix != shape.Placement.Matrix:  # moved: same numbers, new bbox
                entry = [shape, entry[1], None]
            del _cache[i]
            _cache.append(entry)
            return entry
    entry = [shape, None, None]
    _cache.append(entry)
    del _cache[: max(0, len(_cache) - ev.config()["limits"]["shape_cache_entries"])]
    return entry


def global_shape(obj: Any) -> Any | None:
    """refs.global_shape, or None for an object without a shape (never a copy, so cache hits match)."""
    from .refs import BadReference
    from .refs import global_shape as placed

    try:
        return placed(obj)
    except BadReference:
        return None


def _intrinsic(shape: Any, check_validity: bool) -> dict:
    """Numbers that do not change when the shape is moved."""
    faces = shape.Faces
    surfaces = Counter(type(face.Surface).__name__ for face in faces)
    solids = shape.Solids
    summary = {
        "face_count": len(faces),
        "volume": ev.number(sum(s.Volume for s in solids)) if solids else 0,
        "area": ev.number(shape.Area),
        "solids": len(solids),
        "faces": dict(sorted(surfaces.items())),
    }
    if check_validity:
        summary["valid"] = bool(shape.isValid())
    return summary


def _bbox(shape: Any) -> dict:
    box = shape.BoundBox
    return {
        "min": [ev.number(box.XMin), ev.number(box.YMin), ev.number(box.ZMin)],
        "max": [ev.number(box.XMax), ev.number(box.YMax), ev.number(box.ZMax)],
    }


def summary(shape: Any, check_validity: Validity = "auto") -> dict:
    """The shape summary of the encoding: volume mm³, area mm², bbox mm (global), counts.

    ``auto`` runs BRepCheck only on shapes of up to ``validity_max_faces`` faces (so the
    encoding depends on the document alone, not on what was checked before); a skipped
    check is said in ``valid_check``.
    """
    limits = ev.config()["limits"]
    entry = _entry(shape)
    faces = entry[1]["face_count"] if entry[1] is not None else shape.countElement("Face")
    want_validity = check_validity == "always" or (
        check_validity == "auto" and faces <= limits["validity_max_faces"]
    )
    if entry[1] is None or (want_validity and "valid" not in entry[1]):
        entry[1] = _intrinsic(shape, want_validity)
    if entry[2] is None:
        entry[2] = _bbox(shape)
    intrinsic = entry[1]
    result = {
        "volume": intrinsic["volume"],
        "area": intrinsic["area"],
        "bbox": entry[2],
        "solids": intrinsic["solids"],
        "faces": intrinsic["faces"],
    }
    if want_validity:
        result["valid"] = intrinsic["valid"]
    elif check_validity != "never":
        result["valid_check"] = (
            f"skipped ({faces} faces: BRepCheck can take minutes); query_feature_tree with check_validity true runs it"
        )
    return result

"""The pull or build direction a user means by picking a face or an edge.

A check's direction is picked, not typed: a planar face gives its outward
normal (pointing out of the material: pick the face the mold half or the
build plate moves away from), a cylindrical face its axis, a straight edge the
line from its first vertex to its last. Any other element cannot define one
direction, and ``NoDirection`` says what it is, so the panel can tell the
user what to pick instead. Headless: the Check task panel and tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..refs import Element, resolve
from .face_info import face_info

KINDS = ("face_normal", "face_axis", "edge")


@dataclass(frozen=True)
class PickedDirection:
    """A unit vector and where it came from (``kind`` in KINDS, the element's reference)."""

    vector: tuple[float, float, float]
    kind: str
    ref: str


class NoDirection(ValueError):
    """The element defines no single direction; ``what`` names it (``vertex``, ``object``,
    ``surface:Sphere``, ``curve:Circle``) for the message the user sees."""

    def __init__(self, ref: str, what: str):
        super().__init__(f"{ref} ({what}) defines no direction: pick a planar or cylindrical face or a straight edge")
        self.ref = ref
        self.what = what


def _unit(vector: Any) -> tuple[float, float, float]:
    length = vector.Length
    if length < 1e-12:
        raise ValueError("zero-length direction")
    # -0.0 and 1e-17 are noise of the kernel's arithmetic; the panel shows these numbers.
    return tuple(round(c / length, 12) + 0.0 for c in (vector.x, vector.y, vector.z))  # type: ignore[return-value]


def direction_of(element: Element) -> PickedDirection:
    """The direction of a resolved element (global coordinates); NoDirection for anything else."""
    if element.kind == "Face":
        info = face_info(0, element.shape)
        if info.kind == "plane":
            return PickedDirection(_unit(info.normal), "face_normal", element.ref)
        if info.kind == "cylinder":
            return PickedDirection(_unit(info.axis), "face_axis", element.ref)
        raise NoDirection(element.ref, f"surface:{type(element.shape.Surface).__name__}")
    if element.kind == "Edge":
        edge = element.shape
        curve = type(edge.Curve).__name__
        if curve not in ("Line", "LineSegment"):
            raise NoDirection(element.ref, f"curve:{curve}")
        start, end = edge.Vertexes[0].Point, edge.Vertexes[-1].Point
        return PickedDirection(_unit(end - start), "edge", element.ref)
    raise NoDirection(element.ref, (element.kind or "object").lower())


def direction_from_ref(document: Any, ref: str) -> PickedDirection:
    """``direction_of`` the element ``ref`` names (``Body.Face3``); BadReference for a bad reference."""
    return direction_of(resolve(document, ref))

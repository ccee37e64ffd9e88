"""The document's GD&T as plain records, and the geometric questions the gdt.* rules ask.

Rules never read document properties themselves: ``read_gdt`` turns the
annotation objects (``annotations.store``) into ``Frame``, ``Datum``,
``DatumFrame`` and ``Size`` records once, and ``Geometry`` answers "is this
face a plane", "are these faces a feature of size", "where is it" for every
rule from one cache of global shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...annotations import properties as P
from ...annotations import store
from ...geometry.query import (
    SurfaceType,
    face_axis,
    is_internal,
    plane_normal,
    point_inside,
    surface_info,
)
from ...refs import global_shape

# gdt.md "Characteristics": the group of each characteristic.
GROUPS: dict[str, str] = {
    "straightness": "form",
    "flatness": "form",
    "circularity": "form",
    "cylindricity": "form",
    "profile_of_a_line": "profile",
    "profile_of_a_surface": "profile",
    "angularity": "orientation",
    "perpendicularity": "orientation",
    "parallelism": "orientation",
    "position": "location",
    "concentricity": "location",
    "symmetry": "location",
    "circular_runout": "runout",
    "total_runout": "runout",
}
ASME = "ASME Y14.5-2018"
ISO = "ISO 1101"
# Meta key of the document naming the standard new frames follow (suggestions); a frame's own
# Standard property always decides for that frame.
STANDARD_META = "GDTStandard"
GENERAL_TOLERANCE_META = "GeneralTolerance"  # same key as tools/stack_up.py
DATUM_REF_RE = re.compile(r"^\s*([A-Za-z]{0,2})\s*(\((?:M|L)\))?\s*$")
PARALLEL_COS = 1 - 1e-9


def parse_datum_ref(ref: str) -> tuple[str, str]:
    """'B(M)' -> ('B', 'MMC'); 'A' -> ('A', 'none'); '' -> ('', 'none'); a common datum 'A-B(M)' -> ('A-B', ...)
    with the modifier of its first member. Unparseable text is kept as the letter."""
    parts = datum_components(ref)
    if len(parts) > 1:
        return "-".join(letter for letter, _ in parts), parts[0][1]
    match = DATUM_REF_RE.match(ref or "")
    if match is None:
        return ref.strip(), "none"
    modifier = {"(M)": "MMC", "(L)": "LMC"}.get(match.group(2) or "", "none")
    return match.group(1).upper(), modifier


def datum_components(ref: str) -> list[tuple[str, str]]:
    """The datums a reference is made of: 'E(M)-F(M)-G(M)' -> [('E', 'MMC'), ('F', 'MMC'), ('G', 'MMC')].

    A common datum (ASME Y14.5 "A-B", ISO 5459 "A-B") is established by several
    datum features at once; each letter must be defined, not the hyphenated text.
    """
    pieces = [p for p in (ref or "").split("-")]
    if len(pieces) < 2 or not all(DATUM_REF_RE.match(p) and p.strip() for p in pieces):
        match = DATUM_REF_RE.match(ref or "")
        if match is None:
            return [(ref.strip(), "none")]
        return [(match.group(1).upper(), {"(M)": "MMC", "(L)": "LMC"}.get(match.group(2) or "", "none"))]
    return [c for p in pieces for c in datum_components(p)]


@dataclass(frozen=True)
class Faces:
    """Linked geometry: [(object Name, ['Face3', ...])]."""

    links: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def refs(self) -> list[str]:
        return [f"{name}.{sub}" for name, subs in self.links for sub in subs]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.refs)

    @property
    def object(self) -> str | None:
        return self.links[0][0] if self.links else None

    @property
    def elements(self) -> tuple[str, ...]:
        """The elements on the first object (a finding names one object)."""
        return self.links[0][1] if self.links else ()


def _faces(obj: Any) -> Faces:
    links = []
    for target, subs in obj.Faces:
        links.append((target.Name, tuple(s for s in subs if s)))
    return Faces(tuple(links))


@dataclass(frozen=True)
class Frame:
    name: str
    label: str
    characteristic: str
    zone: float
    diameter_zone: bool
    material_modifier: str
    modifiers: tuple[str, ...]
    datums: tuple[str, ...]  # as written: 'A', 'B(M)'
    standard: str
    faces: Faces
    whole_part: bool = False  # applies to every surface not otherwise toleranced (UOS) or all over
    count: int = 0  # the '4X' of a pattern frame, 0 when not stated

    @property
    def group(self) -> str:
        return GROUPS[self.characteristic]

    @property
    def datum_letters(self) -> list[str]:
        """One entry per slot, as written ('A', 'E-F-G' for a common datum)."""
        return [parse_datum_ref(d)[0] for d in self.datums]

    @property
    def datum_components(self) -> list[tuple[str, str]]:
        """Every single datum the frame uses, common datums split: [('E', 'MMC'), ...]."""
        return [c for d in self.datums for c in datum_components(d)]

    @property
    def title(self) -> str:
        return f"frame {self.label} ({self.name})"


@dataclass(frozen=True)
class Datum:
    name: str
    letter: str
    faces: Faces


@dataclass(frozen=True)
class DatumFrame:
    name: str
    label: str
    slots: tuple[tuple[str, str], ...]  # ((letter, modifier) primary, secondary, tertiary)


@dataclass(frozen=True)
class Size:
    name: str
    label: str
    nominal: float
    upper: float
    lower: float
    fit_code: str
    faces: Faces


@dataclass
class Gdt:
    """Every GD&T annotation of a document."""

    document: Any
    frames: list[Frame] = field(default_factory=list)
    datums: list[Datum] = field(default_factory=list)
    datum_frames: list[DatumFrame] = field(default_factory=list)
    sizes: list[Size] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.frames or self.datums or self.datum_frames or self.sizes)

    @property
    def letters(self) -> set[str]:
        return {d.letter for d in self.datums}

    @property
    def general_tolerance(self) -> str | None:
        meta = getattr(self.document, "Meta", None) or {}
        return meta.get(GENERAL_TOLERANCE_META) or None

    def whole_part_profiles(self) -> list[Frame]:
        """Profile-of-a-surface frames with datums applied to the whole part (UOS, all over).

        With the model's dimensions basic (the NIST notes, ASME Y14.41), such a
        profile locates and sizes every feature no other frame controls.
        """
        return [f for f in self.frames if f.whole_part and f.characteristic == "profile_of_a_surface" and any(f.datum_letters)]

    def toleranced_objects(self) -> list[str]:
        """Objects carrying at least one frame or datum feature, in document order."""
        names: list[str] = []
        for item in [*self.datums, *self.frames]:
            for name, _ in item.faces.links:
                if name not in names:
                    names.append(name)
        return names


def read_gdt(document: Any, objects: list[str] | None = None) -> Gdt:
    """The GD&T annotations of ``document``; with ``objects``, only those on these objects
    (datum features are always all read: a frame may reference a datum on another part)."""
    scope = set(objects) if objects else None

    def wanted(faces: Faces) -> bool:
        return scope is None or any(name in scope for name, _ in faces.links)

    gdt = Gdt(document)
    for obj in store.annotations(document):
        kind = obj.SpatialType
        if kind == P.FEATURE_CONTROL_FRAME:
            faces = _faces(obj)
            whole = bool(getattr(obj, "WholePart", False) or getattr(obj, "AllOver", False))
            if not (wanted(faces) or (whole and not faces.links)):  # a whole-part frame names no faces
                continue
            gdt.frames.append(Frame(
                name=obj.Name, label=obj.Label, characteristic=obj.Characteristic, zone=float(obj.Zone),
                diameter_zone=bool(obj.DiameterZone), material_modifier=obj.MaterialModifier,
                modifiers=tuple(obj.Modifiers), datums=tuple(obj.DatumReferences), standard=obj.Standard, faces=faces,
                whole_part=whole, count=int(getattr(obj, "Count", 0) or 0)))
        elif kind == P.DATUM_FEATURE:
            gdt.datums.append(Datum(name=obj.Name, letter=obj.Letter.strip().upper(), faces=_faces(obj)))
        elif kind == P.DATUM_REFERENCE_FRAME:
            if scope is not None:
                continue
            slots = tuple((getattr(obj, s).strip().upper(), getattr(obj, f"{s}Modifier")) for s in ("Primary", "Secondary", "Tertiary"))
            gdt.datum_frames.append(DatumFrame(name=obj.Name, label=obj.Label, slots=slots))
        elif kind == P.SIZE_DIMENSION:
            faces = _faces(obj)
            if getattr(obj, "DimensionType", "size") != "size" or not wanted(faces):  # location/angular: not a feature of size
                continue
            gdt.sizes.append(Size(name=obj.Name, label=obj.Label, nominal=float(obj.Nominal), upper=float(obj.UpperDeviation),
                                  lower=float(obj.LowerDeviation), fit_code=obj.FitCode.strip(), faces=faces))
    return gdt


class Geometry:
    """Global shapes of the annotated objects, asked once, and the questions rules ask of faces."""

    def __init__(self, document: Any):
        self.document = document
        self._shapes: dict[str, Any] = {}
        self._holes: dict[str, list[dict]] = {}

    def shape(self, name: str) -> Any | None:
        if name not in self._shapes:
            obj = self.document.getObject(name)
            try:
                self._shapes[name] = global_shape(obj) if obj is not None else None
            except Exception:  # an object without a usable shape: rules see no geometry, never crash
                self._shapes[name] = None
        return self._shapes[name]

    def face(self, ref: str) -> Any | None:
        name, _, sub = ref.rpartition(".")
        shape = self.shape(name)
        if shape is None or not sub.startswith("Face"):
            return None
        index = int(sub[4:]) - 1
        return shape.Faces[index] if 0 <= index < len(shape.Faces) else None

    def faces(self, faces: Faces) -> list[Any]:
        return [f for f in (self.face(r) for r in faces.refs) if f is not None]

    def all_planar(self, faces: Faces) -> bool:
        shapes = self.faces(faces)
        return bool(shapes) and all(surface_info(f).type is SurfaceType.PLANE for f in shapes)

    def is_feature_of_size(self, faces: Faces) -> bool:
        """A cylinder or sphere (hole, pin, bore), or two opposed parallel planes (a slot or tab width)."""
        shapes = self.faces(faces)
        if not shapes:
            return False
        kinds = {surface_info(f).type for f in shapes}
        if kinds <= {SurfaceType.CYLINDER, SurfaceType.SPHERE}:
            return True
        if SurfaceType.CYLINDER in kinds and kinds <= {SurfaceType.CYLINDER, SurfaceType.PLANE}:
            return self._stepped_bore(shapes)
        if kinds != {SurfaceType.PLANE}:
            return False
        normals = [plane_normal(f) for f in shapes]
        return any(a.dot(b) < -PARALLEL_COS for i, a in enumerate(normals) for b in normals[i + 1:])

    @staticmethod
    def _stepped_bore(shapes: list[Any]) -> bool:
        """Cylinders on parallel axes and planes square to them: counterbored or spotfaced holes (one or a
        pattern), stepped pins.

        A frame on such holes (NIST STC 06's ⌖ ⌀0.635 Ⓜ on two counterbored holes) names their floors too;
        they are still features of size.
        """
        axes = [a for a in (face_axis(f) for f in shapes if surface_info(f).type is SurfaceType.CYLINDER) if a is not None]
        if not axes:
            return False
        first = axes[0]
        if any(abs(a.direction.dot(first.direction)) < PARALLEL_COS for a in axes[1:]):
            return False
        for face in shapes:
            normal = plane_normal(face)
            if normal is not None and abs(normal.dot(first.direction)) < PARALLEL_COS:
                return False
        return True

    def location(self, faces: Faces) -> tuple[float, float, float] | None:
        shapes = self.faces(faces)
        if not shapes:
            return None
        point = point_inside(shapes[0])[0]
        return (point.x, point.y, point.z)

    def diameter(self, faces: Faces) -> tuple[float, bool] | None:
        """(diameter, internal) of the first cylindrical face; None when there is none."""
        for face in self.faces(faces):
            info = surface_info(face)
            if info.type is SurfaceType.CYLINDER and face_axis(face) is not None:
                return 2.0 * info.radius, bool(is_internal(face))
        return None

    def holes(self, name: str) -> list[dict]:
        """Recognised holes of an object (find_features' form), asked once."""
        if name not in self._holes:
            shape = self.shape(name)
            found: list[dict] = []
            if shape is not None and shape.Solids:
                from ...geometry.features import recognize

                found = [f for f in recognize(shape) if f["kind"] == "hole"]
            self._holes[name] = found
        return self._holes[name]

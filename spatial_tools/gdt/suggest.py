"""GD&T suggestions for a part (gdt.md "Suggestions"), and accepting them as annotation objects.

The datum reference frame follows the way a part is fixtured:

- **A, primary**: the largest planar face (all coplanar faces together, same outward normal):
  the part sits on it, and it removes three degrees of freedom.
- **B, secondary**: the longest plane perpendicular to A (ties: the larger area): pushed against
  a stop, the longer it is the better it stops rotation about A's normal. When the part has a
  main bore perpendicular to A (large against the part), the bore is B instead.
- **C, tertiary**: after a plane B only the translation along A ∩ B is left: the largest plane
  perpendicular to both (ties: the one at the low end of that axis, the part's origin corner).
  After a bore B the rotation about the bore is left: the longest plane perpendicular to A.

Then frames for what needs them: position at MMC for clearance-hole patterns (zone from
``resources/gdt_defaults.toml``, ISO 273), position plus perpendicularity to A for other bores,
flatness of A. Suggestions are plain data; ``accept`` turns the chosen ones into objects in one
undoable step.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from ..annotations import properties as P
from ..annotations import store
from ..annotations.frame_text import frame_text, size_text
from ..annotations.transaction import transaction
from ..errors import BadArguments, NotApplicable
from ..geometry.features import recognize
from ..geometry.query import SurfaceType, plane_normal, surface_info
from ..refs import global_shape
from .validation.model import STANDARD_META

DEFAULTS_FILE = RESOURCES / "gdt_defaults.toml"
PARALLEL_COS = 1 - 1e-6
PERPENDICULAR_COS = 1e-6
PLANE_EPS = 1e-4  # mm: faces this close to one plane are one datum feature


@cache
def defaults() -> dict:
    with open(DEFAULTS_FILE, "rb") as fh:
        data = tomllib.load(fh)
    for key in ("clearance_hole", "bore", "primary", "iso273"):
        if key not in data:
            raise ValueError(f"{DEFAULTS_FILE}: section [{key}] is missing")
    return data


@dataclass
class Suggestion:
    """One proposal: a datum feature or a feature control frame, with the reason a user reads."""

    id: str  # "datum_A", "position_1", "size_1", ...
    kind: str  # "datum" | "frame" | "size" (a size dimension: zone holds the nominal, characteristic the fit code)
    title: str  # 'Datum A' or the frame's text '|⌖|⌀0.3 Ⓜ|A|B|C|'
    reason: str
    refs: list[str]
    letter: str = ""
    characteristic: str = ""
    zone: float = 0.0
    diameter_zone: bool = False
    material_modifier: str = "none"
    datums: list[str] = field(default_factory=list)
    standard: str = ""

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.kind == "size":
            return {"id": self.id, "kind": self.kind, "title": self.title, "reason": self.reason, "refs": list(self.refs),
                    "nominal": self.zone, "fit_code": self.characteristic}
        if self.kind == "datum":
            for key in ("characteristic", "zone", "diameter_zone", "material_modifier", "datums", "standard"):
                data.pop(key)
        else:
            data.pop("letter")
        return data


@dataclass
class _Plane:
    normal: Any
    offset: float
    faces: list[int]  # 1-based
    area: float
    box: Any  # bound box of the faces

    def refs(self, name: str) -> list[str]:
        return [f"{name}.Face{i}" for i in self.faces]

    def extent(self) -> float:
        """Longest side of the faces' bounding box: how long the plane is."""
        return max(self.box.XLength, self.box.YLength, self.box.ZLength)

    def center(self) -> Any:
        return self.box.Center


def planes_of(shape: Any) -> list[_Plane]:
    """Planar faces grouped by plane and outward normal, largest area first."""
    groups: list[_Plane] = []
    for i, face in enumerate(shape.Faces, start=1):
        if surface_info(face).type is not SurfaceType.PLANE:
            continue
        normal = plane_normal(face)
        offset = face.CenterOfMass.dot(normal)
        for group in groups:
            if group.normal.dot(normal) > PARALLEL_COS and abs(group.offset - offset) < PLANE_EPS:
                group.faces.append(i)
                group.area += face.Area
                group.box.add(face.BoundBox)
                break
        else:
            groups.append(_Plane(normal, offset, [i], face.Area, face.BoundBox))
    groups.sort(key=lambda p: (-round(p.area, 3), p.faces[0]))
    return groups


def _perpendicular(a: Any, b: Any) -> bool:
    return abs(a.dot(b)) < PERPENDICULAR_COS


def _axis(vector: Any) -> str:
    names = ("X", "Y", "Z")
    values = (vector.x, vector.y, vector.z)
    k = max(range(3), key=lambda i: abs(values[i]))
    return ("+" if values[k] > 0 else "−") + names[k] if abs(abs(values[k]) - 1) < 1e-6 else f"({vector.x:.3g}, {vector.y:.3g}, {vector.z:.3g})"


def _clearance(diameter: float) -> tuple[str, str, float] | None:
    """(thread, series, hole Ø) when ``diameter`` is an ISO 273 clearance hole."""
    table = defaults()["iso273"]
    tol = defaults()["clearance_hole"]["match_tolerance"]
    for thread, sizes in table.items():
        for series, size in zip(("fine", "medium", "coarse"), sizes, strict=True):
            if abs(size - diameter) <= tol:
                return thread, series, size
    return None


def _fixed_fastener_zone(hole: float, thread: str) -> float:
    step = defaults()["clearance_hole"]["zone_step"]
    bolt = float(thread[1:])
    return round(math.floor(((hole - bolt) / 2) / step + 1e-9) * step, 6)


def _standard(document: Any) -> str:
    meta = getattr(document, "Meta", None) or {}
    standard = meta.get(STANDARD_META) or defaults().get("standard", P.STANDARDS[0])
    return standard if standard in P.STANDARDS else P.STANDARDS[0]


def _target(document: Any, object_name: str | None) -> Any:
    if object_name:
        obj = document.getObject(object_name)
        if obj is None:
            raise BadArguments(f"no object named '{object_name}' in document '{document.Name}'")
        return obj
    from ..dfm.engine import default_targets

    parts = default_targets(document)
    if not parts:
        raise NotApplicable("the document has no solid part to suggest GD&T for")
    return parts[0]


def suggest(document: Any, object_name: str | None = None) -> list[Suggestion]:
    """Datum features and frames proposed for one part (default: the document's first part)."""
    obj = _target(document, object_name)
    shape = global_shape(obj)
    if not shape.Solids:
        raise NotApplicable(f"'{obj.Name}' is not a solid")
    name = obj.Name
    standard = _standard(document)
    cfg = defaults()
    planes = planes_of(shape)
    if not planes:
        raise NotApplicable(f"'{name}' has no planar face to be a primary datum")
    holes = [h for h in recognize(shape) if h["kind"] == "hole"]
    out: list[Suggestion] = []

    primary = planes[0]
    out.append(Suggestion(
        "datum_A", "datum", "Datum A", letter="A", refs=primary.refs(name),
        reason=f"Largest planar face ({primary.area:.0f} mm², normal {_axis(primary.normal)}): the part sits on it, "
               "so it is the primary datum; it removes 3 degrees of freedom (2 rotations, 1 translation)."))
    in_plane = [p for p in planes if _perpendicular(p.normal, primary.normal)]
    along_a = [h for h in holes if abs(sum(a * b for a, b in zip(h["axis"], primary.normal, strict=True))) > PARALLEL_COS]

    box = shape.BoundBox
    lengths = [(abs(primary.normal.x), box.XLength), (abs(primary.normal.y), box.YLength), (abs(primary.normal.z), box.ZLength)]
    lengths.sort()
    in_plane_min = min(lengths[0][1], lengths[1][1])  # the part's smaller extent in the plane of A
    main_bore = max((h for h in along_a if not _clearance(h["diameter"])), key=lambda h: h["diameter"], default=None)
    if main_bore is not None and main_bore["diameter"] < cfg["bore"]["main_bore_ratio"] * in_plane_min:
        main_bore = None

    secondary_letters = ["A", "B", "C"]
    if main_bore is not None:
        out.append(Suggestion(
            "datum_B", "datum", "Datum B", letter="B", refs=[f"{name}.{f}" for f in main_bore["faces"]],
            reason=f"Main bore Ø{main_bore['diameter']:.4g} perpendicular to A: the part is centred on it, so it locates "
                   "the part in the plane of A (2 translations)."))
        if in_plane:
            tertiary = max(in_plane, key=lambda p: (round(p.extent(), 3), round(p.area, 3)))
            out.append(Suggestion(
                "datum_C", "datum", "Datum C", letter="C", refs=tertiary.refs(name),
                reason=f"Longest plane perpendicular to A ({tertiary.extent():.0f} mm, normal {_axis(tertiary.normal)}): "
                       "it stops the last rotation, about the bore's axis."))
        else:
            secondary_letters = ["A", "B"]
    elif in_plane:
        secondary = max(in_plane, key=lambda p: (round(p.extent(), 3), round(p.area, 3)))
        out.append(Suggestion(
            "datum_B", "datum", "Datum B", letter="B", refs=secondary.refs(name),
            reason=f"Longest plane perpendicular to A ({secondary.extent():.0f} mm long, {secondary.area:.0f} mm², normal "
                   f"{_axis(secondary.normal)}): pushed against a stop it removes the rotation about A's normal over the "
                   "longest lever, and one translation."))
        third = [p for p in in_plane if _perpendicular(p.normal, secondary.normal)]
        if third:
            tertiary = min(third, key=lambda p: (-round(p.area, 3), round(p.center().dot(
                FreeCAD_vector(abs(p.normal.x), abs(p.normal.y), abs(p.normal.z))), 6)))
            out.append(Suggestion(
                "datum_C", "datum", "Datum C", letter="C", refs=tertiary.refs(name),
                reason=f"Plane perpendicular to A and B ({tertiary.area:.0f} mm², normal {_axis(tertiary.normal)}): it removes "
                       "the last degree of freedom, the translation along the edge where A and B meet."))
        else:
            secondary_letters = ["A", "B"]
    else:
        secondary_letters = ["A"]

    out.append(Suggestion(
        "flatness_A", "frame", "", refs=primary.refs(name), characteristic="flatness", zone=cfg["primary"]["flatness_zone"],
        standard=standard,
        reason=f"Datum A is the mounting face: its flatness decides how the part seats; {cfg['primary']['flatness_zone']:g} mm "
               "is a machined face's flatness (tighter than ISO 2768-K, as a datum face should be)."))

    bore_faces = set(main_bore["faces"]) if main_bore is not None else set()
    clearance: dict[float, list[dict]] = {}
    others = []
    for h in along_a:
        if set(h["faces"]) & bore_faces:
            continue
        match = _clearance(h["diameter"])
        if match and h["through"]:
            clearance.setdefault(match[2], []).append(h)
        else:
            others.append(h)
    datums = list(secondary_letters)
    n = 0
    for size, group in sorted(clearance.items()):
        thread, series, _ = _clearance(size)
        zone = _fixed_fastener_zone(size, thread)
        if zone <= 0:
            zone = cfg["clearance_hole"]["fallback_zone"]
        n += 1
        count = f"{len(group)} × " if len(group) > 1 else ""
        fit = {"fine": "H12", "medium": "H13", "coarse": "H14"}[series]
        out.append(Suggestion(
            f"size_{n}", "size", f"{count}⌀{size:g} {fit}", refs=[f"{name}.{f}" for h in group for f in h["faces"]],
            zone=size, characteristic=fit,
            reason=f"ISO 273 gives {series} series clearance holes the tolerance class {fit}: the size limits the position "
                   "frame's MMC and bonus are counted from."))
        out.append(Suggestion(
            f"position_{n}", "frame", "", refs=[f"{name}.{f}" for h in group for f in h["faces"]], characteristic="position",
            zone=zone, diameter_zone=True, material_modifier="MMC", datums=datums, standard=standard,
            reason=f"{count}Ø{size:g} through holes are ISO 273 {series} clearance holes for {thread}: one position frame "
                   f"for the {'pattern' if len(group) > 1 else 'hole'} to {'|'.join(datums)}, at MMC so a hole made larger "
                   f"gets the difference as bonus. Ø{zone:g} = (hole {size:g} − bolt {thread[1:]}) / 2, the fixed-fastener "
                   "share when the mating part may be tapped."))
    for h in others + ([main_bore] if main_bore is not None else []):
        n += 1
        refs = [f"{name}.{f}" for f in h["faces"] if f != h.get("bottom_face")]
        is_b = main_bore is not None and h is main_bore
        if not is_b:
            out.append(Suggestion(
                f"position_{n}", "frame", "", refs=refs, characteristic="position", zone=cfg["bore"]["position_zone"],
                diameter_zone=True, datums=datums, standard=standard,
                reason=f"Hole Ø{h['diameter']:.4g} is not a standard clearance hole (a bore or pin hole): located to "
                       f"{'|'.join(datums)} regardless of feature size, so every part gets the same location."))
        out.append(Suggestion(
            f"perpendicularity_{n}", "frame", "", refs=refs, characteristic="perpendicularity",
            zone=cfg["bore"]["perpendicularity_zone"], diameter_zone=True, datums=["A"], standard=standard,
            reason=f"Bore Ø{h['diameter']:.4g} runs square to A: its axis perpendicularity to A decides how a shaft or pin "
                   "stands" + ("." if is_b else "; it refines the position and so is tighter.")))
    for s in out:
        if s.kind == "frame":
            s.title = frame_text({"Characteristic": s.characteristic, "Zone": s.zone, "DiameterZone": s.diameter_zone,
                                  "MaterialModifier": s.material_modifier, "DatumReferences": s.datums})
    return out


def FreeCAD_vector(x: float, y: float, z: float) -> Any:  # noqa: N802 - reads like FreeCAD.Vector
    import FreeCAD

    return FreeCAD.Vector(x, y, z)


def _new(document: Any, kind: str, label: str, values: dict, refs: list[str]) -> Any:
    # store._new_gdt opens its own transaction, and FreeCAD commits an open one when another
    # opens: accepting builds the objects the same way inside the caller's single step.
    links = store.parse_refs(document, refs)
    obj = store._create(document, kind, kind)
    for prop, value in values.items():
        setattr(obj, prop, value)
    obj.Label = label
    if links:
        store.link_elements(obj, links)
    else:
        obj.Attachment = "unlinked"
    store.spatial_group(document).addObject(obj)
    obj.purgeTouched()
    return obj


def accept(document: Any, suggestions: list[Suggestion], ids: list[str] | None = None) -> list[Any]:
    """Creates the chosen suggestions (all when ``ids`` is None) as annotation objects in ONE undoable step.

    A frame needs its datums: accepting a frame whose datum letter is neither chosen nor already
    defined in the document is refused (BadArguments) before anything is created. When all three
    datums are accepted a datum reference frame A|B|C is added too.
    """
    by_id = {s.id: s for s in suggestions}
    unknown = [i for i in ids or [] if i not in by_id]
    if unknown:
        raise BadArguments(f"unknown suggestion id(s) {unknown} (known: {', '.join(by_id)})")
    chosen = [s for s in suggestions if ids is None or s.id in ids]
    if not chosen:
        return []
    defined = {o.Letter for o in store.annotations(document, P.DATUM_FEATURE)}
    letters = defined | {s.letter for s in chosen if s.kind == "datum"}
    for s in chosen:
        missing = [d for d in s.datums if d not in letters]
        if missing:
            raise BadArguments(f"suggestion {s.id} references datum {', '.join(missing)}: accept datum_{missing[0]} too")
    created = []
    new_datums = [s.letter for s in chosen if s.kind == "datum"]
    with transaction(document, f"Spatial: accept {len(chosen)} GD&T suggestion{'s' if len(chosen) != 1 else ''}"):
        for s in chosen:
            if s.kind == "datum":
                created.append(_new(document, P.DATUM_FEATURE, f"Datum {s.letter}", {"Letter": s.letter}, s.refs))
            elif s.kind == "size":
                values = {"Nominal": float(s.zone), "UpperDeviation": 0.0, "LowerDeviation": 0.0, "FitCode": s.characteristic}
                created.append(_new(document, P.SIZE_DIMENSION, size_text(values), values, s.refs))
            else:
                values = {"Characteristic": s.characteristic, "Zone": float(s.zone), "DiameterZone": s.diameter_zone,
                          "MaterialModifier": s.material_modifier, "Modifiers": [], "DatumReferences": list(s.datums),
                          "Standard": s.standard or _standard(document)}
                created.append(_new(document, P.FEATURE_CONTROL_FRAME, frame_text(values), values, s.refs))
        if len(new_datums) >= 2:
            slots = (new_datums + ["", ""])[:3]
            values = {"Primary": slots[0], "Secondary": slots[1], "Tertiary": slots[2],
                      "PrimaryModifier": "none", "SecondaryModifier": "none", "TertiaryModifier": "none"}
            created.append(_new(document, P.DATUM_REFERENCE_FRAME, "DRF " + "|".join(x for x in slots if x), values, []))
    return created

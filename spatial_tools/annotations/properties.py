"""The document properties of each annotation kind, and the finding format mapped onto them.

The finding format has one definition, ``dfm.finding.Finding``; this module
only says which property holds each of its fields (FINDING_FIELDS, checked
against the dataclass by the tests) and how ``None`` is kept (``NullFields``).
Saved files live forever: properties are only ever added when missing, never
renamed or removed; ``SCHEMA_VERSION`` tells what a file was written with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..dfm.finding import Finding, Severity

SCHEMA_VERSION = 1

FINDING = "Finding"
DATUM_FEATURE = "DatumFeature"
DATUM_REFERENCE_FRAME = "DatumReferenceFrame"
FEATURE_CONTROL_FRAME = "FeatureControlFrame"
SIZE_DIMENSION = "SizeDimension"
KINDS = (FINDING, DATUM_FEATURE, DATUM_REFERENCE_FRAME, FEATURE_CONTROL_FRAME, SIZE_DIMENSION)

STATUSES = ("open", "accepted", "waived")
ATTACHMENTS = ("attached", "rematched", "lost", "unlinked")
MATERIAL_MODIFIERS = ("none", "MMC", "LMC")
STANDARDS = ("ASME Y14.5-2018", "ISO 1101", "ASME Y14.5-2009", "ASME Y14.5M-1994")  # new ones appended: saved indices keep
TARGET_TYPES = ("none", "point", "line", "area")
DIMENSION_TYPES = ("size", "location", "angular_size", "angular_location")
ANGULAR_DIMENSIONS = ("angular_size", "angular_location")
# gdt.md "Characteristics": name -> symbol.
CHARACTERISTICS = {
    "straightness": "⏤",
    "flatness": "⏥",
    "circularity": "○",
    "cylindricity": "⌭",
    "profile_of_a_line": "⌒",
    "profile_of_a_surface": "⌓",
    "angularity": "∠",
    "perpendicularity": "⟂",
    "parallelism": "∥",
    "position": "⌖",
    "concentricity": "◎",
    "symmetry": "⌯",
    "circular_runout": "↗",
    "total_runout": "⌰",
}
MODIFIER_SYMBOLS = {"MMC": "Ⓜ", "LMC": "Ⓛ", "projected": "Ⓟ", "free_state": "Ⓕ", "tangent_plane": "Ⓣ", "unequal_bilateral": "Ⓤ"}
DIAMETER = "⌀"


@dataclass(frozen=True)
class Prop:
    """One document property: FreeCAD type, name, group, tooltip and, for enumerations, the choices."""

    name: str
    type: str
    group: str
    doc: str
    choices: tuple[str, ...] = ()
    hidden: bool = False
    read_only: bool = False


COMMON = (
    Prop("SpatialType", "App::PropertyString", "Spatial", "Which kind of annotation this is; lets a file whose proxy was lost be repaired", read_only=True),
    Prop("SpatialVersion", "App::PropertyInteger", "Spatial", "Version of the property layout the object was written with", read_only=True),
    Prop("Faces", "App::PropertyLinkSubList", "Spatial", "The geometry this annotation concerns"),
    Prop("Targets", "App::PropertyLinkList", "Spatial", "The annotated objects (kept when their elements are lost, so a later recompute can find them again)", read_only=True),
    Prop("ElementSignatures", "App::PropertyString", "Spatial", "Geometric signature of each linked element (JSON), to find it again after a recompute", hidden=True),
    Prop("Attachment", "App::PropertyEnumeration", "Spatial", "attached; rematched (found again after renumbering, or changed but followed by FreeCAD 1.x's element map: check it); lost (the geometry is gone: re-check or re-link)", ATTACHMENTS, read_only=True),
    Prop("LostElements", "App::PropertyStringList", "Spatial", "Elements that could not be found again after a recompute", read_only=True),
)

# Finding dataclass field -> property. Every field of the finding format has one.
FINDING_FIELDS: dict[str, Prop] = {
    "rule": Prop("Rule", "App::PropertyString", "Finding", "Rule id (e.g. cnc.deep_hole)", read_only=True),
    "severity": Prop("Severity", "App::PropertyEnumeration", "Finding", "error, warning or info", tuple(s.value for s in Severity), read_only=True),
    "message": Prop("Message", "App::PropertyString", "Finding", "What is wrong, in words", read_only=True),
    "object": Prop("TargetObject", "App::PropertyString", "Finding", "Name of the checked object", read_only=True),
    "elements": Prop("Elements", "App::PropertyStringList", "Finding", "Flagged elements of the object (Face7 ...)", read_only=True),
    "location": Prop("Location", "App::PropertyVector", "Finding", "Point on the flagged geometry (global mm)", read_only=True),
    "measured": Prop("Measured", "App::PropertyFloat", "Finding", "The measured value", read_only=True),
    "limit": Prop("Limit", "App::PropertyFloat", "Finding", "The limit the rule compares with", read_only=True),
    "unit": Prop("Unit", "App::PropertyString", "Finding", "Unit of Measured and Limit", read_only=True),
    "suggestion": Prop("Suggestion", "App::PropertyString", "Finding", "How to fix it", read_only=True),
    "related": Prop("Related", "App::PropertyStringList", "Finding", "Other geometry involved (Pin.Face3 ...)", read_only=True),
    "title": Prop("Title", "App::PropertyString", "Finding", "The finding in one line, in the engineer's units", read_only=True),
}

FINDING_EXTRA = (
    Prop("Number", "App::PropertyInteger", "Finding", "The finding's number in the dock, the markers and the report; "
         "kept for the life of the finding (0: not numbered yet, a file from an older version)", read_only=True),
    Prop("NullFields", "App::PropertyStringList", "Finding", "Fields of the finding that have no value", hidden=True),
    Prop("Process", "App::PropertyString", "Finding", "Process profile the check ran with", read_only=True),
    Prop("Status", "App::PropertyEnumeration", "Review", "open, accepted or waived", STATUSES),
    Prop("StatusReason", "App::PropertyString", "Review", "Why it was accepted or waived"),
    Prop("StatusBy", "App::PropertyString", "Review", "Who accepted or waived it"),
    Prop("StatusAt", "App::PropertyString", "Review", "When (ISO 8601, UTC)"),
)

GDT_PROPERTIES: dict[str, tuple[Prop, ...]] = {
    DATUM_FEATURE: (
        Prop("Letter", "App::PropertyString", "Datum", "Datum letter (A, B, ...)"),
        # Datum targets (added for the PMI import; empty on a plain datum feature and in older files).
        Prop("TargetLabel", "App::PropertyString", "Datum target", "The datum target's label (A1, B2 ...); empty on a datum feature"),
        Prop("TargetType", "App::PropertyEnumeration", "Datum target", "none (a datum feature), point, line or area", TARGET_TYPES),
        Prop("TargetShape", "App::PropertyString", "Datum target", "The target's shape as the file states it (point, line, rectangle, circle, area)"),
        Prop("TargetSize", "App::PropertyFloatList", "Datum target", "Line length; rectangle length and width; circle diameter (mm)"),
        Prop("TargetLocation", "App::PropertyVector", "Datum target", "Where the target sits (mm, the part's coordinates)"),
        Prop("Movable", "App::PropertyBool", "Datum target", "A movable datum target"),
        Prop("MovableDirection", "App::PropertyVector", "Datum target",
             "Direction a movable target moves in (stated by the file, or the way its drawn symbol points); zero when unknown"),
    ),
    DATUM_REFERENCE_FRAME: (
        Prop("Primary", "App::PropertyString", "Datums", "Primary datum letter"),
        Prop("PrimaryModifier", "App::PropertyEnumeration", "Datums", "Material modifier of the primary", MATERIAL_MODIFIERS),
        Prop("Secondary", "App::PropertyString", "Datums", "Secondary datum letter"),
        Prop("SecondaryModifier", "App::PropertyEnumeration", "Datums", "Material modifier of the secondary", MATERIAL_MODIFIERS),
        Prop("Tertiary", "App::PropertyString", "Datums", "Tertiary datum letter"),
        Prop("TertiaryModifier", "App::PropertyEnumeration", "Datums", "Material modifier of the tertiary", MATERIAL_MODIFIERS),
    ),
    FEATURE_CONTROL_FRAME: (
        Prop("Characteristic", "App::PropertyEnumeration", "Tolerance", "Geometric characteristic", tuple(CHARACTERISTICS)),
        Prop("Zone", "App::PropertyFloat", "Tolerance", "Tolerance zone (mm)"),
        Prop("DiameterZone", "App::PropertyBool", "Tolerance", "Cylindrical (Ø) zone"),
        Prop("MaterialModifier", "App::PropertyEnumeration", "Tolerance", "MMC, LMC or none", MATERIAL_MODIFIERS),
        Prop("Modifiers", "App::PropertyStringList", "Tolerance", "projected, free_state, tangent_plane, unequal_bilateral"),
        Prop("DatumReferences", "App::PropertyStringList", "Tolerance", "Datum letters in order, each optionally with (M) or (L): A, B(M)"),
        Prop("Standard", "App::PropertyEnumeration", "Tolerance", "The standard the frame follows", STANDARDS),
        # Added for the PMI import: zero/False/empty means "not stated", as in every older file.
        Prop("ProjectedLength", "App::PropertyFloat", "Modifiers", "Height of a projected (Ⓟ) zone (mm); 0 when not projected"),
        Prop("UnequalOffset", "App::PropertyFloat", "Modifiers", "Unequal-bilateral (Ⓤ) zone: the part of the zone toward material addition (mm)"),
        Prop("SphericalZone", "App::PropertyBool", "Modifiers", "Spherical (S⌀) zone"),
        Prop("UnitBasis", "App::PropertyFloatList", "Modifiers", "Tolerance per unit length (one value) or per unit area (two) (mm)"),
        Prop("AllAround", "App::PropertyBool", "Modifiers", "Applies all around the profile (⭘ on the leader)"),
        Prop("AllOver", "App::PropertyBool", "Modifiers", "Applies all over the part's surfaces"),
        Prop("WholePart", "App::PropertyBool", "Modifiers", "Applies to the whole part, every surface not otherwise toleranced (UOS)"),
        Prop("Count", "App::PropertyInteger", "Modifiers", "How many features the frame controls (the '4X'); 0 when not stated"),
        Prop("Notes", "App::PropertyStringList", "Modifiers", "Notes the frame carries (INDIVIDUALLY, 2 SURFACES ...)"),
        Prop("Source", "App::PropertyString", "Modifiers", "Where the frame came from (the STEP entity of an imported frame)", read_only=True),
    ),
    SIZE_DIMENSION: (
        Prop("Nominal", "App::PropertyFloat", "Size", "Nominal size (mm)"),
        Prop("UpperDeviation", "App::PropertyFloat", "Size", "Upper deviation (mm)"),
        Prop("LowerDeviation", "App::PropertyFloat", "Size", "Lower deviation (mm)"),
        Prop("FitCode", "App::PropertyString", "Size", "ISO 286 class instead of deviations (e.g. H7)"),
        # Added for the PMI import: older files hold size dimensions only.
        Prop("DimensionType", "App::PropertyEnumeration", "Size", "size (a feature of size), location (distance between two features), "
             "angular_size or angular_location (degrees)", DIMENSION_TYPES),
        Prop("Source", "App::PropertyString", "Size", "Where the dimension came from (the STEP type of an imported one)", read_only=True),
    ),
}


def properties_of(kind: str) -> tuple[Prop, ...]:
    """Every property an object of ``kind`` carries."""
    if kind == FINDING:
        return COMMON + tuple(FINDING_FIELDS.values()) + FINDING_EXTRA
    return COMMON + GDT_PROPERTIES[kind]


def ensure_properties(obj: Any, kind: str) -> list[str]:
    """Adds the properties of ``kind`` that ``obj`` lacks (a file written by an older version); returns their names."""
    added = []
    for prop in properties_of(kind):
        if prop.name in obj.PropertiesList:
            continue
        obj.addProperty(prop.type, prop.name, prop.group, prop.doc)
        if prop.choices:
            setattr(obj, prop.name, list(prop.choices))
        modes = (["Hidden"] if prop.hidden else []) + (["ReadOnly"] if prop.read_only else [])
        if modes:
            obj.setEditorMode(prop.name, modes)
        added.append(prop.name)
    if obj.SpatialType != kind:
        obj.SpatialType = kind
    if obj.SpatialVersion < SCHEMA_VERSION:
        obj.SpatialVersion = SCHEMA_VERSION
    return added


def write_finding(obj: Any, finding: Finding) -> None:
    """Puts every field of ``finding`` into ``obj``'s properties (None recorded in NullFields)."""
    import FreeCAD

    nulls = []
    for name, prop in FINDING_FIELDS.items():
        value = getattr(finding, name)
        if value is None:
            nulls.append(name)
            continue
        if name == "severity":
            value = value.value
        elif name == "location":
            value = FreeCAD.Vector(*value)
        elif name in ("elements", "related"):
            value = list(value)
        setattr(obj, prop.name, value)
    obj.NullFields = nulls


def read_finding(obj: Any) -> Finding:
    """The finding ``obj`` holds, exactly as it was written (``write_finding``)."""
    nulls = set(obj.NullFields)
    data: dict[str, Any] = {}
    for name, prop in FINDING_FIELDS.items():
        if name in nulls:
            data[name] = None
            continue
        value = getattr(obj, prop.name)
        if name == "location":
            value = (value.x, value.y, value.z)
        elif name in ("elements", "related"):
            value = tuple(value)
        data[name] = value
    if "title" in data and not data["title"]:
        data["title"] = None  # a file written before titles: the property was added empty
    data["elements"] = data.get("elements") or ()
    data["related"] = data.get("related") or ()
    return Finding(**data)

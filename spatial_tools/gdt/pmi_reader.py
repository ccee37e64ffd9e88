"""Reads the semantic PMI of a STEP AP242 file with OpenCASCADE's XDE; prints it as JSON.

Run as ``python -m freecad_spatial.spatial_tools.gdt.pmi_reader FILE``. This
module imports the ``cadquery-ocp`` bindings (``OCP``) and must never import
FreeCAD: the two carry different OpenCASCADE builds, which cannot share a
process. FreeCAD 0.20's Python has no way into ``XCAFDoc_DimTolTool``, hence
the separate process; ``pmi_import`` runs it and maps the faces back.

Every face a datum, tolerance or dimension names is given once, in ``faces``,
as a geometric signature in millimetres (OpenCASCADE converts the file's
units, inches included, to millimetres on reading; so are all values here)
and in the same form as ``annotations.signature.face_signature``, so the
FreeCAD side finds it by geometry. Datum features that XDE leaves without
faces (NIST's files tie them through an ``item_identified_representation_usage``
with a ``set_representation_item``, which XDE does not follow) are completed
from the file's own entity graph. So are the frames and sizes the file ties only to
supplemental curves in a hole (``supplemental``: each curve set's axis, radius
and length) and a thread's designation its drawn callout shows.

Exit codes: 0 success, 2 the file cannot be read, 3 OCP is not installed.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

READER_VERSION = 4

# XCAF tolerance type -> our characteristic (properties.CHARACTERISTICS); coaxiality is
# concentricity's ISO name (gdt.md groups them).
TOLERANCE_TYPES = {
    "Straightness": "straightness",
    "Flatness": "flatness",
    "CircularityOrRoundness": "circularity",
    "Cylindricity": "cylindricity",
    "ProfileOfLine": "profile_of_a_line",
    "ProfileOfSurface": "profile_of_a_surface",
    "Angularity": "angularity",
    "Perpendicularity": "perpendicularity",
    "Parallelism": "parallelism",
    "Position": "position",
    "Concentricity": "concentricity",
    "Coaxiality": "concentricity",
    "Symmetry": "symmetry",
    "CircularRunout": "circular_runout",
    "TotalRunout": "total_runout",
}
# XCAF tolerance modifiers we carry as our modifier names; the rest are kept verbatim.
TOLERANCE_MODIFIERS = {"Free_State": "free_state", "Tangent_Plane": "tangent_plane"}
DATUM_MODIFIERS = {"MaximumMaterialRequirement": "MMC", "LeastMaterialRequirement": "LMC"}
SURFACE_NAMES = {
    "Plane": "plane",
    "Cylinder": "cylinder",
    "Cone": "cone",
    "Sphere": "sphere",
    "Torus": "torus",
    "BezierSurface": "beziersurface",
    "BSplineSurface": "bsplinesurface",
    "SurfaceOfRevolution": "surfaceofrevolution",
    "SurfaceOfExtrusion": "surfaceofextrusion",
    "OffsetSurface": "offsetsurface",
}


class PmiReadError(RuntimeError):
    """The STEP file could not be read."""


def _enum_name(value: Any, prefix: str) -> str:
    name = getattr(value, "name", str(value))
    return name.split(prefix, 1)[1] if prefix in name else name


def _as_face(shape: Any) -> Any:
    from OCP.TopoDS import TopoDS

    cast = getattr(TopoDS, "Face_s", None) or TopoDS.Face  # OCP 7.7 names it Face_s, OCP 8 Face
    return cast(shape)


def _seq(seq: Any) -> list[Any]:
    return [seq.Value(i) for i in range(1, seq.Length() + 1)]


# --- geometry -------------------------------------------------------------------------------


def _vec(x: float, y: float, z: float) -> list[float]:
    return [round(float(x), 6) + 0.0, round(float(y), 6) + 0.0, round(float(z), 6) + 0.0]  # no -0.0


def face_signature(face: Any) -> dict:
    """Surface type, area, centroid, normal/axis and radius: the same form as FreeCAD's side."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.BRepGProp import BRepGProp, BRepGProp_Face
    from OCP.BRepTools import BRepTools
    from OCP.gp import gp_Pnt, gp_Vec
    from OCP.GProp import GProp_GProps

    adaptor = BRepAdaptor_Surface(face)
    kind = SURFACE_NAMES.get(_enum_name(adaptor.GetType(), "GeomAbs_"), "other")
    props = GProp_GProps()
    BRepGProp.SurfaceProperties_s(face, props)
    c = props.CentreOfMass()
    sig: dict[str, Any] = {"surface": kind, "area": round(float(props.Mass()), 6), "centroid": _vec(c.X(), c.Y(), c.Z())}
    direction = None
    radius = None
    if kind == "plane":
        u0, u1, v0, v1 = BRepTools.UVBounds_s(face)
        p, n = gp_Pnt(), gp_Vec()
        BRepGProp_Face(face).Normal((u0 + u1) / 2, (v0 + v1) / 2, p, n)  # honours the face's orientation
        if n.Magnitude() > 0:
            n.Normalize()
        direction = [n.X(), n.Y(), n.Z()]
    elif kind == "cylinder":
        cyl = adaptor.Cylinder()
        d = cyl.Axis().Direction()
        direction, radius = [d.X(), d.Y(), d.Z()], cyl.Radius()
    elif kind == "cone":
        cone = adaptor.Cone()
        d = cone.Axis().Direction()
        direction, radius = [d.X(), d.Y(), d.Z()], cone.RefRadius()
    elif kind == "sphere":
        radius = adaptor.Sphere().Radius()
    elif kind == "torus":
        torus = adaptor.Torus()
        d = torus.Axis().Direction()
        direction, radius = [d.X(), d.Y(), d.Z()], torus.MajorRadius()
    if direction is not None and kind != "plane":
        first = next((v for v in direction if abs(v) > 1e-9), 1.0)
        if first < 0:
            direction = [-v for v in direction]
    if direction is not None:
        sig["direction"] = _vec(*direction)
    if radius is not None:
        sig["radius"] = round(float(radius), 6)
    return sig


class _Faces:
    """The faces named by the PMI, each once, located as they sit in the whole model."""

    def __init__(self, whole: Any) -> None:
        from OCP.TopAbs import TopAbs_FACE
        from OCP.TopExp import TopExp_Explorer

        self.model_faces = []
        explorer = TopExp_Explorer(whole, TopAbs_FACE)
        while explorer.More():
            self.model_faces.append(_as_face(explorer.Current()))
            explorer.Next()
        self.faces: list[Any] = []
        self.signatures: list[dict] = []

    def _add(self, face: Any) -> int:
        for i, known in enumerate(self.faces):
            if known.IsSame(face):
                return i
        self.faces.append(face)
        self.signatures.append(face_signature(face))
        return len(self.faces) - 1

    def cylinder_axis(self, index: int) -> dict | None:
        """A cylindrical face's axis (point and radius in mm, unit direction) as placed in the model; None otherwise."""
        from OCP.BRepAdaptor import BRepAdaptor_Surface

        adaptor = BRepAdaptor_Surface(self.faces[index])
        if _enum_name(adaptor.GetType(), "GeomAbs_") != "Cylinder":
            return None
        cyl = adaptor.Cylinder()
        p, d = cyl.Axis().Location(), cyl.Axis().Direction()
        return {"face": index, "point": _vec(p.X(), p.Y(), p.Z()), "direction": [d.X(), d.Y(), d.Z()], "radius": round(cyl.Radius(), 6)}

    def indices(self, shape: Any) -> list[int]:
        """Indices of the faces of ``shape`` (a face or anything holding faces); every placed instance."""
        from OCP.TopAbs import TopAbs_FACE
        from OCP.TopExp import TopExp_Explorer

        out: list[int] = []
        explorer = TopExp_Explorer(shape, TopAbs_FACE)
        while explorer.More():
            face = _as_face(explorer.Current())
            placed = [f for f in self.model_faces if f.IsSame(face)] or [f for f in self.model_faces if f.IsPartner(face)]
            for f in placed or [face]:
                index = self._add(f)
                if index not in out:
                    out.append(index)
            explorer.Next()
        return out


# --- the STEP entity graph, for datum features XDE leaves without faces -------------------


_ENTITY = re.compile(r"#(\d+)\s*=\s*(.*?);\s*(?=#\d+\s*=|ENDSEC)", re.S)
_REF = re.compile(r"#(\d+)")


class StepGraph:
    """The file's entities (id -> keyword and text), enough to follow shape aspects to their faces."""

    def __init__(self, text: str) -> None:
        data = text.split("DATA;", 1)[-1]
        self.entities = {int(m.group(1)): " ".join(m.group(2).split()) for m in _ENTITY.finditer(data)}
        self.keyword = {i: body.split("(", 1)[0].strip() for i, body in self.entities.items()}
        self.letters: dict[int, str] = {}
        self.relations: list[tuple[int, int]] = []
        self.usages: dict[int, list[int]] = {}
        self.target_features: dict[int, list[int]] = {}
        self.property_definitions: dict[int, list[int]] = {}  # definition -> its PROPERTY_DEFINITIONs
        self.shape_representations: dict[int, list[int]] = {}  # PROPERTY_DEFINITION -> representations
        self.presentations: dict[int, list[int]] = {}  # PMI item -> its DRAUGHTING_MODEL_ITEM_ASSOCIATION items
        self._validation_index: tuple[dict[int, list[int]], dict[int, list[int]]] | None = None  # presentation_texts
        for i, body in self.entities.items():
            kw = self.keyword[i]
            if kw == "PROPERTY_DEFINITION":
                refs = [int(r) for r in _REF.findall(body)]
                if refs:
                    self.property_definitions.setdefault(refs[-1], []).append(i)
            elif kw == "SHAPE_DEFINITION_REPRESENTATION":
                refs = [int(r) for r in _REF.findall(body)]
                if len(refs) >= 2:
                    self.shape_representations.setdefault(refs[0], []).append(refs[1])
            elif kw.startswith("DRAUGHTING_MODEL_ITEM_ASSOCIATION"):
                refs = [int(r) for r in _REF.findall(body)]
                if len(refs) >= 3 and refs[2] not in self.presentations.get(refs[0], []):
                    self.presentations.setdefault(refs[0], []).append(refs[2])
            if kw == "DATUM":
                m = re.search(r",\s*'([^']*)'\s*\)\s*$", body)
                if m:
                    self.letters[i] = m.group(1)
            elif kw == "FEATURE_FOR_DATUM_TARGET_RELATIONSHIP":
                refs = [int(r) for r in _REF.findall(body)]
                if len(refs) >= 2:
                    self.target_features.setdefault(refs[-1], []).append(refs[-2])
            elif kw == "SHAPE_ASPECT_RELATIONSHIP":
                refs = [int(r) for r in _REF.findall(body)]
                if len(refs) >= 2:
                    self.relations.append((refs[-2], refs[-1]))
            elif kw in ("GEOMETRIC_ITEM_SPECIFIC_USAGE", "ITEM_IDENTIFIED_REPRESENTATION_USAGE"):
                refs = [int(r) for r in _REF.findall(body)]
                if len(refs) >= 3:
                    self.usages.setdefault(refs[0], []).extend(refs[2:])

    def faces_of_item(self, item: int, depth: int = 0) -> list[int]:
        kw = self.keyword.get(item, "")
        if kw == "ADVANCED_FACE":
            return [item]
        if depth < 3 and kw in ("SET_REPRESENTATION_ITEM", "SHELL_BASED_SURFACE_MODEL", "OPEN_SHELL", "CLOSED_SHELL"):
            inner = self.entities[item].split("(", 1)[1]
            return [f for r in _REF.findall(inner) for f in self.faces_of_item(int(r), depth + 1)]
        return []

    def faces_of_aspect(self, aspect: int, depth: int = 0) -> list[int]:
        """ADVANCED_FACE ids a shape aspect sits on, one level into composite aspects."""
        found = [f for item in self.usages.get(aspect, []) for f in self.faces_of_item(item)]
        if not found and depth < 2:
            for relating, related in self.relations:
                if relating == aspect and related not in self.letters:
                    found += self.faces_of_aspect(related, depth + 1)
        return list(dict.fromkeys(found))

    def datum_feature_faces(self) -> dict[str, list[int]]:
        """Datum letter -> ADVANCED_FACE ids of its datum feature(s) (feature --relationship--> datum)."""
        out: dict[str, list[int]] = {}
        for feature, datum in self.relations:
            if datum in self.letters and feature not in self.letters and self.keyword.get(feature) != "PLACED_DATUM_TARGET_FEATURE":
                for face in self.faces_of_aspect(feature):
                    if face not in out.setdefault(self.letters[datum], []):
                        out[self.letters[datum]].append(face)
        # Some files (NIST CTC 02's D) put the face usage on the DATUM itself, not on its feature.
        for datum, letter in self.letters.items():
            if not out.get(letter):
                faces = [f for item in self.usages.get(datum, []) for f in self.faces_of_item(item)]
                if faces:
                    out[letter] = list(dict.fromkeys(faces))
        return out

    def length_factor(self, measure: int) -> float | None:
        """Millimetres per unit of a length measure entity (inch, mm, m), None when unknown."""
        m = re.search(r"MEASURE_WITH_UNIT\s*\(.*?\)\s*,\s*#(\d+)", self.entities.get(measure, ""))
        unit = self.entities.get(int(m.group(1)), "") if m else ""
        if "'INCH'" in unit.upper():
            return INCH_MM
        m = re.search(r"SI_UNIT\s*\(\s*(\.\w+\.|\$)\s*,\s*\.METRE\.", unit)
        if m:
            return {"$": 1000.0, ".MILLI.": 1.0, ".CENTI.": 10.0}.get(m.group(1))
        return None

    def unit_basis_tolerances(self) -> list[dict]:
        """Form tolerances stated per unit length or area ('▱ .005 / .25 X .25'), which XDE drops.

        Only tolerances without datum references: their whole frame is then the
        characteristic, the value and the unit basis.
        """
        out = []
        for i, body in self.entities.items():
            if self.keyword[i] or "GEOMETRIC_TOLERANCE_WITH_DEFINED_UNIT" not in body:
                continue
            if "DATUM_REFERENCE" in body:
                continue
            kind = next((k for k in _FORM_ENTITIES if f"{k}(" in body.replace(" (", "(")), None)
            m = re.search(r"GEOMETRIC_TOLERANCE\s*\(\s*'[^']*'\s*,\s*'[^']*'\s*,\s*#(\d+)\s*,\s*#(\d+)", body)
            if kind is None or m is None:
                continue
            magnitude, aspect = int(m.group(1)), int(m.group(2))
            value = re.search(r"LENGTH_MEASURE\s*\(\s*(" + _NUM + r")\s*\)", self.entities.get(magnitude, ""))
            factor = self.length_factor(magnitude)
            if value is None or factor is None:
                continue
            area = re.search(r"GEOMETRIC_TOLERANCE_WITH_DEFINED_AREA_UNIT\s*\(\s*\.(\w+)\.", body)
            out.append(
                {
                    "characteristic": _FORM_ENTITIES[kind],
                    "step_id": i,
                    "value": float(value.group(1)) * factor,
                    "unit_basis": area.group(1).lower() if area else "length",
                    "faces": self.faces_of_aspect(aspect),
                }
            )
        return out

    # --- supplemental geometry: a frame or size tied to construction curves, not to faces ------

    def _line_or_circle(self, curve: int) -> tuple[str, Any] | None:
        """A (trimmed) CIRCLE -> ('circle', (centre, axis, radius)); a trimmed LINE -> ('line', (start, end)); file units."""
        body = self.entities.get(curve, "")
        kw = self.keyword.get(curve, "")
        if kw == "TRIMMED_CURVE":
            m = re.match(r"TRIMMED_CURVE\s*\(\s*'[^']*'\s*,\s*#(\d+)\s*,\s*\(\s*PARAMETER_VALUE\s*\(\s*(" + _NUM
                         + r")\s*\)\s*\)\s*,\s*\(\s*PARAMETER_VALUE\s*\(\s*(" + _NUM + r")\s*\)\s*\)", body)
            if m is None:
                return None
            basis = int(m.group(1))
            if self.keyword.get(basis) == "LINE":
                line = re.match(r"LINE\s*\(\s*'[^']*'\s*,\s*#(\d+)\s*,\s*#(\d+)\s*\)", self.entities[basis])
                if line is None:
                    return None
                start = self._points(int(line.group(1)))
                vector = re.match(r"VECTOR\s*\(\s*'[^']*'\s*,\s*#(\d+)\s*,\s*(" + _NUM + r")\s*\)", self.entities.get(int(line.group(2)), ""))
                if not start or vector is None:
                    return None
                d = self._points(int(vector.group(1)))
                if not d:
                    return None
                scale = float(vector.group(2))
                t0, t1 = float(m.group(2)), float(m.group(3))
                ends = [[start[0][k] + t * scale * d[0][k] for k in range(3)] for t in (t0, t1)]
                return "line", (ends[0], ends[1])
            return self._line_or_circle(basis)
        if kw == "CIRCLE":
            m = re.match(r"CIRCLE\s*\(\s*'[^']*'\s*,\s*#(\d+)\s*,\s*(" + _NUM + r")\s*\)", body)
            if m is None:
                return None
            origin, _, _, z = self._placement(int(m.group(1)))
            return "circle", (origin, z, float(m.group(2)))
        return None

    def supplemental_cylinders(self, aspect: int, scale: float = 1.0) -> list[dict]:
        """The cylinders a shape aspect names through supplemental curves (NIST's 'Thread Cylinder' curve sets), in mm.

        A frame or size on a thread names no face of the part: its aspect (or
        each member of its composite group) sits on a GEOMETRIC_CURVE_SET of a
        circle and lines along its axis, drawn in the hole. Each such set gives
        an axis (point, unit direction), a radius and the span along the axis
        its lines cover (``span``, from the point; None without lines), so the
        import can find the hole's faces on that axis.
        """
        members = [aspect] + [related for relating, related in self.relations if relating == aspect and related not in self.letters]
        out: list[dict] = []
        for member in members:
            for item in self.usages.get(member, []):
                if self.keyword.get(item) != "GEOMETRIC_CURVE_SET":
                    continue
                inner = re.search(r"\(\s*'([^']*)'\s*,\s*\(([^)]*)\)", self.entities[item])
                if inner is None:
                    continue
                curves = [c for r in _REF.findall(inner.group(2)) if (c := self._line_or_circle(int(r)))]
                circles = [c[1] for c in curves if c[0] == "circle"]
                if not circles:
                    continue
                centre, axis, radius = circles[0]
                if not radius > 0 or not any(axis):
                    continue  # a degenerate circle names no axis
                spans = []
                for kind, value in curves:
                    if kind == "line":
                        along = [sum((p[k] - centre[k]) * axis[k] for k in range(3)) for p in value]
                        spans += along
                entry = {
                    "name": step_text(inner.group(1)),
                    "step_id": item,
                    "point": [round(v * scale, 6) + 0.0 for v in centre],
                    "direction": [round(v, 9) + 0.0 for v in axis],
                    "radius": round(radius * scale, 6),
                    "span": [round(min(spans) * scale, 6), round(max(spans) * scale, 6)] if spans else None,
                }
                if entry not in out:
                    out.append(entry)
        return out

    def presentation_texts(self, item: int) -> list[str]:
        """The 'equivalent unicode string' validation texts of a PMI item's drawn presentations ('4X M12x1.75-6H').

        CAx-IF's PMI validation properties state, on each draughting callout
        (through CHARACTERIZED_ITEM_WITHIN_REPRESENTATION), the text it shows;
        the callout is the item's through DRAUGHTING_MODEL_ITEM_ASSOCIATION.
        """
        callouts = set(self.presentations.get(item, []))
        if not callouts:
            return []
        if self._validation_index is None:  # built once: callout -> its items, property -> its representations
            characterized: dict[int, list[int]] = {}
            represented: dict[int, list[int]] = {}
            for i, body in self.entities.items():
                kw = self.keyword[i]
                if kw in ("CHARACTERIZED_ITEM_WITHIN_REPRESENTATION", "PROPERTY_DEFINITION_REPRESENTATION"):
                    refs = [int(r) for r in _REF.findall(body)]
                    if len(refs) >= 2:
                        (characterized if kw.startswith("CHAR") else represented).setdefault(refs[0], []).append(refs[1] if kw.startswith("PROP") else i)
            self._validation_index = (characterized, represented)
        characterized, represented = self._validation_index
        props = {p for c in callouts for ci in characterized.get(c, []) for p in self.property_definitions.get(ci, [])}
        out = []
        for rep in (r for p in props for r in represented.get(p, [])):
            for ref in _REF.findall(self.entities.get(rep, "").split("(", 2)[-1].split(")", 1)[0]):
                m = re.match(r"DESCRIPTIVE_REPRESENTATION_ITEM\s*\(\s*'equivalent unicode string'\s*,\s*'((?:[^']|'')*)'",
                             self.entities.get(int(ref), ""), re.I)
                if m:
                    text = step_text(m.group(1).replace("\\\\w", " ").replace("\\w", " "))
                    out.append(" ".join(text.split()))
        return out

    def supplemental_sizes(self, scale: float = 1.0) -> list[dict]:
        """DIMENSIONAL_SIZE entities on supplemental cylinders only (a thread's '4X M12x1.75-6H'), which XDE drops.

        Each: its name ('diameter'), nominal value (mm), the cylinders, and the
        texts its presentation shows (the thread designation is only there).
        """
        values: dict[int, float] = {}
        for i, body in self.entities.items():
            if self.keyword[i] == "DIMENSIONAL_CHARACTERISTIC_REPRESENTATION":
                refs = [int(r) for r in _REF.findall(body)]
                if len(refs) >= 2:
                    rep = self.entities.get(refs[1], "")
                    for ref in _REF.findall(rep.split("(", 2)[-1].split(")", 1)[0]):
                        m = re.search(r"LENGTH_MEASURE\s*\(\s*(" + _NUM + r")\s*\).*REPRESENTATION_ITEM\s*\(\s*'nominal value'",
                                      self.entities.get(int(ref), ""))
                        if m:
                            values[refs[0]] = float(m.group(1)) * scale
        out = []
        for i, body in self.entities.items():
            if self.keyword[i] != "DIMENSIONAL_SIZE":
                continue
            m = re.match(r"DIMENSIONAL_SIZE\s*\(\s*#(\d+)\s*,\s*'([^']*)'", body)
            if m is None or i not in values:
                continue
            aspect = int(m.group(1))
            if self.faces_of_aspect(aspect, depth=-2):
                continue  # on faces: XDE reads it
            cylinders = self.supplemental_cylinders(aspect, scale)
            if cylinders:
                out.append({"step_id": i, "name": m.group(2), "value": values[i], "cylinders": cylinders,
                            "texts": self.presentation_texts(i)})
        return out

    # --- every geometric tolerance of the file, as the STEP entities state it ---------------

    def _measure_mm(self, measure: int) -> float | None:
        """A LENGTH_MEASURE_WITH_UNIT's value in millimetres, None when it is not one."""
        body = self.entities.get(measure, "")
        value = re.search(r"LENGTH_MEASURE\s*\(\s*(" + _NUM + r")\s*\)", body)
        factor = self.length_factor(measure)
        if value is None or factor is None:
            return None
        return float(value.group(1)) * factor

    def _zones(self) -> dict[int, dict]:
        """Tolerance id -> its zone's form and projected length (TOLERANCE_ZONE, PROJECTED_ZONE_DEFINITION)."""
        zones: dict[int, dict] = {}
        zone_of: dict[int, list[int]] = {}
        for i, body in self.entities.items():
            if self.keyword[i] != "TOLERANCE_ZONE":
                continue
            refs = [int(r) for r in _REF.findall(body)]
            form = self.entities.get(refs[-1], "") if refs else ""
            m = re.search(r"'([^']*)'", form)
            members = [int(r) for r in _REF.findall(body.split("(", 2)[-1].split(")", 1)[0])]
            zone_of[i] = members
            for t in members:
                zones.setdefault(t, {})["form"] = m.group(1) if m else ""
        for i, body in self.entities.items():
            if self.keyword[i] != "PROJECTED_ZONE_DEFINITION":
                continue
            refs = [int(r) for r in _REF.findall(body)]
            if len(refs) >= 2:
                length = self._measure_mm(refs[-1])
                for t in zone_of.get(refs[0], []):
                    zones.setdefault(t, {})["projected_length"] = length
        return zones

    def _datum_letters_of_element(self, ref: int) -> tuple[str, str]:
        """A datum or DATUM_REFERENCE_ELEMENT -> (letter, material modifier)."""
        if ref in self.letters:
            return self.letters[ref], "none"
        body = self.entities.get(ref, "")
        refs = [int(r) for r in _REF.findall(body)]
        letter = next((self.letters[r] for r in refs if r in self.letters), "")
        return letter, _material_of(body)

    def datum_system(self, system: int) -> list[dict]:
        """DATUM_SYSTEM -> [{'letter', 'position', 'material_modifier'}], as XDE gives them."""
        body = self.entities.get(system, "")
        if self.keyword.get(system) == "DATUM_SYSTEM":
            compartments = [int(r) for r in _REF.findall(body.rsplit("(", 1)[-1])]
        else:  # an older file: a DATUM_REFERENCE list straight on the tolerance
            compartments = [system]
        out = []
        for position, comp in enumerate(compartments, start=1):
            text = self.entities.get(comp, "")
            common = re.search(r"COMMON_DATUM_LIST\s*\(\s*\(([^)]*)\)", text)
            if common:
                elements = [int(r) for r in _REF.findall(common.group(1))]
            else:
                refs = [int(r) for r in _REF.findall(text)]
                elements = [r for r in refs if r in self.letters][:1]
            for element in elements:
                letter, material = self._datum_letters_of_element(element)
                out.append({"letter": letter, "position": position, "material_modifier": material or _material_of(text), "modifiers": []})
            if not common and out and out[-1]["position"] == position and out[-1]["material_modifier"] == "none":
                out[-1]["material_modifier"] = _material_of(text)
        return out

    def datum_targets(self) -> list[dict]:
        """DATUM_TARGET and PLACED_DATUM_TARGET_FEATURE entities: letter, number, shape, STEP faces."""
        owner = {feature: self.letters[datum] for feature, datum in self.relations if datum in self.letters}
        out = []
        for i, body in self.entities.items():
            if self.keyword[i] not in ("DATUM_TARGET", "PLACED_DATUM_TARGET_FEATURE"):
                continue
            m = re.search(r"\(\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*#\d+\s*,\s*\.\w\.\s*,\s*'([^']*)'\s*\)\s*$", body)
            if m is None:
                continue
            name, shape, number = m.groups()
            letter = owner.get(i) or (name if name.isalpha() and len(name) <= 2 else "")
            if not letter:
                continue
            faces = [f for item in self.usages.get(i, []) for f in self.faces_of_item(item)]
            for aspect in self.target_features.get(i, []):  # FEATURE_FOR_DATUM_TARGET_RELATIONSHIP(aspect, target)
                faces += [f for f in self.faces_of_aspect(aspect) if f not in faces]
            out.append({"letter": letter, "number": int(number) if number.isdigit() else 0, "shape": shape.lower(), "step_faces": faces,
                        "step_id": i})
        return out

    def movable_direction(self, target: int) -> list[float] | None:
        """The direction a movable datum target moves in, as the CAx-IF PMI practice states it (sec. 6.6.3).

        The target's SHAPE_REPRESENTATION_WITH_PARAMETERS (through its
        PROPERTY_DEFINITION and SHAPE_DEFINITION_REPRESENTATION) holds a
        ``DIRECTION('movable direction', ...)``; None when the file says nothing.
        """
        for prop in self.property_definitions.get(target, []):
            for rep in self.shape_representations.get(prop, []):
                body = self.entities.get(rep, "")
                inner = re.search(r"\(\s*'[^']*'\s*,\s*\(([^)]*)\)", body)
                for item in _REF.findall(inner.group(1) if inner else ""):
                    m = re.match(r"DIRECTION\s*\(\s*'movable direction'\s*,\s*\(([^)]*)\)", self.entities.get(int(item), ""), re.I)
                    if m:
                        ratios = [float(x) for x in m.group(1).split(",")]
                        length = sum(x * x for x in ratios) ** 0.5
                        if len(ratios) == 3 and length > 0:
                            return [round(x / length, 6) + 0.0 for x in ratios]
        return None

    # --- presentation (the drawn annotation) ------------------------------------------------

    def _placement(self, ref: int) -> tuple[list[float], list[float], list[float], list[float]]:
        """AXIS2_PLACEMENT_3D -> origin, x, y, z (the frame a repositioned tessellated item is drawn in)."""
        refs = [int(r) for r in _REF.findall(self.entities.get(ref, ""))]

        def triple(i: int | None, default: list[float]) -> list[float]:
            m = re.search(r"\(\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*\)", self.entities.get(i or -1, ""))
            return [float(v) for v in m.groups()] if m else default

        origin = triple(refs[0] if refs else None, [0.0, 0.0, 0.0])
        z = triple(refs[1] if len(refs) > 1 else None, [0.0, 0.0, 1.0])
        x = triple(refs[2] if len(refs) > 2 else None, [1.0, 0.0, 0.0])
        zn = sum(v * v for v in z) ** 0.5 or 1.0
        z = [v / zn for v in z]
        d = sum(a * b for a, b in zip(x, z, strict=True))
        x = [a - d * b for a, b in zip(x, z, strict=True)]
        xn = sum(v * v for v in x) ** 0.5 or 1.0
        x = [v / xn for v in x]
        y = [z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]]
        return origin, x, y, z

    def _points(self, coords: int) -> list[list[float]]:
        body = self.entities.get(coords, "")
        return [[float(v) for v in t] for t in re.findall(r"\(\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*\)", body)]

    def _curves(self, item: int, frame: Any = None, depth: int = 0) -> list[list[list[float]]]:
        """The polylines an annotation item draws (tessellated curve sets, polylines, circles), in model coordinates."""
        body = self.entities.get(item, "")
        kw = self.keyword.get(item, "")
        out: list[list[list[float]]] = []
        if depth > 5:
            return out
        repositioned = re.search(r"REPOSITIONED_TESSELLATED_ITEM\s*\(\s*#(\d+)", body)
        if repositioned:
            frame = self._placement(int(repositioned.group(1)))
        if kw == "TESSELLATED_CURVE_SET":
            m = re.match(r"TESSELLATED_CURVE_SET\s*\(\s*'[^']*'\s*,\s*#(\d+)\s*,(.*)\)\s*$", body)
            if m:
                points = self._points(int(m.group(1)))
                for line in re.findall(r"\(([\d,\s]+)\)", m.group(2)):
                    idx = [int(v) for v in line.split(",") if v.strip()]
                    out.append([points[k - 1] for k in idx if 0 < k <= len(points)])
        elif kw == "POLYLINE":
            out.append([p for r in _REF.findall(body) for p in self._points(int(r))])
        elif kw == "CIRCLE":
            m = re.match(r"CIRCLE\s*\(\s*'[^']*'\s*,\s*#(\d+)\s*,\s*(" + _NUM + r")\s*\)", body)
            if m:
                origin, x, y, _ = self._placement(int(m.group(1)))
                r = float(m.group(2))
                out.append([[origin[k] + r * (math.cos(a) * x[k] + math.sin(a) * y[k]) for k in range(3)]
                            for a in (2 * math.pi * i / 72 for i in range(73))])
        else:
            members = re.search(r"(?:TESSELLATED_GEOMETRIC_SET|GEOMETRIC_CURVE_SET|GEOMETRIC_SET)\s*\(\s*(?:'[^']*'\s*,\s*)?\(([^)]*)\)", body)
            if members:
                for ref in _REF.findall(members.group(1)):
                    out += self._curves(int(ref), None, depth + 1)
            elif kw in ("DRAUGHTING_CALLOUT",):
                for ref in _REF.findall(body):
                    out += self._curves(int(ref), None, depth + 1)
            elif "OCCURRENCE" in kw:  # an annotation occurrence: name, styles, then the item it draws
                refs = _REF.findall(re.sub(r"'[^']*'", "''", body))
                if refs:
                    out += self._curves(int(refs[-1]), None, depth + 1)
        if frame is not None and kw != "CIRCLE":
            origin, x, y, z = frame
            out = [[[origin[k] + p[0] * x[k] + p[1] * y[k] + p[2] * z[k] for k in range(3)] for p in line] for line in out]
        return out

    def presentation_polylines(self, item: int) -> list[list[list[float]]]:
        """Every polyline drawn for a PMI item (its DRAUGHTING_MODEL_ITEM_ASSOCIATION presentations), file units."""
        out: list[list[list[float]]] = []
        for shown in self.presentations.get(item, []):
            out += [line for line in self._curves(shown) if len(line) >= 2]
        return out

    def semantic_texts(self, joined: bool = False) -> dict[int, list[str]]:
        """Entity id -> its 'semantic text' notes ('4X INDIVIDUALLY'), through PROPERTY_DEFINITION and REPRESENTATION.

        ``joined``: the lines of one representation as one note ('4X R0.2' and 'MAX' are NIST FTC 10's 'R.20 MAX').
        """
        holders = {}
        for i, body in self.entities.items():
            if self.keyword[i] == "PROPERTY_DEFINITION" and "'semantic text'" in body.lower():
                refs = _REF.findall(body)
                if refs:
                    holders[i] = int(refs[-1])
        out: dict[int, list[str]] = {}
        for i, body in self.entities.items():
            if self.keyword[i] != "PROPERTY_DEFINITION_REPRESENTATION":
                continue
            refs = [int(r) for r in _REF.findall(body)]
            if len(refs) < 2 or refs[0] not in holders:
                continue
            items = [int(r) for r in _REF.findall(self.entities.get(refs[1], "").split("(", 2)[-1].split(")", 1)[0])]
            lines = []
            for item in items:
                m = re.search(r"DESCRIPTIVE_REPRESENTATION_ITEM\s*\(\s*'[^']*'\s*,\s*'([^']*)'", self.entities.get(item, ""))
                if m and m.group(1).strip():
                    lines.append(m.group(1).strip())
            if joined and lines:
                lines = ["\n".join(lines)]
            out.setdefault(holders[refs[0]], []).extend(lines)
        return out

    def standard_texts(self) -> list[str]:
        """Every descriptive text of the file that names a standard (Y14.5, ISO): the drawing's general notes
        ("ASME Y14.5M-1994 APPLIES TO DIMENSIONING AND TOLERANCING"), semantic or only presented."""
        found = []
        for i, body in self.entities.items():
            if self.keyword[i] != "DESCRIPTIVE_REPRESENTATION_ITEM":
                continue
            m = re.search(r"DESCRIPTIVE_REPRESENTATION_ITEM\s*\(\s*'[^']*'\s*,\s*'((?:[^']|'')*)'", body)
            if m and re.search(r"Y\s*14\.5|ISO", m.group(1), re.IGNORECASE):
                found.append(step_text(m.group(1)))
        return found

    def composites(self) -> dict[int, tuple[int, str]]:
        """Tolerance id -> (segment 1 upper / 2 lower, the relationship's name) for composite or stacked frames."""
        out: dict[int, tuple[int, str]] = {}
        for i, body in self.entities.items():
            if self.keyword[i] != "GEOMETRIC_TOLERANCE_RELATIONSHIP":
                continue
            m = re.search(r"\(\s*'([^']*)'.*?#(\d+)\s*,\s*#(\d+)\s*\)\s*$", body)
            if m:
                out.setdefault(int(m.group(2)), (1, m.group(1)))
                out[int(m.group(3))] = (2, m.group(1))
        return out

    def geometric_tolerances(self) -> list[dict]:
        """Every geometric tolerance entity: characteristic, value (mm), datums, zone, modifiers, faces.

        The file's own statement of each frame, so that nothing OpenCASCADE's
        reader drops (projected zones, whole-part tolerances) goes unseen, and
        the modifiers XDE does not carry (unequal-bilateral offset, all-around,
        unit basis, spherical zone) are known.
        """
        zones = self._zones()
        texts = self.semantic_texts()
        composite = self.composites()
        out = []
        for i, body in self.entities.items():
            keyword = self.keyword[i]
            simple = bool(_TOLERANCE_ENTITIES.get(keyword))  # FLATNESS_TOLERANCE('Flatness.1','',#m,#a)
            if not simple and (keyword or "GEOMETRIC_TOLERANCE(" not in body.replace(" (", "(")):
                continue
            kinds = [k for k in _TOLERANCE_ENTITIES if re.search(r"(?:^|[\s(])" + k + r"\s*\(", body)]
            characteristic = _TOLERANCE_ENTITIES[keyword] if simple else next((_TOLERANCE_ENTITIES[k] for k in kinds if _TOLERANCE_ENTITIES[k]), None)
            head = keyword if simple else "GEOMETRIC_TOLERANCE"
            m = re.search(head + r"\s*\(\s*'([^']*)'\s*,\s*(?:'[^']*'|\$)\s*,\s*#(\d+)\s*,\s*#(\d+)", body)
            if characteristic is None or m is None:
                continue
            name, magnitude, aspect = m.group(1), int(m.group(2)), int(m.group(3))
            value = self._measure_mm(magnitude)
            mods = re.search(r"GEOMETRIC_TOLERANCE_WITH_MODIFIERS\s*\(\s*\(([^)]*)\)", body)
            modifier_names = [x.strip(". ").lower() for x in mods.group(1).split(",")] if mods else []
            if simple:
                system = re.search(r"#\d+\s*,\s*#\d+\s*,\s*\(([^)]*)\)", body)
            else:
                system = re.search(r"GEOMETRIC_TOLERANCE_WITH_DATUM_REFERENCE\s*\(\s*\(([^)]*)\)", body)
            datums: list[dict] = []
            if system:
                for ref in _REF.findall(system.group(1)):
                    datums += self.datum_system(int(ref))
            unequal = re.search(r"UNEQUALLY_DISPOSED_GEOMETRIC_TOLERANCE\s*\(\s*#(\d+)", body)
            unit = re.search(r"GEOMETRIC_TOLERANCE_WITH_DEFINED_UNIT\s*\(\s*#(\d+)", body)
            area = re.search(r"GEOMETRIC_TOLERANCE_WITH_DEFINED_AREA_UNIT\s*\(\s*\.(\w+)\.\s*(?:,\s*#(\d+))?", body)
            zone = zones.get(i, {})
            form = zone.get("form", "").lower()
            aspect_kind = self.keyword.get(aspect, "")
            unit_basis = None
            if unit:
                size = [self._measure_mm(int(unit.group(1)))]
                if area and area.group(2):
                    size.append(self._measure_mm(int(area.group(2))))
                unit_basis = {"kind": area.group(1).lower() if area else "length", "size": size}
            step_faces = self.faces_of_aspect(aspect, depth=-2) if aspect_kind != "PRODUCT_DEFINITION_SHAPE" else []
            # UOS: toleranced "shape" is the whole part, or an aspect that names no geometry at all (NIST FTC 06).
            whole_part = aspect_kind == "PRODUCT_DEFINITION_SHAPE" or (
                not step_faces and aspect not in self.usages and not any(a == aspect for a, _ in self.relations)
            )
            out.append(
                {
                    "step_id": i,
                    "name": name,
                    "characteristic": characteristic,
                    "value": value,
                    "datums": datums,
                    "diameter_zone": "cylindrical" in form or "spherical" in form,
                    "spherical_zone": "spherical" in form,
                    "material_modifier": _material_of(" ".join(modifier_names).upper().replace(" ", "_") + " " + (mods.group(1) if mods else "")),
                    "modifier_names": modifier_names,
                    "projected_length": zone.get("projected_length"),
                    "unequal_offset": self._measure_mm(int(unequal.group(1))) if unequal else None,
                    "unit_basis": unit_basis,
                    "all_around": aspect_kind == "ALL_AROUND_SHAPE_ASPECT",
                    "all_over": aspect_kind == "ALL_OVER_SHAPE_ASPECT" or "ALL_OVER" in self.entities.get(aspect, "")[:40],
                    "whole_part": whole_part,
                    "notes": texts.get(aspect, []) + texts.get(i, []),
                    "composite": composite.get(i),
                    "aspect": aspect,
                    "step_faces": step_faces,
                }
            )
        return out

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
INCH_MM = 25.4
_FORM_ENTITIES = {
    "FLATNESS_TOLERANCE": "flatness",
    "STRAIGHTNESS_TOLERANCE": "straightness",
    "ROUNDNESS_TOLERANCE": "circularity",
    "CYLINDRICITY_TOLERANCE": "cylindricity",
}


# STEP tolerance entity -> our characteristic; the empty ones are the supertypes every frame carries.
_TOLERANCE_ENTITIES = {
    "GEOMETRIC_TOLERANCE": "",
    "GEOMETRIC_TOLERANCE_WITH_DATUM_REFERENCE": "",
    "GEOMETRIC_TOLERANCE_WITH_MODIFIERS": "",
    "GEOMETRIC_TOLERANCE_WITH_DEFINED_UNIT": "",
    "GEOMETRIC_TOLERANCE_WITH_DEFINED_AREA_UNIT": "",
    "UNEQUALLY_DISPOSED_GEOMETRIC_TOLERANCE": "",
    "GEOMETRIC_TOLERANCE_WITH_MAXIMUM_TOLERANCE": "",
    "FLATNESS_TOLERANCE": "flatness",
    "STRAIGHTNESS_TOLERANCE": "straightness",
    "ROUNDNESS_TOLERANCE": "circularity",
    "CYLINDRICITY_TOLERANCE": "cylindricity",
    "LINE_PROFILE_TOLERANCE": "profile_of_a_line",
    "SURFACE_PROFILE_TOLERANCE": "profile_of_a_surface",
    "ANGULARITY_TOLERANCE": "angularity",
    "PERPENDICULARITY_TOLERANCE": "perpendicularity",
    "PARALLELISM_TOLERANCE": "parallelism",
    "POSITION_TOLERANCE": "position",
    "CONCENTRICITY_TOLERANCE": "concentricity",
    "COAXIALITY_TOLERANCE": "concentricity",
    "SYMMETRY_TOLERANCE": "symmetry",
    "CIRCULAR_RUNOUT_TOLERANCE": "circular_runout",
    "TOTAL_RUNOUT_TOLERANCE": "total_runout",
}


def _material_of(text: str) -> str:
    """MMC/LMC from a STEP modifier list, 'none' without one."""
    upper = text.upper()
    if "MAXIMUM_MATERIAL_REQUIREMENT" in upper:
        return "MMC"
    if "LEAST_MATERIAL_REQUIREMENT" in upper:
        return "LMC"
    return "none"


def step_text(text: str) -> str:
    """A STEP string as text: \\X2\\2334\\X0\\ -> '⌴' (ISO 10303-21 encodings \\X2\\, \\X4\\, \\X\\, '')."""

    def wide(m: re.Match, width: int) -> str:
        hexes = m.group(1)
        return "".join(chr(int(hexes[i:i + width], 16)) for i in range(0, len(hexes), width))

    text = re.sub(r"\\X2\\((?:[0-9A-Fa-f]{4})*)\\X0\\", lambda m: wide(m, 4), text)
    text = re.sub(r"\\X4\\((?:[0-9A-Fa-f]{8})*)\\X0\\", lambda m: wide(m, 8), text)
    text = re.sub(r"\\X\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)
    return text.replace("''", "'")


def file_length_unit(text: str) -> str:
    """'inch' when the file declares an inch conversion-based unit, else 'mm' (metre-based SI)."""
    head = text[:2_000_000].upper()
    if re.search(r"CONVERSION_BASED_UNIT\s*\(\s*'INCH'", head):
        return "inch"
    return "mm"


def _entity_index(text: str) -> dict[int, int]:
    """STEP id -> 1-based position of the entity in the file (the order OpenCASCADE's model keeps)."""
    data = text.split("DATA;", 1)[-1]
    return {int(m.group(1)): n for n, m in enumerate(re.finditer(r"(?:^|;)\s*#(\d+)\s*=", data), start=1)}


# --- XDE --------------------------------------------------------------------------------------


def _ref_shapes(label: Any) -> tuple[list[Any], list[Any]]:
    from OCP.collections import Sequence_TDF_Label
    from OCP.XCAFDoc import XCAFDoc_DimTolTool, XCAFDoc_ShapeTool

    first, second = Sequence_TDF_Label(), Sequence_TDF_Label()
    XCAFDoc_DimTolTool.GetRefShapeLabel_s(label, first, second)
    return ([XCAFDoc_ShapeTool.GetShape_s(x) for x in _seq(first)], [XCAFDoc_ShapeTool.GetShape_s(x) for x in _seq(second)])


def _faces_of(shapes: list[Any], faces: _Faces) -> list[int]:
    out: list[int] = []
    for shape in shapes:
        for i in faces.indices(shape):
            if i not in out:
                out.append(i)
    return out


def _datum_ref(label: Any) -> dict:
    from OCP.XCAFDoc import XCAFDoc_Datum

    obj = XCAFDoc_Datum.Set_s(label).GetObject()  # Set finds the attribute already there
    name = obj.GetName()
    mods = [_enum_name(m, "DatumSingleModif_") for m in _seq(obj.GetModifiers())]
    return {
        "letter": name.ToCString() if name is not None else "",
        "position": int(obj.GetPosition()),
        "material_modifier": next((DATUM_MODIFIERS[m] for m in mods if m in DATUM_MODIFIERS), "none"),
        "modifiers": [m for m in mods if m not in DATUM_MODIFIERS],
        "target": bool(obj.IsDatumTarget()),
    }


TARGET_TYPES = {"Point": "point", "Line": "line", "Rectangle": "area", "Circle": "area", "Area": "area"}


def _datum_target(label: Any, letter: str) -> dict:
    """One datum target (A1, B2 ...): point, line or area, with its sizes in mm."""
    from OCP.XCAFDoc import XCAFDoc_Datum

    obj = XCAFDoc_Datum.Set_s(label).GetObject()
    shape = _enum_name(obj.GetDatumTargetType(), "DatumTargetType_")
    params = bool(obj.HasDatumTargetParams())
    length = round(float(obj.GetDatumTargetLength()), 6) if params else 0.0
    width = round(float(obj.GetDatumTargetWidth()), 6) if params else 0.0
    number = int(obj.GetDatumTargetNumber())
    point = None
    if params:
        loc = obj.GetDatumTargetAxis().Location()
        point = _vec(loc.X(), loc.Y(), loc.Z())
    return {
        "point": point,  # where the target sits (mm), None when the file gives no placement
        "letter": letter,
        "number": number,
        "label": f"{letter}{number}",
        "type": TARGET_TYPES.get(shape, shape.lower()),
        "shape": shape.lower(),  # point, line, rectangle, circle, area
        "length": length,  # line length, rectangle length, circle diameter
        "width": width,
        "movable": False,  # completed from the file (_complete_targets): XDE does not carry it
    }


def _complete_targets(targets: list[dict], stated: list[dict], graph: StepGraph, scale: float) -> None:
    """Gives each datum target what the file says of it beyond XDE: the movable direction and its drawing.

    ``movable_direction`` is the CAx-IF semantic statement (None when the file
    has none); ``presentation`` is every polyline drawn for the target (mm),
    which ``pmi_target_symbol`` reads for the movable symbol when the
    semantic PMI is silent.
    """
    ids: dict[str, list[int]] = {}
    for entry in stated:
        ids.setdefault(f"{entry['letter']}{entry['number']}", []).append(entry["step_id"])
    for target in targets:
        direction = None
        drawn: list[list[list[float]]] = []
        for step_id in ids.get(target["label"], []):
            direction = direction or graph.movable_direction(step_id)
            drawn += graph.presentation_polylines(step_id)
        target["movable_direction"] = direction
        target["movable"] = target["movable"] or direction is not None
        target["movable_source"] = "semantic" if direction is not None else None
        target["presentation"] = [[[round(v * scale, 6) for v in p] for p in line] for line in drawn]


def _same_faces(a: list[int], b: list[int]) -> bool:
    return sorted(a) == sorted(b)


def _complete_tolerances(tolerances: list[dict], stated: list[dict], step_faces: Any) -> None:
    """Joins XDE's tolerances with the file's own (``StepGraph.geometric_tolerances``).

    XDE's record gains what XDE does not carry (unequal-bilateral offset,
    spherical zone, all-around, unit basis, whole part, the entity's name);
    a tolerance XDE dropped (projected zones and whole-part tolerances in
    NIST's files) is added from the file, so every frame of the file arrives.
    """
    for entry in stated:
        entry["faces"] = step_faces(entry["step_faces"], f"tolerance {entry['name'] or entry['step_id']}")
    free = list(range(len(stated)))

    def close(a: float | None, b: float | None) -> bool:
        return a is not None and b is not None and abs(a - b) <= 1e-6 + 1e-4 * max(abs(a), abs(b))

    for tol in tolerances:
        same = [i for i in free if stated[i]["characteristic"] == tol["characteristic"] and close(stated[i]["value"], tol["value"])]
        hit = next((i for i in same if _same_faces(stated[i]["faces"], tol["faces"])), same[0] if same else None)
        if hit is None:
            continue
        free.remove(hit)
        _enrich(tol, stated[hit])
    for i in free:
        entry = stated[i]
        tol = {
            "characteristic": entry["characteristic"],
            "xcaf_type": None,
            "value": entry["value"],
            "diameter_zone": entry["diameter_zone"],
            "material_modifier": entry["material_modifier"],
            "modifiers": [TOLERANCE_MODIFIERS[m] for m in _step_modifier_names(entry) if m in TOLERANCE_MODIFIERS],
            "other_modifiers": [],
            "projected_length": None,
            "datums": entry["datums"],
            "faces": entry["faces"],
            "source": "step_entities",
        }
        if entry["projected_length"] is not None:
            tol["modifiers"].append("projected")
        _enrich(tol, entry)
        tolerances.append(tol)


def _step_modifier_names(entry: dict) -> list[str]:
    """STEP modifier names ('free_state') in XDE's spelling ('Free_State')."""
    return ["_".join(w.capitalize() for w in m.split("_")) for m in entry["modifier_names"]]


def _enrich(tol: dict, entry: dict) -> None:
    tol["step_id"] = entry["step_id"]
    tol["supplemental"] = list(entry.get("supplemental", []))
    tol["name"] = entry["name"]
    tol["spherical_zone"] = entry["spherical_zone"]
    tol["unequal_offset"] = entry["unequal_offset"]
    tol["unit_basis"] = entry["unit_basis"]
    tol["all_around"] = entry["all_around"]
    tol["all_over"] = entry["all_over"]
    tol["whole_part"] = entry["whole_part"]
    tol["notes"] = list(entry["notes"])
    if entry["composite"]:
        segment, kind = entry["composite"]
        tol["notes"].append(f"{kind or 'composite'} frame, {'upper' if segment == 1 else 'lower'} segment")
    if entry["projected_length"] is not None:
        tol["projected_length"] = entry["projected_length"]
        if "projected" not in tol["modifiers"]:
            tol["modifiers"].append("projected")
    if entry["unequal_offset"] is not None and "unequal_bilateral" not in tol["modifiers"]:
        tol["modifiers"].append("unequal_bilateral")
    if entry["unit_basis"] and not any(m.startswith("per_unit_") for m in tol["other_modifiers"]):
        tol["other_modifiers"].append(f"per_unit_{entry['unit_basis']['kind']}")
    if entry["diameter_zone"] and not tol["diameter_zone"]:
        tol["diameter_zone"] = True


def read_pmi(path: str | Path) -> dict:
    """Every datum, geometric tolerance and dimension of the STEP file, with the faces they name."""
    from OCP.collections import Sequence_TDF_Label
    from OCP.IFSelect import IFSelect_RetDone
    from OCP.STEPCAFControl import STEPCAFControl_Reader
    from OCP.STEPConstruct import STEPConstruct
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDocStd import TDocStd_Document
    from OCP.XCAFDoc import (
        XCAFDoc_Dimension,
        XCAFDoc_DimTolTool,
        XCAFDoc_DocumentTool,
        XCAFDoc_GeomTolerance,
    )

    path = Path(path)
    if not path.is_file():
        raise PmiReadError(f"no such file: {path}")
    doc = TDocStd_Document(TCollection_ExtendedString("XmlXCAF"))
    reader = STEPCAFControl_Reader()
    reader.SetGDTMode(True)
    reader.SetNameMode(True)
    if reader.ReadFile(str(path)) != IFSelect_RetDone:
        raise PmiReadError(f"OpenCASCADE cannot read {path.name} as STEP")
    if not reader.Transfer(doc):
        raise PmiReadError(f"OpenCASCADE read {path.name} but could not transfer its shapes")
    shape_tool = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    whole = shape_tool.GetOneShape()
    if whole.IsNull():
        raise PmiReadError(f"{path.name} holds no shape")
    faces = _Faces(whole)
    dimtol = XCAFDoc_DocumentTool.DimTolTool_s(doc.Main())
    warnings: list[str] = []

    # Datums: XDE keeps one datum label per use in a frame; a feature is one letter.
    datums: dict[str, dict] = {}
    labels = Sequence_TDF_Label()
    dimtol.GetDatumLabels(labels)
    targets: dict[tuple, dict] = {}
    for label in _seq(labels):
        ref = _datum_ref(label)
        if not ref["letter"]:
            continue
        first, second = _ref_shapes(label)
        entry = datums.setdefault(ref["letter"], {"letter": ref["letter"], "faces": [], "target": False, "source": "xde"})
        entry["target"] = entry["target"] or ref["target"]
        if ref["target"]:
            target = _datum_target(label, ref["letter"])
            key = (target["label"], target["type"], target["length"], target["width"])
            known = targets.setdefault(key, target | {"faces": []})
            known["faces"] += [i for i in _faces_of(first + second, faces) if i not in known["faces"]]
            continue  # a target's shape is the target's, not the datum feature's
        for i in _faces_of(first + second, faces):
            if i not in entry["faces"]:
                entry["faces"].append(i)

    text = path.read_text(encoding="latin-1", errors="replace")
    graph = StepGraph(text)
    ws = reader.Reader().WS()
    model, process = ws.Model(), ws.TransferReader().TransientProcess()
    index = _entity_index(text)

    def step_faces(step_ids: list[int], what: str) -> list[int]:
        """Our face indices for STEP ADVANCED_FACE ids, through the reader's own translation."""
        out: list[int] = []
        for step_id in step_ids:
            n = index.get(step_id)
            entity = model.Value(n) if n and n <= model.NbEntities() else None
            if entity is None or entity.DynamicType().Name() != "StepShape_AdvancedFace":
                warnings.append(f"{what}: STEP face #{step_id} not found in the model")
                continue
            shape = STEPConstruct.FindShape_s(process, entity)
            if shape.IsNull():
                warnings.append(f"{what}: STEP face #{step_id} has no translated shape")
                continue
            out += [i for i in faces.indices(shape) if i not in out]
        return out

    by_letter = graph.datum_feature_faces()
    for letter in dict.fromkeys(graph.letters.values()):  # a datum no frame references (NIST CTC 03's F)
        if letter and letter not in datums:
            datums[letter] = {"letter": letter, "faces": [], "target": False, "source": "step_entities"}
    for entry in datums.values():
        if not entry["faces"]:
            entry["faces"] = step_faces(by_letter.get(entry["letter"], []), f"datum {entry['letter']}")
            if entry["faces"]:
                entry["source"] = "step_entities"

    tolerances = []
    labels = Sequence_TDF_Label()
    dimtol.GetGeomToleranceLabels(labels)
    for label in _seq(labels):
        obj = XCAFDoc_GeomTolerance.Set_s(label).GetObject()
        xcaf_type = _enum_name(obj.GetType(), "GeomToleranceType_")
        raw_mods = [_enum_name(m, "GeomToleranceModif_") for m in _seq(obj.GetModifiers())]
        zone = _enum_name(obj.GetZoneModifier(), "GeomToleranceZoneModif_")
        modifiers = [TOLERANCE_MODIFIERS[m] for m in raw_mods if m in TOLERANCE_MODIFIERS]
        if zone == "Projected":
            modifiers.append("projected")
        elif zone == "NonUniform":
            modifiers.append("unequal_bilateral")
        refs = Sequence_TDF_Label()
        XCAFDoc_DimTolTool.GetDatumWithObjectOfTolerLabels_s(label, refs)
        datum_refs = sorted((_datum_ref(x) for x in _seq(refs)), key=lambda d: d["position"])
        for ref in datum_refs:
            ref.pop("target", None)
        first, second = _ref_shapes(label)
        material = _enum_name(obj.GetMaterialRequirementModifier(), "MatReqModif_")
        tolerances.append(
            {
                "characteristic": TOLERANCE_TYPES.get(xcaf_type, xcaf_type.lower()),
                "xcaf_type": xcaf_type,
                "value": float(obj.GetValue()),
                "diameter_zone": _enum_name(obj.GetTypeOfValue(), "TypeValue_") in ("Diameter", "SphericalDiameter"),
                "material_modifier": {"M": "MMC", "L": "LMC"}.get(material, "none"),
                "modifiers": modifiers,
                "other_modifiers": [m for m in raw_mods if m not in TOLERANCE_MODIFIERS],
                "projected_length": float(obj.GetValueOfZoneModifier()) if zone == "Projected" else None,
                "datums": datum_refs,
                "faces": _faces_of(first + second, faces),
                "source": "xde",
            }
        )

    stated = graph.geometric_tolerances()
    unit = file_length_unit(text)
    scale = INCH_MM if unit == "inch" else 1.0  # file units -> mm, for what is read from the entities
    for entry in stated:  # a frame on a thread names construction curves in the hole, not its faces (NIST CTC 04, FTC 10)
        entry["supplemental"] = [] if entry["step_faces"] else graph.supplemental_cylinders(entry["aspect"], scale)
    _complete_tolerances(tolerances, stated, step_faces)
    used = {t["aspect"] for t in stated} | {t["step_id"] for t in stated}
    used |= {a for a, b in graph.relations if b in graph.letters} | set(graph.letters)  # a datum feature's note is its letter
    loose = [(holder, step_text(t)) for holder, texts in graph.semantic_texts(joined=True).items() if holder not in used for t in texts]
    loose_notes = [t for _, t in loose]
    # Where each loose note sits (its faces, their hole axes), so the import can tell whether it is a
    # frame's note ('4X INDIVIDUALLY' on a datum feature's holes); frames and datums get their hole axes too.
    note_places = []
    for holder, note in loose:
        indices = step_faces(graph.faces_of_aspect(holder, depth=-2), f"note {note[:20]!r}")
        note_places.append({"text": note, "step_id": holder, "faces": indices, "axes": [a for i in indices if (a := faces.cylinder_axis(i))]})
    for entry in [*tolerances, *datums.values()]:
        entry["hole_axes"] = [a for i in entry["faces"] if (a := faces.cylinder_axis(i))]
    known = {t["label"] for t in targets.values()}
    stated_targets = graph.datum_targets()
    for entry in stated_targets:  # targets XDE leaves out (NIST FTC 10's DATUM_TARGET areas)
        label = f"{entry['letter']}{entry['number']}"
        if label in known:
            continue
        known.add(label)
        shape = entry["shape"]
        kind = "line" if "curve" in shape else TARGET_TYPES.get(shape.capitalize(), "area")  # a curve target is a line target
        targets[(label, shape, 0.0, 0.0)] = {
            "point": None, "letter": entry["letter"], "number": entry["number"], "label": label,
            "type": kind, "shape": shape, "length": 0.0, "width": 0.0,
            "movable": False, "faces": step_faces(entry["step_faces"], f"datum target {label}"), "source": "step_entities",
        }
        if entry["letter"] in datums:
            datums[entry["letter"]]["target"] = True
    _complete_targets(list(targets.values()), stated_targets, graph, scale)

    dimensions = []
    labels = Sequence_TDF_Label()
    dimtol.GetDimensionLabels(labels)
    for label in _seq(labels):
        obj = XCAFDoc_Dimension.Set_s(label).GetObject()
        dim_type = _enum_name(obj.GetType(), "DimensionType_")
        first, second = _ref_shapes(label)
        record: dict[str, Any] = {
            "type": dim_type,
            "value": float(obj.GetValue()),
            # XDE keeps bounds as [lower, nominal, upper]; deviations here are signed.
            "upper": float(obj.GetUpperTolValue()) if obj.IsDimWithPlusMinusTolerance() else None,
            "lower": -float(obj.GetLowerTolValue()) if obj.IsDimWithPlusMinusTolerance() else None,
            "range": [float(obj.GetLowerBound()), float(obj.GetUpperBound())] if obj.IsDimWithRange() else None,
            "angular": "Angular" in dim_type,
            "faces": _faces_of(first, faces),
            "faces2": _faces_of(second, faces),
        }
        dimensions.append(record)
    for size in graph.supplemental_sizes(scale):  # a thread's size, on supplemental curves only: XDE drops it
        dimensions.append({
            "type": "Size_Diameter" if size["name"].lower() == "diameter" else f"Size_{size['name'].capitalize()}",
            "value": size["value"], "upper": None, "lower": None, "range": None, "angular": False,
            "faces": [], "faces2": [], "supplemental": size["cylinders"], "presentation_texts": size["texts"],
            "step_id": size["step_id"], "source": "step_entities",
        })

    return {
        "reader": "OCP (OpenCASCADE XDE) STEPCAFControl_Reader, GDT mode",
        "reader_version": READER_VERSION,
        "file": str(path),
        "file_length_unit": unit,
        "values_unit": "mm (angles in degrees)",
        "datums": list(datums.values()),
        "datum_targets": list(targets.values()),
        "tolerances": tolerances,
        "dimensions": dimensions,
        "notes": loose_notes,  # semantic texts the file ties to no tolerance (NIST FTC 06's '4X INDIVIDUALLY')
        "standard_notes": graph.standard_texts(),  # the texts naming a standard, for the frames' Standard
        "note_places": note_places,  # the same notes with the hole axes of their faces
        "faces": faces.signatures,
        "model_face_count": len(faces.model_faces),
        "warnings": warnings,
    }


def _end_with_parent() -> None:
    """Linux: the kernel ends this reader when the process that started it dies (a batch worker killed at its
    deadline, a GUI closed), so no reader outlives the command. A copy of batch._die_with_parent: this script runs
    in the reader's own Python, where the package may not be importable."""
    if not sys.platform.startswith("linux"):
        return
    import os
    import signal

    try:
        import ctypes

        parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Prints the PMI of one STEP file as JSON; errors go to stderr with a non-zero exit."""
    if argv is None:
        _end_with_parent()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m freecad_spatial.spatial_tools.gdt.pmi_reader FILE.stp", file=sys.stderr)
        return 2
    try:
        import OCP  # noqa: F401
    except ImportError:
        print("the 'cadquery-ocp' bindings are not installed (pip install 'freecad-spatial[pmi]')", file=sys.stderr)
        return 3
    try:
        result = read_pmi(args[0])
    except PmiReadError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""MFCAD ground truth: which FreeCAD face carries which STEP face name, its label, and scoring.

MFCAD names every ``ADVANCED_FACE('<id>', ...)`` of a STEP file with an integer
and labels faces by that name. FreeCAD numbers faces in OpenCASCADE's
``TopExp::MapShapes`` order, which for these single-shell solids is the order
of the ``CLOSED_SHELL`` list; this module reads that list and, because an
assumption about reader internals is not evidence, also reads each face's
surface and vertices from the STEP text so ``check_mapping`` can compare every
mapped FreeCAD face with its STEP entity.

Class names: the corpus's ``classes.json`` copies ``FEAT_NAMES`` of MFCAD's
visualiser, but the label ids do not follow that list. The faces say so:
label 0 is a single 45° plane between two stock faces (a chamfer, named
``rectangular_through_slot`` there), label 14 three mutually square planes in a
corner (a rectangular blind step, named ``chamfer`` there), label 10 a floor
with four walls (a rectangular pocket, named ``rectangular_blind_slot``).
``LABEL_NAMES`` names every label by its geometry; the order matches the
MFCAD++ class list with its circular and hole classes left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ENTITY_RE = re.compile(r"#(\d+)\s*=\s*(.*?);\s*(?=#\d+\s*=|ENDSEC)", re.S)
_TOKEN_RE = re.compile(r"\s*(?:(#\d+)|('(?:[^']|'')*')|(\.[A-Z_0-9]*\.)|([-+]?[0-9.]+(?:[Ee][-+]?\d+)?)|([A-Z_][A-Z_0-9]*)|([(),$*]))")

SURFACE_KINDS = {
    "PLANE": "Plane",
    "CYLINDRICAL_SURFACE": "Cylinder",
    "CONICAL_SURFACE": "Cone",
    "SPHERICAL_SURFACE": "Sphere",
    "TOROIDAL_SURFACE": "Toroid",
}


class StepFormatError(ValueError):
    """The STEP text lacks what an MFCAD file must hold (a shell of named faces)."""


@dataclass
class StepFace:
    """One ADVANCED_FACE as written in the file."""

    name: int
    surface_type: str  # STEP entity name, e.g. PLANE
    location: tuple[float, float, float] | None = None
    axis: tuple[float, float, float] | None = None
    radius: float | None = None
    same_sense: bool = True
    vertices: list[tuple[float, float, float]] = field(default_factory=list)


def _parse_args(text: str) -> list[Any]:
    """Parses the parameter list of one entity: refs as 'int', lists as lists."""
    pos = 0
    stack: list[list] = [[]]
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise StepFormatError(f"cannot read STEP parameters near {text[pos:pos + 40]!r}")
        pos = m.end()
        ref, string, enum, number, keyword, punct = m.groups()
        if ref:
            stack[-1].append(("#", int(ref[1:])))
        elif string is not None:
            stack[-1].append(string[1:-1].replace("''", "'"))
        elif enum:
            stack[-1].append(enum)
        elif number is not None:
            stack[-1].append(float(number))
        elif keyword:
            stack[-1].append(("kw", keyword))
        elif punct == "(":
            stack.append([])
        elif punct == ")":
            done = stack.pop()
            stack[-1].append(done)
        elif punct in "$*":
            stack[-1].append(None)
    return stack[0]


def _entities(text: str) -> dict[int, tuple[str, list]]:
    data = text.split("DATA;", 1)
    if len(data) != 2:
        raise StepFormatError("no DATA section")
    entities = {}
    for number, body in _ENTITY_RE.findall(data[1]):
        m = re.match(r"\s*([A-Z_][A-Z_0-9]*)\s*\((.*)\)\s*$", body, re.S)
        if m is None:  # complex entity "( A() B() )": not needed here
            continue
        entities[int(number)] = (m.group(1), m.group(2))
    return entities


class _Reader:
    def __init__(self, text: str):
        self.raw = _entities(text)
        self.cache: dict[int, tuple[str, list]] = {}

    def get(self, ref: tuple[str, int] | int) -> tuple[str, list]:
        number = ref[1] if isinstance(ref, tuple) else ref
        if number not in self.cache:
            if number not in self.raw:
                raise StepFormatError(f"entity #{number} is missing")
            kind, body = self.raw[number]
            args = _parse_args(body)
            self.cache[number] = (kind, args)
        return self.cache[number]

    def point(self, ref) -> tuple[float, float, float]:
        kind, args = self.get(ref)
        if kind not in ("CARTESIAN_POINT", "DIRECTION"):
            raise StepFormatError(f"expected a point, got {kind}")
        x, y, z = args[1]
        return (x, y, z)

    def placement(self, ref) -> tuple[tuple, tuple]:
        kind, args = self.get(ref)
        if kind != "AXIS2_PLACEMENT_3D":
            raise StepFormatError(f"expected AXIS2_PLACEMENT_3D, got {kind}")
        axis = self.point(args[2]) if args[2] is not None else (0.0, 0.0, 1.0)
        return self.point(args[1]), axis

    def face(self, ref) -> StepFace:
        kind, args = self.get(ref)
        if kind != "ADVANCED_FACE":
            raise StepFormatError(f"a shell member is {kind}, not ADVANCED_FACE")
        name, bounds, surface_ref, same_sense = args
        if not re.fullmatch(r"\d+", str(name)):
            raise StepFormatError(f"face #{ref[1]} has the name {name!r}, not an integer id")
        surface_kind, surface_args = self.get(surface_ref)
        face = StepFace(name=int(name), surface_type=surface_kind, same_sense=same_sense == ".T.")
        if surface_kind in SURFACE_KINDS:
            face.location, face.axis = self.placement(surface_args[1])
            if surface_kind != "PLANE":
                face.radius = surface_args[2]
        for bound in bounds:
            _, bound_args = self.get(bound)
            loop_kind, loop_args = self.get(bound_args[1])
            if loop_kind == "VERTEX_LOOP":
                face.vertices.append(self._vertex(loop_args[1]))
                continue
            for oriented in loop_args[1]:
                _, oe_args = self.get(oriented)
                _, edge_args = self.get(oe_args[3])
                for vertex in edge_args[1:3]:
                    face.vertices.append(self._vertex(vertex))
        return face

    def _vertex(self, ref) -> tuple[float, float, float]:
        _, args = self.get(ref)
        return self.point(args[1])


def read_step_faces(path: str | Path) -> list[StepFace]:
    """The faces of the file's single CLOSED_SHELL, in shell order."""
    text = Path(path).read_text(encoding="latin-1")
    reader = _Reader(text)
    shells = [n for n, (kind, _) in reader.raw.items() if kind == "CLOSED_SHELL"]
    if len(shells) != 1:
        raise StepFormatError(f"{path}: expected one CLOSED_SHELL, found {len(shells)}")
    _, args = reader.get(shells[0])
    faces = [reader.face(ref) for ref in args[1]]
    names = sorted(f.name for f in faces)
    if names != list(range(len(faces))):
        raise StepFormatError(f"{path}: face names are not 0..{len(faces) - 1}")
    return faces


def face_names(path: str | Path) -> list[int]:
    """``names[k]`` is the MFCAD name of FreeCAD's ``Face{k+1}``."""
    return [f.name for f in read_step_faces(path)]


def read_labels(path: str | Path) -> list[int]:
    """The label list of a ``labels_json/<stem>.json`` file (index = face name)."""
    data = json.loads(Path(path).read_text())
    labels = data["labels"]
    if not all(isinstance(v, int) for v in labels):
        raise StepFormatError(f"{path}: labels must be integers")
    return labels


def read_classes(corpus: str | Path) -> dict[int, str]:
    data = json.loads((Path(corpus) / "classes.json").read_text())
    return {int(k): v for k, v in data.items()}


def face_labels(corpus: str | Path, stem: str) -> list[int]:
    """Labels indexed by FreeCAD face index (0-based): ``labels[k]`` is ``Face{k+1}``'s class."""
    corpus = Path(corpus)
    names = face_names(corpus / "step" / f"{stem}.step")
    labels = read_labels(corpus / "labels_json" / f"{stem}.json")
    if len(labels) != len(names):
        raise StepFormatError(f"{stem}: {len(labels)} labels for {len(names)} faces")
    return [labels[n] for n in names]


def _close(a, b, tol: float) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def _vertex_key(p, tol: float) -> tuple[int, int, int]:
    return tuple(round(c / tol) for c in p)


def face_matches(face: Any, step: StepFace, tol: float = 1e-5) -> list[str]:
    """Why a FreeCAD face is not the STEP face (empty when it is)."""
    problems = []
    kind = type(face.Surface).__name__
    expected = SURFACE_KINDS.get(step.surface_type)
    if expected is not None and kind != expected:
        return [f"surface {kind}, STEP says {step.surface_type}"]
    if expected is not None:
        axis = face.Surface.Axis
        cross = axis.cross(_vec(step.axis))
        if cross.Length > tol:
            problems.append(f"axis {tuple(axis)} vs STEP {step.axis}")
        if kind == "Plane":
            offset = (_vec(step.location) - face.Surface.Position).dot(axis)
            if abs(offset) > tol:
                problems.append(f"STEP plane lies {offset:g} mm off the face plane")
        elif step.radius is not None and abs(face.Surface.Radius - step.radius) > tol:
            problems.append(f"radius {face.Surface.Radius} vs STEP {step.radius}")
    ours = sorted({_vertex_key(v.Point, 10 * tol) for v in face.Vertexes})
    theirs = sorted({_vertex_key(p, 10 * tol) for p in step.vertices})
    if ours != theirs:
        # rounding can split a point across a cell border: compare with a tolerance
        unmatched = [p for p in step.vertices if not any(_close(p, v.Point, 10 * tol) for v in face.Vertexes)]
        extra = [v for v in face.Vertexes if not any(_close(p, v.Point, 10 * tol) for p in step.vertices)]
        if unmatched or extra:
            problems.append(f"vertices differ ({len(unmatched)} STEP vertices unmatched, {len(extra)} extra)")
    return problems


def _vec(t):
    import FreeCAD

    return FreeCAD.Vector(*t)


def _centroid(points) -> tuple[float, float, float]:
    unique = {_vertex_key(p, 1e-6): p for p in points}.values()
    return tuple(sum(p[i] for p in unique) / max(len(unique), 1) for i in range(3))


def check_mapping(shape: Any, step_faces: list[StepFace], tol: float = 1e-5) -> list[str]:
    """Problems with the claim "Face{k+1} is STEP face step_faces[k]"; empty when proven.

    Each FreeCAD face must match its STEP face (surface type, plane or axis,
    radius, vertex set) and no other STEP face, so the mapping is the only
    geometric one.
    """
    faces = shape.Faces
    if len(faces) != len(step_faces):
        return [f"{len(faces)} FreeCAD faces, {len(step_faces)} STEP faces"]
    problems = []
    # cheap filter for the uniqueness check: faces with one vertex set share its centroid
    centroids = [_centroid(s.vertices) for s in step_faces]
    for k, (face, step) in enumerate(zip(faces, step_faces, strict=True)):
        why = face_matches(face, step, tol)
        if why:
            problems.append(f"Face{k + 1} (STEP '{step.name}'): " + "; ".join(why))
            continue
        others = [
            s.name
            for j, s in enumerate(step_faces)
            if j != k and _close(centroids[j], centroids[k], 100 * tol) and not face_matches(face, s, tol)
        ]
        if others:
            problems.append(f"Face{k + 1} also matches STEP faces {others}")
    return problems


# Label id -> what the labelled faces are (see the module docstring).
LABEL_NAMES = {
    0: "chamfer",
    1: "triangular_passage",
    2: "rectangular_passage",
    3: "6sides_passage",
    4: "triangular_through_slot",
    5: "rectangular_through_slot",
    6: "rectangular_through_step",
    7: "2sides_through_step",
    8: "slanted_through_step",
    9: "triangular_pocket",
    10: "rectangular_pocket",
    11: "6sides_pocket",
    12: "rectangular_blind_slot",
    13: "triangular_blind_step",
    14: "rectangular_blind_step",
    15: "stock",
}
STOCK = 15
UNRECOGNISED = -1

# Profiles of pockets and passages; intersecting pockets of one shape merge into a compound.
_POCKETS = {"triangular": 9, "triangular_compound": 9, "rectangular": 10, "rectilinear": 10, "hexagonal": 11, "hexagonal_compound": 11}
_PASSAGES = {"triangular": 1, "triangular_compound": 1, "rectangular": 2, "rectilinear": 2, "hexagonal": 3, "hexagonal_compound": 3}


def mfcad_class(feature: dict) -> int:
    """The MFCAD label of a ``find_features`` record, or ``UNRECOGNISED`` when none fits."""
    kind, profile, through = feature["kind"], feature.get("profile"), feature.get("through")
    if kind == "chamfer":
        return 0
    if kind == "pocket":
        return (_PASSAGES if through else _POCKETS).get(profile, UNRECOGNISED)
    if kind == "slot":
        if profile == "v":
            return 4
        if profile == "rectangular":
            return 5 if through else 12
    if kind == "step":
        if through:
            return {"straight": 6, "two_sided": 7, "slanted": 8}.get(profile, UNRECOGNISED)
        return {"triangular": 13, "rectangular": 14}.get(profile, UNRECOGNISED)
    return UNRECOGNISED


def predict(features: list[dict], face_count: int) -> list[int]:
    """Per-face MFCAD labels (index = FreeCAD face index) from feature records."""
    labels = [STOCK] * face_count
    for feature in features:
        label = mfcad_class(feature)
        for ref in feature["faces"]:
            labels[int(ref.rsplit("Face", 1)[1]) - 1] = label
    return labels


def stems(corpus: str | Path) -> list[str]:
    return sorted(p.stem for p in (Path(corpus) / "step").glob("*.step"))


def score(corpus: str | Path, find_features) -> dict:
    """Face-level precision, recall and F1 per label over every file of the corpus.

    ``find_features(path) -> (features, face_count, seconds)`` runs the
    recogniser on one file; ``seconds`` is the recognition time alone.
    """
    counts = {c: {"tp": 0, "fp": 0, "fn": 0, "support": 0} for c in LABEL_NAMES}
    timings = []
    errors = []
    for stem in stems(corpus):
        truth = face_labels(corpus, stem)
        features, face_count, seconds = find_features(Path(corpus) / "step" / f"{stem}.step")
        timings.append(seconds)
        if face_count != len(truth):
            raise StepFormatError(f"{stem}: {face_count} faces recognised, {len(truth)} labelled")
        guess = predict(features, face_count)
        for k, (t, g) in enumerate(zip(truth, guess, strict=True)):
            counts[t]["support"] += 1
            if t == g:
                counts[t]["tp"] += 1
                continue
            counts[t]["fn"] += 1
            if g in counts:
                counts[g]["fp"] += 1
            errors.append({"file": stem, "face": f"Face{k + 1}", "label": t, "predicted": g})
    classes = {}
    for c, n in counts.items():
        precision = n["tp"] / (n["tp"] + n["fp"]) if n["tp"] + n["fp"] else 0.0
        recall = n["tp"] / (n["tp"] + n["fn"]) if n["tp"] + n["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        classes[c] = dict(n, name=LABEL_NAMES[c], precision=precision, recall=recall, f1=f1)
    return {
        "files": len(timings),
        "faces": sum(n["support"] for n in counts.values()),
        "classes": classes,
        "errors": errors,
        "seconds_per_part": {"max": max(timings, default=0.0), "mean": sum(timings) / max(len(timings), 1)},
    }


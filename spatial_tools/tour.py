"""The ``tour`` sub-command: what the encoder and the measurement tools say about some parts.

``freecad-spatial tour FILE...`` opens each file, summarises the encoding the
model would see, and walks the measurement tools over every part: mass
properties, hole patterns with their centre distances, other features, wall
thicknesses and the angle between the main faces. Every number comes from a
registry tool call (the same calls the assistant makes), printed as text a
person reads; a tool that fails or is missing says so on its line and the tour
goes on.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .context import ToolContext
from .documents import close_document, open_document
from .errors import ToolError
from .refs import resolve

EXIT_OK, EXIT_USAGE = 0, 2
# Containers and datum objects whose shape is not a part of its own.
CONTAINER_TYPES = ("App::Part", "App::DocumentObjectGroup", "App::Origin", "App::Line", "App::Plane")
# Numbers a feature may carry, in the order they are shown.
FEATURE_MEASURES = (("diameter", "Ø{:.3f}"), ("radius", "R{:.3f}"), ("width", "{:.3f} wide"), ("length", "{:.3f} long"), ("depth", "{:.3f} deep"))
MAX_PAIRS = 6  # parts checked for interference pairwise, at most this many pairs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "A tour of the encoder and the measurement tools on some parts (e.g. resources/samples/*)."
    parser.add_argument("files", nargs="+", metavar="FILE", help="FCStd, STEP or BREP files")


def run(args: argparse.Namespace) -> int:
    from .registry import load_builtin_tools

    registry = load_builtin_tools()
    status = EXIT_OK
    printed = False
    for name in args.files:
        path = Path(name)
        try:
            document = open_document(path)
        except ToolError as exc:  # the reason names the file; the other files still get their tour
            print(f"freecad-spatial: {exc.message}", file=sys.stderr, flush=True)
            status = EXIT_USAGE
            continue
        try:
            lines = tour_document(document, path.name, registry.call)
        finally:
            close_document(document)
        print(("\n" if printed else "") + "\n".join(lines), flush=True)
        printed = True
    return status


class Caller:
    """Calls registry tools on one document and keeps the failures for the printout."""

    def __init__(self, call: Callable[[str, dict, Any], dict], document: Any):
        self._call = call
        self.context = ToolContext(document=document)

    def __call__(self, name: str, **arguments: Any) -> tuple[dict | None, str | None]:
        envelope = self._call(name, arguments, self.context)
        if envelope.get("ok"):
            return envelope["result"], None
        error = envelope.get("error", {})
        return None, f"{name}: {error.get('message', 'failed')} ({error.get('code', 'error')})"


def tour_document(document: Any, title: str, call: Callable[[str, dict, Any], dict]) -> list[str]:
    """The tour of one open document as printable lines."""
    tools = Caller(call, document)
    lines = [title, f"  encoding: {encoding_summary(document)}"]
    found = parts(document)
    if not found:
        lines.append("  no solid parts")
        return lines
    for obj in found:
        lines += tour_part(tools, document, obj)
    if len(found) > 1:
        lines += interference_lines(tools, found)
    return lines


def encoding_summary(document: Any) -> str:
    """What the model would see of the document: objects and tokens, from the scene encoder."""
    from .encoder import dumps, encode
    from .tokens import estimate_tokens

    try:
        encoding = encode(document)
    except ToolError as exc:
        return f"the encoder failed: {exc.message}"
    except Exception as exc:  # a crash in one part of the tour is reported there; the rest goes on
        return f"the encoder failed: {type(exc).__name__}: {exc}"
    text = dumps(encoding)
    objects = encoding.get("document", {}).get("objects")
    shown = f"{objects} object{'' if objects == 1 else 's'}, " if isinstance(objects, int) else ""
    return f"{shown}{len(text):,} characters of JSON, about {estimate_tokens(text):,} tokens"


def parts(document: Any) -> list[Any]:
    """Objects whose solid is what the user sees: not consumed by another feature, not datum or container.

    A PartDesign Body stands for its features (its shape is its tip's).
    """
    found = []
    for obj in document.Objects:
        if any(obj.isDerivedFrom(t) for t in CONTAINER_TYPES) or not hasattr(obj, "Shape"):
            continue
        consumers = [p for p in obj.InList if not any(p.isDerivedFrom(t) for t in CONTAINER_TYPES)]
        if consumers or obj.Shape.isNull() or not obj.Shape.Solids:
            continue
        found.append(obj)
    return found


def _mm(value: float) -> str:
    return f"{value:.3f}"


def tour_part(tools: Caller, document: Any, obj: Any) -> list[str]:
    name = obj.Name
    label = f" ({obj.Label})" if obj.Label != name else ""
    lines = []
    mass, error = tools("mass_properties", object=name)
    if mass:
        size = " × ".join(_mm(v) for v in mass["bbox"]["size"])
        lines.append(f"  {name}{label}: volume {_mm(mass['volume'])} mm³, area {_mm(mass['area'])} mm², bbox {size} mm")
    else:
        lines.append(f"  {name}{label}: {error}")
    lines += feature_lines(tools, document, name)
    lines += wall_lines(tools, document, obj)
    lines += angle_lines(tools, obj)
    return lines


def _face_ref(obj_name: str, face: str) -> str:
    return face if "." in face else f"{obj_name}.{face}"


def _hole_face(document: Any, obj_name: str, feature: dict) -> str | None:
    """The hole's cylindrical wall, the face measure_distance takes a centre from."""
    for face in feature.get("faces", []):
        ref = _face_ref(obj_name, face)
        try:
            if type(resolve(document, ref).shape.Surface).__name__ == "Cylinder":
                return ref
        except ToolError:
            continue
    return None


def feature_lines(tools: Caller, document: Any, name: str) -> list[str]:
    result, error = tools("find_features", object=name)
    if result is None:
        return [f"    features: {error}"]
    features = result.get("features", [])
    holes = [f for f in features if f.get("kind") == "hole"]
    lines = hole_lines(tools, document, name, holes)
    for kind in sorted({f.get("kind", "?") for f in features} - {"hole"}):
        of_kind = [f for f in features if f.get("kind") == kind]
        sizes = Counter(_measures(f) for f in of_kind)
        # "fillets: R3.000, 80.000 long; 2 × R5.000, 8.000 long"
        detail = "; ".join((f"{n} × " if n > 1 else "") + (m or "no size") for m, n in sorted(sizes.items()))
        lines.append(f"    {kind}{'s' if len(of_kind) > 1 else ''}: {detail}")
    if not features:
        lines.append("    features: none recognised")
    return lines


def _measures(feature: dict) -> str:
    shown = [fmt.format(feature[key]) for key, fmt in FEATURE_MEASURES if isinstance(feature.get(key), (int, float))]
    return ", ".join(shown)


def hole_lines(tools: Caller, document: Any, name: str, holes: list[dict]) -> list[str]:
    """Holes grouped by size and kind; each group's nearest centre distance, measured."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for hole in holes:
        depth = None if hole.get("through") else round(float(hole.get("depth", 0.0)), 3)
        groups[(round(float(hole.get("diameter", 0.0)), 3), bool(hole.get("through")), depth, hole.get("bottom"))].append(hole)
    lines = []
    for (diameter, through, depth, bottom), members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0][0])):
        count = len(members)
        text = f"{count} hole{'s' if count > 1 else ''} Ø{_mm(diameter)}"
        if through:
            text += " through"
        else:
            text += f" blind, {_mm(depth or 0.0)} deep" + (f", {bottom} bottom" if bottom else "")
        if count > 1:
            text += "; " + pitch_text(tools, document, name, members)
        lines.append(f"    {text}")
    return lines


def pitch_text(tools: Caller, document: Any, name: str, holes: list[dict]) -> str:
    """The nearest centre distance in a group of holes (axis to axis when they are parallel)."""
    faces = [_hole_face(document, name, h) for h in holes]
    faces = [f for f in faces if f]
    best: tuple[float, str, str] | None = None
    for a, b in itertools.combinations(faces, 2):
        result, error = tools("measure_distance", a=a, b=b)
        if result is None:
            return f"centre distance: {error}"
        value = result.get("axis_distance") if result.get("axes_parallel") else result.get("center_distance")
        if value is not None and (best is None or value < best[0]):
            best = (value, a, b)
    if best is None:
        return "centre distance: not measurable"
    return f"centre distance {_mm(best[0])} mm ({best[1]} ↔ {best[2]})"


def _planar_faces(obj: Any) -> list[tuple[str, Any]]:
    return [(f"{obj.Name}.Face{i}", f) for i, f in enumerate(obj.Shape.Faces, 1) if type(f.Surface).__name__ == "Plane"]


def wall_lines(tools: Caller, document: Any, obj: Any) -> list[str]:
    """Thickness through every planar face: the thinnest, and the distinct values."""
    measured: list[tuple[float, str]] = []
    failures = []
    for ref, _ in _planar_faces(obj):
        result, error = tools("measure_thickness", at=ref)
        if result is not None:
            measured.append((result["thickness"], ref))
        elif "not_applicable" not in (error or ""):
            failures.append(error)
    if failures and not measured:
        return [f"    walls: {failures[0]}"]
    if not measured:
        return ["    walls: no planar face to measure from"]
    thinnest, where = min(measured)
    values = Counter(_mm(t) for t, _ in measured)
    spread = ", ".join(f"{v} ×{n}" if n > 1 else v for v, n in sorted(values.items(), key=lambda kv: float(kv[0])))
    return [f"    wall thickness {_mm(thinnest)} mm at {where} (thinnest); through each planar face: {spread} mm"]


def angle_lines(tools: Caller, obj: Any) -> list[str]:
    """The angle between the two largest planar faces that are not parallel."""
    faces = sorted(_planar_faces(obj), key=lambda rf: -rf[1].Area)
    for (ref_a, a), (ref_b, b) in itertools.combinations(faces, 2):
        if a.normalAt(0, 0).cross(b.normalAt(0, 0)).Length < 1e-6:
            continue
        result, error = tools("measure_angle", a=ref_a, b=ref_b)
        if result is None:
            return [f"    angle: {error}"]
        return [f"    angle {result['angle_deg']:.3f}° between {ref_a} and {ref_b} (the largest non-parallel planar faces)"]
    return []


def interference_lines(tools: Caller, found: list[Any]) -> list[str]:
    lines = []
    for a, b in itertools.islice(itertools.combinations(found, 2), MAX_PAIRS):
        result, error = tools("check_interference", a=a.Name, b=b.Name)
        if result is None:
            lines.append(f"  {a.Name} / {b.Name}: {error}")
        elif result.get("interferes"):
            lines.append(f"  {a.Name} / {b.Name}: interfere, {_mm(result.get('volume', 0.0))} mm³ shared")
        else:
            lines.append(f"  {a.Name} / {b.Name}: clear by {_mm(result.get('min_clearance', 0.0))} mm")
    return lines

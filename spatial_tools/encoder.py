"""The scene encoder: a FreeCAD document (and the selection) as the canonical JSON the model sees.

One node per document object, nested the way FreeCAD's tree nests them (Body ->
features in order with the Tip marked, App::Part, groups). A node carries what
defines the object and nothing a model cannot use: name, label (when it differs
from the name), TypeId (a Body's features by short type: ``Pad``, ``Sketch``), state and error, visibility (``"visible": false`` only;
features of a Body show through the Body's Tip, so theirs is left out), then

- ``placement`` (position, axis, angle in degrees; absent when identity),
  ``attachment`` (support refs, map mode unless it is the type's usual one, offset), ``link`` (what an App::Link shows)
  and the parameters: user-visible properties that differ from a new object's value,
  plus the key parameters of resources/encoder.toml even at their default, less
  those its ``[relevant]`` table says mean nothing in the object's state;
  each under its property name in the node itself (``"Length": 5``; FreeCAD's property
  names are capitalised, the encoder's own keys lower-case; a lower-case property added
  by a user goes under ``params``); lengths and angles as plain numbers in the header's
  ``units`` (mm, deg) like every coordinate beside them, other quantities with their unit
  (``"5 kPa"``);
- ``sketch``: full circles by radius with their centres in global mm (hole positions
  and spacing without a tool call), points in global mm, counts of the other geometry,
  named constraints with type and value, the values of unnamed driving dimensions
  (geometric constraints are left out), ``fully_constrained`` when it is;
- ``expressions`` (property -> expression) and ``spreadsheet`` aliases with values;
- ``shape``: volume mm³, area mm², global bbox mm, solids, faces by surface type,
  BRepCheck validity — for Bodies and objects outside a Body (a feature's own
  shape comes through query_feature_tree or the selection); for a shape with
  more than ``summary_max_body_features`` PartDesign features in its history,
  ``not_measured`` and the mass_properties call (``get``) that measures it.

The overview (``encode``, what the model gets with every request) is compact: a Body's
profile sketch consumed whole by one Pad, Pocket, Hole, Revolution or Groove (resources/
encoder.toml ``[fold]``) shows inside that feature as ``profile`` — its name, ``on``
(attachment support), ``offset`` (left out when it is a shift the global circle centres and
points already carry), then its sketch keys — instead of as a node of its own
with a ``Profile`` parameter pointing at it; and a Body feature whose name is its short
type and a number (``Pad001``) has no ``type``. ``subtree`` (query_feature_tree) keeps one
node per object, every one with its type: the full detail, on request.

Determinism: fixed key order, every number rounded to 6 significant digits, no
document name, file path, time or memory address. ``encode_json`` is compact JSON.
With ``budget_tokens`` the encoder returns the most useful part that fits (see
encoder_budget.py) and lists what it left out in ``omitted``.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import encoder_shapes
from . import encoder_values as ev
from .errors import BadArguments, BadReference, ToolError

SCHEMA = "freecad-spatial/scene@1"
UNITS = ev.UNITS
# The detail parts of a node, in the order their keys appear; budget mode drops them one by one.
PARTS = ("parameters", "constraints", "expressions", "aliases", "shape")
# "Touched" (needs a recompute) is counted once for the document instead: FreeCAD 1.x marks every
# feature of a file saved by 0.20 touched on opening, which would repeat it on every node.
_STATES = {"Invalid": "invalid", "Error": "error", "PartialObject": "partial"}
_ORIGIN_TYPES = {"App::Line", "App::Plane", "App::Point"}


@dataclass
class Node:
    """One document object in the tree, with its encoded core and detail parts."""

    obj: Any
    path: str
    parent: Node | None
    in_body: bool
    depth: int
    children: list[Node] = field(default_factory=list)
    profile: Node | None = None  # the sketch folded into this feature (fold_profiles)
    core: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)  # part name -> keys merged into the node
    selected: bool = False

    @property
    def prominent(self) -> bool:
        """Visible, not suppressed (a Body's features count as visible with their Body)."""
        return "visible" not in self.core and not self.core.get("suppressed")


@dataclass
class Scene:
    document: Any
    roots: list[Node]
    nodes: list[Node]  # depth-first, tree order
    selection: list[dict]

    def node(self, name: str) -> Node | None:
        for n in self.nodes:
            if n.obj.Name == name:
                return n
        return None


# --- tree ---------------------------------------------------------------------------------------


def _is_origin(obj: Any) -> bool:
    if obj.TypeId == "App::Origin":
        return True
    return obj.TypeId in _ORIGIN_TYPES and any(p.TypeId == "App::Origin" for p in obj.InList)


def _children(obj: Any) -> list | None:
    """The objects FreeCAD's tree shows under ``obj``, in order; None when it is no container."""
    if "Group" in obj.PropertiesList and obj.getTypeIdOfProperty("Group") == "App::PropertyLinkList":
        return [c for c in obj.Group if c is not None]
    if "ElementList" in obj.PropertiesList:  # App::LinkGroup members, the elements of a link array
        return [c for c in obj.ElementList if c is not None]
    return None


def _build_tree(document: Any) -> tuple[list[Node], list[Node]]:
    objects = [o for o in document.Objects if not _is_origin(o)]
    names = {o.Name for o in objects}
    children_of: dict[str, list] = {}
    contained: set[str] = set()
    for o in objects:
        kids = _children(o)
        if kids is not None:
            kids = [k for k in kids if k.Name in names]
            children_of[o.Name] = kids
            contained.update(k.Name for k in kids)
    nodes: list[Node] = []
    placed: set[str] = set()

    def build(obj: Any, parent: Node | None) -> Node:
        path = obj.Name if parent is None else f"{parent.path}.{obj.Name}"
        in_body = parent is not None and parent.obj.TypeId == "PartDesign::Body"
        node = Node(obj=obj, path=path, parent=parent, in_body=in_body, depth=0 if parent is None else parent.depth + 1)
        placed.add(obj.Name)
        nodes.append(node)
        for kid in children_of.get(obj.Name, []):
            if kid.Name not in placed:  # an object shows once, under its first container
                node.children.append(build(kid, node))
        return node

    roots = [build(o, None) for o in objects if o.Name not in contained and o.Name not in placed]
    # Objects only reachable through a container cycle still appear, at the top.
    roots += [build(o, None) for o in objects if o.Name not in placed]
    return roots, nodes


def _profile_sketch(node: Node, siblings: dict[str, Node]) -> Node | None:
    """The sibling sketch that only ``node`` consumes, whole, as its Profile; else None."""
    obj = node.obj
    if obj.TypeId not in ev.config()["fold"]["types"] or "Profile" not in obj.PropertiesList:
        return None
    try:
        link = obj.Profile
    except Exception:  # no readable Profile: nothing to fold
        return None
    target, subs = link if isinstance(link, tuple) and len(link) == 2 else (link, [])
    if target is None or target.TypeId != "Sketcher::SketchObject" or [s for s in (subs or []) if s]:
        return None
    sketch = siblings.get(target.Name)
    if sketch is None or sketch.children or sketch.profile is not None:
        return None
    users = {o.Name for o in target.InList} - {obj.Name, node.parent.obj.Name}
    return None if users else sketch


def fold_profiles(roots: list[Node]) -> None:
    """Moves each Body's profile sketches into the one feature that consumes them (``profile``).

    A Pad, Pocket, Hole... and its sketch are one design step: shown once, the sketch's
    name, plane and geometry inside the feature, the tree costs a node, a type and a
    Profile reference less per feature. Only a sketch that nothing else uses is folded,
    and its own path (``Body.Sketch003``) still resolves for query_feature_tree."""
    stack = list(roots)
    while stack:
        parent = stack.pop()
        stack += parent.children
        if parent.obj.TypeId != "PartDesign::Body":
            continue
        siblings = {c.obj.Name: c for c in parent.children}
        folded: set[str] = set()
        for child in parent.children:
            sketch = _profile_sketch(child, siblings)
            if sketch is None or sketch.obj.Name in folded:
                continue
            child.profile = sketch
            sketch.parent, sketch.depth = child, child.depth + 1
            folded.add(sketch.obj.Name)
        parent.children = [c for c in parent.children if c.obj.Name not in folded]


# --- node details -------------------------------------------------------------------------------


def _text(message: str) -> str:
    return " ".join(str(message).split())


def _core(node: Node, compact: bool = False) -> dict:
    obj = node.obj
    core: dict = {"name": obj.Name}
    if obj.Label != obj.Name:
        core["label"] = obj.Label
    if node.in_body:
        short = _short_type(obj.TypeId)
        if not (compact and _named_by_type(obj.Name, short)):
            core["type"] = short
    else:
        core["type"] = obj.TypeId
    parent = node.parent
    if parent is not None and parent.obj.TypeId == "PartDesign::Body":
        tip = parent.obj.Tip
        if tip is not None and tip.Name == obj.Name:
            core["tip"] = True
    if not node.in_body and not getattr(obj, "Visibility", True):
        core["visible"] = False
    if getattr(obj, "Suppressed", False) is True:
        core["suppressed"] = True
    state = [_STATES[s] for s in obj.State if s in _STATES]
    if state:
        core["state"] = state
    if not obj.isValid():
        core["error"] = _text(obj.getStatusString())
    return core


def _named_by_type(name: str, short_type: str) -> bool:
    """True when a Body feature's name is its short type and a number (``Pad001``), as FreeCAD
    names them: the name says the type, so the node leaves ``type`` out (a Pad named
    ``Plate`` or ``Pocket002`` still shows it)."""
    rest = name[len(short_type):]
    return name.startswith(short_type) and (rest == "" or (rest.isascii() and rest.isdigit()))


def _short_type(type_id: str) -> str:
    """A Body's features by their short type (``Pad``, ``Sketch``): inside a PartDesign Body the
    namespace says nothing (resources/encoder.toml ``[short_types]``)."""
    table = ev.config().get("short_types", {})
    if type_id in table.get("names", {}):
        return table["names"][type_id]
    for prefix in table.get("prefixes", []):
        if type_id.startswith(prefix):
            return type_id[len(prefix):]
    return type_id


_defaults_cache: dict[str, dict] = {}


def _load_defaults(type_ids: set[str]) -> None:
    """Encoded property values of a new object of each type, made once in a hidden scratch document."""
    import FreeCAD

    missing = sorted(t for t in type_ids if t not in _defaults_cache)
    if not missing:
        return
    active = FreeCAD.ActiveDocument
    scratch = FreeCAD.newDocument("SpatialEncoderDefaults", hidden=True, temp=True)
    try:
        for type_id in missing:
            try:
                obj = scratch.addObject(type_id, "Probe")
            except Exception:  # abstract or unknown types: every visible property counts
                _defaults_cache[type_id] = {}
                continue
            defaults = {}
            for p in obj.PropertiesList:
                try:
                    defaults[p] = ev.value(getattr(obj, p), obj.getTypeIdOfProperty(p))
                except Exception:  # a property that cannot be read has no default to compare
                    continue
            _defaults_cache[type_id] = defaults
    finally:
        kept = _gui_selection(FreeCAD)
        FreeCAD.closeDocument(scratch.Name)  # FreeCAD's GUI clears every selection when a document closes
        if active is not None and active.Name in FreeCAD.listDocuments():
            FreeCAD.setActiveDocument(active.Name)
        _restore_gui_selection(FreeCAD, kept)


def _gui_selection(freecad: Any) -> list[tuple[str, str, str, tuple | None]]:
    """The GUI selection of every document as (document, object, subname, picked point), unresolved.

    Only when FreeCAD's GUI is up, and without importing FreeCADGui (this core
    never imports it): the module is taken from ``sys.modules``, where the GUI
    has put it."""
    import sys

    gui = sys.modules.get("FreeCADGui")
    if gui is None or not getattr(freecad, "GuiUp", False):
        return []
    kept = []
    for sel in gui.Selection.getSelectionEx("*", 0):
        names = list(sel.SubElementNames) or [""]
        points = list(sel.PickedPoints or [])
        for i, name in enumerate(names):
            point = points[i] if i < len(points) and name else None
            kept.append((sel.DocumentName, sel.ObjectName, name, tuple(point) if point is not None else None))
    return kept


def _restore_gui_selection(freecad: Any, kept: list[tuple[str, str, str, tuple | None]]) -> None:
    import sys

    gui = sys.modules.get("FreeCADGui")
    if not kept or gui is None:
        return
    documents = freecad.listDocuments()
    for doc_name, obj_name, sub, point in kept:
        doc = documents.get(doc_name)
        if doc is None or doc.getObject(obj_name) is None:
            continue
        if point is not None:
            gui.Selection.addSelection(doc_name, obj_name, sub, *point)
        else:
            gui.Selection.addSelection(doc_name, obj_name, sub)


_candidates: dict[tuple, list[tuple[str, str]]] = {}


def _candidate_properties(obj: Any) -> list[tuple[str, str]]:
    """(name, property TypeId) of the properties that may be parameters: not skipped by name or
    type. Remembered per TypeId and property list; it is about half the cost of a node."""
    names = obj.PropertiesList
    key = (obj.TypeId, tuple(names))
    found = _candidates.get(key)
    if found is None:
        skip = ev.config()["skip"]
        found = []
        for p in names:
            if p in skip["names"] or p[0] == "_":
                continue
            type_id = obj.getTypeIdOfProperty(p)
            if type_id not in skip["types"]:
                found.append((p, type_id))
        _candidates[key] = found
    return found


def _params(obj: Any) -> dict:
    keys = ev.config()["key_parameters"].get(obj.TypeId, [])
    defaults = {**_defaults_cache.get(obj.TypeId, {}), **ev.config()["fixed_defaults"]}
    found: dict = {}
    for p, type_id in _candidate_properties(obj):
        mode = obj.getEditorMode(p)
        if mode and ("Hidden" in mode or "ReadOnly" in mode):
            continue
        try:
            raw = getattr(obj, p)
        except Exception as exc:  # shown, not dropped: the model should know it is unreadable
            found[p] = f"<unreadable: {type(exc).__name__}>"
            continue
        value = ev.value(raw, type_id)
        if value is None and raw is not None:
            continue  # no faithful JSON form (e.g. a Python object)
        if p in keys and (not (value is False or value is None) or defaults.get(p, value) != value):
            found[p] = value  # key parameters show even at their default, but for an unset flag
        elif p in defaults:
            if defaults[p] != value:
                found[p] = value
        elif value not in (None, "", [], {}):
            found[p] = value
    for p in [p for p in found if not _relevant(obj, p)]:
        del found[p]
    ordered = {k: found[k] for k in keys if k in found}
    ordered.update((k, found[k]) for k in sorted(found) if k not in ordered)
    return ordered


def _relevant(obj: Any, prop: str) -> bool:
    """False when resources/encoder.toml's ``[relevant]`` says ``prop`` means nothing in this
    object's current state (a through hole's ThreadDepth, a ThroughAll pocket's Length)."""
    conditions = ev.config().get("relevant", {}).get(obj.TypeId, {}).get(prop)
    if not conditions:
        return True
    for other, allowed in conditions.items():
        try:
            value = getattr(obj, other)
        except Exception:  # the property of another version: no condition to test
            continue
        text = value if isinstance(value, (bool, int, float)) else str(value)
        excluded = [str(a)[1:] for a in allowed if isinstance(a, str) and a.startswith("!")]
        if excluded:
            if str(text) in excluded:
                return False
        elif text not in allowed:
            return False
    return True


def _attachment(obj: Any) -> dict | None:
    mode = getattr(obj, "MapMode", None)
    if mode is None or mode == "Deactivated":
        return None
    support = "AttachmentSupport" if "AttachmentSupport" in obj.PropertiesList else "Support"
    attachment: dict = {"support": ev.link_sub_list(getattr(obj, support, None))}
    if ev.config().get("attachment_default_mode", {}).get(obj.TypeId) != mode:
        attachment["mode"] = mode
    offset = ev.placement(obj.AttachmentOffset) if "AttachmentOffset" in obj.PropertiesList else None
    if offset:
        attachment["offset"] = offset
    if getattr(obj, "MapReversed", False):
        attachment["reversed"] = True
    return attachment


def _parameters(obj: Any) -> dict:
    part: dict = {}
    attachment = _attachment(obj)
    if "Placement" in obj.PropertiesList and "Hidden" not in obj.getEditorMode("Placement"):
        placement = ev.placement(obj.Placement)
        # An attached object's placement follows from its attachment; say it only when it adds.
        if placement and not (attachment and placement == attachment.get("offset")):
            part["placement"] = placement
    if attachment:
        part["attachment"] = attachment
    if "LinkedObject" in obj.PropertiesList:
        target = obj.LinkedObject
        if isinstance(target, tuple):
            target = target[0]
        if target is not None:
            same_doc = target.Document.Name == obj.Document.Name
            part["link"] = target.Name if same_doc else f"{target.Document.Label}#{target.Name}"
    params = _params(obj)
    # FreeCAD's properties are capitalised, the encoder's keys lower-case: a property sits in the
    # node itself (``"Length": 5``, as ``obj.Length`` reads); a lower-case (user) one keeps ``params``.
    part.update((k, v) for k, v in params.items() if k[:1].isupper())
    rest = {k: v for k, v in params.items() if not k[:1].isupper()}
    if rest:
        part["params"] = rest
    return part


def _constraint(c: Any) -> dict:
    entry: dict = {"type": c.Type}
    if c.Type in ("Distance", "DistanceX", "DistanceY", "Radius", "Diameter"):
        entry["value"] = ev.number(c.Value)  # mm, the header's length unit
    elif c.Type == "Angle":
        entry["value"] = ev.number(math.degrees(c.Value))
    elif c.Type in ("SnellsLaw", "Weight"):
        entry["value"] = ev.number(c.Value)
    if not c.Driving:
        entry["driving"] = False
    if getattr(c, "IsActive", True) is False:
        entry["active"] = False
    return entry


_DIMENSIONS = ("Distance", "DistanceX", "DistanceY", "Angle", "Radius", "Diameter")


def _construction(obj: Any, index: int) -> bool:
    try:
        return bool(obj.getConstruction(index))
    except Exception:  # no such call on this version: count the geometry as real
        return False


def _circles(obj: Any) -> tuple[list[dict], set[int]]:
    """The sketch's full circles, grouped by radius, centres in global mm: hole positions and
    spacing read straight off the JSON. Returns them and the geometry indices they cover."""
    try:
        placement = obj.getGlobalPlacement()
    except Exception:  # an object without a global placement call: its own
        placement = obj.Placement
    by_radius: dict = {}
    covered: set[int] = set()
    for i, g in enumerate(obj.Geometry):
        if type(g).__name__ != "Circle" or _construction(obj, i):
            continue
        covered.add(i)
        by_radius.setdefault(ev.number(g.Radius), []).append(ev.vector(placement.multVec(g.Center)))
    return [{"r": r, "at": at} for r, at in sorted(by_radius.items())], covered


def _points(obj: Any) -> tuple[list[list], set[int]]:
    """The sketch's points in global mm: a PartDesign Hole on FreeCAD 1.x can drill at sketch
    points, and a point marks a position the designer meant. Every point: the Sketcher marks
    each one construction whatever it was added as (0.20). Returns them and the geometry
    indices they cover."""
    import FreeCAD

    try:
        placement = obj.getGlobalPlacement()
    except Exception:  # as in _circles
        placement = obj.Placement
    found, covered = [], set()
    for i, g in enumerate(obj.Geometry):
        if type(g).__name__ == "Point":
            covered.add(i)
            found.append(ev.vector(placement.multVec(FreeCAD.Vector(g.X, g.Y, g.Z))))
    return found, covered


def _sketch(obj: Any) -> dict:
    if "Constraints" not in obj.PropertiesList or "Geometry" not in obj.PropertiesList:
        return {}
    circles, covered = _circles(obj)
    points, point_indices = _points(obj)
    covered |= point_indices
    geometry = Counter(type(g).__name__ for i, g in enumerate(obj.Geometry) if i not in covered)
    named: dict = {}
    dimensions: list[str] = []
    for c in obj.Constraints:  # the geometric ones (coincident, horizontal...) only add tokens
        if c.Name:
            named[c.Name] = _constraint(c)
            continue
        if c.Type in _DIMENSIONS and c.Driving and not (c.Type in ("Radius", "Diameter") and c.First in covered):
            entry = _constraint(c)
            dimensions.append(f"{c.Type} {entry['value']}")
    sketch: dict = {}
    if circles:
        sketch["circles"] = circles
    if points:
        sketch["points"] = points
    if geometry:
        sketch["geometry"] = dict(sorted(geometry.items()))
    if named:
        sketch["named_constraints"] = named
    if dimensions:
        sketch["dimensions"] = dimensions
    if "FullyConstrained" in obj.PropertiesList and obj.FullyConstrained:
        sketch["fully_constrained"] = True  # absent: not fully constrained (most sketches, shorter)
    return {"sketch": sketch}


def _expressions(obj: Any) -> dict:
    engine = getattr(obj, "ExpressionEngine", None) or []
    expressions = {path.lstrip("."): expr for path, expr in engine}
    return {"expressions": dict(sorted(expressions.items()))} if expressions else {}


def _aliases(obj: Any) -> dict:
    if obj.TypeId != "Spreadsheet::Sheet":
        return {}
    aliases: dict = {}
    cells = ET.fromstring(obj.cells.Content).iter("Cell")
    count = 0
    for cell in cells:
        count += 1
        address, content, alias = cell.get("address"), cell.get("content", ""), cell.get("alias")
        if not alias:
            continue
        try:
            raw = obj.get(address)
        except ValueError:  # not computed yet: the content is all there is
            raw = content
        entry: dict = {"cell": address, "value": ev.value(raw)}
        if content.startswith("="):
            entry["formula"] = content
        aliases[alias] = entry
    sheet: dict = {"cells": count}
    if aliases:
        sheet["aliases"] = dict(sorted(aliases.items()))
    return {"spreadsheet": sheet}


def _has_shape_summary(node: Node) -> bool:
    """Bodies and objects outside a Body; a feature inside one shows its shape on request."""
    obj = node.obj
    if node.in_body or obj.TypeId in ("App::Part", "App::DocumentObjectGroup", "Spreadsheet::Sheet"):
        return False
    if obj.TypeId.startswith("Sketcher::"):
        return False
    return "Shape" in obj.PropertiesList or "LinkedObject" in obj.PropertiesList


def _solid_features(obj: Any) -> int:
    """How many PartDesign features stand in the history of the shape ``obj`` shows: a Body's
    all, a feature's those up to it (through any chain of links)."""
    target = obj.getLinkedObject(True) if hasattr(obj, "getLinkedObject") else obj
    target = target or obj
    if target.TypeId == "PartDesign::Body":
        return sum(1 for o in target.Group if o.isDerivedFrom("PartDesign::Feature"))
    if not target.isDerivedFrom("PartDesign::Feature"):
        return 0
    body = target.getParentGeoFeatureGroup()
    if body is None or body.TypeId != "PartDesign::Body":
        return 0
    count = 0
    for o in body.Group:
        count += o.isDerivedFrom("PartDesign::Feature")
        if o is target:
            break
    return count


def body_feature_limit() -> int:
    """``summary_max_body_features`` for the running FreeCAD: its version's entry in
    resources/encoder.toml, else the entry of the newest listed version before it (the oldest
    entry for a version older than all), so the encoding of a document depends on the document
    and the FreeCAD version alone."""
    import FreeCAD

    table = ev.config()["limits"]["summary_max_body_features"]
    running = tuple(int(part) for part in FreeCAD.Version()[:2])
    listed = sorted((tuple(int(part) for part in key.split(".")), key) for key in table)
    chosen = listed[0][1]
    for version, key in listed:
        if version <= running:
            chosen = key
    return table[chosen]


def _deferred_shape(node: Node) -> dict | None:
    """The pointer that stands for a Body's shape numbers when the overview does not measure them.

    FreeCAD (0.20 to 1.1) gives every element of a PartDesign body's shape one more
    nested (identity) location per feature, and OCC walks that chain on every
    access: volume, area, bbox and face types of a 500-feature body take 6-9 s,
    where volume and area of the same solid without the chains take 0.15 s. Above
    ``body_feature_limit()`` (per FreeCAD version; 1.0 and 1.1 nest the same
    chains, bench/large_body.py) the overview leaves them to mass_properties
    (query_feature_tree on the path adds face types, at more cost), whatever was
    measured before, so the encoding depends on the document and the FreeCAD
    version alone.
    """
    limit = body_feature_limit()
    features = _solid_features(node.obj)
    if features <= limit:
        return None
    return {
        "shape": {
            "not_measured": (
                f"{features} PartDesign features (over {limit}): measuring takes seconds. mass_properties "
                "gives volume, area, bbox; query_feature_tree on this path adds face types (slower)"
            ),
            "get": {"tool": "mass_properties", "args": {"object": node.path}},
        }
    }


def _failed_features(obj: Any) -> list[str]:
    """The features of a PartDesign Body that failed: its shape is then the last good one, not current."""
    if obj.TypeId != "PartDesign::Body":
        return []
    return [o.Name for o in obj.Group if o.isDerivedFrom("PartDesign::Feature") and ("Invalid" in o.State or "Error" in o.State)]


def _shape(obj: Any, validity: str) -> dict:
    shape = encoder_shapes.global_shape(obj)
    if shape is None or shape.ShapeType in ("Vertex", "Edge", "Wire"):
        return {}
    summary = encoder_shapes.summary(shape, validity)
    return {"shape": summary} if summary["faces"] else {}


def _detail(node: Node, with_shape: bool, validity: str = "auto", measure: bool = False, compact: bool = False) -> None:
    """Encodes ``node``; ``measure`` computes its shape numbers however long that takes."""
    obj = node.obj
    node.core = _core(node, compact)
    shape = {}
    if with_shape:
        shape = (None if measure else _deferred_shape(node)) or _shape(obj, validity)
        if shape and (failed := _failed_features(obj)):
            shape["shape"]["stale"] = (
                f"{', '.join(failed)} failed to recompute: the body keeps the solid of its last good state"
            )
    node.parts = {
        "parameters": _parameters(obj),
        "constraints": _sketch(obj),
        "expressions": _expressions(obj),
        "aliases": _aliases(obj),
        "shape": shape,
    }


# --- selection ----------------------------------------------------------------------------------


def _element_summary(element: Any) -> dict:
    shape = element.shape
    if element.kind == "Face":
        surface = shape.Surface
        out = {"surface": type(surface).__name__, "area": ev.number(shape.Area)}
        if hasattr(surface, "Radius"):
            out["radius"] = ev.number(surface.Radius)
        return out
    if element.kind == "Edge":
        curve = shape.Curve
        out = {"curve": type(curve).__name__, "length": ev.number(shape.Length)}
        if hasattr(curve, "Radius"):
            out["radius"] = ev.number(curve.Radius)
        return out
    if element.kind == "Vertex":
        return {"point": ev.vector(shape.Point)}
    return {}


def _selection(document: Any, selection: list | None, by_name: dict) -> list[dict]:
    from .refs import resolve

    items = []
    for i, item in enumerate(selection or []):
        if isinstance(item, str):
            item = {"ref": item, "picked_point": None}
        if not isinstance(item, dict) or "ref" not in item:
            raise BadArguments(f"selection[{i}] must be {{'ref': 'Plate.Face7', 'picked_point': [x, y, z]}}, got {item!r:.80}")
        entry: dict = {"ref": item["ref"]}
        try:
            element = resolve(document, item["ref"])
        except ToolError as exc:
            entry["error"] = exc.message
        else:
            if element.obj is not None and element.obj.Name in by_name:
                node = by_name[element.obj.Name]
                node.selected = True
                entry["object"] = node.path
            entry.update(_element_summary(element))
        point = item.get("picked_point")
        if point is not None:
            if (
                not isinstance(point, (list, tuple))
                or len(point) != 3
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
            ):
                raise BadArguments(f"selection[{i}].picked_point must be [x, y, z] in mm, got {point!r:.80}")
            entry["picked_point"] = [ev.number(c) for c in point]
        items.append(entry)
    return items


# --- assembly -----------------------------------------------------------------------------------


def scene(document: Any, selection: list | None = None, details: bool = True, compact: bool = False) -> Scene:
    """Walks the document once; with ``details`` encodes every node's core and parts. ``compact``
    is the overview's form: profile sketches folded into their features (fold_profiles), no
    ``type`` on a Body feature whose name says it (``Pad001``)."""
    if document is None:
        raise BadArguments("no document to encode")
    roots, nodes = _build_tree(document)
    if compact:
        fold_profiles(roots)
    by_name = {n.obj.Name: n for n in nodes}
    items = _selection(document, selection, by_name)
    if details:
        _detail_all(nodes, compact=compact)
    return Scene(document=document, roots=roots, nodes=nodes, selection=items)


def _detail_all(nodes: list[Node], validity: str = "auto", compact: bool = False) -> None:
    _load_defaults({n.obj.TypeId for n in nodes})
    for node in nodes:
        _detail(node, with_shape=_has_shape_summary(node) or node.selected, validity=validity, compact=compact)


def _within(node: Node, depth: int | None) -> list[Node]:
    """``node`` and its descendants down to ``depth`` levels (all when None)."""
    found = [node]
    if depth is None or depth > 0:
        for child in node.children:
            found += _within(child, None if depth is None else depth - 1)
    return found


def _profile_dict(sketch: Node, include: Any) -> dict:
    """A folded profile sketch: its name, ``on`` (the attachment support, one ref as a string),
    ``offset`` (a translation as [x, y, z], else position/axis/angle), then its sketch geometry
    and constraints at top level (a profile is a sketch: no type)."""
    full = node_dict(sketch, include)
    out = {k: v for k, v in full.items() if k not in ("type", "attachment", "sketch")}
    attachment = full.get("attachment")
    if attachment is not None:
        support = attachment["support"]
        out["on"] = support[0] if len(support) == 1 else support
        offset = attachment.get("offset")
        # A shift of the plane is already in the global circle centres and points: said once.
        shift_only = offset is not None and list(offset) == ["position"]
        placed = any(k in full.get("sketch", {}) for k in ("circles", "points"))
        if offset is not None and not (shift_only and placed):
            out["offset"] = offset["position"] if shift_only else offset
        out.update((k, attachment[k]) for k in ("mode", "reversed") if k in attachment)
    out.update(full.get("sketch", {}))
    return out


def node_dict(node: Node, include: Any = None, max_depth: int | None = None) -> dict:
    """The JSON of one node and its children; ``include(node, part)`` filters (None: all)."""
    out = dict(node.core)
    for part in PARTS:
        if include is None or include(node, part):
            out.update(node.parts.get(part, {}))
    if node.profile is not None and (include is None or include(node.profile, "object")):
        out["profile"] = _profile_dict(node.profile, include)
        if out.get("Profile") == node.profile.obj.Name:  # the profile says it
            del out["Profile"]
    if node.children:
        shown = []
        if max_depth is None or max_depth > 0:
            next_depth = None if max_depth is None else max_depth - 1
            shown = [
                node_dict(child, include, next_depth)
                for child in node.children
                if include is None or include(child, "object")
            ]
        if shown:
            out["children"] = shown
        if len(shown) < len(node.children):
            out["child_count"] = len(node.children)
    return out


def header(document: Any, nodes: list[Node]) -> dict:
    about: dict = {"label": document.Label, "objects": len(nodes)}
    touched = sum(1 for n in nodes if "Touched" in n.obj.State)
    if touched:
        about["recompute_pending"] = touched  # shapes may not show the latest parameters yet
    return {"schema": SCHEMA, "document": about, "units": dict(UNITS)}


def encode(document: Any, selection: list | None = None, budget_tokens: int | None = None) -> dict:
    """The canonical encoding of ``document``; with ``budget_tokens`` the best view that fits."""
    s = scene(document, selection, compact=True)
    if budget_tokens is not None:
        from .encoder_budget import fit

        return fit(s, budget_tokens)
    out = header(document, s.nodes)
    if s.selection:
        out["selection"] = s.selection
    out["tree"] = [node_dict(root) for root in s.roots]
    return out


def dumps(encoding: dict) -> str:
    """Compact, deterministic JSON text (the key order is the encoder's)."""
    return json.dumps(encoding, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_json(document: Any, selection: list | None = None, budget_tokens: int | None = None) -> str:
    return dumps(encode(document, selection=selection, budget_tokens=budget_tokens))


def subtree(
    document: Any, path: str | None = None, depth: int | None = None, check_validity: bool | None = None
) -> dict:
    """The canonical tree below ``path`` (whole document when None), ``depth`` child levels deep.

    The object named by ``path`` also gets its own shape summary, measured even where the
    overview leaves it out (large PartDesign bodies). BRepCheck validity follows
    ``check_validity``: None checks shapes of up to ``validity_max_faces`` faces, as the
    overview does, because BRepCheck on a large body runs for minutes on the GUI thread;
    True checks every summarised shape, False none.
    """
    validity = {None: "auto", True: "always", False: "never"}[check_validity]
    s = scene(document, details=False)
    out = header(document, s.nodes)
    if path is None or path == "":
        out["path"] = ""
        if depth == 0:
            out["tree"], out["child_count"] = [], len(s.roots)
            return out
        below = None if depth is None else depth - 1
        _detail_all([n for root in s.roots for n in _within(root, below)], validity)
        out["tree"] = [node_dict(root, max_depth=below) for root in s.roots]
        return out
    node = _resolve_path(document, s, path)
    _detail_all(_within(node, depth), validity)
    _detail(node, with_shape=True, validity=validity, measure=True)
    out["path"] = node.path
    out["tree"] = [node_dict(node, max_depth=depth)]
    return out


def _resolve_path(document: Any, s: Scene, path: str) -> Node:
    from .refs import ELEMENT_RE, get_object

    if not isinstance(path, str) or not path.strip():
        raise BadReference("a path is an object name or a chain like 'Body.Pad001'")
    tokens = path.strip().split(".")
    if ELEMENT_RE.match(tokens[-1]):
        raise BadReference(f"'{path}' names a {tokens[-1]} element: query_feature_tree takes object paths like 'Body.Pad001'")
    objects = [get_object(document, t) for t in tokens]
    by_name = {n.obj.Name: n for n in s.nodes}
    for obj in objects:
        if obj.Name not in by_name:
            raise BadReference(f"'{obj.Name}' is not in the feature tree (it is an origin element of its Body or Part)")
    for parent, child in zip(objects, objects[1:], strict=False):
        node = by_name[child.Name].parent
        while node is not None and node.obj is not parent:
            node = node.parent
        if node is None:
            raise BadReference(f"'{child.Name}' is not inside '{parent.Name}' in '{path}' (it is at '{by_name[child.Name].path}')")
    return by_name[objects[-1].Name]

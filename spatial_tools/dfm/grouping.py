"""One finding per thing: a rule's findings on the faces of one hole, pocket, thread or corner chain become one.

Rules judge faces and edges; an engineer fixes things. A hole whose six
faces a 3-axis cutter cannot reach is one problem, and a count of findings
by rule must count holes, not faces. So after the rules have run, the engine
merges the findings of each rule on each object that belong to one *thing*.
What a thing is, the rule says (``Rule.thing``):

- ``"feature"``: findings on faces of one recognised feature (a hole, a
  pocket, a slot, a step, a boss, a fillet, a chamfer, a modelled thread) are
  one thing;
- ``"region"``: as ``"feature"``, and besides, findings whose geometry touches
  (faces sharing an edge, edges sharing a vertex) are one thing: a chain of
  corners, a contiguous hidden region, one wall;
- ``"wall"``: every finding is one wall (its two opposite faces) already: a wall
  of a pocket is its own thing, not the pocket;
- ``"none"``: every finding is its own thing (the rule already reports things:
  an overlap of two bodies, an invalid solid).

The merged finding keeps the contract of a finding (tools.md): its severity,
numbers, location and suggestion are those of its worst member, its
``elements`` are every member's, and its message starts with the thing's
name. A finding alone in its thing is returned unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .finding import Finding

THINGS = ("feature", "region", "wall", "none")
ALONE = ("wall", "none")  # things the rule already reports one by one
EDGE_FACES_KEY = "grouping.edge_faces"  # per-object cache: edge index -> faces, element touch keys
MAX_LISTED = 6  # elements named in a merged message


def _thread_features(target: Any) -> list[dict]:
    """Modelled threads (geometry.threads) as features: the thread's faces and the bore it is cut in."""
    from ..geometry.threads import find_threads

    found = []
    for k, thread in enumerate(find_threads(target.shape), start=1):
        faces = [f"Face{i + 1}" for i in (*thread.faces, *thread.hole_faces)]
        found.append({"id": f"thread{k}", "kind": "thread", "faces": faces, "diameter": thread.major_diameter,
                      "pitch": thread.pitch, "internal": thread.internal})
    return found


def _features(target: Any) -> list[dict]:
    from ..geometry.hole_checks import cached_features

    return _thread_features(target) + list(cached_features(target))


def _topology(target: Any) -> tuple[dict[int, list[int]], list[set], list[set]]:
    """(edge index -> its faces, per face its edge hash codes, per edge its vertex hash codes), cached."""
    cached = target.cache.get(EDGE_FACES_KEY)
    if cached is None:
        shape = target.shape
        edges = list(shape.Edges)
        index = {e.hashCode(): k for k, e in enumerate(edges)}
        edge_faces: dict[int, list[int]] = {}
        face_edges = []
        for i, face in enumerate(shape.Faces):
            codes = set()
            for edge in face.Edges:
                code = edge.hashCode()
                codes.add(code)
                k = index.get(code)
                if k is not None and i not in edge_faces.setdefault(k, []):
                    edge_faces[k].append(i)
            face_edges.append(codes)
        edge_vertices = [{v.hashCode() for v in e.Vertexes} for e in edges]
        cached = (edge_faces, face_edges, edge_vertices)
        target.cache[EDGE_FACES_KEY] = cached
    return cached


def _faces_of(element: str, edge_faces: Mapping[int, list[int]]) -> list[int]:
    if element.startswith("Face"):
        return [int(element[4:]) - 1]
    if element.startswith("Edge"):
        return list(edge_faces.get(int(element[4:]) - 1, []))
    return []


def _touch_keys(element: str, face_edges: Sequence[set], edge_vertices: Sequence[set]) -> set:
    """Keys two touching elements share: a face's edges; an edge's vertices."""
    k = int(element[4:] if element.startswith(("Face", "Edge")) else element[6:]) - 1
    if element.startswith("Face") and k < len(face_edges):
        return {("E", c) for c in face_edges[k]}
    if element.startswith("Edge") and k < len(edge_vertices):
        return {("V", c) for c in edge_vertices[k]}
    return set()


class _Union:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def feature_label(feature: Mapping[str, Any]) -> str:
    """'Hole Ø75 mm', 'Thread M5', 'Pocket': the name an engineer gives the thing."""
    kind = str(feature.get("kind", "feature"))
    if kind == "thread":
        return thread_label(feature.get("diameter"), feature.get("pitch"), bool(feature.get("internal")))
    diameter = feature.get("diameter")
    if kind in ("hole", "boss") and isinstance(diameter, (int, float)):
        return f"{kind.capitalize()} Ø{diameter:.4g} mm"
    return kind.capitalize()


def thread_label(diameter: float | None, pitch: float | None, internal: bool) -> str:
    """'Tapped hole Ø5 × 0.8 mm', 'External thread Ø20 × 1.5 mm'."""
    what = "Tapped hole" if internal else "External thread"
    size = f" Ø{diameter:.3g}" if isinstance(diameter, (int, float)) else ""
    step = f" × {pitch:.2g}" if isinstance(pitch, (int, float)) else ""
    return f"{what}{size}{step} mm" if size else what


def _badness(finding: Finding) -> float:
    """How far past its limit a finding is (any sense), for picking a group's worst member."""
    if finding.measured is None or finding.limit is None:
        return 0.0
    return abs(finding.measured - finding.limit)


def merge(members: Sequence[Finding], label: str) -> Finding:
    """One finding standing for ``members`` (findings of one rule on one thing named ``label``)."""
    if len(members) == 1:
        return members[0]
    worst = max(members, key=lambda f: (f.severity.rank, _badness(f)))
    elements = tuple(dict.fromkeys(e for f in members for e in f.elements))
    own = {f"{worst.object}.{e}" for e in elements}
    related = tuple(dict.fromkeys(r for f in members for r in f.related if r not in own))
    faces = sum(e.startswith("Face") for e in elements)
    edges = sum(e.startswith("Edge") for e in elements)
    counted = ", ".join(
        text for n, text in ((faces, f"{faces} faces" if faces != 1 else "1 face"),
                             (edges, f"{edges} edges" if edges != 1 else "1 edge")) if n
    ) or f"{len(members)} places"
    listed = ", ".join(elements[:MAX_LISTED]) + (f" (+{len(elements) - MAX_LISTED})" if len(elements) > MAX_LISTED else "")
    message = f"{label} ({counted}: {listed}), {len(members)} places found by this rule; the worst: {worst.message}"
    title = f"{label}: {worst.title}" if worst.title else None
    return replace(worst, message=message, elements=elements, related=related, title=title)


def group_target(findings: Sequence[Finding], target: Any, thing: str) -> list[Finding]:
    """The findings of one rule on one object, one per thing (see the module docstring)."""
    if thing in ALONE or len(findings) < 2:
        return list(findings)
    edge_faces, face_edges, edge_vertices = _topology(target)
    owner: dict[int, int] = {}
    features = _features(target)
    for k, feature in enumerate(features):
        for name in feature.get("faces", []):
            owner.setdefault(int(name[4:]) - 1, k)
    union = _Union(len(findings))
    label_of: dict[int, int] = {}  # finding -> feature
    by_feature: dict[int, int] = {}
    touches: dict[Any, int] = {}
    for n, finding in enumerate(findings):
        votes: dict[int, int] = {}
        for element in finding.elements:
            for face in _faces_of(element, edge_faces):
                if face in owner:
                    votes[owner[face]] = votes.get(owner[face], 0) + 1
        if votes:
            feature = max(votes, key=lambda k: (votes[k], -k))
            label_of[n] = feature
            if feature in by_feature:
                union.join(by_feature[feature], n)
            else:
                by_feature[feature] = n
        if thing == "region":
            for element in finding.elements:
                for key in _touch_keys(element, face_edges, edge_vertices):
                    if key in touches:
                        union.join(touches[key], n)
                    else:
                        touches[key] = n
    groups: dict[int, list[int]] = {}
    for n in range(len(findings)):
        groups.setdefault(union.find(n), []).append(n)
    merged = []
    for members in groups.values():
        named = [label_of[n] for n in members if n in label_of]
        if named:
            kinds = {features[k].get("kind") for k in named}
            label = feature_label(features[named[0]]) if len(set(named)) == 1 else (
                f"{' and '.join(sorted(str(k).capitalize() for k in kinds))} with connected faces"
            )
        else:
            label = "Connected region"
        merged.append(merge([findings[n] for n in members], label))
    return merged


def group_findings(findings: Iterable[Finding], targets: Iterable[Any], things: Mapping[str, str]) -> list[Finding]:
    """Every finding of ``findings``, those of one rule on one thing of one target merged.

    ``things`` maps a rule id to its kind of thing (``THINGS``); a rule not in it, a finding with no
    object or no elements, and one on an object not among ``targets`` are left as they are.
    """
    by_name = {t.name: t for t in targets}
    kept: list[Finding] = []
    buckets: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        thing = things.get(finding.rule, "none")
        if thing in ALONE or finding.object not in by_name or not finding.elements:
            kept.append(finding)
            continue
        buckets.setdefault((finding.rule, finding.object), []).append(finding)
    for (rule, name), members in buckets.items():
        try:
            kept += group_target(members, by_name[name], things[rule])
        except Exception:  # noqa: BLE001 - the kernel failed on this shape: its findings stay one per place, none lost
            kept += members
    return kept

"""Builds, changes and reads the annotation objects of a document; every change one undoable step.

All objects sit in one ``Spatial`` group. A finding object holds every field
of the finding format (``properties``), a review status, and a link to the
flagged elements with their geometric signatures (``signature``), so a
recompute that renumbers faces moves the link to the same face or marks it
lost. The proxies (``addon.annotations``) are imported lazily: this module
runs headless, and only creating an object needs them.
"""

from __future__ import annotations

import datetime
import getpass
import importlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..dfm.finding import Finding
from ..errors import BadArguments, BadReference
from . import properties as P
from .signature import (
    element_signature,
    has_element_map,
    mapped_name,
    rematch,
    shape_signatures,
    split_name,
)
from .transaction import transaction

GROUP_NAME = "Spatial"


def import_proxies() -> None:
    """Imports the proxy modules, so a plain Python restores them when it opens a file.

    Debian's FreeCAD 0.20 does not import a proxy module on restore by itself
    (the object opens with ``Proxy`` None) unless the module is already loaded.
    """
    from freecad_spatial.addon.annotations import PROXY_MODULES

    for path in PROXY_MODULES.values():
        importlib.import_module(path)


def _create(document: Any, kind: str, name: str) -> Any:
    from freecad_spatial.addon.annotations import PROXY_MODULES

    return importlib.import_module(PROXY_MODULES[kind]).create(document, name)


def spatial_group(document: Any, create: bool = True) -> Any | None:
    """The document's one ``Spatial`` group (made on first use when ``create``)."""
    group = document.getObject(GROUP_NAME)
    if group is None and create:
        group = document.addObject("App::DocumentObjectGroup", GROUP_NAME)
        group.Label = "Spatial"
    return group


def annotations(document: Any, kind: str | None = None) -> list[Any]:
    """Annotation objects of ``document`` (of one ``kind`` when given), in document order."""
    found = []
    for obj in document.Objects:
        spatial_type = getattr(obj, "SpatialType", None) if "SpatialType" in obj.PropertiesList else None
        if spatial_type in P.KINDS and (kind is None or spatial_type == kind):
            found.append(obj)
    return found


def repair_proxies(document: Any) -> list[str]:
    """Gives back their proxy to annotations that lost it (the file was re-saved without the addon).

    Returns the names repaired. Their data was never lost: only the proxy
    reference is written as null by a FreeCAD that could not import it.
    """
    from freecad_spatial.addon.annotations import PROXY_MODULES

    repaired = []
    for obj in annotations(document):
        if getattr(obj, "Proxy", None) is None:
            module = importlib.import_module(PROXY_MODULES[obj.SpatialType])
            cls = next(v for k, v in vars(module).items() if k.endswith("Proxy") and getattr(v, "KIND", None) == obj.SpatialType)
            cls(obj)
            from freecad_spatial.addon.annotations.proxy import attach_view

            attach_view(obj)
            repaired.append(obj.Name)
    return repaired


# --- links and signatures ---------------------------------------------------------------


def _placement_and_size(shape: Any) -> tuple[Any, float]:
    box = shape.BoundBox
    size = box.DiagonalLength if box.isValid() else 1.0
    return shape.Placement.inverse(), max(size, 1e-6)


def parse_refs(document: Any, refs: Iterable[str]) -> list[tuple[Any, list[str]]]:
    """'Body.Face3' style refs grouped per object: [(obj, ['Face3', ...])]; raises BadReference."""
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        head, _, element = ref.rpartition(".") if "." in ref else (ref, "", "")
        if not head:
            head, element = ref, ""
        obj_name = head.split(".")[-1]
        if document.getObject(obj_name) is None:
            raise BadReference(f"no object named '{obj_name}' in document '{document.Name}' (ref {ref!r})")
        grouped.setdefault(obj_name, [])
        if element:
            grouped[obj_name].append(element)
    return [(document.getObject(n), subs) for n, subs in grouped.items()]


def link_elements(obj: Any, links: Sequence[tuple[Any, Sequence[str]]], shapes: dict | None = None) -> None:
    """Links ``obj`` to ``links`` and stores each element's signature; unknown elements raise BadReference.

    ``shapes`` (target Name -> (shape, to_local)) lets many links to one target read its shape once.
    """
    stored: dict[str, dict[str, dict]] = {}
    shapes = {} if shapes is None else shapes
    for target, subs in links:
        if target.Name not in shapes:
            shape = target.Shape
            shapes[target.Name] = (shape, _placement_and_size(shape)[0])
        shape, to_local = shapes[target.Name]
        for sub in subs:
            sig = element_signature(shape, sub, to_local)
            if sig is None:
                raise BadReference(f"'{target.Name}' has no element {sub}")
            stored.setdefault(target.Name, {})[sub] = sig
    obj.Faces = [(target, list(subs)) for target, subs in links if subs]
    obj.Targets = [target for target, _ in links]
    obj.ElementSignatures = json.dumps(stored)  # in link order: FreeCAD 1.x renames a link's names in place
    obj.LostElements = []
    obj.Attachment = "attached" if links else "unlinked"


def refresh_attachment(obj: Any) -> str:
    """After a recompute: keeps, re-finds or marks lost each linked element; returns the Attachment.

    Elements lost earlier are looked for again too (the feature that removed
    them may have been deleted since). Where FreeCAD names the target's
    elements through an element map (1.x), its renaming of the link is
    followed (``_follow_element_map``); elsewhere (0.20, index-only shapes)
    the geometric signature decides.
    """
    try:
        stored: dict[str, dict[str, dict]] = json.loads(obj.ElementSignatures or "{}")
    except ValueError:
        stored = {}
    linked: dict[str, list[str]] = {}
    link_subs: dict[str, list[str]] = {}
    lost_subs: dict[str, list[str]] = {}
    targets: dict[str, Any] = {}
    for target in obj.Targets:
        targets[target.Name] = target
    for target, subs in obj.Faces:
        targets[target.Name] = target
        linked.setdefault(target.Name, []).extend(s for s in subs if s)
        link_subs.setdefault(target.Name, []).extend(s for s in subs if s)
    for ref in obj.LostElements:
        name, _, sub = ref.rpartition(".")
        target = obj.Document.getObject(name)
        if target is not None:
            targets[name] = target
            linked.setdefault(name, []).append(sub)
            lost_subs.setdefault(name, []).append(sub)
    if not targets:
        _set(obj, "Attachment", "unlinked")
        return obj.Attachment
    new_links, lost, new_stored, renamed = [], [], {}, {}
    changed = False
    for name, target in targets.items():
        subs = linked.get(name, [])
        sigs = stored.get(name, {})
        shape = getattr(target, "Shape", None)
        if shape is None or shape.isNull():
            lost += [f"{name}.{s}" for s in subs]
            new_stored[name] = sigs
            continue
        to_local, size = _placement_and_size(shape)
        if has_element_map(shape):
            followed = _follow_element_map(shape, link_subs.get(name, []), lost_subs.get(name, []), sigs, to_local, size)
            lost += [f"{name}.{s}" for s in followed.lost]
            new_links.append((target, followed.kept))
            new_stored[name] = followed.signatures
            renamed.update({f"{name}.{old}": f"{name}.{new}" for old, new in followed.names.items() if old != new})
            changed = changed or followed.changed
            continue
        wanted = {s: sigs[s] for s in subs if s in sigs}
        unsigned = [s for s in subs if s not in sigs]  # linked by hand: nothing to compare with
        still = {s for s, sig in wanted.items() if (cur := element_signature(shape, s, to_local)) is not None and _same(sig, cur, size)}
        if len(still) == len(wanted):
            names = {s: s for s in wanted}
            gone: list[str] = []
        else:
            found = rematch(wanted, shape_signatures(shape, to_local), size)
            names, gone = found.names, found.lost
        lost += [f"{name}.{s}" for s in gone]
        kept = [names[s] for s in subs if s in names] + unsigned
        new_links.append((target, kept))
        new_stored[name] = {names.get(s, s): sig for s, sig in sigs.items()}
        renamed.update({f"{name}.{old}": f"{name}.{new}" for old, new in names.items() if old != new})
    current = [(t.Name, list(s)) for t, s in obj.Faces]
    if current != [(t.Name, list(s)) for t, s in new_links if s]:
        obj.Faces = [(t, s) for t, s in new_links if s]
    _set(obj, "ElementSignatures", json.dumps(new_stored))
    _set(obj, "LostElements", sorted(lost))
    if obj.SpatialType == P.FINDING and obj.TargetObject in targets:
        # The finding names the elements it is attached to now; lost ones are in LostElements.
        _set(obj, "Elements", [s for t, subs in new_links if t.Name == obj.TargetObject for s in subs])
    state = "lost" if lost else ("rematched" if renamed or changed or obj.Attachment == "rematched" else "attached")
    _set(obj, "Attachment", state)
    return state


@dataclass
class _Followed:
    """One target's elements after a recompute on 1.x (see ``_follow_element_map``)."""

    kept: list[str]  # the link's names now, in link order
    lost: list[str]  # stored names found nowhere
    signatures: dict[str, dict]  # name now -> signature; lost ones under their old name
    names: dict[str, str]  # stored name -> name now
    changed: bool  # a followed element's geometry is not the one stored


@dataclass
class _Slot:
    old: str | None  # the stored name (None: linked by hand, never signed)
    sig: dict | None
    new: str | None = None  # where it is now; None: lost


def _follow_element_map(shape: Any, link: list[str], lost_before: list[str], sigs: dict[str, dict], to_local: Any, size: float) -> _Followed:
    """FreeCAD 1.x renamed the link's elements itself: its answer is followed, checked against the signatures.

    Seen on 1.0 and 1.1: a face FreeCAD tracked keeps or changes its name in
    the link (Face6 -> Face3), even when its geometry changed (a hole cut
    through it); a face it cannot tell (removed, split, history ambiguous)
    becomes '?Face6'. A tracked face is followed whatever its geometry, since
    FreeCAD's history says it is the same face; a changed one counts as
    rematched (check it) and its signature becomes the new geometry. A '?'
    name, a name that no longer resolves, or a name FreeCAD only keeps by
    index (no mapped name: primitives, shapes set from Python, where the
    index may now be another face) is re-found by signature or lost.
    """
    # Lost elements keep their signature under their old name, or '?name' when a linked one took that name.
    prev = [k for k in sigs if not k.startswith("?") and not (k in lost_before and "?" + k not in sigs)]
    slots: list[_Slot] = []
    claimed: set[str] = set()
    changed = False
    for cur, old in _pair_renamed(prev, link, sigs, shape, to_local, size):
        now = None if cur.startswith("?") or cur in claimed else element_signature(shape, cur, to_local)
        slot = _Slot(old, sigs[old] if old is not None else None)
        slots.append(slot)
        if old is None:  # linked by hand: nothing to compare with, kept while it resolves
            slot.old, slot.new = cur.lstrip("?"), cur if now is not None else None
        elif now is not None and _same(slot.sig, now, size):
            slot.new = cur
        elif now is not None and (cur != old or mapped_name(shape, cur)):
            slot.new, slot.sig, changed = cur, now, True
        if slot.new is not None:
            claimed.add(slot.new)
    slots += [_Slot(s, sigs.get("?" + s, sigs.get(s))) for s in dict.fromkeys(lost_before)]
    pending = [slot for slot in slots if slot.new is None and slot.sig is not None]
    if pending:
        pool = shape_signatures(shape, to_local)

        def claim(name: str) -> None:
            kind, index = split_name(name)
            if kind is not None and index is not None and index < len(pool[kind]):
                pool[kind][index] = {}  # held by another element: no longer a candidate
            claimed.add(name)

        for name in claimed:
            claim(name)
        # As ``rematch``: the face of the stored name first, then the one face that matches.
        for slot in pending:
            if _same_at(slot.sig, pool, str(slot.old), size):
                slot.new = str(slot.old)
                claim(slot.new)
        for slot in pending:
            if slot.new is None:
                found = rematch({str(slot.old): slot.sig}, pool, size).names.get(str(slot.old))
                if found is not None:
                    slot.new = found
                    claim(found)
    kept = [str(slot.new) for slot in slots if slot.new is not None]
    names = {str(slot.old): str(slot.new) for slot in slots if slot.new is not None and slot.sig is not None}
    signatures = {str(slot.new): slot.sig for slot in slots if slot.new is not None and slot.sig is not None}
    lost = list(dict.fromkeys(str(slot.old) for slot in slots if slot.new is None))
    for slot in slots:
        if slot.new is None and slot.sig is not None:
            signatures.setdefault("?" + str(slot.old) if slot.old in signatures else str(slot.old), slot.sig)
    return _Followed(kept=kept, lost=lost, signatures=signatures, names=names, changed=changed)


def _same_at(sig: dict, pool: dict[str, list[dict]], name: str, size: float) -> bool:
    kind, index = split_name(name)
    candidates = pool.get(kind or "", [])
    return index is not None and index < len(candidates) and _same(sig, candidates[index], size)


def _pair_renamed(prev: list[str], link: list[str], sigs: dict[str, dict], shape: Any, to_local: Any, size: float) -> list[tuple[str, str | None]]:
    """(name in the link now, stored name it was) per linked name, in link order; None: never signed.

    FreeCAD renames a link's names in place, and the signatures are stored in
    link order, so after the names that are still their own face (same name,
    same geometry) the others pair up by position. When the counts differ
    (the link was edited by hand) only '?Face6' -> Face6 and unchanged names pair.
    """
    if sorted(link) == sorted(prev):
        return [(cur, cur) for cur in link]
    rest = list(prev)
    own: dict[int, str] = {}
    for i, cur in enumerate(link):
        now = element_signature(shape, cur, to_local) if cur in rest else None
        if now is not None and _same(sigs[cur], now, size):
            own[i] = cur
            rest.remove(cur)
    others = [i for i in range(len(link)) if i not in own]
    if len(others) == len(rest):
        own.update(zip(others, rest, strict=True))
        return [(cur, own[i]) for i, cur in enumerate(link)]
    pairs: list[tuple[str, str | None]] = []
    for i, cur in enumerate(link):
        old = own.get(i) or (cur.lstrip("?") if cur.lstrip("?") in rest else None)
        if old in rest:
            rest.remove(old)
        pairs.append((cur, old))
    return pairs


def _same(a: dict, b: dict, size: float) -> bool:
    from .signature import signatures_match

    return signatures_match(a, b, size)


def _set(obj: Any, prop: str, value: Any) -> None:
    if getattr(obj, prop) != value:
        setattr(obj, prop, value)


# --- findings ---------------------------------------------------------------------------


@dataclass
class DocumentFinding:
    """A finding as the document holds it: the finding plus its review and attachment state."""

    name: str  # the document object's Name
    label: str
    finding: Finding
    status: str = "open"
    reason: str = ""
    by: str = ""
    at: str = ""
    process: str = ""
    attachment: str = "attached"
    lost: list[str] = field(default_factory=list)
    number: int = 0  # stable for the life of the finding (finding_numbers); 0: not numbered yet

    def to_dict(self) -> dict:
        data = self.finding.to_dict()
        data["number"] = self.number
        data["status"] = {"state": self.status, "reason": self.reason, "by": self.by, "at": self.at}
        data["attachment"] = self.attachment
        if self.lost:
            data["lost"] = list(self.lost)
        return data


def _key(finding: Finding) -> tuple:
    return (finding.rule, finding.object, tuple(finding.elements), finding.message)


def read_findings(document: Any) -> list[DocumentFinding]:
    """Every finding object of ``document``, read back into the finding format."""
    found = []
    for obj in annotations(document, P.FINDING):
        found.append(
            DocumentFinding(
                name=obj.Name,
                label=obj.Label,
                finding=P.read_finding(obj),
                status=obj.Status,
                reason=obj.StatusReason,
                by=obj.StatusBy,
                at=obj.StatusAt,
                process=obj.Process,
                attachment=obj.Attachment,
                lost=list(obj.LostElements),
                number=int(getattr(obj, "Number", 0) or 0),
            )
        )
    return found


def finding_label(number: int, finding: Finding) -> str:
    """The tree label: '3 · 4 sharp inside corners of pocket1, …' (number, then the title an engineer reads)."""
    from ..dfm.titles import title_of

    return f"{number} · {title_of(finding)}"


def add_findings(
    document: Any,
    findings: Sequence[Finding],
    process: str = "",
    checked: Iterable[str] | None = None,
    name: str | None = None,
) -> list[Any]:
    """Puts ``findings`` into the document as one undoable step; returns the new objects.

    Open findings of the ``checked`` objects (default: every object) from an
    earlier check are replaced; accepted or waived ones stay, and a new finding
    identical to one of them is not added twice.
    """
    scope = set(checked) if checked is not None else None
    step = name or f"Spatial: {len(findings)} finding{'s' if len(findings) != 1 else ''}" + (f" ({process})" if process else "")
    created = []
    with transaction(document, step):
        reviewed = set()
        replaced: dict[tuple, int] = {}  # a finding found again keeps the number it had
        for obj in annotations(document, P.FINDING):
            if scope is not None and obj.TargetObject not in scope:
                continue
            if obj.Status == "open":
                replaced.setdefault(_key(P.read_finding(obj)), int(getattr(obj, "Number", 0) or 0))
                document.removeObject(obj.Name)
            else:
                reviewed.add(_key(P.read_finding(obj)))
        group = spatial_group(document)
        shapes: dict = {}
        taken = set(finding_numbers(read_findings(document)).values())
        next_free = max(taken | set(replaced.values()), default=0) + 1
        for finding in findings:
            if _key(finding) in reviewed:
                continue
            number = replaced.pop(_key(finding), 0)
            if not number or number in taken:
                number, next_free = next_free, next_free + 1
            taken.add(number)
            obj = _create(document, P.FINDING, "Finding")
            P.write_finding(obj, finding)
            obj.Number = number
            obj.Process = process
            obj.Status = "open"
            obj.Label = finding_label(number, finding)
            target = document.getObject(finding.object) if finding.object else None
            if target is not None and getattr(target, "Shape", None) is not None:
                link_elements(obj, [(target, list(finding.elements))], shapes)
            else:
                obj.Attachment = "unlinked"
            group.addObject(obj)
            obj.purgeTouched()
            created.append(obj)
    return created


def clear_findings(document: Any, names: Iterable[str] | None = None) -> int:
    """Removes findings (all, or those named) as one undoable step; returns how many."""
    chosen = [o for o in annotations(document, P.FINDING) if names is None or o.Name in set(names)]
    if not chosen:
        return 0
    with transaction(document, f"Spatial: clear {len(chosen)} finding{'s' if len(chosen) != 1 else ''}"):
        for obj in chosen:
            document.removeObject(obj.Name)
    return len(chosen)


def set_status(document: Any, names: Iterable[str], status: str, reason: str = "", by: str | None = None) -> list[str]:
    """Accepts, waives or reopens findings as one undoable step. A waiver needs a reason."""
    if status not in P.STATUSES:
        raise BadArguments(f"unknown status {status!r} (allowed: {', '.join(P.STATUSES)})")
    if status == "waived" and not reason.strip():
        raise BadArguments("a waiver needs a reason")
    objs = []
    for name in names:
        obj = document.getObject(name)
        if obj is None or getattr(obj, "SpatialType", None) != P.FINDING:
            raise BadReference(f"no finding named '{name}'")
        objs.append(obj)
    verb = {"open": "reopen", "accepted": "accept", "waived": "waive"}[status]
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds") if status != "open" else ""
    who = (by if by is not None else _user()) if status != "open" else ""
    with transaction(document, f"Spatial: {verb} {len(objs)} finding{'s' if len(objs) != 1 else ''}"):
        for obj in objs:
            obj.Status = status
            obj.StatusReason = reason.strip()
            obj.StatusBy = who
            obj.StatusAt = when
    return [o.Name for o in objs]


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): say so rather than invent one
        return "unknown"


# --- GD&T ---------------------------------------------------------------------------------


def _new_gdt(document: Any, kind: str, refs: Iterable[str], label: str, values: dict[str, Any]) -> Any:
    links = parse_refs(document, refs)
    with transaction(document, f"Spatial: add {label}"):
        obj = _create(document, kind, kind)
        for prop, value in values.items():
            setattr(obj, prop, value)
        obj.Label = label
        if links:
            link_elements(obj, links)
        else:
            obj.Attachment = "unlinked"
        spatial_group(document).addObject(obj)
        obj.purgeTouched()
    return obj


def add_datum_feature(document: Any, letter: str, refs: Iterable[str]) -> Any:
    """Datum feature ``letter`` on the faces ``refs`` ('Body.Face3')."""
    letter = letter.strip().upper()
    if not letter.isalpha() or len(letter) > 2:
        raise BadArguments(f"datum letter {letter!r} is not like 'A'")
    return _new_gdt(document, P.DATUM_FEATURE, refs, f"Datum {letter}", {"Letter": letter})


def add_datum_reference_frame(
    document: Any, primary: str, secondary: str = "", tertiary: str = "", modifiers: dict[str, str] | None = None
) -> Any:
    """Primary, secondary, tertiary datum letters, each with an optional MMC/LMC modifier."""
    mods = modifiers or {}
    values: dict[str, Any] = {"Primary": primary, "Secondary": secondary, "Tertiary": tertiary}
    for slot in ("Primary", "Secondary", "Tertiary"):
        values[f"{slot}Modifier"] = mods.get(slot.lower(), "none")
    label = "DRF " + "|".join(x for x in (primary, secondary, tertiary) if x)
    return _new_gdt(document, P.DATUM_REFERENCE_FRAME, [], label, values)


def add_feature_control_frame(
    document: Any,
    characteristic: str,
    zone: float,
    refs: Iterable[str],
    datums: Sequence[str] = (),
    diameter_zone: bool = False,
    material_modifier: str = "none",
    modifiers: Sequence[str] = (),
    standard: str = "ASME Y14.5-2018",
) -> Any:
    """A feature control frame on ``refs`` (gdt.md: characteristic, zone, modifiers, datums, standard)."""
    if characteristic not in P.CHARACTERISTICS:
        raise BadArguments(f"unknown characteristic {characteristic!r} (allowed: {', '.join(P.CHARACTERISTICS)})")
    if material_modifier not in P.MATERIAL_MODIFIERS:
        raise BadArguments(f"material modifier {material_modifier!r} is not one of {P.MATERIAL_MODIFIERS}")
    unknown = [m for m in modifiers if m not in P.MODIFIER_SYMBOLS or m in ("MMC", "LMC")]
    if unknown:
        raise BadArguments(f"unknown modifier(s) {unknown}")
    values = {
        "Characteristic": characteristic,
        "Zone": float(zone),
        "DiameterZone": bool(diameter_zone),
        "MaterialModifier": material_modifier,
        "Modifiers": list(modifiers),
        "DatumReferences": list(datums),
        "Standard": standard,
    }
    from .frame_text import frame_text

    return _new_gdt(document, P.FEATURE_CONTROL_FRAME, refs, frame_text(values), values)


def add_size_dimension(
    document: Any, nominal: float, refs: Iterable[str], upper: float = 0.0, lower: float = 0.0, fit_code: str = ""
) -> Any:
    """A size dimension: nominal with deviations or a fit code such as H7."""
    values = {"Nominal": float(nominal), "UpperDeviation": float(upper), "LowerDeviation": float(lower), "FitCode": fit_code}
    from .frame_text import size_text

    return _new_gdt(document, P.SIZE_DIMENSION, refs, size_text(values), values)


def finding_numbers(held: Sequence[DocumentFinding]) -> dict[str, int]:
    """Object Name -> the finding's number, as the findings dock, the markers and the report show it.

    A number is given when the finding is made (``add_findings``) and kept for
    its life: accepting, waiving, reopening, sorting or filtering never
    renumber, so "finding 3" means the same finding everywhere, all along.
    Findings from a file of an older version (no number stored) are numbered
    after the others, in document order.
    """
    numbers: dict[str, int] = {}
    used: set[int] = set()
    for h in held:
        if h.number > 0 and h.number not in used:
            numbers[h.name] = h.number
            used.add(h.number)
    following = max(used, default=0)
    for h in held:
        if h.name not in numbers:
            following += 1
            numbers[h.name] = following
    return numbers

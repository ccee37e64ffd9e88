"""geom.invalid_solid: the shape is not a valid closed solid of positive volume.

Every other rule measures solids, so an object that fails here is not handed
to them (the engine reports it as not checked): an open shell has no
thickness, a zero-volume solid no walls. The same diagnosis serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..finding import Finding
from ..profiles import RuleSettings
from . import Rule, RuleContext, Target

MAX_ELEMENTS = 50  # a finding lists at most this many elements


@dataclass(frozen=True)
class Problem:
    """One defect of an object's shape; ``blocking`` ones stop the other rules."""

    kind: str  # no_solid | open_shell | zero_volume | inverted | invalid | self_intersection | loose_geometry
    message: str
    blocking: bool
    elements: tuple[str, ...] = ()
    location: tuple[float, float, float] | None = None
    measured: float | None = None
    limit: float | None = None
    unit: str | None = None
    suggestion: str | None = None
    severity_key: str = "severity"


def _centre(shapes: list) -> tuple[float, float, float] | None:
    import Part

    if not shapes:
        return None
    centre = Part.Compound(shapes).BoundBox.Center
    return (centre.x, centre.y, centre.z)


def free_edges(target: Target, faces: list) -> list:
    """Edges of ``faces`` that bound only one of them: where a shell is open."""
    owners: dict[int, list[tuple[object, set[int]]]] = {}
    for face_number, face in enumerate(faces):
        for edge in face.Edges:
            if edge.Degenerated:
                continue
            bucket = owners.setdefault(edge.hashCode(), [])
            for known, users in bucket:
                if known.isSame(edge):
                    users.add(face_number)
                    break
            else:
                bucket.append((edge, {face_number}))
    return [edge for bucket in owners.values() for edge, users in bucket if len(users) == 1]


def _named(target: Target, shapes: list) -> tuple[str, ...]:
    names = [target.element_name(s) for s in shapes[:MAX_ELEMENTS]]
    return tuple(n for n in names if n)


def _open_problem(target: Target, faces: list, kind: str, what: str) -> Problem | None:
    edges = free_edges(target, faces)
    if not edges:
        return None
    return Problem(
        kind=kind,
        message=f"{target.name} {what}: its shell is open along {len(edges)} free edge(s), so it encloses no volume",
        blocking=True,
        elements=_named(target, edges),
        location=_centre(edges),
        measured=float(len(edges)),
        unit=None,
        suggestion="Close the gap (missing or unsewn faces): Part > Check geometry, then Part > Shape builder or a re-export as a solid",
    )


def _self_intersections(shape) -> str | None:
    try:
        shape.check(True)
    except Exception as exc:  # Part raises ValueError with BOPAlgo's report; that report is the answer
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return "; ".join(sorted(set(lines[1:] or lines)))[:300]
    return None


def _stored_twin(target: Target, index: int):
    """The object's own solid number ``index`` as stored, before any placement is applied.

    Validity does not depend on where a solid sits, but FreeCAD's placement copy
    (BRepBuilderAPI_Transform) can itself break BRepCheck on valid imported solids
    (NIST stc_07's cone faces); judge the part, not that copy. Same topology order."""
    own = getattr(target.obj, "Shape", None)
    if own is not None and not own.isNull() and len(own.Solids) == len(target.solids):
        return own.Solids[index]
    return target.solids[index]


def diagnose(target: Target, settings: RuleSettings) -> list[Problem]:
    """Every defect of the object's shape, cached on the target (the engine gates on it)."""
    cached = target.cache.get("geom.invalid_solid")
    if cached is not None:
        return cached
    problems: list[Problem] = []
    shape = target.shape
    solids = target.solids
    if not solids:
        if shape.Faces:
            problem = _open_problem(target, list(shape.Faces), "no_solid", "is not a solid")
            problems.append(
                problem
                or Problem(
                    kind="no_solid",
                    message=f"{target.name} is a closed {shape.ShapeType.lower()} but not a solid ({len(shape.Faces)} faces)",
                    blocking=True,
                    location=_centre([shape]),
                    suggestion="Make a solid from the shell (Part > Convert to solid)",
                )
            )
        else:
            problems.append(
                Problem(kind="no_solid", message=f"{target.name} has no faces, so no solid", blocking=True)
            )
        target.cache["geom.invalid_solid"] = problems
        return problems
    min_volume = settings.number("min_volume")
    for number, solid in enumerate(solids, start=1):
        which = target.name if len(solids) == 1 else f"{target.name} (solid {number} of {len(solids)})"
        opened = None
        for shell in solid.Shells:
            if not shell.isClosed():
                opened = _open_problem(target, list(shell.Faces), "open_shell", f"{'' if len(solids) == 1 else f'solid {number} '}has an open shell".strip())
                if opened:
                    break
        if opened:
            problems.append(opened)
            continue
        volume = solid.Volume
        if volume < -min_volume:
            problems.append(
                Problem(
                    kind="inverted",
                    message=f"{which} is inside out (volume {volume:.6g} mm³): its faces point inwards",
                    blocking=True,
                    location=_centre([solid]),
                    measured=volume,
                    unit="mm3",
                    suggestion="Reverse the solid's orientation (Part > Check geometry, then refine or re-export)",
                )
            )
            continue
        if volume <= min_volume:
            problems.append(
                Problem(
                    kind="zero_volume",
                    message=f"{which} encloses no volume ({volume:.3g} mm³ ≤ {min_volume:g} mm³)",
                    blocking=True,
                    elements=_named(target, list(solid.Faces)),
                    location=_centre([solid]),
                    measured=volume,
                    limit=min_volume,
                    unit="mm3",
                    suggestion="The body is flat or degenerate: give it thickness, or remove it",
                )
            )
            continue
        stored = _stored_twin(target, number - 1)
        if not stored.isValid():
            bad = [
                placed
                for attr in ("Faces", "Edges", "Vertexes")
                for placed, own in zip(getattr(solid, attr), getattr(stored, attr), strict=False)
                if not own.isValid()
            ]
            detail = f"{len(bad)} invalid face(s)/edge(s)/vertex(es)" if bad else "its topology is inconsistent"
            problems.append(
                Problem(
                    kind="invalid",
                    message=f"{which} fails the kernel's validity check (BRepCheck): {detail}",
                    blocking=True,
                    elements=_named(target, bad),
                    location=_centre(bad or [solid]),
                    suggestion="Repair the geometry (Part > Check geometry shows each fault) or re-export it",
                )
            )
            continue
        if settings.get("self_intersection_check", False):
            report = _self_intersections(solid)
            if report:
                problems.append(
                    Problem(
                        kind="self_intersection",
                        message=f"{which} intersects itself: {report}",
                        blocking=False,
                        location=_centre([solid]),
                        suggestion="Find the overlapping faces with Part > Check geometry (BOP check) and rebuild them",
                    )
                )
    solid_faces = sum(len(s.Faces) for s in solids)
    if len(shape.Faces) > solid_faces:
        owned = {f.hashCode() for s in solids for f in s.Faces}
        loose = [f for f in shape.Faces if f.hashCode() not in owned or not any(f.isSame(g) for s in solids for g in s.Faces)]
        if loose:
            problems.append(
                Problem(
                    kind="loose_geometry",
                    message=f"{target.name} also holds {len(loose)} face(s) that belong to no solid; the other rules ignore them",
                    blocking=False,
                    elements=_named(target, loose),
                    location=_centre(loose),
                    measured=float(len(loose)),
                    suggestion="Remove construction surfaces from the part, or sew them into the solid",
                    severity_key="loose_geometry_severity",
                )
            )
    target.cache["geom.invalid_solid"] = problems
    return problems


def check(ctx: RuleContext) -> list[Finding]:
    assert ctx.target is not None
    return [
        ctx.finding(
            ctx.settings.severity(p.severity_key),
            p.message,
            elements=p.elements,
            location=p.location,
            measured=p.measured,
            limit=p.limit,
            unit=p.unit,
            suggestion=p.suggestion,
        )
        for p in diagnose(ctx.target, ctx.settings)
    ]


RULE = Rule(
    id="geom.invalid_solid",
    title="Shape is not a valid closed solid",
    description=(
        "Checks that each object is one or more closed solids of positive volume that pass the "
        "kernel's validity check (BRepCheck, as Part > Check geometry): no open shell, no free "
        "edges, no zero-volume or inside-out solid. Other rules cannot measure an invalid shape, "
        "so they are not run on it."
    ),
    help=(
        "**Why:** an open or broken shape has no defined inside, so thickness, holes and volume "
        "are meaningless and a CAM system or slicer will fail on it.\n\n"
        "**Fix:** run *Part > Check geometry* on the object; close gaps (missing or unsewn faces) "
        "with *Part > Shape builder*, make a solid from a closed shell, or re-export the part "
        "from its source CAD as a solid."
    ),
    check=check,
)

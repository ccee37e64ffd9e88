"""cnc.inaccessible_face: a face no 3-axis tool direction reaches.

A 3-axis mill reaches a face along one of the part's ±X ±Y ±Z (one setup
each): the face must face the tool, or be a wall along its axis, and the
straight line from the face to the spindle must stay clear of the part.
Points that no direction reaches cannot be cut by an end mill: the wings of
a T-slot or a cavity behind a narrower opening, an undercut groove, a hole
at an angle. The ray casting is ``geometry.visibility`` (shared with
mold.undercut); the axes are those of the part's placement.
"""

from __future__ import annotations

from ...geometry.query import SurfaceType, surface_info
from ...geometry.threads import Thread, find_threads
from ...geometry.visibility import FaceReach, Visibility, part_axes, visibility_of
from ..finding import Finding
from ..grouping import thread_label
from . import Rule, RuleContext

AXIS_NAMES = ("+X", "-X", "+Y", "-Y", "+Z", "-Z")  # the order of part_axes
MAX_BLOCKERS = 3  # faces named per direction in a message
MAX_RELATED = 20  # faces in the way listed as related references


def blocked_by(face: FaceReach, names: tuple[str, ...]) -> str:
    """'+Z by Face12, -X by Face3 and Face4' for a message."""
    parts = []
    for k, blockers in sorted(face.blockers.items()):
        listed = [f"Face{b + 1}" for b in blockers[:MAX_BLOCKERS]]
        more = len(blockers) - len(listed)
        parts.append(f"{names[k]} by {' and '.join(listed)}{f' (+{more})' if more > 0 else ''}")
    return ", ".join(parts)


def blocker_refs(object_name: str, face: FaceReach) -> list[str]:
    """``Object.FaceN`` of every face in the way (the finding's ``related``)."""
    faces = sorted({b for blockers in face.blockers.values() for b in blockers if b != face.index})
    return [f"{object_name}.Face{b + 1}" for b in faces[:MAX_RELATED]]


def tilt_direction(vis: Visibility, face_index: int) -> tuple[float, float, float] | None:
    """A direction off the machine axes from which the whole face is visible (its normal for a
    plane, its axis for a hole or boss), or None: then only a special cutter reaches it."""
    face = vis.faces[face_index]
    info = surface_info(face)
    if info.type is SurfaceType.PLANE:
        normal = vis.face_samples[face_index][0].normal if vis.face_samples[face_index] else None
        candidates = [normal] if normal is not None else []
    elif info.axis is not None:
        candidates = [info.axis.direction, -info.axis.direction]
    else:
        return None
    for d in candidates:
        direction = (d.x, d.y, d.z)
        if vis.reaches_all(face_index, direction):
            return direction
    return None


AXIS_SIN = 1e-6  # a thread axis within this (sine of the angle) of a machine axis runs along it


def _thread_finding(ctx: RuleContext, thread: Thread, axes: list) -> Finding | None:
    """A modelled thread is cut by a tap (or a thread mill) along its axis, not face by face: it is
    reachable when its axis is one of the part's ±X ±Y ±Z, else one finding for the whole thread."""
    import FreeCAD

    axis = FreeCAD.Vector(*thread.axis_direction)
    if any(axis.cross(FreeCAD.Vector(*d)).Length <= AXIS_SIN for d in axes):
        return None
    name = thread_label(thread.major_diameter, thread.pitch, thread.internal)
    towards = ", ".join(f"{c:.3g}" for c in thread.axis_direction)
    return ctx.finding(
        ctx.settings.severity(),
        f"{name} runs along ({towards}), not along any of ±X ±Y ±Z: no 3-axis setup brings a tap or a "
        "thread mill along its axis",
        elements=[f"Face{i + 1}" for i in (*thread.faces, *thread.hole_faces)],
        location=FreeCAD.Vector(*thread.axis_origin),
        measured=100.0,
        limit=0.0,
        unit="%",
        suggestion=(
            f"It is open along ({towards}): tilt the part so that becomes the tool axis (an angled fixture or "
            "a 4th axis), or turn the thread to lie along ±X, ±Y or ±Z"
        ),
    )


def check(ctx: RuleContext) -> list[Finding]:
    assert ctx.target is not None
    axes = part_axes(ctx.target.shape)
    vis = visibility_of(ctx.target)
    threads = find_threads(ctx.target.shape)
    on_threads = frozenset(i for t in threads for i in t.faces)
    findings = [f for f in (_thread_finding(ctx, t, axes) for t in threads) if f is not None]
    for face in vis.hidden_faces(axes, skip=on_threads):  # thread faces: judged with their thread above
        name = f"Face{face.index + 1}"
        tilt = tilt_direction(vis, face.index)
        if tilt is not None:
            towards = ", ".join(f"{c:.3g}" for c in tilt)
            suggestion = (
                f"It is open along ({towards}): tilt the part so that becomes the tool axis (an angled "
                "fixture or a 4th axis), or change the feature so it lies along ±X, ±Y or ±Z"
            )
        else:
            suggestion = (
                "Open the region towards a machining direction (widen the opening above it, make the slot run "
                "out through a side), or plan a T-slot/keyseat/dovetail cutter, EDM or a split part"
            )
        findings.append(
            ctx.finding(
                ctx.settings.severity(),
                f"{name} cannot be reached by a 3-axis cutter from any of ±X ±Y ±Z: {face.hidden} of its "
                f"{face.samples} sampled points are hidden ({face.share:.0f} % > 0 %); in the way: "
                f"{blocked_by(face, AXIS_NAMES)}",
                elements=[name],
                location=face.point,
                measured=face.share,
                limit=0.0,
                unit="%",
                suggestion=suggestion,
                related=blocker_refs(ctx.target.name, face),
            )
        )
    return findings


RULE = Rule(
    id="cnc.inaccessible_face",
    title="Face no 3-axis tool direction reaches",
    description=(
        "A modelled thread is judged as one tapped hole: reachable when its axis is one of ±X ±Y ±Z. "
        "Samples every other face on a small UV grid and casts a ray from each point along each of the part's "
        "±X ±Y ±Z that the face does not turn away from (walls along a direction count as reached from it). "
        "A point is reached when some ray leaves the part without hitting it again; a face with a point no "
        "direction reaches is reported with the share of hidden points and the faces in the way. One "
        "hidden point of every reported face is confirmed on the exact geometry by the kernel."
    ),
    help=(
        "**Why:** a 3-axis mill only moves its tool along a fixed axis; whatever the straight line to the "
        "spindle is blocked from, in every setup, cannot be cut by an end mill: T-slot wings, grooves "
        "behind a lip, cavities under an overhang, holes at an angle.\n\n"
        "**Fix:** open the region towards a tool direction, tilt the part for angled features (fixture or "
        "4th axis), or plan a special cutter (T-slot, keyseat, dovetail), EDM or a split part. Severity: "
        '`[rules."cnc.inaccessible_face"] severity`.'
    ),
    check=check,
    thing="region",
)

"""cnc.tapped_hole: a tapped hole judged as one: tap drill, thread length, run-out, tap access.

A tapped hole is a recognised hole with a modelled internal thread (see
geometry/threads.py; holes.py puts it in the hole's ``thread`` record) or a
PartDesign Hole whose ``Threaded`` property is set without a modelled
thread (a cosmetic thread: size from ``ThreadSize``, length from
``ThreadDepth``). Its findings name all its faces, never a thread face alone.

- Tap drill (the bore beside the thread nearest its minor Ø, hole_checks.tap_drill_bore:
  not a narrower passage a tapped counterbore steps down to): the thread engagement the drilled Ø leaves,
  (major Ø - drill Ø) / (2 × 0.5413 P) with 0.5413 P the basic thread depth of
  a 60° thread (ISO 68-1, 5/8 H), must lie between ``min_engagement`` (a
  larger drill leaves a shallow thread that strips) and ``max_engagement`` (a
  smaller drill than the basic minor Ø makes the tap cut the crest, and break).
- Thread length / major Ø between ``min_length_ratio`` (too few turns to
  carry the screw's load) and ``max_length_ratio`` (turns past that add no
  strength and risk the tap).
- Blind holes: the drill must go ``min_runout_pitches`` pitches past the last
  full thread, for the tap's chamfer (DIN 76).
- Access: the tap feeds along the hole's axis from its entry: the axis must be
  one of the 3-axis machine's setups (±X ±Y ±Z, within ``axis_tolerance_deg``)
  and nothing of the part may stand in the tap's way outside the entry.
"""

from __future__ import annotations

import math
from typing import Any

from ...geometry.hole_checks import holes_of, settle, tap_drill_bore
from ...geometry.threads import thread_settings
from ..finding import Finding
from ..hole_sizes import Thread, thread_by_name, thread_named
from . import Rule, RuleContext

BASIC_DEPTH = 0.5413  # × P: the basic thread depth H1 of a 60° thread (ISO 68-1: 5/8 × 0.866 P)
CLEAR_START = 1e-3  # mm: the tap's path is probed from this far outside the entry


def _faces(hole: dict) -> tuple[str, ...]:
    return tuple(hole["faces"])


def _modelled(hole: dict) -> dict | None:
    thread = hole.get("thread")
    if not thread:
        return None
    tolerances = thread_settings()
    named = thread_named(thread["major_diameter"], thread["pitch"], tolerances["name_major_tol"], tolerances["name_pitch_tol"])
    return {
        "major": named.major if named else thread["major_diameter"],
        "pitch": thread["pitch"] if thread["pitch"] else (named.pitch if named else None),
        "name": named.name if named else f"Ø{thread['major_diameter']:.3g}×{thread['pitch']:.3g}",
        "length": thread["length"],
        "end": thread["end"],
        "source": "modelled thread",
    }


def _cosmetic_threads(target: Any) -> list[tuple[Any, Thread]]:
    """PartDesign Holes of the target's body with a thread that is not modelled."""
    obj = getattr(target, "obj", None)
    found = []
    for feature in getattr(obj, "Group", None) or []:
        if getattr(feature, "TypeId", "") != "PartDesign::Hole":
            continue
        if not getattr(feature, "Threaded", False) or getattr(feature, "ModelThread", False):
            continue
        thread = thread_by_name(str(getattr(feature, "ThreadSize", "")))
        if thread is not None:
            found.append((feature, thread))
    return found


def _value(quantity: Any) -> float:
    return float(getattr(quantity, "Value", quantity))


def _hole_centres(feature: Any) -> list[Any]:
    """Global centres of the circles of a Hole's profile sketch."""
    import FreeCAD

    profile = getattr(feature, "Profile", None)
    sketch = profile[0] if isinstance(profile, tuple) else profile
    if sketch is None:
        return []
    placement = sketch.getGlobalPlacement() if hasattr(sketch, "getGlobalPlacement") else sketch.Placement
    centres = []
    for geometry in sketch.Geometry:
        if type(geometry).__name__ in ("Circle", "ArcOfCircle"):
            centres.append(placement.multVec(FreeCAD.Vector(geometry.Center)))
    return centres


def _on_axis(hole: dict, point: Any, tol: float) -> bool:
    import FreeCAD

    origin, axis = FreeCAD.Vector(*hole["position"]), FreeCAD.Vector(*hole["axis"])
    d = point - origin
    return (d - axis * d.dot(axis)).Length <= tol


def _cosmetic(hole: dict, cosmetic: list[tuple[Any, Thread]]) -> dict | None:
    for feature, thread in cosmetic:
        if abs(_value(feature.Diameter) - hole["diameter"]) > 0.01:
            continue
        if not any(_on_axis(hole, c, 0.01) for c in _hole_centres(feature)):
            continue
        length = hole["depth"]
        if str(getattr(feature, "ThreadDepthType", "")) in ("Dimension", "Tapped (DIN76)"):
            length = min(length, _value(feature.ThreadDepth))
        return {"major": thread.major, "pitch": thread.pitch, "name": thread.name, "length": length,
                "end": length, "source": f"cosmetic thread of {feature.Label}"}
    return None


def _tap_blocked(shape: Any, hole: dict, major: float) -> bool:
    """Material in the tap's path: a cylinder of the major Ø from just outside the entry, outward."""
    import FreeCAD
    import Part

    axis = FreeCAD.Vector(*hole["axis"])
    entry = FreeCAD.Vector(*hole["position"])
    reach = shape.BoundBox.DiagonalLength
    start = entry - axis * CLEAR_START
    path = Part.makeCylinder(major / 2, reach, start, -axis)
    return shape.common(path).Volume > 1e-6


def _square_to_setup(axis: tuple, tolerance_deg: float) -> bool:
    return max(abs(c) for c in axis) >= math.cos(math.radians(tolerance_deg))


def check(ctx: RuleContext) -> list[Finding]:
    s = ctx.settings
    severity = s.severity()
    cosmetic = _cosmetic_threads(ctx.target)
    findings = []
    for hole in holes_of(ctx.target):
        thread = _modelled(hole) or _cosmetic(hole, cosmetic)
        if thread is None:
            continue
        faces = _faces(hole)
        name, major, pitch = thread["name"], thread["major"], thread["pitch"]
        drill = settle(tap_drill_bore(hole).diameter)

        def where(problem: str) -> dict:
            return {"elements": faces, "location": hole["position"], "facts": {"thread": name, "problem": problem}}  # noqa: B023
        if pitch:
            engagement = (major - drill) / (2 * BASIC_DEPTH * pitch)
            low, high = s.number("min_engagement"), s.number("max_engagement")
            if engagement < low:
                findings.append(ctx.finding(
                    severity,
                    f"Tapped hole {name}: the tap drill Ø{drill:.4g} is too large for the thread, it leaves "
                    f"{engagement:.0%} thread engagement (at least {low:.0%}); the thread strips ({thread['source']})",
                    measured=round(engagement, 4), limit=low, unit="ratio",
                    suggestion=f"Drill the standard tap drill for {name} (about Ø{major - pitch:.3g}: D - P)",
                    **where(f"tap drill Ø{drill:.4g} too large ({engagement:.0%} thread engagement)")))
            elif engagement > high:
                findings.append(ctx.finding(
                    severity,
                    f"Tapped hole {name}: the tap drill Ø{drill:.4g} is smaller than the thread's minor Ø "
                    f"({engagement:.0%} engagement, at most {high:.0%}): the tap cuts the crest and breaks "
                    f"({thread['source']})",
                    measured=round(engagement, 4), limit=high, unit="ratio",
                    suggestion=f"Drill the standard tap drill for {name} (about Ø{major - pitch:.3g}: D - P)",
                    **where(f"tap drill Ø{drill:.4g} below the minor Ø ({engagement:.0%} engagement)")))
        ratio = thread["length"] / major
        if ratio < s.number("min_length_ratio"):
            findings.append(ctx.finding(
                severity,
                f"Tapped hole {name}: {thread['length']:.3g} mm of thread is {ratio:.2g}×D, below "
                f"{s.number('min_length_ratio'):g}×D: too few turns carry the screw's load ({thread['source']})",
                measured=round(ratio, 4), limit=s.number("min_length_ratio"), unit="ratio",
                suggestion="Lengthen the thread, or use a helical insert or a through bolt",
                **where(f"thread only {ratio:.2g}×D long")))
        elif ratio > s.number("max_length_ratio"):
            findings.append(ctx.finding(
                severity,
                f"Tapped hole {name}: {thread['length']:.3g} mm of thread is {ratio:.2g}×D, above "
                f"{s.number('max_length_ratio'):g}×D: turns past that add no strength and risk the tap ({thread['source']})",
                measured=round(ratio, 4), limit=s.number("max_length_ratio"), unit="ratio",
                suggestion=f"Shorten the thread to about {s.number('max_length_ratio'):g}×D",
                **where(f"thread {ratio:.2g}×D long")))
        if not hole["through"] and pitch:
            runout = (hole["depth"] - thread["end"]) / pitch
            if runout < s.number("min_runout_pitches") - 1e-6:
                findings.append(ctx.finding(
                    severity,
                    f"Blind tapped hole {name}: the drill goes {runout:.2g} pitches past the thread, the tap's "
                    f"chamfer needs {s.number('min_runout_pitches'):g} ({thread['source']})",
                    measured=round(runout, 4), limit=s.number("min_runout_pitches"), unit="ratio",
                    suggestion=f"Drill {s.number('min_runout_pitches') * pitch:.2g} mm deeper than the thread",
                    **where(f"drill run-out {runout:.2g} pitches")))
        if not _square_to_setup(hole["axis"], s.number("axis_tolerance_deg")):
            findings.append(ctx.finding(
                severity,
                f"Tapped hole {name}: its axis is not along X, Y or Z, so no 3-axis setup feeds the tap along it",
                suggestion="Turn the hole square to a face of the part, or plan a tilted fixture or a 5-axis setup",
                **where("axis off the 3-axis setups")))
        elif _tap_blocked(ctx.target.shape, hole, major):
            findings.append(ctx.finding(
                severity,
                f"Tapped hole {name}: the part stands in the tap's way along the hole's axis outside its entry",
                suggestion="Move the obstruction or the hole, or plan an angle head",
                **where("the part blocks the tap")))
    return findings


RULE = Rule(
    id="cnc.tapped_hole",
    title="Tapped hole: tap drill, thread length or tap access",
    description=(
        "Judges every tapped hole (a modelled thread, or a PartDesign Hole's cosmetic thread) as one: the thread "
        "engagement its tap drill leaves, its thread length against its diameter, the drill's run-out past the "
        "thread in a blind hole, and whether a tap reaches it along its axis."
    ),
    help=(
        "**Why:** a tap drill too large leaves a shallow thread that strips, one too small breaks the tap; a thread "
        "under 1×D does not carry the screw's load; a blind hole needs room for the tap's chamfer; a tap feeds "
        "only along the hole's axis.\n\n"
        "**Fix:** drill the standard tap drill (about D - P), thread 1.5-2×D, drill a few pitches deeper than the "
        'thread. Thresholds: `[rules."cnc.tapped_hole"]`.'
    ),
    check=check,
)

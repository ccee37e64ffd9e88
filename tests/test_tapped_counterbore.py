"""cnc.tapped_hole on a tapped counterbore: the thread is cut in the Ø18.5 recess (the M20×1.5 tap drill) that
steps down to a Ø13 passage, as in a cable gland body. The tap drill is the bore beside the thread nearest its
minor Ø, not the narrowest bore of the hole (the Ø13 passage read as the tap drill gave "431 % engagement").
Parts built here with constructed dimensions; engagement = (D - drill) / (2 × 0.5413 P) (ISO 68-1)."""

from __future__ import annotations

import pytest
import thread_parts as tp
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.dfm.rules import RuleContext, Target, load_rules
from freecad_spatial.spatial_tools.geometry.threads import find_threads
from freecad_spatial.spatial_tools.refs import global_shape

V = FreeCAD.Vector
MAJOR, PITCH = 20.0, 1.5  # M20×1.5
PASSAGE = 13.0
HEIGHT, RECESS = 40.0, 34.0  # the block's height; the recess's depth from the top face
THREAD = 24.0  # helix length: with the groove's width at both ends about 1.25×D of thread


def _run(doc, obj) -> list:
    prof = load_profile("cnc-3axis")
    rule = load_rules().rules["cnc.tapped_hole"]
    target = Target(obj, global_shape(obj))
    return list(rule.check(RuleContext(rule, doc, prof, prof.settings("cnc.tapped_hole"), [target], target)))


def _tapped_counterbore(drill: float):
    """A 40 × 40 × 40 block, a Ø13 passage through along Z, from the top a Ø``drill`` recess 34 deep with an
    M20×1.5 internal thread swept along it (z 11..35): the thread lies wholly beside the recess."""
    block = Part.makeBox(40, 40, HEIGHT, V(-20, -20, 0))
    block = block.cut(Part.makeCylinder(PASSAGE / 2, HEIGHT + 2, V(0, 0, -1)))
    block = block.cut(Part.makeCylinder(drill / 2, RECESS + 1, V(0, 0, HEIGHT - RECESS)))
    groove = tp.helix_groove(MAJOR / 2, drill / 2, PITCH, THREAD, internal=True)
    return block.cut(groove.translated(V(0, 0, HEIGHT - RECESS + 5)))


def test_a_thread_in_a_counterbore_is_judged_against_the_counterbore_not_the_passage(doc):
    good = add_shape(doc, "Good", _tapped_counterbore(18.5))  # the ISO 2306 tap drill of M20×1.5
    assert [t.internal for t in find_threads(good.Shape)] == [True]
    assert _run(doc, good) == []


def test_a_counterbore_too_large_for_its_thread_is_the_tap_drill_found_too_large(doc):
    loose = add_shape(doc, "Loose", _tapped_counterbore(19.2))
    (finding,) = _run(doc, loose)
    assert finding.measured == pytest.approx((MAJOR - 19.2) / (2 * 0.5413 * PITCH), abs=0.01)  # 49 %
    assert "too large" in finding.message and "Ø19.2" in finding.message


def test_the_external_thread_of_a_gland_nut_is_no_tapped_hole(doc):
    """tests/thread_parts.gland_nut: M20×1.5 outside, an M12×1.5 bore through tapped at its minor Ø: a good
    tapped hole, and the outside thread is not one."""
    obj = add_shape(doc, "Gland", tp.gland_nut())
    outside = {f"Face{i + 1}" for t in find_threads(obj.Shape) if not t.internal for i in t.faces}
    assert outside
    findings = _run(doc, obj)
    assert not [f for f in findings if set(f.elements) & outside]
    assert not [f for f in findings if "engagement" in f.message]

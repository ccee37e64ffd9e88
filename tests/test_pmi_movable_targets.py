"""Issue 20: a datum target's movable flag, from the file's semantic PMI or, when that is silent, from the
target symbol's own drawing (ASME Y14.5: the target circle with two tangent lines meeting at an apex).

NIST FTC 10 draws its four datum targets (K1, K2, L1, L2) with the plain symbol: its presentation has a
circle, the divider, the label strokes and a leader with an arrowhead, and no tangent pair; NIST's list calls
L1 and L2 movable, which the file states nowhere (only a general note names 'movable datum targets').
The constructed cases add, to the same file, what a file that does say it would hold: two tangents of the
symbol circle meeting at an apex at a distance we choose, or the CAx-IF ``DIRECTION('movable direction')``.
Expected directions and radii are the values constructed here.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import pytest
from conftest import CORPORA

from freecad_spatial.spatial_tools.gdt.pmi_import import _movable, pmi_records
from freecad_spatial.spatial_tools.gdt.pmi_reader import StepGraph
from freecad_spatial.spatial_tools.gdt.pmi_target_symbol import fit_circle, read_symbol

FTC10 = CORPORA / "nist-pmi" / "step" / "nist_ftc_10_asme1_ap242-e2.stp"
CTC02 = CORPORA / "nist-pmi" / "step" / "nist_ctc_02_asme1_ap242-e2.stp"
TARGETS = {"K1": 18373, "K2": 18405, "L1": 18437, "L2": 18469}  # DATUM_TARGET ids in FTC 10
CURVE_SETS = {"L1": 18455, "L2": 18487}  # their TESSELLATED_CURVE_SETs (see the DRAUGHTING_CALLOUTs)
# The symbol circle: its divider is the line x = 28.123981 from z = 47.518388 to z = 55.685055 (L1, plane y = 28).
L1_CENTRE = (28.123981, 28.0, (47.518388 + 55.685055) / 2)
L1_RADIUS = (55.685055 - 47.518388) / 2

needs_corpus = pytest.mark.skipif(not FTC10.is_file(), reason="needs the NIST PMI corpus")


def _tangent_pair(centre, radius, direction, distance, u=(1.0, 0.0, 0.0), w=(0.0, 0.0, 1.0)):
    """Apex at ``distance`` from ``centre`` along ``direction`` (an angle in the u-w plane) and the two
    points where the tangents from it touch the circle (at ±acos(r/D) from the centre-apex line)."""
    def at(angle, length):
        return tuple(centre[k] + length * (math.cos(angle) * u[k] + math.sin(angle) * w[k]) for k in range(3))

    spread = math.acos(radius / distance)
    return at(direction, distance), at(direction + spread, radius), at(direction - spread, radius)


def _circle(centre, radius, n=90, u=(1.0, 0.0, 0.0), w=(0.0, 0.0, 1.0)):
    return [tuple(centre[k] + radius * (math.cos(2 * math.pi * i / n) * u[k] + math.sin(2 * math.pi * i / n) * w[k]) for k in range(3))
            for i in range(n + 1)]


def _with_tangents(text: str, curve_set: int, centre, radius, direction: float, distance: float) -> str:
    """The file with two tangents of the symbol circle drawn into ``curve_set`` (new coordinates, two new polylines)."""
    m = re.search(rf"#{curve_set}=TESSELLATED_CURVE_SET\('[^']*',#(\d+),", text)
    coords = int(m.group(1))
    cm = re.search(rf"#{coords}=COORDINATES_LIST\('[^']*',(\d+),\((.*?)\)\);", text, re.S)
    n = int(cm.group(1))
    apex, f1, f2 = _tangent_pair(centre, radius, direction, distance)
    extra = ",".join("({:.6f},{:.6f},{:.6f})".format(*p) for p in (apex, f1, f2))
    text = text.replace(cm.group(0), f"#{coords}=COORDINATES_LIST('',{n + 3},({cm.group(2)},{extra}));")
    sm = re.search(rf"(#{curve_set}=TESSELLATED_CURVE_SET\('[^']*',#\d+,\(.*?)\)\);", text, re.S)
    return text.replace(sm.group(0), f"{sm.group(1)},({n + 1},{n + 2}),({n + 1},{n + 3})));")


def _with_movable_direction(text: str, target: int, ratios: tuple[float, float, float]) -> str:
    """The file with the CAx-IF 6.6.3 statement: the target's shape representation holds DIRECTION('movable direction')."""
    context = re.search(r"#(\d+)=\(\s*GEOMETRIC_REPRESENTATION_CONTEXT", text).group(1)
    added = (f"#990001=PROPERTY_DEFINITION('','',#{target});\n"
             f"#990002=SHAPE_REPRESENTATION_WITH_PARAMETERS('',(#990003),#{context});\n"
             f"#990003=DIRECTION('movable direction',({ratios[0]:.6f},{ratios[1]:.6f},{ratios[2]:.6f}));\n"
             f"#990004=SHAPE_DEFINITION_REPRESENTATION(#990001,#990002);\n")
    head, tail = text.rsplit("ENDSEC;", 1)
    return head + added + "ENDSEC;" + tail


# --- the symbol's geometry, on constructed polylines ------------------------------------------


def test_circle_fit_recovers_a_constructed_circle_in_a_tilted_plane():
    u = (1 / math.sqrt(2), 1 / math.sqrt(2), 0.0)
    w = (0.0, 0.0, 1.0)
    circle = fit_circle(_circle((3.0, -2.0, 7.0), 2.5, n=40, u=u, w=w)[:-1])
    assert circle.radius == pytest.approx(2.5, abs=1e-9)
    assert circle.centre == pytest.approx((3.0, -2.0, 7.0), abs=1e-9)
    assert abs(circle.normal[0] * u[0] + circle.normal[1] * u[1]) < 1e-9 and abs(circle.normal[2]) < 1e-9


@pytest.mark.parametrize("angle", [0.0, 0.7, math.pi / 2, 2.5, -2.0])
def test_two_tangents_meeting_outside_make_the_movable_symbol_and_give_its_direction(angle):
    centre, r = (10.0, 0.0, 5.0), 4.0
    apex, f1, f2 = _tangent_pair(centre, r, angle, 2.2 * r)
    drawn = read_symbol([_circle(centre, r), [f1, apex], [apex, f2], [centre, (centre[0] + 30, 0.0, centre[2] - 30)]])
    assert drawn["symbol"] == "movable"
    assert drawn["direction"] == pytest.approx([math.cos(angle), 0.0, math.sin(angle)], abs=1e-6)
    assert drawn["radius"] == pytest.approx(r, rel=1e-6)


def test_a_teardrop_drawn_as_one_polyline_is_the_movable_symbol_too():
    r = 3.0
    spread = math.acos(r / (2 * r))
    # the arc from one tangent point round the back to the other, then to the apex and back
    arc = [(r * math.cos(a), 0.0, r * math.sin(a)) for a in (spread + i * (2 * math.pi - 2 * spread) / 80 for i in range(81))]
    outline = arc + [(2 * r, 0.0, 0.0), arc[0]]
    drawn = read_symbol([outline])
    assert drawn["symbol"] == "movable" and drawn["direction"] == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)


def test_plain_symbol_radial_leader_arrowheads_and_near_misses_are_not_movable():
    centre, r = (0.0, 0.0, 0.0), 4.0
    circle = _circle(centre, r)
    divider = [(0.0, 0.0, -r), (0.0, 0.0, r)]
    leader = [(r * 0.6, 0.0, -r * 0.8), (20.0, 0.0, -30.0)]  # starts on the circle, points along a radius
    arrow = [[(20.0, 0.0, -30.0), (19.0, 0.0, -28.0)], [(20.0, 0.0, -30.0), (18.5, 0.0, -28.8)]]
    assert read_symbol([circle, divider, leader, *arrow])["symbol"] == "plain"
    apex, f1, f2 = _tangent_pair(centre, r, 0.0, 2 * r)
    assert read_symbol([circle, [f1, apex]])["symbol"] == "plain"  # one tangent only
    shifted = tuple(p * 1.3 for p in f2)  # the second line misses the circle by 30 % of its radius
    assert read_symbol([circle, [f1, apex], [apex, shifted]])["symbol"] == "plain"
    offplane = (apex[0], 5.0, apex[2])  # the lines leave the circle's plane
    assert read_symbol([circle, [f1, offplane], [offplane, f2]])["symbol"] == "plain"
    assert read_symbol([divider, leader])["symbol"] == "none"  # nothing circular at all


# --- NIST FTC 10: what the file draws and says -------------------------------------------------


@needs_corpus
def test_ftc10_targets_are_drawn_with_the_plain_symbol_and_no_semantic_flag():
    graph = StepGraph(FTC10.read_text(encoding="latin-1"))
    for label, step_id in TARGETS.items():
        drawn = read_symbol(graph.presentation_polylines(step_id))
        assert drawn["symbol"] == "plain", label
        assert drawn["radius"] == pytest.approx(L1_RADIUS, rel=1e-4), label  # every target symbol has the same circle
        assert graph.movable_direction(step_id) is None, label


@needs_corpus
def test_ftc10_with_tangents_drawn_for_l1_and_l2_reads_them_movable_and_keeps_k_plain():
    text = FTC10.read_text(encoding="latin-1")
    graph = StepGraph(text)
    l2_centre = read_symbol(graph.presentation_polylines(TARGETS["L2"]))  # L2's circle sits elsewhere: fit it first
    assert l2_centre["symbol"] == "plain"
    from freecad_spatial.spatial_tools.gdt.pmi_target_symbol import circles

    c2 = circles(graph.presentation_polylines(TARGETS["L2"]))[0]
    text = _with_tangents(text, CURVE_SETS["L1"], L1_CENTRE, L1_RADIUS, direction=math.radians(30), distance=2 * L1_RADIUS)
    text = _with_tangents(text, CURVE_SETS["L2"], c2.centre, c2.radius, direction=math.radians(-90), distance=1.8 * c2.radius)
    graph = StepGraph(text)
    found = {label: read_symbol(graph.presentation_polylines(i)) for label, i in TARGETS.items()}
    assert found["K1"]["symbol"] == found["K2"]["symbol"] == "plain"
    assert found["L1"]["symbol"] == found["L2"]["symbol"] == "movable"
    assert found["L1"]["direction"] == pytest.approx([math.cos(math.radians(30)), 0.0, math.sin(math.radians(30))], abs=1e-5)
    assert found["L2"]["direction"] == pytest.approx([0.0, 0.0, -1.0], abs=1e-5)


@needs_corpus
def test_semantic_movable_direction_is_read_first_and_said_so():
    text = _with_movable_direction(FTC10.read_text(encoding="latin-1"), TARGETS["L1"], (0.0, 0.0, 2.0))
    graph = StepGraph(text)
    assert graph.movable_direction(TARGETS["L1"]) == [0.0, 0.0, 1.0]
    assert graph.movable_direction(TARGETS["K1"]) is None
    # the flag and its source as the import records them: the statement wins over the (plain) drawing
    target = {"movable": True, "movable_direction": [0.0, 0.0, 1.0], "movable_source": "semantic",
              "presentation": graph.presentation_polylines(TARGETS["L1"])}
    assert _movable(target) == {"movable": True, "movable_direction": [0.0, 0.0, 1.0], "movable_source": "semantic", "symbol": "plain"}


@needs_corpus
def test_semantic_direction_on_a_placed_datum_target_feature():
    text = CTC02.read_text(encoding="latin-1")
    target = int(re.search(r"#(\d+)=PLACED_DATUM_TARGET_FEATURE\('Datum Target\.1'", text).group(1))
    graph = StepGraph(_with_movable_direction(text, target, (1.0, 1.0, 0.0)))
    assert graph.movable_direction(target) == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2), 0.0], abs=1e-6)


def test_records_carry_the_flag_direction_and_source_from_the_graphics():
    centre, r = (0.0, 0.0, 0.0), 4.0
    apex, f1, f2 = _tangent_pair(centre, r, math.pi, 3 * r)
    base = {"point": None, "letter": "L", "type": "area", "shape": "area", "length": 0.0, "width": 0.0, "faces": [],
            "movable": False, "movable_direction": None, "movable_source": None}
    pmi = {"datums": [], "tolerances": [], "dimensions": [],
           "datum_targets": [base | {"label": "L1", "number": 1, "presentation": [_circle(centre, r), [f1, apex, f2]]},
                             base | {"label": "L2", "number": 2, "presentation": [_circle(centre, r)]}]}
    records = {r["label"]: r for r in pmi_records(pmi, [])}
    assert records["L1"]["movable"] is True and records["L1"]["movable_source"] == "symbol_graphics"
    assert records["L1"]["movable_direction"] == pytest.approx([-1.0, 0.0, 0.0], abs=1e-6)
    assert records["L2"]["movable"] is False and records["L2"]["symbol"] == "plain"


# --- end to end: the OCP reader in its child process, FreeCAD's faces, the document objects ----------


needs_ocp = pytest.mark.skipif(importlib.util.find_spec("OCP") is None or not FTC10.is_file(),
                               reason="needs the cadquery-ocp bindings ('pmi' extra) and the NIST PMI corpus")


@needs_ocp
def test_import_reads_movable_targets_from_the_drawing_and_says_so_in_the_summary(tmp_path: Path):
    from conftest import FreeCAD

    from freecad_spatial.spatial_tools.gdt.pmi_import import import_pmi, read_pmi_records
    from freecad_spatial.spatial_tools.gdt.pmi_summary import summary_lines

    text = FTC10.read_text(encoding="latin-1")
    text = _with_tangents(text, CURVE_SETS["L1"], L1_CENTRE, L1_RADIUS, direction=math.radians(30), distance=2 * L1_RADIUS)
    path = tmp_path / "ftc10_movable_l1.stp"
    path.write_text(text, encoding="latin-1")
    plain = {r["label"]: r for r in read_pmi_records(FTC10)["records"] if r["kind"] == "datum_target"}
    assert not any(r["movable"] for r in plain.values()) and {r["symbol"] for r in plain.values()} == {"plain"}
    doc = FreeCAD.newDocument("movable")
    try:
        summary = import_pmi(doc, path)
        targets = {o.TargetLabel: o for o in doc.Objects if getattr(o, "TargetLabel", "")}
        assert sorted(targets) == ["K1", "K2", "L1", "L2"]
        assert targets["L1"].Movable and not targets["L2"].Movable and not targets["K1"].Movable
        d = targets["L1"].MovableDirection
        assert (d.x, d.y, d.z) == pytest.approx((math.cos(math.radians(30)), 0.0, math.sin(math.radians(30))), abs=1e-5)
        assert targets["K1"].MovableDirection.Length == 0
        lines = summary_lines(summary)
        said = [line for line in lines if "Datum target L1" in line and "graphics" in line]
        assert len(said) == 1, lines
    finally:
        FreeCAD.closeDocument(doc.Name)

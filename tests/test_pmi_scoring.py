"""The bench's scoring (nist_groundtruth) at its three levels, on NIST rows and hand-made records."""

from __future__ import annotations

from pathlib import Path

from freecad_spatial.spatial_tools.gdt import nist_groundtruth as gt

CSV = Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "ground_truth" / "CTC-FTC-Test-Cases.csv"


def _row(text: str, kind: str) -> gt.Row:
    row = gt.Row(case="X", text=text, type=kind)
    if kind in gt.TYPE_CHARACTERISTIC:
        row.segments = gt.parse_frame(text)
    return row


def _frame(**over) -> dict:
    base = {"kind": "tolerance", "characteristic": "profile_of_a_surface", "value": 2.5, "diameter_zone": False,
            "material_modifier": "none", "datums": ["A", "B", "C"], "faces": ["P.Face1"], "unmatched_faces": 0}
    return base | over


def _score(rows, records, level):
    return gt.score_case(rows, records, "mm", strict=level)


def test_nist_modifier_notation_is_parsed():
    (seg,) = gt.parse_frame("⌓ | 2.5 (U)0.5 | A | B | C")
    assert (seg.value, seg.unequal, seg.datums) == (2.5, 0.5, ["A", "B", "C"])
    (seg,) = gt.parse_frame("⊕ | ∅0.75 (P)50 | A | B | C")
    assert (seg.value, seg.diameter, seg.projected) == (0.75, True, 50.0)
    (seg,) = gt.parse_frame("⊕ | S∅.025 | D | B | C")
    assert seg.spherical and seg.diameter


def test_full_level_needs_the_unequal_offset_the_datum_level_does_not():
    row = _row("⌓ | 2.5 (U)0.5 | A | B | C", "Surface profile tolerance")
    plain = _frame(modifiers=[])
    offset = _frame(modifiers=["unequal_bilateral"], unequal_offset=0.5)
    assert _score([row], [plain], "datums")["Surface profile tolerance"]["found"] == 1
    assert _score([row], [plain], "full")["Surface profile tolerance"]["found"] == 0
    assert _score([row], [offset], "full")["Surface profile tolerance"]["found"] == 1


def test_full_level_checks_uos_all_around_and_unit_basis():
    uos = _row("⌓ | .06 | A | B | C (UOS)", "Surface profile tolerance")
    uos.whole_part = True
    record = _frame(value=0.06, whole_part=False)
    assert _score([uos], [record], "full")["Surface profile tolerance"]["found"] == 0
    assert _score([uos], [record | {"whole_part": True}], "full")["Surface profile tolerance"]["found"] == 1
    flat = _row("▱ | .005 / .25 X .25", "Flatness tolerance")
    flat.unit_basis = [0.25, 0.25]
    record = _frame(characteristic="flatness", value=0.005, datums=[], unit_basis=[0.25, 0.25])
    assert _score([flat], [record], "full")["Flatness tolerance"]["found"] == 1
    assert _score([flat], [record | {"unit_basis": []}], "full")["Flatness tolerance"]["found"] == 0


def test_a_limits_row_does_not_take_the_dimension_a_deviation_row_needs():
    """CTC 01: '∅35 0/-0.2' and '∅35.2/34.8' against imported ∅35 0/-0.2 and ∅35 range 34.8-35.2."""
    rows = []
    for text in ("∅35.2/34.8", "∅35 0/-0.2"):
        row = gt.Row(case="CTC 01", text=text, type="Dimension")
        row.nominal, row.deviations, row.limits, row.angular = gt.parse_dimension(text)
        rows.append(row)
    records = [{"kind": "dimension", "value": 35.0, "upper": 0.0, "lower": -0.2, "range": None, "faces": ["P.Face1"]},
               {"kind": "dimension", "value": 35.0, "upper": None, "lower": None, "range": [34.8, 35.2], "faces": ["P.Face2"]}]
    assert _score(rows, records, "full")["Dimension (all kinds)"]["found"] == 2


def test_a_rounded_nominal_matches_at_the_precision_written():
    row = gt.Row(case="FTC 06", text="↧.56 ±.02", type="Dimension - hole")
    row.nominal, row.deviations, row.limits, row.angular = gt.parse_dimension(row.text)
    record = {"kind": "dimension", "value": 0.5625 * 25.4, "upper": 0.02 * 25.4, "lower": -0.02 * 25.4, "range": None, "faces": []}
    assert gt.score_case([row], [record], "inch", strict="full")["Dimension (all kinds)"]["found"] == 1
    assert gt.score_case([row], [record | {"value": 0.57 * 25.4}], "inch", strict="full")["Dimension (all kinds)"]["found"] == 0


def test_datum_targets_are_scored_by_label_shape_and_size():
    row = gt.Row(case="CTC 02", text="K1 ∅0.85", type="Datum target")
    row.target_label, row.target_shape, row.target_size = "K1", "", 0.85
    record = {"kind": "datum_target", "label": "K1", "shape": "circle", "size": [85.0], "movable": False, "faces": ["P.Face1"],
              "unmatched_faces": 0}
    assert _score([row], [record], "value")["Datum target"]["found"] == 1
    assert _score([row], [record], "datums")["Datum target"]["found"] == 0  # the file states ∅85, NIST ∅0.85
    assert _score([row], [record | {"size": [0.85]}], "full")["Datum target"]["found"] == 1


def test_a_frame_value_matches_at_the_precision_nist_writes():
    """CTC 02: NIST writes '⏊ | ∅0.25 | K'; the file holds 0.254 with a 2-decimal precision qualifier."""
    row = _row("⏊ | ∅0.25 | K", "Perpendicularity tolerance")
    record = _frame(characteristic="perpendicularity", value=0.254, diameter_zone=True, datums=["K"])
    assert _score([row], [record], "full")["Perpendicularity tolerance"]["found"] == 1
    assert _score([row], [record | {"value": 0.26}], "full")["Perpendicularity tolerance"]["found"] == 0


def test_an_exact_match_comes_before_a_rounded_one():
    """FTC 07: '⊕ | ∅.05 | A | B | C' must take the file's .05, not a .045 that rounds to it, whatever the order."""
    row = _row("⊕ | ∅.05 | A | B | C", "Position tolerance")
    near = _frame(characteristic="position", value=0.045, diameter_zone=True)
    exact = _frame(characteristic="position", value=0.05, diameter_zone=True)
    other = _row("⊕ | ∅.045 | A | B | C", "Position tolerance")
    scored = _score([row, other], [near, exact], "full")["Position tolerance"]
    assert scored["found"] == 2 and scored["missed"] == []


def test_a_value_half_way_rounds_up_to_the_written_one():
    """FTC 07: the file's .045 is '.05' written to 2 places (half-up, as drawings round); .055 is not."""
    row = _row("⊕ | ∅.05 | A | B | C", "Position tolerance")
    assert _score([row], [_frame(characteristic="position", value=0.045, diameter_zone=True, datums=["A", "B", "C"])],
                  "full")["Position tolerance"]["found"] == 1
    assert _score([row], [_frame(characteristic="position", value=0.055, diameter_zone=True)], "full")["Position tolerance"]["found"] == 0


def test_rounds_to_is_half_up_at_the_written_precision():
    assert gt.rounds_to(0.4375, 0.438, 3)
    assert gt.rounds_to(0.4375 * 25.4 / 25.4, 0.438, 3)
    assert not gt.rounds_to(0.4385, 0.438, 3)  # that one is .439
    assert gt.rounds_to(0.4384, 0.438, 3) and not gt.rounds_to(0.4374, 0.438, 3)


def test_an_inch_nominal_half_way_matches_the_value_written_to_three_places():
    """FTC 07: NIST writes '∅.438 ± .01' for the file's ∅0.4375 (7/16")."""
    row = gt.Row(case="FTC 07", text="∅.438 ± .01", type="Dimension - hole")
    row.nominal, row.deviations, row.limits, row.angular = gt.parse_dimension(row.text)
    record = {"kind": "dimension", "value": 0.4375 * 25.4, "upper": 0.01 * 25.4, "lower": -0.01 * 25.4, "range": None, "faces": []}
    assert gt.score_case([row], [record], "inch", strict="full")["Dimension (all kinds)"]["found"] == 1
    assert gt.score_case([row], [record | {"value": 0.4385 * 25.4}], "inch", strict="full")["Dimension (all kinds)"]["found"] == 0


def test_nists_k1_diameter_is_an_erratum_scored_against_the_file():
    """CTC 02's file states the K1 target ∅85 mm (#55, mm unit); NIST's list writes ∅0.85: corrected, with evidence."""
    rows = gt.load_rows(CSV)
    (k1,) = [r for r in rows if r.case == "CTC 02" and r.text.startswith("K1")]
    assert k1.target_size == 85.0 and "#55" in k1.erratum and "MILLI" in k1.erratum
    record = {"kind": "datum_target", "label": "K1", "shape": "circle", "size": [85.0], "movable": False, "faces": ["P.Face1"],
              "unmatched_faces": 0}
    assert _score([k1], [record], "full")["Datum target"]["found"] == 1
    assert [r for r in rows if r.erratum] == [k1]  # nothing else silently corrected

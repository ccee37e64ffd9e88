"""gdt.* validation rules (gdt.md): each fires on an invalid frame with its faces, stays silent on a valid one; bonus tolerance."""

from __future__ import annotations

import pytest
from conftest import FreeCAD, Part, add_shape, error, ok

from freecad_spatial.spatial_tools.annotations import store
from freecad_spatial.spatial_tools.gdt.bonus import bonus_tolerance
from freecad_spatial.spatial_tools.gdt.validation import (
    CATALOGUE,
    check_gdt,
    gdt_findings,
    load_rules,
)

V = FreeCAD.Vector
ISO = "ISO 1101"


def plate(doc, diameters=(10.0, 10.0), name="Plate"):
    """A 60 x 30 x 10 block with through holes of ``diameters`` at x = 15, 45 (y = 15)."""
    shape = Part.makeBox(60, 30, 10)
    for x, d in zip((15, 45), diameters, strict=False):
        shape = shape.cut(Part.makeCylinder(d / 2, 10, V(x, 15, 0)))
    return add_shape(doc, name, shape)


def face(obj, predicate) -> str:
    matches = [i + 1 for i, f in enumerate(obj.Shape.Faces) if predicate(f)]
    assert len(matches) == 1, f"{len(matches)} faces match"
    return f"Face{matches[0]}"


def plane_at(obj, axis: str, value: float) -> str:
    return face(obj, lambda f: f.Surface.__class__.__name__ == "Plane" and abs(getattr(f.CenterOfMass, axis) - value) < 1e-6
                and abs(getattr(f.normalAt(0, 0), axis)) > 0.99)


def hole(obj, x: float) -> str:
    return face(obj, lambda f: f.Surface.__class__.__name__ == "Cylinder" and abs(f.CenterOfMass.x - x) < 1e-6)


def of_rule(doc, rule):
    return [f for f in check_gdt(doc).findings if f.rule == rule]


@pytest.fixture
def part(doc):
    obj = plate(doc)
    doc.Meta = {**doc.Meta, "GeneralTolerance": "ISO 2768-mK"}  # keeps undimensioned_feature_of_size quiet
    return obj


@pytest.fixture
def abc(doc, part):
    """Datums A (bottom), B (back, y = 30), C (left, x = 0)."""
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(part, 'z', 0)}"])
    store.add_datum_feature(doc, "B", [f"Plate.{plane_at(part, 'y', 30)}"])
    store.add_datum_feature(doc, "C", [f"Plate.{plane_at(part, 'x', 0)}"])
    return part


def test_every_catalogued_rule_is_implemented():
    assert list(load_rules()) == list(CATALOGUE)
    assert len(CATALOGUE) == 10


def test_no_gdt_no_findings(doc, part):
    assert check_gdt(doc).findings == [] and gdt_findings(doc) == []


def test_form_with_datum(doc, abc):
    top = plane_at(abc, "z", 10)
    bad = store.add_feature_control_frame(doc, "flatness", 0.05, [f"Plate.{top}"], datums=["A"])
    store.add_feature_control_frame(doc, "flatness", 0.05, [f"Plate.{plane_at(abc, 'y', 0)}"])
    found = of_rule(doc, "gdt.form_with_datum")
    assert len(found) == 1
    assert found[0].object == "Plate" and found[0].elements == (top,) and bad.Name in found[0].message
    assert found[0].location[2] == pytest.approx(10) and found[0].suggestion


def test_missing_datum(doc, abc):
    bad = store.add_feature_control_frame(doc, "perpendicularity", 0.05, [f"Plate.{hole(abc, 15)}"], diameter_zone=True)
    store.add_feature_control_frame(doc, "perpendicularity", 0.05, [f"Plate.{hole(abc, 45)}"], datums=["A"], diameter_zone=True)
    # Position of a pattern of two holes may be datum-free (gdt.md).
    store.add_feature_control_frame(doc, "position", 0.1, [f"Plate.{hole(abc, 15)}", f"Plate.{hole(abc, 45)}"], diameter_zone=True)
    found = of_rule(doc, "gdt.missing_datum")
    assert [f.elements for f in found] == [(hole(abc, 15),)] and bad.Name in found[0].message


def test_missing_datum_on_a_single_hole_position(doc, abc):
    store.add_feature_control_frame(doc, "position", 0.1, [f"Plate.{hole(abc, 15)}"], diameter_zone=True)
    assert [f.elements for f in of_rule(doc, "gdt.missing_datum")] == [(hole(abc, 15),)]


def test_undefined_datum(doc, part):
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(part, 'z', 0)}"])
    bad = store.add_feature_control_frame(doc, "parallelism", 0.05, [f"Plate.{plane_at(part, 'z', 10)}"], datums=["D"])
    store.add_feature_control_frame(doc, "perpendicularity", 0.05, [f"Plate.{plane_at(part, 'x', 60)}"], datums=["A"])
    found = of_rule(doc, "gdt.undefined_datum")
    assert len(found) == 1 and found[0].elements == (plane_at(part, "z", 10),)
    assert bad.Name in found[0].message and "datum D" in found[0].message


def test_modifier_on_non_size(doc, abc):
    top = plane_at(abc, "z", 10)
    bad = store.add_feature_control_frame(doc, "parallelism", 0.05, [f"Plate.{top}"], datums=["A"], material_modifier="MMC")
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 15)}"], datums=["A", "B", "C"],
                                    diameter_zone=True, material_modifier="MMC")
    # Two opposed parallel planes are a feature of size (a width).
    store.add_feature_control_frame(doc, "symmetry", 0.1, [f"Plate.{plane_at(abc, 'x', 0)}", f"Plate.{plane_at(abc, 'x', 60)}"],
                                    datums=["A"], material_modifier="MMC", standard=ISO)
    found = of_rule(doc, "gdt.modifier_on_non_size")
    assert len(found) == 1 and found[0].elements == (top,) and bad.Name in found[0].message and "MMC" in found[0].message


def test_modifier_on_a_plane_datum_reference(doc, abc):
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 15)}"], datums=["A(M)"], diameter_zone=True)
    found = of_rule(doc, "gdt.modifier_on_non_size")
    assert len(found) == 1 and found[0].elements == (hole(abc, 15),) and "datum A" in found[0].message


def test_diameter_zone_on_plane(doc, abc):
    top = plane_at(abc, "z", 10)
    bad = store.add_feature_control_frame(doc, "parallelism", 0.05, [f"Plate.{top}"], datums=["A"], diameter_zone=True)
    store.add_feature_control_frame(doc, "perpendicularity", 0.05, [f"Plate.{hole(abc, 15)}"], datums=["A"], diameter_zone=True)
    found = of_rule(doc, "gdt.diameter_zone_on_plane")
    assert len(found) == 1 and found[0].elements == (top,) and bad.Name in found[0].message


def test_datum_order(doc, abc):
    bad = store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 15)}"], datums=["A", "B", "A"], diameter_zone=True)
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 45)}"], datums=["A", "B", "C"], diameter_zone=True)
    store.add_datum_reference_frame(doc, "A", "B", "C")
    drf = store.add_datum_reference_frame(doc, "", "B")
    found = of_rule(doc, "gdt.datum_order")
    assert len(found) == 2
    assert found[0].elements == (hole(abc, 15),) and bad.Name in found[0].message and "more than once" in found[0].message
    assert drf.Name in found[1].message and "without a primary" in found[1].message and found[1].elements == ()


def test_obsolete_symbol_only_under_asme(doc, abc):
    sides = [f"Plate.{plane_at(abc, 'x', 0)}", f"Plate.{plane_at(abc, 'x', 60)}"]
    asme = store.add_feature_control_frame(doc, "symmetry", 0.1, sides, datums=["B"])
    found = of_rule(doc, "gdt.obsolete_symbol")
    assert len(found) == 1 and asme.Name in found[0].message and set(found[0].elements) == {s.split(".")[1] for s in sides}
    doc.undo()
    store.add_feature_control_frame(doc, "symmetry", 0.1, sides, datums=["B"], standard=ISO)
    store.add_feature_control_frame(doc, "concentricity", 0.1, [f"Plate.{hole(abc, 15)}"], datums=["A"], standard=ISO, diameter_zone=True)
    assert of_rule(doc, "gdt.obsolete_symbol") == []
    store.add_feature_control_frame(doc, "concentricity", 0.1, [f"Plate.{hole(abc, 45)}"], datums=["A"], diameter_zone=True)
    assert [f.elements for f in of_rule(doc, "gdt.obsolete_symbol")] == [(hole(abc, 45),)]


def test_refinement(doc, abc):
    top = plane_at(abc, "z", 10)
    store.add_feature_control_frame(doc, "parallelism", 0.05, [f"Plate.{top}"], datums=["A"])
    bad = store.add_feature_control_frame(doc, "flatness", 0.1, [f"Plate.{top}"])
    found = of_rule(doc, "gdt.refinement")
    assert len(found) == 1 and found[0].elements == (top,) and bad.Name in found[0].message
    assert found[0].measured == 0.1 and found[0].limit == 0.05
    doc.undo()
    store.add_feature_control_frame(doc, "flatness", 0.02, [f"Plate.{top}"])
    assert of_rule(doc, "gdt.refinement") == []


def test_unlocated_hole(doc, abc):
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 15)}"], datums=["A", "B", "C"], diameter_zone=True)
    found = of_rule(doc, "gdt.unlocated_hole")
    assert len(found) == 1 and found[0].elements == (hole(abc, 45),) and found[0].location[0] == pytest.approx(45)
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 45)}"], datums=["A", "B", "C"], diameter_zone=True)
    assert of_rule(doc, "gdt.unlocated_hole") == []


def test_unlocated_hole_needs_a_toleranced_part(doc):
    plate(doc)
    store.add_size_dimension(doc, 60, [])  # a size dimension alone does not make the part toleranced
    assert of_rule(doc, "gdt.unlocated_hole") == []


def test_undimensioned_feature_of_size(doc, abc):
    doc.Meta = {}
    store.add_size_dimension(doc, 10, [f"Plate.{hole(abc, 15)}"], upper=0.1)
    found = of_rule(doc, "gdt.undimensioned_feature_of_size")
    assert len(found) == 1 and found[0].elements == (hole(abc, 45),)
    store.add_size_dimension(doc, 10, [f"Plate.{hole(abc, 45)}"], fit_code="H11")
    assert of_rule(doc, "gdt.undimensioned_feature_of_size") == []
    doc.undo()
    doc.Meta = {"GeneralTolerance": "ISO 2768-mK"}
    assert of_rule(doc, "gdt.undimensioned_feature_of_size") == []


def test_a_crashing_rule_is_an_error_finding(doc, abc, monkeypatch):
    from freecad_spatial.spatial_tools.gdt.validation import modifiers

    def boom(ctx):
        raise RuntimeError("boom")

    rules = dict(load_rules())
    rules["gdt.diameter_zone_on_plane"] = modifiers.RULES[1].__class__("gdt.diameter_zone_on_plane", "", boom)
    monkeypatch.setattr("freecad_spatial.spatial_tools.gdt.validation.load_rules", lambda: rules)
    found = of_rule(doc, "gdt.diameter_zone_on_plane")
    assert len(found) == 1 and found[0].severity.value == "error" and "crashed" in found[0].message


# --- the tool and bonus tolerance ------------------------------------------------------------


def test_bonus_analytic_cases():
    at_mmc = bonus_tolerance(0.2, 10.0, 10.0, 10.1)
    assert at_mmc.bonus == 0 and at_mmc.allowed == pytest.approx(0.2) and at_mmc.size_tolerance == pytest.approx(0.1)
    assert bonus_tolerance(0.2, 10.05, 10.0, 10.1).bonus == pytest.approx(0.05)
    assert bonus_tolerance(0.2, 10.05, 10.0, 10.1).allowed == pytest.approx(0.25)
    assert bonus_tolerance(0.2, 10.3, 10.0, 10.1).bonus == pytest.approx(0.1), "beyond LMC: clipped to the size tolerance"
    assert bonus_tolerance(0.2, 9.9, 10.0, 10.1).bonus == 0, "beyond MMC: never negative"
    # A shaft Ø10 -0.1/0: MMC 10, LMC 9.9.
    assert bonus_tolerance(0.1, 9.95, 10.0, 9.9).bonus == pytest.approx(0.05)
    # LMC mirrors MMC: the hole at 10.05 is 0.05 from its LMC 10.1.
    lmc = bonus_tolerance(0.1, 10.05, 10.0, 10.1, "LMC")
    assert lmc.bonus == pytest.approx(0.05) and lmc.allowed == pytest.approx(0.15)
    assert bonus_tolerance(0.1, 10.0, 10.0, 10.1, "LMC").bonus == pytest.approx(0.1)
    with pytest.raises(ValueError):
        bonus_tolerance(0.1, 10, 10, 10.1, "none")


def test_check_gdt_tool_reports_findings_and_bonus(doc):
    obj = plate(doc, diameters=(10.05, 10.0))
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(obj, 'z', 0)}"])
    store.add_size_dimension(doc, 10, [f"Plate.{hole(obj, 15)}"], upper=0.1, lower=0.0)
    measured = store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(obj, 15)}"], datums=["A", "B"],
                                               diameter_zone=True, material_modifier="MMC")
    no_size = store.add_feature_control_frame(doc, "perpendicularity", 0.05, [f"Plate.{hole(obj, 45)}"], datums=["A"],
                                              diameter_zone=True, material_modifier="MMC")
    result = ok(doc, "check_gdt")
    rules = {f["rule"] for f in result["findings"]}
    assert {"gdt.undefined_datum", "gdt.undimensioned_feature_of_size"} <= rules
    assert result["summary"]["error"] >= 1 and result["annotations"] == 4
    bonus = {b["frame"]: b for b in result["bonus"]}
    assert bonus[measured.Name]["actual"] == pytest.approx(10.05) and bonus[measured.Name]["mmc_size"] == pytest.approx(10.0)
    assert bonus[measured.Name]["bonus"] == pytest.approx(0.05) and bonus[measured.Name]["allowed"] == pytest.approx(0.25)
    assert "error" in bonus[no_size.Name]
    doc.Meta = {"GeneralTolerance": "ISO 2768-m"}  # ±0.2 over 6..30 mm: hole MMC 9.8, LMC 10.2
    general = {b["frame"]: b for b in ok(doc, "check_gdt")["bonus"]}[no_size.Name]
    assert general["bonus"] == pytest.approx(0.2) and general["size_source"] == "ISO 2768-m"


def test_check_gdt_fit_code_and_objects(doc):
    obj = plate(doc)
    other = plate(doc, name="Other")
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(obj, 'z', 0)}"])
    store.add_size_dimension(doc, 10, [f"Plate.{hole(obj, 15)}"], fit_code="H7")  # 10 +0.015/0
    store.add_feature_control_frame(doc, "perpendicularity", 0.02, [f"Plate.{hole(obj, 15)}"], datums=["A"],
                                    diameter_zone=True, material_modifier="LMC")
    store.add_feature_control_frame(doc, "flatness", 0.02, [f"Other.{plane_at(other, 'z', 10)}"], datums=["A"])
    result = ok(doc, "check_gdt", {"objects": ["Plate"]})
    assert [b["bonus"] for b in result["bonus"]] == [pytest.approx(0.015)]
    assert "gdt.form_with_datum" not in {f["rule"] for f in result["findings"]}
    assert "gdt.form_with_datum" in {f["rule"] for f in ok(doc, "check_gdt")["findings"]}
    assert "Nope" in error(doc, "check_gdt", {"objects": ["Nope"]})["message"]


def test_check_cli_includes_gdt_findings(doc, tmp_path):
    from freecad_spatial.spatial_tools.check.batch import CheckOptions, check_file

    obj = plate(doc)
    store.add_feature_control_frame(doc, "flatness", 0.02, [f"Plate.{plane_at(obj, 'z', 10)}"], datums=["A"])
    path = str(tmp_path / "gdt.FCStd")
    doc.saveCopy(path)  # the checker opens and closes its own document
    outcome = check_file(path, CheckOptions(process="cnc-3axis"))
    assert outcome.status == "ok", outcome.error
    assert {"gdt.form_with_datum", "gdt.undefined_datum"} <= {f.rule for f in outcome.findings}


# --- issue 20: what a supplier's imported PMI holds (common datums, counterbores, UOS profiles, patterns) -----------


def test_common_datum_letters_are_each_defined(doc, abc):
    """A common datum E(M)-F(M)-G(M) (NIST FTC 10) is defined by E, F and G: only a letter really missing is reported."""
    for letter, x in (("E", 60), ("F", 15), ("G", 45)):
        ref = f"Plate.{plane_at(abc, 'x', 60)}" if letter == "E" else f"Plate.{hole(abc, x)}"
        store.add_datum_feature(doc, letter, [ref])
    store.add_feature_control_frame(doc, "position", 0.8, [f"Plate.{hole(abc, 15)}"], datums=["A", "E(M)-F(M)-G(M)"],
                                    diameter_zone=True)
    store.add_datum_reference_frame(doc, "A", "E-F-G")
    assert of_rule(doc, "gdt.undefined_datum") == []
    bad = store.add_feature_control_frame(doc, "position", 0.8, [f"Plate.{hole(abc, 45)}"], datums=["A", "F-H"],
                                          diameter_zone=True)
    found = of_rule(doc, "gdt.undefined_datum")
    assert len(found) == 1 and bad.Name in found[0].message and "datum H," in found[0].message


def test_a_datum_modifier_inside_a_common_datum_is_judged_per_letter(doc, abc):
    store.add_datum_feature(doc, "F", [f"Plate.{hole(abc, 15)}"])
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(abc, 45)}"], datums=["F(M)-A(M)"], diameter_zone=True)
    found = of_rule(doc, "gdt.modifier_on_non_size")
    assert len(found) == 1 and "datum A is referenced at MMC" in found[0].message


def test_no_refinement_against_an_axis_position_or_a_bonus_zone(doc, abc):
    """Cylindricity 0.1 under ⌖ ⌀0 Ⓛ (NIST FTC 10): the position locates the axis and grows with the bonus; no refinement."""
    bore = f"Plate.{hole(abc, 15)}"
    store.add_feature_control_frame(doc, "position", 0.0, [bore], datums=["A", "B", "C"], diameter_zone=True,
                                    material_modifier="LMC")
    store.add_feature_control_frame(doc, "cylindricity", 0.1, [bore])
    top = f"Plate.{plane_at(abc, 'z', 10)}"
    store.add_feature_control_frame(doc, "parallelism", 0.2, [top], datums=["A"], material_modifier="MMC")
    store.add_feature_control_frame(doc, "flatness", 0.3, [top])
    assert of_rule(doc, "gdt.refinement") == []


def counterbored(doc):
    """A 60 x 30 x 10 block, two Ø6 holes at (15, 15) and (45, 15), each counterbored Ø11 × 4 deep from the top."""
    shape = Part.makeBox(60, 30, 10)
    for x in (15, 45):
        shape = shape.cut(Part.makeCylinder(3, 10, V(x, 15, 0))).cut(Part.makeCylinder(5.5, 4, V(x, 15, 6)))
    return add_shape(doc, "Plate", shape)


def test_counterbored_holes_are_features_of_size(doc):
    """⌖ ⌀0.635 Ⓜ on two counterbored holes' faces, floors included (NIST STC 06), is MMC on features of size."""
    obj = counterbored(doc)
    cylinders = [f"Plate.Face{i + 1}" for i, f in enumerate(obj.Shape.Faces) if f.Surface.__class__.__name__ == "Cylinder"]
    floors = [f"Plate.Face{i + 1}" for i, f in enumerate(obj.Shape.Faces)
              if f.Surface.__class__.__name__ == "Plane" and abs(f.CenterOfMass.z - 6) < 1e-6]
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(obj, 'z', 0)}"])
    store.add_feature_control_frame(doc, "position", 0.635, [*cylinders, *floors], datums=["A"], diameter_zone=True,
                                    material_modifier="MMC")
    assert len(cylinders) == 4 and len(floors) == 2 and of_rule(doc, "gdt.modifier_on_non_size") == []
    side = f"Plate.{plane_at(obj, 'x', 60)}"  # a plane along the axes: no longer stepped bores
    store.add_feature_control_frame(doc, "position", 0.635, [cylinders[0], side], datums=["A"], material_modifier="MMC")
    assert len(of_rule(doc, "gdt.modifier_on_non_size")) == 1


def whole_part_profile(doc, datums):
    frame = store.add_feature_control_frame(doc, "profile_of_a_surface", 1.5, [], datums=datums)
    frame.WholePart = True
    return frame


def test_a_whole_part_profile_locates_and_sizes_every_hole(doc, abc):
    """⌓ 1.5 A|B|C applied to all untoleranced surfaces (NIST FTC 10's UOS profile) covers both holes."""
    doc.Meta = {}
    store.add_feature_control_frame(doc, "flatness", 0.05, [f"Plate.{plane_at(abc, 'z', 10)}"])
    assert of_rule(doc, "gdt.unlocated_hole") and of_rule(doc, "gdt.undimensioned_feature_of_size")
    whole_part_profile(doc, ["A", "B", "C"])
    assert of_rule(doc, "gdt.unlocated_hole") == [] and of_rule(doc, "gdt.undimensioned_feature_of_size") == []


def test_a_whole_part_profile_without_datums_locates_nothing(doc, abc):
    doc.Meta = {}
    whole_part_profile(doc, [])
    assert len(of_rule(doc, "gdt.unlocated_hole")) == 1 and len(of_rule(doc, "gdt.undimensioned_feature_of_size")) == 1


def test_holes_are_reported_once_per_pattern(doc):
    """Three Ø6 holes and one Ø10 hole, none toleranced: two findings per rule, one per pattern, with every hole's faces."""
    shape = Part.makeBox(100, 30, 10)
    for x, d in ((15, 6), (35, 6), (55, 6), (80, 10)):
        shape = shape.cut(Part.makeCylinder(d / 2, 10, V(x, 15, 0)))
    obj = add_shape(doc, "Plate", shape)
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(obj, 'z', 0)}"])
    small = {hole(obj, x) for x in (15, 35, 55)}
    for rule in ("gdt.unlocated_hole", "gdt.undimensioned_feature_of_size"):
        found = sorted(of_rule(doc, rule), key=lambda f: len(f.elements))
        assert [set(f.elements) for f in found] == [{hole(obj, 80)}, small], rule
        assert "3 holes Ø6 (one pattern)" in found[1].message and found[1].location[0] == pytest.approx(15)
    store.add_feature_control_frame(doc, "position", 0.2, [f"Plate.{hole(obj, 35)}"], datums=["A"], diameter_zone=True)
    found = sorted(of_rule(doc, "gdt.unlocated_hole"), key=lambda f: len(f.elements))
    assert [set(f.elements) for f in found] == [{hole(obj, 80)}, small - {hole(obj, 35)}]


def test_a_datum_feature_hole_is_not_unlocated(doc, abc):
    """Datum B on a hole, oriented ⟂ to A (NIST CTC 03's B and F): it is the origin locations are measured from."""
    store.add_datum_feature(doc, "D", [f"Plate.{hole(abc, 15)}"])
    store.add_feature_control_frame(doc, "perpendicularity", 0.254, [f"Plate.{hole(abc, 15)}"], datums=["A"], diameter_zone=True)
    found = of_rule(doc, "gdt.unlocated_hole")
    assert len(found) == 1 and found[0].elements == (hole(abc, 45),)


def test_a_frame_under_a_pattern_size_locates_the_whole_pattern(doc):
    """"30X ⌀14 ±0.1" with ⌖ ⌀0.35 A|B|C under it, the frame linked to one hole (NIST CTC 04): every sized hole is located."""
    shape = Part.makeBox(100, 30, 10)
    for x in (15, 35, 55, 80):
        shape = shape.cut(Part.makeCylinder(3, 10, V(x, 15, 0)))
    obj = add_shape(doc, "Plate", shape)
    store.add_datum_feature(doc, "A", [f"Plate.{plane_at(obj, 'z', 0)}"])
    store.add_size_dimension(doc, 6, [f"Plate.{hole(obj, x)}" for x in (15, 35, 55)], upper=0.1, lower=-0.1)
    store.add_feature_control_frame(doc, "position", 0.35, [f"Plate.{hole(obj, 15)}"], datums=["A"], diameter_zone=True)
    found = of_rule(doc, "gdt.unlocated_hole")
    assert [f.elements for f in found] == [(hole(obj, 80),)]

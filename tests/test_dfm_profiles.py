"""Process profiles: every threshold of dfm-rules.md is data, overridable, and a bad profile names its key."""

import math

import pytest

from freecad_spatial.spatial_tools.dfm.finding import Finding, Severity
from freecad_spatial.spatial_tools.dfm.profiles import (
    ProfileError,
    drill_sizes,
    load_profile,
    processes,
)
from freecad_spatial.spatial_tools.dfm.rules import CATALOGUE
from freecad_spatial.spatial_tools.errors import BadArguments

PREFIX = {"cnc": "cnc-3axis", "mold": "injection-molding", "sheet": "sheet-metal", "am": "fdm"}

# dfm-rules.md, "default" column: (process, rule, material or None, key, value).
SPEC = [
    ("cnc-3axis", "cnc.deep_hole", None, "warn_above", 4.0),
    ("cnc-3axis", "cnc.deep_hole", None, "error_above", 10.0),
    ("cnc-3axis", "cnc.partial_hole", None, "warn_below", 75.0),
    ("cnc-3axis", "cnc.skewed_drill_entry", None, "warn_above", 1.0),
    ("cnc-3axis", "cnc.sharp_internal_corner", None, "warn_below", 1 / 3),
    ("cnc-3axis", "cnc.deep_pocket", None, "warn_above", 4.0),
    ("cnc-3axis", "cnc.thin_wall", "aluminium", "error_below", 0.5),
    ("cnc-3axis", "cnc.thin_wall", "steel", "warn_below", 0.8),
    ("cnc-3axis", "cnc.thin_wall", "pom", "error_below", 1.0),
    ("cnc-3axis", "cnc.thin_wall", "abs", "warn_below", 1.5),
    ("cnc-3axis", "cnc.tall_thin_wall", None, "warn_above", 4.0),
    ("cnc-3axis", "cnc.tall_thin_wall", None, "error_above", 8.0),
    ("cnc-3axis", "cnc.small_hole", "steel", "warn_below", 1.2),
    ("cnc-3axis", "cnc.small_hole", "titanium", "warn_below", 1.2),
    ("cnc-3axis", "cnc.small_hole", "aluminium", "warn_below", 0.5),
    ("injection-molding", "mold.draft", None, "error_below", 0.5),
    ("injection-molding", "mold.draft", None, "warn_below", 1.0),
    ("injection-molding", "mold.min_wall", "resin", "warn_below", 1.0),
    ("injection-molding", "mold.min_wall", "abs", "warn_below", 1.14),
    ("injection-molding", "mold.max_wall", "resin", "warn_above", 4.0),
    ("injection-molding", "mold.max_wall", "abs", "warn_above", 3.56),
    ("injection-molding", "mold.nonuniform_wall", None, "warn_above", 2.0),
    ("injection-molding", "mold.sharp_internal_corner", None, "warn_below", 0.5),
    ("injection-molding", "mold.rib_thickness", None, "warn_below", 0.4),
    ("injection-molding", "mold.rib_thickness", None, "warn_above", 0.6),
    ("injection-molding", "mold.rib_thickness", None, "height_warn_above", 3.0),
    ("sheet-metal", "sheet.bend_radius", "aluminium", "warn_below_t", 1.0),
    ("sheet-metal", "sheet.bend_radius", "steel", "warn_below_t", 0.5),
    ("sheet-metal", "sheet.bend_radius", "steel", "warn_below_mm", 0.8),
    ("sheet-metal", "sheet.hole_near_bend", None, "warn_below_t", 2.5),
    ("sheet-metal", "sheet.hole_near_edge", None, "warn_below_t", 2.0),
    ("sheet-metal", "sheet.small_hole", None, "warn_below_t", 1.0),
    ("sheet-metal", "sheet.short_flange", None, "warn_below_t", 4.0),
    ("fdm", "am.overhang", None, "warn_above", 45.0),
    ("fdm", "am.thin_wall", None, "warn_below", 0.8),
    ("fdm", "am.small_hole", None, "warn_below", 2.0),
    ("cnc-3axis", "fit.interference", None, "error_above", 0.0),
]

SEVERITIES = [
    ("cnc-3axis", "geom.invalid_solid", "severity", "error"),
    ("cnc-3axis", "cnc.flat_bottom_hole", "severity", "warning"),
    ("cnc-3axis", "cnc.nonstandard_hole", "severity", "info"),
    ("cnc-3axis", "cnc.sharp_internal_corner", "sharp_severity", "error"),
    ("cnc-3axis", "cnc.inaccessible_face", "severity", "warning"),
    ("injection-molding", "mold.undercut", "severity", "error"),
    ("sheet-metal", "fit.clearance", "severity", "warning"),
]


def test_the_four_processes_exist():
    assert set(processes()) >= {"cnc-3axis", "injection-molding", "sheet-metal", "fdm"}


@pytest.mark.parametrize("process", ["cnc-3axis", "injection-molding", "sheet-metal", "fdm"])
def test_each_process_has_its_rules_and_the_general_ones(process):
    profile = load_profile(process)
    expected = {r for r in CATALOGUE if r.split(".")[0] in ("geom", "fit") or PREFIX.get(r.split(".")[0]) == process}
    assert set(profile.rules) == expected


@pytest.mark.parametrize("process, rule, material, key, value", SPEC)
def test_thresholds_are_the_spec_defaults(process, rule, material, key, value):
    profile = load_profile(process, material=material)
    assert profile.settings(rule).number(key) == pytest.approx(value, abs=1e-5)


@pytest.mark.parametrize("process, rule, key, value", SEVERITIES)
def test_rule_severities_are_the_spec_defaults(process, rule, key, value):
    assert load_profile(process).settings(rule).severity(key) is Severity(value)


def test_default_materials_and_directions():
    assert load_profile("cnc-3axis").material == "aluminium"
    molding = load_profile("injection-molding")
    assert molding.material == "abs" and molding.pull_direction == (0.0, 0.0, 1.0)
    assert load_profile("fdm").build_direction == (0.0, 0.0, 1.0)
    flipped = load_profile("injection-molding", pull_direction="0,0,-2")
    assert flipped.pull_direction == (0.0, 0.0, -1.0)
    tilted = load_profile("fdm", build_direction=[1, 0, 1])
    assert tilted.build_direction == pytest.approx((math.sqrt(0.5), 0.0, math.sqrt(0.5)))


def test_every_protolabs_resin_has_its_wall_range():
    profile = load_profile("injection-molding")
    for resin in ("abs", "pom", "pmma", "nylon", "pc", "pe", "pp", "ps", "pur"):
        walls = load_profile("injection-molding", material=resin)
        low, high = walls.settings("mold.min_wall").number("warn_below"), walls.settings("mold.max_wall").number("warn_above")
        assert 0.3 < low < high, resin
    assert profile.settings("mold.min_wall").number("warn_below") == pytest.approx(1.14)
    pc = load_profile("injection-molding", material="pc")
    assert (pc.settings("mold.min_wall").number("warn_below"), pc.settings("mold.max_wall").number("warn_above")) == (1.02, 3.81)


def test_a_user_file_overrides_any_value(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text(
        'material = "steel"\n'
        '[rules."cnc.deep_hole"]\nwarn_above = 6.0\nerror_above = 12.0\n'
        '[rules."cnc.small_hole".by_group.hard_metal]\nwarn_below = 2.0\n'
        '[materials.tool_steel]\ngroup = "hard_metal"\n'
    )
    profile = load_profile("cnc-3axis", path)
    assert profile.material == "steel"
    assert profile.settings("cnc.deep_hole").number("warn_above") == 6.0
    assert profile.settings("cnc.deep_hole").number("error_above") == 12.0
    assert profile.settings("cnc.small_hole").number("warn_below") == 2.0
    assert profile.sources == ("cnc-3axis.toml", str(path))
    assert load_profile("cnc-3axis", path, material="tool_steel").settings("cnc.small_hole").number("warn_below") == 2.0
    # The built-in profile is untouched by an override.
    assert load_profile("cnc-3axis").settings("cnc.deep_hole").number("warn_above") == 4.0


def test_a_user_value_wins_over_a_builtin_material_variant(tmp_path):
    """ABS has its own built-in max wall (3.56): a user who sets the rule's limit means it for ABS too,
    and a user's own material variant wins over the user's base value."""
    assert load_profile("injection-molding", material="abs").settings("mold.max_wall").number("warn_above") == 3.56
    user = {"rules": {"mold.max_wall": {"warn_above": 5.0}}}
    assert load_profile("injection-molding", user, material="abs").settings("mold.max_wall").number("warn_above") == 5.0
    user_file = tmp_path / "mine.toml"
    user_file.write_text('[rules."mold.max_wall"]\nwarn_above = 5.0\n[rules."mold.max_wall".by_material.abs]\nwarn_above = 4.5\n')
    assert load_profile("injection-molding", user_file, material="abs").settings("mold.max_wall").number("warn_above") == 4.5
    assert load_profile("injection-molding", user_file, material="pc").settings("mold.max_wall").number("warn_above") == 5.0
    # Values the user leaves alone keep their built-in material variant.
    assert load_profile("injection-molding", user_file, material="abs").settings("mold.min_wall").number("warn_below") == 1.14


def test_inline_overrides_and_disabling_a_rule():
    profile = load_profile("fdm", {"rules": {"am.overhang": {"warn_above": 50, "enabled": False}}})
    assert profile.settings("am.overhang").number("warn_above") == 50
    assert "am.overhang" not in profile.enabled_rules()


@pytest.mark.parametrize(
    "text, words",
    [
        ('[rules."cnc.deep_hole"]\nwarnn_above = 5\n', 'unknown key rules."cnc.deep_hole".warnn_above'),
        ('[rules."cnc.deep_hole"]\nwarn_above = "N/A"\n', 'rules."cnc.deep_hole".warn_above must be a number'),
        ('[rules."cnc.deep_hole"]\nerror_above = 3.0\n', 'rules."cnc.deep_hole".error_above = 3.0 must be ≥ rules."cnc.deep_hole".warn_above'),
        ('[rules."cnc.flat_bottom_hole"]\nseverity = "critical"\n', 'rules."cnc.flat_bottom_hole".severity must be one of error, warning, info'),
        ('[rules."cnc.teleport"]\nwarn_above = 1\n', 'unknown rule rules."cnc.teleport"'),
        ('[rules."mold.draft"]\nwarn_below = 2\n', 'rules."mold.draft" is not a rule of process \'cnc-3axis\''),
        ('material = "unobtainium"\n', "material 'unobtainium' is not one of the profile's materials"),
        ('[rules."cnc.thin_wall".by_material.unobtainium]\nwarn_below = 2\n', "no material 'unobtainium'"),
        ('[rules."cnc.thin_wall".by_group.plastic]\nwarn_abov = 2\n', 'by_group.plastic.warn_abov overrides nothing'),
        ('process = "fdm"\n', "process is 'fdm' but the process checked is 'cnc-3axis'"),
        ("colour = 'red'\n", "unknown key 'colour'"),
        ('[rules."cnc.deep_hole"\nwarn_above = 1\n', "not valid TOML"),
        ('[rules."fit.interference"]\npress_fits = ["Pin"]\n', 'press_fits must be a list of object-name pairs'),
        ('[materials.brass]\nlabel = "Brass"\ncolour = 1\n', "unknown key materials.brass.colour"),
        ('[rules."geom.invalid_solid"]\nself_intersection_check = 1.0\n', "must be true or false"),
    ],
)
def test_a_bad_profile_names_the_key(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile("cnc-3axis", path)
    assert words in info.value.message
    assert str(path) in info.value.message


def test_bad_arguments_are_profile_errors(tmp_path):
    with pytest.raises(ProfileError, match="unknown process 'laser'"):
        load_profile("laser")
    with pytest.raises(ProfileError, match="no such file"):
        load_profile("fdm", tmp_path / "missing.toml")
    with pytest.raises(ProfileError, match="unknown material 'kevlar'"):
        load_profile("fdm", material="kevlar")
    with pytest.raises(ProfileError, match="zero vector"):
        load_profile("injection-molding", pull_direction="0,0,0")
    with pytest.raises(ProfileError, match="three numbers"):
        load_profile("injection-molding", pull_direction="up")


def test_grade_picks_error_before_warning():
    deep = load_profile("cnc-3axis").settings("cnc.deep_hole")
    assert deep.grade(3.9, "above") is None
    assert deep.grade(5.0, "above") == (Severity.WARNING, 4.0)
    assert deep.grade(12.5, "above") == (Severity.ERROR, 10.0)
    thin = load_profile("cnc-3axis").settings("cnc.thin_wall")
    assert thin.grade(0.9, "below") is None
    assert thin.grade(0.6, "below") == (Severity.WARNING, 0.8)
    assert thin.grade(0.4, "below") == (Severity.ERROR, 0.5)
    rib = load_profile("injection-molding").settings("mold.rib_thickness")
    assert rib.grade(3.5, "above", prefix="height_") == (Severity.WARNING, 3.0)
    assert deep.default_severity() is Severity.ERROR
    assert load_profile("cnc-3axis").settings("cnc.nonstandard_hole").default_severity() is Severity.INFO


def test_metric_drill_table():
    sizes = drill_sizes()
    assert list(sizes) == sorted(sizes)
    for tap_drill in (2.5, 3.3, 4.2, 5.0, 6.8, 8.5, 10.2, 12.0, 14.0, 17.5):
        assert tap_drill in sizes
    assert 6.35 not in sizes and 0.2 in sizes and 50.0 in sizes


def test_unknown_severity_is_an_error_never_a_pass():
    with pytest.raises(BadArguments, match="unknown severity 'critical'"):
        Finding(rule="cnc.deep_hole", severity="critical", message="m")
    with pytest.raises(BadArguments, match="unknown severity"):
        Severity.parse("green")
    assert Severity.parse("warning").at_least("warning") and not Severity.INFO.at_least("warning")


def test_finding_round_trip_and_validation():
    finding = Finding(
        rule="cnc.deep_hole",
        severity="error",
        message="Hole Ø4 is 50 mm deep",
        object="Plate",
        elements=["Face7"],
        location=[20, 20, 35],
        measured=12.5,
        limit=10,
        unit="ratio",
    )
    data = finding.to_dict()
    assert data["severity"] == "error" and data["elements"] == ["Face7"] and data["location"] == [20.0, 20.0, 35.0]
    assert Finding.from_dict(data) == finding
    assert finding.refs == ["Plate.Face7"]
    with pytest.raises(BadArguments, match="not like 'Face7'"):
        Finding(rule="cnc.deep_hole", severity="error", message="m", elements=["Plate.Face7"])
    with pytest.raises(BadArguments, match="finite number"):
        Finding(rule="cnc.deep_hole", severity="error", message="m", measured=float("nan"))

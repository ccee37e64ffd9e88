"""Finding titles: from resources/finding_titles.toml, true to the finding's numbers, in the engineer's units."""

from __future__ import annotations

import pytest

from freecad_spatial.spatial_tools.dfm.finding import Finding
from freecad_spatial.spatial_tools.dfm.rules import CATALOGUE
from freecad_spatial.spatial_tools.dfm.titles import _templates, title_for, title_of


@pytest.mark.parametrize("rule", sorted(CATALOGUE))
def test_every_rule_has_a_template_that_fills_without_leftovers(rule):
    assert rule in _templates()["rules"], f"{rule} has no title in resources/finding_titles.toml"
    title = title_for(rule, 1, 2.5, 4.0, "mm", {"depth": 12.0, "diameter": 5.0, "width": 6.0, "feature": "pocket",
                                                "height": 20.0, "thickness": 2.0, "thin": 2.0, "thick": 6.0,
                                                "wall": 2.0, "what": "3 mm thick", "cutter": 8.0, "radius": 0.0})
    assert title and "{" not in title and "None" not in title and "_" not in title, title


def test_a_title_without_the_facts_it_needs_falls_back_to_a_true_one():
    # No depth known: not "None mm deep" but the rule's own plain title.
    assert title_for("cnc.sharp_internal_corner", 2, 0.0, 2.0, "mm") == CATALOGUE["cnc.sharp_internal_corner"]
    assert title_for("cnc.sharp_internal_corner", 2, 0.0, 2.0, "mm", {"depth": 6.0, "radius": 0.0}) == \
        "2 sharp inside corners, 6 mm deep — needs R ≥ 2 mm"
    assert title_for("cnc.flat_bottom_hole") == CATALOGUE["cnc.flat_bottom_hole"]


def test_findings_saved_before_titles_get_one_from_their_numbers_and_assistant_ones_keep_their_words():
    old = Finding(rule="mold.draft", severity="error", message="Face3 has 0.2° of draft", measured=0.2, limit=0.5, unit="deg")
    assert title_of(old) == "0.2° draft on a wall along the pull — needs ≥ 0.5°"
    mine = Finding(rule="cnc.part_width", severity="info", message="Overall width between the end faces")
    assert title_of(mine) == "Overall width between the end faces"

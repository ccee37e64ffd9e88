"""The gdt.* findings `check` reports on NIST FTC 10 after importing its AP242 PMI (issue 20).

FTC 10 defines datums E, F and G and uses them as a common datum E(M)-F(M)-G(M); it applies
⌓ 1.5 A|B|C to all untoleranced surfaces (UOS) with the model's dimensions basic; its cylindricity
0.1 refines nothing under ⌖ ⌀0 Ⓛ|H|K|L (an axis location with a bonus zone). Before issue 20 `check`
reported 2 undefined_datum, 2 refinement, 8 unlocated_hole and 8 undimensioned_feature_of_size here,
every one of them false, and 1 obsolete_symbol (its frames were labelled Y14.5-2018).
"""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest
from conftest import DATA

from freecad_spatial.spatial_tools.check.batch import CheckOptions, check_file

FTC_10 = DATA / "corpora" / "nist-pmi" / "step" / "nist_ftc_10_asme1_ap242-e2.stp"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("OCP") is None or not FTC_10.is_file(),
                                reason="the PMI reader (cadquery-ocp, the 'pmi' extra) or the NIST file is missing")


def test_ftc_10_gdt_findings_are_only_true_ones():
    result = check_file(str(FTC_10), CheckOptions(process="cnc-3axis", timeout=300))
    assert result.status == "ok", result.error
    assert not [s for s in result.skipped if str(s.get("reason", "")).startswith("PMI not imported:")]
    counts = Counter(f.rule for f in result.findings if f.rule.startswith("gdt."))
    for rule in ("gdt.undefined_datum", "gdt.refinement", "gdt.unlocated_hole", "gdt.undimensioned_feature_of_size"):
        assert counts[rule] == 0, [f.message for f in result.findings if f.rule == rule]
    # its note 3 says ASME Y14.5M-1994 applies: the frames follow it, and its ⌯ symmetry is valid there
    assert counts == {}, counts

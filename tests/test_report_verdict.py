"""The HTML report's file badge and numbers: a file with errors never reads "ok"; values in the engineer's units."""

from __future__ import annotations

import re

from freecad_spatial.spatial_tools.check import report_html
from freecad_spatial.spatial_tools.check.batch import FileResult, Report
from freecad_spatial.spatial_tools.dfm.finding import Finding

BADGE = re.compile(r'<div class="file-head"><span class="badge ([^"]+)"[^>]*>([^<]*)</span><h2>([^<]*)</h2>')


def corner(severity: str = "error") -> Finding:
    return Finding(rule="cnc.sharp_internal_corner", severity=severity,
                   message="Inside 4 corners of a pocket along the tool axis are sharp (R 0) over 4 mm of depth",
                   object="Body", elements=("Edge45", "Edge46", "Edge48", "Edge50"), location=(30.0, 20.0, 6.0),
                   measured=0.0, limit=1.333332, unit="mm",
                   title="4 sharp inside corners of a pocket, 4 mm deep — needs R ≥ 1.3 mm for a Ø2.7 mm cutter")


def render(*files: FileResult) -> str:
    return report_html.render(Report(process="cnc-3axis", profile={"process": "cnc-3axis"}, fail_on="error", files=list(files)))


def test_a_file_with_errors_carries_a_red_badge_with_their_count_never_a_grey_ok():
    bad = FileResult(path="bracket.FCStd", status="ok", findings=[corner() for _ in range(4)] + [corner("warning")])
    clean = FileResult(path="plate.step", status="ok")
    broken = FileResult.failed("broken.step", "not a readable STEP file")
    badges = BADGE.findall(render(bad, clean, broken))
    assert badges == [("sev-error", "4 errors", "bracket.FCStd"), ("status-pass", "pass", "plate.step"),
                      ("status-error", "not checked", "broken.step")]


def test_a_warning_only_file_says_so():
    (badge,) = BADGE.findall(render(FileResult(path="a.step", status="ok", findings=[corner("warning")])))
    assert badge[:2] == ("sev-warning", "1 warning")


def test_rows_show_the_title_and_values_in_mm_and_the_documents_numbers():
    file = FileResult(path="bracket.FCStd", status="ok", findings=[corner(), corner("warning")], numbers=[3, 7])
    html = render(file)
    assert "4 sharp inside corners of a pocket, 4 mm deep — needs R ≥ 1.3 mm for a Ø2.7 mm cutter" in html
    assert "0 mm" in html and "limit 1.333 mm" in html and "ratio" not in html
    assert re.findall(r'<td class="num">(\d+)</td>', html) == ["3", "7"]
    assert 'data-finding="3"' in html and 'data-finding="7"' in html


def test_a_re_attached_finding_is_marked_in_the_report():
    file = FileResult(path="bracket.FCStd", status="ok", findings=[corner(), corner("warning")], numbers=[1, 2],
                      attachments=["attached", "rematched"])
    html = render(file)
    assert html.count(">re-attached</span>") == 1
    assert "found again on Body.Edge45, Body.Edge46" in html
    data = file.to_dict()
    assert [f["attachment"] for f in data["findings"]] == ["attached", "rematched"]


def test_reviewed_findings_keep_their_number_in_the_report():
    file = FileResult(path="bracket.FCStd", status="ok", findings=[corner()], numbers=[2],
                      skipped=[{"rule": "cnc.flat_bottom_hole", "object": "Body", "number": 1, "reason": "waived by me: ok"},
                               {"rule": "cnc.thin_wall", "object": "Body", "reason": "geometry lost after a change: Body.Face3"}])
    html = render(file)
    assert "<b>#1</b> <code>cnc.flat_bottom_hole</code>" in html and 'data-finding="2"' in html

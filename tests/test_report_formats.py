"""The four report formats of one batch: report@1 JSON, SARIF 2.1.0 (validated against the official
schema), JUnit XML and a self-contained HTML page with each part drawn and its findings numbered."""

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import FreeCAD, Part, V

from freecad_spatial.spatial_tools.check import report_html, report_json, report_junit, report_sarif
from freecad_spatial.spatial_tools.check.batch import CheckOptions, FileResult, Report, check_file
from freecad_spatial.spatial_tools.check.render_svg import Fit, View, render
from freecad_spatial.spatial_tools.dfm.finding import Finding
from freecad_spatial.spatial_tools.dfm.profiles import load_profile
from freecad_spatial.spatial_tools.dfm.rules import load_rules

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-schema.json"


def _save(path, **shapes):
    doc = FreeCAD.newDocument("Formats")
    for name, shape in shapes.items():
        obj = doc.addObject("Part::Feature", name)
        obj.Shape = shape
    doc.recompute()
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    return str(path)


def make_report(base, fail_on="error", render_parts=False):
    sub = base / "sub dir"
    sub.mkdir(exist_ok=True)
    clash = _save(sub / "pièce.FCStd", Plate=Part.makeBox(10, 10, 10), Block=Part.makeBox(10, 10, 10, V(5, 5, 5)))
    loose = _save(base / "loose.FCStd", Part=Part.Compound([Part.makeBox(10, 10, 10), Part.makePlane(5, 5, V(20, 0, 0))]))
    broken = base / "broken.step"
    broken.write_bytes(os.urandom(500))
    options = CheckOptions(process="cnc-3axis", render=render_parts)
    results = [check_file(p, options) for p in (clash, loose, str(broken))]
    profile = load_profile("cnc-3axis")
    loaded = load_rules()
    return Report(
        process="cnc-3axis",
        profile=profile.to_dict(),
        fail_on=fail_on,
        files=results,
        rules_run=[r for r in profile.enabled_rules() if r in loaded.rules],
        not_implemented=[r for r in profile.enabled_rules() if r in loaded.missing],
        rule_levels={r: profile.settings(r).default_severity().value for r in profile.rules},
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("formats")


@pytest.fixture(scope="module")
def report(base):
    return make_report(base, render_parts=True)


def test_json_report(report):
    data = json.loads(report_json.render(report))
    assert data["schema"] == "freecad-spatial/report@1" and data["process"] == "cnc-3axis"
    assert [f["status"] for f in data["files"]] == ["ok", "ok", "error"]
    assert "not a readable STEP file" in data["files"][2]["error"]
    assert data["summary"] == {"files": 3, "files_ok": 2, "files_error": 1, "error": 1, "warning": 1, "info": 0}
    assert report.exit_status() == 2


def test_sarif_is_valid_and_has_what_github_reads(report, base):
    sarif = json.loads(report_sarif.render(report, base=base))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "freecad-spatial"
    rules = driver["rules"]
    # Every rule that ran is described, in the catalogue's order, at its profile's default level.
    assert [r["id"] for r in rules] == report.rules_run
    assert {"geom.invalid_solid", "fit.interference", "cnc.deep_hole", "cnc.thin_wall"} <= set(report.rules_run)
    sarif_level = {"error": "error", "warning": "warning", "info": "note"}
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] == sarif_level[report.rule_levels[rule["id"]]]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["fit.interference"] == "error" and levels["cnc.flat_bottom_hole"] == "warning"
    results = run["results"]
    assert len(results) == 2
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        location = result["locations"][0]
        assert location["physicalLocation"]["region"]["startLine"] >= 1
    clash = next(r for r in results if r["ruleId"] == "fit.interference")
    assert clash["level"] == "error"
    location = clash["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "sub%20dir/pi%C3%A8ce.FCStd"
    names = {ll["fullyQualifiedName"] for ll in location["logicalLocations"]}
    assert names and all(re.fullmatch(r"Plate\.Face\d+", n) for n in names)
    assert all(re.fullmatch(r"Block\.Face\d+", r["logicalLocations"][0]["fullyQualifiedName"]) for r in clash["relatedLocations"])
    assert clash["properties"]["location"] == pytest.approx([7.5, 7.5, 7.5])
    loose = next(r for r in results if r["ruleId"] == "geom.invalid_solid")
    assert loose["level"] == "warning"
    assert loose["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "loose.FCStd"
    assert loose["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Part.Face7"
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    errors = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    (error,) = errors
    assert "not a readable STEP file" in error["message"]["text"]
    assert error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.step"
    notes = {n["associatedRule"]["id"] for n in invocation["toolExecutionNotifications"] if n["level"] == "note"}
    assert notes == set(report.not_implemented)


def test_sarif_levels_and_files_outside_the_base(tmp_path):
    info = Finding(rule="cnc.nonstandard_hole", severity="info", message="Ø6.35 is not a metric drill", object="P", elements=["Face3"])
    result = FileResult(path="/elsewhere/p.step", status="ok", findings=[info], rules_run=["cnc.nonstandard_hole"])
    report = Report(process="cnc-3axis", profile={}, fail_on="error", files=[result], rules_run=["cnc.nonstandard_hole"], rule_levels={"cnc.nonstandard_hole": "info"})
    sarif = json.loads(report_sarif.render(report, base=tmp_path))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    run = sarif["runs"][0]
    assert run["results"][0]["level"] == "note"
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == "note"
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file:///elsewhere/p.step"
    assert report.exit_status() == 0


@pytest.mark.parametrize("fail_on", ["error", "warning"])
def test_junit(report, fail_on):
    report.fail_on = fail_on
    try:
        root = ET.fromstring(report_junit.render(report))
    finally:
        report.fail_on = "error"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f.path for f in report.files]
    clash, loose, broken = suites

    def case(suite, name):
        (found,) = [c for c in suite.findall("testcase") if c.get("name") == name]
        return found

    assert case(clash, "fit.interference").find("failure") is not None
    assert case(clash, "geom.invalid_solid").find("failure") is None
    loose_case = case(loose, "geom.invalid_solid")
    assert (loose_case.find("failure") is not None) == (fail_on == "warning")
    assert (loose_case.find("system-out") is not None) == (fail_on == "error")
    for rule_id in report.not_implemented:
        assert case(clash, rule_id).find("skipped") is not None
    error = case(broken, "file").find("error")
    assert error is not None and "not a readable STEP file" in error.get("message")
    failures = 1 + (fail_on == "warning")
    assert root.get("failures") == str(failures) and root.get("errors") == "1"
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)


def test_html_is_one_self_contained_page(report, base):
    html = report_html.render(report)
    (base / "report.html").write_text(html, encoding="utf-8")
    assert html.count("<svg") == 2  # the two parts that opened; the broken file has no picture
    for result in report.files[:2]:
        assert result.svg is not None and result.svg.count('class="marker"') == len([f for f in result.findings if f.location])
    assert len(re.findall(r'<tr id="file-\d-finding-1" data-finding="1">', html)) == 2  # each marker has its row
    assert "sev-error" in html and "sev-warning" in html and "not a readable STEP file" in html
    assert "pièce.FCStd" in html
    assert not re.search(r'(src|href)="https?:', html) and "<link" not in html and "<script src" not in html
    assert "<polygon" in html and "<polyline" in html


def test_unknown_severity_cannot_reach_a_report():
    with pytest.raises(Exception, match="unknown severity"):
        Finding(rule="cnc.deep_hole", severity="ok", message="m")
    assert "sev-unknown" in report_html.TEMPLATE  # the template's fallback class is loud


def _polygons(svg):
    return re.findall(r'<polygon points="([^"]+)" fill="(#[0-9a-f]{6})"', svg)


def test_render_paints_the_three_visible_faces_and_places_markers():
    box = Part.makeBox(10, 20, 30)
    top = next(i for i, f in enumerate(box.Faces, start=1) if abs(f.CenterOfMass.z - 30) < 1e-9)
    findings = [
        Finding(rule="cnc.thin_wall", severity="error", message="top", object="Box", elements=[f"Face{top}"], location=(5, 10, 30)),
        Finding(rule="cnc.thin_wall", severity="warning", message="bottom", object="Box", location=(5, 10, 0)),
        Finding(rule="cnc.thin_wall", severity="info", message="nowhere", object="Box"),
    ]
    svg = render([("Box", box)], findings)
    polygons = _polygons(svg)
    # Seen from (1, -1, 1): the faces x = 10, y = 0 and z = 30, two triangles each; the rest are culled.
    assert len(polygons) == 6
    reds = [fill for _, fill in polygons if int(fill[1:3], 16) > 2 * int(fill[5:7], 16)]
    assert len(reds) == 2  # the top face is tinted with the error colour
    markers = {int(n): (float(x), float(y)) for n, x, y in re.findall(r'data-finding="(\d+)"><title>[^<]*</title><circle cx="([\d.]+)" cy="([\d.]+)"', svg)}
    assert set(markers) == {1, 2}  # the third finding has no location, so no marker
    (x1, y1), (x2, y2) = markers[1], markers[2]
    assert x1 == pytest.approx(x2, abs=0.2) and y1 < y2  # same vertical line, top above bottom
    view = View.isometric()
    corners = [view.project((x, y, z)) for x in (0, 10) for y in (0, 20) for z in (0, 30)]
    fit = Fit.around([c[0] for c in corners], [c[1] for c in corners])
    # 30 mm of height appears as 30·|up·z| mm on screen.
    assert y2 - y1 == pytest.approx(30 * view.up[2] * fit.scale, rel=1e-3)


def test_html_of_a_bare_report():
    """A report built by another program (no profile details, an info finding) still renders."""
    info = Finding(rule="cnc.nonstandard_hole", severity="info", message="Ø6.35 is not a metric drill", object="P", elements=["Face3"])
    report = Report(process="fdm", profile={}, fail_on="error", files=[FileResult(path="p.step", status="ok", findings=[info])])
    html = report_html.render(report)
    assert "sev-info" in html and "Ø6.35 is not a metric drill" in html and "<svg" not in html

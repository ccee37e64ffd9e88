"""JUnit XML report: one test suite per file, one test case per rule.

A finding at or above --fail-on is a <failure> of its rule's test case
(lower ones are listed in its system-out); a file that could not be checked
is an <error>; a rule not implemented yet is <skipped>, never a pass.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..dfm.finding import Finding
from .batch import FileResult, Report
from .output import printable


def _describe(finding: Finding) -> str:
    where = ", ".join(finding.refs) or "(document)"
    lines = [f"[{finding.severity.value}] {finding.rule}: {finding.message}", f"  at {where}"]
    if finding.location is not None:
        lines.append("  location: ({:.3f}, {:.3f}, {:.3f}) mm".format(*finding.location))
    if finding.measured is not None:
        limit = f" (limit {finding.limit:g})" if finding.limit is not None else ""
        lines.append(f"  measured: {finding.measured:g} {finding.unit or ''}{limit}".rstrip())
    if finding.suggestion:
        lines.append(f"  suggestion: {finding.suggestion}")
    return "\n".join(lines)


def _suite(report: Report, file: FileResult) -> ET.Element:
    name = file.name
    suite = ET.Element("testsuite", name=name, time=f"{file.seconds:.3f}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if file.status != "ok":
        case = ET.SubElement(suite, "testcase", classname=name, name="file", time=f"{file.seconds:.3f}")
        reason = printable(file.error)
        ET.SubElement(case, "error", message=reason or "not checked", type="not-checked").text = reason
        counts["tests"] += 1
        counts["errors"] += 1
    by_rule: dict[str, list[Finding]] = {}
    for finding in file.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    rule_ids = list(dict.fromkeys([*file.rules_run, *by_rule]))
    for rule_id in rule_ids:
        findings = by_rule.get(rule_id, [])
        case = ET.SubElement(suite, "testcase", classname=name, name=rule_id)
        counts["tests"] += 1
        failing = [f for f in findings if report.failing(f)]
        if failing:
            worst = failing[0].severity.value
            summary = f"{len(failing)} finding(s) at or above {report.fail_on}: {failing[0].message}"
            failure = ET.SubElement(case, "failure", message=summary, type=worst)
            failure.text = "\n".join(_describe(f) for f in failing)
            counts["failures"] += 1
        others = [f for f in findings if not report.failing(f)]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(_describe(f) for f in others)
    if file.status == "ok":
        for rule_id in report.not_implemented:
            case = ET.SubElement(suite, "testcase", classname=name, name=rule_id)
            ET.SubElement(case, "skipped", message="rule not implemented yet: nothing was checked")
            counts["tests"] += 1
            counts["skipped"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    ET.fromstring(ET.tostring(suite, encoding="unicode").encode("utf-8"))  # not UTF-8 or not XML: fails for this file alone
    return suite


def build(report: Report) -> ET.Element:
    root = ET.Element("testsuites", name=f"freecad-spatial check --process {report.process}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in report.entries(lambda _, file: _suite(report, file)):
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    return root


def render(report: Report) -> str:
    root = build(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

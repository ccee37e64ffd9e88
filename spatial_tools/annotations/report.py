"""The findings a document holds, as the report of ``freecad-spatial check`` (html/json/sarif/junit).

Accepted and waived findings are not failures: they are listed among the
file's ``skipped`` entries with who decided and why, so the report still
shows them and a waiver is never silent.
"""

from __future__ import annotations

from typing import Any

from ..check.batch import FileResult, Report
from .store import finding_numbers, read_findings


def document_report(document: Any, process: str = "", fail_on: str = "error", path: str | None = None) -> Report:
    """One-file Report of the findings stored in ``document`` (process: the one they were checked for)."""
    held = read_findings(document)
    processes = sorted({h.process for h in held if h.process})
    process = process or (processes[0] if len(processes) == 1 else ", ".join(processes) or "unknown")
    result = FileResult(path=path or document.FileName or document.Name, status="ok", numbers=[], attachments=[])
    numbers = finding_numbers(held)
    for item in sorted(held, key=lambda h: numbers[h.name]):
        if item.status == "open":
            result.findings.append(item.finding)
            result.numbers.append(numbers[item.name])
            result.attachments.append(item.attachment)
        else:
            result.skipped.append(
                {
                    "rule": item.finding.rule,
                    "object": item.finding.object,
                    "number": numbers[item.name],
                    "reason": f"{item.status} by {item.by or 'unknown'} at {item.at or '?'}: {item.reason or 'no reason given'}"
                    + f" ({item.finding.message})",
                }
            )
        if item.attachment == "lost":
            result.skipped.append(
                {"rule": item.finding.rule, "object": item.finding.object, "reason": f"geometry lost after a change: {', '.join(item.lost)}"}
            )
    result.checked = sorted({h.finding.object for h in held if h.finding.object})
    return Report(process=process, profile={"process": process, "sources": ["findings stored in the document"]}, fail_on=fail_on, files=[result])


def render(document: Any, fmt: str, process: str = "", path: str | None = None) -> str:
    """The report text in ``fmt`` (json, sarif, junit or html)."""
    from ..check import report_html, report_json, report_junit, report_sarif

    renderers = {"json": report_json.render, "sarif": report_sarif.render, "junit": report_junit.render, "html": report_html.render}
    return renderers[fmt](document_report(document, process, path=path))

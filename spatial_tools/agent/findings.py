"""Findings the model submits, checked against the finding format of tools.md.

Two checks, both must pass: a JSON schema with messages written for the model
(which finding, which field, what was wrong), then the project's own finding
type (``dfm.finding.Finding``, what run_dfm returns and what annotations will
draw), whose normalised ``to_dict()`` form is what gets recorded. A
submission is all-or-nothing: any invalid finding rejects it, so the model can
fix it and resubmit. A severity outside error|warning|info or a limit written
as "N/A" never gets through to be drawn later as something it is not.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..dfm.finding import ELEMENT_RE as ELEMENT
from ..dfm.finding import RULE_ID_RE as RULE_ID
from ..dfm.finding import Finding, Severity
from ..errors import ToolError
from ..schema import VEC3_SCHEMA, validate

SEVERITIES = [s.value for s in Severity]
QUALIFIED_ELEMENT = re.compile(r"^(?P<object>.+)\.(?P<element>(Face|Edge|Vertex)[1-9][0-9]*)$")

FINDING_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "rule": {"type": "string", "description": "dotted rule id, e.g. cnc.deep_hole or gdt.position"},
        "severity": {"type": "string", "enum": SEVERITIES},
        "message": {"type": "string"},
        "object": {"type": "string", "description": "the object's Name, e.g. Plate"},
        "elements": {"type": "array", "items": {"type": "string"}, "description": "e.g. [\"Face7\"]"},
        "location": {**VEC3_SCHEMA, "description": "a point on the flagged geometry, global mm"},
        "measured": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "limit": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "unit": {"type": "string"},
        "suggestion": {"type": "string"},
        "related": {"type": "array", "items": {"type": "string"},
                    "description": "refs of other geometry involved, e.g. [\"Pin.Face3\"]"},
        "title": {"type": "string", "description": "the finding in one line, in mm or degrees (run_dfm's findings carry one)"},
    },
    "required": ["rule", "severity", "message"],
    "additionalProperties": False,
}

SUBMIT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "description": "the final answer to the user's question"},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
    },
    "required": ["answer", "findings"],
    "additionalProperties": False,
}


def _check_one(finding: Any, where: str) -> tuple[dict | None, list[str]]:
    problems = validate(finding, FINDING_SCHEMA, where)
    if problems:
        return None, problems
    item = dict(finding)
    if not RULE_ID.match(item["rule"]):
        problems.append(f"{where}.rule: '{item['rule']}' is not a dotted rule id such as 'cnc.deep_hole'")
    if not item["message"].strip():
        problems.append(f"{where}.message: is empty")
    for name in ("measured", "limit"):
        value = item.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{where}.{name}: {value} is not a finite number")
    if "location" in item and not all(math.isfinite(v) for v in item["location"]):
        problems.append(f"{where}.location: every coordinate must be a finite number")
    elements = []
    for i, element in enumerate(item.get("elements", [])):
        qualified = QUALIFIED_ELEMENT.match(element)
        if qualified:
            owner, element = qualified["object"], qualified["element"]
            if "object" not in item:
                item["object"] = owner
            elif owner != item["object"]:
                problems.append(f"{where}.elements[{i}]: '{qualified.string}' is not an element of object '{item['object']}'")
                continue
        if not ELEMENT.match(element):
            problems.append(f"{where}.elements[{i}]: '{element}' is not an element name such as 'Face7', 'Edge3' or 'Vertex2'")
        elements.append(element)
    if "elements" in item:
        item["elements"] = elements
    if problems:
        return None, problems
    try:
        finding = Finding(**item)
    except ToolError as exc:  # the project's finding type has the last word
        return None, [f"{where}: {exc.message}"]
    return finding.to_dict(), []


def validate_findings(findings: Any) -> tuple[list[dict], list[str]]:
    """(clean findings, problems); the findings list is empty whenever problems is not."""
    if not isinstance(findings, list):
        return [], [f"findings: expected a list, got {type(findings).__name__}"]
    clean: list[dict] = []
    problems: list[str] = []
    for i, finding in enumerate(findings):
        item, found = _check_one(finding, f"findings[{i}]")
        problems += found
        if item is not None:
            clean.append(item)
    return ([] if problems else clean), problems


def validate_submission(arguments: Any) -> tuple[str, list[dict], list[str]]:
    """(answer, findings, problems) from submit_findings arguments."""
    problems = validate(arguments, {**SUBMIT_SCHEMA, "properties": {**SUBMIT_SCHEMA["properties"], "findings": {"type": "array"}}}, "submit_findings")
    if problems:
        return "", [], problems
    answer = arguments["answer"].strip()
    if not answer:
        problems.append("submit_findings.answer: is empty")
    findings, found = validate_findings(arguments["findings"])
    problems += found
    return answer, ([] if problems else findings), problems

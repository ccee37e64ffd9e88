"""SARIF 2.1.0 report, as GitHub code scanning accepts it.

Each finding is a result on the CAD file (a relative URI when the file is
under the working directory) with logical locations naming the object and
elements ("Plate.Face7"). Files that could not be checked and rules that
are not implemented yet are tool execution notifications, so neither reads
as a clean pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from urllib.parse import quote

from freecad_spatial import __version__

from ..dfm.finding import Finding, Severity
from ..dfm.rules import CATALOGUE, describe
from .batch import FileResult, Report
from .output import printable

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
MAX_LOGICAL = 10  # GitHub shows a handful; the full list is in the result's properties


def _quote(path: str) -> str:
    """Percent-encodes the file name's own bytes, so a name that is not UTF-8 still points at its file."""
    try:
        data = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = path.encode("utf-8", "surrogatepass")
    return quote(data, safe="/")


def artifact_uri(path: str, base: Path | None = None) -> str:
    """The file as a URI: relative to ``base`` (default: the working directory) when inside it."""
    base = Path(os.path.abspath(base or os.getcwd()))
    absolute = Path(os.path.abspath(path))
    try:
        return _quote(absolute.relative_to(base).as_posix())
    except ValueError:
        pass
    try:
        return absolute.as_uri()
    except (UnicodeEncodeError, ValueError):  # a name that is not UTF-8 (POSIX; Windows names are text)
        return "file://" + _quote(absolute.as_posix())


def _plain(markdown: str) -> str:
    return re.sub(r"[*`]", "", markdown)


def _rule_name(rule_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", rule_id))


def _descriptor(rule_id: str, level: str, process: str) -> dict:
    texts = describe(rule_id)
    return {
        "id": rule_id,
        "name": _rule_name(rule_id),
        "shortDescription": {"text": texts["title"]},
        "fullDescription": {"text": texts["description"]},
        "help": {"text": _plain(texts["help"]), "markdown": texts["help"]},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["dfm", process, rule_id.split(".")[0]], "precision": "high"},
    }


def _logical(object_name: str | None, elements: tuple[str, ...]) -> list[dict]:
    if object_name is None:
        return []
    if not elements:
        return [{"name": object_name, "fullyQualifiedName": object_name, "kind": "object"}]
    return [
        {"name": element, "fullyQualifiedName": f"{object_name}.{element}", "kind": "element"}
        for element in elements[:MAX_LOGICAL]
    ]


def _location(uri: str, index: int, logical: list[dict]) -> dict:
    location: dict = {
        # GitHub code scanning places an alert by line; a CAD file's findings sit at its top,
        # and the logical locations say which object and element.
        "physicalLocation": {"artifactLocation": {"uri": uri, "index": index}, "region": {"startLine": 1}}
    }
    if logical:
        location["logicalLocations"] = logical
    return location


def _fingerprint(uri: str, finding: Finding) -> str:
    key = "|".join([uri, finding.rule, finding.object or "", ",".join(finding.elements)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(finding: Finding, uri: str, index: int, rule_index: dict[str, int]) -> dict:
    result = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(uri, index, _logical(finding.object, finding.elements))],
        "partialFingerprints": {"dfmFinding/v1": _fingerprint(uri, finding)},
        "properties": {
            k: v for k, v in finding.to_dict().items() if k not in ("rule", "message", "severity") and v not in (None, [])
        },
    }
    related = []
    for k, ref in enumerate(finding.related):
        obj, _, element = ref.partition(".")
        related.append(
            {"id": k, "message": {"text": ref}, **_location(uri, index, _logical(obj, (element,) if element else ()))}
        )
    if related:
        result["relatedLocations"] = related
    return result


def build(report: Report, base: Path | None = None) -> dict:
    rule_ids = list(report.rules_run)
    for result in report.files:
        for finding in result.findings:
            if finding.rule not in rule_ids:
                rule_ids.append(finding.rule)
    order = {r: i for i, r in enumerate(CATALOGUE)}
    rule_ids.sort(key=lambda r: order.get(r, len(order)))
    rule_index = {r: i for i, r in enumerate(rule_ids)}
    rules = [_descriptor(r, LEVEL[Severity.parse(report.rule_levels.get(r, "warning"))], report.process) for r in rule_ids]
    artifacts, results, notifications = [], [], []

    def entry(index: int, file: FileResult) -> tuple[dict, list[dict], list[dict]]:
        uri = artifact_uri(file.path, base)
        artifact = {"location": {"uri": uri}, "roles": ["analysisTarget"]}
        found = [_result(f, uri, index, rule_index) for f in file.findings]
        errors = [_file_error(file, uri, index)] if file.status != "ok" else []
        json.dumps([artifact, found, errors], ensure_ascii=False).encode("utf-8")  # fails for this file alone
        return artifact, found, errors

    for artifact, found, errors in report.entries(entry):
        artifacts.append(artifact)
        results.extend(found)
        notifications.extend(errors)
    for rule_id in report.not_implemented:
        notifications.append(
            {
                "level": "note",
                "message": {"text": f"rule {rule_id} is not implemented yet: nothing was checked for it"},
                "descriptor": {"id": "rule-not-implemented"},
                "associatedRule": {"id": rule_id},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "freecad-spatial",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"freecad-spatial/{report.process}/"},
                "invocations": [
                    {
                        "executionSuccessful": all(f.status == "ok" for f in report.files),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "artifacts": artifacts,
                "results": results,
                "properties": {"process": report.process, "profile": report.profile, "failOn": report.fail_on},
            }
        ],
    }


def _file_error(file: FileResult, uri: str, index: int) -> dict:
    return {
        "level": "error",
        "message": {"text": f"{file.name}: {printable(file.error)}"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "index": index}}}],
        "descriptor": {"id": "file-not-checked"},
    }


def render(report: Report, base: Path | None = None) -> str:
    return json.dumps(build(report, base), indent=2, ensure_ascii=False) + "\n"

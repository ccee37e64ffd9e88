"""The JSON report of ``freecad-spatial check`` (tools.md, schema freecad-spatial/report@1)."""

from __future__ import annotations

import json

from freecad_spatial import __version__

from .batch import FileResult, Report

SCHEMA = "freecad-spatial/report@1"


def _entry(result: FileResult) -> dict:
    entry = result.to_dict()
    json.dumps(entry, ensure_ascii=False).encode("utf-8")  # fails here, for this file alone, if it cannot be written
    return entry


def build(report: Report) -> dict:
    """report@1: ``schema``, ``process`` and ``files`` as tools.md says, plus context fields."""
    files = report.entries(lambda _, result: _entry(result))  # first: a file whose entry fails becomes an error the summary counts
    return {
        "schema": SCHEMA,
        "tool": {"name": "freecad-spatial", "version": __version__},
        "process": report.process,
        "profile": report.profile,
        "fail_on": report.fail_on,
        "rules": {"run": list(report.rules_run), "not_implemented": list(report.not_implemented)},
        "summary": report.counts(),
        "files": files,
    }


def render(report: Report) -> str:
    return json.dumps(build(report), indent=2, ensure_ascii=False) + "\n"

"""The JSON report of ``freecad-spatial check`` (tools.md, schema freecad-spatial/report@1)."""

from __future__ import annotations

import json

from freecad_spatial import __version__

from .batch import Report

SCHEMA = "freecad-spatial/report@1"


def build(report: Report) -> dict:
    """report@1: ``schema``, ``process`` and ``files`` as tools.md says, plus context fields."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "freecad-spatial", "version": __version__},
        "process": report.process,
        "profile": report.profile,
        "fail_on": report.fail_on,
        "rules": {"run": list(report.rules_run), "not_implemented": list(report.not_implemented)},
        "summary": report.counts(),
        "files": [r.to_dict() for r in report.files],
    }


def render(report: Report) -> str:
    return json.dumps(build(report), indent=2, ensure_ascii=False) + "\n"

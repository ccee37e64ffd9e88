"""Human titles of findings, from the templates in ``resources/finding_titles.toml``.

A rule id and a message are what the checker knows; what the engineer who
receives a finding needs first is one line saying the problem and the target
in millimetres or degrees ("Sharp inside corner of pocket1, 4 mm deep — needs
R ≥ 1.3 mm"). The wording is data, so it is reviewed and translated apart from
the code; the facts (depth, diameter, ...) come from the rule that found it.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

TITLES_FILE = RESOURCES / "finding_titles.toml"


@cache
def _templates() -> dict:
    with open(TITLES_FILE, "rb") as fh:
        return tomllib.load(fh)


def _fields(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def _first_fitting(templates: list[str], facts: Mapping[str, Any]) -> str | None:
    """The first template whose every field is a known (non-None) fact, filled in."""
    for template in templates:
        if all(facts.get(name) is not None for name in _fields(template)):
            try:
                return template.format(**facts).strip()
            except (ValueError, TypeError, KeyError, IndexError):  # a fact of the wrong type: try the next
                continue
    return None


def finding_facts(rule: str, count: int, measured: float | None, limit: float | None, unit: str | None,
                  facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every fact a title template may use: the finding's numbers, counts and the rule's own facts."""
    from .rules import CATALOGUE

    values: dict[str, Any] = {"measured": measured, "limit": limit, "unit": unit, "count": count,
                              "rule_title": CATALOGUE.get(rule, rule)}
    values.update({k: v for k, v in (facts or {}).items() if v is not None})
    feature = values.get("feature")
    if isinstance(feature, str):
        values["Feature"] = feature[:1].upper() + feature[1:]
    entry = _templates().get("rules", {}).get(rule, {})
    for key, forms in entry.items():  # plural helpers: [singular, plural] by count
        if key.startswith("count_words") and isinstance(forms, list) and len(forms) == 2:
            form = forms[0] if count == 1 else forms[1]
            if all(values.get(name) is not None for name in _fields(form)):
                values[key] = form.format(**values)
    if values.get("radius") not in (None, 0, 0.0) and "count_words_rounded" in values:
        values["count_words"] = values["count_words_rounded"]
    return values


def title_for(rule: str, count: int = 1, measured: float | None = None, limit: float | None = None,
              unit: str | None = None, facts: Mapping[str, Any] | None = None) -> str:
    """The title of a finding of ``rule`` with these numbers and facts (the catalogue title when none fits)."""
    values = finding_facts(rule, count, measured, limit, unit, facts)
    entry = _templates().get("rules", {}).get(rule, {})
    found = _first_fitting(list(entry.get("titles", [])), values)
    if found:
        return found
    return _first_fitting([_templates().get("fallback", "{rule_title}")], values) or str(values["rule_title"])


def title_of(finding: Any) -> str:
    """The finding's own title, else one made from its rule and numbers (findings saved before titles),
    else its message (a rule with no template: an assistant's own finding)."""
    if getattr(finding, "title", None):
        return str(finding.title)
    if finding.rule not in _templates().get("rules", {}):
        return str(finding.message)
    return title_for(finding.rule, max(1, len(finding.elements)), finding.measured, finding.limit, finding.unit)

"""One DFM finding (tools.md "Finding"): a rule id, a severity and where it applies.

Severities are an enum, never free text: an unknown severity is an error
when the finding is made, so no report can draw it as a pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import BadArguments

ELEMENT_RE = re.compile(r"^(Face|Edge|Vertex)[1-9][0-9]*$")
RULE_ID_RE = re.compile(r"^[a-z]+(\.[a-z0-9_]+)+$")


class Severity(StrEnum):
    """How bad a finding is; ordered error > warning > info."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, value: Any) -> Severity:
        """The severity named ``value``; raises BadArguments for anything else."""
        if isinstance(value, Severity):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise BadArguments(f"unknown severity {value!r} (allowed: {allowed})") from None

    def at_least(self, other: Severity | str) -> bool:
        return self.rank >= Severity.parse(other).rank


_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}

FINDING_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "rule": {"type": "string"},
        "severity": {"type": "string", "enum": [s.value for s in Severity]},
        "message": {"type": "string"},
        "object": {"type": ["string", "null"]},
        "elements": {"type": "array", "items": {"type": "string"}},
        "location": {
            "anyOf": [
                {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                {"type": "null"},
            ]
        },
        "measured": {"type": ["number", "null"]},
        "limit": {"type": ["number", "null"]},
        "unit": {"type": ["string", "null"]},
        "suggestion": {"type": ["string", "null"]},
        "related": {"type": "array", "items": {"type": "string"}},
        "title": {"type": ["string", "null"]},
    },
    "required": ["rule", "severity", "message", "object", "elements", "location", "measured", "limit", "unit", "suggestion"],
}


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadArguments(f"finding {what} must be a finite number or None, got {value!r:.60}")
    return float(value)


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one place of one object (elements are 1-based, without the object)."""

    rule: str
    severity: Severity
    message: str
    object: str | None = None
    elements: tuple[str, ...] = ()
    location: tuple[float, float, float] | None = None
    measured: float | None = None
    limit: float | None = None
    unit: str | None = None
    suggestion: str | None = None
    related: tuple[str, ...] = field(default=())  # refs of other geometry involved ("Pin.Face3")
    title: str | None = None  # one line an engineer reads first (dfm.titles); None: older producers

    @property
    def headline(self) -> str:
        """The title, else the message: what a list of findings shows (files written before titles have none)."""
        return self.title or self.message

    def __post_init__(self) -> None:
        if not isinstance(self.rule, str) or not RULE_ID_RE.match(self.rule):
            raise BadArguments(f"finding rule id {self.rule!r} is not like 'cnc.deep_hole'")
        object.__setattr__(self, "severity", Severity.parse(self.severity))
        if not isinstance(self.message, str) or not self.message.strip():
            raise BadArguments(f"finding of {self.rule} has no message")
        elements = tuple(self.elements)
        for element in elements:
            if not isinstance(element, str) or not ELEMENT_RE.match(element):
                raise BadArguments(f"finding of {self.rule}: element {element!r} is not like 'Face7'")
        object.__setattr__(self, "elements", elements)
        object.__setattr__(self, "related", tuple(self.related))
        if self.location is not None:
            point = tuple(self.location)
            if len(point) != 3:
                raise BadArguments(f"finding of {self.rule}: location needs 3 coordinates, got {point!r:.60}")
            object.__setattr__(self, "location", tuple(_number(c, "location") for c in point))
        object.__setattr__(self, "measured", _number(self.measured, "measured"))
        object.__setattr__(self, "limit", _number(self.limit, "limit"))

    @property
    def refs(self) -> list[str]:
        """Element refs as FreeCAD names them: 'Plate.Face7' (or 'Plate' alone)."""
        if self.object is None:
            return []
        return [f"{self.object}.{e}" for e in self.elements] or [self.object]

    def to_dict(self) -> dict:
        """The finding format; ``title`` only when there is one (a finding from before titles reads as it did)."""
        data = {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "object": self.object,
            "elements": list(self.elements),
            "location": [round(c, 6) for c in self.location] if self.location is not None else None,
            "measured": round(self.measured, 9) if self.measured is not None else None,
            "limit": round(self.limit, 9) if self.limit is not None else None,
            "unit": self.unit,
            "suggestion": self.suggestion,
            "related": list(self.related),
        }
        if self.title is not None:
            data["title"] = self.title
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        """Rebuilds a finding from ``to_dict`` output (e.g. sent back by a worker process)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["elements"] = tuple(known.get("elements") or ())
        known["related"] = tuple(known.get("related") or ())
        if known.get("location") is not None:
            known["location"] = tuple(known["location"])
        return cls(**known)


def worst(findings: list[Finding]) -> Severity | None:
    """The most severe severity among ``findings``; None when there are none."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)

"""The loop as a stream of typed steps, and the trace that collects them.

The UI subscribes to steps as they happen; ``ask --json`` prints the trace.
``index`` is the number of the model call a step belongs to (1-based).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ..backends.base import Usage


@dataclass
class Step:
    kind: ClassVar[str] = "step"
    index: int

    def to_dict(self) -> dict:
        return {"kind": self.kind, **asdict(self)}


@dataclass
class ModelCallStep(Step):
    """One request to the model and what it cost."""

    kind: ClassVar[str] = "model_call"
    model: str = ""
    stop_reason: str = ""
    usage: Usage = field(default_factory=Usage)
    bytes_sent: int = 0
    ms: float = 0.0
    forced: bool = False  # the last call without tools that asks for the answer
    context_tokens: int = 0  # estimated size of the request (tokens.py): system, document, tools, messages


@dataclass
class PlanningStep(Step):
    """The model's own words before it acts: its plan or reasoning."""

    kind: ClassVar[str] = "planning"
    text: str = ""


@dataclass
class ActionStep(Step):
    """A tool call (or code cell) about to run. ``arguments`` is None when its JSON did not parse."""

    kind: ClassVar[str] = "action"
    call_id: str = ""
    tool: str = ""
    arguments: dict | None = None
    raw_arguments: str = ""


@dataclass
class ObservationStep(Step):
    """What came back: ``content`` is what re-enters the model's context (maybe summarised)."""

    kind: ClassVar[str] = "observation"
    call_id: str = ""
    tool: str = ""
    ok: bool = True
    content: str = ""
    summarised: bool = False
    ms: float = 0.0


@dataclass
class FindingsStep(Step):
    """Findings the model submitted, validated against the finding format."""

    kind: ClassVar[str] = "findings"
    findings: list[dict] = field(default_factory=list)


@dataclass
class ErrorStep(Step):
    """The loop could not go on (backend failure); the reason is for the user."""

    kind: ClassVar[str] = "error"
    message: str = ""


@dataclass
class FinalAnswerStep(Step):
    """The answer. ``stop_reason``: submitted | end_turn | budget | failures | cancelled | error."""

    kind: ClassVar[str] = "final_answer"
    answer: str = ""
    stop_reason: str = ""
    forced: bool = False


@dataclass
class ToolCallRecord:
    """One tool call in full, for the trace (the model may have seen a summary)."""

    index: int
    call_id: str
    tool: str
    arguments: dict | None
    ok: bool
    result: Any
    ms: float


@dataclass
class Trace:
    question: str
    backend: str = ""
    model: str = ""
    tier: str = ""
    classification: str = ""
    steps: list[Step] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_calls: int = 0
    answer: str = ""
    stop_reason: str = ""
    forced: bool = False
    error: str | None = None
    time_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "schema": "freecad-spatial/trace@1",
            "question": self.question,
            "answer": self.answer,
            "stop_reason": self.stop_reason,
            "forced": self.forced,
            "error": self.error,
            "backend": self.backend,
            "model": self.model,
            "tier": self.tier,
            "classification": self.classification,
            "model_calls": self.model_calls,
            "usage": asdict(self.usage),
            "time_s": round(self.time_s, 3),
            "findings": self.findings,
            "tool_calls": [asdict(c) for c in self.tool_calls],
            "steps": [s.to_dict() for s in self.steps],
        }

"""One conversation: its settings, its messages, its findings and its code-cell namespace.

Settings default from resources/agent.toml; the preferences page and the
``ask`` options override them. The session outlives a single question so the
chat dock can follow up; each question gets a fresh step budget.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from ..backends.base import Message
from .steps import Trace

DEFAULTS_FILE = RESOURCES / "agent.toml"


@cache
def defaults() -> dict:
    with open(DEFAULTS_FILE, "rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Settings:
    backend: str
    tier: str
    private_host_suffixes: tuple[str, ...]
    allow_raw_geometry: bool
    step_budget: int
    max_consecutive_failures: int
    max_output_tokens: int
    context_budget_tokens: int
    document_budget_tokens: int
    tool_result_budget_tokens: int

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Defaults from agent.toml with ``overrides`` (None values ignored) applied and checked."""
        names = {f.name for f in fields(cls)}
        base = defaults()
        missing = names - set(base)
        if missing:
            raise KeyError(f"{DEFAULTS_FILE.name}: missing {', '.join(sorted(missing))}")
        values = {k: base[k] for k in names}
        extra = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(extra) - names
        if unknown:
            raise ValueError(f"unknown agent setting(s): {', '.join(sorted(unknown))}")
        values.update(extra)
        values["private_host_suffixes"] = tuple(values["private_host_suffixes"])
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        for name in ("step_budget", "max_consecutive_failures", "max_output_tokens", "context_budget_tokens",
                     "document_budget_tokens", "tool_result_budget_tokens"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"agent setting {name} must be at least 1, got {getattr(self, name)}")
        for name in ("document_budget_tokens", "tool_result_budget_tokens"):
            if getattr(self, name) >= self.context_budget_tokens:
                raise ValueError(f"agent setting {name} ({getattr(self, name)}) must be below "
                                 f"context_budget_tokens ({self.context_budget_tokens})")

    def with_(self, **changes: Any) -> Settings:
        settings = replace(self, **{k: v for k, v in changes.items() if v is not None})
        settings.check()
        return settings


@dataclass
class Session:
    """The state one chat keeps between questions."""

    settings: Settings = field(default_factory=Settings.load)
    messages: list[Message] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)
    kernel: Any = None  # the CellKernel of this conversation, made on first use
    # context.CallLimits of the cell running now (its deadline, read-only); None between cells.
    cell_limits: Any = None

    def cell_kernel(self, factory: Callable[[], Any]) -> Any:
        if self.kernel is None:
            self.kernel = factory()
        return self.kernel

    def close(self) -> None:
        """Ends the code-cell worker, if one was started; the conversation stays."""
        kernel, self.kernel = self.kernel, None
        close = getattr(kernel, "close", None)
        if close is not None:
            close()

    def reset(self) -> None:
        """Forget the conversation (a new chat); settings stay."""
        self.close()
        self.messages.clear()
        self.findings.clear()
        self.traces.clear()

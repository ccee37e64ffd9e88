"""Scripted model turns for the protocol test servers, consumed one per request.

A script is JSON: a list of turns, or ``{"turns": [...], "loop": false}``.
A turn is text and/or tool calls, optional usage, and an optional fault::

    {"text": "Measuring.", "tool_calls": [{"name": "measure_distance",
      "arguments": {"a": "Box.Face1", "b": "Box.Face2"}}],
     "usage": {"input_tokens": 120, "output_tokens": 30, "cache_read_input_tokens": 100}}
    {"fault": {"kind": "rate_limit", "retry_after": 0.2}}
    {"text": "partial answer", "fault": {"kind": "reset", "after_events": 3}}
    {"tool_calls": [{"name": "f", "raw_arguments": "{\\"a\\": 1,"}]}   (malformed JSON)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .faults import Fault


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: dict | None = None
    raw_arguments: str | None = None  # sent verbatim instead of json.dumps(arguments)
    id: str | None = None

    def wire_arguments(self) -> str:
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments or {})


@dataclass(frozen=True)
class Turn:
    text: str = ""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    stop_reason: str | None = None  # default: tool_use with tool calls, else end_turn
    usage: dict = field(default_factory=dict)  # input_tokens, output_tokens, cache_*_input_tokens
    fault: Fault | None = None
    text_chunk: int = 4  # characters per text delta
    json_chunk: int = 6  # characters per tool-argument fragment
    delay_s: float = 0.0  # pause before each event (slow streams for cancel tests)

    @classmethod
    def parse(cls, data: str | dict) -> Turn:
        if isinstance(data, str):
            return cls(text=data)
        data = dict(data)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown turn field(s): {', '.join(sorted(unknown))}")
        calls = tuple(c if isinstance(c, ScriptedToolCall) else ScriptedToolCall(**c) for c in data.pop("tool_calls", ()))
        fault = data.pop("fault", None)
        return cls(tool_calls=calls, fault=Fault.parse(fault) if fault is not None else None, **data)

    def final_stop_reason(self) -> str:
        return self.stop_reason or ("tool_use" if self.tool_calls else "end_turn")

    def usage_value(self, name: str) -> int:
        defaults = {"input_tokens": 10, "output_tokens": max(1, len(self.text) // 4 + 5 * len(self.tool_calls))}
        return int(self.usage.get(name, defaults.get(name, 0)))

    def text_pieces(self) -> list[str]:
        n = max(1, self.text_chunk)
        return [self.text[i : i + n] for i in range(0, len(self.text), n)]

    @staticmethod
    def json_pieces(raw: str, size: int) -> list[str]:
        n = max(1, size)
        return [raw[i : i + n] for i in range(0, len(raw), n)]


class Script:
    """A thread-safe queue of turns; ``loop`` restarts it when exhausted (demo use)."""

    def __init__(self, turns: list[Turn | dict | str], *, loop: bool = False) -> None:
        self.turns = [t if isinstance(t, Turn) else Turn.parse(t) for t in turns]
        self.loop = loop
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, source: str | Path | list | dict) -> Script:
        """From a JSON file path, a parsed list of turns or ``{"turns": [...], "loop": bool}``."""
        if isinstance(source, (str, Path)):
            source = json.loads(Path(source).read_text(encoding="utf-8"))
        if isinstance(source, dict):
            return cls(source.get("turns", []), loop=bool(source.get("loop", False)))
        return cls(list(source))

    def next_turn(self) -> Turn | None:
        with self._lock:
            if self._next >= len(self.turns):
                if not self.loop or not self.turns:
                    return None
                self._next = 0
            turn = self.turns[self._next]
            self._next += 1
            return turn

    @property
    def consumed(self) -> int:
        return self._next

    def add(self, *turns: Any) -> None:
        with self._lock:
            self.turns.extend(t if isinstance(t, Turn) else Turn.parse(t) for t in turns)

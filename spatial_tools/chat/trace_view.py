"""The collapsible trace under an answer, as data: one item per tool call or code cell.

Built incrementally from the agent's typed steps (an ActionStep opens an item,
its ObservationStep completes it), so the panel renders while the loop runs
and the same items are saved with the conversation.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

CELL_TOOL = "run_python"
SETTINGS = RESOURCES / "chat.toml"


@cache
def detail_chars() -> int:
    """How much of a tool's arguments and result the trace keeps (``[trace] detail_chars``)."""
    with open(SETTINGS, "rb") as fh:
        value = tomllib.load(fh)["trace"]["detail_chars"]
    if not isinstance(value, int) or value < 100:
        raise ValueError(f"{SETTINGS.name}: trace.detail_chars must be an integer of at least 100, got {value!r}")
    return value


@dataclass
class TraceItem:
    """One tool call (kind "tool") or code cell (kind "cell")."""

    call_id: str
    kind: str
    tool: str
    arguments: str = ""  # the arguments as JSON text (or the raw text that did not parse)
    code: str = ""  # code cells: the cell
    output: str = ""  # tool calls: the result; code cells: their output (both up to detail_chars)
    ok: bool | None = None  # None while it runs
    ms: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TraceItem:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _kept(text: str) -> str:
    """``text`` up to ``detail_chars``; longer text says how much was left out."""
    text = text.strip()
    limit = detail_chars()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters not kept)"


def pretty(text: str) -> str:
    """JSON text indented for reading (the trace's details); any other text as it is."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return text
    if not isinstance(data, (dict, list)):
        return text
    return json.dumps(data, indent=2, ensure_ascii=False)


def _cell_output(content: str) -> str:
    """A cell's observation is JSON {ok, stdout, value, error}: show it as a console would."""
    try:
        data = json.loads(content)
    except (ValueError, TypeError):
        return content
    if not isinstance(data, dict):
        return content
    parts = [str(data.get("stdout") or "").rstrip()]
    if data.get("value") is not None:
        parts.append(f"→ {json.dumps(data['value'], ensure_ascii=False) if not isinstance(data['value'], str) else data['value']}")
    if data.get("error"):
        error = data["error"]
        parts.append(f"error: {error.get('message', error) if isinstance(error, dict) else error}")
    return "\n".join(p for p in parts if p) or content


class TraceBuilder:
    """Feeds on steps (objects with a ``kind``); ``items`` is the trace so far."""

    def __init__(self) -> None:
        self.items: list[TraceItem] = []
        self._open: dict[str, TraceItem] = {}

    def add(self, step: Any) -> TraceItem | None:
        """The item the step created or completed, or None when the step is not a tool event."""
        kind = getattr(step, "kind", "")
        if kind == "action":
            arguments = step.arguments
            if step.tool == CELL_TOOL:
                item = TraceItem(call_id=step.call_id, kind="cell", tool=step.tool,
                                 code=_kept(str((arguments or {}).get("code", step.raw_arguments))))
            else:
                text = json.dumps(arguments, ensure_ascii=False) if arguments is not None else step.raw_arguments
                item = TraceItem(call_id=step.call_id, kind="tool", tool=step.tool, arguments=_kept(text))
            self.items.append(item)
            self._open[step.call_id] = item
            return item
        if kind == "observation":
            item = self._open.pop(step.call_id, None)
            if item is None:
                return None
            item.ok = bool(step.ok)
            item.ms = float(step.ms)
            item.output = _kept(_cell_output(step.content) if item.kind == "cell" else step.content)
            return item
        return None

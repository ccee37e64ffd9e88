"""Stream accumulation for both wire formats as pure functions: event + snapshot -> snapshot.

A ``Snapshot`` is immutable; each step returns a new one whose ``events`` are the
StreamEvents that step produced (for the chat dock). ``finish`` turns the last
snapshot into a ModelTurn, parsing tool arguments: malformed JSON gives
``arguments=None`` with ``raw_arguments`` kept, never a silent ``{}``.
Errors reported inside a stream are stored in ``Snapshot.error`` (mapped to
exceptions by backends/errors.py, the one place that does that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .base import (
    ModelTurn,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStarted,
    Usage,
)


@dataclass(frozen=True)
class PartialToolCall:
    index: int  # the wire index (Anthropic content-block index, OpenAI tool_calls index)
    id: str
    name: str
    raw_arguments: str = ""


@dataclass(frozen=True)
class Snapshot:
    text: str = ""
    tool_calls: tuple[PartialToolCall, ...] = ()
    stop_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    started: bool = False  # Anthropic message_start seen / first OpenAI chunk seen
    done: bool = False  # Anthropic message_stop / OpenAI [DONE]
    error: Any = None  # the payload of an in-stream error
    events: tuple[StreamEvent, ...] = ()  # produced by the step that made this snapshot


# --- SSE ---------------------------------------------------------------------


@dataclass(frozen=True)
class SSE:
    event: str | None
    data: str


def iter_sse(lines: Iterable[str]) -> Iterator[SSE]:
    """Server-sent events from decoded lines (no line endings), per the WHATWG rules we need."""
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or event is not None:
                yield SSE(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data or event is not None:
        yield SSE(event, "\n".join(data))


# --- Anthropic Messages ------------------------------------------------------


def _anthropic_usage(usage: Usage, raw: dict | None) -> Usage:
    """message_start carries the full usage; message_delta carries cumulative updates."""
    if not raw:
        return usage
    updates = {}
    for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = raw.get(name)
        if value is not None:
            updates[name] = int(value)
    return replace(usage, **updates)


def _tool_position(snapshot: Snapshot, index: int) -> int | None:
    for position, call in enumerate(snapshot.tool_calls):
        if call.index == index:
            return position
    return None


def accumulate_anthropic(event: dict, snapshot: Snapshot) -> Snapshot:
    """One Anthropic stream event (as a JSON dict) applied to ``snapshot``."""
    kind = event.get("type")
    snap = replace(snapshot, events=())
    if kind == "message_start":
        message = event.get("message") or {}
        return replace(
            snap,
            started=True,
            model=message.get("model") or snap.model,
            usage=_anthropic_usage(snap.usage, message.get("usage")),
        )
    if kind == "content_block_start":
        block = event.get("content_block") or {}
        if block.get("type") == "tool_use":
            call = PartialToolCall(index=int(event.get("index", 0)), id=block.get("id", ""), name=block.get("name", ""))
            return replace(snap, tool_calls=snap.tool_calls + (call,), events=(ToolCallStarted(call.id, call.name),))
        if block.get("type") == "text" and block.get("text"):
            return replace(snap, text=snap.text + block["text"], events=(TextDelta(block["text"]),))
        return snap
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            text = delta.get("text") or ""
            return replace(snap, text=snap.text + text, events=(TextDelta(text),) if text else ())
        if delta.get("type") == "input_json_delta":
            position = _tool_position(snap, int(event.get("index", 0)))
            if position is None:
                return replace(snap, error={"error": {"type": "protocol_error", "message": "input_json_delta for a block that is not a tool_use"}})
            fragment = delta.get("partial_json") or ""
            call = snap.tool_calls[position]
            calls = list(snap.tool_calls)
            calls[position] = replace(call, raw_arguments=call.raw_arguments + fragment)
            events = (ToolCallArgumentsDelta(call.id, fragment),) if fragment else ()
            return replace(snap, tool_calls=tuple(calls), events=events)
        return snap  # thinking / signature / citations deltas are not used here
    if kind == "message_delta":
        delta = event.get("delta") or {}
        return replace(
            snap,
            stop_reason=delta.get("stop_reason") or snap.stop_reason,
            usage=_anthropic_usage(snap.usage, event.get("usage")),
        )
    if kind == "message_stop":
        return replace(snap, done=True)
    if kind == "error":
        return replace(snap, error=event)
    return snap  # ping, content_block_stop, unknown future events


# --- OpenAI chat completions (vLLM) ------------------------------------------

_OPENAI_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "function_call": "tool_use", "length": "max_tokens"}


def accumulate_openai(chunk: dict | str, snapshot: Snapshot) -> Snapshot:
    """One chat.completion.chunk (a JSON dict, or the ``[DONE]`` sentinel) applied to ``snapshot``."""
    snap = replace(snapshot, events=())
    if chunk == "[DONE]":
        return replace(snap, done=True)
    if not isinstance(chunk, dict):
        return replace(snap, error={"error": {"type": "protocol_error", "message": f"unexpected chunk {chunk!r:.80}"}})
    if "error" in chunk or chunk.get("object") == "error":
        return replace(snap, error=chunk)
    snap = replace(snap, started=True, model=chunk.get("model") or snap.model)
    usage = chunk.get("usage")
    if usage:
        cached = int(((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
        snap = replace(
            snap,
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens") or 0) - cached,
                output_tokens=int(usage.get("completion_tokens") or 0),
                cache_read_input_tokens=cached,
            ),
        )
    events: list[StreamEvent] = []
    for choice in chunk.get("choices") or []:
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        text = delta.get("content")
        if text:
            snap = replace(snap, text=snap.text + text)
            events.append(TextDelta(text))
        for tc in delta.get("tool_calls") or []:
            index = int(tc.get("index", len(snap.tool_calls)))
            function = tc.get("function") or {}
            position = _tool_position(snap, index)
            calls = list(snap.tool_calls)
            if position is None:
                call = PartialToolCall(index=index, id=tc.get("id") or f"call_{index}", name=function.get("name") or "")
                calls.append(call)
                position = len(calls) - 1
                events.append(ToolCallStarted(call.id, call.name))
            call = calls[position]
            if function.get("name") and not call.name:
                call = replace(call, name=function["name"])
            fragment = function.get("arguments") or ""
            if fragment:
                call = replace(call, raw_arguments=call.raw_arguments + fragment)
                events.append(ToolCallArgumentsDelta(call.id, fragment))
            calls[position] = call
            snap = replace(snap, tool_calls=tuple(calls))
        if choice.get("finish_reason"):
            snap = replace(snap, stop_reason=choice["finish_reason"])
    return replace(snap, events=tuple(events))


# --- result ------------------------------------------------------------------


def parse_arguments(raw: str) -> dict | None:
    """The tool arguments as a dict; None when the model's JSON is not an object."""
    if raw.strip() == "":
        return {}  # a tool without arguments: the model sent nothing to parse
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def finish(snapshot: Snapshot, wire: str) -> ModelTurn:
    """The ModelTurn of a complete stream (``wire`` is "anthropic" or "openai")."""
    stop = snapshot.stop_reason or ""
    if wire == "openai":
        stop = _OPENAI_STOP.get(stop, stop)
        if snapshot.tool_calls and stop == "end_turn":
            stop = "tool_use"  # some servers say "stop" after tool calls
    calls = [ToolCall(id=c.id, name=c.name, arguments=parse_arguments(c.raw_arguments), raw_arguments=c.raw_arguments) for c in snapshot.tool_calls]
    return ModelTurn(text=snapshot.text, tool_calls=calls, stop_reason=stop, usage=replace(snapshot.usage), model=snapshot.model)


def incomplete_reason(snapshot: Snapshot, wire: str) -> str | None:
    """Why a stream that ended is not a complete answer, or None when it is."""
    if wire == "anthropic":
        if not snapshot.started:
            return "the stream ended before message_start"
        if not snapshot.done:
            return "the stream ended before message_stop"
        return None
    if not snapshot.done and snapshot.stop_reason is None:
        return "the stream ended before a finish_reason or [DONE]"
    return None


def cancelled_turn(snapshot: Snapshot, wire: str) -> ModelTurn:
    """What had streamed when the caller cancelled (tool arguments may be cut short)."""
    return replace(finish(snapshot, wire), stop_reason="cancelled")

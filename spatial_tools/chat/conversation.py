"""One document's conversation, and where it is kept: inside the document.

Storage: the document's ``Meta`` map under ``FreeCADSpatial.Chat``, as JSON
(schema ``freecad-spatial/chat@1``). Chosen over a file beside the document
because the conversation then travels with the part (copied, mailed, put in
PDM), cannot get separated from it, inherits the document's classification,
and a file still opens where the addon is not installed (Meta is plain
Document.xml). The same place as the classification (classification.py).

What is kept: the entries the panel shows (questions, answers with their
traces, errors) and the agent's messages, so a follow-up after reopening
continues the same conversation. Keys never enter it (the backends never put
them in messages). Only the newest entries are kept when it grows past
MAX_CHARS.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..backends.base import Message, ToolCall
from .trace_view import TraceItem

META_KEY = "FreeCADSpatial.Chat"
SCHEMA = "freecad-spatial/chat@1"
MAX_CHARS = 1_000_000


@dataclass
class Entry:
    """One bubble: role "user" | "assistant" | "error"."""

    role: str
    text: str
    trace: list[TraceItem] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)  # numbers of the findings this answer submitted
    stop_reason: str = ""
    title: str = ""  # errors: the advice title

    def to_dict(self) -> dict:
        data = asdict(self)
        data["trace"] = [t.to_dict() for t in self.trace]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Entry:
        return cls(role=str(data["role"]), text=str(data.get("text", "")),
                   trace=[TraceItem.from_dict(t) for t in data.get("trace", [])],
                   findings=[int(n) for n in data.get("findings", [])],
                   stop_reason=str(data.get("stop_reason", "")), title=str(data.get("title", "")))


def _message_from_dict(data: dict) -> Message:
    calls = [ToolCall(**c) for c in data.get("tool_calls", [])]
    return Message(role=data["role"], text=data.get("text", ""), tool_calls=calls,
                   tool_call_id=data.get("tool_call_id"), is_error=bool(data.get("is_error", False)))


@dataclass
class Conversation:
    entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # the agent session's messages
    # every finding submitted, each with its "number": the document's (the dock's, markers', report's) where
    # it became an annotation object, else its place in the conversation
    findings: list[dict] = field(default_factory=list)

    def add_findings(self, found: list[dict], numbers: list[int] | None = None) -> list[int]:
        """Appends findings under ``numbers`` (the document's, in order) or, without them, under their
        1-based place in the conversation; returns the numbers."""
        start = len(self.findings)
        if numbers is None or len(numbers) != len(found):
            numbers = list(range(start + 1, start + 1 + len(found)))
        self.findings.extend({**f, "number": n} for f, n in zip(found, numbers, strict=True))
        return list(numbers)

    def finding(self, number: int) -> dict | None:
        for i, found in enumerate(self.findings):
            if int(found.get("number", i + 1)) == number:  # saved before numbers were stored: the place
                return found
        return None

    def clear(self) -> None:
        self.entries.clear()
        self.messages.clear()
        self.findings.clear()

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "entries": [e.to_dict() for e in self.entries],
            "messages": [{**asdict(m), "cache": False} for m in self.messages],
            "findings": self.findings,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Conversation:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} conversation (schema {data.get('schema')!r})")
        return cls(entries=[Entry.from_dict(e) for e in data.get("entries", [])],
                   messages=[_message_from_dict(m) for m in data.get("messages", [])],
                   findings=list(data.get("findings", [])))

    def dumps(self, max_chars: int = MAX_CHARS) -> str:
        """JSON; the oldest exchanges are dropped (with the messages) while it is too long."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        if len(text) <= max_chars:
            return text
        trimmed = Conversation(entries=list(self.entries), messages=list(self.messages), findings=list(self.findings))
        while len(text) > max_chars and trimmed.entries:
            trimmed.entries.pop(0)
            # Messages: drop up to the next user question so tool results stay paired with their calls.
            if trimmed.messages:
                trimmed.messages.pop(0)
                while trimmed.messages and trimmed.messages[0].role != "user":
                    trimmed.messages.pop(0)
            text = json.dumps(trimmed.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return text


def save_to_document(document: Any, conversation: Conversation) -> None:
    """Writes the conversation into the document's Meta map (saved with the document)."""
    meta = dict(getattr(document, "Meta", None) or {})
    if conversation.entries:
        meta[META_KEY] = conversation.dumps()
    else:
        meta.pop(META_KEY, None)
    if meta != dict(document.Meta or {}):
        document.Meta = meta


def load_from_document(document: Any) -> Conversation:
    """The stored conversation; an empty one when none is stored or it cannot be read."""
    text = (getattr(document, "Meta", None) or {}).get(META_KEY, "")
    if not text:
        return Conversation()
    try:
        return Conversation.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return Conversation()

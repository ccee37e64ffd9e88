"""The one backend interface and the provider-neutral conversation it speaks.

The agent loop talks only in these types; each backend converts them to its
wire format (Anthropic Messages, OpenAI chat completions) and back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict | None  # None when the model's JSON did not parse
    raw_arguments: str = ""  # exactly what the model sent, for error messages


@dataclass
class Message:
    """One turn. role 'tool' carries a result for ``tool_call_id``."""

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    is_error: bool = False
    # A prompt-caching breakpoint after this message (e.g. the document-context block):
    # Anthropic puts cache_control on its last content block; other backends ignore it.
    cache: bool = False
    # Images a tool result carries (render_view): sent as image blocks, never as text in ``text``.
    images: list[Image] = field(default_factory=list)


@dataclass(frozen=True)
class Image:
    """A picture for the model: its media type and base64 data."""

    media_type: str
    data: str

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.data}"


def split_images(result: object) -> tuple[object, list[Image]]:
    """A tool result without its ``image`` ({"media_type", "data"}) and the image apart, so the model gets
    the picture as an image block and the rest as text (base64 as text would cost tokens for nothing)."""
    if not isinstance(result, dict):
        return result, []
    inner = result.get("result") if isinstance(result.get("result"), dict) else result
    image = inner.get("image")
    if not (isinstance(image, dict) and isinstance(image.get("data"), str) and isinstance(image.get("media_type"), str)):
        return result, []
    stripped = {k: v for k, v in inner.items() if k != "image"}
    stripped["image"] = {"media_type": image["media_type"], "data": "", "note": "attached as an image block"}
    if inner is not result:
        stripped = {**result, "result": stripped}
    return stripped, [Image(image["media_type"], image["data"])]


@dataclass
class SystemSection:
    """A named block of the system prompt; ``cache`` marks a prompt-caching breakpoint."""

    name: str
    text: str
    cache: bool = False


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens


@dataclass
class ModelTurn:
    """What one model call returned, fully accumulated."""

    text: str
    tool_calls: list[ToolCall]
    stop_reason: str  # "end_turn" | "tool_use" | "max_tokens" | "cancelled" | ...
    usage: Usage
    model: str = ""


# Stream events handed to ``on_event`` as they arrive (for the chat dock).
@dataclass
class TextDelta:
    text: str


@dataclass
class ToolCallStarted:
    id: str
    name: str


@dataclass
class ToolCallArgumentsDelta:
    id: str
    partial_json: str


@dataclass
class Retrying:
    attempt: int
    delay_s: float
    reason: str


StreamEvent = TextDelta | ToolCallStarted | ToolCallArgumentsDelta | Retrying


class CancelToken:
    """Set from any thread; backends check it between chunks and close the stream."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleeps up to ``seconds``; True when cancelled meanwhile."""
        return self._event.wait(seconds)


class Backend(Protocol):
    name: str  # "anthropic" | "openai"
    base_url: str
    model: str

    def complete(
        self,
        system: list[SystemSection],
        messages: list[Message],
        tools: list[dict],  # Anthropic-style definitions {name, description, input_schema}
        *,
        cancel: CancelToken | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        max_tokens: int = 4096,
    ) -> ModelTurn:
        """Streams one model call; raises backends.errors.BackendError subclasses on failure."""
        ...



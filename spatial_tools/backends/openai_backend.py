"""OpenAI-compatible chat completions (vLLM first) over plain ``httpx``.

POST {base_url}/chat/completions with ``stream: true`` and
``stream_options.include_usage``; the SSE ``data:`` lines are accumulated by
streaming.accumulate_openai until ``[DONE]``. The key, when there is one, is a
bearer token. Redirects are never followed (a tier may forbid the target).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from . import errors
from .base import CancelToken, Message, ModelTurn, StreamEvent, SystemSection
from .keys import Secret
from .retry import cancel_watch, run_with_retries, shutdown_socket
from .settings import BackendSettings
from .streaming import (
    Snapshot,
    accumulate_openai,
    cancelled_turn,
    finish,
    incomplete_reason,
    iter_sse,
)

# Bytes of an error response kept for the error message.
_ERROR_BODY_LIMIT = 16384

RequestHook = Callable[[str, str, bytes], None]


def openai_tools(tools: list[dict]) -> list[dict]:
    """Anthropic-style definitions {name, description, input_schema} as OpenAI functions."""
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t.get("description", ""), "parameters": t["input_schema"]},
        }
        for t in tools
    ]


def openai_messages(system: list[SystemSection], messages: list[Message]) -> list[dict]:
    out: list[dict] = []
    system_text = "\n\n".join(s.text for s in system if s.text)
    if system_text:
        out.append({"role": "system", "content": system_text})
    for m in messages:
        if m.role == "user":
            out.append({"role": "user", "content": m.text})
        elif m.role == "assistant":
            entry: dict = {"role": "assistant", "content": m.text or (None if m.tool_calls else "")}
            if m.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        # Unparseable arguments are replayed as {}: chat templates parse
                        # this field, and the tool result already says what went wrong.
                        "function": {"name": c.name, "arguments": json.dumps(c.arguments if c.arguments is not None else {})},
                    }
                    for c in m.tool_calls
                ]
            out.append(entry)
        elif m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.text})
            if m.images:  # tool messages take text only: the picture follows as a user message
                out.append({"role": "user", "content": [
                    {"type": "text", "text": f"Image returned by tool call {m.tool_call_id or ''}:"}] + [
                    {"type": "image_url", "image_url": {"url": im.data_url()}} for im in m.images]})
        else:
            raise ValueError(f"unknown message role '{m.role}'")
    return out


class OpenAIBackend:
    """An OpenAI-compatible endpoint; ``api_key`` is optional (vLLM often runs without)."""

    name = "openai"

    def __init__(
        self,
        settings: BackendSettings,
        *,
        api_key: Secret | None = None,
        request_hook: RequestHook | None = None,
    ) -> None:
        if not settings.model:
            raise errors.RequestRejected(
                "no model name set: an OpenAI-compatible server (vLLM) needs the name of the model it serves",
                provider=self.name,
                endpoint=settings.base_url,
            )
        self.settings = settings
        self.base_url = settings.base_url
        self.model = settings.model
        self._key = api_key
        self._request_hook = request_hook
        t = settings.timeouts
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=t.connect_s, read=t.read_s, write=t.write_s, pool=t.pool_s),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: bytes go where the tier allows
        )

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, key={'set' if self._key else 'none'})"

    def close(self) -> None:
        self._client.close()

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def request_body(self, system: list[SystemSection], messages: list[Message], tools: list[dict], max_tokens: int) -> dict:
        body = {
            "model": self.model,
            "messages": openai_messages(system, messages),
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = openai_tools(tools)
        return body

    def complete(
        self,
        system: list[SystemSection],
        messages: list[Message],
        tools: list[dict],
        *,
        cancel: CancelToken | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        max_tokens: int = 4096,
    ) -> ModelTurn:
        content = json.dumps(self.request_body(system, messages, tools, max_tokens)).encode()
        return run_with_retries(
            lambda n: self._attempt(content, cancel, on_event),
            policy=self.settings.retry,
            cancel=cancel,
            on_event=on_event,
        )

    def _error_kw(self) -> dict:
        return {"provider": self.name, "endpoint": self.base_url, "secrets": (self._key.reveal() if self._key else None,)}

    def _attempt(self, content: bytes, cancel: CancelToken | None, on_event: Callable[[StreamEvent], None] | None) -> ModelTurn:
        kw = self._error_kw()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        if self._request_hook is not None:
            self._request_hook("POST", self.url, content)
        snap = Snapshot()
        try:
            with self._client.stream("POST", self.url, content=content, headers=headers) as response:
                if response.status_code != 200:
                    raw = b""
                    for piece in response.iter_bytes():
                        raw += piece
                        if len(raw) >= _ERROR_BODY_LIMIT:
                            break
                    raise errors.from_status(response.status_code, response.headers, raw, **kw)
                with cancel_watch(cancel, lambda: shutdown_socket(response)):
                    for sse in iter_sse(response.iter_lines()):
                        if cancel is not None and cancel.cancelled:
                            break
                        if sse.data.strip() == "[DONE]":
                            snap = accumulate_openai("[DONE]", snap)
                            break
                        if not sse.data:
                            continue
                        try:
                            chunk = json.loads(sse.data)
                        except ValueError:
                            raise errors.ProtocolError(
                                f"malformed JSON in a stream chunk: {errors.redact(sse.data[:120], kw['secrets'])!r}",
                                provider=self.name,
                                endpoint=self.base_url,
                            ) from None
                        snap = accumulate_openai(chunk, snap)
                        if snap.error is not None:
                            raise errors.from_stream_error(snap.error, **kw)
                        if on_event is not None:
                            for event in snap.events:
                                on_event(event)
        except errors.BackendError:
            if cancel is not None and cancel.cancelled:
                raise errors.Cancelled(partial=cancelled_turn(snap, "openai"), provider=self.name, endpoint=self.base_url) from None
            raise
        except (httpx.HTTPError, OSError) as exc:
            if cancel is not None and cancel.cancelled:
                raise errors.Cancelled(partial=cancelled_turn(snap, "openai"), provider=self.name, endpoint=self.base_url) from None
            raise errors.from_exception(exc, **kw) from exc
        if cancel is not None and cancel.cancelled:
            raise errors.Cancelled(partial=cancelled_turn(snap, "openai"), provider=self.name, endpoint=self.base_url)
        reason = incomplete_reason(snap, "openai")
        if reason is not None:
            raise errors.ProtocolError(reason, provider=self.name, endpoint=self.base_url)
        return finish(snap, "openai")

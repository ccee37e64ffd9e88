"""The Anthropic Messages API through the official ``anthropic`` SDK.

Streams with ``messages.create(stream=True)`` and feeds the raw events to
streaming.accumulate_anthropic. Prompt caching: cache_control on the system
sections marked ``cache`` (the static prompt and the document context), on
the last tool definition and on the last message marked ``cache``. The SDK's retries are off
(``max_retries=0``) so retry.py's policy applies; redirects are not followed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from . import errors
from .base import CancelToken, Message, ModelTurn, StreamEvent, SystemSection
from .keys import Secret, env_names, service, username
from .retry import cancel_watch, run_with_retries, shutdown_socket
from .settings import BackendSettings
from .streaming import Snapshot, accumulate_anthropic, cancelled_turn, finish, incomplete_reason

CACHE_CONTROL = {"type": "ephemeral"}
# The Messages API takes at most 4 cache breakpoints per request: one after the
# tools, one after the newest message marked ``cache``, and so at most two in
# the system prompt (its static sections, then the document context).
MAX_SYSTEM_BREAKPOINTS = 2

RequestHook = Callable[[str, str, bytes], None]


def anthropic_system(system: list[SystemSection]) -> list[dict]:
    """Text blocks; cache_control after each section marked ``cache`` (the last two marked)."""
    kept = [s for s in system if s.text]
    blocks = [{"type": "text", "text": s.text} for s in kept]
    cached = [i for i, s in enumerate(kept) if s.cache]
    for i in cached[-MAX_SYSTEM_BREAKPOINTS:]:
        blocks[i]["cache_control"] = dict(CACHE_CONTROL)
    return blocks


def anthropic_tools(tools: list[dict]) -> list[dict]:
    out = [dict(t) for t in tools]
    if out:
        out[-1]["cache_control"] = dict(CACHE_CONTROL)
    return out


def anthropic_messages(messages: list[Message]) -> list[dict]:
    """Provider-neutral messages as Anthropic turns (tool results are user turns; same roles merge)."""
    marked = [i for i, m in enumerate(messages) if m.cache]
    cache_at = marked[-1] if marked else None
    out: list[dict] = []
    for i, m in enumerate(messages):
        blocks: list[dict] = []
        if m.role == "user":
            role = "user"
            if m.text:
                blocks.append({"type": "text", "text": m.text})
        elif m.role == "assistant":
            role = "assistant"
            if m.text:
                blocks.append({"type": "text", "text": m.text})
            for c in m.tool_calls:
                # Unparseable arguments are replayed as {} (the API wants an object);
                # the tool result already tells the model what went wrong.
                blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments if c.arguments is not None else {}})
        elif m.role == "tool":
            role = "user"
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.text}
            if m.images:  # a render: text and image blocks in the tool result
                block["content"] = [{"type": "text", "text": m.text or "(image)"}] + [
                    {"type": "image", "source": {"type": "base64", "media_type": im.media_type, "data": im.data}}
                    for im in m.images]
            if m.is_error:
                block["is_error"] = True
            blocks.append(block)
        else:
            raise ValueError(f"unknown message role '{m.role}'")
        if not blocks:
            continue
        if i == cache_at:
            blocks[-1]["cache_control"] = dict(CACHE_CONTROL)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        settings: BackendSettings,
        *,
        api_key: Secret | None = None,
        request_hook: RequestHook | None = None,
    ) -> None:
        import anthropic  # optional dependency: imported only when this backend is used

        self.settings = settings
        self.base_url = settings.base_url
        self.model = settings.model
        self._key = api_key
        self._request_hook = request_hook
        self._local = threading.local()  # per calling thread: the request hook's own exception
        t = settings.timeouts
        timeout = anthropic.Timeout(connect=t.connect_s, read=t.read_s, write=t.write_s, pool=t.pool_s)
        self._client = anthropic.Anthropic(
            api_key=api_key.reveal() if api_key is not None else "",
            base_url=settings.base_url,
            max_retries=0,
            timeout=timeout,
            http_client=anthropic.DefaultHttpxClient(
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: bytes go where the tier allows
                event_hooks={"request": [self._on_request]},
            ),
        )

    def __repr__(self) -> str:
        return f"AnthropicBackend(model={self.model!r}, base_url={self.base_url!r}, key={'set' if self._key else 'none'})"

    def close(self) -> None:
        self._client.close()

    def _on_request(self, request: Any) -> None:
        """httpx2 request hook: the caller's hook sees the exact bytes before they leave."""
        if self._request_hook is None:
            return
        try:
            self._request_hook(request.method, str(request.url), bytes(request.content))
        except BaseException as exc:
            self._local.hook_error = exc  # the SDK would wrap it as a connection error
            raise

    def request_params(self, system: list[SystemSection], messages: list[Message], tools: list[dict], max_tokens: int) -> dict:
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": anthropic_messages(messages),
        }
        if system:
            params["system"] = anthropic_system(system)
        if tools:
            params["tools"] = anthropic_tools(tools)
        return params

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
        if self._key is None:
            raise errors.AuthError(
                f"no Anthropic API key: store one in the OS keyring (service '{service()}', "
                f"user '{username(self.name)}') or set {' or '.join(env_names(self.name))}",
                provider=self.name,
                endpoint=self.base_url,
            )
        params = self.request_params(system, messages, tools, max_tokens)
        return run_with_retries(
            lambda n: self._attempt(params, cancel, on_event),
            policy=self.settings.retry,
            cancel=cancel,
            on_event=on_event,
        )

    def _attempt(self, params: dict, cancel: CancelToken | None, on_event: Callable[[StreamEvent], None] | None) -> ModelTurn:
        import anthropic
        import httpx2

        kw = {"provider": self.name, "endpoint": self.base_url, "secrets": (self._key.reveal() if self._key else None,)}
        snap = Snapshot()
        self._local.hook_error = None
        try:
            stream = self._client.messages.create(**params, stream=True)
            with stream, cancel_watch(cancel, lambda: shutdown_socket(stream.response)):
                for event in stream:
                    if cancel is not None and cancel.cancelled:
                        break
                    snap = accumulate_anthropic(event.to_dict(), snap)
                    if snap.error is not None:
                        raise errors.from_stream_error(snap.error, **kw)
                    if on_event is not None:
                        for ev in snap.events:
                            on_event(ev)
        except errors.BackendError:
            if cancel is not None and cancel.cancelled:
                raise errors.Cancelled(partial=cancelled_turn(snap, "anthropic"), provider=self.name, endpoint=self.base_url) from None
            raise
        except (anthropic.APIError, httpx2.HTTPError, OSError, json.JSONDecodeError) as exc:
            if self._local.hook_error is not None:
                raise self._local.hook_error from None
            if cancel is not None and cancel.cancelled:
                raise errors.Cancelled(partial=cancelled_turn(snap, "anthropic"), provider=self.name, endpoint=self.base_url) from None
            raise errors.from_exception(exc, **kw) from exc
        if cancel is not None and cancel.cancelled:
            raise errors.Cancelled(partial=cancelled_turn(snap, "anthropic"), provider=self.name, endpoint=self.base_url)
        reason = incomplete_reason(snap, "anthropic")
        if reason is not None:
            raise errors.ProtocolError(reason, provider=self.name, endpoint=self.base_url)
        return finish(snap, "anthropic")

"""The Anthropic backend (real SDK) against the loopback Anthropic protocol server:
streaming, tool use, prompt caching, usage, retries, timeouts, cancel, redirects."""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback

import pytest
from key_leak import make_test_key

from freecad_spatial.spatial_tools.backends import errors
from freecad_spatial.spatial_tools.backends.anthropic_backend import AnthropicBackend
from freecad_spatial.spatial_tools.backends.base import (
    CancelToken,
    Message,
    Retrying,
    SystemSection,
    TextDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from freecad_spatial.spatial_tools.backends.keys import Secret
from freecad_spatial.spatial_tools.backends.settings import BackendSettings
from freecad_spatial.spatial_tools.backends.streaming import Snapshot, accumulate_anthropic, finish
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

KEY = make_test_key("anthropic")
FAST = {"base_delay_s": 0.01, "max_delay_s": 0.05, "jitter": 0.1, "connect_s": 2.0, "read_s": 3.0}
TOOLS = [
    {"name": "measure_distance", "description": "Distance between two elements.", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}},
    {"name": "mass_properties", "description": "Volume, area, centre of mass.", "input_schema": {"type": "object", "properties": {}}},
]
SYSTEM = [SystemSection("role", "You measure instead of guessing.", cache=True), SystemSection("turn", "Units: mm.")]


def backend(server: ProtocolServer, **overrides) -> AnthropicBackend:
    settings = BackendSettings.for_provider("anthropic", {"base_url": server.url, "model": "claude-test", **FAST, **overrides})
    return AnthropicBackend(settings, api_key=Secret(KEY))


def ask(b: AnthropicBackend, events: list | None = None, **kw):
    on_event = events.append if events is not None else None
    return b.complete(SYSTEM, [Message("user", "How thick is the plate?")], TOOLS, on_event=on_event, **kw)


def test_text_arrives_as_ordered_deltas():
    text = "The plate is 12.5 mm thick between Plate.Face1 and Plate.Face2."
    with ProtocolServer([{"text": text, "text_chunk": 3}]) as server:
        events: list = []
        turn = ask(backend(server), events)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == -(-len(text) // 3)
    assert "".join(deltas) == text == turn.text
    assert turn.stop_reason == "end_turn" and turn.tool_calls == [] and turn.model == "claude-test"


def test_tool_use_accumulates_split_json():
    arguments = {"a": "Plate.Face1", "b": "Plate.Face2", "options": {"nested": [1, 2.5, "x"]}}
    script = [{"text": "Measuring.", "tool_calls": [{"name": "measure_distance", "arguments": arguments, "id": "toolu_A"}, {"name": "mass_properties", "arguments": {}, "id": "toolu_B"}], "json_chunk": 5}]
    with ProtocolServer(script) as server:
        events: list = []
        turn = ask(backend(server), events)
    fragments = [e.partial_json for e in events if isinstance(e, ToolCallArgumentsDelta) and e.id == "toolu_A"]
    assert len(fragments) == -(-len(json.dumps(arguments)) // 5)  # really split, in order
    assert "".join(fragments) == json.dumps(arguments)
    assert [(e.id, e.name) for e in events if isinstance(e, ToolCallStarted)] == [("toolu_A", "measure_distance"), ("toolu_B", "mass_properties")]
    assert turn.stop_reason == "tool_use"
    assert turn.tool_calls == [
        ToolCall("toolu_A", "measure_distance", arguments, json.dumps(arguments)),
        ToolCall("toolu_B", "mass_properties", {}, "{}"),
    ]


def test_malformed_tool_arguments_are_kept_raw_not_emptied():
    raw = '{"a": "Plate.Face1", "b": '
    with ProtocolServer([{"tool_calls": [{"name": "measure_distance", "raw_arguments": raw}]}]) as server:
        turn = ask(backend(server))
    assert turn.tool_calls[0].arguments is None
    assert turn.tool_calls[0].raw_arguments == raw


def test_prompt_caching_breakpoints_in_the_request():
    messages = [
        Message("user", '{"document": "Plate", "objects": 3}', cache=True),  # document context
        Message("assistant", "", tool_calls=[ToolCall("toolu_1", "mass_properties", {}, "{}")]),
        Message("tool", '{"ok": true}', tool_call_id="toolu_1"),
        Message("tool", '{"ok": false}', tool_call_id="toolu_2", is_error=True),
        Message("user", "And the mass?"),
    ]
    with ProtocolServer([{"text": "ok"}]) as server:
        backend(server).complete(SYSTEM, messages, TOOLS, max_tokens=321)
        body = server.requests[0].body
        headers = server.requests[0].headers
    assert body["model"] == "claude-test" and body["max_tokens"] == 321 and body["stream"] is True
    assert body["system"] == [
        {"type": "text", "text": SYSTEM[0].text, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": SYSTEM[1].text},
    ]
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert [t["name"] for t in body["tools"]] == ["measure_distance", "mass_properties"]
    first = body["messages"][0]
    assert first["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    # Both tool results and the follow-up question share one user turn, results first.
    last = body["messages"][2]["content"]
    assert [b["type"] for b in last] == ["tool_result", "tool_result", "text"]
    assert last[1]["is_error"] is True and "is_error" not in last[0]
    assert sum("cache_control" in json.dumps(m) for m in body["messages"]) == 1
    assert headers["anthropic-version"] and "x-api-key" not in headers


def test_usage_is_reported():
    usage = {"input_tokens": 812, "output_tokens": 57, "cache_read_input_tokens": 4096, "cache_creation_input_tokens": 300}
    with ProtocolServer([{"text": "done", "usage": usage}]) as server:
        turn = ask(backend(server))
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (812, 57)
    assert (turn.usage.cache_read_input_tokens, turn.usage.cache_creation_input_tokens) == (4096, 300)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "server_error"},
        {"kind": "overloaded"},
        {"kind": "error_event", "after_events": 3},
        {"kind": "reset", "after_events": 4},
        {"kind": "malformed_json", "after_events": 3},
        {"kind": "truncate", "after_events": 5},
    ],
    ids=lambda f: f["kind"],
)
def test_fault_is_retried_then_succeeds(fault):
    with ProtocolServer([{"text": "broken answer", "fault": fault}, {"text": "second try"}]) as server:
        events: list = []
        turn = ask(backend(server), events)
        assert len(server.requests) == 2
    assert turn.text == "second try"
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 1 and retries[0].attempt == 2 and retries[0].reason


def test_retry_after_is_honoured():
    with ProtocolServer([{"fault": {"kind": "rate_limit", "retry_after": 0.3}}, {"text": "after the wait"}]) as server:
        events: list = []
        turn = ask(backend(server), events)
        first, second = server.requests
    assert turn.text == "after the wait"
    assert second.at - first.at >= 0.3
    assert [e.delay_s >= 0.3 for e in events if isinstance(e, Retrying)] == [True]


def test_final_error_names_endpoint_failure_and_tries():
    with ProtocolServer([{"fault": "overloaded"}] * 3) as server:
        with pytest.raises(errors.Overloaded) as info:
            ask(backend(server, max_attempts=3))
        assert len(server.requests) == 3
        message = str(info.value)
    assert server.url in message and "overloaded" in message and "3 tries" in message
    assert info.value.attempts == 3


def test_retry_after_beyond_the_limit_ends_at_once():
    with ProtocolServer([{"fault": {"kind": "rate_limit", "retry_after": 3600}}, {"text": "never"}]) as server:
        b = backend(server, max_retry_after_s=5)
        start = time.monotonic()
        with pytest.raises(errors.RateLimited, match="asked to wait 3600 s"):
            ask(b)
        assert time.monotonic() - start < 1.0 and len(server.requests) == 1


def test_stall_past_read_timeout_is_a_timeout():
    with ProtocolServer([{"text": "slow", "fault": {"kind": "stall", "after_events": 3}}, {"text": "unused"}]) as server:
        b = backend(server, read_s=0.3)
        start = time.monotonic()
        with pytest.raises(errors.Timeout) as info:
            ask(b)
        elapsed = time.monotonic() - start
        assert len(server.requests) == 1  # a stalled stream is not retried by default
    assert 0.3 <= elapsed < 2.0
    assert server.url in str(info.value) and "read timeout" in str(info.value)


def test_cancel_mid_stream_returns_promptly():
    text = "x" * 400  # 100 deltas, 50 ms apart: 5 s if not cancelled
    with ProtocolServer([{"text": text, "delay_s": 0.05}]) as server:
        b, token, events = backend(server), CancelToken(), []
        cancelled_at = []

        def cancel_once_streaming() -> None:  # the SDK's first request can take a while on a loaded machine
            end = time.monotonic() + 10
            while not any(isinstance(e, TextDelta) for e in events) and time.monotonic() < end:
                time.sleep(0.01)
            time.sleep(0.15)
            cancelled_at.append(time.monotonic())
            token.cancel()

        threading.Thread(target=cancel_once_streaming, daemon=True).start()
        with pytest.raises(errors.Cancelled) as info:
            ask(b, events, cancel=token)
        returned = time.monotonic()
    assert cancelled_at and returned - cancelled_at[0] < 1.0  # back within 1 s of the cancel
    partial = info.value.partial
    assert partial.stop_reason == "cancelled"
    assert 0 < len(partial.text) < len(text) and partial.text == "".join(e.text for e in events if isinstance(e, TextDelta))


def test_cancel_while_the_server_is_silent():
    """The socket is shut on cancel: no waiting for the (long) read timeout."""
    with ProtocolServer([{"text": "hello", "fault": {"kind": "stall", "after_events": 3, "stall_s": 10}}]) as server:
        b, token = backend(server, read_s=10), CancelToken()
        threading.Timer(0.3, token.cancel).start()
        start = time.monotonic()
        with pytest.raises(errors.Cancelled):
            ask(b, cancel=token)
        assert time.monotonic() - start < 1.3


def test_cancel_during_backoff_sleep():
    with ProtocolServer([{"fault": {"kind": "rate_limit", "retry_after": 5}}, {"text": "never"}]) as server:
        b, token = backend(server, max_retry_after_s=10), CancelToken()
        threading.Timer(0.2, token.cancel).start()
        start = time.monotonic()
        with pytest.raises(errors.Cancelled):
            ask(b, cancel=token)
        assert time.monotonic() - start < 1.2 and len(server.requests) == 1


def test_wrong_key_is_an_auth_error_not_retried():
    with ProtocolServer([{"text": "never"}], require_key="sk-the-right-one") as server:
        with pytest.raises(errors.AuthError) as info:
            ask(backend(server))
        assert len(server.requests) == 1 and server.requests[0].auth_present
    assert "401" in str(info.value) and KEY not in str(info.value)


def test_redirect_is_not_followed():
    with ProtocolServer([{"text": "elsewhere"}], host="127.0.0.2") as other:
        target = f"{other.url}/v1/messages"
        with ProtocolServer([{"fault": {"kind": "redirect", "location": target}}]) as server:
            with pytest.raises(errors.Redirected) as info:
                ask(backend(server))
            assert len(server.requests) == 1
        assert other.requests == []
    assert info.value.location == target and target in str(info.value)


def test_request_hook_sees_exact_bytes_and_can_refuse():
    seen: list = []

    class Refused(Exception):
        pass

    def hook(method: str, url: str, body: bytes) -> None:
        seen.append((method, url, json.loads(body)))
        raise Refused("tier forbids this endpoint")

    with ProtocolServer([{"text": "never"}]) as server:
        settings = BackendSettings.for_provider("anthropic", {"base_url": server.url, "model": "claude-test", **FAST})
        b = AnthropicBackend(settings, api_key=Secret(KEY), request_hook=hook)
        with pytest.raises(Refused):
            ask(b)
        assert server.requests == []
    assert seen[0][0] == "POST" and seen[0][1] == f"{server.url}/v1/messages"
    assert seen[0][2]["messages"][0]["content"][0]["text"] == "How thick is the plate?"


def test_key_never_in_logs_errors_or_recordings(caplog):
    caplog.set_level(logging.DEBUG)
    with ProtocolServer([{"text": "fine"}, {"fault": "server_error"}, {"fault": "server_error"}]) as server:
        b = backend(server, max_attempts=2)
        ask(b)
        with pytest.raises(errors.ServerError) as info:
            ask(b)
        recorded = json.dumps([(r.headers, r.body) for r in server.requests])
    texts = [caplog.text, str(info.value), repr(info.value), "".join(traceback.format_exception(info.value)), repr(b), recorded]
    assert all(KEY not in t for t in texts)
    assert all(r.auth_present for r in server.requests)


def test_accumulate_is_pure():
    start = Snapshot()
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "abc"}}
    after = accumulate_anthropic(event, start)
    assert start.text == "" and after.text == "abc" and after.events == (TextDelta("abc"),)
    again = accumulate_anthropic({"type": "ping"}, after)
    assert again.text == "abc" and again.events == ()
    assert finish(again, "anthropic").text == "abc"


def test_three_cached_system_sections_keep_within_the_four_breakpoints():
    system = [SystemSection("a", "A", cache=True), SystemSection("b", "B", cache=True),
              SystemSection("c", "C"), SystemSection("doc", "D", cache=True)]
    with ProtocolServer([{"text": "ok"}]) as server:
        backend(server).complete(system, [Message("user", "q", cache=True)], TOOLS)
        body = server.requests[0].body
    assert [("cache_control" in b) for b in body["system"]] == [False, True, False, True]
    assert json.dumps(body).count('"cache_control"') == 4  # the API's maximum per request


def test_timeouts_reach_the_http_client():
    settings = BackendSettings.for_provider("anthropic", {"model": "claude-test", "connect_s": 1.5, "read_s": 7.0})
    b = AnthropicBackend(settings, api_key=Secret(KEY))
    try:
        timeout = b._client.timeout
        assert (timeout.connect, timeout.read) == (1.5, 7.0)
        assert b._client.max_retries == 0  # our retry policy, not the SDK's
    finally:
        b.close()


def test_the_default_model_is_derived_from_the_installed_sdk(monkeypatch):
    import typing

    import anthropic.resources.messages.messages as sdk_messages
    import anthropic.types

    from freecad_spatial.spatial_tools.backends import settings as backend_settings

    assert backend_settings.defaults()["anthropic"]["model"] == ""  # no model name hard-coded in the data
    listed = [a for arg in typing.get_args(anthropic.types.Model) for a in typing.get_args(arg) if isinstance(a, str)]
    default = BackendSettings.for_provider("anthropic").model
    assert default in listed and default not in sdk_messages.DEPRECATED_MODELS and default.startswith("claude-sonnet-")
    # Another SDK, another list: the default follows it (newest current alias of the family).
    fake = typing.Literal["claude-opus-11", "claude-sonnet-12", "claude-sonnet-9-20300101", "claude-sonnet-10-2",
                          "claude-sonnet-10"]
    monkeypatch.setattr(anthropic.types, "Model", fake | str)
    monkeypatch.setattr(sdk_messages, "DEPRECATED_MODELS", {"claude-sonnet-12": "2031-01-01"})
    backend_settings.default_anthropic_model.cache_clear()
    try:
        assert BackendSettings.for_provider("anthropic").model == "claude-sonnet-10-2"
        assert backend_settings.default_anthropic_model("opus") == "claude-opus-11"
        assert BackendSettings.for_provider("anthropic", {"model": "claude-chosen"}).model == "claude-chosen"
        monkeypatch.setattr(anthropic.types, "Model", typing.Literal["claude-haiku-1"] | str)
        backend_settings.default_anthropic_model.cache_clear()
        with pytest.raises(ValueError, match="lists no current 'sonnet' model"):
            BackendSettings.for_provider("anthropic")
    finally:
        monkeypatch.undo()
        backend_settings.default_anthropic_model.cache_clear()
    assert BackendSettings.for_provider("anthropic").model == default

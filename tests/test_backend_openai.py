"""The OpenAI-compatible backend (httpx) against the loopback vLLM-style server:
SSE parsing, tool-call deltas by index, usage, retries, timeouts, cancel."""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
import traceback

import pytest
from key_leak import make_test_key

from freecad_spatial.spatial_tools.backends import errors
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
from freecad_spatial.spatial_tools.backends.openai_backend import OpenAIBackend
from freecad_spatial.spatial_tools.backends.settings import BackendSettings
from freecad_spatial.spatial_tools.backends.streaming import (
    Snapshot,
    accumulate_openai,
    finish,
    iter_sse,
)
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

KEY = make_test_key("vllm")
FAST = {"base_delay_s": 0.01, "max_delay_s": 0.05, "jitter": 0.1, "connect_s": 2.0, "read_s": 3.0}
TOOLS = [
    {"name": "measure_distance", "description": "Distance between two elements.", "input_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
    {"name": "find_features", "description": "Holes, pockets, fillets.", "input_schema": {"type": "object", "properties": {}}},
]
SYSTEM = [SystemSection("role", "You measure instead of guessing.", cache=True), SystemSection("turn", "Units: mm.")]


def backend(server: ProtocolServer, key: str | None = KEY, **overrides) -> OpenAIBackend:
    settings = BackendSettings.for_provider("openai", {"base_url": f"{server.url}/v1", "model": "Qwen/Qwen3-8B", **FAST, **overrides})
    return OpenAIBackend(settings, api_key=Secret(key) if key else None)


def ask(b: OpenAIBackend, events: list | None = None, **kw):
    return b.complete(SYSTEM, [Message("user", "Which holes are too deep?")], TOOLS, on_event=events.append if events is not None else None, **kw)


def test_text_arrives_as_ordered_deltas():
    text = "Hole 3 is 14 mm deep, 7 times its diameter."
    with ProtocolServer([{"text": text, "text_chunk": 5}]) as server:
        events: list = []
        turn = ask(backend(server), events)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == -(-len(text) // 5) and "".join(deltas) == text == turn.text
    assert turn.stop_reason == "end_turn" and turn.model == "Qwen/Qwen3-8B"


def test_tool_call_deltas_accumulate_by_index():
    a = {"a": "Block.Face12", "depth_limit": 4.5}
    script = [{"tool_calls": [{"name": "measure_distance", "arguments": a}, {"name": "find_features", "arguments": {}}], "json_chunk": 4}]
    with ProtocolServer(script) as server:
        events: list = []
        turn = ask(backend(server), events)
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [e.name for e in started] == ["measure_distance", "find_features"]
    first = [e.partial_json for e in events if isinstance(e, ToolCallArgumentsDelta) and e.id == started[0].id]
    assert len(first) == -(-len(json.dumps(a)) // 4) and "".join(first) == json.dumps(a)
    assert turn.stop_reason == "tool_use"
    assert [(c.name, c.arguments) for c in turn.tool_calls] == [("measure_distance", a), ("find_features", {})]
    assert turn.tool_calls[0].id == started[0].id and turn.tool_calls[0].id.startswith("chatcmpl-tool-")


def test_malformed_tool_arguments_are_kept_raw_not_emptied():
    raw = '{"a": "Block.Face12", '
    with ProtocolServer([{"tool_calls": [{"name": "measure_distance", "raw_arguments": raw}]}]) as server:
        turn = ask(backend(server))
    assert turn.tool_calls[0].arguments is None and turn.tool_calls[0].raw_arguments == raw


def test_request_body_and_auth():
    messages = [
        Message("user", "context", cache=True),
        Message("assistant", "Measuring.", tool_calls=[ToolCall("call_1", "measure_distance", {"a": "X.Face1"}, '{"a": "X.Face1"}'), ToolCall("call_2", "find_features", None, "{bad")]),
        Message("tool", '{"ok": true}', tool_call_id="call_1"),
        Message("tool", '{"ok": false}', tool_call_id="call_2", is_error=True),
    ]
    with ProtocolServer([{"text": "a"}, {"text": "b"}]) as server:
        backend(server).complete(SYSTEM, messages, TOOLS, max_tokens=500)
        backend(server, key=None).complete(SYSTEM, messages, [])
        (with_key, without_key) = server.requests
    body = with_key.body
    assert with_key.path == "/v1/chat/completions"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "Qwen/Qwen3-8B" and body["max_tokens"] == 500
    assert body["messages"][0] == {"role": "system", "content": "You measure instead of guessing.\n\nUnits: mm."}
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    calls = body["messages"][2]["tool_calls"]
    assert calls[0] == {"id": "call_1", "type": "function", "function": {"name": "measure_distance", "arguments": '{"a": "X.Face1"}'}}
    assert json.loads(calls[1]["function"]["arguments"]) == {}  # unparseable arguments replay as valid JSON
    assert body["messages"][4] == {"role": "tool", "tool_call_id": "call_2", "content": '{"ok": false}'}
    assert body["tools"][0] == {"type": "function", "function": {"name": "measure_distance", "description": TOOLS[0]["description"], "parameters": TOOLS[0]["input_schema"]}}
    assert "cache_control" not in json.dumps(body)
    assert with_key.auth_present and "authorization" not in with_key.headers
    assert not without_key.auth_present and "tools" not in without_key.body


def test_usage_is_reported_with_cached_tokens_split_out():
    with ProtocolServer([{"text": "ok", "usage": {"input_tokens": 300, "output_tokens": 42, "cache_read_input_tokens": 1024}}]) as server:
        turn = ask(backend(server))
    assert (turn.usage.input_tokens, turn.usage.output_tokens, turn.usage.cache_read_input_tokens) == (300, 42, 1024)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "rate_limit"},
        {"kind": "server_error", "status": 503},
        {"kind": "error_event", "after_events": 2},
        {"kind": "reset", "after_events": 3},
        {"kind": "malformed_json", "after_events": 2},
        {"kind": "truncate", "after_events": 2},
    ],
    ids=lambda f: f["kind"],
)
def test_fault_is_retried_then_succeeds(fault):
    with ProtocolServer([{"text": "broken answer", "fault": fault}, {"text": "second try"}]) as server:
        events: list = []
        turn = ask(backend(server), events)
        assert len(server.requests) == 2
    assert turn.text == "second try"
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [2]


def test_retry_after_is_honoured():
    with ProtocolServer([{"fault": {"kind": "rate_limit", "retry_after": 0.3}}, {"text": "after the wait"}]) as server:
        turn = ask(backend(server))
        first, second = server.requests
    assert turn.text == "after the wait" and second.at - first.at >= 0.3


def test_retry_after_forms():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert errors.parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(7.0)
    assert errors.parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert errors.parse_retry_after({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    assert errors.parse_retry_after({"retry-after": "soon"}) is None
    assert errors.parse_retry_after({}) is None


def test_final_error_after_the_last_try():
    with ProtocolServer([{"fault": "server_error"}] * 2) as server:
        with pytest.raises(errors.ServerError) as info:
            ask(backend(server, max_attempts=2))
        assert len(server.requests) == 2
    message = str(info.value)
    assert f"{server.url}/v1" in message and "HTTP 500" in message and "2 tries" in message


def test_connection_refused_is_retried_then_reported():
    with ProtocolServer([]) as server:
        url = server.url
    settings = BackendSettings.for_provider("openai", {"base_url": f"{url}/v1", "model": "m", **FAST, "max_attempts": 2})
    events: list = []
    with pytest.raises(errors.ConnectionFailed) as info:
        OpenAIBackend(settings).complete([], [Message("user", "hi")], [], on_event=events.append)
    assert "could not connect" in str(info.value) and "2 tries" in str(info.value)
    assert [type(e) for e in events] == [Retrying]


def test_stall_past_read_timeout_is_a_timeout():
    with ProtocolServer([{"text": "slow", "fault": {"kind": "stall", "after_events": 2}}, {"text": "unused"}]) as server:
        b = backend(server, read_s=0.3)
        start = time.monotonic()
        with pytest.raises(errors.Timeout):
            ask(b)
        assert 0.3 <= time.monotonic() - start < 2.0 and len(server.requests) == 1


def test_cancel_mid_stream_returns_promptly():
    with ProtocolServer([{"text": "y" * 400, "delay_s": 0.05}]) as server:
        b, token, events = backend(server), CancelToken(), []
        threading.Timer(0.4, token.cancel).start()
        start = time.monotonic()
        with pytest.raises(errors.Cancelled) as info:
            ask(b, events, cancel=token)
        assert time.monotonic() - start < 1.4
    assert 0 < len(info.value.partial.text) < 400


def test_cancel_while_the_server_is_silent():
    with ProtocolServer([{"text": "hello", "fault": {"kind": "stall", "after_events": 2, "stall_s": 10}}]) as server:
        b, token = backend(server, read_s=10), CancelToken()
        threading.Timer(0.3, token.cancel).start()
        start = time.monotonic()
        with pytest.raises(errors.Cancelled):
            ask(b, cancel=token)
        assert time.monotonic() - start < 1.3


def test_redirect_is_not_followed():
    with ProtocolServer([{"text": "elsewhere"}], host="127.0.0.2") as other:
        with ProtocolServer([{"fault": {"kind": "redirect", "location": f"{other.url}/v1/chat/completions"}}]) as server:
            with pytest.raises(errors.Redirected):
                ask(backend(server))
        assert other.requests == []


def test_key_never_in_logs_errors_or_recordings(caplog):
    caplog.set_level(logging.DEBUG)
    with ProtocolServer([{"text": "fine"}, {"fault": "auth"}], require_key=None) as server:
        b = backend(server)
        ask(b)
        with pytest.raises(errors.AuthError) as info:
            ask(b)
        recorded = json.dumps([(r.headers, r.body) for r in server.requests])
    for text in (caplog.text, str(info.value), repr(info.value), "".join(traceback.format_exception(info.value)), repr(b), recorded):
        assert KEY not in text


def test_a_model_name_is_required():
    with pytest.raises(errors.RequestRejected, match="model"):
        OpenAIBackend(BackendSettings.for_provider("openai", {"model": ""}))


def test_sse_and_accumulate_are_pure_and_tolerant():
    lines = [": comment", "data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"a\"}}]}", "", "data: [DONE]", ""]
    events = list(iter_sse(lines))
    assert [e.data for e in events] == ['{"choices": [{"index": 0, "delta": {"content": "a"}}]}', "[DONE]"]
    start = Snapshot()
    snap = accumulate_openai(json.loads(events[0].data), start)
    assert start.text == "" and snap.text == "a"
    snap = accumulate_openai("[DONE]", snap)
    assert snap.done and finish(snap, "openai").text == "a"
    err = accumulate_openai({"error": {"message": "boom", "code": 500}}, snap)
    assert err.error is not None and snap.error is None


def test_backoff_is_exponential_capped_and_jittered_and_retry_after_is_a_floor():
    import random

    from freecad_spatial.spatial_tools.backends.retry import backoff_delay
    from freecad_spatial.spatial_tools.backends.settings import RetryPolicy

    policy = RetryPolicy(max_attempts=6, base_delay_s=1.0, max_delay_s=8.0, jitter=0.25, max_retry_after_s=60,
                         retry_on_timeout=False, retry_on_protocol_error=True)
    plain = errors.ServerError("boom")
    rng = random.Random(7)
    for attempt, nominal in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (6, 8.0)]:
        delays = [backoff_delay(policy, attempt, plain, rng) for _ in range(200)]
        assert nominal * 0.75 <= min(delays) and max(delays) <= nominal * 1.25
        assert max(delays) - min(delays) > nominal * 0.3  # really jittered
    limited = errors.RateLimited("slow down", retry_after=5.0)
    delays = [backoff_delay(policy, 1, limited, rng) for _ in range(200)]
    assert min(delays) >= 5.0 and max(delays) <= 5.25  # never sooner than the server asked


def test_backoff_sleeps_happen_between_tries():
    with ProtocolServer([{"fault": "server_error"}, {"fault": "server_error"}, {"text": "third"}]) as server:
        b = backend(server, base_delay_s=0.2, max_delay_s=1.0, jitter=0.0)
        events: list = []
        assert ask(b, events).text == "third"
        first, second, third = (r.at for r in server.requests)
    assert [round(e.delay_s, 3) for e in events if isinstance(e, Retrying)] == [0.2, 0.4]
    assert second - first >= 0.2 and third - second >= 0.4

"""The loopback protocol test servers on the wire, read with plain httpx (no backend code):
event sequences, recording, faults, scripts and the command-line demo."""

from __future__ import annotations

import email.utils
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from freecad_spatial.spatial_tools.protocol_servers import Fault, ProtocolServer, Script

REPO = Path(__file__).resolve().parent.parent
ARGS = {"a": "Plate.Face1", "b": "Plate.Face6", "tolerance": 0.01}
TOOL_TURN = {"text": "Let me measure.", "tool_calls": [{"name": "measure_distance", "arguments": ARGS, "id": "toolu_X"}], "json_chunk": 7, "usage": {"input_tokens": 50, "output_tokens": 12, "cache_read_input_tokens": 30}}


def sse_events(text: str) -> list[tuple[str | None, str]]:
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((event, "\n".join(data)))
    return out


def post(server: ProtocolServer, path: str, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, headers=headers or {}, timeout=5)


def test_anthropic_stream_has_the_full_event_sequence():
    with ProtocolServer([TOOL_TURN], model="m") as server:
        response = post(server, "/v1/messages", {"model": "claude-x", "stream": True, "messages": []}, {"x-api-key": "k-123456"})
    assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
    events = sse_events(response.text)
    names = [e for e, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    payloads = [json.loads(d) for _, d in events]
    assert all(p["type"] == n for p, n in zip(payloads, names, strict=True))
    start = payloads[0]["message"]
    assert start["model"] == "claude-x" and start["usage"]["input_tokens"] == 50 and start["usage"]["cache_read_input_tokens"] == 30
    text = "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta" and p["delta"]["type"] == "text_delta")
    assert text == "Let me measure."
    tool_start = next(p for p in payloads if p["type"] == "content_block_start" and p["content_block"]["type"] == "tool_use")
    assert tool_start["index"] == 1 and tool_start["content_block"]["id"] == "toolu_X"
    fragments = [p["delta"]["partial_json"] for p in payloads if p["type"] == "content_block_delta" and p["delta"]["type"] == "input_json_delta"]
    assert fragments[0] == "" and len(fragments) > 3 and json.loads("".join(fragments)) == ARGS
    assert names.count("content_block_stop") == 2
    delta = payloads[-2]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] == 12


def test_anthropic_non_stream_json():
    with ProtocolServer([TOOL_TURN]) as server:
        body = post(server, "/v1/messages", {"model": "claude-x", "messages": []}).json()
    assert body["type"] == "message" and body["stop_reason"] == "tool_use"
    assert body["content"] == [{"type": "text", "text": "Let me measure."}, {"type": "tool_use", "id": "toolu_X", "name": "measure_distance", "input": ARGS}]
    assert body["usage"]["output_tokens"] == 12


def test_openai_stream_is_shaped_like_vllm():
    with ProtocolServer([TOOL_TURN]) as server:
        response = post(server, "/v1/chat/completions", {"model": "qwen", "stream": True, "stream_options": {"include_usage": True}, "messages": []})
    datas = [d for _, d in sse_events(response.text)]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "qwen" for c in chunks)
    tool_deltas = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    first, rest = tool_deltas[0], tool_deltas[1:]
    assert first["id"] == "toolu_X" and first["type"] == "function" and first["function"] == {"name": "measure_distance"}
    assert len(rest) > 3 and all(set(tc) == {"index", "function"} and set(tc["function"]) == {"arguments"} for tc in rest)
    assert json.loads("".join(tc["function"]["arguments"] for tc in rest)) == ARGS
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {"prompt_tokens": 80, "total_tokens": 92, "completion_tokens": 12, "prompt_tokens_details": {"cached_tokens": 30}}


def test_openai_without_include_usage_and_non_stream():
    with ProtocolServer([{"text": "hi"}, {"text": "there"}]) as server:
        streamed = post(server, "/v1/chat/completions", {"model": "q", "stream": True, "messages": []})
        whole = post(server, "/v1/chat/completions", {"model": "q", "messages": []}).json()
    assert not any("usage" in json.loads(d) for _, d in sse_events(streamed.text) if d != "[DONE]")
    assert whole["choices"][0]["message"] == {"role": "assistant", "content": "there"} and whole["choices"][0]["finish_reason"] == "stop"


def test_requests_are_recorded_without_auth_values():
    with ProtocolServer([{"text": "a"}, {"text": "b"}]) as server:
        post(server, "/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, {"x-api-key": "sk-SECRET-1", "anthropic-version": "2023-06-01"})
        post(server, "/v1/chat/completions", {"model": "m", "messages": []}, {"Authorization": "Bearer sk-SECRET-2"})
        requests = server.requests
    assert [r.path for r in requests] == ["/v1/messages", "/v1/chat/completions"]
    assert all(r.auth_present for r in requests)
    assert "x-api-key" not in requests[0].headers and "authorization" not in requests[1].headers
    assert requests[0].headers["anthropic-version"] == "2023-06-01"
    assert requests[0].body["messages"][0]["content"] == "hi"
    assert "SECRET" not in repr(requests)
    with ProtocolServer([{"text": "a"}]) as server:
        post(server, "/v1/messages", {"model": "m", "messages": []})
        assert server.requests[0].auth_present is False


def test_status_faults():
    script = [
        {"fault": {"kind": "rate_limit", "retry_after": 0.2}},
        {"fault": {"kind": "rate_limit", "retry_after": 30, "retry_after_date": True}},
        {"fault": "overloaded"},
        {"fault": {"kind": "server_error"}},
        {"fault": {"kind": "redirect", "location": "http://127.0.0.2:9/v1/messages"}},
        {"fault": "auth"},
    ]
    with ProtocolServer(script) as server:
        responses = [post(server, "/v1/messages", {"model": "m", "messages": []}) for _ in script]
    assert [r.status_code for r in responses] == [429, 429, 529, 500, 307, 401]
    assert responses[0].headers["retry-after"] == "0.2"
    when = email.utils.parsedate_to_datetime(responses[1].headers["retry-after"]).timestamp()
    assert 28 <= when - time.time() <= 31
    assert responses[2].json() == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (injected)"}}
    assert responses[4].headers["location"] == "http://127.0.0.2:9/v1/messages"
    assert responses[5].json()["error"]["type"] == "authentication_error"


def test_stream_faults_on_the_wire():
    script = [
        {"text": "abcdefgh", "fault": {"kind": "error_event", "after_events": 3}},
        {"text": "abcdefgh", "fault": {"kind": "malformed_json", "after_events": 3}},
        {"text": "abcdefgh", "fault": {"kind": "truncate", "after_events": 3}},
        {"text": "abcdefgh", "fault": {"kind": "reset", "after_events": 3}},
        {"text": "abcdefgh", "fault": {"kind": "stall", "after_events": 3, "stall_s": 5}},
    ]
    with ProtocolServer(script) as server:
        body = {"model": "m", "stream": True, "messages": []}
        error_event = sse_events(post(server, "/v1/messages", body).text)
        assert [e for e, _ in error_event] == ["message_start", "ping", "content_block_start", "error"]
        assert json.loads(error_event[-1][1])["error"]["type"] == "overloaded_error"
        malformed = sse_events(post(server, "/v1/messages", body).text)
        with pytest.raises(ValueError):
            json.loads(malformed[3][1])
        assert malformed[-1][0] == "message_stop"  # the rest of the stream still follows
        truncated = sse_events(post(server, "/v1/messages", body).text)
        assert [e for e, _ in truncated] == ["message_start", "ping", "content_block_start"]
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            post(server, "/v1/messages", body)
        # The stalled stream is ended by the client's read deadline (ReadTimeout), never by the server.
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{server.url}/v1/messages", json=body, timeout=httpx.Timeout(30, read=0.3))


def test_require_key():
    with ProtocolServer([{"text": "a"}], require_key="sk-right") as server:
        assert post(server, "/v1/chat/completions", {"model": "m", "messages": []}, {"Authorization": "Bearer sk-wrong"}).status_code == 401
        ok = post(server, "/v1/chat/completions", {"model": "m", "messages": []}, {"Authorization": "Bearer sk-right"})
        assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "a"


def test_script_exhaustion_loop_and_models_route():
    with ProtocolServer([{"text": "only"}]) as server:
        assert post(server, "/v1/messages", {"model": "m", "messages": []}).status_code == 200
        exhausted = post(server, "/v1/messages", {"model": "m", "messages": []})
        assert exhausted.status_code == 400 and "script exhausted after 1 turns" in exhausted.json()["error"]["message"]
        assert httpx.get(f"{server.url}/v1/models").json()["data"][0]["id"] == "protocol-test-model"
    looping = Script(["one", "two"], loop=True)
    assert [looping.next_turn().text for _ in range(5)] == ["one", "two", "one", "two", "one"]


def test_script_validation(tmp_path):
    path = tmp_path / "turns.json"
    path.write_text(json.dumps({"turns": [TOOL_TURN, {"fault": {"kind": "429", "retry_after": 1}}], "loop": False}))
    script = Script.load(path)
    assert script.turns[0].tool_calls[0].arguments == ARGS
    assert script.turns[1].fault == Fault(kind="rate_limit", retry_after=1)
    with pytest.raises(ValueError, match="unknown fault kind"):
        Script([{"fault": "gremlins"}])
    with pytest.raises(ValueError, match="unknown turn field"):
        Script([{"txt": "typo"}])


def test_command_line_demo(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps([{"text": "Hello from the script."}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "freecad_spatial.spatial_tools.protocol_servers", "--port", "0", "--script", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert "POST http://127.0.0.1:" in first, first + proc.stderr.read()
        base = first.split("(base_url ")[1].rstrip(")\n")
        answer = httpx.post(f"{base}/v1/messages", json={"model": "m", "messages": []}, timeout=5).json()
        assert answer["content"][0]["text"] == "Hello from the script."
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)  # a deadline for a loaded machine, not a speed check
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0


def test_the_built_in_demo_script_is_the_default():
    """Without --script the server replays resources/protocol_demo.json in a loop (a demo with no model;
    test_ask_cli runs the installed command against it)."""
    from conftest import REGISTRY

    from freecad_spatial.spatial_tools.protocol_servers.__main__ import DEMO_SCRIPT

    assert DEMO_SCRIPT.parent.name == "resources"
    script = Script.load(DEMO_SCRIPT)
    assert script.loop and [bool(t.tool_calls) for t in script.turns] == [True, True, False]
    assert {c.name for t in script.turns for c in t.tool_calls} <= set(REGISTRY.names()) | {"run_python"}
    assert [script.next_turn() for _ in range(4)][-1] is script.turns[0]  # it starts again

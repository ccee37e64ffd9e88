"""``freecad-spatial ask`` end to end through the real backends and the loopback protocol servers.

Real FCStd files, real tools, real HTTP on 127.0.0.1; only the model's turns
are scripted (by the protocol server). Keys are test keys that must never
land in any file the run writes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import REGISTRY, REPO, FreeCAD, Part
from key_leak import TEST_API_KEY

from freecad_spatial.spatial_tools import ask_cli, cli
from freecad_spatial.spatial_tools.audit import AuditLog
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

TEST_KEY = TEST_API_KEY  # the run-wide scan (key_leak.py) looks for it in every file
MARKER = f"question-marker-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The run's temp and config folders; every file the module writes lands here."""
    return tmp_path_factory.mktemp("ask_home")


@pytest.fixture(autouse=True)
def environment(home, monkeypatch):
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", TEST_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(home / "data" / "audit.jsonl"))


def test_ask_is_a_command_of_the_installed_cli():
    assert cli.EXTRA_COMMANDS["ask"] == (ask_cli.configure, ask_cli.run)
    assert "ask" in cli.build_parser().format_help()


def save(path, labels: dict[str, str] | None = None, gap: float = 17.5):
    """Box A (10 mm cube at the origin) and box B the same, ``gap`` mm above it; volume of each 1000 mm³."""
    doc = FreeCAD.newDocument("AskFixture")
    a = doc.addObject("Part::Feature", "A")
    a.Shape = Part.makeBox(10, 10, 10)
    b = doc.addObject("Part::Feature", "B")
    b.Shape = Part.makeBox(10, 10, 10)
    b.Placement.Base = FreeCAD.Vector(0, 0, 10 + gap)
    for name, label in (labels or {}).items():
        doc.getObject(name).Label = label
    doc.recompute()
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    return path


@pytest.fixture
def part(home):
    return save(home / f"part_{uuid.uuid4().hex[:6]}.FCStd")


def ask(capsys, *args):
    code = cli.main(["ask", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def audit_lines(home):
    return AuditLog(home / "data" / "audit.jsonl").read()


def tool_messages(request):
    return [m for m in request.body["messages"] if m["role"] == "tool"]


# --- refusals: zero bytes ------------------------------------------------------------------------


def test_export_controlled_label_with_cloud_backend_is_refused_and_nothing_is_sent(capsys, home):
    marked = save(home / "marked.FCStd", labels={"A": "Bracket (ITAR)"})
    before = len(audit_lines(home))
    with ProtocolServer(["Should never be asked."]) as server:
        code, out, err = ask(capsys, marked, f"How big? {MARKER}", "--backend", "anthropic", "--base-url",
                             server.url, "--tier", "cloud")
        assert server.requests == []
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "refused" in err and "export-controlled" in err
    lines = audit_lines(home)[before:]
    assert len(lines) == 1 and lines[0]["refused"] and lines[0]["bytes"] == 0
    assert lines[0]["classification"] == "export-controlled" and lines[0]["tier"] == "local"
    assert lines[0]["host"] == "127.0.0.1" and lines[0]["backend"] == "anthropic"


def test_export_controlled_file_name_with_openai_backend_on_loopback_is_allowed(capsys, home):
    marked = save(home / "bracket_EAR99.FCStd")
    with ProtocolServer(["Two boxes."]) as server:
        code, out, _ = ask(capsys, marked, "What is in it?", "--backend", "openai", "--base-url",
                           f"{server.url}/v1", "--model", "m", "--tier", "cloud")
        assert len(server.requests) == 1
    assert code == 0 and out == "Two boxes.\n"
    assert audit_lines(home)[-1]["tier"] == "local"


def test_local_tier_refuses_a_non_loopback_url(capsys, part):
    code, out, err = ask(capsys, part, "q", "--backend", "openai", "--base-url", "http://10.255.0.1:8000/v1",
                         "--model", "m", "--tier", "local")
    assert code == 2 and out == "" and "10.255.0.1" in err and "local tier" in err
    code, out, err = ask(capsys, part, "q", "--backend", "openai", "--base-url", "http://10.255.0.1:8000/v1",
                         "--model", "m", "--tier", "local", "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "tier_refused"


def test_redirect_to_another_host_is_refused(capsys, part, home):
    script = [{"fault": {"kind": "redirect", "location": "http://models.example.com/v1/chat/completions"}}]
    with ProtocolServer(script) as server:
        code, out, err = ask(capsys, part, "q", "--backend", "openai", "--base-url", f"{server.url}/v1",
                             "--model", "m", "--tier", "private")
        assert len(server.requests) == 1  # the first request only; the redirect was not followed
    assert code == 2 and "refused redirect" in err and "models.example.com" in err
    assert audit_lines(home)[-1]["refused"]


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.fixture
def outside_address():
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to serve on")
    return address


def test_local_tier_refuses_a_live_non_loopback_server_which_receives_nothing(capsys, part, outside_address):
    with ProtocolServer(["Should never be asked."], host=outside_address) as server:
        code, out, err = ask(capsys, part, "q", "--backend", "openai", "--base-url", f"{server.url}/v1",
                             "--model", "m", "--tier", "local")
        assert server.requests == []
        # It was there to be reached: the policy refused, not the network.
        assert httpx.get(f"{server.url}/v1/models", timeout=5).status_code == 200
    assert code == 2 and out == "" and outside_address in err and "local tier" in err


def test_redirect_to_a_live_host_outside_the_tier_sends_it_nothing(capsys, part, home, outside_address):
    with ProtocolServer(["elsewhere"], host=outside_address) as other:
        target = f"{other.url}/v1/chat/completions"
        with ProtocolServer([{"fault": {"kind": "redirect", "location": target}}]) as server:
            code, out, err = ask(capsys, part, "q", "--backend", "openai", "--base-url", f"{server.url}/v1",
                                 "--model", "m", "--tier", "local")
            assert len(server.requests) == 1
        assert other.requests == []
    assert code == 2 and "refused redirect from '127.0.0.1'" in err and outside_address in err
    assert audit_lines(home)[-1]["refused"].startswith("refused redirect")


def test_a_redirect_to_another_host_is_not_followed_even_in_cloud_tier(capsys, part):
    with ProtocolServer(["elsewhere"], host="127.0.0.2") as other:
        with ProtocolServer([{"fault": {"kind": "redirect", "location": f"{other.url}/v1/messages"}}]) as server:
            code, out, err = ask(capsys, part, "q", "--backend", "anthropic", "--base-url", server.url,
                                 "--tier", "cloud")
            assert len(server.requests) == 1
        assert other.requests == []
    assert code == 2 and "redirects are not followed" in err and other.url in err


# --- answers -----------------------------------------------------------------------------------------


def test_openai_backend_runs_a_real_tool_and_returns_the_answer(capsys, part, home):
    script = [
        {"text": "Measuring the volume.", "tool_calls": [{"name": "mass_properties", "arguments": {"object": "A"}}],
         "usage": {"input_tokens": 100, "output_tokens": 20}},
        {"text": "A is 1000 mm³.", "usage": {"input_tokens": 150, "output_tokens": 8}},
    ]
    with ProtocolServer(script, require_key=TEST_KEY) as server:
        code, out, _ = ask(capsys, part, f"Volume of A? {MARKER}", "--backend", "openai", "--base-url",
                           f"{server.url}/v1", "--model", "served-model", "--tier", "local", "--json")
        requests = server.requests
    assert code == 0
    trace = json.loads(out)
    assert trace["answer"] == "A is 1000 mm³." and trace["stop_reason"] == "end_turn"
    assert trace["tool_calls"][0]["result"]["volume"] == pytest.approx(1000.0)
    assert trace["usage"]["input_tokens"] == 250 and trace["usage"]["output_tokens"] == 28
    assert [s["kind"] for s in trace["steps"]][:4] == ["model_call", "planning", "action", "observation"]
    # The real result went back over the wire, paired with its call.
    assert len(requests) == 2 and all(r.auth_present for r in requests)
    system = requests[0].body["messages"][0]
    assert system["role"] == "system" and '"freecad-spatial/scene@1"' in system["content"]  # the encoded document
    result = json.loads(tool_messages(requests[1])[0]["content"])
    assert result["volume"] == pytest.approx(1000.0)
    # One audit line per request, with the exact size of what the server received.
    lines = audit_lines(home)[-2:]
    assert [line["bytes"] for line in lines] == [r.body_bytes for r in requests]
    assert lines[1]["tools"] == ["mass_properties"] and lines[0]["host"] == "127.0.0.1"


def test_anthropic_backend_end_to_end_in_cloud_tier(capsys, part, home):
    if "measure_distance" in REGISTRY.names():
        first = {"tool_calls": [{"name": "measure_distance", "arguments": {"a": "A", "b": "B"}}]}
        expect = ("distance", 17.5)
    else:
        first = {"tool_calls": [{"name": "mass_properties", "arguments": {"object": "B"}}]}
        expect = ("volume", 1000.0)
    with ProtocolServer([first, "Done."], require_key=TEST_KEY) as server:
        code, out, err = ask(capsys, part, f"How far apart? {MARKER}", "--backend", "anthropic", "--base-url",
                             server.url, "--tier", "cloud")
        requests = server.requests
    assert code == 0, err
    assert out == "Done.\n"
    assert requests[0].path == "/v1/messages" and requests[0].body["tools"]
    results = [b for m in requests[1].body["messages"] if m["role"] == "user" and isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    content = results[0]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    assert json.loads(text)[expect[0]] == pytest.approx(expect[1])
    assert [line["bytes"] for line in audit_lines(home)[-2:]] == [r.body_bytes for r in requests]
    # Prompt caching, as the server received it: a breakpoint after the static system prompt, after the
    # document context, after the tools, and after the newest message; never more than the API's 4.
    for request in requests:
        body = request.body
        marked = [b for b in body["system"] if "cache_control" in b]
        assert len(marked) == 2 and all(b["cache_control"] == {"type": "ephemeral"} for b in marked)
        static, document = marked
        assert static is body["system"][-2] and "measure instead of guessing" in body["system"][0]["text"]
        assert document is body["system"][-1] and '"freecad-spatial/scene@1"' in document["text"]
        assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert not any("cache_control" in t for t in body["tools"][:-1])
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
        assert json.dumps(body).count('"cache_control"') == 4


def test_the_installed_command_against_the_demo_server(home):
    """What a user runs: the protocol test server's built-in demo in one process, ``freecad-spatial ask``
    (the installed console script) in another, real HTTP between them."""
    command = Path(sys.executable).parent / "freecad-spatial"
    if not command.exists():
        pytest.skip("the freecad-spatial console script is not installed in this environment")
    server = subprocess.Popen([sys.executable, "-m", "freecad_spatial.spatial_tools.protocol_servers", "--port", "0"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert "/v1/messages (base_url http://127.0.0.1:" in banner, banner + server.stderr.read()
        base_url = banner.split("(base_url ")[1].rstrip(")\n")
        sample = REPO / "resources" / "samples" / "bracket.FCStd"
        run = subprocess.run([str(command), "ask", str(sample), "how thick is the wall?", "--backend", "anthropic",
                              "--base-url", base_url, "--json"], cwd=home, env=dict(os.environ),
                             capture_output=True, text=True, timeout=300)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)  # a deadline for a loaded machine, not a speed check
        finally:
            if server.poll() is None:
                server.kill()
    assert run.returncode == 0, run.stderr
    trace = json.loads(run.stdout)
    assert trace["schema"] == "freecad-spatial/trace@1" and trace["stop_reason"] == "end_turn"
    assert trace["answer"].startswith("This is the protocol test server's demo script")
    assert trace["backend"] == "anthropic" and trace["tier"] == "cloud" and trace["model_calls"] == 3
    kinds = [step["kind"] for step in trace["steps"]]
    assert kinds == ["model_call", "planning", "action", "observation"] * 2 + ["model_call", "final_answer"]
    tree, cell = trace["tool_calls"]
    assert tree["tool"] == "query_feature_tree" and tree["ok"] and tree["result"]["tree"][0]["name"] == "Body"
    assert cell["tool"] == "run_python" and cell["ok"] and "Body 54875.716 mm3" in cell["result"]["stdout"]
    assert trace["usage"] == {"input_tokens": 1850, "output_tokens": 145, "cache_read_input_tokens": 2300,
                              "cache_creation_input_tokens": 1000}
    calls = [step for step in trace["steps"] if step["kind"] == "model_call"]
    assert all(c["usage"]["output_tokens"] > 0 and c["bytes_sent"] > 0 and c["ms"] > 0 and c["context_tokens"] > 0
               for c in calls)
    assert 0 < trace["time_s"] < 300 and all(c["ms"] >= 0 for c in trace["tool_calls"])
    assert TEST_KEY not in run.stdout + run.stderr


def test_raw_geometry_tools_can_be_hidden_in_cloud_tier(capsys, part):
    with ProtocolServer(["ok", "ok", "ok"]) as server:
        base = [part, "q", "--backend", "openai", "--base-url", f"{server.url}/v1", "--model", "m"]
        assert ask(capsys, *base, "--tier", "cloud")[0] == 0
        assert ask(capsys, *base, "--tier", "cloud", "--no-raw-geometry")[0] == 0
        assert ask(capsys, *base, "--tier", "local", "--no-raw-geometry")[0] == 0
        offered = [{t["function"]["name"] for t in r.body["tools"]} for r in server.requests]
    raw = {s.name for s in REGISTRY.specs() if s.raw_geometry and "image" not in s.tags}  # images: vision models only
    assert raw and raw <= offered[0]
    assert not raw & offered[1] and "mass_properties" in offered[1]
    assert raw <= offered[2]  # local tier: nothing leaves the machine, nothing to hide


def test_step_budget_forces_the_answer_over_the_wire(capsys, part):
    loop_call = {"tool_calls": [{"name": "mass_properties", "arguments": {"object": "A"}}]}
    with ProtocolServer([loop_call, loop_call, "Forced: 1000 mm³."]) as server:
        code, out, _ = ask(capsys, part, "Volume?", "--backend", "openai", "--base-url", f"{server.url}/v1",
                           "--model", "m", "--tier", "local", "--steps", "2", "--json")
        requests = server.requests
    trace = json.loads(out)
    assert code == 0 and trace["stop_reason"] == "budget" and trace["forced"]
    assert trace["answer"] == "Forced: 1000 mm³." and len(requests) == 3
    assert "tools" not in requests[2].body  # the last call offers no tools
    assert "1000" in requests[2].body["messages"][-1]["content"]


def test_bad_argument_json_over_the_wire_becomes_an_error_result(capsys, part):
    script = [{"tool_calls": [{"name": "mass_properties", "raw_arguments": "{\"object\": \"A\","}]}, "Sorry."]
    with ProtocolServer(script) as server:
        code, out, _ = ask(capsys, part, "Volume?", "--backend", "openai", "--base-url", f"{server.url}/v1",
                           "--model", "m", "--tier", "local", "--json")
        requests = server.requests
    assert code == 0
    message = tool_messages(requests[1])[0]["content"]
    assert "not valid JSON" in message and '\\"object\\": \\"A\\",' in message
    assert json.loads(out)["tool_calls"][0]["ok"] is False


def test_backend_failure_exits_2_with_a_reason(capsys, part):
    with ProtocolServer([{"fault": "auth"}]) as server:
        code, out, err = ask(capsys, part, "q", "--backend", "openai", "--base-url", f"{server.url}/v1",
                             "--model", "m", "--tier", "local")
    assert code == 2 and "authentication failed" in err and TEST_KEY not in err + out


@pytest.mark.parametrize(
    "args, reason",
    [
        (["/nonexistent/part.FCStd", "q"], "no such file"),
        (["{part}", "  "], "question is empty"),
        (["{part}", "q", "--selection", "[oops"], "--selection is not valid JSON"),
        (["{part}", "q", "--steps", "0"], "step_budget must be at least 1"),
    ],
)
def test_unusable_input_exits_2_with_one_line(capsys, part, args, reason):
    code, out, err = ask(capsys, *[a.format(part=part) for a in args])
    assert code == 2 and reason in err and err.count("\n") == 1


# --- what stays behind ---------------------------------------------------------------------------


def test_audit_lines_hold_no_key_and_no_payload(home):
    text = (home / "data" / "audit.jsonl").read_text(encoding="utf-8")
    assert text.strip()
    assert TEST_KEY not in text
    assert MARKER not in text  # the question travelled in payloads; the log holds only their hashes
    assert "mass_properties" in text  # tool names are logged
    for line in audit_lines(home):
        assert set(line) <= {"time", "tier", "classification", "host", "backend", "model", "bytes", "sha256",
                             "tools", "refused"}
        assert len(line["sha256"]) == 64


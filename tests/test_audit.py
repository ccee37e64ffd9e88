"""The audit log: one line per outbound request, never the key, never the payload."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from agent_fakes import ScriptedBackend, text_turn, tool_turn
from conftest import REGISTRY, FreeCAD, Part, add_shape
from key_leak import make_test_key

from freecad_spatial.spatial_tools import audit
from freecad_spatial.spatial_tools.agent.loop import Agent
from freecad_spatial.spatial_tools.agent.session import Session, Settings
from freecad_spatial.spatial_tools.audit import AuditLog
from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.tiers import Policy, RequestGuard, TierRefused

SECRET_PAYLOAD = b'{"messages": [{"role": "user", "content": "the secret geometry of part 4711"}]}'


def test_a_record_holds_size_and_hash_not_the_payload(tmp_path):
    log = AuditLog(tmp_path / "sub" / "audit.jsonl")
    entry = log.record(tier="local", classification="export-controlled", host="127.0.0.1", backend="openai",
                       model="m", payload=SECRET_PAYLOAD, tools=["measure_distance"])
    text = log.path.read_text(encoding="utf-8")
    assert text.count("\n") == 1 and json.loads(text) == entry
    assert entry["bytes"] == len(SECRET_PAYLOAD)
    assert entry["sha256"] == hashlib.sha256(SECRET_PAYLOAD).hexdigest()
    assert "secret geometry" not in text and "4711" not in text
    assert entry["tools"] == ["measure_distance"] and entry["tier"] == "local"
    assert entry["time"].endswith("+00:00")
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600  # only the user reads who sent what where


def test_refusals_are_logged_with_zero_bytes(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(tier="local", classification="unrestricted", host="10.0.0.1", backend="openai", model="m",
               payload=SECRET_PAYLOAD, tools=[], refused="refused: outside the local tier")
    (entry,) = log.read()
    assert entry["bytes"] == 0 and entry["refused"].startswith("refused")


def test_default_path_is_in_the_freecad_user_data_folder(monkeypatch):
    monkeypatch.delenv(audit.ENV_VAR, raising=False)
    expected = os.path.join(FreeCAD.getUserAppDataDir(), "FreeCADSpatial", "audit.jsonl")
    assert str(audit.default_path()) == os.path.normpath(expected)
    monkeypatch.setenv(audit.ENV_VAR, "/somewhere/else.jsonl")
    assert str(audit.default_path()) == "/somewhere/else.jsonl"


def test_without_freecad_the_platform_data_folder_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv(audit.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "FreeCAD")
    assert audit.default_path() == tmp_path / "FreeCADSpatial" / "audit.jsonl"


def test_guard_audits_the_exact_bytes_and_refuses_outside_the_tier(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    guard = RequestGuard(Policy(user_tier="local"), "openai", model="m", audit=log)
    guard.tools = ["mass_properties"]
    guard("POST", "http://127.0.0.1:8000/v1/chat/completions", SECRET_PAYLOAD)
    with pytest.raises(TierRefused):
        guard("POST", "http://192.168.1.5:8000/v1/chat/completions", SECRET_PAYLOAD)
    sent, refused = log.read()
    assert sent["bytes"] == len(SECRET_PAYLOAD) and sent["tools"] == ["mass_properties"]
    assert refused["bytes"] == 0 and refused["host"] == "192.168.1.5"
    assert guard.requests == 1 and guard.bytes_sent == len(SECRET_PAYLOAD)


def test_the_loop_logs_every_model_call(doc, tmp_path):
    add_shape(doc, "Box", Part.makeBox(1, 2, 3))
    backend = ScriptedBackend([tool_turn("mass_properties", {"object": "Box"}), text_turn("6 mm³")])
    held = make_test_key("held")
    backend.api_key = held  # a key the backend holds must not reach the log
    log = AuditLog(tmp_path / "audit.jsonl")
    agent = Agent(backend=backend, policy=Policy(classification="proprietary"), audit=log,
                  call_tool=lambda n, a: REGISTRY.call(n, a, ToolContext(document=doc)),
                  session=Session(settings=Settings.load()))
    trace = agent.ask("volume of the box, marker-8f3a")
    lines = log.read()
    assert len(lines) == trace.model_calls == 2
    assert [line["tools"] for line in lines] == [[], ["mass_properties"]]
    assert all(line["tier"] == "private" and line["classification"] == "proprietary" for line in lines)
    text = log.path.read_text(encoding="utf-8")
    assert held not in text and "marker-8f3a" not in text and "6 mm" not in text
    assert lines[1]["bytes"] > lines[0]["bytes"]  # the second request carries the tool result too

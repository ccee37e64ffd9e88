"""The chat dock's path: the model's tool calls and its cells' calls cross the GUI thread bridge with their limits.

The real ChatController (agent loop in a worker thread, tools on the GUI
thread through MainThreadBridge), the real DocumentHost with the real
findings hook, a real code-cell worker, real HTTP to the loopback protocol
server; only the model's turns are scripted.
"""

from __future__ import annotations

import json
import os
import uuid

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from key_leak import TEST_API_KEY  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from freecad_spatial.panels.chat_controller import ChatConfig, ChatController  # noqa: E402
from freecad_spatial.panels.chat_findings import publish_findings  # noqa: E402
from freecad_spatial.panels.chat_host import DocumentHost  # noqa: E402
from freecad_spatial.spatial_tools.agent.session import Settings  # noqa: E402
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer  # noqa: E402

SECRET = f"sk_live_{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


def test_the_chat_reads_only_and_its_findings_still_become_annotation_objects(qtbot, bracket, tmp_path):
    secret = tmp_path / "secret.toml"
    secret.write_text(f'{SECRET} = 1\n[rules."cnc.deep_hole"]\nwarn_above = 2.0\n')
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    cell = (f"for kw in (dict(accept=['all']), dict(process='cnc-3axis', profile={str(secret)!r}),\n"
            f"           dict(process='cnc-3axis', profile={str(fifo)!r})):\n"
            "    try:\n"
            "        (tools.suggest_gdt if 'accept' in kw else tools.run_dfm)(**kw)\n"
            "        print('done')\n"
            "    except ToolFailed as e:\n"
            "        print(e.code)\n")
    finding = {"rule": "cnc.deep_hole", "severity": "warning", "message": "Hole is deep", "object": "Body",
               "elements": ["Face1"]}
    script = [
        {"tool_calls": [{"name": "suggest_gdt", "arguments": {"accept": ["all"]}},
                        {"name": "run_dfm", "arguments": {"process": "cnc-3axis", "profile": str(secret)}}]},
        {"tool_calls": [{"name": "run_python", "arguments": {"code": cell}}]},
        {"tool_calls": [{"name": "submit_findings", "arguments": {"answer": "One finding.", "findings": [finding]}}]},
    ]
    objects = [o.Name for o in bracket.Objects]
    host = DocumentHost(lambda: bracket, on_findings=publish_findings)
    with ProtocolServer(script) as server:
        def config():
            return ChatConfig(Settings.load({"backend": "openai", "tier": "local"}),
                              {"base_url": f"{server.url}/v1", "model": "m", "max_attempts": 1, "read_s": 30})

        controller = ChatController(host, config, audit_path=os.environ["FREECAD_SPATIAL_AUDIT_LOG"])
        answered = []
        controller.answered.connect(answered.append)
        with qtbot.waitSignal(controller.busy_changed, timeout=120_000, check_params_cb=lambda busy: not busy):
            assert controller.ask("Check the bracket and add GD&T")
        bodies = [r.body for r in server.requests]
    controller.session.close()
    assert answered and answered[0].text == "One finding."
    results = [m["content"] for m in bodies[-1]["messages"] if m["role"] == "tool"]  # the whole conversation
    first, second, cell = json.loads(results[0]), json.loads(results[1]), json.loads(results[2])
    assert first["code"] == "read_only" and second["code"] == "not_permitted"
    assert cell["error"] is None and cell["stdout"] == "read_only\nnot_permitted\nnot_permitted\n"
    assert SECRET not in json.dumps(bodies)
    # No GD&T from the tools; the submitted finding became an annotation object, added by the host afterwards.
    added = [o for o in bracket.Objects if o.Name not in objects]
    types = sorted(getattr(o, "SpatialType", o.TypeId) for o in added)
    assert "DatumFeature" not in types and "FeatureControlFrame" not in types
    assert types.count("Finding") == 1, types

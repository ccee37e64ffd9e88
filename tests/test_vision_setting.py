"""The vision setting as a user sets it: FreeCAD parameters (the preference page's storage, read by the chat
before each question) and ``freecad-spatial ask --vision``. ``auto`` offers render_view only to models whose
name backends.toml [vision] lists; ``on`` offers it to any model; ``off`` to none. What the model is offered is
read from the request the loopback protocol server recorded."""

from __future__ import annotations

import uuid

import pytest
from conftest import FreeCAD, Part
from key_leak import TEST_API_KEY

from freecad_spatial.panels import preferences
from freecad_spatial.panels.preferences import AssistantPreferences, chat_config
from freecad_spatial.spatial_tools import cli
from freecad_spatial.spatial_tools.backends.settings import provider_sends_images
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

UNLISTED = "qwen-cad-local"  # a model name backends.toml [vision] does not list


@pytest.fixture
def params(monkeypatch):
    """A private parameter group per test (FreeCAD's real ParamGet), removed afterwards."""
    group = f"User parameter:BaseApp/Preferences/Mod/FreeCADSpatialTest/V{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(preferences, "GROUP", group)
    yield FreeCAD.ParamGet(group)
    parent, _, name = group.rpartition("/")
    FreeCAD.ParamGet(parent).RemGroup(name)


@pytest.fixture(autouse=True)
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FREECAD_SPATIAL_OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(tmp_path / "data" / "audit.jsonl"))


def test_the_vision_preference_round_trips_and_turns_images_on_for_an_unlisted_model(params):
    prefs = AssistantPreferences.load()
    assert prefs.vision == "auto"
    prefs.backend, prefs.model = "openai", UNLISTED
    prefs.save()
    config = chat_config()
    assert "vision" not in config.overrides  # auto: backends.toml decides
    assert not provider_sends_images(config.provider, config.overrides)

    prefs.vision = "on"
    prefs.save()
    assert params.GetString("Vision") == "on"
    again = AssistantPreferences.load()
    assert again.vision == "on" and again.model == UNLISTED
    config = chat_config()
    assert config.overrides == {"model": UNLISTED, "vision": "on"}
    assert provider_sends_images(config.provider, config.overrides)  # what the chat's Policy(images=...) reads

    again.vision, again.model = "off", "claude-sonnet-4-5"  # a vision model, turned off by the user
    again.save()
    config = chat_config()
    assert config.overrides["vision"] == "off" and not provider_sends_images(config.provider, config.overrides)


def test_a_hand_edited_vision_parameter_reads_as_auto(params):
    params.SetString("Vision", "sometimes")
    assert AssistantPreferences.load().vision == "auto"
    assert "vision" not in chat_config().overrides


@pytest.fixture
def part(tmp_path):
    doc = FreeCAD.newDocument(f"Vision{uuid.uuid4().hex[:6]}")
    doc.addObject("Part::Feature", "A").Shape = Part.makeBox(10, 10, 10)
    doc.recompute()
    path = tmp_path / "part.FCStd"
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    return path


def offered(capsys, part, model: str, *flags: str) -> set[str]:
    """The tool names the one request of ``ask`` offered the model (as the protocol server recorded it)."""
    with ProtocolServer(["ok"]) as server:
        code = cli.main(["ask", str(part), "q", "--backend", "openai", "--base-url", f"{server.url}/v1",
                         "--model", model, "--tier", "local", *flags])
        requests = server.requests
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err, err
    assert len(requests) == 1
    return {t["function"]["name"] for t in requests[0].body["tools"]}


def test_ask_vision_flag_decides_whether_render_view_is_offered(capsys, part):
    assert "render_view" in offered(capsys, part, "gpt-4o")  # auto, a listed vision model
    assert "render_view" not in offered(capsys, part, "gpt-4o", "--vision", "off")
    assert "render_view" not in offered(capsys, part, UNLISTED)  # auto: off for models without vision
    tools = offered(capsys, part, UNLISTED, "--vision", "on")
    assert "render_view" in tools and "mass_properties" in tools


def test_ask_rejects_an_unknown_vision_value(capsys, part):
    assert cli.main(["ask", str(part), "q", "--vision", "maybe"]) == cli.EXIT_USAGE
    assert "--vision: invalid choice" in capsys.readouterr().err

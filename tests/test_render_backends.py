"""A render reaches the model as an image block (real SDKs/HTTP against the protocol servers), never as base64
text; the servers refuse images where the real APIs do."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from key_leak import make_test_key

from freecad_spatial.spatial_tools.backends import errors
from freecad_spatial.spatial_tools.backends.anthropic_backend import AnthropicBackend
from freecad_spatial.spatial_tools.backends.base import Message, ToolCall, split_images
from freecad_spatial.spatial_tools.backends.keys import Secret
from freecad_spatial.spatial_tools.backends.openai_backend import OpenAIBackend
from freecad_spatial.spatial_tools.backends.settings import BackendSettings
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer
from freecad_spatial.spatial_tools.render import png

FAST = {"base_delay_s": 0.01, "max_delay_s": 0.05, "jitter": 0.1, "connect_s": 2.0, "read_s": 5.0, "max_attempts": 1}
PICTURE = png.encode(np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3))
RESULT = {"ok": True, "result": {"image": {"media_type": "image/png", "data": base64.b64encode(PICTURE).decode()},
                                 "width": 6, "height": 4, "view": "iso"}}


def conversation(images: bool = True) -> list[Message]:
    visible, found = split_images(RESULT)
    return [
        Message("user", "Show me the part."),
        Message("assistant", "", tool_calls=[ToolCall("call_1", "render_view", {"view": "iso"})]),
        Message("tool", json.dumps(visible), tool_call_id="call_1", images=found if images else []),
    ]


def test_split_images_takes_the_picture_out_of_the_text():
    visible, found = split_images(RESULT)
    assert len(found) == 1 and base64.b64decode(found[0].data) == PICTURE
    assert visible["result"]["image"]["data"] == "" and visible["result"]["width"] == 6
    assert split_images({"ok": True, "result": {"volume": 1.0}}) == ({"ok": True, "result": {"volume": 1.0}}, [])


def test_anthropic_sends_the_render_as_an_image_block_in_the_tool_result():
    key = make_test_key("anthropic")
    with ProtocolServer([{"text": "It is an L bracket."}]) as server:
        settings = BackendSettings.for_provider("anthropic", {"base_url": server.url, "model": "claude-test", **FAST})
        turn = AnthropicBackend(settings, api_key=Secret(key)).complete([], conversation(), [])
        (request,) = server.requests
    assert turn.text == "It is an L bracket."
    (image,) = request.images()
    assert (image.where, image.media_type, image.data, image.tool_call_id) == ("tool_result", "image/png", PICTURE, "call_1")
    block = request.body["messages"][-1]["content"][0]
    assert block["type"] == "tool_result" and [b["type"] for b in block["content"]] == ["text", "image"]
    assert base64.b64encode(PICTURE).decode() not in block["content"][0]["text"]


def test_openai_sends_the_render_in_a_user_message_after_the_tool_message():
    with ProtocolServer([{"text": "An L bracket."}]) as server:
        settings = BackendSettings.for_provider("openai", {"base_url": f"{server.url}/v1", "model": "gpt-4o", **FAST})
        OpenAIBackend(settings, api_key=Secret(make_test_key("openai"))).complete([], conversation(), [])
        (request,) = server.requests
    roles = [m["role"] for m in request.body["messages"]]
    assert roles == ["user", "assistant", "tool", "user"]
    assert isinstance(request.body["messages"][2]["content"], str)
    (image,) = request.images()
    assert (image.where, image.media_type, image.data) == ("user", "image/png", PICTURE)


def test_servers_refuse_images_the_real_apis_refuse():
    bad_tool = {"model": "m", "messages": [{"role": "tool", "tool_call_id": "c", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PICTURE).decode()}}]}]}
    not_png = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(b"GIF89a").decode()}}]}]}]}
    import httpx

    with ProtocolServer([{"text": "never"}, {"text": "never"}]) as server:
        r1 = httpx.post(f"{server.url}/v1/chat/completions", json=bad_tool)
        r2 = httpx.post(f"{server.url}/v1/messages", json=not_png)
    assert r1.status_code == 400 and "only supported in user messages" in r1.text
    assert r2.status_code == 400 and "not a image/png" in r2.text


def test_a_malformed_image_is_the_api_s_400_not_a_crash():
    broken = [Message("user", "hi"),
              Message("assistant", "", tool_calls=[ToolCall("c", "render_view", {})]),
              Message("tool", "{}", tool_call_id="c", images=[split_images(RESULT)[1][0].__class__("image/png", "bm90IGEgcG5n")])]
    with ProtocolServer([{"text": "never"}]) as server:
        settings = BackendSettings.for_provider("anthropic", {"base_url": server.url, "model": "claude-test", **FAST})
        with pytest.raises(errors.BackendError):
            AnthropicBackend(settings, api_key=Secret(make_test_key("anthropic"))).complete([], broken, [])


def test_agent_loop_hands_a_render_to_the_model_as_an_image(doc):
    """The loop: render_view is offered to a vision model only; its picture leaves the text, joins the message."""
    from agent_fakes import ScriptedBackend, text_turn, tool_turn
    from conftest import REGISTRY, Part, add_shape

    from freecad_spatial.spatial_tools.agent.loop import Agent
    from freecad_spatial.spatial_tools.agent.session import Session, Settings
    from freecad_spatial.spatial_tools.context import ToolContext
    from freecad_spatial.spatial_tools.tiers import Policy

    add_shape(doc, "Block", Part.makeBox(40, 20, 10))

    def call_tool(name, arguments):
        return REGISTRY.call(name, arguments, ToolContext(document=doc))

    def make(policy):
        backend = ScriptedBackend([tool_turn("render_view", {"view": "iso", "highlight": ["Block.Face6"]}),
                                   text_turn("The top face is number 1.")])
        return backend, Agent(backend=backend, call_tool=call_tool, policy=policy, session=Session(settings=Settings.load()))

    blind_backend, blind = make(Policy())
    assert "render_view" not in [t["name"] for t in blind.tool_definitions()]
    backend, agent = make(Policy(images=True))
    assert "render_view" in [t["name"] for t in agent.tool_definitions()]
    trace = agent.ask("Which face is the top?")
    assert trace.tool_calls[0].ok
    sent = backend.requests[1]["messages"][-1]
    assert sent.role == "tool" and len(sent.images) == 1
    assert base64.b64decode(sent.images[0].data).startswith(b"\x89PNG")
    assert sent.images[0].data not in sent.text and '"Block.Face6"' in sent.text

"""A scripted stand-in for base.Backend: the model is not under test, the loop is.

Each script item is a ModelTurn or a function ``(messages, tools) -> ModelTurn``
(so a turn can read the tool results the loop fed back); the last item repeats.
"""

from __future__ import annotations

import copy
import itertools
import json

from freecad_spatial.spatial_tools.backends.base import ModelTurn, ToolCall, Usage

_ids = itertools.count(1)


def tool_turn(name: str, arguments: dict | None, *, text: str = "", raw: str | None = None) -> ModelTurn:
    call = ToolCall(id=f"call_{next(_ids)}", name=name, arguments=arguments,
                    raw_arguments=raw if raw is not None else json.dumps(arguments))
    return ModelTurn(text=text, tool_calls=[call], stop_reason="tool_use", usage=Usage(10, 5))


def text_turn(text: str) -> ModelTurn:
    return ModelTurn(text=text, tool_calls=[], stop_reason="end_turn", usage=Usage(10, 5))


def last_tool_result(messages) -> dict:
    tool_messages = [m for m in messages if m.role == "tool"]
    return json.loads(tool_messages[-1].text)


class ScriptedBackend:
    def __init__(self, script, *, name: str = "openai", base_url: str = "http://127.0.0.1:9/v1",
                 model: str = "scripted-model"):
        self.script = list(script)
        self.name = name
        self.base_url = base_url
        self.model = model
        self.requests: list[dict] = []

    def complete(self, system, messages, tools, *, cancel=None, on_event=None, max_tokens=4096):
        self.requests.append({"system": list(system), "messages": copy.deepcopy(list(messages)),
                              "tools": list(tools), "max_tokens": max_tokens})
        item = self.script[min(len(self.requests), len(self.script)) - 1]
        turn = copy.deepcopy(item(messages, tools) if callable(item) else item)
        for call in turn.tool_calls:  # a repeated turn still gets fresh call ids
            call.id = f"call_{next(_ids)}"
        return turn

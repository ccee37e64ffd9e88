"""The OpenAI chat-completions wire format as vLLM streams it (POST /v1/chat/completions).

Chunks as vLLM's OpenAI server emits them: a first chunk with the assistant
role, content deltas, tool calls (id, type and name in the first delta of each
call, then argument fragments with only ``index``), a finish chunk with
``finish_reason``, a usage chunk with empty ``choices`` (when
``stream_options.include_usage``), then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid

from .faults import Fault
from .script import Turn

_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def data(payload: dict | str) -> str:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"


class OpenAIWire:
    name = "openai"
    path = "/v1/chat/completions"
    auth_headers = ("authorization", "api-key")

    @staticmethod
    def key_of(headers: dict[str, str]) -> str | None:
        lower = {k.lower(): v for k, v in headers.items()}
        auth = lower.get("authorization", "")
        return auth.removeprefix("Bearer ").strip() or lower.get("api-key") or None

    @staticmethod
    def _usage(turn: Turn) -> dict:
        cached = turn.usage_value("cache_read_input_tokens")
        prompt = turn.usage_value("input_tokens") + cached
        completion = turn.usage_value("output_tokens")
        usage: dict = {"prompt_tokens": prompt, "total_tokens": prompt + completion, "completion_tokens": completion}
        if cached:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        return usage

    def stream_events(self, turn: Turn, model: str, include_usage: bool = True) -> list[str]:
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict, finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            if finish is not None:
                choice["stop_reason"] = None
            return data({**head, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        for piece in turn.text_pieces():
            events.append(chunk({"content": piece}))
        for index, call in enumerate(turn.tool_calls):
            call_id = call.id or f"chatcmpl-tool-{uuid.uuid4().hex}"
            events.append(chunk({"tool_calls": [{"id": call_id, "type": "function", "index": index, "function": {"name": call.name}}]}))
            for piece in Turn.json_pieces(call.wire_arguments(), turn.json_chunk):
                events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        events.append(chunk({"content": ""}, _FINISH.get(turn.final_stop_reason(), turn.final_stop_reason())))
        if include_usage:
            events.append(data({**head, "choices": [], "usage": self._usage(turn)}))
        events.append(data("[DONE]"))
        return events

    def json_response(self, turn: Turn, model: str) -> dict:
        message: dict = {"role": "assistant", "content": turn.text or None}
        if turn.tool_calls:
            message["tool_calls"] = [
                {"id": c.id or f"chatcmpl-tool-{uuid.uuid4().hex}", "type": "function", "function": {"name": c.name, "arguments": c.wire_arguments()}}
                for c in turn.tool_calls
            ]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _FINISH.get(turn.final_stop_reason(), turn.final_stop_reason())}],
            "usage": self._usage(turn),
        }

    @staticmethod
    def plain_error(status: int, error_type: str, message: str) -> dict:
        # vLLM's ErrorResponse shape, wrapped as OpenAI does.
        return {"error": {"object": "error", "message": message, "type": error_type, "param": None, "code": status}}

    def error_body(self, fault: Fault) -> dict:
        return self.plain_error(fault.http_status(), fault.error_type(), fault.error_message())

    def error_event(self, fault: Fault) -> str:
        return data(self.plain_error(500, "InternalServerError", fault.error_message()))

    @staticmethod
    def malformed_event() -> str:
        return 'data: {"id": "chatcmpl-x", "choices": [{"index": 0, "delta": {"content": "bro\n\n'

"""The Anthropic Messages wire format as a test server speaks it (POST /v1/messages).

The full SSE sequence of the real API: message_start (with usage), a ping,
content_block_start / content_block_delta (text_delta; input_json_delta in
several fragments) / content_block_stop per block, message_delta (stop_reason,
cumulative usage), message_stop. Non-stream requests get the Message JSON.
"""

from __future__ import annotations

import json
import uuid

from .faults import Fault
from .script import Turn


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class AnthropicWire:
    name = "anthropic"
    path = "/v1/messages"
    auth_headers = ("x-api-key", "authorization")

    @staticmethod
    def key_of(headers: dict[str, str]) -> str | None:
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("x-api-key"):
            return lower["x-api-key"]
        auth = lower.get("authorization", "")
        return auth.removeprefix("Bearer ").strip() or None

    @staticmethod
    def _usage(turn: Turn, *, start: bool) -> dict:
        usage = {
            "input_tokens": turn.usage_value("input_tokens"),
            "cache_creation_input_tokens": turn.usage_value("cache_creation_input_tokens"),
            "cache_read_input_tokens": turn.usage_value("cache_read_input_tokens"),
            "output_tokens": 1 if start else turn.usage_value("output_tokens"),
        }
        return usage

    @staticmethod
    def _tool_ids(turn: Turn) -> list[str]:
        return [c.id or f"toolu_{uuid.uuid4().hex[:24]}" for c in turn.tool_calls]

    def stream_events(self, turn: Turn, model: str) -> list[str]:
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        events = [
            sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": self._usage(turn, start=True),
                    },
                },
            ),
            sse("ping", {"type": "ping"}),
        ]
        index = 0
        if turn.text:
            events.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}))
            for piece in turn.text_pieces():
                events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}))
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        for call, call_id in zip(turn.tool_calls, self._tool_ids(turn), strict=True):
            events.append(
                sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": call_id, "name": call.name, "input": {}}},
                )
            )
            # The real API opens every tool block with an empty fragment.
            for piece in ["", *Turn.json_pieces(call.wire_arguments(), turn.json_chunk)]:
                events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}}))
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
            if index == 2:
                events.append(sse("ping", {"type": "ping"}))
        events.append(
            sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": turn.final_stop_reason(), "stop_sequence": None},
                    "usage": self._usage(turn, start=False),
                },
            )
        )
        events.append(sse("message_stop", {"type": "message_stop"}))
        return events

    def json_response(self, turn: Turn, model: str) -> dict:
        content: list[dict] = []
        if turn.text:
            content.append({"type": "text", "text": turn.text})
        for call, call_id in zip(turn.tool_calls, self._tool_ids(turn), strict=True):
            try:
                arguments = json.loads(call.wire_arguments())
            except ValueError:
                arguments = {}
            content.append({"type": "tool_use", "id": call_id, "name": call.name, "input": arguments})
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": turn.final_stop_reason(),
            "stop_sequence": None,
            "usage": self._usage(turn, start=False),
        }

    @staticmethod
    def error_body(fault: Fault) -> dict:
        return {"type": "error", "error": {"type": fault.error_type(), "message": fault.error_message()}}

    def error_event(self, fault: Fault) -> str:
        return sse("error", self.error_body(fault))

    @staticmethod
    def malformed_event() -> str:
        return 'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_del\n\n'

    @staticmethod
    def plain_error(status: int, error_type: str, message: str) -> dict:
        return {"type": "error", "error": {"type": error_type, "message": message}}

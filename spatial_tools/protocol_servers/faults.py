"""Faults a protocol test server injects into one scripted request.

Two families: *status* faults answer the request with an error status instead
of a stream (429, 500, 529, 401, 3xx), and *stream* faults start a normal
200 stream and break it after ``after_events`` events (an error event, a
connection reset, a malformed chunk, a stall past the client's read timeout,
a clean end without the final event).
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, fields

STATUS_FAULTS = {"rate_limit": 429, "server_error": 500, "overloaded": 529, "auth": 401, "redirect": 307}
STREAM_FAULTS = ("error_event", "reset", "malformed_json", "stall", "truncate")
ALIASES = {"overloaded_event": "error_event", "429": "rate_limit", "500": "server_error", "529": "overloaded"}


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int | None = None  # overrides the kind's default status
    retry_after: float | None = None  # seconds, sent as retry-after
    retry_after_date: bool = False  # send retry-after as an HTTP date instead of seconds
    after_events: int = 2  # stream faults: events sent before the fault
    stall_s: float = 30.0  # "stall": silence before the server gives up on the connection
    location: str = ""  # "redirect": the Location header
    message: str = ""

    def __post_init__(self) -> None:
        if self.kind not in STATUS_FAULTS and self.kind not in STREAM_FAULTS:
            known = ", ".join(sorted([*STATUS_FAULTS, *STREAM_FAULTS]))
            raise ValueError(f"unknown fault kind '{self.kind}' (known: {known})")

    @classmethod
    def parse(cls, data: str | dict) -> Fault:
        """``"rate_limit"`` or ``{"kind": "rate_limit", "retry_after": 0.2}``."""
        if isinstance(data, str):
            data = {"kind": data}
        data = dict(data)
        data["kind"] = ALIASES.get(str(data.get("kind")), data.get("kind"))
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    @property
    def is_status(self) -> bool:
        return self.kind in STATUS_FAULTS

    def http_status(self) -> int:
        return self.status or STATUS_FAULTS[self.kind]

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            if self.retry_after_date:
                headers["retry-after"] = email.utils.formatdate(time.time() + self.retry_after, usegmt=True)
            else:
                headers["retry-after"] = f"{self.retry_after:g}"
        if self.kind == "redirect":
            headers["location"] = self.location or "http://127.0.0.2/"
        return headers

    def error_type(self) -> str:
        """The Anthropic error type for this fault's error body or event."""
        return {
            "rate_limit": "rate_limit_error",
            "overloaded": "overloaded_error",
            "error_event": "overloaded_error",
            "auth": "authentication_error",
        }.get(self.kind, "api_error")

    def error_message(self) -> str:
        return self.message or {
            "rate_limit": "Number of requests has exceeded your rate limit (injected)",
            "overloaded": "Overloaded (injected)",
            "error_event": "Overloaded (injected)",
            "auth": "invalid x-api-key (injected)",
            "redirect": "moved (injected)",
        }.get(self.kind, "Internal server error (injected)")

"""A loopback HTTP server that speaks both model wire formats from one script.

Real HTTP/1.1 on 127.0.0.1 (ephemeral port by default) in a background
thread: POST /v1/messages (Anthropic) and POST /v1/chat/completions
(OpenAI/vLLM), GET /v1/models. Each request consumes the next scripted turn,
with its fault if it has one, and is recorded (headers without the auth
value, only whether auth was present, and the JSON body) for assertions.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .anthropic_server import AnthropicWire
from .faults import Fault
from .images import SentImage, anthropic_images, openai_images
from .openai_server import OpenAIWire
from .script import Script, Turn

WIRES = {w.path: w for w in (AnthropicWire(), OpenAIWire())}
# Header names whose values are never recorded.
_AUTH_HEADERS = {"authorization", "x-api-key", "api-key", "proxy-authorization"}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names, auth headers removed
    auth_present: bool
    body: Any  # parsed JSON, or None
    body_bytes: int
    at: float  # time.monotonic() when the request was read

    def images(self) -> list[SentImage]:
        """The pictures this request carried (image blocks / image_url data URLs), decoded."""
        if not isinstance(self.body, dict):
            return []
        return openai_images(self.body) if self.path.startswith("/v1/chat") else anthropic_images(self.body)


class _Reset(Exception):
    """Raised inside a handler after the connection was reset on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if self.server.owner.verbose:
            super().log_message(format, *args)

    # --- plumbing ---------------------------------------------------------

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _chunk(self, text: str) -> None:
        raw = text.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _reset(self) -> None:
        """An abortive close: the client sees a connection reset mid-stream."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # close() would wait for rfile/wfile to drop their references; closing the
        # descriptor itself sends the RST now.
        os.close(self.connection.detach())
        self.close_connection = True
        raise _Reset

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Reset:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (cancel, timeout)

    # --- routes -----------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            owner = self.server.owner
            self._send_json(200, {"object": "list", "data": [{"id": owner.model, "object": "model", "owned_by": "protocol-test-server"}]})
            return
        self._send_json(404, {"error": {"type": "not_found_error", "message": f"no route GET {self.path}"}})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        wire = WIRES.get(self.path.split("?")[0].rstrip("/"))
        key = wire.key_of(headers) if wire is not None else None
        owner.record(
            RecordedRequest(
                method="POST",
                path=self.path,
                headers={k: v for k, v in headers.items() if k not in _AUTH_HEADERS},
                auth_present=any(headers.get(h) for h in _AUTH_HEADERS),
                body=body,
                body_bytes=len(raw),
                at=time.monotonic(),
            )
        )
        if wire is None:
            self._send_json(404, {"error": {"type": "not_found_error", "message": f"no route POST {self.path}"}})
            return
        if owner.require_key is not None and key != owner.require_key:
            self._send_json(401, wire.plain_error(401, "authentication_error", "invalid or missing API key"))
            return
        if not isinstance(body, dict):
            self._send_json(400, wire.plain_error(400, "invalid_request_error", "the body is not a JSON object"))
            return
        try:  # images as the real API takes them, or its 400
            (anthropic_images if wire.name == "anthropic" else openai_images)(body)
        except ValueError as exc:
            self._send_json(400, wire.plain_error(400, "invalid_request_error", str(exc)))
            return
        turn = owner.script.next_turn()
        if turn is None:
            message = f"protocol test server: script exhausted after {owner.script.consumed} turns"
            self._send_json(400, wire.plain_error(400, "invalid_request_error", message))
            return
        fault = turn.fault
        if fault is not None and fault.is_status:
            self._send_json(fault.http_status(), wire.error_body(fault), fault.headers())
            return
        model = str(body.get("model") or owner.model)
        if not body.get("stream"):
            self._send_json(200, wire.json_response(turn, model))
            return
        if wire.name == "openai":
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = wire.stream_events(turn, model, include_usage=include_usage)
        else:
            events = wire.stream_events(turn, model)
        self._stream(wire, turn, events, fault)

    def _stream(self, wire: Any, turn: Turn, events: list[str], fault: Fault | None) -> None:
        closing = self.server.owner.closing
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for i, event in enumerate(events):
            if fault is not None and i == fault.after_events:
                if fault.kind == "reset":
                    self._reset()
                if fault.kind == "stall":
                    closing.wait(fault.stall_s)
                    self.close_connection = True
                    return
                if fault.kind == "truncate":
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if fault.kind == "error_event":
                    self._chunk(wire.error_event(fault))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if fault.kind == "malformed_json":
                    self._chunk(wire.malformed_event())
            if turn.delay_s and closing.wait(turn.delay_s):
                self.close_connection = True
                return
            self._chunk(event)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ProtocolServer


class ProtocolServer:
    """Serves a Script on loopback; use as a context manager or start()/stop().

    ``require_key``: when set, requests whose key differs get a 401.
    """

    def __init__(
        self,
        script: Script | list | dict | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str = "protocol-test-model",
        require_key: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.script = script if isinstance(script, Script) else Script.load(script or [])
        self.model = model
        self.require_key = require_key
        self.verbose = verbose
        self.closing = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def start(self) -> ProtocolServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="protocol-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()  # releases stalled and slow streams
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ProtocolServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

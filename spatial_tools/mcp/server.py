"""The MCP protocol side: the official SDK's low-level server over stdio or Streamable HTTP.

Every request is answered from a ``SpatialService`` on a worker thread, so a
slow call never blocks the protocol loop: other requests (pings, listings,
other calls) are served meanwhile. Tool results carry ``structuredContent``
(the tool's result, matching its ``outputSchema``: the registry's result
schema) and the same JSON as text for clients that read only content. A
tool's failure is an error result (``isError``) with the envelope's error; a
client that disconnects or cancels mid-call cancels the wait, and the forked
call is killed.

HTTP: loopback only unless ``allow_remote``; every request needs the bearer
token printed at start (compared in constant time), and the SDK's DNS
rebinding protection stays on for loopback hosts.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
from collections.abc import Callable
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from ..backends.base import CancelToken
from ..errors import ToolError
from . import config
from .service import SpatialService, structured


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args, cancel)`` on a worker thread; a cancelled request (client gone) trips ``cancel``."""
    cancel = CancelToken()
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, cancel), abandon_on_cancel=True)
    finally:
        cancel.cancel()  # done: harmless; cancelled: the waiting call kills its child


def _client_name(ctx: Any) -> str:
    try:
        info = ctx.session.client_params.client_info
        return f"{info.name} {info.version}".strip()
    except Exception:
        return ""


def tool_result(envelope: dict) -> types.CallToolResult:
    """A result envelope as an MCP tool result: structured content plus its text form."""
    if envelope.get("ok"):
        from ..backends.base import split_images

        result, images = split_images(envelope.get("result"))  # a render: an image block, not base64 text
        content: list = [types.TextContent(type="text", text=json.dumps(result, ensure_ascii=False))]
        content += [types.ImageContent(type="image", data=im.data, mime_type=im.media_type) for im in images]
        return types.CallToolResult(content=content, structured_content=structured(result))
    error = envelope.get("error", {})
    text = json.dumps({"error": error}, ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content={"error": error}, is_error=True)


def build_server(service: SpatialService) -> Server:
    """The SDK server answering from ``service``."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        definitions = await anyio.to_thread.run_sync(service.tools)
        return types.ListToolsResult(tools=[
            types.Tool(name=d.name, description=d.description, input_schema=d.input_schema,
                       output_schema=d.output_schema)
            for d in definitions])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if not service.client:
            service.client = _client_name(ctx)
        envelope = await _in_thread(service.call, params.name, params.arguments or {})
        return tool_result(envelope)

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        items = await anyio.to_thread.run_sync(service.resources)
        return types.ListResourcesResult(resources=[types.Resource(**item) for item in items])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            text = await _in_thread(service.read_resource, uri)
        except ToolError as exc:
            raise MCPError(types.INVALID_PARAMS, exc.message, {"code": exc.code}) from None
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type="application/json",
                                                                             text=text)])

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[
            types.Prompt(name=p["name"], title=p["title"], description=p["description"],
                         arguments=[types.PromptArgument(**a) for a in p["arguments"]])
            for p in service.prompts()])

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        try:
            description, text = service.prompt(params.name, params.arguments)
        except ToolError as exc:
            raise MCPError(types.INVALID_PARAMS, exc.message) from None
        return types.GetPromptResult(description=description, messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))])

    cfg = config.server()
    return Server(cfg["name"], version=_version(), instructions=cfg["instructions"].strip(),
                  on_list_tools=list_tools, on_call_tool=call_tool, on_list_resources=list_resources,
                  on_read_resource=read_resource, on_list_prompts=list_prompts, on_get_prompt=get_prompt)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("freecad-spatial")
    except Exception:
        return "0"


async def serve_stdio(server: Server) -> None:
    """Serves one client on stdin/stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def check_address(host: str, allow_remote: bool) -> None:
    """Refuses a non-loopback bind address unless the user asked for it (``--allow-remote``)."""
    if host.strip("[]") in config.server()["loopback_hosts"] or host.startswith("127."):
        return
    if not allow_remote:
        raise ValueError(f"refusing to listen on {host}: the server serves loopback only (127.0.0.1, ::1, "
                         "localhost) unless --allow-remote is given; anyone who can reach it with the token "
                         "can read your documents")


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--http wants HOST:PORT, got '{text}'")
    return host.strip("[]") or "127.0.0.1", int(port)


def new_token() -> str:
    return secrets.token_urlsafe(32)


class BearerAuth:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>``; else 401."""

    def __init__(self, app: Any, token: str):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                body = json.dumps({"error": "unauthorized: send the bearer token the server printed at start"}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(server: Server, host: str, token: str) -> Any:
    """The Streamable HTTP app behind the bearer check."""
    app = server.streamable_http_app(streamable_http_path=config.server()["http_path"], host=host)
    return BearerAuth(app, token)


class HttpServer:
    """uvicorn serving ``http_app``; ``run`` in this thread, or ``start``/``stop`` on a daemon thread."""

    def __init__(self, server: Server, host: str, port: int, token: str | None = None):
        import uvicorn

        self.host, self.token = host, token or new_token()
        self.uvicorn = uvicorn.Server(uvicorn.Config(http_app(server, host, self.token), host=host, port=port,
                                                     log_level="warning", lifespan="on"))
        self.port = port
        self._thread: Any = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{config.server()['http_path']}"

    def bound_port(self) -> int:
        for server in getattr(self.uvicorn, "servers", []) or []:
            for sock in server.sockets:
                return sock.getsockname()[1]
        return self.port

    def run(self) -> None:
        self.uvicorn.run()

    def start(self, timeout_s: float = 10.0) -> HttpServer:
        import threading
        import time

        self._thread = threading.Thread(target=self._serve, name="spatial-mcp-http", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout_s
        while not self.uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                self.stop()
                raise OSError(f"the MCP server could not listen on {self.host}:{self.port} (the port is in use, "
                              "or the address is not one of this machine's)")
            time.sleep(0.02)
        self.port = self.bound_port()
        return self

    def _serve(self) -> None:
        try:
            self.uvicorn.run()
        except SystemExit:  # uvicorn's way to say it could not start: ``start`` reports it
            pass

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def announce(url: str, token: str, stream: Any = None) -> None:
    """The lines a user needs to connect, on stderr (stdout may be the protocol)."""
    stream = stream or sys.stderr
    print(f"freecad-spatial MCP server: {url}", file=stream)
    print(f"bearer token: {token}", file=stream)
    print(f'  claude mcp add --transport http spatial {url} --header "Authorization: Bearer {token}"', file=stream)
    stream.flush()

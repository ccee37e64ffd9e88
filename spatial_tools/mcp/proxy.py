"""``freecad-spatial mcp --connect URL``: a stdio server that forwards to a Streamable HTTP one.

For clients that start servers on stdio only (Claude Desktop's config file)
to reach the live session inside FreeCAD: no second Python, no npm bridge.
The connection is made on the first request and made again after it fails,
so the client may start before FreeCAD does; while nothing serves, each call
is an error result saying how to turn the server on, and the proxy stays up.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from . import config

NOT_SERVING = ("FreeCAD is not serving at {url} ({reason}): open FreeCAD and turn on Spatial > Serve the open "
               "documents over MCP (the token must be the one FreeCAD prints in the Report view)")


class Upstream:
    """The session with the HTTP server, held by one long-lived task (``keep``): anyio ties a connection's
    task group to the task that opened it, so requests reach it through a stream and get their answers back.
    It connects on the first request, and again on the next one after the connection failed."""

    def __init__(self, url: str, token: str | None):
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._requests, self._incoming = anyio.create_memory_object_stream[tuple](100)

    async def run(self, what: Any) -> Any:
        """``await what(session)`` on the upstream session; MCPError with the reason when it cannot be reached."""
        reply, answer = anyio.create_memory_object_stream[tuple](1)
        await self._requests.send((what, reply))
        ok, value = await answer.receive()
        if ok:
            return value
        raise value

    def _failed(self, exc: BaseException) -> MCPError:
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:  # the transport's task group wraps it
            exc = exc.exceptions[0]
        if isinstance(exc, MCPError) and exc.message != "Connection closed":
            return exc
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return MCPError(types.INTERNAL_ERROR, NOT_SERVING.format(url=self.url, reason=reason))

    async def _answer(self, session: ClientSession, what: Any, reply: Any) -> None:
        result: tuple = (False, self._failed(ConnectionError("the connection closed")))
        try:
            result = (True, await what(session))
        except Exception as exc:
            result = (False, self._failed(exc))
        finally:
            with anyio.CancelScope(shield=True):
                await reply.send(result)

    async def keep(self) -> None:
        """Serves requests until the proxy stops: connect, answer concurrently, reconnect after a failure."""
        waiting: tuple | None = None
        while True:
            what, reply = waiting or await self._incoming.receive()
            waiting = None
            try:
                async with contextlib.AsyncExitStack() as stack:
                    client = await stack.enter_async_context(httpx2.AsyncClient(headers=self.headers, timeout=None))
                    read, write = await stack.enter_async_context(streamable_http_client(self.url, http_client=client))
                    session = await stack.enter_async_context(ClientSession(read, write))
                    await session.initialize()
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._answer, session, what, reply)
                        what = None
                        async for what, reply in self._incoming:
                            group.start_soon(self._answer, session, what, reply)
                            what = None
            except Exception as exc:  # no server, or it went away: answer and wait for the next request
                if what is not None:
                    with anyio.CancelScope(shield=True):
                        await reply.send((False, self._failed(exc)))


def build_proxy(upstream: Upstream) -> Server:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return await upstream.run(lambda s: s.list_tools())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            return await upstream.run(lambda s: s.call_tool(params.name, params.arguments or {}))
        except MCPError as exc:  # a tool call fails as a result the model can read, not as a protocol error
            return types.CallToolResult(content=[types.TextContent(type="text", text=exc.message)], is_error=True)

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return await upstream.run(lambda s: s.list_resources())

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        return await upstream.run(lambda s: s.read_resource(str(params.uri)))

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return await upstream.run(lambda s: s.list_prompts())

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        return await upstream.run(lambda s: s.get_prompt(params.name, params.arguments))

    cfg = config.server()
    return Server(cfg["name"], instructions=cfg["instructions"].strip(), on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_resources=list_resources, on_read_resource=read_resource,
                  on_list_prompts=list_prompts, on_get_prompt=get_prompt)


async def serve_proxy(url: str, token: str | None) -> None:
    from .server import serve_stdio

    upstream = Upstream(url, token)
    async with anyio.create_task_group() as group:
        group.start_soon(upstream.keep)
        await serve_stdio(build_proxy(upstream))
        group.cancel_scope.cancel()

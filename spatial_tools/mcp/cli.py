"""``freecad-spatial mcp``: the Spatial MCP server, on stdio (default) or Streamable HTTP."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator

TOKEN_ENV = "FREECAD_SPATIAL_MCP_TOKEN"  # a fixed token for --http (else a new one each start)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Serve the spatial tools to an MCP client (Claude Desktop, Claude Code, ...)."
    parser.add_argument("--doc", action="append", default=[], metavar="FILE",
                        help="open this FCStd, STEP or BREP file at start (repeatable)")
    parser.add_argument("--tier", choices=["cloud", "private", "local"],
                        help="the tier of the client's model (default from settings); a document needing a "
                             "stricter one gets no results")
    parser.add_argument("--no-raw-geometry", action="store_true",
                        help="cloud tier: do not offer tools that return raw geometry")
    parser.add_argument("--http", metavar="HOST:PORT", help="serve Streamable HTTP here instead of stdio")
    parser.add_argument("--connect", metavar="URL",
                        help="serve on stdio by forwarding to this Streamable HTTP server (FreeCAD's live session); "
                             f"its token from ${TOKEN_ENV}")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow --http on an address other than loopback")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="seconds one call may take (default: the assistant's tool budget)")
    parser.add_argument("--audit-log", help="audit log path (default: the FreeCAD user data folder)")


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from . import sdk_missing_reason

    if reason := sdk_missing_reason():
        raise UsageError(reason)
    import anyio

    from ..agent.session import Settings
    from ..audit import AuditLog
    from ..errors import ToolError
    from .server import (
        HttpServer,
        build_server,
        check_address,
        parse_address,
        serve_stdio,
    )
    from .service import ServiceSettings, SpatialService

    if args.connect:
        if args.doc or args.http:
            raise UsageError("--connect forwards to a running server: --doc and --http belong to that server")
        from .proxy import serve_proxy

        anyio.run(serve_proxy, args.connect, os.environ.get(TOKEN_ENV) or None)
        return 0
    settings = Settings.load({"tier": args.tier})
    address = None
    if args.http:
        try:
            address = parse_address(args.http)
            check_address(address[0], args.allow_remote)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    service = SpatialService(
        settings=ServiceSettings(tier=settings.tier,
                                 allow_raw_geometry=settings.allow_raw_geometry and not args.no_raw_geometry,
                                 call_timeout_s=args.timeout, destination="mcp-http" if address else "mcp-stdio"),
        audit=AuditLog(args.audit_log))

    def open_documents() -> None:
        for path in args.doc:
            try:
                service.documents.open(path)
            except ToolError as exc:
                raise UsageError(exc.message) from exc

    try:
        with _stdout_to_stderr():  # FreeCAD's start-up messages must not reach the protocol's stdout
            open_documents()
        if address is None:
            anyio.run(serve_stdio, build_server(service))
            return 0
        http = HttpServer(build_server(service), address[0], address[1], os.environ.get(TOKEN_ENV) or None)
        _announce_when_started(http)
        http.run()
        return 0
    finally:
        service.close()
        service.documents.close_all()


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr meanwhile (C++ code prints there too, past sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _announce_when_started(http) -> None:
    """Prints the URL and token once uvicorn listens (the port may have been 0: any free one)."""
    import threading
    import time

    def wait() -> None:
        while not http.uvicorn.started:
            time.sleep(0.02)
        http.port = http.bound_port()
        from .server import announce

        announce(http.url, http.token, sys.stderr)

    threading.Thread(target=wait, name="mcp-announce", daemon=True).start()

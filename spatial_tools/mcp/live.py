"""The live session: FreeCAD's open documents served over MCP from inside the GUI.

Streamable HTTP on loopback (stdio belongs to FreeCAD): the address and the
bearer token stay the same between sessions (address in user parameters, token in the OS keyring), so a client
is configured once. Every document touch goes to the GUI thread through the
chat's MainThreadBridge with the call's deadline; the tool then computes in
a forked child while the server's thread waits, so a slow or hung call ends
in an error for the client and the GUI keeps running. Submitted findings go
through the chat's hook (annotation objects, one undoable step, the findings
dock refreshed). Tier and disabled tools come from the assistant's
preferences, as for the chat.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from . import config

GROUP = "User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/MCP"

_SERVER: list[Any] = []  # the running LiveServer, if any


def _params() -> Any:
    import FreeCAD

    return FreeCAD.ParamGet(GROUP)


def address() -> tuple[str, int]:
    """Host and port: the parameters Host/Port, else mcp.toml's default_http."""
    from .server import parse_address

    host, port = parse_address(config.server()["default_http"])
    p = _params()
    return p.GetString("Host", host) or host, p.GetInt("Port", port)


TOKEN_USER = "mcp-live"  # the keyring username under the addon's service (backends.toml [keys])
TOKEN_ENV = "FREECAD_SPATIAL_MCP_TOKEN"
_session_token: str | None = None


def token() -> str:
    """The bearer token clients need: ``FREECAD_SPATIAL_MCP_TOKEN`` if set, else the one in the OS keyring
    (created once, so a client's configuration stays valid between sessions), else — where no keyring is
    usable — one kept in memory for this FreeCAD session. Never in parameters, files or the Report view."""
    global _session_token
    if os.environ.get(TOKEN_ENV, "").strip():
        return os.environ[TOKEN_ENV].strip()
    if _session_token:
        return _session_token
    from ..backends import keys

    try:
        import keyring

        stored = keyring.get_password(keys.service(), TOKEN_USER)
        if stored:
            return stored
        value = secrets.token_urlsafe(32)
        keyring.set_password(keys.service(), TOKEN_USER, value)
        return value
    except Exception:  # no keyring package or no usable backend: this session only
        _session_token = secrets.token_urlsafe(32)
        return _session_token


def call_timeout_s() -> float | None:
    """The parameter CallTimeout (seconds; 0: the assistant's tool budget, as for the chat)."""
    value = _params().GetFloat("CallTimeout", 0.0)
    return value if value > 0 else None


def publish(document: Any, findings: list[dict]) -> list[str]:
    """The chat's findings hook (annotation objects, one undo step), then the findings dock shows them."""
    from freecad_spatial.panels import findings_dock
    from freecad_spatial.panels.chat_findings import publish_findings

    names = publish_findings(document, findings)
    try:
        findings_dock.show_dock()
    except Exception as exc:  # the findings are in the document whatever the dock does
        import FreeCAD

        FreeCAD.Console.PrintWarning(f"FreeCAD Spatial: the findings dock could not be shown: {exc}\n")
    return names


class LiveServer:
    """The HTTP server, the service and the GUI-thread bridge of one live session. Start on the GUI thread."""

    def __init__(self, call_timeout_s: float | None = None):
        from freecad_spatial.panels.chat_controller import MainThreadBridge
        from freecad_spatial.panels.chat_dock import gui_selection, select_refs
        from freecad_spatial.panels.preferences import AssistantPreferences

        from .documents import LiveDocuments
        from .marshal import OnGuiThread
        from .server import HttpServer, build_server, check_address
        from .service import ServiceSettings, SpatialService

        prefs = AssistantPreferences.load()
        host, port = address()
        check_address(host, allow_remote=False)
        self.bridge = MainThreadBridge()  # lives on this (the GUI) thread
        self.service = SpatialService(
            LiveDocuments(),
            ServiceSettings(tier=prefs.tier, allow_raw_geometry=prefs.allow_raw_geometry,
                            disabled_tools=frozenset(prefs.cloud_disabled_tools), call_timeout_s=call_timeout_s,
                            destination="mcp-live"),
            marshal=OnGuiThread(self.bridge), publish=publish, selection=gui_selection,
            on_select=select_refs)
        self.http = HttpServer(build_server(self.service), host, port, token())

    def start(self) -> LiveServer:
        self.http.start()
        return self

    def stop(self) -> None:
        self.http.stop()
        self.service.close()

    @property
    def url(self) -> str:
        return self.http.url


def running() -> LiveServer | None:
    return _SERVER[0] if _SERVER else None


def start(timeout_s: float | None = None) -> LiveServer:
    """Starts the live session (GUI thread); the running one if there is one."""
    if _SERVER:
        return _SERVER[0]
    server = LiveServer(timeout_s if timeout_s is not None else call_timeout_s()).start()
    _SERVER.append(server)
    return server


def stop() -> None:
    while _SERVER:
        _SERVER.pop().stop()

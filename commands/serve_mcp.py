"""Spatial > Serve the open documents over MCP: a toggle that starts or stops the live MCP session.

On: FreeCAD's open documents are served to MCP clients (Claude Desktop, Claude
Code, ...) on loopback with a bearer token (OS keyring; copied to the
clipboard, never printed); the Report view gives the address and the line that
adds the server to Claude Code. Off: the server stops and
documents a client opened are closed; the user's stay open.
"""

from __future__ import annotations

from freecad_spatial import RESOURCES
from freecad_spatial.panels.qt import translate_noop

NAME = "Spatial_ServeMCP"


class Command:
    def GetResources(self) -> dict:
        return {
            "Pixmap": str(RESOURCES / "icons" / "serve_mcp.svg"),
            "MenuText": translate_noop(NAME, "Serve the open documents over MCP"),
            "ToolTip": translate_noop(NAME, "Let an MCP client (Claude Desktop, Claude Code) measure the documents "
                                            "open here, on this machine only; findings it submits appear in the model"),
            "Checkable": False,  # a toggle: off at start-up
        }

    def IsActive(self) -> bool:
        return True

    def Activated(self, checked: bool | None = None) -> None:
        from freecad_spatial.spatial_tools.mcp import live

        want = (live.running() is None) if checked is None else bool(checked)
        if want:
            serve()
        else:
            live.stop()
            _report(_tr("The MCP server is stopped."))


def _tr(text: str) -> str:
    from freecad_spatial.panels.qt import tr

    return tr("ServeMcpCommand", text)


def _report(text: str, error: bool = False) -> None:
    import FreeCAD

    (FreeCAD.Console.PrintError if error else FreeCAD.Console.PrintMessage)(f"FreeCAD Spatial: {text}\n")


def serve() -> None:
    """Starts the live session and tells the user how to connect; a failure is said, never raised."""
    from freecad_spatial.spatial_tools.mcp import live, sdk_missing_reason

    if reason := sdk_missing_reason():
        _report(_tr("The MCP server cannot start: {reason}").format(reason=reason), error=True)
        return
    try:
        server = live.start()
    except (OSError, ValueError) as exc:
        _report(_tr("The MCP server cannot start: {reason}").format(reason=exc), error=True)
        _set_checked(False)
        return
    copied = _copy_to_clipboard(server.http.token)
    _report(_tr("MCP server for the open documents: {url}\n"
                "  The bearer token is {where} (kept in the OS keyring, service freecad-spatial, user mcp-live).\n"
                "  Claude Code: claude mcp add --transport http freecad {url} --header \"Authorization: Bearer TOKEN\"\n"
                "  Stop it with Spatial > Serve the open documents over MCP.")
            .format(url=server.url, where=_tr("on the clipboard") if copied else _tr("not shown here")))


def _copy_to_clipboard(text: str) -> bool:
    """The token goes to the clipboard, never into the Report view (which can be logged to a file)."""
    try:
        from freecad_spatial.panels.qt import QtWidgets

        QtWidgets.QApplication.clipboard().setText(text)
        return True
    except Exception:
        return False


def _set_checked(on: bool) -> None:
    """The toggle shows whether the server runs (it stays off when the start failed)."""
    try:
        import FreeCADGui

        command = FreeCADGui.Command.get(NAME)
        action = command.getAction()[0] if command is not None else None
        if action is not None:
            action.setChecked(on)
    except Exception:  # FreeCAD 0.20 has no Command.get: the Report view says it did not start
        pass


def register() -> list[str]:
    """Registers the command (addon/workbench.py calls this); returns its name."""
    import FreeCADGui

    FreeCADGui.addCommand(NAME, Command())
    return [NAME]

"""The Spatial MCP server: the registry's tools for any MCP client (Claude Desktop, Claude Code, ...).

Split so the addon loads without the optional ``mcp`` SDK: ``service`` (what
the server offers and how a call runs under the tier, the audit log and the
chat's limits) and ``documents`` never import it; only ``server`` (the SDK's
low-level server over stdio or Streamable HTTP), ``cli`` and ``live`` (the
workbench's toggle) do, when they run.
"""

from __future__ import annotations


def sdk_missing_reason() -> str | None:
    """Why the server cannot run here (the SDK is missing or does not import), or None."""
    try:
        import mcp.server.lowlevel  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return (f"the MCP SDK is not installed ({exc}): pip install 'mcp>=2.3,<3' into FreeCAD's Python, or "
                "use the Install button of the assistant's chat (./setup.sh installs it into .venv)")
    return None

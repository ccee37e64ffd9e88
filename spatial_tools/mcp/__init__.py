"""The Spatial MCP server: the registry's tools for any MCP client (Claude Desktop, Claude Code, ...).

Split so the addon loads without the optional ``mcp`` SDK: ``service`` (what
the server offers and how a call runs under the tier, the audit log and the
chat's limits) and ``documents`` never import it; only ``server`` (the SDK's
low-level server over stdio or Streamable HTTP), ``cli`` and ``live`` (the
workbench's toggle) do, when they run.
"""

from __future__ import annotations

import importlib.util


def sdk_missing_reason() -> str | None:
    """Why the server cannot run here (the SDK is not installed), or None."""
    if importlib.util.find_spec("mcp") is None:
        return ("the MCP SDK is not installed: pip install 'mcp>=2.3,<3' into FreeCAD's Python "
                "(./setup.sh installs it into .venv)")
    return None

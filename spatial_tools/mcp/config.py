"""resources/mcp.toml: the server's texts (instructions, prompts, its own tools) and limits."""

from __future__ import annotations

import tomllib
from functools import cache

from freecad_spatial import RESOURCES

CONFIG_FILE = RESOURCES / "mcp.toml"


@cache
def config() -> dict:
    with open(CONFIG_FILE, "rb") as fh:
        return tomllib.load(fh)


def server() -> dict:
    return config()["server"]


def tool_description(name: str) -> str:
    return config()["tools"][name]["description"].strip()


def call_timeout_s() -> float:
    """Seconds one call may take: mcp.toml's call_timeout_s, else the chat's model_call_s."""
    from ..context import model_call_s

    value = float(server().get("call_timeout_s") or 0)
    return value if value > 0 else model_call_s()

"""The system prompt, agent tool descriptions and loop messages, from resources/prompts/system.toml.

Prompts are data: the code only picks named sections and fills placeholders.
The static sections form one prompt-caching block; the document context,
which can change between questions, follows as a second cached block.
"""

from __future__ import annotations

import tomllib
from functools import cache

from freecad_spatial import RESOURCES

from ..backends.base import SystemSection

SYSTEM_FILE = RESOURCES / "prompts" / "system.toml"


@cache
def data() -> dict:
    with open(SYSTEM_FILE, "rb") as fh:
        loaded = tomllib.load(fh)
    missing = [name for name in loaded.get("order", []) if name not in loaded.get("sections", {})]
    if missing:
        raise KeyError(f"{SYSTEM_FILE.name}: sections in 'order' without text: {', '.join(missing)}")
    return loaded


def section_names() -> list[str]:
    return list(data()["order"])


def build_system(document_context: str | None, *, exclude: set[str] | frozenset[str] = frozenset()) -> list[SystemSection]:
    """The named sections in order, the last static one marked for caching, then the (cached) document."""
    sections = [
        SystemSection(name=name, text=data()["sections"][name]["text"].strip())
        for name in section_names()
        if name not in exclude
    ]
    if sections:
        sections[-1].cache = True
    doc = data()["document"]
    text = f"{doc['heading']}\n{document_context}" if document_context else doc["none"]
    # Its own caching breakpoint: the document stays the same for every step of a question.
    sections.append(SystemSection(name="document", text=text, cache=True))
    return sections


def tool_description(name: str) -> str:
    entry = data().get("agent_tools", {}).get(name)
    if not entry or not entry.get("description"):
        raise KeyError(f"agent tool '{name}' has no description in {SYSTEM_FILE.name}")
    return entry["description"].strip()


def message(name: str, **values: object) -> str:
    """A loop message with its placeholders filled."""
    template = data()["messages"][name]
    return template.strip().format(**values)


def reason(name: str, **values: object) -> str:
    return data()["messages"]["reasons"][name].format(**values)

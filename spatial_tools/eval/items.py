"""One eval item (a question about a CAD source with a kernel-computed answer) and suite files (JSONL).

The CAD source travels with the item, so a suite file is self-contained and shareable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TYPES = ("number", "integer", "boolean", "choice", "ref", "list", "finding")
SOURCE_KINDS = ("freecad", "cadquery", "fcstd", "step")


class ItemError(ValueError):
    """A suite line that is not a usable item."""


@dataclass(frozen=True)
class Item:
    id: str
    suite: str
    source: dict  # {"freecad": script} | {"cadquery": script} | {"fcstd": path} | {"step": path}
    question: str
    answer: Any
    type: str
    tolerance: dict = field(default_factory=dict)  # {"abs": mm, "rel": fraction}; numbers only
    unit: str = ""
    tags: list[str] = field(default_factory=list)
    template: str = ""  # the question template (the reference agent's script is chosen by it)
    params: dict = field(default_factory=dict)  # what the question names (e.g. the hole diameters)
    choices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Item:
        if not isinstance(data, dict):
            raise ItemError("an item must be a JSON object")
        missing = [k for k in ("id", "suite", "source", "question", "answer", "type") if k not in data]
        if missing:
            raise ItemError(f"item {data.get('id', '?')}: missing {', '.join(missing)}")
        if data["type"] not in TYPES:
            raise ItemError(f"item {data['id']}: type '{data['type']}' is not one of {', '.join(TYPES)}")
        source = data["source"]
        if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in SOURCE_KINDS:
            raise ItemError(f"item {data['id']}: source must be one of {{{'|'.join(SOURCE_KINDS)}: ...}}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def source_kind(self) -> str:
        return next(iter(self.source))


def write_items(path: str | Path, items: Iterable[Item]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_items(path: str | Path) -> Iterator[Item]:
    """Items of a suite file; a broken line raises ItemError naming its line number."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield Item.from_dict(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ItemError(f"{path}:{number}: not JSON: {exc.msg}") from exc
            except ItemError as exc:
                raise ItemError(f"{path}:{number}: {exc}") from exc

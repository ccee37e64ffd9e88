"""Where a suite's items come from: a shipped suite by name (the generated file under
resources/eval/suites/, or generated now when absent), or a suite file (JSONL) by path."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from freecad_spatial import RESOURCES

from .generators import GENERATORS, generate, suites
from .items import Item, ItemError, read_items

SHIPPED = RESOURCES / "eval" / "suites"


def shipped_file(name: str) -> Path:
    return SHIPPED / f"{name}.jsonl"


def load(name_or_path: str, limit: int | None = None) -> Iterator[Item]:
    """Items of a suite (the first ``limit``)."""
    path = Path(name_or_path)
    if name_or_path in GENERATORS:
        shipped = shipped_file(name_or_path)
        items = read_items(shipped) if shipped.is_file() else generate(name_or_path)
    elif path.suffix == ".jsonl" and path.is_file():
        items = (_anchored(item, path.parent) for item in read_items(path))
    else:
        raise KeyError(f"no suite '{name_or_path}': give one of {', '.join(GENERATORS)} or a .jsonl suite file")
    return islice(items, limit) if limit is not None else items


def _anchored(item: Item, folder: Path) -> Item:
    """A file source of a suite file resolved inside the suite's folder: a shared suite names its own
    part files, never a path elsewhere on the host."""
    kind = item.source_kind()
    if kind not in ("fcstd", "step"):
        return item
    target = (folder / str(item.source[kind])).resolve()
    if folder.resolve() not in target.parents:
        raise ItemError(f"item {item.id}: {kind} source {item.source[kind]!r} is outside the suite's folder")
    return Item(**{**item.to_dict(), "source": {kind: str(target)}})


def listing() -> list[dict]:
    """Name, item count, description of each shipped suite."""
    out = []
    for name, conf in suites().items():
        shipped = shipped_file(name)
        count = sum(1 for line in shipped.open(encoding="utf-8") if line.strip()) if shipped.is_file() else conf["size"]
        out.append({"suite": name, "items": count, "seed": conf["seed"], "description": conf["description"],
                    "file": str(shipped) if shipped.is_file() else None})
    return out

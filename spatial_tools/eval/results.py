"""The results file (JSONL, one record per (suite, item, mode, model)), appended as each item ends,
so an interrupted run keeps what is done and a re-run fills only what is missing."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    suite: str
    item: str
    mode: str
    model: str
    template: str = ""
    type: str = ""
    expected: Any = None
    answer: str = ""  # the raw answer text
    parsed: Any = None
    score: float = 0.0
    correct: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    steps: int = 0
    tool_calls: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    error: str | None = None  # broken item, model error, timeout, rate limit: recorded, run goes on
    error_kind: str | None = None

    def key(self) -> tuple[str, str, str, str]:
        return (self.suite, self.item, self.mode, self.model)

    def to_dict(self) -> dict:
        return asdict(self)


def read_results(path: str | Path) -> list[Result]:
    """Records of a results file; the last record of a key wins; a torn last line is skipped."""
    out: dict[tuple, Result] = {}
    p = Path(path)
    if not p.exists():
        return []
    known = set(Result.__dataclass_fields__)
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill: its item is simply missing
        if isinstance(data, dict) and {"suite", "item", "mode", "model"} <= set(data):
            r = Result(**{k: v for k, v in data.items() if k in known})
            out[r.key()] = r
    return list(out.values())


class ResultsFile:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.done = {r.key() for r in read_results(self.path)}
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb+") as f:  # a torn last line (killed mid-write) gets its newline
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    f.write(b"\n")

    def append(self, result: Result) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(result.to_dict(), ensure_ascii=False, default=str) + "\n")
            f.flush()
        self.done.add(result.key())

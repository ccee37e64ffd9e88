"""BenchCAD CodeQA records as a suite: one item per QA pair, the record's CadQuery program as its source.

BenchCAD's layout (CodeQA/tools/download_qa_bench.py): ``records.jsonl`` lines
``{record_id, family, code_path, qa_pairs: [{question, answer, type}]}`` with the program in
``code_path`` relative to the file (or inline as ``gt_code``, as in its parquet shards). Its
type-aware rule is kept (CodeQA/scoring/qa_score.py): ``integer``/``count``/``boolean``/``bool``
exact, every other type the symmetric ratio ``min/max`` (0 when either is not positive), so a run's
mean score per suite compares with its published table (which averages per record first: equal
when records have equally many questions).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .items import Item

EXACT_TYPES = {"integer", "count", "boolean", "bool"}


class BenchCADError(ValueError):
    """A records file that is not BenchCAD CodeQA's format."""


def _code(record: dict, base: Path) -> str:
    if isinstance(record.get("gt_code"), str):
        return record["gt_code"]
    rel = record.get("code_path")
    if not isinstance(rel, str):
        raise BenchCADError(f"record {record.get('record_id')}: no gt_code and no code_path")
    path = (base / rel).resolve()
    if base.resolve() not in path.parents:
        raise BenchCADError(f"record {record.get('record_id')}: code_path {rel!r} leaves the records folder")
    return path.read_text(encoding="utf-8")


def _pairs(value) -> list[dict]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        raise BenchCADError("qa_pairs is not a list")
    return [json.loads(v) if isinstance(v, str) else v for v in value]


def convert(records_file: str | Path, suite: str = "benchcad") -> Iterator[Item]:
    """Items of a BenchCAD CodeQA records file (JSONL, or a JSON list of records)."""
    path = Path(records_file)
    text = path.read_text(encoding="utf-8")
    try:
        records = json.loads(text) if text.lstrip().startswith("[") else [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise BenchCADError(f"{path}: not JSON lines: {exc.msg}") from exc
    for record in records:
        if not isinstance(record, dict) or "record_id" not in record or "qa_pairs" not in record:
            raise BenchCADError(f"{path}: a record without record_id and qa_pairs")
        code = _code(record, path.parent)
        for k, pair in enumerate(_pairs(record["qa_pairs"])):
            kind = str(pair.get("type", "dim")).lower()
            exact = kind in EXACT_TYPES
            yield Item(id=f"{record['record_id']}-q{k}", suite=suite, source={"cadquery": code},
                       question=str(pair["question"]), answer=float(pair["answer"]),
                       type="integer" if exact and float(pair["answer"]).is_integer() else "number",
                       tolerance={} if exact else {"rule": "ratio"},
                       tags=[t for t in (record.get("family"), kind) if t], template=f"benchcad.{kind}")

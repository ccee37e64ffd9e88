"""Runs suites x modes into a results file: builds each item's part once (never for the `code` mode
alone, which sends only the source), answers it in every mode, scores it, appends the record. Every
item's failure (a broken source, a model error, a timeout, a rate limit) is recorded on its record
and the run goes on; Ctrl-C keeps what is done."""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .builder import Builder
from .items import Item
from .model_modes import MODEL_MODES, ModelConfig, eval_settings
from .reference import ReferenceFailed
from .reference import answer as reference_answer
from .results import Result, ResultsFile
from .scoring import score

MODES = ("reference", *MODEL_MODES)
REFERENCE_MODEL = "reference"
SOURCE_ONLY_MODES = ("code",)  # the model gets the item's source, never its part: nothing to build


@dataclass
class RunSummary:
    done: int = 0
    skipped: int = 0
    errors: int = 0
    interrupted: bool = False


class Progress:
    """One line on stderr, redrawn: a bar, counts and the current item."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.count, self.stream = total, 0, stream or sys.stderr
        self.started = time.monotonic()

    def step(self, label: str) -> None:
        self.count += 1
        width = 24
        filled = int(width * self.count / max(1, self.total))
        rate = self.count / max(1e-9, time.monotonic() - self.started)
        eta = (self.total - self.count) / rate if rate else 0
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.count}/{self.total} "
                          f"{label[:40]:40s} eta {eta:4.0f} s")
        self.stream.flush()

    def end(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _kind_of(message: str) -> str:
    text = message.lower()
    for kind, words in (("rate_limit", ("429", "rate limit", "rate_limit")), ("timeout", ("timed out", "timeout")),
                        ("tier_refused", ("refused",))):
        if any(w in text for w in words):
            return kind
    return "model_error"


def run_reference(item: Item, document: Any, registry: Any, result: Result) -> None:
    from ..context import ToolContext

    ctx = ToolContext(document=document, selection=[])

    def call(name: str, arguments: dict) -> dict:
        result.tool_calls.append(name)
        envelope = registry.call(name, arguments, ctx)
        if not envelope["ok"]:
            raise ReferenceFailed(f"{name}: {envelope['error']['message']}")
        return envelope["result"]

    result.answer = reference_answer(item, call)
    result.steps = len(result.tool_calls)


def run_model(mode: str, item: Item, document: Any, config: ModelConfig, result: Result) -> None:
    from .model_modes import ask

    trace = ask(mode, item, document, config)
    result.answer = trace.answer
    result.tokens_in = trace.usage.input_tokens + trace.usage.cache_read_input_tokens + trace.usage.cache_creation_input_tokens
    result.tokens_out = trace.usage.output_tokens
    result.steps = trace.model_calls
    result.tool_calls = [c.tool for c in trace.tool_calls]
    if trace.stop_reason == "error":
        result.error = trace.error or "the model could not be reached"
        result.error_kind = _kind_of(result.error)


def _finish(item: Item, result: Result, started: float) -> Result:
    result.wall_s = round(time.perf_counter() - started, 3)
    if result.error is None:
        s = score(item, result.answer)
        result.parsed, result.score, result.correct = s.parsed, s.score, s.correct
    return result


def run(items: Iterable[Item], modes: list[str], out: str | Path, *, model: ModelConfig | None = None,
        jobs: int = 1, cache_dir: str | Path | None = None, progress: bool = True,
        on_result: Callable[[Result], None] | None = None) -> RunSummary:
    """Answers every (item, mode) missing from ``out`` and appends its record there."""
    from ..documents import close_document, open_document
    from ..registry import load_builtin_tools

    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)} (modes: {', '.join(MODES)})")
    if any(m != "reference" for m in modes) and model is None:
        raise ValueError("the model modes need --backend (and --model)")
    results = ResultsFile(out)
    model_name = (model.model or model.backend) if model else ""
    todo = []
    summary = RunSummary()
    for item in items:
        missing = [m for m in modes if (item.suite, item.id, m, REFERENCE_MODEL if m == "reference" else model_name)
                   not in results.done]
        summary.skipped += len(modes) - len(missing)
        if missing:
            todo.append((item, missing))
    conf = eval_settings()["builder"]
    builder = Builder(cache_dir or Path(str(out) + ".parts"), time_s=conf["time_s"], memory_mib=conf["memory_mib"])
    registry = load_builtin_tools()
    bar = Progress(sum(len(m) for _, m in todo)) if progress and todo else None
    pool = ThreadPoolExecutor(max_workers=max(1, jobs)) if jobs > 1 else None

    def record(result: Result) -> None:
        results.append(result)
        summary.done += 1
        summary.errors += result.error is not None
        if on_result is not None:
            on_result(result)
        if bar is not None:
            bar.step(f"{result.suite}/{result.item} {result.mode}")

    def one(mode: str, item: Item, document: Any) -> Result:
        who = REFERENCE_MODEL if mode == "reference" else model_name
        result = Result(suite=item.suite, item=item.id, mode=mode, model=who, template=item.template,
                        type=item.type, expected=item.answer)
        started = time.perf_counter()
        try:
            if mode == "reference":
                run_reference(item, document, registry, result)
            else:
                run_model(mode, item, document, model, result)
        except ReferenceFailed as exc:
            result.error, result.error_kind = str(exc), "reference_failed"
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # recorded on the item; the run goes on
            result.error = f"{type(exc).__name__}: {exc}"
            result.error_kind = _kind_of(result.error)
        return _finish(item, result, started)

    in_flight: deque = deque()  # (document, futures) of items whose model modes run on the pool

    def drain(keep: int) -> None:
        """Records finished items, oldest first, until at most ``keep`` are in flight."""
        while len(in_flight) > keep:
            document, futures = in_flight.popleft()
            try:
                for future in futures:
                    record(future.result())
            finally:
                if document is not None:
                    close_document(document)

    try:
        for item, missing in todo:
            document = None
            if any(m not in SOURCE_ONLY_MODES for m in missing):
                try:
                    document = open_document(builder.build(item.source))
                except Exception as exc:  # a broken item (BuildError or an unreadable file): the modes that
                    for mode in missing:  # need the part record why; `code` gets only the source anyway
                        if mode in SOURCE_ONLY_MODES:
                            continue
                        who = REFERENCE_MODEL if mode == "reference" else model_name
                        record(Result(suite=item.suite, item=item.id, mode=mode, model=who, template=item.template,
                                      type=item.type, expected=item.answer, error=f"broken item: {exc}",
                                      error_kind="broken_item"))
                    missing = [m for m in missing if m in SOURCE_ONLY_MODES]
                    if not missing:
                        continue
            if pool is None:
                try:
                    for mode in missing:
                        record(one(mode, item, document))
                finally:
                    if document is not None:
                        close_document(document)
                continue
            # The reference answers here, on this thread; the model modes of up to `jobs` items wait on the
            # model at once (documents are opened and closed only on this thread).
            done_here = [one(m, item, document) for m in missing if m == "reference"]
            futures = [pool.submit(one, m, item, document) for m in missing if m != "reference"]
            for result in done_here:
                record(result)
            in_flight.append((document, futures))
            drain(jobs - 1)
        drain(0)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for document, _ in in_flight:
            if document is not None:
                close_document(document)
        builder.close()
        if bar is not None:
            bar.end()
    return summary

"""Checks many files in worker processes, each file under a time limit.

Every file runs in a worker process, never in the caller: a file that hangs
the kernel is killed after ``timeout`` seconds and reported as "timed out",
one that crashes it (OpenCASCADE can segfault) as "the checker process died",
and the batch goes on with a fresh worker. Workers are reused between files
so FreeCAD is imported once per worker, not once per file.

On Linux the workers are forked from the batch process once it has loaded
FreeCAD and the rules: a worker starts in milliseconds instead of ~0.4 s, the
cost that kept ``--jobs 2`` on small parts well under 2× (the batch process
loads the rules for the report anyway). Elsewhere, or with ``worker_start =
"spawn"`` in resources/check_batch.toml, each worker is a fresh interpreter.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, TypeVar

from ..dfm.finding import Finding
from .output import display_name, is_utf8, printable
from .progress import Progress, wanted

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class CheckOptions:
    """What to check each file for; plain data so it crosses to worker processes."""

    process: str
    profile: str | None = None  # path of a user profile file
    material: str | None = None
    pull_direction: tuple[float, float, float] | None = None
    build_direction: tuple[float, float, float] | None = None
    render: bool = False  # also draw each part (for the HTML report)
    timeout: float = DEFAULT_TIMEOUT
    annotate: str | None = None  # write each checked document with its findings as objects (FCStd)
    annotate_dir: bool = False  # ``annotate`` is a folder: one <stem>.FCStd per input file
    memory_mb: int = 0  # address space each worker may use (RLIMIT_AS), 0: no limit
    pmi: bool = True  # import a STEP AP242 file's GD&T first (gdt.pmi_import.import_pmi_for_check)


@cache
def _limits() -> dict:
    import tomllib

    from freecad_spatial import RESOURCES

    return tomllib.loads((RESOURCES / "check_batch.toml").read_text(encoding="utf-8"))


def default_memory_mb() -> int:
    """The worker memory limit of resources/check_batch.toml (MiB; 0: none)."""
    return int(_limits()["memory_limit_mb"])


def start_timeout() -> float:
    """Seconds a worker may take to start (resources/check_batch.toml), apart from each file's --timeout."""
    return float(_limits()["start_timeout_s"])


START_ENV = "FREECAD_SPATIAL_WORKER_START"  # "fork" | "spawn": overrides worker_start (benchmarks, debugging)


def start_method() -> str:
    """How workers start: "fork" (Linux, from the loaded batch process) or "spawn" (a fresh interpreter each)."""
    wanted = os.environ.get(START_ENV) or str(_limits().get("worker_start", "fork"))
    if wanted not in ("fork", "spawn"):
        raise ValueError(f"{START_ENV} / worker_start in resources/check_batch.toml must be \"fork\" or \"spawn\", not {wanted!r}")
    if wanted == "fork" and sys.platform.startswith("linux") and hasattr(os, "fork"):
        return "fork"
    return "spawn"


def _limit_memory(megabytes: int) -> None:
    """Caps this process's address space: past it allocations fail (MemoryError) instead of swapping the machine."""
    if megabytes <= 0:
        return
    import resource

    limit = megabytes * 1024 * 1024
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def annotated_path(path: str, options: CheckOptions) -> str | None:
    """Where ``--annotate`` writes the checked document of ``path`` (None when not asked)."""
    if not options.annotate:
        return None
    if options.annotate_dir:
        return os.path.join(options.annotate, Path(path).stem + ".FCStd")
    return options.annotate


@dataclass
class FileResult:
    """The outcome for one input file (one entry of report@1's ``files``)."""

    path: str
    status: str  # "ok" | "error"
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    not_checked: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)
    not_implemented: list[str] = field(default_factory=list)
    seconds: float = 0.0
    svg: str | None = None  # the part drawn with numbered markers (HTML report only)
    annotated: str | None = None  # the FCStd written by --annotate
    numbers: list[int] | None = None  # each finding's number where the document numbers them; None: 1, 2, ...
    attachments: list[str] | None = None  # each finding's attachment where a document holds them (rematched: check it)
    transient: bool = False  # timed out or its process died: says nothing about the file, never stored (--results)

    def finding_numbers(self) -> list[int]:
        """The number every report shows for each finding: the document's, else its place in the list."""
        if self.numbers is not None and len(self.numbers) == len(self.findings):
            return list(self.numbers)
        return list(range(1, len(self.findings) + 1))

    @property
    def name(self) -> str:
        """The path as every report shows it: valid UTF-8, undecodable bytes escaped (output.display_name)."""
        return display_name(self.path)

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"path": self.name, "status": self.status}
        if self.error is not None:
            data["error"] = printable(self.error)
        data["findings"] = [f.to_dict() for f in self.findings]
        if self.numbers is not None:
            for entry, number in zip(data["findings"], self.finding_numbers(), strict=True):
                entry["number"] = number
        if self.attachments is not None and len(self.attachments) == len(self.findings):
            for entry, attachment in zip(data["findings"], self.attachments, strict=True):
                entry["attachment"] = attachment
        data["checked"] = list(self.checked)
        data["not_checked"] = [_printable_reason(n) for n in self.not_checked]
        data["skipped"] = [_printable_reason(s) for s in self.skipped]
        data["seconds"] = round(self.seconds, 3)
        if self.annotated is not None:
            data["annotated"] = display_name(self.annotated)
        return data

    @classmethod
    def failed(cls, path: str, reason: str, seconds: float = 0.0, transient: bool = False) -> FileResult:
        return cls(path=path, status="error", error=printable(reason), seconds=seconds, transient=transient)


def _printable_reason(entry: dict) -> dict:
    return {**entry, "reason": printable(entry["reason"])} if isinstance(entry.get("reason"), str) else dict(entry)


def _printable_tree(value: Any) -> Any:
    """``value`` with every string in it made printable (dicts, lists and tuples walked)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_printable_tree(k): _printable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_printable_tree(v) for v in value)
    return value


@contextmanager
def _openable(path: str) -> Iterator[str]:
    """A name FreeCAD can open ``path`` by: the path itself, or a UTF-8 symlink to it when it is not UTF-8.

    FreeCAD passes file names to C++ as UTF-8, so a name with bytes that are
    not UTF-8 cannot be opened as it is. The link's name is the escaped name
    without backslashes (FreeCAD reads those as folder separators).
    """
    if is_utf8(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="freecad-spatial-name-") as folder:
        alias = os.path.join(folder, display_name(os.path.basename(path)).replace("\\", "_") or "input")
        try:
            os.symlink(os.path.abspath(path), alias)
        except OSError:  # no symlinks here: FreeCAD gets the name as it is and its error is the file's entry
            alias = path
        yield alias


def _save_as(document: Any, out: str) -> None:
    """document.saveAs(out), also when ``out`` is not UTF-8 (saved under a UTF-8 name, then moved)."""
    if is_utf8(out):
        document.saveAs(out)
        return
    with tempfile.TemporaryDirectory(prefix="freecad-spatial-save-") as folder:
        temp = os.path.join(folder, "annotated.FCStd")
        document.saveAs(temp)
        shutil.move(temp, out)


def check_file(path: str, options: CheckOptions) -> FileResult:
    """Opens and checks one file in this process; every failure becomes a reason."""
    from ..dfm.engine import check_document
    from ..documents import close_document, open_document
    from ..errors import ToolError
    from ..gdt.pmi_import import import_pmi_for_check, start_reader_for_check, stop_reader
    from ..gdt.validation import gdt_findings

    started = time.monotonic()
    document = None
    reader = None
    opened = path
    names = ExitStack()  # closed last: the document is closed before its alias goes
    try:
        opened = names.enter_context(_openable(path))
        if options.pmi:  # the PMI reader reads the file in its own process while FreeCAD opens it here
            reader = start_reader_for_check(opened)
        if options.annotate:
            from ..annotations.store import import_proxies

            import_proxies()  # so findings already in an FCStd come back with their proxies
        document = open_document(opened)
        pmi_notes = import_pmi_for_check(document, opened, options.timeout, reader=reader) if options.pmi else []
        reader = None  # import_pmi_for_check ended it
        result = check_document(
            document,
            options.process,
            profile=options.profile,
            material=options.material,
            pull_direction=options.pull_direction,
            build_direction=options.build_direction,
        )
        outcome = FileResult(
            path=path,
            status="ok",
            findings=result.findings + gdt_findings(document),  # [] without GD&T annotations
            checked=result.checked,
            not_checked=result.not_checked,
            skipped=result.skipped + pmi_notes,
            rules_run=result.rules_run,
            not_implemented=result.not_implemented,
        )
        if result.not_checked:
            outcome.status = "error"
            outcome.error = "; ".join(n["reason"] for n in result.not_checked)
        elif not result.checked:
            outcome.status = "error"
            outcome.error = "the file holds no solid part to check"
        if (out := annotated_path(path, options)) is not None:
            from ..annotations.store import add_findings

            add_findings(document, outcome.findings, process=options.process, checked=result.checked)
            _save_as(document, os.path.abspath(out))
            outcome.annotated = os.path.abspath(out)
        if options.render:
            from .render_svg import render_document

            try:
                outcome.svg = render_document(document, result.checked + [n["object"] for n in result.not_checked], outcome.findings)
            except Exception as exc:  # a picture that cannot be drawn must not hide the findings
                outcome.svg = None
                outcome.skipped.append({"rule": None, "object": None, "reason": f"picture not drawn: {exc}"})
    except ToolError as exc:
        reason = exc.message
        for prefix in (f"{opened}: ", f"{Path(opened)}: "):
            reason = reason.removeprefix(prefix)
        outcome = FileResult.failed(path, _unalias(reason, opened, path))
    except Exception as exc:  # an unexpected failure on one file must not stop the batch
        reason = f"internal error: {traceback.format_exception_only(exc)[-1].strip()}"
        outcome = FileResult.failed(path, _unalias(reason, opened, path))
    finally:
        stop_reader(reader)  # the file could not be opened: its PMI is not wanted
        if document is not None:
            close_document(document)
        try:
            names.close()
        except OSError:  # a temporary link left behind is no reason to lose the result
            pass
    outcome.error = printable(outcome.error)
    outcome.seconds = time.monotonic() - started
    return outcome


def _unalias(reason: str, opened: str, path: str) -> str:
    """A reason that quotes the UTF-8 alias of a file quotes the file's own (escaped) name instead."""
    return reason if opened == path else reason.replace(opened, display_name(path))


Checker = Callable[[str, CheckOptions], FileResult]


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when the batch process ``parent`` dies (even by SIGKILL); elsewhere a no-op.

    Whether the parent died before prctl took effect is asked by its pid, not by
    "reparented to 1": in a container the batch process itself is often pid 1.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def warm_up() -> None:
    """Imports every rule (and numpy, MeshPart with them) before the worker says "ready".

    Otherwise the first file each worker checks pays ~0.3 s of imports and the
    per-file clocks lie about what a file costs.
    """
    from ..dfm.engine import check_document  # noqa: F401
    from ..dfm.rules import load_rules

    load_rules()


def file_size(path: str) -> int:
    """The file's size in bytes (0 when it cannot be read): the guess of its checking time that orders the work."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _largest_first(paths: list[str]) -> deque[tuple[int, str]]:
    """(index, path) in the order files are handed out: largest first.

    The size of a CAD file is a fair guess of its checking time, and handing
    out the long ones first keeps N workers from waiting on one big file at the
    end (longest-processing-time-first). Results still come back in input order.
    """
    return deque(sorted(enumerate(paths), key=lambda item: (-file_size(item[1]), item[0])))


def _worker(conn: Any, options: CheckOptions, log_path: str, checker: Checker, parent: int, parked: bool | None = None) -> None:
    """Worker loop: says "ready", then receives (index, path) and sends (index, FileResult).

    ``parked`` is None in a spawned worker; in a forked one, whether OpenCASCADE's
    thread pool was parked for the fork (tool_process._KernelThreads).
    """
    # Ctrl-C reaches the whole process group: the batch process decides, and ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the CLI's "SIGTERM ends the batch"
    if parked is not None:
        from ..tool_process import kernel_threads

        kernel_threads().in_child(parked)
    _die_with_parent(parent)
    # The kernel prints to stdout/stderr; keep it out of the report and the user's terminal.
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    from .. import freecad_env

    freecad_env.load()
    warm_up()
    _limit_memory(options.memory_mb)  # after FreeCAD's own start: the limit is for the files
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            task = None
        if task is None:  # done: skip the interpreter's and OpenCASCADE's teardown, nothing is left to save
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        index, path = task
        try:
            result = checker(path, options)
        except MemoryError:  # the worker's state is unknown now: report the file and end, a fresh worker follows
            try:
                reason = f"ran out of memory (the limit is {options.memory_mb} MB)"
                conn.send((index, FileResult.failed(path, reason, transient=True), "ending"))
            finally:
                os._exit(3)
        except Exception as exc:  # a checker that raises fails its file, not the worker
            result = FileResult.failed(path, f"internal error: {traceback.format_exception_only(exc)[-1].strip()}")
        try:
            conn.send((index, result))
        except (OSError, EOFError):
            return
        except Exception as exc:  # a result that cannot be pickled: still one entry for the file
            conn.send((index, FileResult.failed(path, f"internal error: the result could not be sent back ({exc})")))


class _Slot:
    """One worker process and the file it is working on."""

    def __init__(self, context: Any, options: CheckOptions, checker: Checker, tmpdir: str, number: int):
        self.log_path = os.path.join(tmpdir, f"worker{number}.log")
        parent, child = context.Pipe()
        self.conn = parent
        self.born = time.monotonic()
        if context.get_start_method() == "fork":
            self.process = _forked(context, child, options, self.log_path, checker)
        else:
            self.process = context.Process(target=_worker, args=(child, options, self.log_path, checker, os.getpid()), daemon=True)
            self.process.start()
        child.close()
        self.ready = False
        self.task: tuple[int, str] | None = None
        self.started = 0.0

    def give(self, task: tuple[int, str]) -> None:
        self.task = task
        self.started = time.monotonic()
        self.conn.send(task)

    def deadline(self, timeout: float) -> float:
        return self.started + timeout if self.ready else self.born + start_timeout()

    def last_words(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                lines = [ln.strip() for ln in fh.read().splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    def ask_to_stop(self, kill: bool = False) -> None:
        """Tells the worker to end (or kills it) without waiting: ending many workers takes one wait, not N."""
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass

    def stop(self, kill: bool = False) -> None:
        self.ask_to_stop(kill)
        self.reap()

    def reap(self) -> None:
        """Waits for the worker asked to end (killing it after 10 s) and closes its pipe."""
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class WorkerStartError(RuntimeError):
    """A worker process could not start (FreeCAD missing, broken install)."""


def _forked(context: Any, child: Any, options: CheckOptions, log_path: str, checker: Checker) -> Any:
    """A started worker forked from this process, OpenCASCADE's thread pool parked around the fork."""
    from ..tool_process import fork_prepared

    with fork_prepared() as parked:  # the child never returns from start(): multiprocessing ends it
        process = context.Process(target=_worker, args=(child, options, log_path, checker, os.getpid(), parked), daemon=True)
        process.start()
    return process


def _preload() -> None:
    """Loads FreeCAD and every rule here, once, so forked workers start with them (WorkerStartError if it cannot)."""
    from .. import freecad_env

    try:
        freecad_env.load()
        warm_up()
    except Exception as exc:
        raise WorkerStartError(f"the checker could not start: {traceback.format_exception_only(exc)[-1].strip()}") from None


def run_batch(
    paths: list[str],
    options: CheckOptions,
    jobs: int = 1,
    progress: bool | Progress | None = None,
    checker: Checker = check_file,
    on_result: Callable[[int, FileResult], None] | None = None,
) -> list[FileResult]:
    """Checks ``paths`` with ``jobs`` worker processes; results come back in input order.

    ``checker`` runs in the workers (a module-level function); the clock of each
    file starts when a ready worker receives it, so start-up time never counts.
    ``on_result(index, result)`` is called as each file finishes (--results
    stores it then). Every worker is ended before this returns or raises
    (KeyboardInterrupt included), and so is the helper process multiprocessing
    starts beside them. Raises WorkerStartError when no worker can start at all.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    if not isinstance(progress, Progress):
        progress = Progress(len(paths), wanted() if progress is None else bool(progress))
    method = start_method()
    context = multiprocessing.get_context(method)
    tracker_was_running = _tracker_running()
    try:
        if method == "fork" and paths:
            _preload()  # inside the try: the progress line is closed if FreeCAD cannot load
        return _run_slots(paths, options, jobs, progress, checker, on_result, context)
    finally:
        progress.close()
        if not tracker_was_running:
            _stop_tracker()


def _tracker_running() -> bool:
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None) is not None


def _stop_tracker() -> None:
    """Ends the resource tracker the spawn context started for the workers, so nothing outlives the batch."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        try:
            stop()
        except Exception:  # an already-gone tracker: nothing to end
            pass


def _run_slots(
    paths: list[str],
    options: CheckOptions,
    jobs: int,
    progress: Progress,
    checker: Checker,
    on_result: Callable[[int, FileResult], None] | None,
    context: Any,
) -> list[FileResult]:
    results: list[FileResult | None] = [None] * len(paths)
    queue = _largest_first(paths)
    done = 0
    with tempfile.TemporaryDirectory(prefix="freecad-spatial-check-") as tmpdir:
        counter = 0

        def new_slot() -> _Slot:
            nonlocal counter
            counter += 1
            return _Slot(context, options, checker, tmpdir, counter)

        slots: list[_Slot] = []

        def finish(slot: _Slot, result: FileResult) -> None:
            nonlocal done
            assert slot.task is not None
            results[slot.task[0]] = result
            index = slot.task[0]
            slot.task = None
            done += 1
            progress.update(result.name)
            if on_result is not None:
                on_result(index, result)

        def replace(i: int, reason: str | None) -> None:
            """Ends slot i's worker (failing its file with ``reason``) and starts another if needed."""
            slot = slots[i]
            if slot.task is not None and reason is not None:
                finish(slot, FileResult.failed(slot.task[1], reason, time.monotonic() - slot.started, transient=True))
            slot.stop(kill=True)
            slots[i] = new_slot() if queue else slot

        try:
            for _ in range(min(jobs, len(paths))):  # inside the try: a Ctrl-C between two starts ends the first
                slots.append(new_slot())
            while done < len(paths):
                for slot in slots:
                    if slot.ready and slot.task is None and queue and slot.process.is_alive():
                        slot.give(queue.popleft())
                # Waited on, dead or alive: a worker that died starting or with a file is reported below (its
                # sentinel is ready), never dropped here, which said only "no checker process is running".
                live = [s for s in slots if s.task is not None or not s.ready]
                if not live:
                    raise WorkerStartError("no checker process is running")
                wait_for = max(0.0, min(s.deadline(options.timeout) for s in live) - time.monotonic())
                ready = wait([s.conn for s in live] + [s.process.sentinel for s in live], timeout=wait_for)
                for i, slot in enumerate(list(slots)):
                    if slot not in live:
                        continue
                    message = None
                    if slot.conn in ready:
                        try:
                            message = slot.conn.recv()
                        except (EOFError, OSError):
                            message = None
                    if message == "ready":
                        slot.ready = True
                        continue
                    if message is not None:
                        finish(slot, message[1])
                        if len(message) > 2:  # the worker ends after this file (it ran out of memory)
                            replace(i, None)
                        continue
                    if slot.process.sentinel in ready or not slot.process.is_alive():
                        slot.process.join(timeout=5)
                        words = slot.last_words()
                        if not slot.ready:
                            raise WorkerStartError(
                                f"the checker process could not start (exit status {slot.process.exitcode})"
                                + (f": {words}" if words else "")
                            )
                        reason = f"the checker process died (exit status {slot.process.exitcode})"
                        replace(i, reason + (f": {words}" if words else ""))
                    elif time.monotonic() >= slot.deadline(options.timeout):
                        if not slot.ready:
                            raise WorkerStartError(f"the checker process did not start within {start_timeout():g} s")
                        replace(i, f"timed out after {options.timeout:g} s")
        finally:
            ending = [s for s in slots if s.process.is_alive()]
            for slot in ending:
                slot.ask_to_stop(kill=slot.task is not None or not slot.ready)
            for slot in ending:
                slot.reap()
    return [r if r is not None else FileResult.failed(p, "internal error: no result came back") for p, r in zip(paths, results, strict=True)]


EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2

T = TypeVar("T")


@dataclass
class Report:
    """A finished batch: what every report format renders."""

    process: str
    profile: dict  # Profile.to_dict()
    fail_on: str  # "error" | "warning"
    files: list[FileResult]
    rules_run: list[str] = field(default_factory=list)
    not_implemented: list[str] = field(default_factory=list)
    rule_levels: dict[str, str] = field(default_factory=dict)  # rule id -> its default severity

    def __post_init__(self) -> None:
        self.profile = _printable_tree(self.profile)  # its sources are paths: a --profile name may not be UTF-8

    def entries(self, build: Callable[[int, FileResult], T]) -> list[T]:
        """``build(i, file)`` for each file, in order; a file whose entry cannot be built gets an error entry.

        The failing file is replaced in ``files`` by that error, so the summary,
        the exit status and every format agree, and one file never costs the
        report of the others.
        """
        built = []
        for i, file in enumerate(self.files):
            try:
                built.append(build(i, file))
            except Exception as exc:
                reason = f"its report entry could not be written: {traceback.format_exception_only(exc)[-1].strip()}"
                self.files[i] = FileResult.failed(file.path, reason, seconds=0.0)
                built.append(build(i, self.files[i]))
        return built

    def failing(self, finding: Finding) -> bool:
        return finding.severity.at_least(self.fail_on)

    def counts(self) -> dict:
        counts = {"files": len(self.files), "files_ok": 0, "files_error": 0, "error": 0, "warning": 0, "info": 0}
        for result in self.files:
            counts["files_ok" if result.status == "ok" else "files_error"] += 1
            for finding in result.findings:
                counts[finding.severity.value] += 1
        return counts

    def exit_status(self) -> int:
        """tools.md: 2 when a file could not be checked, 1 when a finding reaches fail-on, else 0."""
        if any(r.status != "ok" for r in self.files):
            return EXIT_UNUSABLE
        if any(self.failing(f) for r in self.files for f in r.findings):
            return EXIT_FINDINGS
        return EXIT_OK

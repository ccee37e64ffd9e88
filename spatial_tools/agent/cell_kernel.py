"""Host side of code cells: one sandboxed worker process per conversation.

``CellKernel(call_tool, selection).run(code)`` checks the cell here first (a
refusal costs no process), then runs it in the conversation's worker
(cell_worker.py) and returns a JSON-able result::

    {"ok", "stdout", "value", "error": {"kind", "message", "line"} | None,
     "submitted": {"answer", "findings"} | None, "tool_calls": [{"name", "args", "ok", "ms"}],
     "namespace_reset", "elapsed_s"}

The host enforces the wall-clock budget: past it the worker is killed and the
next cell starts a fresh one. Tool calls from the cell are answered here by
``call_tool(name, args) -> envelope`` (in the GUI it runs on the main thread
against the live document). ``submit()`` reaches the host the moment it is
called, so nothing the cell does afterwards can take the answer back.

If no worker can be started with its limits in place, cells are not run at
all: there is no in-process fallback. Cells run only on Linux, inside the
worker's isolation layers (cell_worker.py); elsewhere, or where a required
layer is missing, every cell gets a plain "not available here" error and the
rest of the addon works as usual. ``CellKernel.isolation`` is the worker's
report of the layers in force.

Nothing the worker sends can make the host raise: every frame is checked for
size, nesting depth, encoding, types and operation before it is used, and a
worker that breaks the protocol is killed.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freecad_spatial import ROOT

from ..context import ToolArguments
from .cell_worker import (
    HEADER,
    OPTIONAL_LAYERS,
    REQUIRED_LAYERS,
    TEST_MISSABLE,
    TEST_SKIPPABLE,
    encode_frame,
)
from .code_cell import CONFIG_FILE, CellConfig, CellRefused, compile_cell, load_config

CallTool = Callable[[str, dict], dict]

# Error kinds: the worker reports the first five, the host adds the rest.
WORKER_KINDS = frozenset({"policy", "syntax", "runtime", "memory", "output"})
HOST_KINDS = frozenset({"timeout", "interrupted", "worker"})
_TOOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
RESET_NOTE = "The kernel was restarted, so every variable from earlier cells is gone."
ELSEWHERE_NOTE = "Everything else in FreeCAD Spatial works as usual; only code cells are off."
# Frames from the worker nest at most this deep (cell data is cut at 32 levels, envelopes add a few).
MAX_FRAME_DEPTH = 48
# The test hook is on only when the test harness sets this AND IsolationConfig.test_hook is true.
TEST_HOOK_ENV = "FREECAD_SPATIAL_CELL_TEST_HOOK"

# Runs in the worker's fresh interpreter: registers this package from its folder
# (however the host found it) and hands over to cell_worker.main().
BOOTSTRAP = """\
import importlib.util, json, os, resource, sys
root, extra, stack = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
stack = stack if hard == resource.RLIM_INFINITY else min(stack, hard)
if soft == resource.RLIM_INFINITY or soft > stack:
    # The main thread's stack size is fixed when the interpreter starts: lower it, then start anew.
    resource.setrlimit(resource.RLIMIT_STACK, (stack, hard))
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
sys.path.extend(p for p in extra if p not in sys.path)
spec = importlib.util.spec_from_file_location(
    "freecad_spatial", os.path.join(root, "__init__.py"), submodule_search_locations=[root])
package = importlib.util.module_from_spec(spec)
sys.modules["freecad_spatial"] = package
spec.loader.exec_module(package)
try:
    from freecad_spatial.spatial_tools.agent import cell_worker
except ImportError as exc:  # e.g. RestrictedPython missing for this interpreter: say so, in a frame
    text = f"{exc} (worker interpreter: {sys.executable})"
    data = json.dumps({"op": "failed", "message": text}).encode()
    os.write(1, len(data).to_bytes(4, "big") + data)
    sys.exit(2)
sys.exit(cell_worker.main())
"""


class WorkerUnavailable(RuntimeError):
    """No sandboxed worker could be started: cells are refused, never run unsandboxed."""


class _Deadline(Exception):
    pass


@dataclass(frozen=True)
class IsolationConfig:
    """[isolation] of code_cell.toml: layers demanded on top of the fixed ones, and the test hook.

    ``require`` adds optional layers (network_namespace, landlock, landlock_network,
    unprivileged) without which cells must not run. The test hook (raw Python in the
    worker, layers left out or pretended absent) works only when ``test_hook`` is set
    here AND the test harness sets FREECAD_SPATIAL_CELL_TEST_HOOK=1 in the host's
    environment: neither a cell nor the model can reach either. The ``test_*``
    fields can only be given in code, never in the file.
    """

    require: frozenset[str] = frozenset()
    test_hook: bool = False
    test_skip: frozenset[str] = frozenset()
    test_missing: frozenset[str] = frozenset()
    test_imports: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        known = set(REQUIRED_LAYERS) | set(OPTIONAL_LAYERS)
        if not set(self.require) <= known:
            raise ValueError(f"code_cell config [isolation] require: unknown layers {sorted(set(self.require) - known)}")
        if not set(self.test_skip) <= TEST_SKIPPABLE or not set(self.test_missing) <= TEST_MISSABLE:
            raise ValueError("unknown layers in test_skip / test_missing")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IsolationConfig:
        unknown = set(data) - {"require", "test_hook"}
        if unknown:
            raise ValueError(f"code_cell config [isolation]: unknown keys {sorted(unknown)}")
        require = data.get("require", [])
        if not isinstance(require, list) or not all(isinstance(r, str) for r in require):
            raise ValueError("code_cell config [isolation] require must be a list of layer names")
        test_hook = data.get("test_hook", False)
        if not isinstance(test_hook, bool):
            raise ValueError("code_cell config [isolation] test_hook must be true or false")
        return cls(require=frozenset(require), test_hook=test_hook)

    def hook_enabled(self) -> bool:
        """Whether the test hook is on: the config flag and the harness's environment variable, both."""
        return self.test_hook and os.environ.get(TEST_HOOK_ENV) == "1"


def load_isolation(path: Path | None = None) -> IsolationConfig:
    """The [isolation] section of code_cell.toml (defaults when it has none)."""
    with open(path or CONFIG_FILE, "rb") as fh:
        section = tomllib.load(fh).get("isolation", {})
    if not isinstance(section, dict):
        raise ValueError("code_cell config [isolation] must be a table")
    return IsolationConfig.from_dict(section)


def cells_unavailable_reason() -> str | None:
    """Why code cells cannot run on this system at all, in words for the user; None on Linux.

    Imports nothing platform-specific, so the addon can ask on Windows and macOS too.
    """
    if sys.platform == "linux":
        return None
    name = {"win32": "Windows", "darwin": "macOS"}.get(sys.platform, sys.platform)
    return (f"Code cells are not available on {name}: a cell runs only inside Linux's isolation layers "
            f"(seccomp, Landlock, namespaces), which this system does not have. {ELSEWHERE_NOTE}")


def isolation_gaps(report: Any, required: Iterable[str], skipped: Iterable[str] = ()) -> dict[str, str]:
    """Required layers that the worker's report does not show in force (a malformed report shows none)."""
    layers = report.get("layers") if isinstance(report, dict) else None
    unavailable = report.get("unavailable") if isinstance(report, dict) else None
    layers = layers if isinstance(layers, dict) else {}
    unavailable = unavailable if isinstance(unavailable, dict) else {}
    gaps = {}
    for name in sorted(set(required) - set(skipped)):
        if not isinstance(layers.get(name), str):
            reason = unavailable.get(name)
            gaps[name] = reason[:300] if isinstance(reason, str) else "not reported by the worker"
    return gaps


def _gaps_text(gaps: dict[str, str]) -> str:
    missing = "; ".join(f"{name} — {reason}" for name, reason in gaps.items())
    return (f"Code cells are not available here: a cell runs only inside all of its isolation layers, and this "
            f"system lacks {', '.join(gaps)} ({missing}). {ELSEWHERE_NOTE}")


def isolation_summary(report: Any) -> str | None:
    """One line for traces: what keeps cells off the network and the file system, and what is missing."""
    if not isinstance(report, dict):
        return None
    parts = []
    for concern in ("network", "filesystem"):
        names = report.get(concern)
        if isinstance(names, list):
            parts.append(f"{concern}: {' + '.join(str(n) for n in names) or 'none'}")
    unavailable = report.get("unavailable")
    if isinstance(unavailable, dict) and unavailable:
        parts.append(f"unavailable: {', '.join(str(n) for n in unavailable)}")
    skipped = report.get("skipped")
    if isinstance(skipped, list) and skipped:
        parts.append(f"left out by the test hook: {', '.join(str(n) for n in skipped)}")
    return "; ".join(parts)


class _Protocol(Exception):
    pass


class _Gone(Exception):
    pass


def worker_python(config: CellConfig) -> str:
    """The interpreter for workers: configured, this one, or pythonX.Y beside/after it (FreeCAD's GUI
    executable is not a Python)."""
    if config.python:
        if not os.access(config.python, os.X_OK):
            raise WorkerUnavailable(f"[worker] python = {config.python!r} is not an executable")
        return config.python
    executable = sys.executable or ""
    if os.path.basename(executable).lower().startswith("python") and os.access(executable, os.X_OK):
        return executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    folder = os.path.dirname(executable)
    for candidate in (os.path.join(folder, version), os.path.join(folder, "python3"),
                      shutil.which(version), shutil.which("python3")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise WorkerUnavailable("no Python interpreter found for code cells; set [worker] python in code_cell.toml")


def _worker_env(workdir: str) -> dict[str, str]:
    """A clean environment: nothing of the host's (API keys, tokens, proxies) reaches the worker."""
    return {
        "PATH": os.defpath,
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _valid_text(value: Any) -> Any:
    """Strings as valid Unicode (a cell can print lone surrogates; the GUI and the model need text)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_valid_text(k): _valid_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_text(v) for v in value]
    return value


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_within(data: bytes, limit: int) -> bool:
    """Whether JSON text nests at most ``limit`` levels deep, found without recursion.

    Strings are dropped, then each pass removes the innermost bracket pairs (C-speed
    regex work), so a frame nested a million deep is refused before the parser,
    which recurses, ever sees it.
    """
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return True
        brackets = _INNERMOST.sub(b"", brackets)
    return not brackets


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_frame(data: bytes, limit: int = MAX_FRAME_DEPTH) -> dict:
    """One worker frame as a dict; _Protocol for anything else (never another exception)."""
    if not nesting_within(data, limit):
        raise _Protocol(f"the worker sent a message nested more than {limit} levels deep")
    try:
        message = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError, MemoryError, TypeError) as exc:
        raise _Protocol(f"the worker sent a message that is not JSON ({type(exc).__name__})") from None
    if not isinstance(message, dict):
        raise _Protocol("the worker sent a message that is not an object")
    return message


def _short(value: Any, limit: int = 60) -> str:
    """A worker-given value for an error message: short, printable."""
    text = value if isinstance(value, str) else type(value).__name__
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def _wait(fd: int, event: int, deadline: float) -> bool:
    """Whether ``fd`` became ready (or hung up) before the deadline; poll, so any fd number works."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(math.ceil(remaining * 1000)))


class _Process:
    """One worker: its pipes, a frame buffer, and a kill that also clears its folder."""

    def __init__(self, popen: subprocess.Popen, workdir: str, max_bytes: int):
        self.popen = popen
        self.workdir = workdir
        self.max_bytes = max_bytes
        self.read_fd = popen.stdout.fileno()
        self.write_fd = popen.stdin.fileno()
        os.set_blocking(self.write_fd, False)
        self.buffer = bytearray()
        self.info: dict = {}

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def pending(self) -> bool:
        """Whether the worker sent something nobody asked for (between cells it must be silent)."""
        if self.buffer:
            return True
        poller = select.poll()
        poller.register(self.read_fd, select.POLLIN)
        return bool(poller.poll(0))

    def _take(self) -> dict | None:
        if len(self.buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self.buffer)
        if size > self.max_bytes:
            raise _Protocol(f"the worker sent a message of {size} bytes (limit {self.max_bytes})")
        if len(self.buffer) < HEADER.size + size:
            return None
        data = bytes(self.buffer[HEADER.size:HEADER.size + size])
        del self.buffer[:HEADER.size + size]
        return parse_frame(data)

    def receive(self, deadline: float) -> dict | None:
        """The next message, None when the worker has exited; _Deadline past the deadline."""
        while True:
            message = self._take()
            if message is not None:
                return message
            if not _wait(self.read_fd, select.POLLIN, deadline):
                raise _Deadline()
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except OSError:
                return None
            if not chunk:
                return None
            self.buffer += chunk

    def send(self, message: dict, deadline: float) -> None:
        try:
            data = encode_frame(message)
        except (TypeError, ValueError):
            data = encode_frame(_json_safe(message))
        view = memoryview(data)
        while view:
            if not _wait(self.write_fd, select.POLLOUT, deadline):
                raise _Deadline()
            try:
                view = view[os.write(self.write_fd, view):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise _Gone() from None

    def signal_kill(self) -> None:
        """SIGKILL to the worker's process group; safe from any thread (no reaping here)."""
        if self.popen.returncode is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> int | None:
        """Kills, reaps, closes the pipes and removes the folder; returns the exit status."""
        if self.popen.poll() is None:
            self.signal_kill()
        try:
            code = self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        for pipe in (self.popen.stdin, self.popen.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code


class _State:
    """What the finalizer needs, kept apart from the kernel so the kernel can be collected."""

    def __init__(self) -> None:
        self.process: _Process | None = None

    def shutdown(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.stop()


def _registry_names() -> list[str]:
    from ..registry import REGISTRY

    return REGISTRY.names()


class CellKernel:
    """A persistent, sandboxed Python namespace for one conversation.

    ``run`` may be called from any one thread at a time (a lock serialises
    calls); ``interrupt`` may be called from another thread to stop a running
    cell. ``close`` ends the worker; the kernel also cleans up when collected.
    """

    def __init__(
        self,
        call_tool: CallTool,
        selection: Iterable[Any] | None = None,
        config: CellConfig | None = None,
        tool_names: Iterable[str] | None = None,
        isolation: IsolationConfig | None = None,
    ):
        self.call_tool = call_tool
        self.selection = list(selection or [])
        self.config = config or load_config()
        self.isolation_config = isolation if isolation is not None else load_isolation()
        # The tools a cell may call (the tier's allowed set, say); every registered tool by default.
        self.tool_names = sorted(tool_names) if tool_names is not None else _registry_names()
        self._lock = threading.RLock()
        self._state = _State()
        self._finalizer = weakref.finalize(self, self._state.shutdown)
        self._interrupted = False
        self._reset_pending = False
        self._closed = False
        self._seq = 0  # numbers each request, so a result can only answer the cell it belongs to

    # -- lifecycle -------------------------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        process = self._state.process
        return process.pid if process is not None and process.alive() else None

    @property
    def isolation(self) -> dict | None:
        """The running worker's report: ``layers`` in force (name -> how), ``unavailable`` (name ->
        why), ``skipped`` (test hook only), and which layers cover ``network`` and ``filesystem``."""
        process = self._state.process
        return process.info.get("isolation") if process is not None else None

    def start(self) -> None:
        """Starts the worker now instead of at the first cell; raises WorkerUnavailable."""
        with self._lock:
            self._ensure_worker()

    def reset(self) -> None:
        """Forgets every variable: the next cell runs in a fresh worker."""
        with self._lock:
            self._state.shutdown()

    def interrupt(self) -> None:
        """Stops the running cell (from another thread, e.g. a Stop button)."""
        process = self._state.process
        if process is not None:
            self._interrupted = True
            process.signal_kill()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._finalizer()

    def __enter__(self) -> CellKernel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _ensure_worker(self) -> _Process:
        if self._closed:
            raise WorkerUnavailable("the kernel is closed")
        process = self._state.process
        if process is not None and process.alive() and not process.pending():
            return process
        if process is not None:  # died or spoke out of turn between cells: its namespace is gone
            self._state.shutdown()
            self._reset_pending = True
        process = self._spawn()
        self._state.process = process
        return process

    def _init_message(self) -> dict:
        init = {"op": "init", "config": self.config.to_dict(), "tool_names": self.tool_names}
        isolation = self.isolation_config
        if isolation.hook_enabled():
            init["test"] = {"raw": True, "skip": sorted(isolation.test_skip), "missing": sorted(isolation.test_missing),
                            "imports": list(isolation.test_imports)}
        return init

    def _spawn(self) -> _Process:
        reason = cells_unavailable_reason()
        if reason is not None:
            raise WorkerUnavailable(reason)
        python = worker_python(self.config)
        workdir = tempfile.mkdtemp(prefix="freecad-spatial-cell-")
        extra = [p for p in sys.path if p and os.path.isdir(p)]
        try:
            popen = subprocess.Popen(
                [python, "-I", "-B", "-c", BOOTSTRAP, str(ROOT), json.dumps(extra), str(self.config.stack_mb << 20)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                env=_worker_env(workdir),
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise WorkerUnavailable(f"could not start {python}: {exc}") from exc
        process = _Process(popen, workdir, self.config.max_message_bytes)
        deadline = time.monotonic() + self.config.start_timeout_s
        try:
            try:
                process.send(self._init_message(), deadline)
            except _Gone:
                pass  # it may have said why before exiting
            message = process.receive(deadline)
        except (_Deadline, _Protocol) as exc:
            process.stop()
            raise WorkerUnavailable(f"the code-cell worker did not start: {type(exc).__name__.strip('_')} {exc}") from exc
        except Exception as exc:  # nothing the worker sends may raise past here
            process.stop()
            raise WorkerUnavailable(f"the code-cell worker did not start: {type(exc).__name__}") from exc
        isolation = self.isolation_config
        required = set(REQUIRED_LAYERS) | set(isolation.require)
        skipped = isolation.test_skip if isolation.hook_enabled() else frozenset()
        report = message.get("isolation") if message is not None else None
        gaps = isolation_gaps(report, required, skipped) if report is not None else {}
        if message is None or message.get("op") != "ready" or gaps:
            code = process.stop()
            if gaps:  # checked here as well: the worker alone does not know [isolation] require
                raise WorkerUnavailable(_gaps_text(gaps))
            detail = _short(message.get("message"), 500) if message else f"it exited with status {code}"
            raise WorkerUnavailable(f"the code-cell worker did not start, so no cell runs: {detail}")
        if report is None:
            process.stop()
            raise WorkerUnavailable(_gaps_text(isolation_gaps(None, required, skipped)))
        process.info = message
        return process

    # -- running ---------------------------------------------------------------------

    def run(self, code: str, selection: Iterable[Any] | None = None) -> dict:
        """Runs one cell; never raises for anything the cell or its worker does."""
        return self._run(code, selection, raw=False)

    def run_raw(self, code: str) -> dict:
        """Test hook only: plain Python in the worker, past the policy, to prove the OS layers hold.

        Refused (a ``worker`` error) unless IsolationConfig.test_hook and the harness's
        FREECAD_SPATIAL_CELL_TEST_HOOK=1 are both set, now and when the worker started (the
        worker refuses raw code it was not told about at start-up).
        """
        return self._run(code, None, raw=True)

    def _run(self, code: str, selection: Iterable[Any] | None, raw: bool) -> dict:
        with self._lock:
            started = time.monotonic()
            result: dict[str, Any] = {
                "ok": False, "stdout": "", "value": None, "error": None, "submitted": None,
                "tool_calls": [], "namespace_reset": False, "elapsed_s": 0.0, "isolation": None,
            }
            if selection is not None:
                self.selection = list(selection)
            if raw and not self.isolation_config.hook_enabled():
                result["error"] = {"kind": "worker", "line": None, "message": "raw code runs only under the test hook"}
                return self._finish(result, started)
            if not raw:
                try:
                    compile_cell(code, self.config)
                except CellRefused as refused:
                    result["error"] = refused.as_error()
                    return self._finish(result, started)
            try:
                process = self._ensure_worker()
            except WorkerUnavailable as exc:
                result["error"] = {"kind": "worker", "message": str(exc), "line": None}
                return self._finish(result, started)
            if self._reset_pending:
                result["namespace_reset"], self._reset_pending = True, False
            result["isolation"] = isolation_summary(process.info.get("isolation"))
            self._interrupted = False
            self._exchange(process, code, result, time.monotonic(), raw)
            return self._finish(result, started)

    def _finish(self, result: dict, started: float) -> dict:
        result["ok"] = result["error"] is None
        result["elapsed_s"] = round(time.monotonic() - started, 3)
        return result

    def _exchange(self, process: _Process, code: str, result: dict, started: float, raw: bool = False) -> None:
        deadline = started + self.config.time_s
        try:
            self._seq += 1
            request = {"op": "run", "code": code, "selection": self.selection, "seq": self._seq}
            if raw:
                request["raw"] = True
            process.send(request, deadline)
            while True:
                message = process.receive(deadline)
                if message is None:
                    raise _Gone()
                op = message.get("op")
                if op == "tool":
                    self._tool(process, message, result, deadline)
                elif op == "submit":
                    if result["submitted"] is None:
                        result["submitted"] = _valid_text({"answer": message.get("answer"),
                                                           "findings": message.get("findings")})
                elif op == "result":
                    if message.get("seq") != self._seq:  # left over from an earlier cell, or forged
                        raise _Protocol("a result for another cell")
                    self._merge(message, result)
                    return
                else:
                    raise _Protocol(f"the worker sent an unexpected message '{_short(op)}'")
        except _Deadline:
            if self._interrupted:
                self._stopped(result, "interrupted", f"stopped by the user after {time.monotonic() - started:.1f} s.")
            else:
                self._stopped(result, "timeout", f"stopped after {time.monotonic() - started:.1f} s: the cell ran "
                              f"past its time budget of {self.config.time_s:g} s.")
        except _Protocol as exc:
            self._stopped(result, "worker", f"the worker broke the protocol ({exc}) and was stopped.")
        except _Gone:
            self._died(result, started)
        except Exception as exc:  # whatever else a worker's message caused: the host must not raise
            self._stopped(result, "worker", f"the worker's messages could not be handled ({type(exc).__name__}) "
                          "and it was stopped.")

    def _stopped(self, result: dict, kind: str, text: str) -> None:
        self._state.shutdown()
        result["error"] = {"kind": kind, "message": f"{text} {RESET_NOTE}", "line": None}
        result["namespace_reset"] = True

    def _died(self, result: dict, started: float) -> None:
        process = self._state.process
        self._state.process = None
        status = process.stop() if process is not None else None
        elapsed = time.monotonic() - started
        kind, text = "runtime", f"the worker exited (status {status})."
        if self._interrupted:
            kind, text = "interrupted", f"stopped by the user after {elapsed:.1f} s."
        elif status == -signal.SIGXCPU:
            kind, text = "timeout", f"stopped after {elapsed:.1f} s: the cell used its CPU budget of {self.config.cpu_s} s."
        elif status == -signal.SIGXFSZ:
            kind, text = "policy", "the cell tried to write a file and was stopped."
        elif status == -signal.SIGKILL:
            kind, text = "memory", "the worker was killed by the system (most likely out of memory)."
        elif status is not None and status < 0:
            text = f"the worker crashed ({signal.Signals(-status).name})."
        result["error"] = {"kind": kind, "message": f"{text} {RESET_NOTE}", "line": None}
        result["namespace_reset"] = True

    def _merge(self, message: dict, result: dict) -> None:
        stdout, value, error = message.get("stdout"), message.get("value"), message.get("error")
        if not isinstance(stdout, str) or not (value is None or isinstance(value, str)):
            raise _Protocol("malformed result")
        if error is not None:
            line = error.get("line") if isinstance(error, dict) else None
            if (not isinstance(error, dict) or not isinstance(error.get("kind"), str)
                    or error["kind"] not in WORKER_KINDS or not isinstance(error.get("message"), str)
                    or not (line is None or (type(line) is int and 0 < line < 1 << 31))):
                raise _Protocol("malformed error")
            error = {"kind": error["kind"], "message": error["message"], "line": error.get("line")}
        cap = self.config.output_chars + 200  # the worker already cut it; the host does not trust that
        result["stdout"] = _valid_text(stdout[:cap])
        result["value"] = _valid_text(value[: self.config.value_chars + 100]) if value is not None else None
        if error is not None:
            error["message"] = _valid_text(error["message"])
        result["error"] = error

    def _tool(self, process: _Process, message: dict, result: dict, deadline: float) -> None:
        name, arguments = message.get("name"), message.get("args")
        if len(result["tool_calls"]) >= self.config.max_tool_calls:
            envelope = {"ok": False, "error": {"code": "budget_exceeded", "message":
                        f"a cell may call at most {self.config.max_tool_calls} tools"}}
        elif not isinstance(name, str) or not _TOOL_NAME.match(name) or not isinstance(arguments, dict):
            envelope = {"ok": False, "error": {"code": "bad_arguments", "message": "malformed tool call"}}
        elif self.tool_names and name not in self.tool_names:  # checked here too: the worker is not trusted
            envelope = {"ok": False, "error": {"code": "unknown_tool", "message":
                        f"no tool named '{name}' here (tools: {', '.join(self.tool_names)})"}}
        else:
            begun = time.perf_counter()
            arguments = _valid_text(arguments)
            # Read-only, no host files, and done before the cell's own budget ends.
            envelope = self._call(name, ToolArguments.for_cell(arguments, deadline))
            result["tool_calls"].append({"name": name, "args": arguments, "ok": bool(envelope.get("ok")),
                                         "ms": round((time.perf_counter() - begun) * 1000, 1)})
        process.send({"op": "tool_result", "envelope": envelope}, deadline)

    def _call(self, name: str, arguments: dict) -> dict:
        try:
            envelope = self.call_tool(name, arguments)
        except Exception as exc:  # the host failed (e.g. GUI marshalling): the cell sees why
            return {"ok": False, "error": {"code": "host_error",
                                           "message": f"{name}: the host could not run the tool: {type(exc).__name__}: {exc}"}}
        if not isinstance(envelope, dict) or not isinstance(envelope.get("ok"), bool):
            return {"ok": False, "error": {"code": "host_error", "message": f"{name}: the host returned no envelope"}}
        return envelope

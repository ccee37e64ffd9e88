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
all: there is no in-process fallback.
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
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from freecad_spatial import ROOT

from .cell_worker import HEADER, encode_frame
from .code_cell import CellConfig, CellRefused, compile_cell, load_config

CallTool = Callable[[str, dict], dict]

# Error kinds: the worker reports the first five, the host adds the rest.
WORKER_KINDS = frozenset({"policy", "syntax", "runtime", "memory", "output"})
HOST_KINDS = frozenset({"timeout", "interrupted", "worker"})
_TOOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
RESET_NOTE = "The kernel was restarted, so every variable from earlier cells is gone."

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
        try:
            message = json.loads(data)
        except ValueError:
            raise _Protocol("the worker sent a message that is not JSON") from None
        if not isinstance(message, dict):
            raise _Protocol("the worker sent a message that is not an object")
        return message

    def receive(self, deadline: float) -> dict | None:
        """The next message, None when the worker has exited; _Deadline past the deadline."""
        while True:
            message = self._take()
            if message is not None:
                return message
            if not _wait(self.read_fd, select.POLLIN, deadline):
                raise _Deadline()
            chunk = os.read(self.read_fd, 1 << 16)
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
    ):
        self.call_tool = call_tool
        self.selection = list(selection or [])
        self.config = config or load_config()
        # The tools a cell may call (the tier's allowed set, say); every registered tool by default.
        self.tool_names = sorted(tool_names) if tool_names is not None else _registry_names()
        self._lock = threading.RLock()
        self._state = _State()
        self._finalizer = weakref.finalize(self, self._state.shutdown)
        self._interrupted = False
        self._reset_pending = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        process = self._state.process
        return process.pid if process is not None and process.alive() else None

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
        if process is not None and process.alive():
            return process
        if process is not None:  # died between cells (interrupt, crash): its namespace is gone
            self._state.shutdown()
            self._reset_pending = True
        process = self._spawn()
        self._state.process = process
        return process

    def _spawn(self) -> _Process:
        if os.name != "posix":
            raise WorkerUnavailable("code cells need a POSIX system (their limits are POSIX resource limits)")
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
                process.send({"op": "init", "config": self.config.to_dict(), "tool_names": self.tool_names}, deadline)
            except _Gone:
                pass  # it may have said why before exiting
            message = process.receive(deadline)
        except (_Deadline, _Protocol) as exc:
            process.stop()
            raise WorkerUnavailable(f"the code-cell worker did not start: {type(exc).__name__.strip('_')} {exc}") from exc
        if message is None or message.get("op") != "ready":
            code = process.stop()
            detail = message.get("message") if message else f"it exited with status {code}"
            raise WorkerUnavailable(f"the code-cell worker did not start, so no cell runs: {detail}")
        process.info = message
        return process

    # -- running ---------------------------------------------------------------------

    def run(self, code: str, selection: Iterable[Any] | None = None) -> dict:
        """Runs one cell; never raises for anything the cell does."""
        with self._lock:
            started = time.monotonic()
            result: dict[str, Any] = {
                "ok": False, "stdout": "", "value": None, "error": None, "submitted": None,
                "tool_calls": [], "namespace_reset": False, "elapsed_s": 0.0,
            }
            if selection is not None:
                self.selection = list(selection)
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
            self._interrupted = False
            self._exchange(process, code, result, time.monotonic())
            return self._finish(result, started)

    def _finish(self, result: dict, started: float) -> dict:
        result["ok"] = result["error"] is None
        result["elapsed_s"] = round(time.monotonic() - started, 3)
        return result

    def _exchange(self, process: _Process, code: str, result: dict, started: float) -> None:
        deadline = started + self.config.time_s
        try:
            process.send({"op": "run", "code": code, "selection": self.selection}, deadline)
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
                    self._merge(message, result)
                    return
                else:
                    raise _Protocol(f"the worker sent an unexpected message '{op}'")
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
            if (not isinstance(error, dict) or error.get("kind") not in WORKER_KINDS
                    or not isinstance(error.get("message"), str)
                    or not (error.get("line") is None or isinstance(error.get("line"), int))):
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
            envelope = self._call(name, arguments)
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

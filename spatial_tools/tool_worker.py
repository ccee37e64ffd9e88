"""A tool call in a worker process, for platforms without ``fork`` (Windows, macOS).

tool_process.py forks, which gives the child the document for free. Without
fork the worker needs a copy: the caller's thread saves one
(``Document.saveCopy``: the document as it is in memory, unsaved edits
included; 40 ms for the bracket, 200 ms for a 637-face NIST part) into a
scratch folder, and a worker process (a Python of FreeCAD's version, started
once and kept warm: starting FreeCAD costs about 0.7 s) opens it, runs the
call with the same limits and answers in JSON. When the budget is spent or
the caller stops, the worker is killed (and a new one started for the next
call); the scratch folder is removed either way.

The protocol is one JSON line each way. The worker keeps its real standard
output for the protocol and points file descriptor 1 at standard error, so
nothing FreeCAD or OpenCASCADE prints can corrupt an answer.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from .errors import DeadlineExceeded, GeometryError, InternalError
from .tool_process import Cancelled, Pending, max_result_bytes, tool_error_of

DISABLE_ENV = "FREECAD_SPATIAL_TOOL_WORKER"  # "0": no worker either (calls run in-process)


def available() -> bool:
    return os.environ.get(DISABLE_ENV) != "0"


def serve() -> None:
    """The worker's loop: one request per line on stdin, one answer per line on the real stdout."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # whatever anything prints from here on goes to stderr
    sys.stdout = sys.stderr
    from . import freecad_env, tool_process

    freecad_env.load()
    import FreeCAD

    tool_process.default_crash_signals()  # a crash ends the worker; the caller reports it

    from .context import ToolContext
    from .registry import load_builtin_tools

    tool_process.mark_in_child()  # the caller enforces the deadline: nothing here needs its own worker
    registry = load_builtin_tools()
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        document = None
        try:
            document = FreeCAD.openDocument(request["file"])
            document.Label = request["label"]  # opening names it after the copy's file
            deadline = time.monotonic() + request["seconds"] if request.get("seconds") is not None else None
            if request["kind"] == "tool":
                context = ToolContext(document=document, selection=request["selection"], deadline=deadline,
                                      may_change_document=False,
                                      profile_folders=tuple(request["profile_folders"])
                                      if request["profile_folders"] is not None else None,
                                      view_camera=request.get("view_camera"))
                answer: dict = {"value": registry.call(request["tool"], request["arguments"], context)}
            else:
                from .encoder import encode_json

                answer = {"value": encode_json(document, request["selection"], budget_tokens=request["budget"])}
        except Exception as exc:  # reported to the caller, which raises it there
            answer = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        finally:
            if document is not None:
                FreeCAD.closeDocument(document.Name)
        protocol.write(json.dumps(answer, allow_nan=False, default=str) + "\n")


class _Worker:
    """One warm worker process and the thread that reads its answers."""

    def __init__(self) -> None:
        from freecad_spatial import ROOT

        from .annotations.background import bootstrap, worker_python

        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # FreeCAD's own paths would shadow the worker's interpreter
        self.scratch = tempfile.mkdtemp(prefix="spatial-worker-")
        env["TMPDIR"] = env["TMP"] = env["TEMP"] = env["XDG_CACHE_HOME"] = self.scratch
        flags = {"start_new_session": True} if os.name == "posix" else {
            "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
        self.process = subprocess.Popen(
            [worker_python(), "-c", bootstrap("from freecad_spatial.spatial_tools.tool_worker import serve\nserve()\n"),
             str(ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, cwd=self.scratch, text=True, encoding="utf-8", **flags)
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name="spatial-tool-worker", daemon=True).start()
        self.ready = False

    def _read(self) -> None:
        assert self.process.stdout is not None
        limit = max_result_bytes()
        for line in self.process.stdout:
            if len(line) > limit:
                self.answers.put({"error": {"type": "InternalError", "message": f"the answer is too large "
                                                                               f"({len(line)} bytes)"}})
                continue
            self.answers.put(json.loads(line))
        self.answers.put(None)  # the worker ended

    def kill(self) -> None:
        from .annotations.background import kill_group

        if self.process.poll() is None:
            kill_group(self.process)
        self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


_idle: list[_Worker] = []
_idle_lock = threading.Lock()


def _take() -> _Worker:
    with _idle_lock:
        while _idle:
            worker = _idle.pop()
            if worker.process.poll() is None:
                return worker
    return _Worker()


def _give_back(worker: _Worker) -> None:
    with _idle_lock:
        _idle.append(worker)


def shutdown() -> None:
    """Stops the idle workers (tests; FreeCAD's exit takes them with it anyway)."""
    with _idle_lock:
        workers, _idle[:] = list(_idle), []
    for worker in workers:
        worker.kill()


class WorkerCall(Pending):
    """A call sent to a warm worker with a copy of the document (see the module's docstring)."""

    def __init__(self, document: Any, request: dict, deadline: float | None, what: str):
        self.what = what
        self.deadline = deadline
        self.started = time.monotonic()
        self.folder = tempfile.mkdtemp(prefix="spatial-tool-")
        try:
            path = os.path.join(self.folder, f"{document.Name}.FCStd")  # opened, it keeps its Name
            document.saveCopy(path)
            self.worker = _take()
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.request = {**request, "file": path, "label": document.Label}
        self.sent = False
        self._lock = threading.Lock()
        self._ended = False

    def _end(self, keep_worker: bool) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        if keep_worker:
            _give_back(self.worker)
        else:
            self.worker.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def kill(self) -> None:
        self._end(keep_worker=False)

    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def wait(self, cancel: Any = None) -> Any:
        try:
            answer = self._answer(cancel)
        except BaseException:
            self._end(keep_worker=False)
            raise
        if answer is None:
            self._end(keep_worker=False)
            raise GeometryError(f"{self.what}: the kernel process died before it answered; the document is "
                                "unharmed (the call ran on a copy)")
        self._end(keep_worker=True)
        if "value" in answer:
            return answer["value"]
        error = answer["error"]
        if error.get("type") == "InternalError":
            raise InternalError(f"{self.what}: {error['message']}")
        raise tool_error_of({"code": "internal_error", "message": f"{self.what} failed: {error['type']}: "
                                                                f"{error['message']}"})

    def _send(self) -> None:
        self.sent = True
        assert self.worker.process.stdin is not None
        self.worker.process.stdin.write(json.dumps({**self.request, "seconds": self._left()}) + "\n")
        self.worker.process.stdin.flush()

    def _answer(self, cancel: Any) -> dict | None:
        """The worker's answer to this request (None: the worker ended); raises on deadline or Stop."""
        while True:
            left = self._left()
            if left is not None and left <= 0:
                raise DeadlineExceeded(
                    f"{self.what}: stopped after {time.monotonic() - self.started:.1f} s: the call's time budget "
                    "ran out")
            if cancel is not None and getattr(cancel, "cancelled", False):
                raise Cancelled(f"{self.what}: stopped")
            if self.worker.ready and not self.sent:
                self._send()
            try:
                answer = self.worker.answers.get(timeout=0.05 if left is None else max(min(0.05, left), 0.001))
            except queue.Empty:
                continue
            if answer is None:
                return None
            if answer.get("ready"):
                self.worker.ready = True
                continue
            return answer

    def start(self) -> WorkerCall:
        """Sends the request at once when the worker is already warm (else when it says it is ready)."""
        if self.worker.ready:
            self._send()
        return self


def start_tool(document: Any, name: str, arguments: dict, selection: list, profile_folders: Any,
               deadline: float | None, view_camera: dict | None = None) -> Pending:
    request = {"kind": "tool", "tool": name, "arguments": dict(arguments), "selection": selection,
               "profile_folders": list(profile_folders) if profile_folders is not None else None,
               "view_camera": view_camera}
    return WorkerCall(document, request, deadline, name).start()


def start_encode(document: Any, selection: list, budget_tokens: int, deadline: float | None) -> Pending:
    request = {"kind": "encode", "selection": selection, "budget": budget_tokens}
    return WorkerCall(document, request, deadline, "the document's summary").start()

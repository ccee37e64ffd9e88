"""A tool call in a forked child process, killed when its time budget is spent.

An OpenCASCADE call cannot be interrupted, and FreeCAD's Python API holds the
GIL while the kernel runs, so a call from the model or a code cell that must
end with its budget (and must not freeze the GUI) cannot run in the process
that holds the document. ``fork()`` gives a child an instant copy-on-write
snapshot of that process — the document as it is in memory, unsaved edits
included — without exporting or reloading anything (a few milliseconds for a
200 MB FreeCAD). The child computes, sends its JSON answer through a pipe and
ends with ``os._exit`` (no FreeCAD or Qt clean-up runs in it); the parent
waits on the pipe, from any thread, and kills the child's process group when
the deadline passes or the caller stops. A kernel crash kills the child, not
FreeCAD. The child's temporary files go in a scratch folder that is removed
whatever happens.

Only on Linux: Windows has no ``fork``, and on macOS a forked child of a GUI
process may not use the system frameworks. There, calls run in-process as
before (stopped between the steps of their Python loops; ``run_dfm`` in its
worker process); ``available()`` says which, and the README states it.
"""

from __future__ import annotations

import faulthandler
import json
import os
import select
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .context import tool_limits
from .errors import DeadlineExceeded, GeometryError, InternalError, ToolError

DISABLE_ENV = "FREECAD_SPATIAL_TOOLS_IN_PROCESS"  # "1": never fork (debugging; tests of the fallback)
_HEADER = struct.Struct("!Q")
_POLL_S = 0.05  # how often a wait looks at its cancel token

# Python 3.12+ warns on every fork in a process with threads (FreeCAD's GUI has several). The child
# here runs only the forking thread's Python and the kernel, and never takes a lock another thread
# could have held (no logging, no Qt, no imports of new modules on the common path; OpenCASCADE's
# thread pool is parked around the fork, see _KernelThreads), so the warning says nothing about this use.
FORK_WARNING = r".*use of fork\(\) may lead to deadlocks"

_in_child = False


def available() -> bool:
    """True where calls run in a forked child (Linux, not disabled)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get(DISABLE_ENV) != "1"


def mark_in_child() -> None:
    """Said by a worker process (tool_worker.py) whose caller enforces the deadline."""
    global _in_child
    _in_child = True


def default_crash_signals() -> None:
    """A crash ends this process at once and its caller reports it (a kernel failure either way): FreeCAD's
    handler, which turns SIGSEGV into a C++ exception, left a crashed child spinning until its deadline,
    and faulthandler would dump on the shared stderr."""
    faulthandler.disable()
    names = ("SIGINT", "SIGTERM", "SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT")
    for number in (getattr(signal, n) for n in names if hasattr(signal, n)):
        signal.signal(number, signal.SIG_DFL)


class _KernelThreads:
    """Keeps OpenCASCADE's thread pool usable in a forked child.

    fork() copies only the calling thread. Once the parent has run a parallel algorithm (FreeCAD 1.1's
    recompute does), OCCT's default thread pool believes its worker threads exist, and the child's next
    parallel call (distToShape, ray casting and meshing on 1.1) waits for them forever. So the parent
    parks the pool around the fork: ``Init(1)`` joins its workers (the pool then runs jobs on the calling
    thread), the fork copies a pool without workers, and ``Init(-1)`` starts them again in the parent —
    and in the child, whose pool then has workers of its own, so it computes as fast as the parent. The
    child runs OCCT's parallel loops on that pool (``OSD_Parallel`` could also use TBB, which would hang
    the same way had the parent started it).

    The exported symbols of the loaded libTKernel are called through ``ctypes.PyDLL`` (the GIL stays
    held, so no Python thread enters the kernel meanwhile); without them, or while the pool is busy,
    nothing changes and a call that hangs still ends at its deadline.
    """

    def __init__(self) -> None:
        import ctypes

        self.ready = False
        try:
            with open("/proc/self/maps", encoding="utf-8") as fh:
                paths = sorted({line.split()[-1] for line in fh if "libTKernel" in line})
            if not paths:
                return
            kernel = ctypes.PyDLL(paths[0])
            self.default_pool = kernel._ZN14OSD_ThreadPool11DefaultPoolEi
            self.default_pool.restype = ctypes.POINTER(ctypes.c_void_p)
            self.default_pool.argtypes = [ctypes.c_int]
            self.init = kernel._ZN14OSD_ThreadPool4InitEi
            self.init.argtypes = [ctypes.c_void_p, ctypes.c_int]
            self.in_use = kernel._ZN14OSD_ThreadPool7IsInUseEv
            self.in_use.restype = ctypes.c_bool
            self.in_use.argtypes = [ctypes.c_void_p]
            self.use_own_threads = kernel._ZN12OSD_Parallel17SetUseOcctThreadsEb
            self.use_own_threads.argtypes = [ctypes.c_bool]
            self.ready = True
        except (OSError, AttributeError):
            pass

    def park(self) -> bool:
        """Before the fork: the pool without workers. True when it was parked (unpark after)."""
        if not self.ready:
            return False
        pool = self.default_pool(-1).contents.value
        if not pool or self.in_use(pool):
            return False
        self.init(pool, 1)
        return True

    def unpark(self) -> None:
        """In the parent after the fork: the pool's workers back."""
        self.init(self.default_pool(-1).contents.value, -1)

    def in_child(self, parked: bool) -> None:
        """In the child: parallel loops on OCCT's pool, never on a TBB the parent may have started; a pool
        parked for the fork gets workers of its own again (the child computes as fast as the parent)."""
        if self.ready:
            self.use_own_threads(True)
            if parked:
                self.unpark()


_kernel_threads: _KernelThreads | None = None


def kernel_threads() -> _KernelThreads:
    """The one handle on OpenCASCADE's thread pool that every fork of this process parks (calls, batch workers)."""
    global _kernel_threads
    if _kernel_threads is None:
        _kernel_threads = _KernelThreads()
    return _kernel_threads


@contextmanager
def fork_prepared() -> Iterator[bool]:
    """Around a fork of this process (a forked call, a batch worker): OpenCASCADE's pool parked and the
    fork-with-threads warning silenced (FORK_WARNING). Yields whether the pool was parked, which the child
    passes to ``kernel_threads().in_child``; only the parent gets the pool's workers back here."""
    threads = kernel_threads()
    parent = os.getpid()
    parked = threads.park()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FORK_WARNING, category=DeprecationWarning)
            yield parked
    finally:
        if parked and os.getpid() == parent:
            threads.unpark()


def in_child() -> bool:
    """True inside a forked call: the parent enforces the deadline, so nothing here needs its own worker."""
    return _in_child


class Cancelled(Exception):
    """The caller stopped the call (the chat's Stop); the child was killed."""


class Pending:
    """A call that has started; ``wait`` gives its value. Waiting is allowed on any thread, once."""

    def wait(self, cancel: Any = None) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def kill(self) -> None:
        """Stops the call (nothing to do for one that ran in-process)."""


class Done(Pending):
    """A call that ran in-process: its value (or its exception) is already there."""

    def __init__(self, value: Any = None, error: BaseException | None = None):
        self.value = value
        self.error = error

    def wait(self, cancel: Any = None) -> Any:
        if self.error is not None:
            raise self.error
        return self.value

    @classmethod
    def of(cls, fn: Callable[[], Any]) -> Done:
        try:
            return cls(fn())
        except Exception as exc:
            return cls(error=exc)


def max_result_bytes() -> int:
    return int(tool_limits()["process"]["max_result_bytes"])


def _jsonable(value: Any) -> Any:
    """numpy scalars and the like, which ``clean`` leaves as they are."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _child(fn: Callable[[], Any], write_fd: int, scratch: str, parked: bool) -> None:
    """Runs in the child: never returns, never raises."""
    global _in_child
    code = 0
    try:
        _in_child = True
        os.setpgid(0, 0)  # its own process group, so a kill reaches anything it starts
        default_crash_signals()
        kernel_threads().in_child(parked)
        tempfile.tempdir = scratch
        os.environ["TMPDIR"] = os.environ["TMP"] = os.environ["TEMP"] = scratch
        try:
            message = {"value": fn()}
        except ToolError as exc:
            message = {"tool_error": {"code": exc.code, "message": exc.message}}
        except BaseException as exc:  # reported to the parent, which raises it there
            message = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        try:
            data = json.dumps(message, default=_jsonable, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            data = json.dumps({"error": {"type": "TypeError", "message": f"the result is not JSON: {exc}"}}).encode()
        payload = _HEADER.pack(len(data)) + data
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view):]
    except BaseException:
        code = 70
    finally:
        os._exit(code)


class ChildCall(Pending):
    """A call running in a forked child (see the module's docstring)."""

    def __init__(self, fn: Callable[[], Any], deadline: float | None, what: str):
        self.what = what
        self.deadline = deadline
        self.started = time.monotonic()
        self.scratch = tempfile.mkdtemp(prefix="spatial-tool-")
        self.pid = -1
        read_fd, write_fd = os.pipe()
        try:
            with fork_prepared() as parked:
                self.pid = os.fork()
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        if self.pid == 0:  # pragma: no cover - the child; coverage cannot see it
            os.close(read_fd)
            _child(fn, write_fd, self.scratch, parked)
        os.close(write_fd)
        self._fd = read_fd
        self._lock = threading.Lock()
        self._ended = False

    def kill(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
                break
            except (ProcessLookupError, PermissionError):
                continue
        self._close_and_reap()

    def _close_and_reap(self, answered: bool = False) -> None:
        """Closes the pipe; the child is reaped on a daemon thread, so the caller does not wait for a big
        process to tear its memory down. The scratch folder of a child that answered goes now (it has
        finished with it); a killed child's goes once it is reaped (it may still be writing)."""
        try:
            os.close(self._fd)
        except OSError:
            pass
        pid, scratch = self.pid, self.scratch
        if answered:
            shutil.rmtree(scratch, ignore_errors=True)

        def reap() -> None:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            try:
                os.killpg(pid, signal.SIGKILL)  # anything it started and left behind
            except (ProcessLookupError, PermissionError):
                pass
            shutil.rmtree(scratch, ignore_errors=True)

        threading.Thread(target=reap, name="spatial-tool-reaper", daemon=True).start()

    def wait(self, cancel: Any = None) -> Any:
        """The child's value; DeadlineExceeded when the budget runs out, Cancelled when ``cancel`` (an
        object with a ``cancelled`` attribute) says stop; a ToolError the call raised is raised here."""
        data = bytearray()
        need: int | None = None
        limit = max_result_bytes()
        try:
            while need is None or len(data) < need + _HEADER.size:
                timeout = _POLL_S
                if self.deadline is not None:
                    left = self.deadline - time.monotonic()
                    if left <= 0:
                        self.kill()
                        raise DeadlineExceeded(
                            f"{self.what}: stopped after {time.monotonic() - self.started:.1f} s: the call's time "
                            "budget ran out")
                    timeout = min(timeout, left)
                if cancel is not None and getattr(cancel, "cancelled", False):
                    self.kill()
                    raise Cancelled(f"{self.what}: stopped")
                ready, _, _ = select.select([self._fd], [], [], timeout)
                if not ready:
                    continue
                chunk = os.read(self._fd, 1 << 20)
                if not chunk:
                    return self._died()
                data += chunk
                if need is None and len(data) >= _HEADER.size:
                    need = _HEADER.unpack_from(data)[0]
                    if need > limit:
                        self.kill()
                        raise InternalError(f"{self.what}: the answer is too large ({need} bytes, limit {limit})")
        except BaseException:
            self.kill()
            raise
        with self._lock:
            ended, self._ended = self._ended, True
        if not ended:
            self._close_and_reap(answered=True)
        message = json.loads(bytes(data[_HEADER.size:]))
        if "value" in message:
            return message["value"]
        if "tool_error" in message:
            raise tool_error_of(message["tool_error"])
        error = message["error"]
        raise ChildError(error["type"], error["message"])

    def _died(self) -> Any:
        """The pipe closed without a whole answer: the child died (a kernel crash, out of memory)."""
        with self._lock:
            self._ended = True
        try:
            os.close(self._fd)
        except OSError:
            pass
        _, status = os.waitpid(self.pid, 0)
        shutil.rmtree(self.scratch, ignore_errors=True)
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit status {os.WEXITSTATUS(status)}"
        raise GeometryError(f"{self.what}: the kernel process died ({how}) before it answered; the document is "
                            "unharmed (the call ran on a copy)")


class ChildError(Exception):
    """An exception other than a ToolError raised in the child, by type name and message."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def tool_error_of(data: dict) -> ToolError:
    from .errors import of_code

    return of_code(data.get("code"), str(data.get("message", "")))


def start(fn: Callable[[], Any], deadline: float | None, what: str) -> Pending:
    """``fn`` in a forked child where ``available()``, else in-process now; ``.wait()`` for its value.

    ``fn`` must return JSON-able data. Call this on the thread that may touch the document (the GUI
    thread in FreeCAD): the fork is the snapshot. Waiting may happen on any thread.
    """
    if not available() or _in_child:
        return Done.of(fn)
    return ChildCall(fn, deadline, what)


def run(fn: Callable[[], Any], deadline: float | None, what: str) -> Any:
    """``start(fn, deadline, what).wait()``."""
    return start(fn, deadline, what).wait()

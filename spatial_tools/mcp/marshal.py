"""Where the server touches documents: here under a lock (headless), or on FreeCAD's GUI thread (live).

A tool call only *starts* there (the registry forks its snapshot, see
tool_process.py) and is waited for on the server's own thread, so the GUI
thread is held for the fork, not for the kernel. Reaching the GUI thread has
a deadline too: if it is busy (a modal dialog, a long recompute) the call
gives up with an error instead of queueing forever, and the queued work is
dropped unrun.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import DeadlineExceeded


class Deadline:
    """A cancel token (``cancelled``) that also trips at a ``time.monotonic()`` deadline."""

    def __init__(self, deadline: float | None, cancel: Any = None):
        self.deadline = deadline
        self.cancel = cancel

    @property
    def cancelled(self) -> bool:
        if self.cancel is not None and getattr(self.cancel, "cancelled", False):
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline


class Direct:
    """Headless: one call at a time touches the documents, on the calling thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def run(self, fn: Callable[[], Any], deadline: float | None = None, cancel: Any = None) -> Any:
        while not self._lock.acquire(timeout=0.05):
            if Deadline(deadline, cancel).cancelled:
                raise DeadlineExceeded("the server was busy with another call until this call's time budget ran out")
        try:
            return fn()
        finally:
            self._lock.release()


class OnGuiThread:
    """Live: runs on FreeCAD's GUI thread through the chat's MainThreadBridge (created there)."""

    def __init__(self, bridge: Any):
        self.bridge = bridge

    def run(self, fn: Callable[[], Any], deadline: float | None = None, cancel: Any = None) -> Any:
        from freecad_spatial.panels.chat_controller import BridgeCancelled

        try:
            return self.bridge.call(fn, Deadline(deadline, cancel))
        except BridgeCancelled:
            if cancel is not None and getattr(cancel, "cancelled", False):
                raise
            raise DeadlineExceeded("FreeCAD's GUI was busy until this call's time budget ran out; "
                                   "nothing was run") from None

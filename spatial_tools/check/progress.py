"""The batch's progress line: files done / total, files per minute and the time left, on a terminal only.

On a terminal the line is redrawn in place on stderr; when stderr is a file
or a pipe, or ``CI`` is set (every CI service sets it), nothing is written:
logs get the report and the one-line reasons, not carriage returns.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from .output import display_name


def wanted(stream: TextIO | None = None, environ: dict | None = None) -> bool:
    """True when progress belongs on ``stream``: a terminal, outside CI."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    if environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s``: how long, at a glance."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class Progress:
    """Counts finished files; ``line()`` is what the terminal shows, ``update()`` draws it when enabled."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None, clock=time.monotonic):
        self.total = total
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.reused = 0  # taken from --results: not counted in the rate
        self._width = 0

    def line(self, name: str = "") -> str:
        elapsed = self.clock() - self.started
        checked = self.done - self.reused
        width = 20
        filled = int(width * self.done / self.total) if self.total else width
        text = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} files"
        if checked > 0 and elapsed > 0:
            rate = checked / elapsed * 60
            left = (self.total - self.done) / (checked / elapsed)
            text += f" · {rate:.1f} files/min · ETA {duration(left)}"
        if name:
            text += f" · {display_name(name)[-40:]}"
        return text

    def skip(self, count: int) -> None:
        """``count`` files need no check (their results are stored)."""
        self.done += count
        self.reused += count
        self._draw("")

    def update(self, name: str = "") -> None:
        self.done += 1
        self._draw(name)

    def _draw(self, name: str) -> None:
        if not self.enabled:
            return
        text = self.line(name)
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def close(self) -> None:
        """Clears the line, so the reasons printed next start at the margin."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

"""Builds item sources into FCStd files in a child process with a time and a memory limit.

A source is untrusted (an imported suite's CadQuery program may loop, allocate without end or
crash the kernel): it runs in a long-lived child (``python -m ...eval.builder``), one JSON request
per line, under RLIMIT_AS (a CadQuery program in a grandchild on the CadQuery Python,
cadquery_source.py, in the same process group and under the same limit); a build that outlives its time budget gets the child killed and the next
build starts a new one. The parent only opens the finished file.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class BuildError(Exception):
    """The source could not be built (its reason is recorded on the item's result)."""


def source_key(source: dict) -> str:
    return hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:20]


class Builder:
    """Parent side: ``build(source) -> Path`` of an FCStd holding the source's objects (``Part`` for one)."""

    def __init__(self, cache_dir: str | Path, time_s: float = 60.0, memory_mib: int = 4096) -> None:
        self.cache_dir = Path(cache_dir)
        self.time_s = time_s
        self.memory_mib = memory_mib
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        limit = self.memory_mib * 1024 * 1024

        def limits() -> None:  # in the child, before exec
            import resource

            os.setsid()
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        return subprocess.Popen([sys.executable, "-m", "freecad_spatial.spatial_tools.eval.builder"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                preexec_fn=limits, bufsize=0)

    def kill(self) -> None:
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._proc = None

    close = kill

    def build(self, source: dict) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        kind = next(iter(source))
        if kind in ("fcstd", "step"):
            path = Path(source[kind])
            if not path.is_file():
                raise BuildError(f"{kind} source {path} does not exist")
            return path
        out = self.cache_dir / f"{source_key(source)}.FCStd"
        if out.is_file():
            return out
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        request = json.dumps({"source": source, "out": str(out)}) + "\n"
        try:
            proc.stdin.write(request.encode())
        except BrokenPipeError:
            self.kill()
            raise BuildError("the builder process died before the build started") from None
        deadline = time.monotonic() + self.time_s
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise BuildError(f"the source took longer than {self.time_s:g} s to build: stopped")
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                chunk = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    code = proc.wait()
                    self._proc = None
                    why = "ran out of memory or crashed" if code else "exited"
                    raise BuildError(f"the build {why} (exit status {code}, memory cap {self.memory_mib} MiB)")
                line += chunk
        reply = json.loads(line)
        if not reply.get("ok"):
            raise BuildError(reply.get("error", "the build failed"))
        return out


def _serve() -> None:
    """Child side: one request per line on stdin, one JSON reply per line on the original stdout."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # FreeCAD's own prints go to stderr, never into the replies
    from freecad_spatial.spatial_tools import freecad_env

    FreeCAD = freecad_env.load()
    from ..annotations import store
    from .cadquery_source import run_cadquery_program
    from .sources import build_freecad

    for line in sys.stdin:
        try:
            request = json.loads(line)
            source, out = request["source"], request["out"]
            kind = next(iter(source))
            meta: dict[str, str] = {}
            sizes: list[dict] = []
            if kind == "freecad":
                parts, meta, sizes = build_freecad(source[kind])
            elif kind == "cadquery":  # in the CadQuery Python, never in this one
                parts = {"Part": run_cadquery_program(source[kind])}
            else:
                raise ValueError(f"cannot build a '{kind}' source")
            if not all(shape.Solids for shape in parts.values()):
                raise ValueError("the source builds a part without a solid")
            doc = FreeCAD.newDocument("EvalPart")
            for name, shape in parts.items():
                obj = doc.addObject("Part::Feature", name)
                if obj.Name != name:
                    raise ValueError(f"'{name}' is not a usable object name")
                obj.Shape = shape
            if meta:
                doc.Meta = dict(doc.Meta, **meta)
            doc.recompute()
            for size in sizes:  # size-dimension annotations on the built faces
                store.add_size_dimension(doc, float(size["nominal"]), [str(r) for r in size["refs"]],
                                         fit_code=str(size["fit"]))
            doc.recompute()
            tmp = out + ".tmp.FCStd"
            doc.saveAs(tmp)
            FreeCAD.closeDocument(doc.Name)
            os.replace(tmp, out)
            reply: dict[str, Any] = {"ok": True}
        except MemoryError:
            reply = {"ok": False, "error": "the build ran out of memory"}
        except Exception as exc:  # the item's failure, reported; the child lives on
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        os.write(reply_fd, (json.dumps(reply) + "\n").encode())


if __name__ == "__main__":
    _serve()

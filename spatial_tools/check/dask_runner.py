"""``check --scheduler tcp://HOST:PORT``: the same per-file check as a local run, as tasks on a Dask cluster.

Dask's ``distributed`` (the ``dask`` extra) schedules one task per file,
retries a task whose worker was lost, and scales to many machines; this
module only says what a task is. The file's bytes travel with the task (a
worker needs no view of the caller's disks); the worker writes them to a
private temporary folder under the file's own name, runs ``batch.check_file``
on it and gives the outcome the caller's path back, so the report is the one
a local run writes.

FreeCAD's document layer is not thread-safe: a worker process runs one check
at a time (a lock), whatever its thread count. A check that outlives
``--timeout`` ends its worker process (the nanny starts a fresh one); a file
that kills or hangs every worker it is tried on is reported as an error and
the batch goes on.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from .batch import CheckOptions, FileResult, check_file, file_size, warm_up
from .output import display_name
from .progress import Progress

MAX_BYTES = 512 * 1024 * 1024  # a file this large is read by the worker from its path, not shipped
_LOCK = threading.Lock()
EXIT_TIMED_OUT = 70


class ClusterError(RuntimeError):
    """The scheduler cannot be reached, or ``distributed`` is not installed."""


def _watchdog(timeout: float) -> threading.Timer:
    """Ends this worker process when a check outlives ``timeout``: a thread stuck in OpenCASCADE cannot be stopped."""
    timer = threading.Timer(timeout, os._exit, args=(EXIT_TIMED_OUT,))
    timer.daemon = True
    timer.start()
    return timer


def check_shipped(path: str, data: bytes | None, options: CheckOptions) -> FileResult:
    """A Dask task: checks ``data`` (the bytes of ``path``, None: read ``path`` itself) as ``path``."""
    from .. import freecad_env

    with _LOCK:
        freecad_env.load()
        warm_up()  # start-up work: not under the file's --timeout
        timer = _watchdog(options.timeout)
        try:
            if data is None:
                return check_file(path, options)
            with tempfile.TemporaryDirectory(prefix="freecad-spatial-task-") as folder:
                local = os.path.join(folder, os.path.basename(path) or "input")
                with open(local, "wb") as fh:
                    fh.write(data)
                result = check_file(local, options)
            result.path = path
            if result.error:
                result.error = result.error.replace(local, display_name(path))
            return result
        finally:
            timer.cancel()


def _shipped_bytes(path: str) -> bytes | None:
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        return Path(path).read_bytes()
    except OSError:
        return None  # the worker opens the path itself and reports why it cannot, as a local run would


def connect(scheduler: str, timeout: float = 30.0):
    """A ``distributed.Client`` on ``scheduler``; ClusterError with the reason when there is none."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--scheduler needs Dask: pip install 'freecad-spatial[dask]'") from None
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--scheduler {scheduler}: cannot reach the scheduler ({exc})") from None


def run_on_cluster(
    paths: list[str],
    options: CheckOptions,
    client,
    progress: Progress | None = None,
    on_result: Callable[[int, FileResult], None] | None = None,
) -> list[FileResult]:
    """Checks ``paths`` as one task each on ``client``'s cluster; results in input order.

    Submitted in order, gathered as they finish. Tasks still queued when this
    is interrupted are cancelled, so the cluster does not go on checking for
    nobody.
    """
    from distributed import as_completed

    progress = progress or Progress(len(paths), False)
    results: list[FileResult | None] = [None] * len(paths)
    futures = {}
    run = uuid.uuid4().hex[:12]  # task keys unique to this run: two runs never share a result
    try:
        for index, path in enumerate(paths):
            future = client.submit(check_shipped, path, _shipped_bytes(path), options, key=f"freecad-spatial-check-{run}-{index}",
                                   pure=False, priority=file_size(path))  # largest first, as a local run hands them out
            futures[future] = index
        for future in as_completed(list(futures)):
            index = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker: it ended every worker it was given to (crash or timeout)
                name = type(exc).__name__
                reason = (
                    f"the checker process died or outlived --timeout {options.timeout:g} s on every try ({name})"
                    if name == "KilledWorker"
                    else f"internal error on the cluster: {name}: {exc}"
                )
                result = FileResult.failed(paths[index], reason, transient=name == "KilledWorker")
            results[index] = result
            progress.update(result.name)
            if on_result is not None:
                on_result(index, result)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        progress.close()
    return [r if r is not None else FileResult.failed(p, "internal error: no result came back", transient=True) for p, r in zip(paths, results, strict=True)]

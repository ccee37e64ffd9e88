"""Our one retry policy for every backend: exponential backoff with jitter, retry-after
honoured, cancellation during attempts and sleeps.

The SDKs' own retries are off (Anthropic ``max_retries=0``) so that both
backends retry the same failures the same way and report the same final error.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from . import errors
from .base import CancelToken, Retrying, StreamEvent
from .settings import RetryPolicy

T = TypeVar("T")

# How often the cancel watcher looks at the token while a stream is open.
_WATCH_POLL_S = 0.05


def should_retry(policy: RetryPolicy, error: errors.BackendError) -> bool:
    if isinstance(error, errors.Cancelled):
        return False
    if isinstance(error, errors.Timeout):
        return policy.retry_on_timeout
    if isinstance(error, errors.ProtocolError):
        return policy.retry_on_protocol_error
    return error.retryable


def backoff_delay(policy: RetryPolicy, attempt: int, error: errors.BackendError, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed try ``attempt`` (1-based).

    A server's retry-after is a floor (never undercut by jitter); otherwise
    base * 2**(attempt-1), capped at max_delay, times 1 +/- jitter.
    """
    rng = rng or random
    computed = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
    computed *= 1.0 + rng.uniform(-policy.jitter, policy.jitter)
    if error.retry_after is not None:
        return error.retry_after + rng.uniform(0.0, policy.jitter * min(error.retry_after, policy.base_delay_s))
    return max(0.0, computed)


def run_with_retries(
    attempt: Callable[[int], T],
    *,
    policy: RetryPolicy,
    cancel: CancelToken | None = None,
    on_event: Callable[[StreamEvent], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Calls ``attempt(n)`` until it returns, a failure is not retryable, or tries run out.

    ``attempt`` raises errors.BackendError subclasses only. The error finally
    raised carries ``attempts``; a Retrying event precedes every new try (the
    consumer drops what the failed try had streamed).
    """
    for n in range(1, policy.max_attempts + 1):
        if cancel is not None and cancel.cancelled:
            raise errors.Cancelled()
        try:
            return attempt(n)
        except errors.BackendError as error:
            error.attempts = n
            if not should_retry(policy, error) or n == policy.max_attempts:
                raise
            if error.retry_after is not None and error.retry_after > policy.max_retry_after_s:
                error.reason += (
                    f"; the server asked to wait {error.retry_after:.0f} s, more than the "
                    f"{policy.max_retry_after_s:.0f} s allowed"
                )
                raise
            delay = backoff_delay(policy, n, error, rng)
            if on_event is not None:
                on_event(Retrying(attempt=n + 1, delay_s=delay, reason=error.reason))
            if cancel is not None:
                if cancel.wait(delay):
                    raise errors.Cancelled(provider=error.provider, endpoint=error.endpoint) from error
            else:
                time.sleep(delay)
    raise AssertionError("unreachable: max_attempts >= 1")


@contextmanager
def cancel_watch(cancel: CancelToken | None, on_cancel: Callable[[], Any]) -> Iterator[None]:
    """Runs ``on_cancel`` (once, from a helper thread) if ``cancel`` fires inside the block.

    Used to shut the socket of an open stream so a read blocked on a silent
    server returns at once instead of at the read timeout. Never fires after
    the block has exited (the connection may be back in the pool by then).
    """
    if cancel is None:
        yield
        return
    lock = threading.Lock()
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancel.wait(_WATCH_POLL_S):
                with lock:
                    if not finished.is_set():
                        on_cancel()
                return

    threading.Thread(target=watch, name="backend-cancel-watch", daemon=True).start()
    try:
        yield
    finally:
        with lock:
            finished.set()


def shutdown_socket(response: Any) -> None:
    """Shuts the TCP socket under an httpx/httpx2 response, waking a blocked read."""
    stream = getattr(response, "extensions", {}).get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            return  # already closed by the other side: the read has returned anyway

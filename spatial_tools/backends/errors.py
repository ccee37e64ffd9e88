"""Every way a model call can fail, in one hierarchy, and the one place that maps to it.

Both backends (the Anthropic SDK's exceptions, raw httpx/httpx2 transport errors,
HTTP statuses and in-stream error events of either wire format) end up here, so
the retry policy and the UI see the same classes whatever the provider.
Messages name the endpoint and what failed; keys never appear in them (any
secret handed to the mappers is redacted from server-provided text).
"""

from __future__ import annotations

import email.utils
import json
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

_MAX_DETAIL = 300


class BackendError(Exception):
    """A failed model call. ``str()`` is a complete, user-facing sentence."""

    kind = "backend_error"
    retryable = False

    def __init__(
        self,
        reason: str,
        *,
        provider: str = "",
        endpoint: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.endpoint = endpoint
        self.status = status
        self.retry_after = retry_after
        self.attempts = 0  # set by the retry loop on the error it finally raises

    def __str__(self) -> str:
        where = f"{self.provider or 'model'} endpoint {self.endpoint}" if self.endpoint else (self.provider or "model backend")
        text = f"{where}: {self.reason}"
        if self.attempts > 1 or (self.retryable and self.attempts == 1):
            text += f" (gave up after {self.attempts} {'try' if self.attempts == 1 else 'tries'})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthError(BackendError):
    """Missing, wrong or unauthorised key (401/403)."""

    kind = "auth"


class KeyringUnavailable(AuthError):
    """No usable OS keyring (and no environment variable) to read or store a key."""

    kind = "keyring_unavailable"


class RateLimited(BackendError):
    kind = "rate_limited"
    retryable = True


class Overloaded(BackendError):
    """Anthropic's overloaded_error (HTTP 529 or an ``error`` event mid-stream)."""

    kind = "overloaded"
    retryable = True


class ServerError(BackendError):
    kind = "server_error"
    retryable = True


class ConnectionFailed(BackendError):
    """Could not connect, or the connection broke before the response was complete."""

    kind = "connection_failed"
    retryable = True


class Timeout(BackendError):
    """The server went silent for longer than the read (or write/pool) timeout."""

    kind = "timeout"


class ProtocolError(BackendError):
    """A malformed or truncated stream: bad JSON in a chunk, no final event."""

    kind = "protocol_error"


class Cancelled(BackendError):
    """The caller cancelled; ``partial`` holds what had streamed so far (a ModelTurn or None)."""

    kind = "cancelled"

    def __init__(self, reason: str = "cancelled by the user", *, partial: Any = None, **kw: Any) -> None:
        super().__init__(reason, **kw)
        self.partial = partial


class RequestRejected(BackendError):
    """Any other 4xx: bad request, unknown model, payload too large. Not retried."""

    kind = "rejected"


class Redirected(BackendError):
    """A 3xx. Backends never follow redirects (a tier may forbid the target host)."""

    kind = "redirected"

    def __init__(self, reason: str, *, location: str = "", **kw: Any) -> None:
        super().__init__(reason, **kw)
        self.location = location


# --- mapping -----------------------------------------------------------------


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def _short(text: str, secrets: Iterable[str | None]) -> str:
    text = redact(" ".join(str(text).split()), secrets)
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    if (ms := lower.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_fields(body: Any) -> tuple[str, str, int | None]:
    """(type, message, code) from an Anthropic, OpenAI or vLLM error body."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return "", body, None
    if not isinstance(body, dict):
        return "", "", None
    inner = body.get("error", body)
    if isinstance(inner, str):  # {"error": "text"}
        return "", inner, None
    if not isinstance(inner, dict):
        return "", "", None
    code = inner.get("code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    return str(inner.get("type") or ""), str(inner.get("message") or ""), code


def from_status(
    status: int,
    headers: Mapping[str, str] | None,
    body: Any,
    *,
    provider: str = "",
    endpoint: str = "",
    secrets: Iterable[str | None] = (),
) -> BackendError:
    """An HTTP error status (with its body) as a BackendError."""
    secrets = tuple(secrets)
    etype, emessage, _ = _error_fields(body)
    detail = _short(": ".join(p for p in (etype, emessage) if p), secrets)
    what = f"HTTP {status}" + (f" {detail}" if detail else "")
    kw = {"provider": provider, "endpoint": endpoint, "status": status}
    if 300 <= status < 400:
        location = redact((headers or {}).get("location", "") or "", secrets)
        return Redirected(
            f"redirected ({what}) to {location or 'an unnamed location'}; redirects are not followed",
            location=location,
            **kw,
        )
    if status in (401, 403) or etype in ("authentication_error", "permission_error"):
        return AuthError(f"authentication failed ({what}); check the API key", **kw)
    if status == 429 or etype == "rate_limit_error":
        return RateLimited(f"rate limited ({what})", retry_after=parse_retry_after(headers), **kw)
    if status == 529 or etype == "overloaded_error":
        return Overloaded(f"overloaded ({what})", retry_after=parse_retry_after(headers), **kw)
    if status >= 500:
        return ServerError(f"server error ({what})", retry_after=parse_retry_after(headers), **kw)
    return RequestRejected(f"request rejected ({what})", **kw)


def from_stream_error(
    payload: Any,
    *,
    provider: str = "",
    endpoint: str = "",
    secrets: Iterable[str | None] = (),
) -> BackendError:
    """An error reported inside a 200 stream (Anthropic ``event: error``, vLLM error chunk)."""
    etype, _, code = _error_fields(payload)
    status = {"overloaded_error": 529, "rate_limit_error": 429}.get(etype)
    if status is None:
        status = code if code is not None and 400 <= code < 600 else 500
    error = from_status(status, None, payload, provider=provider, endpoint=endpoint, secrets=secrets)
    error.status = None  # the HTTP status was 200; the failure came mid-stream
    error.reason = error.reason.replace(f"HTTP {status}", "error event mid-stream,", 1)
    error.args = (error.reason,)
    return error


_TRANSPORT = {
    # httpx / httpx2 / httpcore / httpcore2 class names, most specific first.
    "ConnectTimeout": (lambda: ConnectionFailed, "connection timed out"),
    "ReadTimeout": (lambda: Timeout, "no data within the read timeout (the stream stalled)"),
    "WriteTimeout": (lambda: Timeout, "sending the request timed out"),
    "PoolTimeout": (lambda: Timeout, "no free connection within the pool timeout"),
    "TimeoutException": (lambda: Timeout, "timed out"),
    "RemoteProtocolError": (lambda: ConnectionFailed, "the server closed the connection mid-response"),
    "LocalProtocolError": (lambda: ProtocolError, "invalid HTTP exchange"),
    "DecodingError": (lambda: ProtocolError, "undecodable response body"),
    "ConnectError": (lambda: ConnectionFailed, "could not connect"),
    "ReadError": (lambda: ConnectionFailed, "the connection broke while reading"),
    "WriteError": (lambda: ConnectionFailed, "the connection broke while sending"),
    "UnsupportedProtocol": (lambda: RequestRejected, "unsupported URL scheme"),
    "InvalidURL": (lambda: RequestRejected, "invalid endpoint URL"),
    "TooManyRedirects": (lambda: RequestRejected, "too many redirects"),
    "NetworkError": (lambda: ConnectionFailed, "network error"),
    "TransportError": (lambda: ConnectionFailed, "transport error"),
}


def _transport_class(exc: BaseException) -> tuple[type[BackendError], str] | None:
    for cls in type(exc).__mro__:
        root = (cls.__module__ or "").partition(".")[0]
        if root in ("httpx", "httpx2", "httpcore", "httpcore2") and cls.__name__ in _TRANSPORT:
            make, what = _TRANSPORT[cls.__name__]
            return make(), what
    return None


def from_exception(
    exc: BaseException,
    *,
    provider: str = "",
    endpoint: str = "",
    secrets: Iterable[str | None] = (),
) -> BackendError:
    """Any exception raised while calling a backend, as a BackendError (idempotent)."""
    secrets = tuple(secrets)
    kw = {"provider": provider, "endpoint": endpoint}
    if isinstance(exc, BackendError):
        return exc
    mapped = _from_anthropic(exc, kw, secrets)
    if mapped is not None:
        return mapped
    found = _transport_class(exc)
    if found is not None:
        cls, what = found
        detail = _short(str(exc), secrets)
        if issubclass(cls, Timeout) or detail in what:
            detail = ""  # "timed out" adds nothing to the kind of timeout
        return cls(what + (f" ({detail})" if detail else ""), **kw)
    if isinstance(exc, json.JSONDecodeError):
        return ProtocolError(f"malformed JSON in the stream ({_short(str(exc), secrets)})", **kw)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Timeout("timed out", **kw)
    if isinstance(exc, OSError):
        return ConnectionFailed(f"connection failed ({_short(str(exc), secrets)})", **kw)
    return BackendError(f"unexpected failure ({type(exc).__name__}: {_short(str(exc), secrets)})", **kw)


def _from_anthropic(exc: BaseException, kw: dict, secrets: tuple) -> BackendError | None:
    anthropic = sys.modules.get("anthropic")
    if anthropic is None:  # never imported: the exception cannot be the SDK's (and importing is slow)
        return None
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status < 300:  # an `event: error` inside a 200 stream
            return from_stream_error(exc.body, secrets=secrets, **kw)
        return from_status(status, dict(exc.response.headers), exc.body, secrets=secrets, **kw)
    if isinstance(exc, anthropic.APIConnectionError):
        # The SDK wraps the transport error; its cause says what really happened.
        cause = exc.__cause__ or exc.__context__
        if cause is not None:
            found = _transport_class(cause)
            if found is not None:
                return from_exception(cause, secrets=secrets, **kw)
        if isinstance(exc, anthropic.APITimeoutError):
            return Timeout("timed out", **kw)
        return ConnectionFailed("could not connect", **kw)
    if isinstance(exc, anthropic.APIResponseValidationError):
        return ProtocolError(f"unexpected response shape ({_short(str(exc), secrets)})", **kw)
    return None

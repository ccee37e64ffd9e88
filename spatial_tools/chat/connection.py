"""The preference page's Test connection: one tiny model call, held to the tier like any question.

Headless (no Qt): the page runs ``check_connection`` in a worker thread and
shows the ``ConnectionResult``. The endpoint is checked against the tier
before a backend, or a key, is looked at; the one request goes through the
same RequestGuard (audited, refused before any byte leaves) as a chat
question. A key typed on the page but not yet saved may be passed in; it is
wrapped in a ``Secret`` at once and never appears in the message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .advice import advice

PING = "Reply with the single word: ok"


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    kind: str  # "" on success, else an advice kind: tier_refused, auth, connection_failed, ...
    message: str  # one line for the page: what happened, and on failure what to do
    ms: float = 0.0


def check_connection(provider: str, overrides: dict, *, user_tier: str, classification: str = "unrestricted",
                     host_suffixes: tuple[str, ...] = (), api_key: str | None = None,
                     audit_path: str | None = None, cancel: Any = None) -> ConnectionResult:
    """Sends one minimal request to the configured endpoint and says whether it answered."""
    from ..backends.base import Message
    from ..backends.errors import BackendError
    from ..backends.settings import BackendSettings
    from ..tiers import Policy, RequestGuard, TierRefused

    started = time.monotonic()
    settings_overrides = {"max_attempts": 1, **{k: v for k, v in overrides.items() if v}}
    try:
        settings = BackendSettings.for_provider(provider, settings_overrides)
        policy = Policy(user_tier=user_tier, classification=classification, host_suffixes=tuple(host_suffixes))
        from ..audit import AuditLog

        guard = RequestGuard(policy, provider, model=settings.model, audit=AuditLog(audit_path))
        host = guard.check(settings.base_url)
        from ..backends.factory import make_backend

        backend = make_backend(provider, settings_overrides, api_key=api_key or None, request_hook=guard)
        try:
            backend.complete([], [Message(role="user", text=PING)], [], cancel=cancel, max_tokens=8)
        finally:
            close = getattr(backend, "close", None)
            if close is not None:
                close()
    except TierRefused as exc:
        return _failed("tier_refused", exc.reason, started)
    except BackendError as exc:
        return _failed(exc.kind or "connection_failed", str(exc), started)
    except ImportError as exc:
        return _failed("missing_dependency", f"{exc.name or exc} is not installed", started)
    except ValueError as exc:
        return _failed("rejected", str(exc), started)
    ms = (time.monotonic() - started) * 1000
    return ConnectionResult(True, "", f"Connected: {settings.model or 'the default model'} at {host} answered "
                                      f"in {ms:.0f} ms ({policy.tier} tier).", ms)


def _failed(kind: str, message: str, started: float) -> ConnectionResult:
    found = advice(kind)
    first = message.splitlines()[0] if message else ""
    return ConnectionResult(False, kind, f"{found.title}: {first}. {found.action}",
                            (time.monotonic() - started) * 1000)

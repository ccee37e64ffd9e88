"""Builds a Backend from a provider name, settings overrides and the stored key.

The deployment-tier check is not done here: the caller (tiers policy) inspects
``backend.name`` and ``backend.base_url`` before the first ``complete()``, and may
pass ``request_hook`` to see (and refuse) every request's exact bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import errors, keys
from .base import Backend
from .settings import BackendSettings


def make_backend(
    provider: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    api_key: str | keys.Secret | None = None,
    request_hook: Callable[[str, str, bytes], None] | None = None,
) -> Backend:
    """``provider`` is "anthropic" or "openai"; ``overrides`` as in BackendSettings.for_provider.

    Without ``api_key`` the key comes from keys.get_key (environment, then OS
    keyring). A missing Anthropic key surfaces as an AuthError on the first
    call, so a preferences page can still build the backend to show its settings.
    """
    settings = BackendSettings.for_provider(provider, overrides)
    if api_key is None:
        try:
            key = keys.get_key(provider)
        except errors.KeyringUnavailable:
            if provider == "anthropic":
                raise
            key = None  # an OpenAI-compatible server (vLLM) often needs no key
    else:
        key = api_key if isinstance(api_key, keys.Secret) else keys.Secret(api_key)
    if provider == "anthropic":
        from .anthropic_backend import AnthropicBackend

        return AnthropicBackend(settings, api_key=key, request_hook=request_hook)
    from .openai_backend import OpenAIBackend

    return OpenAIBackend(settings, api_key=key, request_hook=request_hook)

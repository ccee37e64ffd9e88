"""API keys: the OS keyring, with environment-variable overrides for headless runs.

Keys live under one fixed, documented keyring service (``[keys] service`` in
resources/backends.toml: "freecad-spatial"), username = provider ("anthropic",
"openai"). Never in FreeCAD parameters, documents, logs or exceptions: a key is
handed around as a ``Secret`` whose str/repr hide the value; only the code that
builds the HTTP header calls ``reveal()``.

Where no keyring is usable (no backend: ``NoKeyringError``; or the package is
missing) a key the user types can be kept for this process only
(``keep_for_session``): in memory, never written, gone when FreeCAD closes.
Lookup order: environment variable, session key, OS keyring.
"""

from __future__ import annotations

import os

from . import errors
from .settings import PROVIDERS, defaults


class Secret:
    """A key that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("an API key must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):
        raise TypeError("a Secret is not picklable (keys are never saved)")


def service() -> str:
    return defaults()["keys"]["service"]


def _entry(provider: str) -> dict:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider '{provider}' (known: {', '.join(PROVIDERS)})")
    return defaults()["keys"][provider]


def username(provider: str) -> str:
    return _entry(provider)["username"]


def env_names(provider: str) -> list[str]:
    """Environment variables that override the keyring, first one set wins."""
    return list(_entry(provider)["env"])


def _from_env(provider: str) -> tuple[str, Secret] | None:
    for name in env_names(provider):
        value = os.environ.get(name, "").strip()
        if value:
            return name, Secret(value)
    return None


SESSION = "session"  # key_source() of a key kept in memory for this process
KEYRING = "OS keyring"
_session_keys: dict[str, Secret] = {}


def keep_for_session(provider: str, key: str | Secret) -> None:
    """Keeps ``key`` in this process's memory only (never written); an environment variable still wins."""
    _entry(provider)
    _session_keys[provider] = key if isinstance(key, Secret) else Secret(key)


def forget_session_key(provider: str) -> bool:
    """Drops the session key; False when there was none."""
    return _session_keys.pop(provider, None) is not None


def keyring_problem() -> str | None:
    """Why a key cannot be stored in the OS keyring here (None when it can): the package is missing, or
    it has no usable backend (``NoKeyringError``), found by a harmless read."""
    try:
        keyring = _keyring()
    except errors.KeyringUnavailable as exc:
        return str(exc)
    try:
        keyring.get_password(service(), "__freecad_spatial_probe__")
    except Exception as exc:  # keyring.errors.KeyringError, or a backend's own failure (D-Bus, locked)
        return f"{type(exc).__name__} from {type(keyring.get_keyring()).__module__}"
    return None


def _keyring():
    try:
        import keyring
    except ImportError as exc:
        raise errors.KeyringUnavailable("the 'keyring' package is not installed") from exc
    return keyring


def _unavailable(provider: str, action: str, exc: Exception) -> errors.KeyringUnavailable:
    hint = " or ".join(env_names(provider))
    return errors.KeyringUnavailable(
        f"cannot {action} the {provider} key in the OS keyring (service '{service()}'): "
        f"{type(exc).__name__}; set {hint} instead for headless runs"
    )


def get_key(provider: str) -> Secret | None:
    """The key for ``provider``: environment variable first, then the session key, then the OS keyring;
    None when unset.

    Raises errors.KeyringUnavailable when neither a variable nor a session key is set and the keyring
    cannot be read.
    """
    found = _from_env(provider)
    if found is not None:
        return found[1]
    if provider in _session_keys:
        return _session_keys[provider]
    keyring = _keyring()
    try:
        value = keyring.get_password(service(), username(provider))
    except keyring.errors.KeyringError as exc:
        raise _unavailable(provider, "read", exc) from None
    return Secret(value) if value and value.strip() else None


def key_source(provider: str) -> str | None:
    """Where the key would come from, for the preferences page: never the key itself.

    ``"environment variable NAME"``, ``SESSION`` (memory only), ``KEYRING``, or None.
    """
    found = _from_env(provider)
    if found is not None:
        return f"environment variable {found[0]}"
    if provider in _session_keys:
        return SESSION
    try:
        return KEYRING if get_key(provider) is not None else None
    except errors.KeyringUnavailable:
        return None


def set_key(provider: str, key: str | Secret) -> None:
    """Stores ``key`` in the OS keyring (an environment variable still overrides it); a session key of
    the provider is dropped, so the stored one is the one used."""
    secret = key if isinstance(key, Secret) else Secret(key)
    keyring = _keyring()
    try:
        keyring.set_password(service(), username(provider), secret.reveal())
    except keyring.errors.KeyringError as exc:
        raise _unavailable(provider, "store", exc) from None
    _session_keys.pop(provider, None)


def delete_key(provider: str) -> bool:
    """Removes the stored key; False when there was none."""
    keyring = _keyring()
    try:
        if keyring.get_password(service(), username(provider)) is None:
            return False
        keyring.delete_password(service(), username(provider))
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        raise _unavailable(provider, "delete", exc) from None
    return True

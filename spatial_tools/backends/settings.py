"""Backend settings: defaults from resources/backends.toml, overridable per call site.

Timeouts, retry policy, endpoints and models are data so a deployment (or a
test) can change them without touching code.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

DEFAULTS_FILE = RESOURCES / "backends.toml"
PROVIDERS = ("anthropic", "openai")


@cache
def defaults() -> dict:
    """The parsed backends.toml (read once)."""
    with open(DEFAULTS_FILE, "rb") as fh:
        return tomllib.load(fh)


def _model_version(name: str, family: str) -> tuple[int, ...] | None:
    """(5, 5) for ``claude-sonnet-5-5``; None for dated snapshots and other families."""
    match = re.fullmatch(rf"claude-{re.escape(family)}-(\d{{1,2}}(?:-\d{{1,2}})*)", name)
    return tuple(int(part) for part in match[1].split("-")) if match else None


def _literal_strings(annotation: object) -> list[str]:
    """Every string of the Literal(s) in ``annotation`` (``Union[Literal[...], str]`` in the SDK)."""
    found: list[str] = []
    for arg in typing.get_args(annotation):
        found += [arg] if isinstance(arg, str) else _literal_strings(arg)
    return found


class SdkMissing(ModuleNotFoundError, ValueError):
    """The anthropic SDK is not installed: an ImportError (``name`` = the package), so the chat panel
    shows the Install banner's guidance, and a ValueError, so settings callers (the CLI) report it as
    the unusable setting it is."""


def sdk_models() -> tuple[list[str], set[str]]:
    """The installed SDK's list of current models (``anthropic.types.Model``) and its deprecated ones."""
    try:
        from anthropic.types import Model
    except ImportError as exc:
        raise SdkMissing("the anthropic SDK is not installed (pip install 'freecad-spatial[assistant]')",
                         name="anthropic") from exc
    try:
        from anthropic.resources.messages import messages
    except ImportError:  # an SDK without the table: every listed model counts as current
        messages = None
    return _literal_strings(Model), set(getattr(messages, "DEPRECATED_MODELS", {}))


@cache
def default_anthropic_model(family: str | None = None) -> str:
    """The newest non-deprecated alias of ``family`` (backends.toml ``model_family``) in the SDK's list.

    Derived from the installed ``anthropic`` package, so upgrading the SDK
    moves the default along; a model set in the settings always wins.
    """
    family = family or defaults()["anthropic"]["model_family"]
    names, deprecated = sdk_models()
    versions = {n: v for n in names if n not in deprecated and (v := _model_version(n, family)) is not None}
    if not versions:
        raise ValueError(f"the installed anthropic SDK lists no current '{family}' model; set a model in the settings")
    return max(versions, key=versions.__getitem__)


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``read_s`` is the longest silence before headers or between chunks."""

    connect_s: float
    read_s: float
    write_s: float
    pool_s: float

    @classmethod
    def from_defaults(cls) -> Timeouts:
        return cls(**{f.name: float(defaults()["timeouts"][f.name]) for f in fields(cls)})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_delay_s: float
    max_delay_s: float
    jitter: float
    max_retry_after_s: float
    retry_on_timeout: bool
    retry_on_protocol_error: bool

    @classmethod
    def from_defaults(cls) -> RetryPolicy:
        return cls(**{f.name: defaults()["retry"][f.name] for f in fields(cls)})


@dataclass(frozen=True)
class BackendSettings:
    """Everything needed to build one backend, except the key (see keys.py)."""

    provider: str
    model: str
    base_url: str
    timeouts: Timeouts = field(default_factory=Timeouts.from_defaults)
    retry: RetryPolicy = field(default_factory=RetryPolicy.from_defaults)
    vision: str = "auto"  # "auto" | "on" | "off": may tool results carry images to this model

    def sends_images(self) -> bool:
        """True when tool results may carry images to the model (backends.toml [vision])."""
        return vision_enabled(self.model, self.vision)

    @classmethod
    def for_provider(cls, provider: str, overrides: Mapping[str, Any] | None = None) -> BackendSettings:
        """Defaults for ``provider`` with ``overrides`` applied.

        Overrides are flat: ``model``, ``base_url``, any Timeouts field
        (``read_s``...) or any RetryPolicy field (``max_attempts``...).
        """
        if provider not in PROVIDERS:
            raise ValueError(f"unknown backend provider '{provider}' (known: {', '.join(PROVIDERS)})")
        overrides = dict(overrides or {})
        timeout_names = {f.name for f in fields(Timeouts)}
        retry_names = {f.name for f in fields(RetryPolicy)}
        unknown = set(overrides) - timeout_names - retry_names - {"model", "base_url", "vision"}
        if unknown:
            raise ValueError(f"unknown backend setting(s): {', '.join(sorted(unknown))}")
        section = defaults()[provider]
        timeouts = replace(Timeouts.from_defaults(), **{k: float(v) for k, v in overrides.items() if k in timeout_names})
        retry = replace(RetryPolicy.from_defaults(), **{k: v for k, v in overrides.items() if k in retry_names})
        if retry.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        model = str(overrides.get("model") or section["model"])
        if not model and provider == "anthropic":
            model = default_anthropic_model(section["model_family"])
        return cls(
            provider=provider,
            model=model,
            base_url=str(overrides.get("base_url") or section["base_url"]).rstrip("/"),
            timeouts=timeouts,
            retry=retry,
            vision=_vision_setting(overrides.get("vision")),
        )


VISION_SETTINGS = ("auto", "on", "off")


def _vision_setting(value: Any) -> str:
    value = str(value or defaults()["vision"]["default"]).lower()
    if value not in VISION_SETTINGS:
        raise ValueError(f"vision must be one of {', '.join(VISION_SETTINGS)}, not '{value}'")
    return value


def vision_enabled(model: str, setting: str = "auto") -> bool:
    """Images go to the model only when the setting says on, or says auto and the model's name is a vision
    model's (backends.toml [vision] models): off by default for the rest."""
    setting = _vision_setting(setting)
    if setting != "auto":
        return setting == "on"
    name = (model or "").lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in defaults()["vision"]["models"])


def provider_sends_images(provider: str, overrides: Mapping[str, Any] | None = None) -> bool:
    """``vision_enabled`` for a provider's configured model without building its settings: an empty Anthropic
    model is the SDK's newest Claude alias (every Claude model takes images); an empty OpenAI model is unknown."""
    overrides = overrides or {}
    model = str(overrides.get("model") or defaults().get(provider, {}).get("model") or "")
    if not model and provider == "anthropic":
        model = "claude-" + str(defaults()["anthropic"]["model_family"])
    return vision_enabled(model, str(overrides.get("vision") or "auto"))

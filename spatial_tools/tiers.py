"""Deployment-tier policy: where a model request may go, enforced before any byte leaves.

Tiers (resources/tiers.toml) from least to most strict: ``cloud`` (anything),
``private`` (loopback, private/link-local addresses, the organisation's host
suffixes), ``local`` (loopback only). The required tier is the strictest of
the user's setting and the document's classification. Host names are never
resolved: an attacker-controlled DNS answer must not widen a tier.

What backends must call (they own the sockets):

- a ``RequestGuard`` as their ``request_hook(method, url, content)``: it
  checks every request's URL and audits its exact bytes before they leave.
- ``Policy.check_backend(backend.name, backend.base_url)`` — done by the agent
  loop before every request; backends may call it again.
- ``Policy.event_hooks()`` (or ``httpx_event_hooks(...)``) passed as
  ``httpx.Client(event_hooks=...)``: every request, including each redirect
  hop, is checked before it is sent, and a redirect response pointing outside
  the tier is refused before it is followed.
- ``check_redirect(tier, from_url, to_url)`` where a redirect is handled by hand.
  Our backends follow none (they raise ``Redirected`` with its location); the
  agent loop turns one that points outside the tier into a TierRefused.
- ``find_refusal(exc)`` when mapping exceptions: SDKs wrap hook exceptions
  (the Anthropic SDK raises APIConnectionError from it); re-raise the
  TierRefused instead of retrying.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from freecad_spatial import RESOURCES

TIERS_FILE = RESOURCES / "tiers.toml"


class TierRefused(Exception):
    """A request the tier forbids; nothing was sent. ``str()`` is a one-line reason."""

    def __init__(self, reason: str, *, tier: str = "", host: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.tier = tier
        self.host = host


@cache
def config() -> dict:
    with open(TIERS_FILE, "rb") as fh:
        data = tomllib.load(fh)
    for key in ("tiers", "classifications", "required_tier", "backends", "local", "private", "endpoint"):
        if key not in data:
            raise KeyError(f"{TIERS_FILE.name}: missing '{key}'")
    for level in data["classifications"]:
        if data["required_tier"].get(level) not in data["tiers"]:
            raise ValueError(f"{TIERS_FILE.name}: required_tier.{level} is not one of {data['tiers']}")
    return data


def tiers() -> list[str]:
    return list(config()["tiers"])


def classifications() -> list[str]:
    return list(config()["classifications"])


def _check_tier(tier: str) -> str:
    if tier not in tiers():
        raise ValueError(f"unknown tier '{tier}' (tiers: {', '.join(tiers())})")
    return tier


def strictest(*names: str) -> str:
    """The strictest of the given tiers."""
    order = tiers()
    return max((_check_tier(n) for n in names), key=order.index)


def tier_for_classification(classification: str) -> str:
    if classification not in classifications():
        raise ValueError(f"unknown classification '{classification}' (classifications: {', '.join(classifications())})")
    return config()["required_tier"][classification]


def required_tier(user_tier: str, classification: str) -> str:
    """The strictest of the user's tier and the one the classification demands."""
    return strictest(user_tier, tier_for_classification(classification))


# --- endpoints ---------------------------------------------------------------


def _normalise_suffix(suffix: str) -> str:
    return suffix.strip().strip(".").lower()


def endpoint_host(url: str) -> str:
    """The host a URL connects to, lower-case, without brackets or trailing dot.

    Parsed by the standard library and, when present, by httpx (what the
    backends use); if the two disagree the URL is ambiguous and refused.
    """
    if not isinstance(url, str) or not url.strip():
        raise TierRefused("refused: no endpoint URL given")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise TierRefused(f"refused: endpoint URL {url!r} is malformed ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in config()["endpoint"]["schemes"]:
        raise TierRefused(f"refused: endpoint URL scheme '{scheme or '(none)'}' is not one of {config()['endpoint']['schemes']}")
    if not host:
        raise TierRefused(f"refused: endpoint URL {url!r} names no host")
    host = host.rstrip(".").lower()
    try:
        import httpx
    except ImportError:  # no httpx, no backend that could send: the stdlib parse is the only one
        return host
    try:
        other = httpx.URL(url.strip()).host.rstrip(".").lower()
    except (httpx.InvalidURL, ValueError) as exc:
        raise TierRefused(f"refused: endpoint URL {url!r} is malformed ({exc})") from exc
    if _canonical(other) != _canonical(host):
        raise TierRefused(f"refused: endpoint URL {url!r} is ambiguous (host '{host}' or '{other}')")
    return host


def _canonical(host: str) -> str:
    address = _address(host)
    return str(address) if address is not None else host


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host literal names; IPv4-mapped IPv6 unwrapped; None for a name."""
    text = host.strip("[]").split("%", 1)[0]  # an IPv6 zone id does not change the network
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _in_networks(address, networks: Iterable[str]) -> bool:
    return any(address in ipaddress.ip_network(n) for n in networks)


def _has_suffix(host: str, suffixes: Iterable[str]) -> bool:
    for suffix in map(_normalise_suffix, suffixes):
        if suffix and (host == suffix or host.endswith("." + suffix)):
            return True
    return False


def host_allowed(tier: str, host: str, host_suffixes: Iterable[str] = ()) -> bool:
    """True when ``tier`` may connect to ``host`` (a name or an address literal)."""
    _check_tier(tier)
    if tier == "cloud":
        return True
    cfg = config()
    host = host.rstrip(".").lower()
    address = _address(host)
    if address is not None:
        if _in_networks(address, cfg["local"]["networks"]):
            return True
        return tier == "private" and _in_networks(address, cfg["private"]["networks"])
    if host in cfg["local"]["hostnames"]:
        return True
    suffixes = list(cfg["private"].get("host_suffixes", [])) + list(host_suffixes)
    return tier == "private" and _has_suffix(host, suffixes)


def _why_not(tier: str) -> str:
    if tier == "local":
        return "the local tier allows loopback endpoints only (127.0.0.0/8, ::1, localhost)"
    return ("the private tier allows loopback, private-network addresses and the organisation's "
            "host suffixes only")


def check_endpoint(tier: str, url: str, *, backend: str | None = None, host_suffixes: Iterable[str] = ()) -> str:
    """Returns the endpoint host, or raises TierRefused when ``tier`` forbids the request."""
    _check_tier(tier)
    host = endpoint_host(url)
    if backend is not None and backend not in config()["backends"][tier]:
        allowed = ", ".join(config()["backends"][tier])
        raise TierRefused(f"refused: the {backend} backend is not allowed in the {tier} tier (allowed: {allowed})",
                          tier=tier, host=host)
    if not host_allowed(tier, host, host_suffixes):
        raise TierRefused(f"refused: endpoint host '{host}' is outside the {tier} tier: {_why_not(tier)}", tier=tier, host=host)
    return host


def check_redirect(tier: str, from_url: str, to_url: str, *, host_suffixes: Iterable[str] = ()) -> str:
    """Checks a redirect target (relative ones resolved against ``from_url``) against the tier."""
    target = urljoin(str(from_url), str(to_url))
    try:
        return check_endpoint(tier, target, host_suffixes=host_suffixes)
    except TierRefused as exc:
        raise TierRefused(f"refused redirect from '{endpoint_host(str(from_url))}': {exc.reason.removeprefix('refused: ')}",
                          tier=tier, host=exc.host) from None


def httpx_event_hooks(tier: str, *, host_suffixes: Iterable[str] = ()) -> dict[str, list[Callable[[Any], None]]]:
    """Event hooks for ``httpx.Client(event_hooks=...)``: refuse any request or redirect outside ``tier``.

    The request hook runs before each request of a redirect chain is sent;
    the response hook refuses a redirect before it is followed.
    """
    suffixes = tuple(host_suffixes)

    def on_request(request: Any) -> None:
        check_endpoint(tier, str(request.url), host_suffixes=suffixes)

    def on_response(response: Any) -> None:
        location = response.headers.get("location")
        if response.is_redirect and location:
            check_redirect(tier, str(response.request.url), location, host_suffixes=suffixes)

    return {"request": [on_request], "response": [on_response]}


def find_refusal(exc: BaseException | None) -> TierRefused | None:
    """The TierRefused an exception wraps (``__cause__``/``__context__`` chain), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, TierRefused):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


# --- the policy of one conversation -------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The user's tier, the document's classification and the network allowances."""

    user_tier: str = "cloud"
    classification: str = "unrestricted"
    host_suffixes: tuple[str, ...] = ()
    allow_raw_geometry: bool = True  # cloud tier only: False hides tools returning raw geometry
    images: bool = False  # the model takes images (BackendSettings.sends_images): else no image tools

    def __post_init__(self) -> None:
        _check_tier(self.user_tier)
        tier_for_classification(self.classification)

    @property
    def tier(self) -> str:
        """The tier every request is held to."""
        return required_tier(self.user_tier, self.classification)

    def reason(self) -> str:
        if self.tier == self.user_tier:
            return f"{self.tier} tier"
        return f"{self.tier} tier (the document is {self.classification}; your setting is {self.user_tier})"

    def check_backend(self, backend: str, base_url: str) -> str:
        """Returns the endpoint host or raises TierRefused naming why."""
        try:
            return check_endpoint(self.tier, base_url, backend=backend, host_suffixes=self.host_suffixes)
        except TierRefused as exc:
            if self.tier != self.user_tier:
                raise TierRefused(f"{exc.reason} — required because the document is {self.classification}",
                                  tier=exc.tier, host=exc.host) from None
            raise

    def check_redirect(self, from_url: str, to_url: str) -> str:
        return check_redirect(self.tier, from_url, to_url, host_suffixes=self.host_suffixes)

    def event_hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        return httpx_event_hooks(self.tier, host_suffixes=self.host_suffixes)

    def tool_allowed(self, spec: Any) -> bool:
        """Tier-aware tool list: raw-geometry tools may be turned off in the cloud tier; a tool returning
        images (a render is geometry) needs a model that takes images, and never goes to the cloud for an
        export-controlled document (its tier is local anyway: this holds even if the table changes)."""
        if "image" in getattr(spec, "tags", ()):
            if not self.images:
                return False
            if self.tier == "cloud" and self.classification == "export-controlled":
                return False
        if self.tier == "cloud" and not self.allow_raw_geometry:
            return not getattr(spec, "raw_geometry", False)
        return True


class RequestGuard:
    """The ``request_hook(method, url, content)`` a backend calls with each request's exact bytes.

    It checks the URL against the policy (raising TierRefused before the
    bytes leave) and appends the audit line with the real size and hash. The
    agent loop sets ``tools`` (the tools whose results the next request
    carries) before each model call.
    """

    def __init__(self, policy: Policy, backend: str, *, model: str = "", audit: Any = None):
        self.policy = policy
        self.backend = backend
        self.model = model
        self.audit = audit  # an audit.AuditLog, or None
        self.tools: list[str] = []
        self.requests = 0  # requests let through
        self.bytes_sent = 0

    def _record(self, host: str, content: bytes, refused: str | None = None) -> None:
        if self.audit is not None:
            self.audit.record(tier=self.policy.tier, classification=self.policy.classification, host=host,
                              backend=self.backend, model=self.model, payload=content, tools=self.tools,
                              refused=refused)

    def check(self, url: str) -> str:
        """The endpoint host, or TierRefused (audited as a refusal)."""
        try:
            return self.policy.check_backend(self.backend, url)
        except TierRefused as exc:
            self._record(exc.host, b"", refused=exc.reason)
            raise

    def __call__(self, method: str, url: str, content: bytes) -> None:
        host = self.check(url)
        self._record(host, content)
        self.requests += 1
        self.bytes_sent += len(content)

"""Every way a question can fail, as a title and what the user can do about it.

The controller reports failures by kind (the backends' error kinds, plus
``tier_refused``, ``no_document``, ``missing_dependency`` and ``internal``);
the panel shows this text, through Qt's translation (context ``ChatAdvice``).
One table, so the wording is reviewed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Advice:
    title: str
    action: str


_ADVICE: dict[str, Advice] = {
    "tier_refused": Advice(
        "Refused by the deployment tier — nothing was sent",
        "Use an endpoint the tier allows (Preferences → Spatial: a loopback or company-network "
        "OpenAI-compatible server), or change the tier if the document's classification permits it."),
    "auth": Advice(
        "The model endpoint rejected the API key",
        "Enter a valid key in Preferences → Spatial → API key and press Test connection."),
    "no_key": Advice(
        "No API key is set",
        "Enter your key in Preferences → Spatial → API key (kept in the OS keyring, or for this session only "
        "where no keyring is usable), or set the environment variable before starting FreeCAD."),
    "keyring_unavailable": Advice(
        "The OS keyring cannot be read",
        "Unlock or install a keyring service (e.g. GNOME Keyring / KWallet), or set the environment "
        "variable named in the message before starting FreeCAD."),
    "connection_failed": Advice(
        "The model server cannot be reached",
        "Check that the server is running and the base URL in Preferences → Spatial is right, then ask again."),
    "timeout": Advice(
        "The model server stopped answering",
        "The stream stalled. Ask again; if it keeps happening, check the server's load."),
    "rate_limited": Advice(
        "Rate limited by the model provider",
        "Wait a minute before asking again, or raise the limits of your API plan."),
    "overloaded": Advice(
        "The model provider is overloaded",
        "Wait a little and ask again."),
    "server_error": Advice(
        "The model server had an internal error",
        "Ask again in a moment; if it persists, check the server's logs or status page."),
    "protocol_error": Advice(
        "The model server sent a malformed answer",
        "Ask again; check that the base URL points at an Anthropic or OpenAI-compatible API."),
    "rejected": Advice(
        "The model server rejected the request",
        "Check the model name and base URL in Preferences → Spatial."),
    "redirected": Advice(
        "The model server redirected the request",
        "Redirects are never followed; enter the final URL as the base URL in Preferences → Spatial."),
    "missing_dependency": Advice(
        "A Python package the assistant needs is missing",
        "Press Install in the banner at the top of this panel, then ask again (restart FreeCAD only if the "
        "banner still lists a package)."),
    "no_document": Advice(
        "No document is open",
        "Open or create a document, select what you want to ask about, and ask again."),
    "findings": Advice(
        "The answer stands, but its findings could not be added to the document",
        "The findings are listed in the answer's trace; the Report view has the details."),
    "internal": Advice(
        "The assistant failed unexpectedly",
        "The Report view has the details; please report them with the steps that led here."),
}
_FALLBACK = Advice("The model call failed", "Ask again; if it keeps failing, check Preferences → Spatial.")


def advice(kind: str) -> Advice:
    """The title and action for a failure kind (a generic pair for unknown kinds)."""
    return _ADVICE.get(kind, _FALLBACK)


def kinds() -> list[str]:
    return sorted(_ADVICE)

"""The one preferences accessor of the assistant: FreeCAD parameters, never the key.

Group ``User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/Assistant``.
Unset values fall back to resources/agent.toml and backends.toml. The API key
lives in the OS keyring only (spatial_tools.backends.keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freecad_spatial.spatial_tools.agent.session import Settings

GROUP = "User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/Assistant"
DOCK_GROUP = "User parameter:BaseApp/Preferences/Mod/FreeCADSpatial/ChatDock"


def _params(group: str | None = None) -> Any:
    """The parameter group, read from ``GROUP`` at call time (tests point it at a private group)."""
    import FreeCAD

    return FreeCAD.ParamGet(group or GROUP)


@dataclass
class AssistantPreferences:
    tier: str
    backend: str
    base_url: str  # "" = the provider's default
    model: str  # "" = the provider's default
    step_budget: int
    context_budget_tokens: int
    document_budget_tokens: int
    allow_raw_geometry: bool
    private_host_suffixes: tuple[str, ...]
    cloud_disabled_tools: tuple[str, ...] = ()  # tools the model is not offered in the cloud tier
    vision: str = "auto"  # "auto" | "on" | "off": may tool results carry images (render_view) to the model

    @classmethod
    def load(cls) -> AssistantPreferences:
        p, d = _params(), Settings.load()
        return cls(
            tier=p.GetString("Tier", d.tier),
            backend=p.GetString("Backend", d.backend),
            base_url=p.GetString("BaseUrl", ""),
            model=p.GetString("Model", ""),
            step_budget=p.GetInt("StepBudget", d.step_budget),
            context_budget_tokens=p.GetInt("ContextBudget", d.context_budget_tokens),
            document_budget_tokens=p.GetInt("DocumentBudget", d.document_budget_tokens),
            allow_raw_geometry=p.GetBool("AllowRawGeometry", d.allow_raw_geometry),
            private_host_suffixes=tuple(s.strip() for s in p.GetString("PrivateHosts", ",".join(d.private_host_suffixes)).split(",") if s.strip()),
            cloud_disabled_tools=_names(p.GetString("CloudDisabledTools", "")),
            vision=_vision(p.GetString("Vision", "auto")),
        )

    def save(self) -> None:
        p = _params()
        p.SetString("Tier", self.tier)
        p.SetString("Backend", self.backend)
        p.SetString("BaseUrl", self.base_url.strip())
        p.SetString("Model", self.model.strip())
        p.SetInt("StepBudget", int(self.step_budget))
        p.SetInt("ContextBudget", int(self.context_budget_tokens))
        p.SetInt("DocumentBudget", int(self.document_budget_tokens))
        p.SetBool("AllowRawGeometry", bool(self.allow_raw_geometry))
        p.SetString("PrivateHosts", ",".join(self.private_host_suffixes))
        p.SetString("CloudDisabledTools", ",".join(sorted(set(self.cloud_disabled_tools))))
        p.SetString("Vision", _vision(self.vision))

    def settings(self) -> Settings:
        return Settings.load({
            "tier": self.tier, "backend": self.backend, "step_budget": self.step_budget,
            "context_budget_tokens": self.context_budget_tokens,
            "document_budget_tokens": self.document_budget_tokens,
            "allow_raw_geometry": self.allow_raw_geometry, "private_host_suffixes": list(self.private_host_suffixes),
        })

    def overrides(self) -> dict:
        """Backend overrides: the vision setting only when it is not "auto" (backends.toml decides then)."""
        vision = _vision(self.vision)
        return {k: v for k, v in (("base_url", self.base_url), ("model", self.model),
                                  ("vision", "" if vision == "auto" else vision)) if v}


def _vision(value: str) -> str:
    """A stored vision setting; anything unknown (a hand-edited parameter) reads as "auto"."""
    from freecad_spatial.spatial_tools.backends.settings import VISION_SETTINGS

    value = str(value or "").strip().lower()
    return value if value in VISION_SETTINGS else "auto"


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def chat_config() -> Any:
    """The ChatConfig of the current preferences (read on the GUI thread before each question)."""
    from .chat_controller import ChatConfig

    prefs = AssistantPreferences.load()
    return ChatConfig(prefs.settings(), prefs.overrides(), frozenset(prefs.cloud_disabled_tools))

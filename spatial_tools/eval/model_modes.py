"""The model modes on one item, through the product's own agent loop and backends:

- ``context``: the question with the scene encoding, no tools;
- ``code``: the question with the part's CAD source only (as in CAD-as-code benchmarks);
- ``tools``: the encoding and the tool registry;
- ``cells``: tools and sandboxed code cells.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from ..agent.loop import Agent

MODEL_MODES = ("context", "code", "tools", "cells")


@cache
def eval_settings() -> dict:
    with open(RESOURCES / "eval" / "eval.toml", "rb") as f:
        return tomllib.load(f)


@dataclass
class _EvalAgent(Agent):
    cells: bool = False

    def _has_kernel(self) -> bool:  # code cells only in the cells mode
        return self.cells and super()._has_kernel()


@dataclass(frozen=True)
class ModelConfig:
    backend: str
    model: str | None = None
    base_url: str | None = None
    tier: str | None = None
    steps: int | None = None
    timeout_s: float | None = None  # longest silence of the model's stream (backends.toml read_s)
    backend_settings: tuple[tuple[str, object], ...] = ()  # more BackendSettings overrides (max_attempts...)


def question_for(mode: str, item: Any) -> str:
    conf = eval_settings()["model"]
    question = item.question
    if mode == "code":
        kind, text = next(iter(item.source.items()))
        intro = conf["code_intro"] if kind == "freecad" else f"The part is built by this {kind} source:"
        question = f"{intro}\n```python\n{text}```\n\n{question}"
    return f"{question}\n\n{conf['answer_instruction']}"


def request_classification(item: Any, document: Any) -> str:
    """The classification that picks the tier: the part's, or, with no part (`code` mode sends only the
    source), the strictest marking in the source."""
    from ..classification import classify, find_markings, strictest
    from ..tiers import classifications

    if document is not None:
        return classify(document).level
    source = str(next(iter(item.source.values())))
    return strictest(classifications()[0], *(m.classification for m in find_markings(source, "item source")))


def ask(mode: str, item: Any, document: Any, config: ModelConfig) -> Any:
    """One item in one model mode: the agent's Trace (its stop reason says whether it failed)."""
    from ..agent.session import Session, Settings
    from ..audit import AuditLog
    from ..backends.factory import make_backend
    from ..context import ToolContext
    from ..dfm.profiles import allowed_profile_folders
    from ..encoder import encode_json
    from ..registry import load_builtin_tools
    from ..tiers import Policy, RequestGuard

    steps = config.steps or eval_settings()["model"]["steps"]
    settings = Settings.load({"backend": config.backend, "tier": config.tier, "step_budget": steps})
    overrides = {k: v for k, v in (("model", config.model), ("base_url", config.base_url),
                                   ("read_s", config.timeout_s)) if v}
    overrides.update(dict(config.backend_settings))
    level = request_classification(item, document)
    policy = Policy(user_tier=settings.tier, classification=level,
                    host_suffixes=tuple(settings.private_host_suffixes),
                    allow_raw_geometry=settings.allow_raw_geometry)
    audit = AuditLog(None)  # every request of a run is audited, as for `ask`
    guard = RequestGuard(policy, settings.backend, model=config.model or "", audit=audit)
    backend = make_backend(settings.backend, overrides, request_hook=guard)
    registry = load_builtin_tools()
    context = ToolContext.for_assistant(document, profile_folders=allowed_profile_folders([]))
    uses_tools = mode in ("tools", "cells")
    agent = _EvalAgent(
        backend=backend,
        call_tool=lambda name, arguments: registry.call(name, arguments, context),
        policy=policy,
        session=Session(settings=settings),
        tools=registry.specs() if uses_tools else [],
        document_context=(lambda budget: encode_json(document, [], budget_tokens=budget)) if mode != "code" else None,
        selection=lambda: [],
        audit=audit,
        guard=guard,
        cells=mode == "cells",
    )
    try:
        return agent.ask(question_for(mode, item))
    finally:
        agent.session.close()
        close = getattr(backend, "close", None)
        if close is not None:
            close()

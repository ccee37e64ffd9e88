"""Keeping the model's context under budget: large tool results shortened, old observations elided.

Shortening is structural and deterministic (no model call): lists keep their
first items and say how many were left out, long strings are cut, deep nesting
is folded. Numbers are never rounded, so every value that survives is exact.
The trace always keeps the full result; only the model's copy is shortened.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ..backends.base import Message
from ..tokens import estimate_tokens
from . import prompts

# (items kept per list, characters kept per string, nesting depth), gentlest first.
LADDER = [(20, 400, 8), (10, 200, 6), (5, 120, 5), (3, 80, 4), (2, 60, 3), (1, 40, 2)]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _shrink(value: Any, items: int, chars: int, depth: int) -> Any:
    if isinstance(value, dict):
        if depth <= 0:
            return f"… object with {len(value)} keys"
        return {k: _shrink(v, items, chars, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth <= 0:
            return f"… list of {len(value)} items"
        kept = [_shrink(v, items, chars, depth - 1) for v in value[:items]]
        if len(value) > items:
            kept.append(f"… {len(value) - items} more ({len(value)} in total)")
        return kept
    if isinstance(value, str) and len(value) > chars:
        return value[:chars] + f"… ({len(value)} characters)"
    return value


def summarise(value: Any, budget_tokens: int) -> tuple[str, bool]:
    """``value`` as JSON text within ``budget_tokens`` (tokens.estimate_tokens); True when shortened."""
    text = _dumps(value)
    tokens = estimate_tokens(text)
    if tokens <= budget_tokens:
        return text, False
    note = prompts.message("summarised", tokens=tokens, budget=budget_tokens)
    for items, chars, depth in LADDER:
        candidate = _dumps({"summarised": note, "result": _shrink(value, items, chars, depth)})
        if estimate_tokens(candidate) <= budget_tokens:
            return candidate, True
    head = text
    while head:  # a flat giant (one huge string): keep its head
        head = head[: len(head) // 2]
        candidate = _dumps({"summarised": note, "result_head": head})
        if estimate_tokens(candidate) <= budget_tokens:
            return candidate, True
    return _dumps({"summarised": note}), True


def message_tokens(message: Message) -> int:
    """Estimated tokens of one message, with a few for its framing."""
    total = estimate_tokens(message.text) + 4
    for call in message.tool_calls:
        total += estimate_tokens(call.name) + estimate_tokens(call.raw_arguments or _dumps(call.arguments)) + 4
    return total


def compact_messages(messages: list[Message], budget_tokens: int) -> list[Message]:
    """A copy of the conversation that fits ``budget_tokens``.

    Old tool results are elided first (oldest first, never those of the
    latest model turn); then whole earlier exchanges are dropped, always
    cutting at a user question so tool calls keep their results.
    """
    out = list(messages)
    total = sum(message_tokens(m) for m in out)
    if total <= budget_tokens:
        return out
    last_assistant = max((i for i, m in enumerate(out) if m.role == "assistant"), default=-1)
    for i, m in enumerate(out):
        if total <= budget_tokens:
            return out
        if m.role != "tool" or i > last_assistant:
            continue
        head = " ".join(m.text.split())[:160]
        step = sum(1 for earlier in out[:i] if earlier.role == "assistant")
        short = replace(m, text=prompts.message("elided", index=step, head=head), images=[])
        total += message_tokens(short) - message_tokens(m)
        out[i] = short
    while total > budget_tokens:
        later = [i for i, m in enumerate(out) if m.role == "user" and i > 0]
        if not later:
            break
        cut = later[0]
        total -= sum(message_tokens(m) for m in out[:cut])
        out = out[cut:]
    return out

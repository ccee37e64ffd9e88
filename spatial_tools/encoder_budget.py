"""Budget mode of the scene encoder: the most useful view of a document that fits N tokens.

What goes in first (each step only while it fits, in tree order within a step):

0. the selection, and the selected objects with everything they have;
1. the tree: every object's name, type, label, tip/visibility/state/error
   (top levels first, a Body's Tip before its other features);
2. the parameters (params, placement, attachment, link) of visible objects
   outside Bodies and of each Body's Tip;
3. shape summaries of visible objects;
4. the parameters of the other features of Bodies (FreeCAD hides them: only
   the Tip shows, but they define it);
5. sketch constraints, expressions, spreadsheet aliases;
6. everything of hidden or suppressed objects.

Everything left out is listed in ``omitted`` with the ``query_feature_tree``
call that returns it; many siblings missing the same thing become one entry
with a count and the first and last of them in tree order, and when even that
list does not fit, it is merged per container, then into one entry. A node
with only some of its children shown says ``child_count``. The result is
measured with tokens.estimate_tokens once assembled, and rebuilt smaller until
it fits the budget less the ``[budget] safety`` share of resources/encoder.toml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import encoder
from .encoder_values import config
from .errors import BadArguments
from .tokens import estimate_tokens

_DETAIL_PRIORITY = {"parameters": 2, "shape": 3, "constraints": 5, "expressions": 5, "aliases": 5}
_FEATURE_PARAMETERS_PRIORITY = 4
_HIDDEN_PRIORITY = 6
_MAX_ROUNDS = 16


@dataclass(order=True)
class _Item:
    priority: int
    order: tuple
    kind: str = field(compare=False)  # "selection", "object" or a part name
    node: Any = field(compare=False, default=None)
    index: int = field(compare=False, default=-1)  # selection index
    cost: int = field(compare=False, default=0)


@dataclass
class _Choice:
    selection: set = field(default_factory=set)
    objects: set = field(default_factory=set)  # id(node)
    parts: set = field(default_factory=set)  # (id(node), part)

    def include(self, node: Any, part: str) -> bool:
        if part == "object":
            return id(node) in self.objects
        return (id(node), part) in self.parts


def _cost(value: Any) -> int:
    """Tokens one piece adds, from its bytes: compact encodings run 3.0-3.4 bytes per estimated
    token, and a byte count is ten times cheaper than the estimate over ~2000 pieces. The
    assembled result is measured with the real estimate, so an error here only costs a round."""
    return -(-len(encoder.dumps(value).encode()) // 3) + 1  # + the comma that joins it


def _items(s: encoder.Scene) -> list[_Item]:
    items = [
        _Item(0, (i,), "selection", index=i, cost=_cost(entry)) for i, entry in enumerate(s.selection)
    ]
    for index, node in enumerate(s.nodes):
        tip_last = 0 if node.core.get("tip") else 1
        if node.selected:
            items.append(_Item(0, (1, index), "object", node, cost=_cost(node.core) + 2))
        else:
            items.append(_Item(1, (node.depth, tip_last, index), "object", node, cost=_cost(node.core) + 2))
        for part, content in node.parts.items():
            if not content:
                continue
            if node.selected:
                priority = 0
            elif not node.prominent:
                priority = _HIDDEN_PRIORITY
            elif part == "parameters" and node.in_body and not node.core.get("tip"):
                priority = _FEATURE_PARAMETERS_PRIORITY
            else:
                priority = _DETAIL_PRIORITY[part]
            items.append(_Item(priority, (node.depth, tip_last, index), part, node, cost=_cost(content)))
    items.sort()
    return items


def _choose(items: list[_Item], limit: int, object_cost: dict[int, int]) -> _Choice:
    choice = _Choice()
    used = 0
    for item in items:
        if item.kind == "selection":
            if used + item.cost <= limit:
                choice.selection.add(item.index)
                used += item.cost
            continue
        chain = []  # the node and its ancestors not yet in: a node needs its parents
        node = item.node
        while node is not None and id(node) not in choice.objects:
            chain.append(node)
            node = node.parent
        need = sum(object_cost[id(n)] for n in chain)
        if item.kind != "object":
            need += item.cost
        if used + need > limit:
            continue
        used += need
        choice.objects.update(id(n) for n in chain)
        if item.kind != "object":
            choice.parts.add((id(item.node), item.kind))
    return choice


def _get(path: str, depth: int | None) -> dict:
    args: dict = {}
    if path:
        args["path"] = path
    if depth is not None:
        args["depth"] = depth
    return {"tool": "query_feature_tree", "args": args}


def _group_entry(parent_path: str, what: list[str], nodes: list) -> dict:
    if len(nodes) == 1:
        node = nodes[0]
        pointer = node.parts.get("shape", {}).get("shape", {}).get("get")
        if what == ["shape"] and pointer:  # a large body's numbers: its own (cheaper) call
            return {"path": node.path, "what": what, "get": pointer}
        return {"path": node.path, "what": what, "get": _get(node.path, None if what == ["object"] else 0)}
    entry = {"path": parent_path, "what": what, "count": len(nodes), "first": nodes[0].obj.Name, "last": nodes[-1].obj.Name}
    entry["get"] = _get(parent_path, 1)
    return entry


def _omissions(s: encoder.Scene, choice: _Choice) -> list[tuple[str, tuple, list]]:
    """(parent path, what, nodes) for every group of siblings missing the same thing, tree order."""
    found: list[tuple[str, tuple, list]] = []

    def visit(parent_path: str, children: list) -> None:
        # a folded profile sketch is its feature's sibling here, just before it (document order):
        # query_feature_tree shows it as its own node, so it needs its own pointer
        children = [n for c in children for n in ((c.profile, c) if c.profile is not None else (c,))]
        missing = [c for c in children if id(c) not in choice.objects]
        if missing:
            found.append((parent_path, ("object",) if len(missing) == 1 else ("objects",), missing))
        groups: dict[tuple, list] = {}
        for child in children:
            if id(child) in choice.objects:
                what = tuple(p for p in encoder.PARTS if child.parts.get(p) and (id(child), p) not in choice.parts)
                if what:
                    groups.setdefault(what, []).append(child)
        found.extend((parent_path, what, nodes) for what, nodes in groups.items())
        for child in children:
            if id(child) in choice.objects and child.children:
                visit(child.path, child.children)

    visit("", s.roots)
    return found


def _omitted(s: encoder.Scene, choice: _Choice, coarseness: int) -> list[dict]:
    """The ``omitted`` list: 0 one entry per sibling group (or object when < 3), 1 one per
    parent and kind, 2 a single entry for the whole document (when the finer lists do not fit)."""
    entries: list[dict] = []
    dropped = len(s.selection) - len(choice.selection)
    if dropped:
        entries.append({"path": "", "what": ["selection"], "count": dropped, "get": {"tool": "get_selection", "args": {}}})
    groups = _omissions(s, choice)
    if coarseness == 2 and groups:
        what = [w for w in ("object", "objects", *encoder.PARTS) if any(w in g[1] for g in groups)]
        count = sum(len(g[2]) for g in groups)
        entries.append({"path": "", "what": what, "count": count, "get": _get("", None)})
        return entries
    if coarseness == 1:
        merged: dict[tuple, tuple] = {}
        for parent_path, what, nodes in groups:
            kind = "objects" if what[0] in ("object", "objects") else "parts"
            old = merged.get((parent_path, kind), ((), []))
            merged[(parent_path, kind)] = (tuple(dict.fromkeys(old[0] + what)), old[1] + nodes)
        groups = [(parent_path, what, nodes) for (parent_path, _), (what, nodes) in merged.items()]
    for parent_path, what, nodes in groups:
        if len(nodes) >= 3 or what == ("objects",) or coarseness:
            entries.append(_group_entry(parent_path, list(what), nodes))
        else:
            entries.extend(_group_entry(parent_path, list(what), [n]) for n in nodes)
    return entries


def _assemble(s: encoder.Scene, choice: _Choice, coarseness: int) -> dict:
    out = encoder.header(s.document, s.nodes)
    selection = [entry for i, entry in enumerate(s.selection) if i in choice.selection]
    if selection:
        out["selection"] = selection
    out["tree"] = [encoder.node_dict(r, choice.include) for r in s.roots if id(r) in choice.objects]
    if len(out["tree"]) < len(s.roots):
        out["root_count"] = len(s.roots)
    omitted = _omitted(s, choice, coarseness)
    if omitted:
        out["omitted"] = omitted
    return out


def _minimal(s: encoder.Scene) -> dict:
    out = encoder.header(s.document, s.nodes)
    out["omitted"] = [{"path": "", "what": ["tree"], "get": _get("", None)}]
    return out


def fit(s: encoder.Scene, budget_tokens: int) -> dict:
    """The encoding of scene ``s`` that fits ``budget_tokens`` (estimated), with ``omitted``."""
    if not isinstance(budget_tokens, int) or isinstance(budget_tokens, bool) or budget_tokens <= 0:
        raise BadArguments(f"budget_tokens must be a positive integer, got {budget_tokens!r}")
    target = math.floor(budget_tokens * (1 - config()["budget"]["safety"]))
    object_cost = {id(n): _cost(n.core) + 2 for n in s.nodes}
    items = _items(s)
    reserve = estimate_tokens(encoder.dumps(_minimal(s)))
    best = None
    # Exact pointers first (fine, then per-container omissions); one catch-all pointer only
    # when nothing with exact pointers fits. Piece costs are estimates, so the limit handed
    # to the greedy choice shrinks while the result is over the target and grows into the
    # slack while it is well under.
    for levels in ((0, 1), (2,)):
        limit = target - reserve
        for _ in range(_MAX_ROUNDS):
            if limit <= 0:
                break
            choice = _choose(items, limit, object_cost)
            for coarseness in levels:
                out = _assemble(s, choice, coarseness)
                total = estimate_tokens(encoder.dumps(out))
                if total <= target:
                    break
            if total <= target:
                best = out
                slack = target - total
                if "omitted" not in out or slack <= max(16, target // 50):
                    break
                limit += slack
            elif best is not None:
                break  # growing overshot: keep the last result that fitted
            else:
                limit -= total - target + max(8, (total - target) // 4)
        if best is not None:
            break
    if best is None:
        best = _minimal(s)
        if estimate_tokens(encoder.dumps(best)) > budget_tokens:
            raise BadArguments(
                f"a budget of {budget_tokens} tokens is below the smallest encoding "
                f"({estimate_tokens(encoder.dumps(best))} tokens: header and a pointer to query_feature_tree)"
            )
    return best

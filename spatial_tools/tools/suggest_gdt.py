"""suggest_gdt: a datum reference frame and feature control frames proposed for a part, optionally accepted."""

from __future__ import annotations

from typing import Annotated

from ..context import ToolContext
from ..errors import ReadOnly
from ..gdt.suggest import accept as accept_suggestions
from ..gdt.suggest import suggest
from ..registry import tool
from ..schema import Arg

SUGGESTION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "kind": {"type": "string", "enum": ["datum", "frame", "size"]},
        "title": {"type": "string"}, "reason": {"type": "string"},
        "refs": {"type": "array", "items": {"type": "string"}},
        "letter": {"type": "string"}, "characteristic": {"type": "string"}, "zone": {"type": "number"},
        "diameter_zone": {"type": "boolean"}, "material_modifier": {"type": "string"},
        "datums": {"type": "array", "items": {"type": "string"}}, "standard": {"type": "string"},
        "nominal": {"type": "number"}, "fit_code": {"type": "string"},
    },
    "required": ["id", "kind", "title", "reason", "refs"],
}

RESULT = {
    "type": "object",
    "properties": {
        "object": {"type": "string"},
        "suggestions": {"type": "array", "items": SUGGESTION_SCHEMA},
        "created": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["suggestions", "created"],
}


def _changes(arguments: dict) -> str | None:
    if arguments.get("accept"):
        return ("accept adds GD&T annotation objects to it; call suggest_gdt without accept to propose them, "
                "and the user accepts them with Spatial > Suggest GD&T")
    return None


@tool(result=RESULT, changes_document=_changes)
def suggest_gdt(
    ctx: ToolContext,
    object: Annotated[str | None, Arg("Object Name of the part (default: the document's first part)")] = None,
    accept: Annotated[list[str] | None, Arg(
        "Suggestion ids to create as annotation objects in one undoable step (['all'] for every one); "
        "default: only propose. Refused where the caller may only read the document (the assistant and "
        "code cells, unless the user's command allows changes)")] = None,
) -> dict:
    if accept and not ctx.may_change_document:  # the registry refuses first; this guards direct calls
        raise ReadOnly(f"suggest_gdt: not run: this call may only read the document, and "
                       f"{_changes({'accept': accept})}")
    found = suggest(ctx.document, object)
    created = []
    if accept:
        ids = None if accept == ["all"] else list(accept)
        created = [o.Name for o in accept_suggestions(ctx.document, found, ids)]
    target = found[0].refs[0].split(".")[0] if found and found[0].refs else (object or "")
    return {"object": target, "suggestions": [s.to_dict() for s in found], "created": created}

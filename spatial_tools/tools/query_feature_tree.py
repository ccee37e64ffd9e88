"""query_feature_tree: the canonical tree (encoder.py) below one object, at full detail.

The encoded overview the model gets first may leave things out to fit its
budget; every omission names this tool with the arguments that return it.
The object a path names also gets its own shape summary with a BRepCheck
validity check, which the overview skips on large shapes.
"""

from __future__ import annotations

from typing import Annotated

from .. import encoder
from ..context import ToolContext
from ..registry import tool
from ..schema import Arg

NODE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "label": {"type": "string"},
        "type": {"type": "string"},
        "tip": {"type": "boolean"},
        "visible": {"type": "boolean"},
        "suppressed": {"type": "boolean"},
        "state": {"type": "array", "items": {"type": "string"}},
        "error": {"type": "string"},
        "placement": {"type": "object"},
        "attachment": {"type": "object"},
        "link": {"type": "string"},
        "params": {"type": "object"},
        "sketch": {"type": "object"},
        "expressions": {"type": "object", "additionalProperties": {"type": "string"}},
        "spreadsheet": {"type": "object"},
        "shape": {"type": "object"},
        "children": {"type": "array", "items": {"type": "object"}},
        "child_count": {"type": "integer", "minimum": 0},
    },
    "required": ["name", "type"],
}

RESULT = {
    "type": "object",
    "properties": {
        "schema": {"type": "string"},
        "document": {"type": "object"},
        "units": {"type": "object"},
        "path": {"type": "string"},
        "tree": {"type": "array", "items": NODE_SCHEMA},
        "child_count": {"type": "integer", "minimum": 0},
    },
    "required": ["schema", "path", "tree"],
}


@tool(result=RESULT)
def query_feature_tree(
    ctx: ToolContext,
    path: Annotated[
        str | None,
        Arg("Object Name or container chain, e.g. 'Body' or 'Body.Pad001'; the whole document when omitted"),
    ] = None,
    depth: Annotated[
        int | None,
        Arg("Levels of children to include below the object (0: the object alone); all when omitted", minimum=0),
    ] = None,
) -> dict:
    return encoder.subtree(ctx.document, path=path, depth=depth)

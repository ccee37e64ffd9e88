"""query_feature_tree: the canonical tree (encoder.py) below one object, at full detail.

The encoded overview the model gets first may leave things out to fit its
budget; every omission names this tool with the arguments that return it.
The object a path names also gets its own shape summary; BRepCheck validity
is checked on shapes of up to ``validity_max_faces`` faces unless the caller
asks (``check_validity``), because on a large body it runs for minutes.
"""

from __future__ import annotations

from typing import Annotated

from .. import encoder
from ..context import ToolContext
from ..encoder_values import config
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
        "params": {"type": "object"},  # lower-case (user-added) properties only
        "sketch": {"type": "object"},
        "expressions": {"type": "object", "additionalProperties": {"type": "string"}},
        "spreadsheet": {"type": "object"},
        "shape": {"type": "object"},
        "children": {"type": "array", "items": {"type": "object"}},
        "child_count": {"type": "integer", "minimum": 0},
    },
    "patternProperties": {"^[A-Z]": {}},  # FreeCAD properties (``Length``), by their own names
    "required": ["name", "type"],
}

_VALIDITY_MAX_FACES = config()["limits"]["validity_max_faces"]

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
    check_validity: Annotated[
        bool | None,
        Arg(
            "Run BRepCheck on every shape summarised: true always (minutes on large bodies), false never; "
            f"when omitted only on shapes of up to {_VALIDITY_MAX_FACES} faces"
        ),
    ] = None,
) -> dict:
    return encoder.subtree(ctx.document, path=path, depth=depth, check_validity=check_validity)

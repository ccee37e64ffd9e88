"""import_pmi: the GD&T a supplier's STEP AP242 file carries, listed (or imported) onto its part.

The file is never a host path chosen by the model: for a caller with
restricted folders (the assistant, code cells) it is a plain file name beside
the open document (its saved FCStd's folder); a user's own call (CLI ``tool``)
may give a path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

from ..context import ToolContext
from ..errors import BadArguments, BadReference, NotPermitted, ReadOnly
from ..gdt.pmi_import import READER_TIMEOUT, import_pmi, read_pmi_records, skip_reason
from ..gdt.pmi_summary import public_summary
from ..registry import tool
from ..schema import Arg

ITEM = {"type": "object", "properties": {"kind": {"type": "string"}, "what": {"type": "string"}, "reason": {"type": "string"},
                                         "object": {"type": "string"}}}
RESULT = {
    "type": "object",
    "properties": {
        "file": {"type": "string"},
        "target": {"type": "string"},
        "applied": {"type": "boolean"},
        "imported": {"type": "object"},
        "items": {"type": "array", "items": ITEM},
        "skipped": {"type": "array", "items": ITEM},
        "skipped_by_kind": {"type": "object"},
    },
    "required": ["file", "target", "applied", "imported", "skipped"],
}


def _changes(arguments: dict) -> str | None:
    if arguments.get("apply"):
        return "apply adds the file's GD&T as annotation objects; call import_pmi without apply to list them, and the user imports them with Spatial > Import GD&T from STEP"
    return None


def _step_file(ctx: ToolContext, file: str) -> Path:
    """The STEP file named by ``file``; for restricted callers only a name beside the saved document."""
    text = (file or "").strip()
    if not text or "\0" in text:
        raise BadArguments("import_pmi: file must name a .step/.stp file")
    if not text.lower().endswith((".step", ".stp")):
        raise BadArguments(f"import_pmi: {text!r} is not a .step/.stp file")
    if ctx.profile_folders is None:
        path = Path(os.path.expanduser(text))
    else:
        if os.path.basename(text) != text or text in (".", ".."):
            raise NotPermitted(f"import_pmi: {text!r}: only a file name beside the open document can be named here, not a path")
        saved = getattr(ctx.document, "FileName", "") or ""
        if not saved:
            raise NotPermitted("import_pmi: the document is not saved, so no STEP file beside it can be named; the user imports PMI with Spatial > Import GD&T from STEP")
        path = Path(os.path.dirname(saved)) / text
    if not path.is_file():
        raise NotPermitted(f"import_pmi: no STEP file {text!r} " + ("beside the document" if ctx.profile_folders is not None else "there"))
    return path


def _target(ctx: ToolContext, name: str | None) -> Any:
    document = ctx.document
    if name:
        obj = document.getObject(name)
        if obj is None or not hasattr(obj, "Shape") or obj.Shape.isNull():
            raise BadReference(f"import_pmi: no part named {name!r}")
        return obj
    parts = [o for o in document.Objects if o.TypeId.startswith("Part::") and hasattr(o, "Shape") and o.Shape.Solids]
    if len(parts) != 1:
        raise BadArguments(f"import_pmi: the document holds {len(parts)} solid parts; name the one the STEP file describes (object)")
    return parts[0]


@tool(result=RESULT, changes_document=_changes, name="import_pmi")
def import_pmi_tool(
    ctx: ToolContext,
    file: Annotated[str, Arg("The supplier's STEP AP242 file: a file name beside the open (saved) document")],
    object: Annotated[str | None, Arg("Object Name of the part the file describes (default: the document's only solid part)")] = None,
    apply: Annotated[bool, Arg("Create the GD&T objects in one undoable step; refused to you (read-only): list them, "
                               "the user imports with Spatial > Import GD&T from STEP")] = False,
) -> dict:
    if apply and not ctx.may_change_document:
        raise ReadOnly(f"import_pmi: not run: this call may only read the document, and {_changes({'apply': True})}")
    path = _step_file(ctx, file)
    target = _target(ctx, object)
    timeout = READER_TIMEOUT if ctx.deadline is None else max(1.0, ctx.deadline - time.monotonic())
    if apply:
        data = public_summary(import_pmi(ctx.document, path, target=target, timeout=timeout))
        return data | {"applied": True}
    found = read_pmi_records(path, shape=target.Shape, object_name=target.Name, timeout=timeout)
    imported: dict[str, int] = {}
    for record in found["records"]:
        if skip_reason(record) is None:
            imported[record["kind"]] = imported.get(record["kind"], 0) + 1
    return {"file": path.name, "target": target.Name, "applied": False, "imported": imported,
            "skipped": found["skipped"], "skipped_by_kind": found["skipped_by_kind"]}

"""check_gdt: the gdt.* validation rules over the document's GD&T, and the bonus of MMC/LMC frames."""

from __future__ import annotations

from typing import Annotated

from ..context import ToolContext
from ..dfm.finding import FINDING_SCHEMA, Severity
from ..gdt.bonus import frame_bonus
from ..gdt.validation import check_gdt as run_rules
from ..gdt.validation.model import Geometry, read_gdt
from ..refs import resolve_object
from ..registry import tool
from ..schema import Arg

BONUS_SCHEMA = {
    "type": "object",
    "properties": {
        "frame": {"type": "string"}, "label": {"type": "string"}, "modifier": {"type": "string"},
        "stated": {"type": "number"}, "actual": {"type": "number"}, "mmc_size": {"type": "number"},
        "lmc_size": {"type": "number"}, "size_tolerance": {"type": "number"}, "bonus": {"type": "number"},
        "allowed": {"type": "number"}, "size_source": {"type": "string"}, "feature": {"type": "string"},
        "error": {"type": "string"},
    },
    "required": ["frame", "modifier"],
}

RESULT = {
    "type": "object",
    "properties": {
        "findings": {"type": "array", "items": FINDING_SCHEMA},
        "summary": {"type": "object", "properties": {s.value: {"type": "integer"} for s in Severity},
                    "required": [s.value for s in Severity]},
        "rules_run": {"type": "array", "items": {"type": "string"}},
        "annotations": {"type": "integer"},
        "bonus": {"type": "array", "items": BONUS_SCHEMA},
    },
    "required": ["findings", "summary", "rules_run", "annotations", "bonus"],
}


@tool(result=RESULT)
def check_gdt(
    ctx: ToolContext,
    objects: Annotated[list[str] | None, Arg("Object Names whose GD&T to check (default: every annotation of the document)")] = None,
) -> dict:
    for name in objects or []:
        resolve_object(ctx.document, name)  # a bad name is an error naming it, never an empty pass
    result = run_rules(ctx.document, objects)
    summary = {s.value: 0 for s in Severity}
    for finding in result.findings:
        summary[finding.severity.value] += 1
    gdt = read_gdt(ctx.document, objects)
    geometry = Geometry(ctx.document)
    bonus = [frame_bonus(f, geometry, gdt.sizes, gdt.general_tolerance) for f in gdt.frames if f.material_modifier in ("MMC", "LMC")]
    return {**result.to_dict(), "summary": summary, "bonus": bonus}

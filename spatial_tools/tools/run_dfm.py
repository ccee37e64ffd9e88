"""run_dfm: the DFM rules of one process over the document's parts (tools.md).

A caller restricted to the profile folders (the model, a code cell: the
context's ``profile_folders``) names a profile of the library, never a host
file; see ``profiles.restricted_profile``.

A call with a deadline (the model's, a code cell's) runs apart like every
tool call and is killed when the budget is spent (registry.py,
tool_process.py). A call without one (the user's own) runs in-process.
"""

from __future__ import annotations

from typing import Annotated, Any

from ..context import ToolContext
from ..dfm.engine import DfmResult, check_document
from ..dfm.finding import FINDING_SCHEMA, Severity
from ..dfm.profiles import processes, restricted_profile
from ..registry import tool
from ..schema import VEC3_SCHEMA, Arg, Vec3

RESULT = {
    "type": "object",
    "properties": {
        "process": {"type": "string"},
        "material": {"type": "string"},
        "findings": {"type": "array", "items": FINDING_SCHEMA},
        "summary": {
            "type": "object",
            "properties": {s.value: {"type": "integer"} for s in Severity},
            "required": [s.value for s in Severity],
        },
        "checked": {"type": "array", "items": {"type": "string"}},
        "not_checked": {"type": "array", "items": {"type": "object"}},
        "skipped": {"type": "array", "items": {"type": "object"}},
        "rules_run": {"type": "array", "items": {"type": "string"}},
        "not_implemented": {"type": "array", "items": {"type": "string"}},
        "pull_direction": VEC3_SCHEMA,
        "build_direction": VEC3_SCHEMA,
    },
    "required": ["process", "findings", "summary", "checked", "not_checked", "rules_run", "not_implemented"],
}


@tool(result=RESULT)
def run_dfm(
    ctx: ToolContext,
    process: Annotated[str, Arg("Manufacturing process whose rules to run", schema={"type": "string", "enum": processes()})],
    objects: Annotated[list[str] | None, Arg("Object Names to check (default: every part of the document)")] = None,
    profile: Annotated[
        str | dict | None,
        Arg(
            "A profile of the profile library or the user's profile folders, by name (e.g. 'shop-strict'), "
            "or an object of overrides, e.g. "
            '{"material": "steel", "rules": {"cnc.deep_hole": {"warn_above": 6}}}'
        ),
    ] = None,
    material: Annotated[str | None, Arg("Material of the profile (e.g. aluminium, steel, abs, pc)")] = None,
    pull_direction: Annotated[Vec3 | None, Arg("Mold opening direction for injection molding (default +Z)")] = None,
    build_direction: Annotated[Vec3 | None, Arg("Build direction for additive processes (default +Z)")] = None,
) -> dict:
    if ctx.profile_folders is not None:
        profile = restricted_profile(process, profile, ctx.profile_folders)
    arguments = dict(objects=objects, profile=profile, pull_direction=pull_direction, build_direction=build_direction,
                     material=material)
    return tool_result(check_document(ctx.document, process, **arguments))


def tool_result(result: DfmResult) -> dict:
    """The tool's result for ``result``; the worker builds it with this too, so both paths answer alike."""
    summary = {s.value: 0 for s in Severity}
    for finding in result.findings:
        summary[finding.severity.value] += 1
    data: dict[str, Any] = result.to_dict()
    data.pop("profile")
    return {
        **data,
        "material": result.profile.material,
        "summary": summary,
        "pull_direction": list(result.profile.pull_direction),
        "build_direction": list(result.profile.build_direction),
    }

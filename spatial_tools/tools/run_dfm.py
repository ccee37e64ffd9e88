"""run_dfm: the DFM rules of one process over the document's parts (tools.md).

A caller restricted to the profile folders (the model, a code cell: the
context's ``profile_folders``) names a profile of the library, never a host
file; see ``profiles.restricted_profile``.

A call with a deadline (the model's, a code cell's) runs in a forked child
killed when the budget is spent (tool_process.py); where there is no fork
(Windows, macOS) it runs the rules in the Check dialog's worker process
(annotations/background.py), killed the same way: an OpenCASCADE call cannot
be stopped in-process. A call without one (the user's own) runs in-process.
"""

from __future__ import annotations

import subprocess
import time
from typing import Annotated, Any

from .. import tool_process
from ..context import ToolContext, unlimited_hint
from ..dfm.engine import DfmResult, check_document
from ..dfm.finding import FINDING_SCHEMA, Severity
from ..dfm.profiles import processes, restricted_profile
from ..errors import DeadlineExceeded
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
    if ctx.deadline is not None and not tool_process.in_child():
        return _run_in_worker(ctx, process, **arguments)
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


def _run_in_worker(ctx: ToolContext, process: str, *, objects: list[str] | None, profile: Any,
                   pull_direction: Any, build_direction: Any, material: str | None) -> dict:
    """The check in a worker process, killed (its scratch folder removed) when the call's budget is spent."""
    from ..annotations.background import BackgroundCheck, Job, tool_error
    from ..dfm.profiles import load_profile

    started = time.monotonic()
    # A bad profile is reported before any object, and without a process, as in-process.
    load_profile(process, profile, material=material, pull_direction=pull_direction, build_direction=build_direction)
    job = Job(process=process, objects=None if objects is None else tuple(objects), profile=profile, material=material,
              pull_direction=pull_direction, build_direction=build_direction)
    check = BackgroundCheck(ctx.document, job)
    try:
        check.start()
        left = ctx.remaining()
        result = check.wait(max(left or 0.0, 0.0))
    except subprocess.TimeoutExpired:
        check.cancel()
        ran = time.monotonic() - started
        raise DeadlineExceeded(
            f"run_dfm: stopped after {ran:.1f} s: the call's time budget ran out before the rules finished on "
            f"{len(check.names)} object(s). {unlimited_hint('run_dfm', {'process': process})}") from None
    finally:
        if check.running() or check.process is None:
            check.cancel()
    if result.data is None:
        raise tool_error(result)
    return result.data

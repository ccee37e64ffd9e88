"""The one registry of spatial tools: function, argument schema, result schema.

Argument schemas are derived from each function's signature so the two cannot
drift apart; descriptions are data in ``resources/prompts/tools.toml``. The
registry exports Anthropic and OpenAI tool definitions and turns every call
into the result envelope of tools.md.

Every call runs under its caller's limits (context.py): a call is not
started when too little of its time budget is left, a call that would change
the document is refused for a read-only caller, a call with a deadline runs
in a forked child killed when it is spent (tool_process.py, Linux), and
tools check the deadline between the steps of their long loops
(``deadline_exceeded``).
"""

from __future__ import annotations

import importlib
import inspect
import math
import time
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_type_hints

from freecad_spatial import RESOURCES

from . import errors, tool_process, tool_worker
from .context import limits_of, min_start_s, unlimited_hint
from .schema import REF_SCHEMA, schema_for, validate

DESCRIPTIONS_FILE = RESOURCES / "prompts" / "tools.toml"

# Modules that define the built-in tools; importing one registers its tools.
BUILTIN_TOOL_MODULES = [
    "freecad_spatial.spatial_tools.tools.query_feature_tree",
    "freecad_spatial.spatial_tools.tools.get_selection",
    "freecad_spatial.spatial_tools.tools.select_region",
    "freecad_spatial.spatial_tools.tools.measure_distance",
    "freecad_spatial.spatial_tools.tools.measure_angle",
    "freecad_spatial.spatial_tools.tools.measure_thickness",
    "freecad_spatial.spatial_tools.tools.mass_properties",
    "freecad_spatial.spatial_tools.tools.check_interference",
    "freecad_spatial.spatial_tools.tools.find_features",
    "freecad_spatial.spatial_tools.tools.run_dfm",
    "freecad_spatial.spatial_tools.tools.fit",
    "freecad_spatial.spatial_tools.tools.general_tolerance",
    "freecad_spatial.spatial_tools.tools.stack_up",
    "freecad_spatial.spatial_tools.tools.check_gdt",
    "freecad_spatial.spatial_tools.tools.suggest_gdt",
    "freecad_spatial.spatial_tools.tools.import_pmi",
    "freecad_spatial.spatial_tools.tools.render_view",
]


@cache
def _descriptions() -> dict:
    with open(DESCRIPTIONS_FILE, "rb") as fh:
        return tomllib.load(fh)


@dataclass
class ToolSpec:
    name: str
    function: Callable[..., dict]
    description: str
    input_schema: dict
    result_schema: dict
    raw_geometry: bool = False  # returns coordinates/meshes: may be turned off in cloud tier
    needs_document: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    # arguments -> why this call would change the document, or None when it only reads it.
    changes_document: Callable[[dict], str | None] | None = None
    # True: acts on the GUI (selects), so it never runs in a forked child (tool_process.py).
    in_process: bool = False

    # What the model reads (``brief`` and ``args`` of tools.toml): shorter than ``description``,
    # which MCP clients and the tools dialog show; empty when tools.toml gives no brief.
    brief: str = ""
    arg_notes: dict[str, str] = field(default_factory=dict)

    def model_description(self) -> str:
        return self.brief or self.description

    def model_input_schema(self) -> dict:
        return model_schema(self.input_schema, self.arg_notes)

    def anthropic(self) -> dict:
        """The model's definition: brief description and compact input schema, no result schema."""
        return {"name": self.name, "description": self.model_description(), "input_schema": self.model_input_schema()}

    def openai(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.model_description(),
                         "parameters": self.model_input_schema()},
        }

    def full(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "result_schema": self.result_schema,
            "raw_geometry": self.raw_geometry,
        }


# Schema keys the model does without: the registry validates every call against the full schema
# and its error message names the broken bound, so bounds and closed objects cost tokens on every
# request for nothing.
_MODEL_DROPS = frozenset({"additionalProperties", "minItems", "maxItems", "minimum", "maximum"})
# Schema levels below the root the model sees in full (1: arguments, 2: their fields and items).
MODEL_SCHEMA_DEPTH = 3


def model_schema(schema: dict, notes: dict[str, str] | None = None, depth: int = 0) -> dict:
    """The compact input schema the model is offered: names, types, enums and required kept down
    to the fields of an argument (deeper: type and enum only; the argument's note says the rest);
    a reference is ``{"type": ["string", "object"]}``; only arguments keep a description,
    replaced by ``notes[name]`` when tools.toml gives one ("" drops it)."""
    if schema.get("anyOf") == REF_SCHEMA["anyOf"]:
        return {"type": ["string", "object"]}
    if depth > MODEL_SCHEMA_DEPTH:
        return {k: v for k, v in schema.items() if k in ("type", "enum")}
    out: dict = {}
    for key, value in schema.items():
        if key in _MODEL_DROPS or key == "description":
            continue
        if key == "properties":
            value = {name: model_schema(sub, None, depth + 1) for name, sub in value.items()}
            if depth == 0:
                for name, sub in schema["properties"].items():
                    note = (notes or {}).get(name, sub.get("description", ""))
                    if note:
                        value[name]["description"] = note
        elif key == "items" and isinstance(value, dict):
            value = model_schema(value, None, depth + 1)
        elif key == "anyOf":
            value = [model_schema(v, None, depth + 1) for v in value]
        elif key == "required" and not value:
            continue
        out[key] = value
    return out


def _input_schema(function: Callable) -> dict:
    hints = get_type_hints(function, include_extras=True)
    properties: dict[str, dict] = {}
    required: list[str] = []
    params = list(inspect.signature(function).parameters.values())[1:]  # first is the context
    for param in params:
        if param.name not in hints:
            raise TypeError(f"{function.__name__}: argument '{param.name}' has no type hint")
        properties[param.name] = schema_for(hints[param.name])
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


class Registry:
    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}

    def register(self, spec: ToolSpec) -> None:
        if spec.name in self._tools and self._tools[spec.name].function is not spec.function:
            raise ValueError(f"tool '{spec.name}' registered twice")
        self._tools[spec.name] = spec

    def tool(
        self,
        *,
        result: dict,
        raw_geometry: bool = False,
        needs_document: bool = True,
        name: str | None = None,
        changes_document: Callable[[dict], str | None] | None = None,
        in_process: bool = False,
        tags: tuple[str, ...] = (),
    ) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
        """Decorator: registers ``function(ctx, **arguments) -> result dict``.

        ``changes_document(arguments)`` names what a call would change in the document (None when it
        only reads it); such calls are refused for read-only callers (the model, code cells).
        """

        def wrap(function: Callable[..., dict]) -> Callable[..., dict]:
            tool_name = name or function.__name__
            entry = _descriptions().get("tools", {}).get(tool_name)
            if not entry or not entry.get("description"):
                raise KeyError(f"tool '{tool_name}' has no description in {DESCRIPTIONS_FILE.name}")
            self.register(
                ToolSpec(
                    name=tool_name,
                    function=function,
                    description=entry["description"].strip(),
                    brief=" ".join(entry.get("brief", "").split()),
                    arg_notes=dict(entry.get("args", {})),
                    input_schema=_input_schema(function),
                    result_schema=result,
                    raw_geometry=raw_geometry,
                    needs_document=needs_document,
                    changes_document=changes_document,
                    in_process=in_process,
                    tags=tuple(tags),
                )
            )
            return function

        return wrap

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [self._tools[n] for n in self.names()]

    def get(self, name: str) -> ToolSpec:
        if name not in self._tools:
            raise errors.UnknownTool(f"no tool named '{name}' (tools: {', '.join(self.names())})")
        return self._tools[name]

    def anthropic_tools(self, allowed: Callable[[ToolSpec], bool] | None = None) -> list[dict]:
        return [s.anthropic() for s in self.specs() if allowed is None or allowed(s)]

    def openai_tools(self, allowed: Callable[[ToolSpec], bool] | None = None) -> list[dict]:
        return [s.openai() for s in self.specs() if allowed is None or allowed(s)]

    def call(self, name: str, arguments: Any, ctx: Any) -> dict:
        """Runs a tool and returns the envelope; never raises for a tool's failure.

        Limits carried by ``arguments`` (a ToolArguments) tighten those of ``ctx``.
        """
        return self.start(name, arguments, ctx).wait()

    def start(self, name: str, arguments: Any, ctx: Any) -> tool_process.Pending:
        """Starts a call; ``.wait(cancel)`` gives its envelope (on any thread) and never raises for the
        tool's failure. Call this where the document may be touched (FreeCAD's GUI thread).

        A call with a deadline runs apart, killed when the budget is spent or the caller cancels: in a
        forked child (tool_process.py, Linux) or else in a worker process on a copy of the document
        (tool_worker.py), unless the tool acts on the GUI (``in_process``), the call may change the
        document or has no document (pure computations that check their deadline between steps); a
        call without a deadline (the user's own) runs here, now.
        """
        try:
            spec = self.get(name)
            if arguments is None:
                arguments = {}
            limits = limits_of(arguments)
            if limits is not None and hasattr(ctx, "with_limits"):
                ctx = ctx.with_limits(limits)
            problems = validate(arguments, spec.input_schema)
            if problems:
                if _only_references(problems, spec.input_schema):
                    raise errors.BadReference(f"{name}: " + "; ".join(problems))
                raise errors.BadArguments(f"{name}: " + "; ".join(problems))
            if spec.needs_document and getattr(ctx, "document", None) is None:
                raise errors.NoDocument(f"{name} needs an open document")
            changes = _check_may_change(spec, arguments, ctx)
            _check_budget(name, ctx)
        except errors.ToolError as exc:
            return tool_process.Done(exc.envelope())
        deadline = getattr(ctx, "deadline", None)
        if deadline is None or spec.in_process or changes or tool_process.in_child():
            return tool_process.Done(_run(spec, ctx, arguments))
        if tool_process.available():
            return _Apart(tool_process.start(lambda: _run(spec, ctx, arguments), deadline, name), name, arguments)
        document = getattr(ctx, "document", None)
        if document is not None and tool_worker.available():
            try:
                pending = tool_worker.start_tool(document, name, arguments, ctx.current_selection(),
                                                 ctx.profile_folders, deadline, getattr(ctx, "view_camera", None))
            except Exception as exc:  # no worker could be started: say so, never run unbounded instead
                return tool_process.Done(errors.InternalError(
                    f"{name}: no worker process could be started to run it under its time budget: {exc}").envelope())
            return _Apart(pending, name, arguments)
        return tool_process.Done(_run(spec, ctx, arguments))


class _Apart(tool_process.Pending):
    """A call in a forked child or a worker process; its failures (deadline, Stop, a dead kernel process) come
    back as envelopes."""

    def __init__(self, pending: tool_process.Pending, name: str, arguments: dict):
        self.pending = pending
        self.name = name
        self.arguments = arguments

    def wait(self, cancel: Any = None) -> dict:
        try:
            return self.pending.wait(cancel)
        except errors.DeadlineExceeded as exc:
            return errors.DeadlineExceeded(f"{exc.message}. {unlimited_hint(self.name, self.arguments)}").envelope()
        except errors.ToolError as exc:
            return exc.envelope()
        except tool_process.Cancelled:
            return errors.DeadlineExceeded(f"{self.name}: stopped by the user").envelope()
        except Exception as exc:  # the pipe or the answer failed: never a pass, never a crash of the caller
            return errors.InternalError(f"{self.name} failed: {type(exc).__name__}: {exc}").envelope()

    def kill(self) -> None:
        self.pending.kill()


def _run(spec: ToolSpec, ctx: Any, arguments: dict) -> dict:
    """The tool's function and its envelope: in this process, or in the forked child."""
    name = spec.name
    try:
        result = spec.function(ctx, **arguments)
        return {"ok": True, "result": clean(result)}
    except errors.ToolError as exc:
        return exc.envelope()
    except Exception as exc:  # a kernel failure must not look like a pass, nor crash the caller
        kind = type(exc).__name__
        if kind in ("OCCError", "FreeCADError", "CADKernelError", "Base.FreeCADError"):
            return errors.GeometryError(f"{name}: the kernel failed: {exc}").envelope()
        detail = traceback.format_exception_only(exc)[-1].strip()
        return errors.InternalError(f"{name} failed: {detail}").envelope()


def _check_may_change(spec: ToolSpec, arguments: dict, ctx: Any) -> bool:
    """A read-only caller (the model, a code cell) never reaches a tool that would change the document.
    True when the call will change it (it then runs in this process, where the document is)."""
    if spec.changes_document is None:
        return False
    reason = spec.changes_document(arguments)
    if not reason:
        return False
    if getattr(ctx, "may_change_document", True):
        return True
    raise errors.ReadOnly(
        f"{spec.name}: not run: this call may only read the document (tool calls from the assistant and from "
        f"code cells are read-only), and {reason}")


def _check_budget(name: str, ctx: Any) -> None:
    """Refuses to start a call whose time budget is spent or too short for it to start."""
    deadline = getattr(ctx, "deadline", None)
    if deadline is None:
        return
    left = deadline - time.monotonic()
    need = min_start_s(name)
    if left < need:
        raise errors.DeadlineExceeded(
            f"{name}: not started: {max(left, 0.0):.2f} s of the time budget was left and it needs at least "
            f"{need:g} s")


def _only_references(problems: list[str], schema: dict) -> bool:
    """True when every problem is in a reference argument: a malformed ref such as
    {"point": [x, y]} is a bad reference (tools.md), whichever check caught it."""
    refs = {k for k, s in schema.get("properties", {}).items() if s.get("anyOf") == REF_SCHEMA["anyOf"]}
    names = {p.split(":", 1)[0].split("[", 1)[0].partition(".")[2].split(".", 1)[0] for p in problems}
    return bool(refs) and names <= refs


def _number(value: float) -> float | None:
    if not math.isfinite(value):
        return None
    rounded = round(value, 9)
    return 0.0 if rounded == 0 else rounded


def clean(value: Any) -> Any:
    """Makes a result JSON-safe: vectors to lists, tiny float noise rounded off.

    It runs on every tool result, so the common types are tested first and by
    exact type (bool is an int, not a float, and stays as it is).
    """
    kind = type(value)
    if kind is float:
        return _number(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, float):
        return _number(float(value))
    if hasattr(value, "x") and hasattr(value, "y") and hasattr(value, "z"):
        return [_number(float(value.x)), _number(float(value.y)), _number(float(value.z))]
    return value


REGISTRY = Registry()
tool = REGISTRY.tool


def load_builtin_tools() -> Registry:
    for module in BUILTIN_TOOL_MODULES:
        importlib.import_module(module)
    return REGISTRY

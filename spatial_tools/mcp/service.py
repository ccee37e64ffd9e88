"""What the Spatial MCP server offers and how each call runs: no MCP SDK here, so it is testable as is.

An MCP client is a model destination (tiers.md): the server's tier decides
which tools it offers (``Policy.tool_allowed``, as for the chat) and what it
returns. A document whose classification demands a stricter tier than the
server's (an export-controlled part on a cloud-tier server) gets no tool
result, scene or findings: the call is refused and the refusal is appended to
the audit log with 0 bytes, like a refused model request. Everything that is
returned is audited as what it is: bytes leaving for a model.

Tool calls run exactly as the chat's: ``ToolContext.for_assistant`` (read-only,
profiles from the library only) with the deadline of one model call, started
where the document lives and forked (tool_process.py), waited for on the
server's thread; a client that goes away cancels the wait and the child is
killed. ``run_python`` is the chat's CellKernel with its sandbox and budgets.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..audit import AuditLog
from ..context import CallLimits, ToolArguments, ToolContext, cell_tool_deadline
from ..errors import BadArguments, DeadlineExceeded, ToolError, UnknownTool
from ..tiers import Policy
from . import config
from .documents import Entry, OpenDocuments
from .marshal import Direct

DOCUMENT_ARG = "document"
OPEN, LIST, CLOSE, SUBMIT, RUN_PYTHON = "open_document", "list_documents", "close_document", "submit_findings", "run_python"
SCENE, FINDINGS = "scene", "findings"
URI_PREFIX = "spatial://documents/"


class TierRefusal(ToolError):
    code = "tier_refused"


def _document_schema() -> dict:
    return {"type": "string", "description": config.tool_description("document_argument")}


_DOC_INFO = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "path": {"type": "string"},
                   "classification": {"type": "string"}, "served": {"type": "boolean"}},
    "required": ["name", "path", "classification", "served"],
}


def _own_tools() -> dict[str, tuple[dict, dict]]:
    """name -> (input schema, output schema) of the server's own tools."""
    from ..agent.findings import FINDING_SCHEMA
    from ..agent.loop import RUN_PYTHON_SCHEMA

    doc = _document_schema()
    return {
        OPEN: ({"type": "object", "properties": {"path": {"type": "string", "description": "FCStd, STEP or BREP file"}},
                "required": ["path"], "additionalProperties": False}, _DOC_INFO),
        LIST: ({"type": "object", "properties": {}, "additionalProperties": False},
               {"type": "object", "properties": {"documents": {"type": "array", "items": _DOC_INFO},
                                                 "tier": {"type": "string"}},
                "required": ["documents", "tier"]}),
        CLOSE: ({"type": "object", "properties": {DOCUMENT_ARG: {**doc, "description": "name or file path"}},
                 "required": [DOCUMENT_ARG], "additionalProperties": False},
                {"type": "object", "properties": {"closed": {"type": "string"}}, "required": ["closed"]}),
        SUBMIT: ({"type": "object", "properties": {"findings": {"type": "array", "items": FINDING_SCHEMA},
                                                   DOCUMENT_ARG: doc},
                  "required": ["findings"], "additionalProperties": False},
                 {"type": "object", "properties": {"added": {"type": "array", "items": {"type": "string"}},
                                                   "document": {"type": "string"}},
                  "required": ["added", "document"]}),
        RUN_PYTHON: ({**RUN_PYTHON_SCHEMA, "properties": {**RUN_PYTHON_SCHEMA["properties"], DOCUMENT_ARG: doc}},
                     {"type": "object", "properties": {"ok": {"type": "boolean"}, "stdout": {"type": "string"},
                                                       "value": {}, "error": {}}, "required": ["ok"]}),
    }


def mcp_output_schema(result_schema: dict) -> dict:
    """The MCP output schema of a result schema: structured content must be an object through the
    2025 protocol versions, so a result of another type is given as ``{"result": value}``."""
    if result_schema.get("type") == "object":
        return result_schema
    return {"type": "object", "properties": {"result": result_schema}, "required": ["result"]}


def structured(result: Any) -> dict:
    """The structured content of a result (see ``output_schema``)."""
    return result if isinstance(result, dict) else {"result": result}


@dataclass(frozen=True)
class ToolDefinition:
    name: str
    description: str
    input_schema: dict
    output_schema: dict


@dataclass
class ServiceSettings:
    tier: str = "cloud"
    allow_raw_geometry: bool = True
    disabled_tools: frozenset[str] = frozenset()  # turned off in the cloud tier (the preference page)
    call_timeout_s: float | None = None  # None: mcp.toml / the chat's model_call_s
    destination: str = "mcp-client"  # the audit log's host: the transport the results leave by
    allow_cells: bool = True


@dataclass
class _Cells:
    kernel: Any = None
    limits: CallLimits | None = None
    document: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SpatialService:
    """The server's tools, resources and prompts over a set of documents. Thread-safe."""

    def __init__(self, documents: OpenDocuments | None = None, settings: ServiceSettings | None = None, *,
                 audit: AuditLog | None = None, marshal: Any = None,
                 publish: Callable[[Any, list[dict]], list[str]] | None = None,
                 selection: Callable[[], list[dict]] | None = None,
                 on_select: Callable[[list[str]], None] | None = None):
        from ..registry import load_builtin_tools

        self.documents = documents if documents is not None else OpenDocuments()
        self.settings = settings or ServiceSettings()
        # MCP clients take image content (render_view); the tier and raw-geometry rules still hold.
        self.policy = Policy(user_tier=self.settings.tier, allow_raw_geometry=self.settings.allow_raw_geometry,
                             images=True)
        self.audit = audit if audit is not None else AuditLog()
        self.marshal = marshal or Direct()
        self.publish = publish or _add_findings
        self.selection = selection or (lambda: [])
        self.on_select = on_select
        self.registry = load_builtin_tools()
        self.client = ""  # the client's name once it says it (the audit log's "model")
        self._cells = _Cells()
        self._levels: dict[tuple, str] = {}  # see _classification

    # --- what is offered ----------------------------------------------------------

    def _offered(self, spec: Any) -> bool:
        if self.policy.tier == "cloud" and spec.name in self.settings.disabled_tools:
            return False
        return self.policy.tool_allowed(spec)

    def _cells_available(self) -> bool:
        if not self.settings.allow_cells:
            return False
        from ..agent.loop import _kernel_available

        return _kernel_available()

    def tools(self) -> list[ToolDefinition]:
        """Every tool this tier offers: the registry's (with an optional ``document``), then the server's."""
        out = []
        for spec in self.registry.specs():
            if not self._offered(spec):
                continue
            schema = json.loads(json.dumps(spec.input_schema))
            if spec.needs_document:
                schema["properties"][DOCUMENT_ARG] = _document_schema()
            out.append(ToolDefinition(spec.name, spec.description, schema, mcp_output_schema(spec.result_schema)))
        for name, (input_schema, output_schema) in _own_tools().items():
            if name == RUN_PYTHON and not self._cells_available():
                continue
            out.append(ToolDefinition(name, config.tool_description(name), input_schema, output_schema))
        return out

    # --- documents and the tier ---------------------------------------------------

    def _deadline(self) -> float:
        budget = self.settings.call_timeout_s or config.call_timeout_s()
        return time.monotonic() + budget

    def _on_documents(self, fn: Callable[[], Any], deadline: float, cancel: Any = None) -> Any:
        return self.marshal.run(fn, deadline, cancel)

    def _classification(self, entry: Entry) -> str:
        """The document's effective classification. Remembered only for documents nobody but this server
        changes (headless; forgotten when findings are added); the live session's are read on every call."""
        from ..classification import classify

        key = (entry.name, entry.path, id(entry.document))
        if self.documents.changed_only_by_server and key in self._levels:
            return self._levels[key]
        level = classify(entry.document, extra_names=[entry.path] if entry.path else []).level
        if self.documents.changed_only_by_server:
            self._levels[key] = level
        return level

    def _policy_for(self, classification: str) -> Policy:
        return Policy(user_tier=self.settings.tier, classification=classification,
                      allow_raw_geometry=self.settings.allow_raw_geometry, images=True)

    def _check_tier(self, what: str, classification: str) -> Policy:
        """The document's policy; TierRefusal (audited, 0 bytes) when its tier is stricter than the server's."""
        policy = self._policy_for(classification)
        if policy.tier != self.settings.tier:
            reason = (f"refused: {what}: the document is {classification}, which needs the {policy.tier} tier; this "
                      f"MCP server runs in the {self.settings.tier} tier, so nothing about it is returned "
                      f"(start the server with --tier {policy.tier} on a machine whose model client is allowed it)")
            self.audit.record(tier=policy.tier, classification=classification, host=self.settings.destination,
                              backend=config.server()["audit_backend"], model=self.client, payload=b"",
                              tools=[what], refused=reason)
            raise TierRefusal(reason)
        return policy

    def _sent(self, what: str, classification: str, payload: bytes) -> None:
        self.audit.record(tier=self._policy_for(classification).tier, classification=classification,
                          host=self.settings.destination, backend=config.server()["audit_backend"],
                          model=self.client, payload=payload, tools=[what])

    def _info(self, entry: Entry) -> dict:
        """A document as the client sees it in the list; the path of one it may not be served is withheld
        (folder and file names can name the programme the part belongs to)."""
        level = self._classification(entry)
        served = self._policy_for(level).tier == self.settings.tier
        return {"name": entry.name, "path": entry.path if served else "", "classification": level, "served": served}

    # --- calls ----------------------------------------------------------------------

    def call(self, name: str, arguments: dict | None, cancel: Any = None) -> dict:
        """The envelope of one call ({"ok": true, "result"} or {"ok": false, "error"}); never raises."""
        classification = "unrestricted"
        try:
            arguments = dict(arguments or {})
            if name in _own_tools() and (name != RUN_PYTHON or self._cells_available()):
                classification, envelope = self._own(name, arguments, cancel)
            else:
                classification, envelope = self._registry_call(name, arguments, cancel)
        except ToolError as exc:
            envelope = exc.envelope()
            if isinstance(exc, TierRefusal):
                return envelope  # audited as a refusal already, 0 bytes
        except Exception as exc:  # the server stays up whatever a call does
            envelope = {"ok": False, "error": {"code": "internal_error", "message": f"{name}: {type(exc).__name__}: {exc}"}}
        self._sent(name, classification, json.dumps(envelope, ensure_ascii=False).encode())
        return envelope

    def _registry_call(self, name: str, arguments: dict, cancel: Any, limits: CallLimits | None = None,
                       document: str | None = None) -> tuple[str, dict]:
        spec = self.registry.get(name)
        if not self._offered(spec):
            raise UnknownTool(f"{name} is not offered in the {self.policy.tier} tier")
        doc_name = arguments.pop(DOCUMENT_ARG, None) if spec.needs_document else None
        if doc_name is not None and not isinstance(doc_name, str):
            raise BadArguments(f"{name}.document: expected the name of an open document")
        doc_name = doc_name or document
        deadline = self._deadline()
        if limits is not None and limits.deadline is not None:
            deadline = min(deadline, limits.deadline)
        call_args = ToolArguments.wrap(arguments, limits) if limits is not None else arguments

        def start() -> tuple[str, Any]:
            level = "unrestricted"
            doc = None
            if spec.needs_document:
                entry = self.documents.get(doc_name)
                level = self._classification(entry)
                self._check_tier(name, level)
                doc = entry.document
            context = ToolContext.for_assistant(doc, selection=self.selection(), on_select=self.on_select,
                                                deadline=deadline)
            return level, self.registry.start(name, call_args, context)

        level, pending = self._on_documents(start, deadline, cancel)
        return level, pending.wait(cancel)

    def _own(self, name: str, arguments: dict, cancel: Any) -> tuple[str, dict]:
        from ..schema import validate

        problems = validate(arguments, _own_tools()[name][0], name)
        if problems:
            raise BadArguments("; ".join(problems))
        deadline = self._deadline()
        if name == OPEN:
            info = self._on_documents(lambda: self._info(self.documents.open(arguments["path"])), deadline, cancel)
            return "unrestricted", {"ok": True, "result": info}
        if name == LIST:
            infos = self._on_documents(lambda: [self._info(e) for e in self.documents.entries()], deadline, cancel)
            return "unrestricted", {"ok": True, "result": {"documents": infos, "tier": self.settings.tier}}
        if name == CLOSE:
            closed = self._on_documents(lambda: self.documents.close(arguments[DOCUMENT_ARG]).name, deadline, cancel)
            return "unrestricted", {"ok": True, "result": {"closed": closed}}
        if name == SUBMIT:
            return self._submit(arguments, deadline, cancel)
        return self._run_cell(arguments, cancel)

    def _submit(self, arguments: dict, deadline: float, cancel: Any) -> tuple[str, dict]:
        from ..agent.findings import validate_findings

        findings, problems = validate_findings(arguments["findings"])
        if problems:
            raise BadArguments("submit_findings: nothing was added: " + "; ".join(problems))

        def add() -> tuple[str, dict]:
            entry = self.documents.get(arguments.get(DOCUMENT_ARG))
            level = self._classification(entry)
            names = self.publish(entry.document, findings) or []
            self._levels.clear()  # the document changed
            return level, {"ok": True, "result": {"added": list(names), "document": entry.name}}

        return self._on_documents(add, deadline, cancel)

    def _run_cell(self, arguments: dict, cancel: Any) -> tuple[str, dict]:
        """A code cell in the chat's sandbox (CellKernel) with its budgets; its tool calls go through
        ``_registry_call`` under the cell's limits, on the cell's document."""
        doc_name = arguments.get(DOCUMENT_ARG)
        level = self._on_documents(lambda: self._check_cell_document(doc_name), self._deadline(), cancel)
        with self._cells.lock:
            kernel = self._kernel()
            budget = float(kernel.config.time_s)
            try:
                kernel.start()
            except Exception:  # the kernel reports it when the cell runs
                pass
            self._cells.limits = CallLimits.assistant(deadline=cell_tool_deadline(time.monotonic() + budget))
            self._cells.document = doc_name
            watcher = _interrupt_on_cancel(kernel, cancel)
            try:
                result = kernel.run(arguments["code"], selection=self.selection())
            finally:
                watcher.set()
                self._cells.limits = None
        visible = {k: result.get(k) for k in ("ok", "stdout", "value", "error")}
        if result.get("ok"):
            return level, {"ok": True, "result": visible}
        error = result.get("error")
        if isinstance(error, dict):
            line = f" (line {error['line']})" if error.get("line") else ""
            error = f"{error.get('message', error)}{line}"
        return level, {"ok": False, "error": {"code": "cell_failed", "message": str(error),
                                              "stdout": result.get("stdout") or ""}}

    def _check_cell_document(self, doc_name: str | None) -> str:
        entry = self.documents.get(doc_name)
        level = self._classification(entry)
        self._check_tier(RUN_PYTHON, level)
        return level

    def _kernel(self) -> Any:
        if self._cells.kernel is None:
            from ..agent.cell_kernel import CellKernel

            allowed = sorted(s.name for s in self.registry.specs() if self._offered(s))

            def call_tool(name: str, arguments: dict) -> dict:
                if name not in allowed:
                    return UnknownTool(f"{name} is not offered in the {self.policy.tier} tier").envelope()
                limits = self._cells.limits or CallLimits.assistant()
                try:
                    return self._registry_call(name, dict(arguments or {}), None, limits, self._cells.document)[1]
                except ToolError as exc:
                    return exc.envelope()

            self._cells.kernel = CellKernel(call_tool, [], tool_names=allowed)
        return self._cells.kernel

    # --- resources and prompts ----------------------------------------------------------

    def resources(self) -> list[dict]:
        entries = self._on_documents(self.documents.entries, self._deadline())
        texts = config.config()["resources"]
        out = []
        for entry in entries:
            for kind in (SCENE, FINDINGS):
                out.append({"uri": f"{URI_PREFIX}{entry.name}/{kind}", "name": f"{entry.name}-{kind}",
                            "title": texts[kind]["title"].format(name=entry.name),
                            "description": texts[kind]["description"], "mime_type": "application/json"})
        return out

    def read_resource(self, uri: str, cancel: Any = None) -> str:
        """The resource's JSON text; ToolError when it is unknown or refused by the tier."""
        if not uri.startswith(URI_PREFIX) or uri.count("/") != 4:
            raise ToolError(f"unknown resource '{uri}' (resources: {URI_PREFIX}NAME/scene, {URI_PREFIX}NAME/findings)")
        name, kind = uri[len(URI_PREFIX):].split("/")
        if kind not in (SCENE, FINDINGS):
            raise ToolError(f"unknown resource '{uri}': {kind} is neither scene nor findings")
        deadline = self._deadline()
        what = f"resource:{kind}"

        def start() -> tuple[str, Any]:
            from .. import tool_process

            entry = self.documents.find(name)
            level = self._classification(entry)
            self._check_tier(what, level)
            if kind == FINDINGS:
                from ..annotations.store import read_findings

                text = json.dumps([f.to_dict() for f in read_findings(entry.document)], ensure_ascii=False)
                return level, tool_process.Done(text)
            from ..agent.session import Settings
            from ..encoder import encode_json

            budget = Settings.load().document_budget_tokens
            document = entry.document
            return level, tool_process.start(lambda: encode_json(document, [], budget_tokens=budget), deadline,
                                             "the document's scene encoding")

        level, pending = self._on_documents(start, deadline, cancel)
        try:
            text = pending.wait(cancel)
        except ToolError:
            raise
        except Exception as exc:
            raise DeadlineExceeded(f"{uri}: {type(exc).__name__}: {exc}") from exc
        self._sent(what, level, text.encode())
        return text

    def prompts(self) -> list[dict]:
        out = []
        for name, entry in config.config()["prompts"].items():
            defaults = entry.get("defaults", {})
            out.append({"name": name, "title": entry["title"], "description": entry["description"],
                        "arguments": [{"name": a, "description": d, "required": a not in defaults}
                                      for a, d in entry["arguments"].items()]})
        return out

    def prompt(self, name: str, arguments: dict | None) -> tuple[str, str]:
        """(description, text) of a prompt with its arguments filled in."""
        entry = config.config()["prompts"].get(name)
        if entry is None:
            raise ToolError(f"no prompt named '{name}' (prompts: {', '.join(config.config()['prompts'])})")
        values = {**entry.get("defaults", {}), **{k: str(v) for k, v in (arguments or {}).items()}}
        missing = [a for a in entry["arguments"] if a not in values]
        if missing:
            raise ToolError(f"prompt {name} needs {', '.join(missing)}")
        return entry["description"], entry["body"]["text"].strip().format(**values)

    def close(self) -> None:
        kernel, self._cells.kernel = self._cells.kernel, None
        if kernel is not None:
            kernel.close()


def _add_findings(document: Any, findings: list[dict]) -> list[str]:
    """Headless: the findings become annotation objects of the open document (one undoable step)."""
    from ..annotations.store import add_findings
    from ..dfm.finding import Finding

    objects = add_findings(document, [Finding.from_dict(f) for f in findings], process="assistant", checked=())
    document.recompute()
    return [o.Name for o in objects]


def _interrupt_on_cancel(kernel: Any, cancel: Any) -> threading.Event:
    """Interrupts the running cell when ``cancel`` trips (the client went away); set the event when done."""
    done = threading.Event()
    if cancel is None:
        return done

    def watch() -> None:
        while not done.wait(0.05):
            if getattr(cancel, "cancelled", False):
                kernel.interrupt()
                return

    threading.Thread(target=watch, name="mcp-cell-cancel", daemon=True).start()
    return done

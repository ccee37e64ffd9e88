"""The agent loop: plan -> act (tool call or code cell) -> observe -> answer, under hard budgets.

Every model request passes the tier policy first (a refusal raises
TierRefused and sends nothing) and is written to the audit log. Tools run on
the host through an injected ``call_tool(name, arguments) -> envelope``, so
the GUI can marshal them to its main thread; the agent itself never imports
FreeCAD. The loop ends on a submitted answer (``submit_findings``, ``submit``
from a cell, or plain text), on cancel, or — on the step budget or after
repeated failures — with one last call without tools that asks for the
answer from what was gathered.

Every tool call the model makes, directly or from a code cell, carries its
limits on the arguments (context.ToolArguments, applied by Registry.call
whatever host runs it): a deadline (``tool_time_s`` for a direct call, what
is left of the cell's budget for a cell's call), read-only unless the host's
command allows changes (``may_change_document``), and profiles only from the
profile library and configured folders. Findings the model submits are not
written by a tool: the host adds them after the answer.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..audit import AuditLog
from ..backends.base import (
    Backend,
    CancelToken,
    Message,
    ModelTurn,
    StreamEvent,
    SystemSection,
    ToolCall,
    Usage,
    split_images,
)
from ..backends.errors import BackendError, Cancelled, Redirected
from ..context import CallLimits, ToolArguments, cell_tool_deadline, model_call_s
from ..schema import validate
from ..tiers import Policy, RequestGuard, TierRefused, endpoint_host, find_refusal
from ..tokens import estimate_tokens
from . import prompts
from .findings import SUBMIT_SCHEMA, validate_submission
from .session import Session
from .steps import (
    ActionStep,
    ErrorStep,
    FinalAnswerStep,
    FindingsStep,
    ModelCallStep,
    ObservationStep,
    PlanningStep,
    Step,
    ToolCallRecord,
    Trace,
)
from .summarise import compact_messages, message_tokens, summarise

RUN_PYTHON = "run_python"
SUBMIT_FINDINGS = "submit_findings"
RUN_PYTHON_SCHEMA: dict = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "the Python cell to run"}},
    "required": ["code"],
    "additionalProperties": False,
}

CallTool = Callable[[str, dict], dict]


def _json_problem(raw: str) -> str:
    """What is wrong with arguments that did not parse, in the parser's words."""
    if not raw.strip():
        return "they are empty"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at character {exc.pos}"
    return f"a JSON {type(value).__name__} where an object was expected"


def context_tokens(system: list[SystemSection], messages: list[Message], tools: list[dict]) -> int:
    """Estimated tokens of one whole request: system prompt (with the document), tools, messages."""
    fixed = sum(estimate_tokens(s.text) + 4 for s in system)
    fixed += estimate_tokens(json.dumps(tools, ensure_ascii=False, separators=(",", ":"))) if tools else 0
    return fixed + sum(message_tokens(m) for m in messages)


def _kernel_available() -> bool:
    """The code-cell kernel is optional: without it, or where cells cannot be isolated (off Linux),
    the model gets no run_python tool."""
    if importlib.util.find_spec(f"{__package__}.cell_kernel") is None:
        return False
    try:
        from .cell_kernel import cells_unavailable_reason
    except ImportError:  # e.g. RestrictedPython missing: the kernel says so when a cell runs
        return True
    return cells_unavailable_reason() is None


@dataclass
class _StepOutcome:
    submitted: tuple[str, list[dict]] | None = None
    all_failed: bool = False
    cancelled: bool = False


@dataclass
class Agent:
    """One assistant bound to a backend, a host and a policy. ``ask`` runs one question."""

    backend: Backend
    call_tool: CallTool
    policy: Policy
    session: Session = field(default_factory=Session)
    tools: list[Any] | None = None  # registry ToolSpecs offered to the model; None: every built-in tool
    document_context: Callable[[int], str | None] | None = None  # budget_tokens -> encoded document
    selection: Callable[[], list[dict]] | None = None
    # (call_tool, selection) -> a kernel with run(code, selection=...); None: CellKernel if installed.
    kernel_factory: Callable[[CallTool, list[dict]], Any] | None = None
    audit: AuditLog | None = None
    # The backend's request_hook, when it was built with one: it audits the exact wire bytes.
    guard: RequestGuard | None = None
    on_step: Callable[[Step], None] | None = None
    on_event: Callable[[StreamEvent], None] | None = None
    # True only for a command whose user asked for changes (e.g. "apply these suggestions"); the
    # model's and the cells' tool calls are read-only otherwise.
    may_change_document: bool = False
    # Seconds one direct tool call of the model may take; None: tool_limits.toml, model_call_s.
    tool_time_s: float | None = None

    # --- set-up ---------------------------------------------------------------

    def _specs(self) -> list[Any]:
        if self.tools is not None:
            return list(self.tools)
        from ..registry import load_builtin_tools

        return load_builtin_tools().specs()

    def _has_kernel(self) -> bool:
        return self.kernel_factory is not None or _kernel_available()

    def tool_definitions(self) -> list[dict]:
        """What the model is offered: tier-allowed registry tools, then the agent's own."""
        from ..registry import model_schema  # the compact form the registry's own tools go out in

        definitions = [spec.anthropic() for spec in self._specs() if self.policy.tool_allowed(spec)]
        if self._has_kernel():
            definitions.append({"name": RUN_PYTHON, "description": prompts.tool_description(RUN_PYTHON),
                                "input_schema": model_schema(RUN_PYTHON_SCHEMA)})
        definitions.append({"name": SUBMIT_FINDINGS, "description": prompts.tool_description(SUBMIT_FINDINGS),
                            "input_schema": model_schema(SUBMIT_SCHEMA)})
        return definitions

    def _emit(self, trace: Trace, step: Step) -> None:
        trace.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    # --- the loop -------------------------------------------------------------

    def ask(self, question: str, *, cancel: CancelToken | None = None) -> Trace:
        settings = self.session.settings
        trace = Trace(question=question, backend=self.backend.name, model=self.backend.model,
                      tier=self.policy.tier, classification=self.policy.classification)
        started = time.perf_counter()
        self._check_policy(trace, payload=b"", tools=[])
        tool_defs = self.tool_definitions()
        context = self.document_context(settings.document_budget_tokens) if self.document_context else None
        system = prompts.build_system(context, exclude=set() if self._has_kernel() else {"code"})
        # The whole request stays under context_budget_tokens: what the system prompt, the
        # document and the tool definitions take is left for the conversation.
        message_budget = max(1, settings.context_budget_tokens - context_tokens(system, [], tool_defs))
        self.session.messages.append(Message(role="user", text=question))
        carried: list[str] = []  # tools whose results the next request carries (for the audit)
        failures = 0
        stop = "budget"
        for index in range(1, settings.step_budget + 1):
            if cancel is not None and cancel.cancelled:
                return self._finish(trace, started, "", "cancelled")
            context_messages = compact_messages(self.session.messages, message_budget)
            # A caching breakpoint after the newest message: the next step re-reads this prefix.
            context_messages[-1] = replace(context_messages[-1], cache=True)
            turn = self._call(trace, index, system, context_messages, tool_defs, carried, cancel)
            if turn is None:
                return self._finish(trace, started, prompts.message("no_answer", reason=trace.error), "error")
            carried = []
            if turn.stop_reason == "cancelled" or (cancel is not None and cancel.cancelled):
                return self._finish(trace, started, "", "cancelled")
            text = turn.text.strip()
            if not turn.tool_calls:
                if text:
                    self.session.messages.append(Message(role="assistant", text=turn.text))
                    return self._finish(trace, started, text, "end_turn")
                self.session.messages.append(Message(role="user", text=prompts.message("empty_turn")))
                failures += 1
                if failures >= settings.max_consecutive_failures:
                    stop = "failures"
                    break
                continue
            self.session.messages.append(Message(role="assistant", text=turn.text, tool_calls=list(turn.tool_calls)))
            if text:
                self._emit(trace, PlanningStep(index=index, text=text))
            outcome = self._act(trace, index, turn.tool_calls, {d["name"] for d in tool_defs}, carried, cancel)
            if outcome.submitted is not None:
                answer, found = outcome.submitted
                trace.findings.extend(found)
                self.session.findings.extend(found)
                return self._finish(trace, started, answer, "submitted")
            if outcome.cancelled:
                return self._finish(trace, started, "", "cancelled")
            failures = failures + 1 if outcome.all_failed else 0
            if failures >= settings.max_consecutive_failures:
                stop = "failures"
                break
        return self._force_answer(trace, started, stop, failures, system, carried, cancel)

    # --- model calls ------------------------------------------------------------

    def _payload(self, system: list[SystemSection], messages: list[Message], tools: list[dict]) -> bytes:
        """The canonical request, measured and hashed for the audit log (never stored)."""
        request = {
            "backend": self.backend.name,
            "model": self.backend.model,
            "max_tokens": self.session.settings.max_output_tokens,
            "system": [asdict(s) for s in system],
            "messages": [asdict(m) for m in messages],
            "tools": tools,
        }
        return json.dumps(request, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")

    def _audit(self, trace: Trace, payload: bytes, tools: list[str], refused: str | None = None) -> None:
        if self.audit is None:
            return
        try:
            host = endpoint_host(self.backend.base_url)
        except TierRefused:
            host = ""
        self.audit.record(tier=trace.tier, classification=trace.classification, host=host,
                          backend=self.backend.name, model=self.backend.model, payload=payload,
                          tools=tools, refused=refused)

    def _check_policy(self, trace: Trace, payload: bytes, tools: list[str]) -> None:
        try:
            self.policy.check_backend(self.backend.name, self.backend.base_url)
        except TierRefused as exc:
            self._audit(trace, payload, tools, refused=exc.reason)
            self._emit(trace, ErrorStep(index=trace.model_calls, message=exc.reason))
            raise

    def _call(self, trace: Trace, index: int, system: list[SystemSection], messages: list[Message],
              tools: list[dict], carried: list[str], cancel: CancelToken | None, *, forced: bool = False) -> ModelTurn | None:
        """One policy-checked, audited model request; None (with trace.error set) when the backend failed."""
        payload = self._payload(system, messages, tools)
        self._check_policy(trace, payload, carried)
        if self.guard is None:
            self._audit(trace, payload, carried)
        else:
            self.guard.tools = list(carried)
        seen = (self.guard.requests, self.guard.bytes_sent) if self.guard is not None else (0, 0)
        trace.model_calls += 1
        started = time.perf_counter()
        try:
            turn = self.backend.complete(system, messages, tools, cancel=cancel, on_event=self.on_event,
                                         max_tokens=self.session.settings.max_output_tokens)
        except TierRefused as exc:
            self._emit(trace, ErrorStep(index=index, message=exc.reason))
            raise
        except BackendError as exc:
            refusal = find_refusal(exc) or self._redirect_refusal(exc)
            if refusal is not None:
                self._audit(trace, b"", [], refused=refusal.reason)
                self._emit(trace, ErrorStep(index=index, message=refusal.reason))
                raise refusal from exc
            if isinstance(exc, Cancelled):
                partial = exc.partial if isinstance(exc.partial, ModelTurn) else None
                if partial is not None:
                    trace.usage.add(partial.usage)
                return ModelTurn(text="", tool_calls=[], stop_reason="cancelled",
                                 usage=partial.usage if partial else Usage())
            trace.error = str(exc) or type(exc).__name__
            self._emit(trace, ErrorStep(index=index, message=trace.error))
            return None
        if self.guard is not None and self.guard.requests == seen[0]:
            self._audit(trace, payload, carried)  # an answer came without the hook firing: log what was handed over
        sent = self.guard.bytes_sent - seen[1] if self.guard is not None and self.guard.requests > seen[0] else len(payload)
        trace.usage.add(turn.usage)
        if turn.model:
            trace.model = turn.model
        self._emit(trace, ModelCallStep(index=index, model=turn.model or self.backend.model,
                                        stop_reason=turn.stop_reason, usage=turn.usage, bytes_sent=sent,
                                        ms=round((time.perf_counter() - started) * 1000, 1), forced=forced,
                                        context_tokens=context_tokens(system, messages, tools)))
        return turn

    def _redirect_refusal(self, exc: BackendError) -> TierRefused | None:
        """Backends never follow redirects; one that points outside the tier is a refusal, not an error."""
        if not isinstance(exc, Redirected) or not exc.location:
            return None
        try:
            self.policy.check_redirect(self.backend.base_url, exc.location)
        except TierRefused as refusal:
            return refusal
        return None

    # --- actions ----------------------------------------------------------------

    def _act(self, trace: Trace, index: int, calls: list[ToolCall], allowed: set[str], carried: list[str],
             cancel: CancelToken | None) -> _StepOutcome:
        outcome = _StepOutcome()
        results: list[bool] = []
        for call in calls:
            skip = None
            if outcome.submitted is not None:
                skip = prompts.message("not_run")
            elif cancel is not None and cancel.cancelled:
                outcome.cancelled = True
                skip = prompts.message("cancelled")
            if skip is not None:  # every call still gets a result, or the conversation cannot continue
                self.session.messages.append(Message(role="tool", text=skip, tool_call_id=call.id, is_error=True))
                continue
            self._emit(trace, ActionStep(index=index, call_id=call.id, tool=call.name, arguments=call.arguments,
                                         raw_arguments=call.raw_arguments))
            started = time.perf_counter()
            ok, content, result, submitted = self._run_one(call, allowed, cancel)
            ms = round((time.perf_counter() - started) * 1000, 1)
            summarised = False
            visible, images = split_images(result) if ok else (result, [])
            if content is None:
                settings = self.session.settings
                content, summarised = summarise(visible, settings.tool_result_budget_tokens)
            self.session.messages.append(Message(role="tool", text=content, tool_call_id=call.id, is_error=not ok,
                                                 images=images))
            trace.tool_calls.append(ToolCallRecord(index=index, call_id=call.id, tool=call.name,
                                                   arguments=call.arguments, ok=ok, result=result, ms=ms))
            self._emit(trace, ObservationStep(index=index, call_id=call.id, tool=call.name, ok=ok, content=content,
                                              summarised=summarised, ms=ms))
            carried.append(call.name)
            results.append(ok)
            if submitted is not None:
                self._emit(trace, FindingsStep(index=index, findings=submitted[1]))
                outcome.submitted = submitted
        outcome.all_failed = bool(results) and not any(results)
        return outcome

    def _run_one(self, call: ToolCall, allowed: set[str], cancel: CancelToken | None) -> tuple[bool, str | None, Any, tuple[str, list[dict]] | None]:
        """(ok, content for the model or None to summarise ``result``, result for the trace, submission)."""
        if call.arguments is None:
            raw = call.raw_arguments if len(call.raw_arguments) <= 500 else call.raw_arguments[:500] + "…"
            text = prompts.message("bad_arguments", tool=call.name, raw=json.dumps(raw), problem=_json_problem(call.raw_arguments))
            return False, text, {"error": {"code": "bad_arguments", "message": text}}, None
        if call.name not in allowed:
            text = prompts.message("unknown_tool", tool=call.name, names=", ".join(sorted(allowed)))
            return False, text, {"error": {"code": "unknown_tool", "message": text}}, None
        if call.name == SUBMIT_FINDINGS:
            return self._submit(call.arguments)
        if call.name == RUN_PYTHON:
            return self._run_cell(call.arguments, cancel)
        budget = self.tool_time_s if self.tool_time_s is not None else model_call_s()
        limits = CallLimits.assistant(deadline=time.monotonic() + budget, may_change_document=self.may_change_document)
        try:
            envelope = self.call_tool(call.name, ToolArguments.wrap(call.arguments, limits))
        except Exception as exc:  # the host failed (e.g. GUI marshalling): the model sees why, the loop goes on
            envelope = {"ok": False, "error": {"code": "host_error", "message": f"{call.name}: the host could not run the tool: {type(exc).__name__}: {exc}"}}
        if envelope.get("ok"):
            return True, None, envelope.get("result"), None
        return False, None, envelope.get("error", envelope), None

    def _submit(self, arguments: dict) -> tuple[bool, str, Any, tuple[str, list[dict]] | None]:
        answer, found, problems = validate_submission(arguments)
        if problems:
            text = prompts.message("findings_rejected", problems="; ".join(problems))
            return False, text, {"error": {"code": "bad_findings", "message": text}}, None
        return True, prompts.message("findings_accepted", count=len(found)), {"answer": answer, "findings": found}, (answer, found)

    def _make_kernel(self, selection: list[dict]) -> Any:
        """The conversation's kernel; cells reach only the tools the tier offers the model."""
        allowed = {spec.name for spec in self._specs() if self.policy.tool_allowed(spec)}
        session = self.session

        def call_tool(name: str, arguments: dict) -> dict:
            if name not in allowed:
                text = prompts.message("unknown_tool", tool=name, names=", ".join(sorted(allowed)))
                return {"ok": False, "error": {"code": "unknown_tool", "message": text}}
            # The running cell's limits, from the session: the kernel outlives this Agent (one per question).
            limits = session.cell_limits or CallLimits.assistant(may_change_document=self.may_change_document)
            return self.call_tool(name, ToolArguments.wrap(arguments, limits))

        if self.kernel_factory is not None:
            return self.kernel_factory(call_tool, selection)
        from .cell_kernel import CellKernel

        return CellKernel(call_tool, selection, tool_names=sorted(allowed))

    @staticmethod
    def _run_interruptible(kernel: Any, code: str, selection: list[dict], cancel: CancelToken | None) -> dict:
        """Runs a cell; a cancel meanwhile interrupts it (the kernel kills its worker)."""
        if cancel is None or not hasattr(kernel, "interrupt"):
            return kernel.run(code, selection=selection)
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if cancel.wait(0.05):
                    kernel.interrupt()
                    return

        watcher = threading.Thread(target=watch, name="cell-cancel-watch", daemon=True)
        watcher.start()
        try:
            return kernel.run(code, selection=selection)
        finally:
            done.set()
            watcher.join()

    def _cell_limits(self, kernel: Any) -> CallLimits:
        """Limits of the cell about to run: its tool calls end with its time budget. The kernel's worker is
        started first, so its start-up is not counted; the kernel times the cell from a moment later, so
        this deadline is never after the kernel's own (the kernel may pass its exact one on the arguments)."""
        budget = getattr(getattr(kernel, "config", None), "time_s", None)
        start = getattr(kernel, "start", None)
        if budget is not None and callable(start):
            try:
                start()
            except Exception:  # the kernel reports it when the cell runs
                pass
        deadline = cell_tool_deadline(time.monotonic() + float(budget)) if budget is not None else None
        return CallLimits.assistant(deadline=deadline, may_change_document=self.may_change_document)

    def _run_cell(self, arguments: dict, cancel: CancelToken | None) -> tuple[bool, str | None, Any, tuple[str, list[dict]] | None]:
        problems = validate(arguments, RUN_PYTHON_SCHEMA, RUN_PYTHON)
        if problems:
            text = "; ".join(problems)
            return False, text, {"error": {"code": "bad_arguments", "message": text}}, None
        selection = self.selection() if self.selection is not None else []
        kernel = self.session.cell_kernel(lambda: self._make_kernel(selection))
        self.session.cell_limits = self._cell_limits(kernel)
        try:
            result = self._run_interruptible(kernel, arguments["code"], selection, cancel)
        finally:
            self.session.cell_limits = None
        visible = {k: result.get(k) for k in ("ok", "stdout", "value", "error")}
        submitted = result.get("submitted")
        if submitted:
            answer, found, problems = validate_submission(
                {"answer": submitted.get("answer", ""), "findings": submitted.get("findings") or []})
            if problems:
                text = prompts.message("findings_rejected", problems="; ".join(problems))
                return False, text, {**result, "error": text}, None
            return True, prompts.message("findings_accepted", count=len(found)), result, (answer, found)
        settings = self.session.settings
        content, _ = summarise(visible, settings.tool_result_budget_tokens)
        return bool(result.get("ok")), content, result, None

    # --- endings ------------------------------------------------------------------

    def _evidence(self, trace: Trace) -> str:
        settings = self.session.settings
        if not trace.tool_calls:
            return prompts.message("no_evidence")
        share = max(50, min(settings.tool_result_budget_tokens, settings.context_budget_tokens // (2 * len(trace.tool_calls))))
        lines = []
        for record in trace.tool_calls:
            arguments = json.dumps(record.arguments, ensure_ascii=False) if record.arguments is not None else "(unparsable)"
            text, _ = summarise(record.result, share)
            lines.append(f"- {record.tool}({arguments}) -> {'ok' if record.ok else 'error'}: {text}")
        return "\n".join(lines)

    def _force_answer(self, trace: Trace, started: float, stop: str, failures: int,
                      system: list[SystemSection], carried: list[str], cancel: CancelToken | None) -> Trace:
        """One last call without tools: the conversation flattened into evidence, asking for the answer."""
        settings = self.session.settings
        why = prompts.reason(stop, budget=settings.step_budget, failures=failures)
        prompt = prompts.message("force_answer", reason=why, question=trace.question, evidence=self._evidence(trace))
        turn = self._call(trace, trace.model_calls + 1, system, [Message(role="user", text=prompt)], [], carried,
                          cancel, forced=True)
        if turn is None:
            return self._finish(trace, started, prompts.message("no_answer", reason=why), stop, forced=True)
        if turn.stop_reason == "cancelled" or (cancel is not None and cancel.cancelled):
            return self._finish(trace, started, "", "cancelled")
        answer = turn.text.strip() or prompts.message("no_answer", reason=why)
        self.session.messages.append(Message(role="assistant", text=answer))
        return self._finish(trace, started, answer, stop, forced=True)

    def _finish(self, trace: Trace, started: float, answer: str, stop: str, *, forced: bool = False) -> Trace:
        trace.answer = answer
        trace.stop_reason = stop
        trace.forced = forced
        trace.time_s = time.perf_counter() - started
        self._emit(trace, FinalAnswerStep(index=trace.model_calls, answer=answer, stop_reason=stop, forced=forced))
        self.session.traces.append(trace)
        return trace

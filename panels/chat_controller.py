"""Drives the agent for the chat dock: a GUI-thread QObject, a QRunnable worker, signals out.

No widgets here (style.md: the chat widget must not run the loop). The
controller snapshots what the question needs on the GUI thread (selection,
classification, settings, tool list), runs the agent loop in a QThreadPool
worker, and relays what happens (text deltas, trace items, status, answer,
error) through signals queued to the GUI thread. Tools and the document
encoder start on the GUI thread through ``MainThreadBridge`` — the document is
only touched there — and compute in a forked child (Linux; in-process
elsewhere) while the worker waits, cancellable: Stop kills the child.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from freecad_spatial.spatial_tools.agent.session import Session, Settings
from freecad_spatial.spatial_tools.backends.base import (
    CancelToken,
    Retrying,
    StreamEvent,
    TextDelta,
    ToolCallStarted,
)
from freecad_spatial.spatial_tools.chat.conversation import Conversation, Entry
from freecad_spatial.spatial_tools.chat.links import renumber_findings
from freecad_spatial.spatial_tools.chat.trace_view import TraceBuilder, TraceItem
from freecad_spatial.spatial_tools.tool_process import Cancelled

from .chat_host import DocumentHost
from .qt import QtCore, Signal, Slot, tr

# (provider, overrides {model, base_url}, request_hook) -> Backend
BackendFactory = Callable[[str, dict, Any], Any]


@dataclass(frozen=True)
class ChatConfig:
    """Everything from the preferences one question needs (never the key: that is in the keyring)."""

    settings: Settings
    overrides: dict = field(default_factory=dict)  # model, base_url
    cloud_disabled_tools: frozenset[str] = frozenset()  # turned off on the preference page (cloud tier)

    @property
    def provider(self) -> str:
        return self.settings.backend


def default_backend_factory(provider: str, overrides: dict, request_hook: Any) -> Any:
    from freecad_spatial.spatial_tools.backends.factory import make_backend

    return make_backend(provider, overrides, request_hook=request_hook)


class BridgeCancelled(Exception):
    """The question was stopped while a main-thread call waited."""


class _Job:
    __slots__ = ("fn", "done", "value", "error", "abandoned")

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.abandoned = False


class MainThreadBridge(QtCore.QObject):
    """Runs a function on the thread this object lives in (the GUI thread) and returns its value."""

    _request = Signal(object)

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self._request.connect(self._run, QtCore.Qt.QueuedConnection)
        self.calls = 0

    def call(self, fn: Callable[[], Any], cancel: CancelToken | None = None) -> Any:
        if QtCore.QThread.currentThread() is self.thread():
            return fn()
        job = _Job(fn)
        self._request.emit(job)
        while not job.done.wait(0.05):
            if cancel is not None and cancel.cancelled:
                job.abandoned = True
                raise BridgeCancelled("stopped while waiting for the GUI thread")
        if job.error is not None:
            raise job.error
        return job.value

    @Slot(object)
    def _run(self, job: _Job) -> None:
        if job.abandoned:
            return
        self.calls += 1
        try:
            job.value = job.fn()
        except BaseException as exc:  # handed to the waiting worker, which re-raises it there
            job.error = exc
        finally:
            job.done.set()


class _Relay(QtCore.QObject):
    """Signals the worker emits; they live on the GUI thread, so connections to it are queued."""

    event = Signal(object)
    step = Signal(object)
    done = Signal(object, str)  # trace, error kind (when trace.stop_reason == "error")
    failed = Signal(str, str)


class _ErrorKinds:
    """Wraps a backend to remember the kind of the last BackendError (the loop keeps only its text)."""

    def __init__(self, backend: Any):
        self._backend = backend
        self.name, self.base_url, self.model = backend.name, backend.base_url, backend.model
        self.last_kind = ""

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._backend.complete(*args, **kwargs)
        except Exception as exc:
            self.last_kind = getattr(exc, "kind", "") or self.last_kind
            raise

    def close(self) -> None:
        close = getattr(self._backend, "close", None)
        if close is not None:
            close()


@dataclass
class _Job2:
    question: str
    config: ChatConfig
    policy: Any
    selection: list[dict]
    tools: list[Any]


class _AgentRun(QtCore.QRunnable):
    """One question, off the GUI thread."""

    def __init__(self, controller: ChatController, job: _Job2, cancel: CancelToken):
        super().__init__()
        self.setAutoDelete(True)
        self.c = controller
        self.job = job
        self.cancel = cancel

    def run(self) -> None:
        from freecad_spatial.spatial_tools.backends.errors import BackendError
        from freecad_spatial.spatial_tools.tiers import RequestGuard, TierRefused

        relay, c, job = self.c._relay, self.c, self.job
        backend = None
        try:
            from freecad_spatial.spatial_tools.agent.loop import Agent
            from freecad_spatial.spatial_tools.audit import AuditLog
            from freecad_spatial.spatial_tools.backends import keys

            settings = job.config.settings
            audit = AuditLog(c.audit_path)
            model = job.config.overrides.get("model") or ""
            guard = RequestGuard(job.policy, job.config.provider, model=model, audit=audit)
            base_url = job.config.overrides.get("base_url") or _default_base_url(job.config.provider)
            guard.check(base_url)  # before a backend, or a key, is even looked at
            if job.config.provider == "anthropic" and c.backend_factory is default_backend_factory \
                    and keys.key_source("anthropic") is None:
                relay.failed.emit("no_key", "no Anthropic API key in the environment, this session or the OS keyring")
                return
            backend = _ErrorKinds(c.backend_factory(job.config.provider, dict(job.config.overrides), guard))
            host, bridge, selection = c.host, c.bridge, job.selection

            # The GUI thread only starts each call (the document's snapshot); this worker waits for it.
            def call_tool(name: str, arguments: dict) -> dict:
                return bridge.call(lambda: host.start_tool(name, arguments, selection), self.cancel).wait(self.cancel)

            def context(budget: int) -> str | None:
                return bridge.call(lambda: host.start_encode(selection, budget), self.cancel).wait(self.cancel)

            agent = Agent(backend=backend, call_tool=call_tool, policy=job.policy, session=c.session,
                          tools=job.tools, document_context=context, selection=lambda: list(selection),
                          audit=audit, guard=guard, on_step=relay.step.emit, on_event=relay.event.emit)
            agent.session.settings = settings
            trace = agent.ask(job.question, cancel=self.cancel)
            relay.done.emit(trace, backend.last_kind if trace.stop_reason == "error" else "")
        except TierRefused as exc:
            relay.failed.emit("tier_refused", exc.reason)
        except BackendError as exc:
            relay.failed.emit(exc.kind, str(exc))
        except ImportError as exc:
            relay.failed.emit("missing_dependency", f"{exc.name or exc}: not installed")
        except (BridgeCancelled, Cancelled):
            relay.failed.emit("cancelled", "stopped")
        except Exception as exc:  # reported in the panel with its traceback in the Report view
            relay.failed.emit("internal", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        finally:
            if backend is not None:
                backend.close()


def _default_base_url(provider: str) -> str:
    from freecad_spatial.spatial_tools.backends.settings import BackendSettings

    return BackendSettings.for_provider(provider).base_url


class ChatController(QtCore.QObject):
    """The conversation of one panel. Create and use on the GUI thread."""

    started = Signal(str)  # the question
    text_delta = Signal(str)  # streamed answer (or plan) text
    status = Signal(str)  # "calling measure_distance…", "rate limited, retrying in 2 s"
    trace_item = Signal(object)  # a TraceItem created or completed
    answered = Signal(object)  # the assistant Entry (answer, trace, finding numbers)
    failed = Signal(str, str, str)  # kind, message, the advice's action
    busy_changed = Signal(bool)
    reset = Signal()  # the conversation was replaced (new chat, other document)

    def __init__(self, host: DocumentHost, config: Callable[[], ChatConfig], *,
                 backend_factory: BackendFactory = default_backend_factory,
                 pool: Any = None, audit_path: str | None = None, parent: Any = None):
        super().__init__(parent)
        self.host = host
        self.config = config
        self.backend_factory = backend_factory
        self.audit_path = audit_path
        self.pool = pool or QtCore.QThreadPool.globalInstance()
        self.bridge = MainThreadBridge(self)
        self._relay = _Relay(self)
        self._relay.event.connect(self._on_event)
        self._relay.step.connect(self._on_step)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self.conversation = Conversation()
        self.session = Session(messages=self.conversation.messages)
        self._cancel: CancelToken | None = None
        self._trace = TraceBuilder()
        self._status = ""  # what the status line says now (only a change is emitted)
        self.on_saved: Callable[[Conversation], None] | None = None  # persistence hook (the dock)

    # --- state ------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def set_conversation(self, conversation: Conversation) -> bool:
        """Shows another document's conversation; refused (False) while a question runs."""
        if self.busy:
            return False
        self.session.close()
        self.conversation = conversation
        self.session = Session(messages=conversation.messages)
        self.reset.emit()
        return True

    def new_conversation(self) -> None:
        self.stop()
        self.session.close()
        self.conversation.clear()
        self.session.findings.clear()
        self.session.traces.clear()
        self._save()
        self.reset.emit()

    # --- asking -----------------------------------------------------------------

    def ask(self, question: str, *, send_selection: bool = True) -> bool:
        """Starts a question; False when one is already running or the question is empty."""
        question = question.strip()
        if self.busy or not question:
            return False
        from freecad_spatial.spatial_tools.backends.settings import provider_sends_images
        from freecad_spatial.spatial_tools.tiers import Policy

        self.conversation.entries.append(Entry(role="user", text=question))
        self.started.emit(question)
        if self.host.document() is None:
            self._fail("no_document", "open a document first")
            return True
        try:
            config = self.config()
            settings = config.settings
            policy = Policy(user_tier=settings.tier, classification=self.host.classification(),
                            host_suffixes=tuple(settings.private_host_suffixes),
                            allow_raw_geometry=settings.allow_raw_geometry,
                            images=provider_sends_images(config.provider, config.overrides))
            selection = self.host.selection() if send_selection else []
            tools = self.host.registry().specs()
            if policy.tier == "cloud":  # the user's per-tool choice; local/private tiers keep every tool
                tools = [t for t in tools if t.name not in config.cloud_disabled_tools]
        except (ValueError, KeyError) as exc:
            self._fail("rejected", f"the settings are not usable: {exc}")
            return True
        self._trace = TraceBuilder()
        self._status = ""
        self._cancel = CancelToken()
        self.busy_changed.emit(True)
        self.pool.start(_AgentRun(self, _Job2(question, config, policy, selection, tools), self._cancel))
        return True

    def stop(self) -> None:
        """Cancels the running question (streams close, a running cell is interrupted)."""
        if self._cancel is not None:
            self._cancel.cancel()
            self._set_status(tr("ChatController", "stopping…"))

    # --- relayed from the worker (GUI thread) ----------------------------------------

    def _set_status(self, text: str) -> None:
        """Says what happens now; a status always follows the step that ended the previous one."""
        if text != self._status:
            self._status = text
            self.status.emit(text)

    @Slot(object)
    def _on_event(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self._set_status(tr("ChatController", "writing…"))
            self.text_delta.emit(event.text)
        elif isinstance(event, ToolCallStarted):
            self._set_status(tr("ChatController", "calling {tool}…").format(tool=event.name))
        elif isinstance(event, Retrying):
            self._set_status(tr("ChatController", "{reason}; retrying in {seconds:.0f} s (attempt {attempt})")
                             .format(reason=event.reason, seconds=event.delay_s, attempt=event.attempt))

    @Slot(object)
    def _on_step(self, step: Any) -> None:
        if step.kind == "planning":
            item = TraceItem(call_id=f"plan-{len(self._trace.items)}", kind="plan", tool="", output=step.text,
                             ok=True)
            self._trace.items.append(item)
            self.trace_item.emit(item)
            return
        item = self._trace.add(step)
        if item is not None:
            self.trace_item.emit(item)
            if step.kind == "action":
                self._set_status(tr("ChatController", "running {tool}…").format(tool=item.tool))
            elif step.kind == "observation":  # the model reads the result next
                self._set_status(tr("ChatController", "{tool} done; thinking…").format(tool=item.tool))

    @Slot(object, str)
    def _on_done(self, trace: Any, kind: str) -> None:
        if trace.stop_reason == "error":
            self._finish()
            self._fail(kind or "connection_failed", trace.error or "the model could not be reached")
            return
        # The findings become annotation objects first, so the answer, its links and the summary line use
        # the numbers the dock, the markers and the report show.
        failure = None
        document_numbers = None
        if trace.findings:
            try:
                document_numbers = self.host.finding_numbers(self.host.publish_findings(list(trace.findings)))
            except Exception as exc:  # the answer stands; the user sees why the objects are missing
                failure = (f"the findings could not be added to the document: "
                           f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        numbers = self.conversation.add_findings(list(trace.findings), document_numbers)
        text = trace.answer if trace.stop_reason != "cancelled" else (trace.answer or "*Stopped.*")
        text = renumber_findings(text, numbers)
        entry = Entry(role="assistant", text=text, trace=list(self._trace.items), findings=numbers,
                      stop_reason=trace.stop_reason)
        self.conversation.entries.append(entry)
        self._finish()
        self._save()
        self.answered.emit(entry)
        if failure:
            self._fail("findings", failure)

    @Slot(str, str)
    def _on_failed(self, kind: str, message: str) -> None:
        self._finish()
        if kind == "cancelled":
            entry = Entry(role="assistant", text="*Stopped.*", trace=list(self._trace.items), stop_reason="cancelled")
            self.conversation.entries.append(entry)
            self.answered.emit(entry)
            return
        self._fail(kind, message)

    def _fail(self, kind: str, message: str) -> None:
        from freecad_spatial.spatial_tools.chat.advice import advice

        found = advice(kind)
        self.conversation.entries.append(Entry(role="error", text=message, title=found.title, stop_reason=kind))
        self._save()
        self.failed.emit(kind, message, found.action)

    def _finish(self) -> None:
        self._cancel = None
        self.busy_changed.emit(False)

    def _save(self) -> None:
        if self.on_saved is not None:
            self.on_saved(self.conversation)

"""``freecad-spatial ask FILE "question"``: the assistant, headless.

Prints the answer (``--json``: the full trace). The tier is decided before
anything is built: the document is opened and classified, the endpoint is
checked against the required tier, and a refusal exits 2 with a one-line
reason and zero requests sent. Every request that does go out passes the
same check again at the wire (RequestGuard) and is written to the audit log.
Hooked into cli.py through ``EXTRA_COMMANDS["ask"] = (configure, run)``.

The model's tool calls (and its code cells') only read the document and
name profiles only from the profile library and configured folders
(``--profile-dir`` adds one); each runs under its time budget.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

EXIT_OK, EXIT_USAGE = 0, 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Ask the assistant a question about a CAD file; prints the answer."
    parser.add_argument("file", help="FCStd, STEP or BREP file")
    parser.add_argument("question", help="the question, e.g. \"How far apart are the two holes?\"")
    parser.add_argument("--backend", choices=["anthropic", "openai"], help="model backend (default from settings)")
    parser.add_argument("--base-url", help="endpoint; OpenAI-compatible ones include /v1")
    parser.add_argument("--model", help="model name (vLLM: the model it serves)")
    parser.add_argument("--vision", choices=["auto", "on", "off"],
                        help="offer render_view (images) to the model: auto = only models known to take images")
    parser.add_argument("--tier", choices=["cloud", "private", "local"], help="deployment tier (the document's classification may make it stricter)")
    parser.add_argument("--private-host", action="append", default=[], metavar="SUFFIX",
                        help="organisation host suffix the private tier accepts (repeatable)")
    parser.add_argument("--no-raw-geometry", action="store_true", help="cloud tier: hide tools that return raw geometry")
    parser.add_argument("--steps", type=int, help="step budget (model calls before the answer is forced)")
    parser.add_argument("--selection", help="JSON list of refs (or {ref, picked_point}) as the current selection")
    parser.add_argument("--audit-log", help="audit log path (default: the FreeCAD user data folder)")
    parser.add_argument("--profile-dir", action="append", default=[], metavar="DIR",
                        help="folder of DFM profiles the model may name (repeatable; besides the profile library)")
    parser.add_argument("--json", action="store_true", help="print the full trace as JSON")


def _fail(message: str, code: str | None = None, as_json: bool = False) -> int:
    """One line on stderr; with --json also an error envelope on stdout (code given)."""
    if as_json and code is not None:
        sys.stdout.write(json.dumps({"ok": False, "error": {"code": code, "message": message}}, indent=2) + "\n")
    print(f"freecad-spatial: {message}", file=sys.stderr)
    return EXIT_USAGE


def _selection(text: str | None) -> list[dict]:
    from .cli import UsageError

    if text is None:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--selection is not valid JSON: {exc.msg} at character {exc.pos}") from exc
    if not isinstance(items, list):
        raise UsageError("--selection must be a JSON list of refs or {ref, picked_point} objects")
    return [s if isinstance(s, dict) else {"ref": s, "picked_point": None} for s in items]


def _document_context(document, selection: list[dict]):
    """budget -> the encoder's JSON of the document, or None while no encoder is installed."""
    if importlib.util.find_spec(f"{__package__}.encoder") is None:
        return None
    from .encoder import encode_json

    return lambda budget: encode_json(document, selection, budget_tokens=budget)


def run(args: argparse.Namespace) -> int:
    from .agent.loop import Agent
    from .agent.session import Session, Settings
    from .audit import AuditLog
    from .backends.errors import BackendError
    from .backends.factory import make_backend
    from .backends.settings import BackendSettings
    from .classification import classify
    from .cli import UsageError
    from .context import ToolContext
    from .dfm.profiles import allowed_profile_folders
    from .documents import close_document, open_document
    from .errors import ToolError
    from .registry import load_builtin_tools
    from .tiers import Policy, RequestGuard, TierRefused

    if not args.question.strip():
        raise UsageError("the question is empty")
    selection = _selection(args.selection)
    try:
        settings = Settings.load({"backend": args.backend, "tier": args.tier, "step_budget": args.steps})
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    overrides = {k: v for k, v in (("model", args.model), ("base_url", args.base_url), ("vision", args.vision)) if v}
    try:
        backend_settings = BackendSettings.for_provider(settings.backend, overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        document = open_document(args.file)
    except ToolError as exc:
        return _fail(exc.message, exc.code, args.json)
    try:
        level = classify(document, extra_names=[args.file]).level
        policy = Policy(user_tier=settings.tier, classification=level,
                        host_suffixes=tuple(settings.private_host_suffixes) + tuple(args.private_host),
                        allow_raw_geometry=settings.allow_raw_geometry and not args.no_raw_geometry,
                        images=backend_settings.sends_images())
        audit = AuditLog(args.audit_log)
        guard = RequestGuard(policy, settings.backend, model=backend_settings.model, audit=audit)
        try:
            guard.check(backend_settings.base_url)  # before a backend (or a key) is even looked at
        except TierRefused as exc:
            return _fail(exc.reason, "tier_refused", args.json)
        try:
            backend = make_backend(settings.backend, overrides, request_hook=guard)
        except BackendError as exc:
            return _fail(str(exc), exc.kind, args.json)
        registry = load_builtin_tools()
        # Read-only, library profiles only; each call's deadline travels on its arguments (agent loop).
        context = ToolContext.for_assistant(document, selection=selection,
                                            profile_folders=allowed_profile_folders(args.profile_dir))
        agent = Agent(
            backend=backend,
            call_tool=lambda name, arguments: registry.call(name, arguments, context),
            policy=policy,
            session=Session(settings=settings),
            tools=registry.specs(),
            document_context=_document_context(document, selection),
            selection=lambda: list(selection),
            audit=audit,
            guard=guard,
        )
        try:
            trace = agent.ask(args.question)
        except TierRefused as exc:
            return _fail(exc.reason, "tier_refused", args.json)
        finally:
            agent.session.close()
            close = getattr(backend, "close", None)
            if close is not None:
                close()
    finally:
        close_document(document)
    if args.json:
        sys.stdout.write(json.dumps(trace.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(trace.answer + "\n")
    if trace.stop_reason == "error":
        return _fail(trace.error or "the model could not be reached")
    return EXIT_OK

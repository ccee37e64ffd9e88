"""The ``freecad-spatial`` command line (tools.md): tools, tool, encode, and later check and ask.

Every failure is a one-line reason on stderr (and an error envelope where a
JSON answer is expected) with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Unusable input or arguments: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, but with its own format
        raise UsageError(message)


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False) + "\n")


def cmd_tools(args: argparse.Namespace) -> int:
    from .registry import load_builtin_tools

    registry = load_builtin_tools()
    if args.format == "anthropic":
        _emit({"tools": registry.anthropic_tools()})
    elif args.format == "openai":
        _emit({"tools": registry.openai_tools()})
    else:
        _emit({"schema": "freecad-spatial/tools@1", "tools": [s.full() for s in registry.specs()]})
    return EXIT_OK


def _parse_json_arg(text: str | None, what: str):
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc.msg} at character {exc.pos}") from exc


def cmd_tool(args: argparse.Namespace) -> int:
    from .context import ToolContext
    from .documents import open_document
    from .errors import ToolError
    from .registry import load_builtin_tools

    arguments = _parse_json_arg(args.args, "--args")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise UsageError("--args must be a JSON object, e.g. '{\"a\": \"Plate.Face1\"}'")
    selection = _parse_json_arg(args.selection, "--selection") or []
    if not isinstance(selection, list):
        raise UsageError("--selection must be a JSON list of refs or {ref, picked_point} objects")
    selection = [s if isinstance(s, dict) else {"ref": s, "picked_point": None} for s in selection]
    registry = load_builtin_tools()
    try:
        registry.get(args.name)
        document = open_document(args.doc) if args.doc else None
    except ToolError as exc:
        _emit(exc.envelope())
        print(f"freecad-spatial: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    envelope = registry.call(args.name, arguments, ToolContext(document=document, selection=selection))
    _emit(envelope)
    if not envelope["ok"]:
        print(f"freecad-spatial: {envelope['error']['message']}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_encode(args: argparse.Namespace) -> int:
    from .documents import open_document
    from .encoder import encode_json
    from .errors import ToolError

    try:
        document = open_document(args.file)
    except ToolError as exc:
        _emit(exc.envelope())
        print(f"freecad-spatial: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(encode_json(document, budget_tokens=args.budget) + "\n")
    return EXIT_OK


# Later issues add their sub-commands here: name -> (configure parser, run).
EXTRA_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}

from . import check_cli  # noqa: E402 - after the dict it joins

EXTRA_COMMANDS["check"] = (check_cli.configure, check_cli.run)

from . import tour  # noqa: E402 - registered right after the table it fills

EXTRA_COMMANDS["tour"] = (tour.configure, tour.run)

from . import ask_cli  # noqa: E402 - registered right after the table it fills

EXTRA_COMMANDS["ask"] = (ask_cli.configure, ask_cli.run)

from . import pmi_cli  # noqa: E402 - registered right after the table it fills

EXTRA_COMMANDS["pmi"] = (pmi_cli.configure, pmi_cli.run)

from .mcp import cli as mcp_cli  # noqa: E402 - registered right after the table it fills

EXTRA_COMMANDS["mcp"] = (mcp_cli.configure, mcp_cli.run)

from .synth import cli as synth_cli  # noqa: E402 - registered right after the table it fills

EXTRA_COMMANDS["synth"] = (synth_cli.configure, synth_cli.run)

from .eval import cli as eval_cli  # noqa: E402 - registered right after the table it fills

EXTRA_COMMANDS["eval"] = (eval_cli.configure, eval_cli.run)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="freecad-spatial", description="Spatial tools on FreeCAD's kernel, headless.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    p = sub.add_parser("tools", help="print every tool's JSON schema")
    p.add_argument("--format", choices=["full", "anthropic", "openai"], default="full")
    p.set_defaults(run=cmd_tools)
    p = sub.add_parser("tool", help="call one tool on a document; prints the result envelope")
    p.add_argument("name")
    p.add_argument("--doc", help="FCStd, STEP or BREP file")
    p.add_argument("--args", help="tool arguments as a JSON object")
    p.add_argument("--selection", help="JSON list of refs (or {ref, picked_point}) as the current selection")
    p.set_defaults(run=cmd_tool)
    p = sub.add_parser("encode", help="print the canonical JSON of a document (what the model sees)")
    p.add_argument("file")
    p.add_argument("--budget", type=int, default=None, help="token budget for the encoding")
    p.set_defaults(run=cmd_encode)
    for name, (configure, run) in EXTRA_COMMANDS.items():
        p = sub.add_parser(name)
        configure(p)
        p.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "run", None):
            build_parser().print_help(sys.stderr)
            return EXIT_USAGE
        return args.run(args)
    except UsageError as exc:
        print(f"freecad-spatial: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("freecad-spatial: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last guard: a reason, not a traceback
        from .freecad_env import FreeCADNotFound

        kind = "" if isinstance(exc, FreeCADNotFound) else f"{type(exc).__name__}: "
        print(f"freecad-spatial: {kind}{exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

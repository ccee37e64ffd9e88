"""``freecad-spatial eval``: run suites in modes, report results, list and generate suites.

Hooked into the top-level CLI through ``EXTRA_COMMANDS["eval"] = (configure, run)``.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Measure what tool access adds: generated suites answered in several modes, and their report."
    sub = parser.add_subparsers(dest="eval_command", parser_class=type(parser))
    p = sub.add_parser("run", help="answer suites in modes; appends to a results file (resumable)")
    p.add_argument("suites", nargs="+", metavar="SUITE", help="shipped suite name or a .jsonl suite file")
    p.add_argument("--mode", nargs="+", default=["reference"], choices=["reference", "context", "code", "tools", "cells"])
    p.add_argument("--backend", choices=["anthropic", "openai"], help="model backend (model modes)")
    p.add_argument("--model", help="model name (vLLM: the model it serves)")
    p.add_argument("--base-url", help="endpoint; OpenAI-compatible ones include /v1")
    p.add_argument("--tier", choices=["cloud", "private", "local"], help="deployment tier")
    p.add_argument("--limit", type=int, help="first N items of each suite")
    p.add_argument("--jobs", type=int, default=1, help="items whose model modes wait on the model at once (the reference runs on one thread)")
    p.add_argument("--steps", type=int, help="step budget of the model modes")
    p.add_argument("--timeout", type=float, help="seconds of model silence before an item fails as a timeout")
    p.add_argument("--out", default="eval-results.jsonl", help="results file (JSONL); a re-run fills what is missing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("report", help="accuracy per suite x mode with 95 %% intervals, deltas, tokens, cost, chart")
    p.add_argument("results")
    p.add_argument("--format", choices=["md", "json", "html"], default="md")
    p.add_argument("--out", help="write the report here (default: stdout; html: results file name .html)")
    p.add_argument("--chart", help="PNG bar chart path (default: beside the report; needs matplotlib)")
    p = sub.add_parser("suites", help="list the shipped suites with their item counts")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("generate", help="write a shipped suite's items (seeded) to a JSONL file")
    p.add_argument("suite")
    p.add_argument("--size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--out", required=True)
    p = sub.add_parser("import-benchcad", help="convert BenchCAD CodeQA records (records.jsonl) to a suite file")
    p.add_argument("records", help="BenchCAD CodeQA records.jsonl (code_path relative to it) or a JSON list")
    p.add_argument("--out", required=True)
    p.add_argument("--suite", default="benchcad")


def _run(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from .items import ItemError
    from .model_modes import ModelConfig
    from .runner import run
    from .suites import load

    modes = list(dict.fromkeys(args.mode))
    config = None
    if any(m != "reference" for m in modes):
        if not args.backend:
            raise UsageError("the model modes need --backend anthropic|openai (and --model)")
        config = ModelConfig(backend=args.backend, model=args.model, base_url=args.base_url, tier=args.tier,
                             steps=args.steps, timeout_s=args.timeout)

    def items():
        for suite in args.suites:
            yield from load(suite, args.limit)

    try:
        for suite in args.suites:  # unknown names fail before anything runs
            load(suite, 0)
        summary = run(items(), modes, args.out, model=config, jobs=args.jobs, progress=not args.quiet)
    except (KeyError, ValueError, ItemError) as exc:
        raise UsageError(str(exc).strip("'\"")) from exc
    print(f"freecad-spatial: {summary.done} answered, {summary.skipped} already in {args.out}, "
          f"{summary.errors} with errors", file=sys.stderr)
    if summary.interrupted:
        print(f"freecad-spatial: interrupted; the {summary.done} answered are kept in {args.out} "
              "(run again to fill the rest)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..cli import UsageError
    from .report import render
    from .results import read_results

    if not Path(args.results).is_file():
        raise UsageError(f"no results file {args.results}")
    results = read_results(args.results)
    out = args.out
    if out is None and args.format == "html":
        out = str(Path(args.results).with_suffix(".html"))
    chart = args.chart
    if chart is None and out is not None:
        chart = str(Path(out).with_suffix(".png"))
    text = render(results, args.format, chart_path=chart)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"freecad-spatial: report written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _suites(args: argparse.Namespace) -> int:
    from .suites import listing

    rows = listing()
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        for row in rows:
            sys.stdout.write(f"{row['suite']:18s} {row['items']:5d} items  {row['description']}\n")
    return EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from .generators import generate
    from .items import write_items

    try:
        n = write_items(args.out, generate(args.suite, args.size, args.seed))
    except KeyError as exc:
        raise UsageError(str(exc).strip("'\"")) from exc
    print(f"freecad-spatial: {n} items written to {args.out}", file=sys.stderr)
    return EXIT_OK


def _import_benchcad(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from .benchcad import BenchCADError, convert
    from .items import write_items

    try:
        n = write_items(args.out, list(convert(args.records, suite=args.suite)))
    except (BenchCADError, OSError, KeyError, ValueError) as exc:
        raise UsageError(f"{args.records}: {exc}") from exc
    print(f"freecad-spatial: {n} items written to {args.out}", file=sys.stderr)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    commands = {"run": _run, "report": _report, "suites": _suites, "generate": _generate,
                "import-benchcad": _import_benchcad}
    if not getattr(args, "eval_command", None):
        from ..cli import UsageError

        raise UsageError("eval needs a sub-command: run, report, suites, generate or import-benchcad")
    return commands[args.eval_command](args)

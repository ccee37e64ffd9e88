"""``freecad-spatial check FILE... --process P``: headless DFM checks of many files (tools.md).

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when an
argument or an input file is unusable (one line per reason on stderr; the
report still lists every file).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .dfm.profiles import processes

FORMATS = ("json", "sarif", "junit", "html")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Check FCStd/STEP/BREP files against a process's DFM rules; prints a report."
    parser.add_argument("files", nargs="*", metavar="FILE", help="FCStd, STEP or BREP files, or folders (searched recursively)")
    parser.add_argument(
        "--from",
        dest="lists",
        action="append",
        default=[],
        metavar="LIST",
        help="also check the files named in LIST, one path a line (relative to LIST's folder; - reads stdin)",
    )
    parser.add_argument("--process", required=True, choices=processes(), help="manufacturing process")
    parser.add_argument("--format", choices=FORMATS, default="json", help="report format (default json)")
    parser.add_argument("--out", metavar="PATH", help="write the report here instead of stdout")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    parser.add_argument("--fail-on", choices=["error", "warning"], default="error", help="lowest severity that fails (exit 1)")
    parser.add_argument("--profile", metavar="FILE", help="TOML profile whose values override the process's")
    parser.add_argument("--material", help="material of the profile (e.g. steel, abs)")
    parser.add_argument("--pull-direction", metavar="X,Y,Z", help="mold pull direction (write --pull-direction=-1,0,0 for negatives)")
    parser.add_argument("--build-direction", metavar="X,Y,Z", help="additive build direction")
    parser.add_argument(
        "--annotate",
        metavar="OUT.FCStd",
        help="also write the checked document with its findings as annotation objects (a folder when several files are checked)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, metavar="S", help="seconds allowed per file (default 300)")
    parser.add_argument(
        "--results",
        metavar="DIR",
        help="keep each file's outcome in DIR: a stopped run resumes, a re-run checks only changed files",
    )
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run the checks on this Dask cluster (the dask extra)")
    parser.add_argument(
        "--memory-limit",
        type=int,
        metavar="MB",
        help="address space each worker may use; a file needing more is an error (default: resources/check_batch.toml; 0: none)",
    )
    parser.add_argument("--no-pmi", action="store_true", help="do not import a STEP AP242 file's GD&T (PMI) before checking")


def _renderer(name: str):
    from .check import report_html, report_json, report_junit, report_sarif

    return {"json": report_json.render, "sarif": report_sarif.render, "junit": report_junit.render, "html": report_html.render}[name]


class Interrupted(Exception):
    """The run was stopped (Ctrl-C, SIGTERM) after ``done`` of ``total`` files."""

    def __init__(self, done: int, total: int):
        super().__init__(done, total)
        self.done, self.total = done, total


def _check_all(args: argparse.Namespace, options, run_batch) -> list:
    """Every file's outcome: from the --results store where it holds one, else checked here or on the cluster."""
    from .check.progress import Progress, wanted
    from .check.results_store import ResultStore, StoreError
    from .cli import UsageError

    paths = list(args.files)
    store = None
    if args.results:
        try:
            store = ResultStore(args.results, options)
        except StoreError as exc:
            raise UsageError(str(exc)) from None
    results: list = [None] * len(paths)
    keys: list = [None] * len(paths)
    if store is not None:
        for i, path in enumerate(paths):
            keys[i] = store.key(path)
            results[i] = store.get(keys[i], path)
    todo = [i for i, r in enumerate(results) if r is None]
    progress = Progress(len(paths), wanted())
    progress.skip(len(paths) - len(todo))
    finished = len(paths) - len(todo)

    def keep(j: int, result) -> None:
        nonlocal finished
        finished += 1
        results[todo[j]] = result
        if store is not None:
            store.put(keys[todo[j]], result)

    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
    try:
        if not todo:
            progress.close()
        elif args.scheduler:
            from .check.dask_runner import ClusterError, connect, run_on_cluster

            try:
                client = connect(args.scheduler)
            except ClusterError as exc:
                raise UsageError(str(exc)) from None
            try:
                run_on_cluster([paths[i] for i in todo], options, client, progress=progress, on_result=keep)
            finally:
                client.close()
        else:
            run_batch([paths[i] for i in todo], options, jobs=args.jobs, progress=progress, on_result=keep)
    except KeyboardInterrupt:
        raise Interrupted(finished, len(paths)) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return results


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


EXIT_INTERRUPTED = 130


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except Interrupted as stop:
        hint = " (the --results folder keeps what was checked: run again to resume)" if args.results else ""
        print(f"freecad-spatial: interrupted after {stop.done} of {stop.total} files{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from .check.batch import CheckOptions, Report, WorkerStartError, default_memory_mb, run_batch
    from .check.inputs import InputError, expand
    from .check.output import display_name, write_atomic
    from .check.report_html import MissingDependency, require_jinja2
    from .cli import UsageError
    from .dfm.profiles import ProfileError, load_profile
    from .dfm.rules import load_rules

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.memory_limit is not None and args.memory_limit < 0:
        raise UsageError(f"--memory-limit must be 0 (none) or a number of MB, got {args.memory_limit}")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    profile_path = os.path.abspath(args.profile) if args.profile else None
    try:
        profile = load_profile(
            args.process,
            profile_path,
            material=args.material,
            pull_direction=args.pull_direction,
            build_direction=args.build_direction,
        )
    except ProfileError as exc:
        raise UsageError(exc.message) from None
    if args.format == "html":
        try:
            require_jinja2()
        except MissingDependency as exc:
            raise UsageError(str(exc)) from None
    try:
        args.files = expand(args.files, args.lists)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if not args.files:
        raise UsageError("give at least one FILE, folder or --from LIST")
    if args.scheduler and args.annotate:
        raise UsageError("--annotate writes documents on this machine: it cannot go with --scheduler")
    if args.out and os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a directory; give a file name")
    annotate_dir = False
    if args.annotate:
        annotate_dir = len(args.files) > 1 or os.path.isdir(args.annotate)
        if annotate_dir and not os.path.isdir(args.annotate):
            raise UsageError(f"--annotate {args.annotate}: with several files, give an existing folder")
        if not annotate_dir and not args.annotate.lower().endswith(".fcstd"):
            raise UsageError(f"--annotate {args.annotate}: the file name must end in .FCStd")
        if any(os.path.abspath(f) == os.path.abspath(args.annotate) for f in args.files):
            raise UsageError(f"--annotate {args.annotate} would overwrite an input file")
    options = CheckOptions(
        process=args.process,
        profile=profile_path,
        material=args.material,
        pull_direction=profile.pull_direction if args.pull_direction else None,
        build_direction=profile.build_direction if args.build_direction else None,
        render=args.format == "html",
        timeout=args.timeout,
        annotate=os.path.abspath(args.annotate) if args.annotate else None,
        annotate_dir=annotate_dir,
        memory_mb=default_memory_mb() if args.memory_limit is None else args.memory_limit,
        pmi=not args.no_pmi,
    )
    try:
        results = _check_all(args, options, run_batch)
    except WorkerStartError as exc:
        raise UsageError(str(exc)) from None
    loaded = load_rules()
    enabled = profile.enabled_rules()
    report = Report(
        process=args.process,
        profile=profile.to_dict(),
        fail_on=args.fail_on,
        files=results,
        rules_run=[r for r in enabled if r in loaded.rules],
        not_implemented=[r for r in enabled if r in loaded.missing],
        rule_levels={r: profile.settings(r).default_severity().value for r in profile.rules},
    )
    try:
        text = _renderer(args.format)(report)
    except MissingDependency as exc:
        raise UsageError(str(exc)) from None
    data = text.encode("utf-8")  # every format is UTF-8 whatever the terminal's encoding
    if args.out:
        try:
            write_atomic(args.out, data)  # all or nothing: a failure leaves the earlier report as it was
        except OSError as exc:
            raise UsageError(f"cannot write --out {display_name(args.out)}: {exc.strerror or exc}") from None
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    for result in report.files:  # after rendering: a file whose entry failed is an error there too
        if result.status != "ok":
            print(f"freecad-spatial: {result.name}: {result.error}", file=sys.stderr)
    return report.exit_status()

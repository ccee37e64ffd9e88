"""``freecad-spatial check FILE... --process P``: headless DFM checks of many files (tools.md).

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when an
argument or an input file is unusable (one line per reason on stderr; the
report still lists every file).
"""

from __future__ import annotations

import argparse
import os
import sys

from .dfm.profiles import processes

FORMATS = ("json", "sarif", "junit", "html")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Check FCStd/STEP/BREP files against a process's DFM rules; prints a report."
    parser.add_argument("files", nargs="+", metavar="FILE", help="FCStd, STEP or BREP files")
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
    parser.add_argument("--no-pmi", action="store_true", help="do not import a STEP AP242 file's GD&T (PMI) before checking")


def _renderer(name: str):
    from .check import report_html, report_json, report_junit, report_sarif

    return {"json": report_json.render, "sarif": report_sarif.render, "junit": report_junit.render, "html": report_html.render}[name]


def run(args: argparse.Namespace) -> int:
    from .check.batch import CheckOptions, Report, WorkerStartError, run_batch
    from .check.output import display_name, write_atomic
    from .check.report_html import MissingDependency, require_jinja2
    from .cli import UsageError
    from .dfm.profiles import ProfileError, load_profile
    from .dfm.rules import load_rules

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
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
        pmi=not args.no_pmi,
    )
    try:
        results = run_batch(list(args.files), options, jobs=args.jobs)
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

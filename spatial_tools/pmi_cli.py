"""``freecad-spatial pmi FILE [--out FILE.FCStd] [--format text|json]``: a supplier's GD&T, imported.

Reads the STEP AP242 file's semantic PMI (datums, datum targets, feature
control frames, dimensions) onto the part, prints what came in and every item
skipped with its reason, and with ``--out`` saves the annotated document.
Exit status 0 on success, 2 when the file or an argument is unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Import the semantic PMI (GD&T) of a STEP AP242 file as annotation objects; prints a summary."
    parser.add_argument("file", metavar="FILE", help="STEP AP242 file (.step/.stp)")
    parser.add_argument("--out", metavar="OUT.FCStd", help="save the part with its GD&T objects here")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="summary format (default text)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S", help="seconds allowed to read the PMI (default 600)")


def run(args: argparse.Namespace) -> int:
    from .cli import EXIT_OK, EXIT_USAGE, UsageError
    from .errors import ToolError

    if not args.file.lower().endswith((".step", ".stp")):
        raise UsageError(f"{args.file}: PMI comes from STEP AP242 files (.step/.stp)")
    if args.out and not args.out.lower().endswith(".fcstd"):
        raise UsageError(f"--out {args.out}: the file name must end in .FCStd")
    if args.out and os.path.abspath(args.out) == os.path.abspath(args.file):
        raise UsageError(f"--out {args.out} would overwrite the input file")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    from . import freecad_env

    app = freecad_env.load()
    from .annotations.store import import_proxies
    from .gdt.pmi_import import import_pmi
    from .gdt.pmi_summary import public_summary, summary_lines

    import_proxies()
    document = app.newDocument("PmiImport")
    try:
        try:
            summary = import_pmi(document, args.file, timeout=args.timeout)
        except ToolError as exc:
            if args.format == "json":
                sys.stdout.write(json.dumps(exc.envelope(), indent=2) + "\n")
            print(f"freecad-spatial: {exc.message}", file=sys.stderr)
            return EXIT_USAGE
        data = public_summary(summary)
        if args.out:
            try:
                document.saveAs(os.path.abspath(args.out))
            except Exception as exc:  # FreeCAD raises bare OSError/RuntimeError
                raise UsageError(f"cannot write --out {args.out}: {exc}") from None
            data["saved"] = os.path.abspath(args.out)
        if args.format == "json":
            sys.stdout.write(json.dumps({"ok": True, "result": data}, indent=2, ensure_ascii=False) + "\n")
        else:
            lines = summary_lines(summary) + ([f"saved to {data['saved']}"] if args.out else [])
            sys.stdout.write("\n".join(lines) + "\n")
        return EXIT_OK
    finally:
        app.closeDocument(document.Name)

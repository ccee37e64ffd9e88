"""``freecad-spatial synth`` (generate) and ``freecad-spatial synth export`` (fine-tuning formats)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Generate CAD training samples (renders, id maps, scene JSON, exactly answered "
                          "questions), or `synth export DIR --format anthropic|openai|hf`.")
    parser.add_argument("rest", nargs="*", help="`export DIR` to convert a generated dataset")
    parser.add_argument("--families", nargs="+", default=None, help="family names (default: all built in)")
    parser.add_argument("--family-module", action="append", default=[], help="a Python file defining FAMILIES")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--views", default=None, help="comma-separated, e.g. iso,front,top")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=None, help="output folder (generate) or file (export)")
    parser.add_argument("--format", choices=["anthropic", "openai", "hf"], default=None)


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError

    if args.rest:
        if args.rest[0] != "export" or len(args.rest) != 2 or not args.format:
            raise UsageError("usage: freecad-spatial synth export DIR --format anthropic|openai|hf [--out FILE]")
        from .export import export

        root = Path(args.rest[1])
        if not (root / "samples.jsonl").exists():
            raise UsageError(f"{root}: no samples.jsonl (generate first)")
        out = Path(args.out) if args.out else root / f"{args.format}.jsonl"
        n = export(root, args.format, out)
        print(json.dumps({"format": args.format, "rows": n, "out": str(out)}))
        return 0
    if not args.out:
        raise UsageError("synth needs --out DIR")
    if args.count < 1 or args.jobs < 1:
        raise UsageError("--count and --jobs must be at least 1")
    from freecad_spatial.spatial_tools import freecad_env

    freecad_env.load()
    from ..render.view import view_names
    from .families import BUILTIN
    from .generate import Run, generate
    from .qa import config

    views = tuple(v for v in (args.views.split(",") if args.views else config()["render"]["views"]) if v)
    bad = [v for v in views if v not in view_names()]
    if bad or not views:
        raise UsageError(f"unknown view(s) {', '.join(bad)} (views: {', '.join(view_names())})")
    families = tuple(args.families or BUILTIN)
    spec = Run(families=families, count=args.count, seed=args.seed, views=views,
               family_modules=tuple(str(Path(m).resolve()) for m in args.family_module))

    def progress(n: int, total: int) -> None:
        if n == total or n % 50 == 0:
            print(f"synth: {n}/{total} samples", file=sys.stderr)

    try:
        summary = generate(Path(args.out), spec, jobs=args.jobs, progress=progress)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(json.dumps(summary))
    return 0 if not summary["failed"] else 1

"""Runs one CadQuery program and writes its shape as BREP: executed by path in the CadQuery interpreter.

CadQuery brings its own OpenCASCADE bindings (``OCP``), which must not meet FreeCAD's nor the ``pmi``
extra's in one process, so this file runs in a separate Python (``.venv-cadquery``, see
cadquery_source.py) and imports nothing of this package. Usage::

    python -I cadquery_runner.py PROGRAM.py OUT.brep STATUS.json

The program sees ``cq``/``cadquery``, ``math`` and ``show_object`` and leaves its part in ``result``
(or shows it); STATUS.json says ``{"ok": true}`` or why not (``missing`` when cadquery cannot be imported).
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any


def _status(path: str, **fields: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fields, f)


def main(argv: list[str]) -> int:
    program, out, status = argv
    os.dup2(2, 1)  # the program's prints go to stderr
    try:
        import cadquery as cq
    except ImportError as exc:
        _status(status, ok=False, missing=True, error=f"{type(exc).__name__}: {exc}")
        return 3
    try:
        with open(program, encoding="utf-8") as f:
            code = compile(f.read(), "<item source>", "exec")
        shown: list = []
        namespace: dict[str, Any] = {"cq": cq, "cadquery": cq, "math": math, "__name__": "__main__",
                                     "show_object": lambda obj, *a, **k: shown.append(obj)}
        exec(code, namespace)  # noqa: S102 - a child of the builder's child, under its limits
        obj = namespace.get("result", shown[-1] if shown else None)
        if obj is None:
            raise ValueError("the CadQuery program defines no `result` and shows no object")
        if isinstance(obj, cq.Workplane):
            values = [v for v in obj.vals() if isinstance(v, cq.Shape)]
            if not values:
                raise ValueError("the CadQuery program's `result` holds no shape")
            obj = values[0] if len(values) == 1 else cq.Compound.makeCompound(values)
        if not isinstance(obj, cq.Shape):
            raise ValueError(f"the CadQuery program's `result` is a {type(obj).__name__}, not a shape")
        obj.exportBrep(out)
    except MemoryError:
        _status(status, ok=False, error="the CadQuery program ran out of memory")
        return 1
    except (Exception, SystemExit) as exc:  # the item's failure, reported by the builder
        _status(status, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return 1
    _status(status, ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

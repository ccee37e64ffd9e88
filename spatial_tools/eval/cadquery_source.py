"""CadQuery sources built in their own interpreter: which Python runs them, and the shape it returns.

CadQuery's ``OCP`` bindings replace the ``pmi`` extra's when both sit in one venv, so a CadQuery
program never runs in FreeCAD's Python: the builder's child starts ``cadquery_runner.py`` in the
CadQuery Python (under the child's own time and memory limits: same process group, inherited
RLIMIT_AS), which writes the part as BREP into a scratch folder; FreeCAD reads that file.
The CadQuery Python is, first found: ``FREECAD_SPATIAL_CADQUERY_PYTHON``, ``[cadquery] python`` in
resources/eval/eval.toml, ``.venv-cadquery/bin/python`` in the checkout (``./setup.sh cadquery``),
this interpreter when it can import cadquery.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from freecad_spatial import ROOT

from .model_modes import eval_settings

ENV = "FREECAD_SPATIAL_CADQUERY_PYTHON"
RUNNER = Path(__file__).with_name("cadquery_runner.py")
HOW_TO_INSTALL = f"run ./setup.sh cadquery (or set {ENV} to a Python that can import cadquery)"


class CadQueryMissing(RuntimeError):
    """No Python that can run CadQuery programs."""


def cadquery_python() -> str:
    """The interpreter that runs CadQuery programs (CadQueryMissing when there is none)."""
    configured = os.environ.get(ENV) or eval_settings().get("cadquery", {}).get("python", "")
    if configured:
        path = Path(configured).expanduser()
        path = path if path.is_absolute() else ROOT / path
        if not (path.is_file() and os.access(path, os.X_OK)):
            where = f"{ENV}={os.environ[ENV]}" if os.environ.get(ENV) else f"[cadquery] python = {configured!r}"
            raise CadQueryMissing(f"CadQuery is not installed: {where} is not an executable Python; {HOW_TO_INSTALL}")
        return str(path)
    own = ROOT / ".venv-cadquery" / "bin" / "python"
    if own.is_file() and os.access(own, os.X_OK):
        return str(own)
    if importlib.util.find_spec("cadquery") is not None:
        return sys.executable
    raise CadQueryMissing(f"CadQuery is not installed: {HOW_TO_INSTALL}")


def run_cadquery_program(program: str) -> Any:
    """The FreeCAD shape of a CadQuery program (``result`` or its last ``show_object``)."""
    import Part

    python = cadquery_python()
    with tempfile.TemporaryDirectory(prefix="spatial-cq-") as scratch:
        folder = Path(scratch)
        (folder / "program.py").write_text(program, encoding="utf-8")
        out, status = folder / "part.brep", folder / "status.json"
        # The program is untrusted: no API keys nor anything else of this process's environment.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, "TMPDIR": scratch,
               "LANG": "C.UTF-8"}
        proc = subprocess.run([python, "-I", str(RUNNER), "program.py", str(out), str(status)], cwd=scratch,
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        try:
            reply = json.loads(status.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            why = "ran out of memory or crashed" if proc.returncode else "wrote no status"
            raise RuntimeError(f"the CadQuery program {why} (exit status {proc.returncode}) {tail[0]}"[:500]) from None
        if reply.get("missing"):
            raise CadQueryMissing(f"CadQuery is not installed in {python} ({reply.get('error')}): {HOW_TO_INSTALL}")
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "the CadQuery program failed"))
        shape = Part.Shape()
        shape.read(str(out))
    return shape

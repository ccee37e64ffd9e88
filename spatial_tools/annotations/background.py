"""Check manufacturability in a worker process, so the GUI never waits on the DFM rules.

FreeCAD's Python API holds the GIL during the kernel's C++ calls, so a Python
thread would still freeze the event loop; a separate process does not. The
main thread only copies each checked object's global shape into a BREP file
(``prepare``); the worker (``python -m``-style ``main``) rebuilds a document of
plain ``Part::Feature`` objects with the same Names, runs the rules and writes
the findings as JSON; the main thread then reads them (``read_result``) and
creates the annotation objects in one transaction (``store.add_findings``).

No Qt here: the caller polls ``BackgroundCheck.poll()`` (the GUI from a QTimer).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from ..dfm.finding import Finding
from .check import CheckRequest

JOB = "job.json"
RESULT = "result.json"
LOG = "worker.log"
PYTHON_ENV = "FREECAD_SPATIAL_PYTHON"  # the interpreter that runs the worker (same minor version as FreeCAD's)


@dataclass
class BackgroundResult:
    """What the worker sends back: the findings and what was or was not checked."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    not_checked: list[dict] = field(default_factory=list)
    error: str | None = None  # the worker failed: why (its log's tail)


def worker_python() -> str:
    """A Python of FreeCAD's own version: inside the GUI ``sys.executable`` is FreeCAD itself."""
    chosen = os.environ.get(PYTHON_ENV)
    if chosen:
        return chosen
    if os.path.basename(sys.executable).startswith("python"):
        return sys.executable
    major, minor = sys.version_info[:2]
    for name in (f"python{major}.{minor}", "python3"):
        if found := shutil.which(name):
            return found
    raise RuntimeError(f"no python{major}.{minor} on PATH to run the check in; set {PYTHON_ENV}")


def prepare(document: Any, request: CheckRequest, folder: str) -> list[str]:
    """Writes the job (global shapes as BREP, request as JSON) into ``folder``; returns the object Names.

    Runs on the main thread: this is the only part that touches the document.
    """
    from ..dfm.engine import default_targets
    from ..refs import global_shape, resolve_object

    objects = [resolve_object(document, n).obj for n in request.objects] if request.objects else default_targets(document)
    entries = []
    for i, obj in enumerate(objects):
        brep = os.path.join(folder, f"shape{i}.brep")
        global_shape(obj).exportBrep(brep)
        entries.append({"name": obj.Name, "label": obj.Label, "brep": brep})
    direction = list(request.direction) if request.direction else None
    job = {
        "process": request.process,
        "profile": request.profile,
        "pull_direction": direction if request.process == "injection-molding" else None,
        "build_direction": direction if request.process == "fdm" else None,
        "objects": entries,
    }
    with open(os.path.join(folder, JOB), "w", encoding="utf-8") as fh:
        json.dump(job, fh)
    return [e["name"] for e in entries]


def run_job(folder: str) -> None:
    """The worker's side: reads the job, checks the shapes, writes the result (or the error)."""
    from .. import freecad_env

    freecad_env.load()
    import FreeCAD
    import Part

    from ..dfm.engine import check_document
    from ..errors import ToolError

    with open(os.path.join(folder, JOB), encoding="utf-8") as fh:
        job = json.load(fh)
    out: dict[str, Any]
    document = FreeCAD.newDocument("SpatialCheck")
    try:
        names = []
        for entry in job["objects"]:
            obj = document.addObject("Part::Feature", entry["name"])
            if obj.Name != entry["name"]:
                raise RuntimeError(f"object name {entry['name']!r} could not be kept (got {obj.Name!r})")
            obj.Label = entry["label"]
            shape = Part.Shape()
            shape.importBrep(entry["brep"])
            obj.Shape = shape
            names.append(obj.Name)
        result = check_document(
            document,
            job["process"],
            objects=names,
            profile=job["profile"],
            pull_direction=job["pull_direction"],
            build_direction=job["build_direction"],
        )
        out = {"findings": [f.to_dict() for f in result.findings], "checked": result.checked, "not_checked": result.not_checked}
    except ToolError as exc:
        out = {"error": exc.message}
    finally:
        FreeCAD.closeDocument(document.Name)
    with open(os.path.join(folder, RESULT + ".part"), "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    os.replace(os.path.join(folder, RESULT + ".part"), os.path.join(folder, RESULT))


def read_result(folder: str) -> BackgroundResult:
    """The worker's answer; a missing or broken result becomes ``error`` with the log's tail."""
    path = os.path.join(folder, RESULT)
    if not os.path.isfile(path):
        try:
            with open(os.path.join(folder, LOG), encoding="utf-8", errors="replace") as fh:
                tail = fh.read()[-1500:].strip()
        except OSError:
            tail = ""
        return BackgroundResult(error=f"the checker process stopped without a result{': ' + tail if tail else ''}")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("error"):
        return BackgroundResult(error=data["error"])
    return BackgroundResult(
        findings=[Finding.from_dict(f) for f in data["findings"]], checked=list(data["checked"]), not_checked=list(data["not_checked"])
    )


# The worker is started with ``-c``: the repository is the package ``freecad_spatial`` whatever its folder's name.
BOOTSTRAP = """
import importlib.util, sys
root, folder = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("freecad_spatial", root + "/__init__.py", submodule_search_locations=[root])
module = importlib.util.module_from_spec(spec)
sys.modules["freecad_spatial"] = module
spec.loader.exec_module(module)
from freecad_spatial.spatial_tools.annotations.background import run_job
run_job(folder)
"""


class BackgroundCheck:
    """One check in a worker process: ``start``, then ``poll`` until it returns a result; ``cancel`` kills it."""

    def __init__(self, document: Any, request: CheckRequest) -> None:
        self.document_name = document.Name
        self.request = request
        self.folder = tempfile.mkdtemp(prefix="spatial-check-")
        self.process: subprocess.Popen | None = None
        self.names: list[str] = []
        self.cancelled = False
        self.names = prepare(document, request, self.folder)

    def start(self) -> None:
        from freecad_spatial import ROOT

        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # FreeCAD's own paths would shadow the worker's interpreter
        with open(os.path.join(self.folder, LOG), "wb") as log:
            self.process = subprocess.Popen(
                [worker_python(), "-c", BOOTSTRAP, str(ROOT), self.folder],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def poll(self) -> BackgroundResult | None:
        """None while the worker runs; then its result (the folder is removed)."""
        if self.process is None or self.process.poll() is None:
            return None
        result = read_result(self.folder) if not self.cancelled else BackgroundResult(error="cancelled")
        shutil.rmtree(self.folder, ignore_errors=True)
        return result

    def wait(self, timeout: float | None = None) -> BackgroundResult:
        """Blocks until the worker ends (headless use and tests)."""
        assert self.process is not None, "start() first"
        self.process.wait(timeout)
        result = self.poll()
        assert result is not None
        return result

    def cancel(self) -> None:
        """Stops the worker; ``poll`` then answers ``error='cancelled'``."""
        self.cancelled = True
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait()

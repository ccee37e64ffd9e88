"""Check manufacturability in a worker process, so the GUI never waits on the DFM rules.

FreeCAD's Python API holds the GIL during the kernel's C++ calls, so a Python
thread would still freeze the event loop; a separate process does not. The
main thread only copies each checked object's global shape into a BREP file
(``prepare``); the worker (``python -m``-style ``main``) rebuilds a document of
plain ``Part::Feature`` objects with the same Names, runs the rules and writes
the findings as JSON; the main thread then reads them (``read_result``) and
creates the annotation objects in one transaction (``store.add_findings``).

No Qt here: the caller polls ``BackgroundCheck.poll()`` (the GUI from a QTimer);
``cancel`` kills the worker (its own process group, its temporary files inside
the job folder). The model's ``run_dfm`` calls run apart like every tool call
with a deadline (tool_process.py, tool_worker.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from ..dfm.finding import Finding
from ..errors import ToolError
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
    code: str | None = None  # the ToolError code of ``error`` when the rules raised one
    data: dict | None = None  # the run_dfm tool's result, built by the worker (``tool_result``)


@dataclass(frozen=True)
class Job:
    """Everything ``check_document`` takes: a CheckRequest says less (one direction, no material)."""

    process: str
    objects: tuple[str, ...] | None = None  # object Names; None: every part of the document
    profile: Any = None  # a profile path/name, or overrides (a dict, or a LibraryProfile keeping its origin)
    material: str | None = None
    pull_direction: Any = None
    build_direction: Any = None

    @classmethod
    def of_request(cls, request: CheckRequest) -> Job:
        direction = list(request.direction) if request.direction else None
        return cls(
            process=request.process,
            objects=tuple(request.objects) or None,
            profile=request.profile,
            pull_direction=direction if request.process == "injection-molding" else None,
            build_direction=direction if request.process == "fdm" else None,
        )


def _vector(value: Any) -> list[float] | None:
    if value is None:
        return None
    if hasattr(value, "x"):
        return [float(value.x), float(value.y), float(value.z)]
    return [float(c) for c in value]


def _profile_json(profile: Any) -> Any:
    """The profile argument as JSON; a LibraryProfile keeps its origin, which results name."""
    if profile is None or isinstance(profile, str):
        return profile
    if isinstance(profile, os.PathLike):
        return os.fspath(profile)
    return {"overrides": dict(profile), "origin": getattr(profile, "origin", None)}


def _profile_from_json(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    if data["origin"] is None:
        return data["overrides"]
    from ..dfm.profiles import LibraryProfile

    return LibraryProfile(data["overrides"], data["origin"])


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


def prepare(document: Any, request: CheckRequest | Job, folder: str) -> list[str]:
    """Writes the job (global shapes as BREP, request as JSON) into ``folder``; returns the object Names.

    Runs on the main thread: this is the only part that touches the document, and it takes the
    shapes as they are in memory (unsaved edits included), as an in-process check would.
    """
    from ..dfm.engine import default_targets
    from ..refs import global_shape, resolve_object

    job = request if isinstance(request, Job) else Job.of_request(request)
    objects = [resolve_object(document, n).obj for n in job.objects] if job.objects is not None else default_targets(document)
    entries: dict[str, dict] = {}  # one shape per object, however often it is named
    for obj in objects:
        if obj.Name not in entries:
            brep = os.path.join(folder, f"shape{len(entries)}.brep")
            global_shape(obj).exportBrep(brep)
            entries[obj.Name] = {"name": obj.Name, "label": obj.Label, "brep": brep}
    data = {
        "process": job.process,
        "profile": _profile_json(job.profile),
        "material": job.material,
        "pull_direction": _vector(job.pull_direction),
        "build_direction": _vector(job.build_direction),
        "objects": list(entries.values()),
        "names": [obj.Name for obj in objects],  # what the rules run on, in order, as named
    }
    with open(os.path.join(folder, JOB), "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    return list(entries)


def run_job(folder: str) -> None:
    """The worker's side: reads the job, checks the shapes, writes the result (or the error)."""
    from .. import freecad_env

    freecad_env.load()
    import FreeCAD
    import Part

    from ..dfm.engine import check_document
    from ..tools.run_dfm import tool_result

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
            objects=job.get("names", names),
            profile=_profile_from_json(job["profile"]),
            pull_direction=job["pull_direction"],
            build_direction=job["build_direction"],
            material=job.get("material"),
        )
        out = {
            "findings": [f.to_dict() for f in result.findings],
            "checked": result.checked,
            "not_checked": result.not_checked,
            "data": tool_result(result),
        }
    except ToolError as exc:
        out = {"error": exc.message, "code": exc.code}
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
        return BackgroundResult(error=data["error"], code=data.get("code"))
    return BackgroundResult(
        findings=[Finding.from_dict(f) for f in data["findings"]],
        checked=list(data["checked"]),
        not_checked=list(data["not_checked"]),
        data=data.get("data"),
    )


def tool_error(result: BackgroundResult) -> ToolError:
    """The worker's failure as the ToolError the in-process call would have raised (InternalError when it
    died without one)."""
    from ..errors import of_code

    return of_code(result.code, result.error or "the checker process failed")


def bootstrap(statements: str) -> str:
    """Source for ``python -c``: loads the repository (``sys.argv[1]``) as the package ``freecad_spatial``,
    whatever its folder's name, then runs ``statements``."""
    return """
import importlib.util, sys
root = sys.argv[1]
spec = importlib.util.spec_from_file_location("freecad_spatial", root + "/__init__.py", submodule_search_locations=[root])
module = importlib.util.module_from_spec(spec)
sys.modules["freecad_spatial"] = module
spec.loader.exec_module(module)
""" + statements


BOOTSTRAP = bootstrap("from freecad_spatial.spatial_tools.annotations.background import run_job\nrun_job(sys.argv[2])\n")


class BackgroundCheck:
    """One check in a worker process: ``start``, then ``poll`` until it returns a result; ``cancel`` kills it."""

    def __init__(self, document: Any, request: CheckRequest | Job) -> None:
        self.document_name = document.Name
        self.request = request
        self.folder = tempfile.mkdtemp(prefix="spatial-check-")
        self.process: subprocess.Popen | None = None
        self.names: list[str] = []
        self.cancelled = False
        try:
            self.names = prepare(document, request, self.folder)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def start(self) -> None:
        from freecad_spatial import ROOT

        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # FreeCAD's own paths would shadow the worker's interpreter
        # FreeCAD's transient document folder (in its cache folder) and temporary files go inside the job
        # folder, so a killed worker leaves nothing behind.
        env["XDG_CACHE_HOME"] = env["TMPDIR"] = env["TMP"] = env["TEMP"] = self.folder
        with open(os.path.join(self.folder, LOG), "wb") as log:
            self.process = subprocess.Popen(
                [worker_python(), "-c", BOOTSTRAP, str(ROOT), self.folder],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
                start_new_session=True,  # its own process group: cancel kills whatever it started too
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
        """Blocks until the worker ends (headless use and tests); subprocess.TimeoutExpired after ``timeout``."""
        assert self.process is not None, "start() first"
        self.process.wait(timeout)
        result = self.poll()
        assert result is not None
        return result

    def cancel(self) -> None:
        """Stops the worker and its process group and removes the job folder; ``poll`` then answers
        ``error='cancelled'``."""
        self.cancelled = True
        if self.process is not None:
            kill_group(self.process)  # the group too, even when the worker itself has ended
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the worker's process group (POSIX), else to the worker."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    if process.poll() is None:
        process.kill()

"""Where there is no fork (tool_process.available() False), run_dfm under a deadline runs in a worker
process that is killed when the budget is spent.

Real FreeCAD, real documents, real worker processes; only the recording of
which workers were started is a wrapper (around BackgroundCheck.start). The
fork path every tool takes on Linux is tested in test_tool_process.py.
"""

from __future__ import annotations

import glob
import os
import subprocess
import tempfile
import time

import pytest
from conftest import REGISTRY, REPO, FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.context import CallLimits, ToolArguments, ToolContext
from freecad_spatial.spatial_tools.documents import close_document, open_document

BRACKET = REPO / "resources" / "samples" / "bracket.FCStd"


@pytest.fixture
def spawned(monkeypatch, tmp_path):
    """Every BackgroundCheck started, with scratch folders under ``tmp_path`` (emptied when they are removed);
    forked calls turned off, as on Windows and macOS."""
    from freecad_spatial.spatial_tools import tool_process
    from freecad_spatial.spatial_tools.annotations import background

    monkeypatch.setenv(tool_process.DISABLE_ENV, "1")
    assert not tool_process.available()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    started = []
    original = background.BackgroundCheck.start

    def start(self):
        original(self)
        started.append(self)

    monkeypatch.setattr(background.BackgroundCheck, "start", start)
    return started


@pytest.fixture
def bracket():
    document = open_document(BRACKET)
    yield document
    close_document(document)


def model_call(arguments: dict, budget: float) -> ToolArguments:
    """Arguments as the agent loop hands them on: the model's limits with ``budget`` seconds left."""
    return ToolArguments(arguments, CallLimits.assistant(deadline=time.monotonic() + budget))


def gone(pid: int) -> bool:
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, 0)
            return False
        except ProcessLookupError:
            pass
    return True


def test_a_check_past_its_budget_is_killed_and_cleaned_up(spawned, doc, tmp_path):
    # 400 blind holes: cnc-3axis takes about 10 s on it in-process (2 shared cores).
    holes = [Part.makeCylinder(1.5 + 0.1 * ((20 * i + j) % 7), 15, FreeCAD.Vector(10 + 10 * i, 10 + 10 * j, 5))
             for i in range(20) for j in range(20)]
    add_shape(doc, "Plate", Part.makeBox(210, 210, 20).cut(holes))  # (a compound tool crashes FreeCAD 1.0)
    started = time.monotonic()
    envelope = REGISTRY.call("run_dfm", model_call({"process": "cnc-3axis"}, 1.5), ToolContext(document=doc))
    elapsed = time.monotonic() - started
    assert envelope["ok"] is False and envelope["error"]["code"] == "deadline_exceeded", envelope
    message = envelope["error"]["message"]
    assert "stopped after" in message and "Check manufacturability" in message and "freecad-spatial check" in message
    assert elapsed < 1.5 + 2.0, elapsed
    assert len(spawned) == 1
    worker = spawned[0].process
    assert worker.returncode is not None and gone(worker.pid)
    assert not os.path.exists(spawned[0].folder)
    assert os.listdir(tmp_path) == []
    # Nor the transient folder of the worker's FreeCAD document (named after its pid) in a FreeCAD cache.
    caches = {FreeCAD.ConfigGet("UserCachePath"), os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")}
    assert not [p for c in caches for p in glob.glob(os.path.join(c, "**", f"*_{worker.pid}"), recursive=True)]


def test_a_check_within_its_budget_answers_as_in_process(spawned, bracket, tmp_path):
    add_shape(bracket, "Unsaved", Part.makeBox(5, 5, 5), FreeCAD.Placement(FreeCAD.Vector(200, 0, 0), FreeCAD.Rotation()))  # not saved
    calls = [
        {"process": "cnc-3axis"},
        {"process": "injection-molding", "material": "pc", "pull_direction": [0, 0, -1], "objects": ["Body"]},
        {"process": "cnc-3axis", "profile": {"rules": {"cnc.deep_hole": {"warn_above": 2}}}},
        {"process": "fdm", "profile": "shop-strict"},  # not a profile of fdm: the same error both ways
        {"process": "cnc-3axis", "objects": ["Nope"]},
        {"process": "cnc-3axis", "objects": []},
        {"process": "cnc-3axis", "objects": ["Unsaved", "Body", "Unsaved"]},
    ]
    for arguments in calls:
        user = REGISTRY.call("run_dfm", arguments, ToolContext.for_assistant(bracket))  # no deadline: in-process
        before = len(spawned)
        model = REGISTRY.call("run_dfm", model_call(arguments, 120), ToolContext(document=bracket))
        assert model == user, arguments
        if user["ok"]:
            assert len(spawned) == before + 1
            assert "findings" in user["result"]
    first = REGISTRY.call("run_dfm", {"process": "cnc-3axis"}, ToolContext(document=bracket))["result"]
    assert "Unsaved" in first["checked"] and first["findings"]
    assert all(not os.path.exists(c.folder) for c in spawned) and os.listdir(tmp_path) == []


def test_a_call_without_deadline_stays_in_process(spawned, bracket, monkeypatch):
    expected = REGISTRY.call("run_dfm", {"process": "cnc-3axis"}, ToolContext(document=bracket))

    def no_processes(*args, **kwargs):
        raise OSError("no process may be started here")

    monkeypatch.setattr(subprocess, "Popen", no_processes)
    # The user's own calls: the `tool` command's context, and arguments whose limits set no deadline.
    assert REGISTRY.call("run_dfm", {"process": "cnc-3axis"}, ToolContext(document=bracket)) == expected
    user = ToolArguments({"process": "cnc-3axis"}, CallLimits())
    assert REGISTRY.call("run_dfm", user, ToolContext(document=bracket)) == expected
    assert spawned == []
    # A call with a deadline needs its worker process.
    limited = REGISTRY.call("run_dfm", model_call({"process": "cnc-3axis"}, 60), ToolContext(document=bracket))
    assert limited["ok"] is False and "no process may be started here" in limited["error"]["message"]


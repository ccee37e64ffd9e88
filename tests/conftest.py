"""Shared fixtures: FreeCAD as a library, fresh documents, tool calls checked against schemas."""

from __future__ import annotations

import itertools
import os
import signal
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"  # everything the suite reads; nothing outside the repository
CORPORA = DATA / "corpora"
ORACLES = DATA / "oracles"
BRACKET = REPO / "resources" / "samples" / "bracket.FCStd"

from freecad_spatial.spatial_tools import freecad_env  # noqa: E402

FreeCAD = freecad_env.load()
import Part  # noqa: E402, F401 - re-exported to the tests

# The run's isolated temp/config folders and, after the last test, the scan for leaked test keys.
from key_leak import key_leak_guard  # noqa: E402, F401

from freecad_spatial.spatial_tools.context import ToolContext  # noqa: E402
from freecad_spatial.spatial_tools.registry import load_builtin_tools  # noqa: E402

REGISTRY = load_builtin_tools()
_names = itertools.count()


@pytest.fixture
def doc():
    """A new, empty FreeCAD document with undo enabled, closed afterwards."""
    document = FreeCAD.newDocument(f"T{next(_names)}")
    document.UndoMode = 1
    yield document
    FreeCAD.closeDocument(document.Name)


@pytest.fixture
def bracket():
    """The bundled bracket sample (a PartDesign body saved by FreeCAD 0.20), undo on, closed afterwards."""
    document = FreeCAD.openDocument(str(BRACKET))
    document.UndoMode = 1
    yield document
    FreeCAD.closeDocument(document.Name)


def add_shape(document, name: str, shape, placement=None):
    obj = document.addObject("Part::Feature", name)
    obj.Shape = shape
    if placement is not None:
        obj.Placement = placement
    document.recompute()
    return obj


def call(document, name: str, arguments: dict | None = None, selection=None, **ctx) -> dict:
    """Calls a tool through the registry and checks the envelope against its result schema."""
    import jsonschema

    envelope = REGISTRY.call(name, arguments or {}, ToolContext(document=document, selection=selection or [], **ctx))
    assert set(envelope) == {"ok", "result"} or set(envelope) == {"ok", "error"}, envelope
    if envelope["ok"]:
        jsonschema.validate(envelope["result"], REGISTRY.get(name).result_schema)
    else:
        assert envelope["error"]["code"] and envelope["error"]["message"], envelope
    return envelope


def ok(document, name: str, arguments: dict | None = None, **kw) -> dict:
    envelope = call(document, name, arguments, **kw)
    assert envelope["ok"], envelope
    return envelope["result"]


def error(document, name: str, arguments: dict | None = None, **kw) -> dict:
    envelope = call(document, name, arguments, **kw)
    assert not envelope["ok"], envelope
    return envelope["error"]


def face_where(obj, predicate) -> str:
    """The ref of the single face of ``obj`` that satisfies ``predicate(face)``."""
    matches = [i + 1 for i, f in enumerate(obj.Shape.Faces) if predicate(f)]
    assert len(matches) == 1, f"{len(matches)} faces match"
    return f"{obj.Name}.Face{matches[0]}"


V = FreeCAD.Vector
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.dont_write_bytecode = True

# A shell starts background jobs (`./setup.sh test &`, nohup) with SIGINT ignored, and an ignored
# signal stays ignored in every child: the tests that stop a server or a run with Ctrl-C would then
# see it ignored. Ctrl-C handled here is SIGINT's default again in each child (exec resets it).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# FreeCAD as a library and PySide6 in one interpreter can abort while Python tears
# their modules down (seen as "bool_dealloc ... refcount error", exit 134) after every
# test has passed and been reported. Nothing is left to run by then: leave with
# pytest's own status instead of through that teardown.
_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _exit_status and os.environ.get("FREECAD_SPATIAL_TEST_TEARDOWN") != "python":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])

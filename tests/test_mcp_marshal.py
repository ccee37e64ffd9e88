"""The live session's way to the GUI thread (spatial_tools/mcp/marshal.py), with PySide6 outside FreeCAD.

A call reaches the GUI thread through the chat's MainThreadBridge; when the
GUI thread is busy past the call's deadline the server's thread gives up
with a deadline error, and the queued work is dropped, never run later.
"""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("FREECAD_SPATIAL_QT", "pyside6")

import pytest  # noqa: E402

pytest.importorskip("PySide6.QtCore")

from freecad_spatial.panels.chat_controller import MainThreadBridge  # noqa: E402
from freecad_spatial.spatial_tools.errors import DeadlineExceeded  # noqa: E402
from freecad_spatial.spatial_tools.mcp.marshal import Direct, OnGuiThread  # noqa: E402


def _call_from_worker(marshal, fn, deadline_s: float) -> dict:
    out: dict = {}

    def work() -> None:
        started = time.monotonic()
        try:
            out["value"] = marshal.run(fn, time.monotonic() + deadline_s)
        except Exception as exc:
            out["error"] = exc
        out["elapsed_s"] = time.monotonic() - started

    thread = threading.Thread(target=work)
    thread.start()
    return {"thread": thread, "out": out}


def test_the_work_runs_on_the_gui_thread(qtbot):
    bridge = MainThreadBridge()
    call = _call_from_worker(OnGuiThread(bridge), lambda: threading.current_thread() is threading.main_thread(), 5)
    qtbot.waitUntil(lambda: not call["thread"].is_alive(), timeout=5000)
    assert call["out"]["value"] is True


def test_a_busy_gui_past_the_deadline_is_an_error_and_the_work_is_dropped(qtbot):
    bridge = MainThreadBridge()
    ran = []
    call = _call_from_worker(OnGuiThread(bridge), lambda: ran.append(1), 0.5)
    time.sleep(1.5)  # the GUI thread is busy: no event is processed
    call["thread"].join(5)
    qtbot.wait(200)  # the GUI thread is free again and processes the queued request
    assert isinstance(call["out"].get("error"), DeadlineExceeded)
    assert "GUI was busy" in call["out"]["error"].message
    assert call["out"]["elapsed_s"] < 1.2
    assert ran == []


def test_headless_calls_take_turns_and_give_up_at_their_deadline():
    direct = Direct()
    release = threading.Event()
    first = _call_from_worker(direct, lambda: release.wait(5), 10)
    time.sleep(0.1)
    second = _call_from_worker(direct, lambda: "ran", 0.3)
    second["thread"].join(5)
    release.set()
    first["thread"].join(5)
    assert isinstance(second["out"].get("error"), DeadlineExceeded)
    assert first["out"]["value"] is True

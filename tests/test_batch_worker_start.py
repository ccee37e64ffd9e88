"""How batch workers start: forked from the loaded batch process on Linux, spawned elsewhere.

Both ways check the same real MFCAD parts to the same findings; a forked worker
gets the default SIGTERM (not the CLI's "end the batch"), works after this
process used OpenCASCADE's thread pool, and a FreeCAD that cannot load is one
clear line before any worker starts. The spawned path (macOS, Windows, or
``worker_start = "spawn"``) keeps its timeout, crash and start-up behaviour.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from freecad_spatial.spatial_tools.check import batch
from freecad_spatial.spatial_tools.check.batch import (
    START_ENV,
    CheckOptions,
    FileResult,
    check_file,
    run_batch,
)

EXE = Path(sys.executable).with_name("freecad-spatial")
PARTS = sorted((Path(__file__).parent / "data" / "corpora" / "mfcad" / "step").glob("*.step"))


def findings_of(result: FileResult) -> list:
    return [(f.rule, f.severity.value, f.message, tuple(sorted(f.refs))) for f in result.findings]


# Checkers for run_batch: module level, so spawned workers can import them.
def sigterm_checker(path: str, options: CheckOptions) -> FileResult:
    os.kill(os.getpid(), signal.SIGTERM)
    return FileResult(path=path, status="ok")


@pytest.fixture
def spawn(monkeypatch):
    monkeypatch.setenv(START_ENV, "spawn")


def test_linux_forks_workers_unless_told_to_spawn(monkeypatch):
    assert batch.start_method() == "fork"  # this suite runs on Linux
    monkeypatch.setenv(START_ENV, "spawn")
    assert batch.start_method() == "spawn"
    monkeypatch.setenv(START_ENV, "fork")
    monkeypatch.setattr(sys, "platform", "darwin")  # no safe fork under a macOS GUI; Windows has none
    assert batch.start_method() == "spawn"
    monkeypatch.setenv(START_ENV, "thread")
    with pytest.raises(ValueError, match="must be \"fork\" or \"spawn\""):
        batch.start_method()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_forked_and_spawned_workers_find_what_an_in_process_check_finds(monkeypatch, method):
    paths = [str(p) for p in PARTS[:5]]
    expected = [findings_of(check_file(p, CheckOptions(process="cnc-3axis"))) for p in paths]
    assert sum(map(len, expected)) > 0  # the parts have findings to compare
    monkeypatch.setenv(START_ENV, method)
    results = run_batch(paths, CheckOptions(process="cnc-3axis", timeout=300), jobs=2, progress=False)
    assert [r.status for r in results] == ["ok"] * len(paths), [r.error for r in results]
    assert [findings_of(r) for r in results] == expected


def test_a_forked_worker_checks_after_this_process_used_the_kernel_thread_pool():
    """FreeCAD 1.1 runs OpenCASCADE's parallel loops on a thread pool; a fork copies no pool thread. Unparked, a
    worker forked after the parent used the pool waits forever in its first distToShape (timed out here)."""
    import FreeCAD
    import Part

    doc = FreeCAD.newDocument("PoolUser")
    try:
        doc.addObject("Part::Feature", "Plate").Shape = Part.makeBox(40, 30, 5).cut(Part.makeCylinder(4, 5, FreeCAD.Vector(20, 15, 0)))
        doc.recompute()
        shape = doc.Plate.Shape
        shape.distToShape(Part.makeSphere(2, FreeCAD.Vector(80, 0, 0)))
        shape.tessellate(0.05)
        check_file(str(PARTS[0]), CheckOptions(process="cnc-3axis"))
    finally:
        FreeCAD.closeDocument(doc.Name)
    assert batch.start_method() == "fork"
    results = run_batch([str(p) for p in PARTS[1:4]], CheckOptions(process="cnc-3axis", timeout=60), jobs=2, progress=False)
    assert [r.status for r in results] == ["ok"] * 3, [r.error for r in results]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_sigterm_ends_a_worker_even_where_the_batch_process_turns_it_into_an_interrupt(monkeypatch, method):
    """The check command makes SIGTERM end the batch (KeyboardInterrupt); a forked worker must not inherit that."""
    monkeypatch.setenv(START_ENV, method)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        results = run_batch([str(PARTS[0]), str(PARTS[1])], CheckOptions(process="cnc-3axis", timeout=60), jobs=1,
                            progress=False, checker=sigterm_checker)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert [r.error for r in results] == [f"the checker process died (exit status {-signal.SIGTERM})"] * 2


def test_a_freecad_that_cannot_load_is_one_clear_line_before_any_worker(tmp_path):
    env = {**os.environ, "FREECAD_LIB": str(tmp_path)}
    proc = subprocess.run([str(EXE), "check", str(PARTS[0]), str(PARTS[1]), "--process", "cnc-3axis", "--jobs", "2"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"FREECAD_LIB={tmp_path} holds no FreeCAD module" in proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_spawned_workers_time_out_are_replaced_after_a_crash_and_report_a_failed_start(spawn, tmp_path):
    from test_check_broken_inputs import crashing_checker, hanging_checker

    good = [str(p) for p in PARTS[:2]]
    results = run_batch(["/nowhere/hang.step", good[0]], CheckOptions(process="cnc-3axis", timeout=8), jobs=2,
                        progress=False, checker=hanging_checker)
    assert results[0].error == "timed out after 8 s" and results[1].status == "ok", [r.error for r in results]
    results = run_batch(["/nowhere/crash.step", good[1]], CheckOptions(process="fdm", timeout=60), jobs=1,
                        progress=False, checker=crashing_checker)
    assert results[0].error.startswith(f"the checker process died (exit status {-signal.SIGKILL})")
    assert results[1].status == "ok", results[1].error
    env = {**os.environ, "FREECAD_LIB": str(tmp_path), START_ENV: "spawn"}
    proc = subprocess.run([str(EXE), "check", good[0], "--process", "cnc-3axis"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2 and "could not start" in proc.stderr and "holds no FreeCAD module" in proc.stderr, proc.stderr

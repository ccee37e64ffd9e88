"""Broken inputs in one batch: each gets its own error with a reason, the good files are still checked,
a hung file times out and a crashed worker is reported, and the batch goes on."""

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from conftest import FreeCAD, Part, V

from freecad_spatial.spatial_tools.check.batch import CheckOptions, check_file, run_batch

EXE = Path(sys.executable).with_name("freecad-spatial")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _plate():
    """A 40×30×10 plate with a Ø6 through hole: a valid part with no defect the general rules see."""
    return Part.makeBox(40, 30, 10).cut(Part.makeCylinder(3, 10, V(20, 15, 0)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("broken")
    files = {}
    (d / "empty.step").write_bytes(b"")
    files["empty.step"] = "the file is empty"
    _plate().exportStep(str(d / "whole.step"))
    data = (d / "whole.step").read_bytes()
    (d / "truncated.step").write_bytes(data[: len(data) // 2])
    (d / "whole.step").unlink()
    files["truncated.step"] = "not a readable STEP file"
    (d / "random.step").write_bytes(os.urandom(3000))
    files["random.step"] = "not a readable STEP file"
    (d / "picture.step").write_bytes(PNG)
    files["picture.step"] = "not a readable STEP file"
    with zipfile.ZipFile(d / "garbage.FCStd", "w") as archive:
        archive.writestr("Document.xml", "<?xml version='1.0'?><Document><Objects Count='1'><Object")
    files["garbage.FCStd"] = "Document.xml is not well-formed XML"
    box = Part.makeBox(10, 20, 30)
    Part.Shell([f for f in box.Faces if abs(f.CenterOfMass.z - 30) > 1e-9]).exportBrep(str(d / "open-shell.brep"))
    files["open-shell.brep"] = "is not a solid: its shell is open along 4 free edge(s)"
    square = Part.Face(Part.makePolygon([V(0, 0, 0), V(10, 0, 0), V(10, 10, 0), V(0, 10, 0), V(0, 0, 0)]))
    back = square.copy()
    back.reverse()
    Part.Solid(Part.Shell([square, back])).exportBrep(str(d / "zero-volume.brep"))
    files["zero-volume.brep"] = "encloses no volume"
    (d / "folder.step").mkdir()
    files["folder.step"] = "is a directory"
    good_dir = d / "pièces à contrôler"
    good_dir.mkdir()
    _plate().exportStep(str(good_dir / "plaque n° 1.step"))
    doc = FreeCAD.newDocument("BrokenCorpusGood")
    obj = doc.addObject("Part::Feature", "Plate")
    obj.Shape = _plate()
    doc.recompute()
    doc.saveAs(str(good_dir / "plaque n° 2.FCStd"))
    FreeCAD.closeDocument(doc.Name)
    good = [str(good_dir / "plaque n° 1.step"), str(good_dir / "plaque n° 2.FCStd")]
    return d, files, good


def test_every_broken_file_has_a_reason_and_the_good_ones_are_checked(corpus):
    d, broken, good = corpus
    names = list(broken)
    args = [str(d / names[0]), good[0], *[str(d / n) for n in names[1:]], good[1]]
    proc = subprocess.run(
        [str(EXE), "check", *args, "--process", "cnc-3axis", "--jobs", "2"], capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"] == "freecad-spatial/report@1" and report["process"] == "cnc-3axis"
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert [f["path"] for f in report["files"]] == args  # input order, paths as given
    for name, words in broken.items():
        entry = files[name]
        assert entry["status"] == "error", entry
        assert words in entry["error"], (name, entry["error"])
        assert entry["error"].count(name) <= 1
    for path in good:
        entry = files[Path(path).name]
        assert entry["status"] == "ok" and "error" not in entry and entry["findings"] == []
        assert entry["checked"] in (["Part"], ["Plate"])
    # The open shell and the zero-volume solid are also findings at their place.
    (open_finding,) = files["open-shell.brep"]["findings"]
    assert open_finding["rule"] == "geom.invalid_solid" and open_finding["location"] == pytest.approx([5, 10, 30])
    (flat_finding,) = files["zero-volume.brep"]["findings"]
    assert flat_finding["rule"] == "geom.invalid_solid" and flat_finding["measured"] == pytest.approx(0)
    # One line per unusable file on stderr, naming it.
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == len(broken)
    for name in broken:
        assert sum(name in ln for ln in lines) == 1


def test_only_good_files_exit_zero(corpus):
    _, _, good = corpus
    proc = subprocess.run([str(EXE), "check", *good, "--process", "fdm"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert all(f["status"] == "ok" for f in json.loads(proc.stdout)["files"])


# Checkers for run_batch: module-level so spawned workers can import them.
def hanging_checker(path, options):
    if "hang" in Path(path).name:
        time.sleep(600)
    return check_file(path, options)


def crashing_checker(path, options):
    if "crash" in Path(path).name:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or a kernel crash would
    return check_file(path, options)


def pmi_reading_checker(path, options):
    """Reads the file's PMI in the reader process (seconds on a NIST model): the worker is killed meanwhile."""
    from freecad_spatial.spatial_tools.gdt.pmi_import import run_reader

    run_reader(path, timeout=600)
    return check_file(path, options)


def _readers_of(path):
    """Live processes whose command line names ``path`` (the PMI reader started on it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                words = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if os.fsencode(path) in words and state != "Z":
                found.append(int(entry))
    return found


def test_a_hung_file_times_out_and_the_batch_goes_on(corpus):
    _, _, good = corpus
    paths = ["/nowhere/hang.step", good[0], "/nowhere/hang-again.step", good[1]]
    started = time.monotonic()
    results = run_batch(paths, CheckOptions(process="cnc-3axis", timeout=3), jobs=2, checker=hanging_checker)
    assert time.monotonic() - started < 60
    assert [r.path for r in results] == paths
    for result in (results[0], results[2]):
        assert result.status == "error" and result.error == "timed out after 3 s"
        assert result.seconds >= 3
    assert results[1].status == "ok" and results[3].status == "ok"


def test_a_crashed_worker_is_reported_and_replaced(corpus):
    _, _, good = corpus
    paths = ["/nowhere/crash.step", good[0], good[1]]
    results = run_batch(paths, CheckOptions(process="fdm", timeout=60), jobs=1, checker=crashing_checker)
    assert results[0].status == "error"
    assert results[0].error.startswith(f"the checker process died (exit status {-signal.SIGKILL})")
    assert [r.status for r in results[1:]] == ["ok", "ok"]


def test_a_worker_killed_at_its_deadline_takes_its_pmi_reader_with_it(tmp_path):
    """The PMI reader is a child of the worker: when the worker is killed (here at --timeout), the reader ends too."""
    pytest.importorskip("OCP", reason="the pmi extra is not installed")
    nist = Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "step" / "nist_stc_08_asme1_ap242-e3.stp"
    model = tmp_path / "slow-reader-model.stp"  # a name no other test's reader has
    model.write_bytes(nist.read_bytes())
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.extend(pid for pid in _readers_of(str(model)) if pid not in seen)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        results = run_batch([str(model)], CheckOptions(process="cnc-3axis", timeout=0.6), jobs=1, checker=pmi_reading_checker)
    finally:
        stop.set()
        watcher.join()
    assert results[0].error == "timed out after 0.6 s"
    assert seen, "the reader never ran: the deadline came before it started"
    # Left alone the reader would read on for more than a second (~2 s in all); killed with its parent it is gone at once.
    deadline = time.monotonic() + 0.3
    while _readers_of(str(model)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _readers_of(str(model)) == []


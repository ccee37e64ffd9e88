"""Batch checks at scale: folder and list inputs, the resumable --results store, progress, and nothing left running.

Real files from tests/data/corpora (MFCAD STEP parts), the real CLI in a
subprocess, real worker processes; the store is checked by its entries on
disk (an entry rewritten means its file was checked again).
"""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from freecad_spatial.spatial_tools.check.batch import CheckOptions, run_batch
from freecad_spatial.spatial_tools.check.progress import Progress, wanted

EXE = Path(sys.executable).with_name("freecad-spatial")
MFCAD = Path(__file__).parent / "data" / "corpora" / "mfcad" / "step"
PARTS = sorted(MFCAD.glob("*.step"))


def check(*args, cwd=None, env=None):
    proc = subprocess.run([str(EXE), "check", *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def files_of(report_text):
    """Each file's entry without its timing: what must be equal between two runs."""
    return [{k: v for k, v in f.items() if k != "seconds"} for f in json.loads(report_text)["files"]]


def entries(store):
    """Every stored entry: name -> (inode, mtime_ns); a rewritten entry gets a new inode (atomic rename)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in Path(store).glob("entries/*/*.json")}


def group_members(pgid):
    """Live processes of process group ``pgid`` (zombies are dead and not counted)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A part library: 4 MFCAD parts in nested folders, a README that is no CAD file, and a list file."""
    root = tmp_path_factory.mktemp("library")
    (root / "a" / "b").mkdir(parents=True)
    shutil.copy(PARTS[0], root / "p0.step")
    shutil.copy(PARTS[1], root / "a" / "p1.STEP")
    shutil.copy(PARTS[2], root / "a" / "b" / "p2.stp")
    shutil.copy(PARTS[3], root / "a" / "b" / "p3.step")
    (root / "a" / "README.txt").write_text("not a part\n")
    return root


def test_a_folder_is_every_cad_file_under_it_in_sorted_order(library):
    proc = check(library, "--process", "cnc-3axis")
    assert proc.returncode in (0, 1), proc.stderr
    names = [f["path"] for f in json.loads(proc.stdout)["files"]]
    assert names == [str(library / "a" / "b" / "p2.stp"), str(library / "a" / "b" / "p3.step"), str(library / "a" / "p1.STEP"), str(library / "p0.step")]


def test_a_list_file_names_files_relative_to_itself_and_skips_comments(library, tmp_path):
    listing = library / "a" / "parts.txt"
    listing.write_text("# the parts to check\n\nb/p2.stp\n" + str(library / "p0.step") + "\n")
    proc = check("--from", listing, "--process", "cnc-3axis", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    names = [f["path"] for f in json.loads(proc.stdout)["files"]]
    assert names == [str(library / "a" / "b" / "p2.stp"), str(library / "p0.step")]
    # The same files as plain arguments give the same findings.
    direct = check(library / "a" / "b" / "p2.stp", library / "p0.step", "--process", "cnc-3axis")
    assert files_of(direct.stdout) == files_of(proc.stdout)


@pytest.mark.parametrize("make, words", [("empty_dir", "holds no CAD file"), ("missing_list", "--from"), ("empty_list", "names no file")])
def test_unusable_inputs_exit_2_with_one_line(tmp_path, make, words):
    if make == "empty_dir":
        (tmp_path / "nothing").mkdir()
        (tmp_path / "nothing" / "notes.txt").write_text("x")
        args = [tmp_path / "nothing"]
    elif make == "missing_list":
        args = ["--from", tmp_path / "no-such-list.txt"]
    else:
        (tmp_path / "list.txt").write_text("# nothing\n")
        args = ["--from", tmp_path / "list.txt"]
    proc = check(*args, "--process", "cnc-3axis")
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr, proc.stderr


def test_no_input_at_all_is_a_usage_error():
    proc = check("--process", "cnc-3axis")
    assert proc.returncode == 2 and "at least one FILE" in proc.stderr


def test_results_rerun_checks_nothing_and_a_changed_file_is_checked_again(tmp_path):
    work = tmp_path / "parts"
    work.mkdir()
    for part in PARTS[:3]:
        shutil.copy(part, work / part.name)
    store = tmp_path / "store"
    first = check(work, "--process", "cnc-3axis", "--results", store)
    assert first.returncode in (0, 1), first.stderr
    before = entries(store)
    assert len(before) == 3
    # A re-run reads every outcome from the store: the same report, no entry written again.
    again = check(work, "--process", "cnc-3axis", "--results", store)
    assert again.stdout == first.stdout and again.returncode == first.returncode
    assert entries(store) == before
    # One file now holds another part: only it is checked, and its findings are the other part's.
    changed = work / PARTS[0].name
    shutil.copy(PARTS[5], changed)
    third = check(work, "--process", "cnc-3axis", "--results", store)
    after = entries(store)
    assert len(after) == 4 and all(after[name] == value for name, value in before.items())
    fresh = check(PARTS[5], "--process", "cnc-3axis")
    new_entry = files_of(third.stdout)[0]
    assert new_entry["findings"] == files_of(fresh.stdout)[0]["findings"]
    assert files_of(third.stdout)[1:] == files_of(first.stdout)[1:]
    # Another process is another key: nothing is reused across it.
    other = check(work, "--process", "fdm", "--results", store)
    assert other.returncode in (0, 1) and len(entries(store)) == 7


def test_interrupted_run_resumes_without_checking_stored_files_again(tmp_path):
    """Ctrl-C (SIGINT to the CLI alone) mid-run: exit 130, no process left; the re-run checks only the rest."""
    store = tmp_path / "store"
    # MFCAD parts (a fraction of a second each) and three NIST models (seconds each), handed out
    # largest first: the two big models go to the two workers, then the third; the signal comes
    # once two outcomes are stored, while the third model is being checked.
    nist = Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "step"
    slow = [str(nist / name) for name in ("nist_ftc_10_asme1_ap242-e2.stp", "nist_stc_07_asme1_ap242-e3.stp", "nist_ctc_01_asme1_ap242-e1.stp")]
    parts = [str(p) for p in PARTS[:2]] + slow + [str(p) for p in PARTS[2:6]]
    proc = subprocess.Popen(
        [str(EXE), "check", *parts, "--process", "cnc-3axis", "--results", str(store), "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # As from a terminal: a test run started in the background inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while len(entries(store) if store.exists() else {}) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = children_of(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "interrupted after" in err and "resume" in err and "Traceback" not in err
    assert workers, "the batch had worker processes when it was interrupted"
    left = group_members(proc.pid)
    deadline = time.monotonic() + 20  # a loaded machine may take a moment to reap them
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = group_members(proc.pid)
    assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left]
    stored = entries(store)
    assert 2 <= len(stored) < len(parts), len(stored)
    resumed = check(*parts, "--process", "cnc-3axis", "--results", store)
    assert resumed.returncode in (0, 1), resumed.stderr
    after = entries(store)
    assert len(after) == len(parts) and all(after[name] == value for name, value in stored.items())
    direct = check(*parts, "--process", "cnc-3axis", "--jobs", "2")
    assert files_of(resumed.stdout) == files_of(direct.stdout)


# A checker for run_batch (module level: spawned workers import it).
def rules_already_loaded(path, options):
    """Says whether the worker had imported the rules before its first file came: start-up work, not the file's."""
    from freecad_spatial.spatial_tools.check.batch import FileResult

    loaded = "freecad_spatial.spatial_tools.dfm.rules.cnc_thin_wall" in sys.modules
    return FileResult(path=path, status="ok" if loaded else "error", error=None if loaded else "rules imported by the file")


def test_the_largest_files_are_handed_out_first_and_results_stay_in_input_order():
    """Longest first keeps two workers from waiting on one big file at the end; the report keeps the input order."""
    paths = [str(p) for p in PARTS[:8]]
    sizes = [os.path.getsize(p) for p in paths]
    assert len(set(sizes)) == len(sizes) and sizes != sorted(sizes, reverse=True)  # the test says something
    order = []
    results = run_batch(paths, CheckOptions(process="cnc-3axis"), jobs=1, progress=False, on_result=lambda i, r: order.append(i))
    assert order == sorted(range(len(paths)), key=lambda i: -sizes[i])
    assert [r.path for r in results] == paths and [r.status for r in results] == ["ok"] * len(paths)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_worker_imports_the_rules_before_it_says_ready(monkeypatch, method):
    """Spawned: the worker imports them itself; forked: it is a copy of the batch process, which imported them."""
    monkeypatch.setenv("FREECAD_SPATIAL_WORKER_START", method)
    results = run_batch([str(PARTS[0])], CheckOptions(process="cnc-3axis"), jobs=1, progress=False, checker=rules_already_loaded)
    assert results[0].status == "ok", results[0].error


@pytest.mark.skipif(shutil.which("unshare") is None or subprocess.run(["unshare", "--pid", "--fork", "true"]).returncode != 0,
                    reason="cannot make a pid namespace here")
def test_workers_start_when_the_batch_process_is_pid_1():
    """In a container ``freecad-spatial check`` is often pid 1: its workers see parent pid 1 from birth and must not
    take that for "the batch died before I started" (they did: "could not start (exit status 1)")."""
    proc = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", str(EXE), "check", str(PARTS[0]), str(PARTS[1]),
                           "--process", "cnc-3axis", "--jobs", "2"], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert [f["status"] for f in json.loads(proc.stdout)["files"]] == ["ok", "ok"]


def test_a_finished_run_leaves_no_process_behind():
    """run_batch ends its workers and the resource tracker that multiprocessing started for them."""
    before = set(children_of(os.getpid()))  # earlier tests' long-lived helpers (the warm tool worker) may be here
    results = run_batch([str(p) for p in PARTS[:3]], CheckOptions(process="cnc-3axis"), jobs=2, progress=False)
    assert [r.status for r in results] == ["ok"] * 3
    assert set(children_of(os.getpid())) <= before


def test_progress_shows_rate_and_eta():
    now = [100.0]
    stream = io.StringIO()
    progress = Progress(10, True, stream=stream, clock=lambda: now[0])
    progress.skip(2)  # stored: not counted in the rate
    now[0] += 60
    progress.update("a.step")
    progress.update("b.step")
    line = progress.line()
    assert "4/10 files" in line and "2.0 files/min" in line and "ETA 3m00s" in line, line
    assert stream.getvalue().count("\r") == 3
    progress.close()
    assert stream.getvalue().endswith("\r")


def test_progress_only_on_a_terminal_outside_ci():
    import pty

    master, slave = pty.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as terminal:
            assert wanted(terminal, {}) is True
            assert wanted(terminal, {"CI": "true"}) is False
            assert wanted(terminal, {"CI": "0"}) is True
    finally:
        os.close(master)
        os.close(slave)
    assert wanted(io.StringIO(), {}) is False


# A checker for run_batch: module-level so spawned workers can import it.
def hungry_checker(path, options):
    if "hungry" in Path(path).name:
        hoard = bytearray(4 * 1024 * 1024 * 1024)  # 4 GiB: past the worker's limit
        return hoard
    from freecad_spatial.spatial_tools.check.batch import check_file

    return check_file(path, options)


def test_a_file_past_the_memory_limit_is_an_error_and_the_batch_goes_on(tmp_path):
    hungry = tmp_path / "hungry.step"
    shutil.copy(PARTS[0], hungry)
    paths = [str(hungry), str(PARTS[1]), str(hungry), str(PARTS[2])]
    before = set(children_of(os.getpid()))
    results = run_batch(paths, CheckOptions(process="cnc-3axis", memory_mb=1536), jobs=1, progress=False, checker=hungry_checker)
    assert [r.path for r in results] == paths
    for result in (results[0], results[2]):
        assert result.status == "error" and result.error == "ran out of memory (the limit is 1536 MB)" and result.transient
    assert results[1].status == "ok" and results[3].status == "ok"
    assert set(children_of(os.getpid())) <= before


def test_memory_limit_argument():
    from freecad_spatial.spatial_tools.check.batch import default_memory_mb

    assert default_memory_mb() == 8192  # resources/check_batch.toml
    proc = check(PARTS[0], "--process", "cnc-3axis", "--memory-limit", "-1")
    assert proc.returncode == 2 and "--memory-limit must be 0" in proc.stderr
    proc = check(PARTS[0], "--process", "cnc-3axis", "--memory-limit", "1536")
    assert proc.returncode in (0, 1) and json.loads(proc.stdout)["files"][0]["status"] == "ok"

"""``freecad-spatial check`` as CI runs it: report@1 on stdout, exit 0/1/2 exactly as tools.md says."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FreeCAD, Part, V

EXE = Path(sys.executable).with_name("freecad-spatial")


def check(*args, cwd=None):
    proc = subprocess.run([str(EXE), "check", *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _save(path, **shapes):
    doc = FreeCAD.newDocument("CheckCli")
    for name, shape in shapes.items():
        obj = doc.addObject("Part::Feature", name)
        obj.Shape = shape
    doc.recompute()
    doc.saveAs(str(path))
    FreeCAD.closeDocument(doc.Name)
    return path


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("check")
    clean = _save(d / "clean.FCStd", Plate=Part.makeBox(40, 30, 10).cut(Part.makeCylinder(3, 10, V(20, 15, 0))))
    # A Ø6 pin pushed into a Ø5 hole: 0.5 mm radial interference over the 10 mm plate.
    plate = Part.makeBox(40, 30, 10).cut(Part.makeCylinder(2.5, 10, V(20, 15, 0)))
    clash = _save(d / "clash.FCStd", Plate=plate, Pin=Part.makeCylinder(3, 30, V(20, 15, -10)))
    loose = _save(d / "loose.FCStd", Plate=Part.Compound([Part.makeBox(10, 10, 10), Part.makePlane(5, 5, V(20, 0, 0))]))
    return {"clean": clean, "clash": clash, "loose": loose, "dir": d}


def test_clean_part_exits_0(parts):
    proc = check(parts["clean"], "--process", "cnc-3axis")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    report = json.loads(proc.stdout)
    assert report["schema"] == "freecad-spatial/report@1" and report["process"] == "cnc-3axis"
    (entry,) = report["files"]
    assert entry == {**entry, "path": str(parts["clean"]), "status": "ok", "findings": [], "checked": ["Plate"]}
    assert "geom.invalid_solid" in report["rules"]["run"]
    assert set(report["rules"]["not_implemented"]).isdisjoint(report["rules"]["run"])


def test_interference_exits_1_with_the_finding(parts):
    proc = check(parts["clash"], "--process", "cnc-3axis")
    assert proc.returncode == 1, proc.stderr
    (entry,) = json.loads(proc.stdout)["files"]
    (finding,) = entry["findings"]
    expected = 3.141592653589793 * (3**2 - 2.5**2) * 10
    assert finding["rule"] == "fit.interference" and finding["severity"] == "error"
    assert finding["measured"] == pytest.approx(expected, rel=1e-6)
    assert finding["location"] == pytest.approx([20, 15, 5], abs=1e-6)
    assert {finding["object"], finding["related"][0].split(".")[0]} == {"Plate", "Pin"}


def test_declared_press_fit_in_a_profile_file_exits_0(parts, tmp_path):
    profile = tmp_path / "press.toml"
    profile.write_text('[rules."fit.interference"]\npress_fits = [["Pin", "Plate"]]\n')
    proc = check(parts["clash"], "--process", "cnc-3axis", "--profile", profile)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["files"][0]["findings"] == [] and report["profile"]["sources"][-1] == str(profile)


def test_fail_on_warning(parts):
    default = check(parts["loose"], "--process", "fdm")
    assert default.returncode == 0, default.stderr
    (finding,) = json.loads(default.stdout)["files"][0]["findings"]
    assert finding["severity"] == "warning"
    strict = check(parts["loose"], "--process", "fdm", "--fail-on", "warning")
    assert strict.returncode == 1


def test_out_writes_the_file_and_jobs_keep_order(parts, tmp_path):
    files = [parts["clash"], parts["clean"], parts["loose"], parts["clean"]]
    out1, out2 = tmp_path / "one.json", tmp_path / "two.json"
    one = check(*files, "--process", "cnc-3axis", "--out", out1)
    two = check(*files, "--process", "cnc-3axis", "--out", out2, "--jobs", "2")
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout == ""

    def strip(report):
        for entry in report["files"]:
            entry.pop("seconds")
        return report

    r1, r2 = strip(json.loads(out1.read_text())), strip(json.loads(out2.read_text()))
    assert r1 == r2 and [f["path"] for f in r1["files"]] == [str(f) for f in files]
    assert r1["summary"] == {"files": 4, "files_ok": 4, "files_error": 0, "error": 1, "warning": 1, "info": 0}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--process", "laser"], "invalid choice: 'laser'"),
        ([], "--process"),
        (["--process", "fdm", "--jobs", "0"], "--jobs must be at least 1"),
        (["--process", "fdm", "--timeout", "0"], "--timeout must be a positive number"),
        (["--process", "injection-molding", "--pull-direction=0,0,0"], "pull direction must not be the zero vector"),
        (["--process", "injection-molding", "--build-direction", "up"], "build direction must be three numbers"),
        (["--process", "fdm", "--material", "kevlar"], "unknown material 'kevlar'"),
        (["--process", "fdm", "--format", "pdf"], "invalid choice: 'pdf'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(parts, args, words):
    proc = check(parts["clean"], *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr, proc.stderr


def test_bad_profile_exits_2_naming_the_key(parts, tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text('[rules."am.overhang"]\nwarn_above = "N/A"\n')
    proc = check(parts["clean"], "--process", "fdm", "--profile", profile)
    assert proc.returncode == 2 and proc.stdout == ""
    assert 'rules."am.overhang".warn_above must be a number' in proc.stderr and str(profile) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_out_to_a_directory_is_a_usage_error(parts):
    proc = check(parts["clean"], "--process", "fdm", "--out", parts["dir"])
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_relative_paths_stay_as_given(parts):
    proc = check("clean.FCStd", "--process", "sheet-metal", cwd=parts["dir"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["path"] == "clean.FCStd"


def test_progress_bar_only_on_a_terminal(parts):
    """With stderr on a terminal the batch draws a progress bar there; stdout stays pure JSON."""
    import os
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [str(EXE), "check", str(parts["clean"]), str(parts["loose"]), "--process", "fdm"],
            stdout=subprocess.PIPE, stderr=slave, timeout=180,
            env={k: v for k, v in os.environ.items() if k != "CI"},  # progress is for terminals outside CI
        )
        os.close(slave)
        slave = None
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closes when the program ends
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert b"2/2" in seen and b"[" in seen
    assert len(json.loads(proc.stdout)["files"]) == 2

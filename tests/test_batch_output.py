"""Batch output that survives what file systems hold: names that are not UTF-8, a failing entry, a failed write.

A file name on Linux is bytes. One that is not valid UTF-8 used to make
``check`` exit 2 with a UnicodeEncodeError and a 0-byte report in place of
the earlier one. Now every file gets its own entry with its name escaped, in
every format, and a report is written whole or not at all.
"""

import json
import os
import re
import resource
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import Part, V

from freecad_spatial.spatial_tools.check import report_html, report_json, report_junit, report_sarif
from freecad_spatial.spatial_tools.check.batch import FileResult, Report
from freecad_spatial.spatial_tools.check.output import display_name, printable, write_atomic
from freecad_spatial.spatial_tools.dfm.finding import Finding

EXE = Path(sys.executable).with_name("freecad-spatial")
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-schema.json"
BAD = b"pi\xe8ce \xff\xfe n\xb01.brep"  # Latin-1 bytes and two bytes no encoding of text produces
BAD_SHOWN = "pi\\xe8ce \\xff\\xfe n\\xb01.brep"


def _plate_brep(path):
    """A 40×30×10 plate with a Ø6 through hole (no finding for cnc-3axis), written to a bytes path."""
    temp = os.path.join(os.path.dirname(os.fsdecode(path)), "plate-being-written.brep")
    Part.makeBox(40, 30, 10).cut(Part.makeCylinder(3, 10, V(20, 15, 0))).exportBrep(temp)
    os.replace(temp, path)
    return path


def run_check(*args, env=None, cwd=None, preexec_fn=None):
    """``freecad-spatial check`` with bytes or str arguments; its output as bytes (it is not always text)."""
    command = [os.fsencode(EXE), b"check", *(a if isinstance(a, bytes) else os.fsencode(str(a)) for a in args)]
    proc = subprocess.run(command, capture_output=True, timeout=300, env=env, cwd=cwd, preexec_fn=preexec_fn)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode("utf-8", "replace")
    return proc


def parse(fmt, data):
    """The report parsed as its format says (it must be valid UTF-8 whatever the names)."""
    text = data.decode("utf-8")  # strict: a report is UTF-8
    if fmt in ("json", "sarif"):
        return json.loads(text)
    if fmt == "junit":
        return ET.fromstring(data)
    return text


def validate_sarif(sarif):
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)


# ---- the one place that names files -----------------------------------------------------------------


def test_display_name_escapes_only_what_is_not_utf8():
    assert display_name(b"/parts/" + BAD) == "/parts/" + BAD_SHOWN
    assert display_name(os.fsdecode(b"/parts/" + BAD)) == "/parts/" + BAD_SHOWN  # what argv gives Python
    assert display_name(Path(os.fsdecode(BAD))) == BAD_SHOWN
    for name in ("pièce n° 1.FCStd", "/a b/c-d_e.step", "部品.stp", "C:\\parts\\x.step"):
        assert display_name(name) == name  # valid names are shown exactly as given
    assert display_name("two\nlines\x1b[31m.step") == "two\\x0alines\\x1b[31m.step"  # one line, no terminal codes
    lone = display_name("win\ud800dows.step")  # a lone surrogate no byte stands for (a Windows name)
    lone.encode("utf-8")
    assert lone.startswith("win\\x") and lone.endswith("dows.step")
    assert printable("line 1\nline 2\tend") == "line 1\nline 2\tend"
    assert printable(os.fsdecode(b"cannot open \xff: bad")) == "cannot open \\xff: bad"
    assert printable(None) is None


# ---- a name that is not UTF-8, in every format -------------------------------------------------------


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    d = tmp_path_factory.mktemp("odd-names")
    folder = os.fsencode(d)
    good = _plate_brep(os.path.join(folder, b"plain.brep"))
    bad = _plate_brep(os.path.join(folder, BAD))
    return {"dir": d, "good": good, "bad": bad}


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "html"])
def test_a_name_that_is_not_utf8_is_checked_and_shown_escaped(odd, fmt):
    out = odd["dir"] / f"report.{fmt}"
    out.write_text("the earlier report\n")
    proc = run_check(b"plain.brep", BAD, "--process", "cnc-3axis", "--format", fmt, "--out", out.name, cwd=odd["dir"])
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert proc.stdout == b"" and proc.stderr == b""
    report = parse(fmt, out.read_bytes())
    if fmt == "json":
        assert [(f["path"], f["status"], f["checked"]) for f in report["files"]] == [
            ("plain.brep", "ok", ["Part"]),
            (BAD_SHOWN, "ok", ["Part"]),  # opened and checked, not merely survived
        ]
    elif fmt == "sarif":
        validate_sarif(report)
        (run,) = report["runs"]
        # The URI holds the file's own bytes, percent-encoded: it still points at the file.
        assert [a["location"]["uri"] for a in run["artifacts"]] == ["plain.brep", "pi%E8ce%20%FF%FE%20n%B01.brep"]
        assert run["invocations"][0]["executionSuccessful"] is True
    elif fmt == "junit":
        assert [s.get("name") for s in report.findall("testsuite")] == ["plain.brep", BAD_SHOWN]
        assert report.get("errors") == "0" and report.get("failures") == "0"
    else:
        assert re.findall(r"<h2>([^<]*)</h2>", report) == ["plain.brep", BAD_SHOWN]
        verdicts = re.findall(r'<div class="file-head"><span class="badge ([^"]+)"[^>]*>([^<]*)</span>', report)
        assert len(verdicts) == 2 and all(text != "not checked" for _, text in verdicts), verdicts


def test_stdout_is_utf8_whatever_the_terminal_encoding(odd):
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = run_check(odd["bad"], odd["dir"] / "nothing here.brep", "--process", "fdm", env=env)
    assert proc.returncode == 2  # the missing file, reported as such
    report = parse("json", proc.stdout)
    assert [f["status"] for f in report["files"]] == ["ok", "error"]
    assert report["files"][0]["path"] == display_name(odd["bad"])
    lines = proc.stderr.decode("utf-8").splitlines()
    assert len(lines) == 1 and "nothing here.brep: no such file" in lines[0]


def test_a_missing_file_with_such_a_name_is_its_own_error(odd):
    missing = os.path.join(os.fsencode(odd["dir"]), b"gone \xff.step")
    proc = run_check(missing, odd["good"], "--process", "cnc-3axis")
    assert proc.returncode == 2
    first, second = parse("json", proc.stdout)["files"]
    assert first["path"] == display_name(missing) and first["status"] == "error" and first["error"] == "no such file"
    assert second["status"] == "ok"
    assert proc.stderr.decode("utf-8").strip() == f"freecad-spatial: {display_name(missing)}: no such file"


def test_annotate_writes_under_the_same_bytes(odd, tmp_path):
    proc = run_check(odd["bad"], odd["good"], "--process", "cnc-3axis", "--annotate", tmp_path)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert sorted(os.listdir(os.fsencode(tmp_path))) == sorted([BAD[: -len(b".brep")] + b".FCStd", b"plain.FCStd"])
    entry = parse("json", proc.stdout)["files"][0]
    assert entry["annotated"] == display_name(os.path.join(os.fsencode(tmp_path), BAD[: -len(b".brep")] + b".FCStd"))


# ---- 50 files, one of them named in bytes that are not UTF-8 ----------------------------------------


@pytest.fixture(scope="module")
def fifty(tmp_path_factory):
    """49 plates under plain names and, in the middle, an unreadable file whose name is not UTF-8."""
    d = tmp_path_factory.mktemp("fifty")
    folder = os.fsencode(d)
    first = _plate_brep(os.path.join(folder, b"plate-00.brep"))
    names = [b"plate-00.brep"]
    for i in range(1, 49):
        names.append(b"plate-%02d.brep" % i)
        os.link(first, os.path.join(folder, names[-1]))
    broken = b"scan \xff\xfe\xfd.step"
    with open(os.path.join(folder, broken), "wb") as fh:
        fh.write(b"ISO-10303-21;\nHEADER;\n" + bytes(range(256)) * 4)
    names.insert(25, broken)
    return d, names, broken


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "html"])
def test_fifty_files_one_bad_name_all_fifty_results_in_every_format(fifty, fmt):
    d, names, broken = fifty
    out = d / f"report.{fmt}"
    out.write_text("the earlier report\n")
    proc = run_check(*names, "--process", "cnc-3axis", "--jobs", "2", "--format", fmt, "--out", out.name, cwd=d)
    assert proc.returncode == 2, proc.stderr.decode("utf-8", "replace")  # the broken file: unusable input
    shown = [display_name(n) for n in names]
    assert shown[25] == "scan \\xff\\xfe\\xfd.step"
    (line,) = proc.stderr.decode("utf-8").splitlines()  # one line, for the one file that could not be checked
    assert line.startswith(f"freecad-spatial: {shown[25]}: not a readable STEP file")
    report = parse(fmt, out.read_bytes())
    if fmt == "json":
        files = report["files"]
        assert [f["path"] for f in files] == shown
        assert [f["status"] for f in files] == ["ok"] * 25 + ["error"] + ["ok"] * 24
        assert all(f["checked"] == ["Part"] for i, f in enumerate(files) if i != 25)
        assert "not a readable STEP file" in files[25]["error"]
        assert report["summary"]["files_ok"] == 49 and report["summary"]["files_error"] == 1
    elif fmt == "sarif":
        validate_sarif(report)
        (run,) = report["runs"]
        uris = [a["location"]["uri"] for a in run["artifacts"]]
        assert uris[:25] + uris[26:] == [n.decode() for n in names if n != broken]
        assert uris[25] == "scan%20%FF%FE%FD.step"
        (error,) = [n for n in run["invocations"][0]["toolExecutionNotifications"] if n["level"] == "error"]
        assert error["message"]["text"].startswith(shown[25] + ": not a readable STEP file")
        assert error["locations"][0]["physicalLocation"]["artifactLocation"]["index"] == 25
    elif fmt == "junit":
        suites = report.findall("testsuite")
        assert [s.get("name") for s in suites] == shown
        assert [s.get("errors") for s in suites].count("1") == 1 and suites[25].get("errors") == "1"
        assert all(int(s.get("tests")) > 1 for i, s in enumerate(suites) if i != 25)
        assert report.get("errors") == "1"
    else:
        assert re.findall(r"<h2>([^<]*)</h2>", report) == [n.replace("&", "&amp;") for n in shown]
        verdicts = re.findall(r'<div class="file-head"><span class="badge ([^"]+)"[^>]*>([^<]*)</span>', report)
        assert [text for _, text in verdicts].count("not checked") == 1 and len(verdicts) == 50, verdicts
        assert verdicts[25] == ("status-error", "not checked")


# ---- a report is written whole or not at all ---------------------------------------------------------


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def test_a_full_disk_leaves_the_earlier_report_intact(odd, tmp_path):
    """The file-size limit (as a full disk would) stops the write midway: the earlier report stays whole."""
    out = tmp_path / "report.json"
    earlier = b'{"the": "earlier report"}\n'
    out.write_bytes(earlier)
    files = [odd["good"]] * 8  # a report of ~14 kB, more than the limit

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    proc = run_check(*files, "--process", "cnc-3axis", "--out", out, preexec_fn=limit)
    assert proc.returncode == 2
    assert f"cannot write --out {out}: File too large" in proc.stderr.decode("utf-8")
    assert out.read_bytes() == earlier
    assert _leftovers(tmp_path) == []
    # Without the limit the same run replaces it, whole.
    assert run_check(*files, "--process", "cnc-3axis", "--out", out).returncode == 0
    assert len(json.loads(out.read_bytes())["files"]) == 8 and _leftovers(tmp_path) == []


def test_a_report_that_cannot_be_encoded_leaves_the_earlier_one(odd, tmp_path, monkeypatch, capsys):
    """A renderer whose text cannot be written (a test hook): exit 2, the earlier report untouched."""
    from freecad_spatial.spatial_tools import check_cli, cli

    real = check_cli._renderer

    def poisoned(name):
        render = real(name)
        return lambda report: render(report) + "\udcff"  # half written, then it fails: once a 0-byte report

    monkeypatch.setattr(check_cli, "_renderer", poisoned)
    out = tmp_path / "report.json"
    out.write_text("the earlier report\n")
    status = cli.main(["check", os.fsdecode(odd["good"]), "--process", "cnc-3axis", "--out", str(out)])
    assert status == 2 and "UnicodeEncodeError" in capsys.readouterr().err
    assert out.read_text() == "the earlier report\n"
    assert _leftovers(tmp_path) == []


def test_write_atomic_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_text("old")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓" and _leftovers(tmp_path) == []
    link = tmp_path / "latest.json"
    link.symlink_to(target.name)
    write_atomic(link, b"through the link")
    assert link.is_symlink() and target.read_bytes() == b"through the link"

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "never seen")
    assert target.read_bytes() == b"through the link" and _leftovers(tmp_path) == []
    monkeypatch.undo()
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "bad \udcff")
    assert target.read_bytes() == b"through the link" and _leftovers(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no folder" / "r.json", "x")


# ---- one file's entry that cannot be written costs that entry, not the report -------------------------


def _poisoned_report():
    fine = Finding(rule="cnc.deep_hole", severity="error", message="Hole Ø4 is 50 mm deep", object="Plate", elements=["Face7"])
    poison = Finding(rule="cnc.deep_hole", severity="error", message="Hole \udcff is deep", object="Plate", elements=["Face3"])
    files = [
        FileResult(path="a.step", status="ok", findings=[fine], checked=["Plate"], rules_run=["cnc.deep_hole"]),
        FileResult(path="b.step", status="ok", findings=[poison], checked=["Plate"], rules_run=["cnc.deep_hole"]),
        FileResult(path=os.fsdecode(b"c\xff.step"), status="ok", checked=["Plate"], rules_run=["cnc.deep_hole"]),
    ]
    return Report(process="cnc-3axis", profile={}, fail_on="error", files=files, rules_run=["cnc.deep_hole"])


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "html"])
def test_an_entry_that_cannot_be_written_becomes_that_files_error(fmt, tmp_path):
    report = _poisoned_report()
    render = {"json": report_json.render, "sarif": lambda r: report_sarif.render(r, base=tmp_path), "junit": report_junit.render, "html": report_html.render}[fmt]
    parsed = parse(fmt, render(report).encode("utf-8"))
    assert [f.status for f in report.files] == ["ok", "error", "ok"]
    assert "its report entry could not be written: UnicodeEncodeError" in report.files[1].error
    assert report.exit_status() == 2 and report.counts()["files_error"] == 1
    if fmt == "json":
        assert [f["path"] for f in parsed["files"]] == ["a.step", "b.step", "c\\xff.step"]
        assert len(parsed["files"][0]["findings"]) == 1 and parsed["files"][1]["findings"] == []
        assert parsed["summary"]["files_error"] == 1
    elif fmt == "sarif":
        validate_sarif(parsed)
        run = parsed["runs"][0]
        assert len(run["artifacts"]) == 3 and len(run["results"]) == 1
        assert run["invocations"][0]["executionSuccessful"] is False
    elif fmt == "junit":
        suites = parsed.findall("testsuite")
        assert [s.get("name") for s in suites] == ["a.step", "b.step", "c\\xff.step"]
        assert [s.get("errors") for s in suites] == ["0", "1", "0"] and suites[0].get("failures") == "1"
    else:
        assert re.findall(r"<h2>([^<]*)</h2>", parsed) == ["a.step", "b.step", "c\\xff.step"]
        assert 'id="file-2"' in parsed and "its report entry could not be written" in parsed


def test_a_profile_whose_name_is_not_utf8(odd, tmp_path):
    profile = os.path.join(os.fsencode(tmp_path), b"r\xe8gles.toml")
    with open(profile, "wb") as fh:
        fh.write(b'[rules."cnc.deep_hole"]\nerror_above = 8.0\n')
    proc = run_check(odd["good"], "--process", "cnc-3axis", "--profile", profile)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    report = parse("json", proc.stdout)
    assert report["profile"]["sources"][-1] == display_name(profile)

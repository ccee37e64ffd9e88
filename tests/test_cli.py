"""The freecad-spatial console script as a user runs it: JSON out, exit 2 with a reason, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, FreeCAD, Part

EXE = Path(sys.executable).with_name("freecad-spatial")


def run(*args, env=None, cwd=None):
    proc = subprocess.run(
        [str(EXE), *map(str, args)], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 10×20×30 box with a Ø6 through hole at (5, 10), saved as BREP, STEP and FCStd."""
    d = tmp_path_factory.mktemp("cad")
    shape = Part.makeBox(10, 20, 30).cut(Part.makeCylinder(3, 30, FreeCAD.Vector(5, 10, 0)))
    shape.exportBrep(str(d / "part.brep"))
    shape.exportStep(str(d / "part.step"))
    doc = FreeCAD.newDocument("CliFixture")
    obj = doc.addObject("Part::Feature", "Plate")
    obj.Shape = shape
    doc.recompute()
    doc.saveAs(str(d / "part.FCStd"))
    FreeCAD.closeDocument(doc.Name)
    return d


def test_console_script_is_installed():
    assert EXE.exists(), "pip install -e . should install freecad-spatial next to the interpreter"


def test_tools_prints_every_schema():
    proc = run("tools")
    assert proc.returncode == 0
    names = {t["name"] for t in json.loads(proc.stdout)["tools"]}
    assert {"measure_distance", "mass_properties", "find_features"} <= names
    anthropic = json.loads(run("tools", "--format", "anthropic").stdout)["tools"]
    assert all("input_schema" in t for t in anthropic)
    openai = json.loads(run("tools", "--format", "openai").stdout)["tools"]
    assert all(t["type"] == "function" for t in openai)


@pytest.mark.parametrize("name", ["part.brep", "part.step", "part.FCStd"])
def test_tool_on_each_format(files, name):
    obj = "Plate" if name.endswith("FCStd") else "Part"
    proc = run("tool", "mass_properties", "--doc", files / name, "--args", json.dumps({"object": obj}))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    expected = 10 * 20 * 30 - 3.141592653589793 * 9 * 30
    assert result["volume"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["tool", "mass_properties", "--doc", "missing.step", "--args", '{"object": "Part"}'], "unreadable_file", "no such file"),
        (["tool", "mass_properties", "--doc", "{files}/part.brep", "--args", '{"object": "Nope"}'], "bad_reference", "no object named 'Nope'"),
        (["tool", "mass_properties", "--doc", "{files}/part.brep", "--args", '{"object": "Part.Face99"}'], "bad_reference", "Part.Face99"),
        (["tool", "teleport", "--doc", "{files}/part.brep"], "unknown_tool", "no tool named 'teleport'"),
        (["tool", "mass_properties", "--doc", "{files}", "--args", '{"object": "Part"}'], "unreadable_file", "directory"),
        (["tool", "mass_properties", "--doc", "{files}/part.brep", "--args", '{"object": 3}'], "bad_arguments", "expected string"),
    ],
)
def test_bad_input_gives_an_envelope_and_exit_2(files, args, code, words):
    proc = run(*[a.replace("{files}", str(files)) for a in args])
    assert proc.returncode == 2
    envelope = json.loads(proc.stdout)
    assert envelope["ok"] is False and envelope["error"]["code"] == code
    assert words in envelope["error"]["message"]
    assert len(proc.stderr.strip().splitlines()) == 1 and words in proc.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["tool", "mass_properties", "--args", "{not json"], "--args is not valid JSON"),
        (["tool", "mass_properties", "--args", "[1]"], "--args must be a JSON object"),
        (["frobnicate"], "invalid choice"),
        ([], "usage"),
    ],
)
def test_bad_arguments_exit_2_with_one_reason(args, words):
    proc = run(*args)
    assert proc.returncode == 2
    assert words in proc.stderr


def test_unreadable_files_are_reasons(tmp_path):
    junk = tmp_path / "junk.step"
    junk.write_bytes(os.urandom(2000))
    empty = tmp_path / "empty.brep"
    empty.write_bytes(b"")
    for path, words in [(junk, "not a readable STEP"), (empty, "empty")]:
        proc = run("tool", "mass_properties", "--doc", path, "--args", '{"object": "Part"}')
        assert proc.returncode == 2 and words in proc.stderr


def test_freecad_lib_points_elsewhere(tmp_path):
    env = dict(os.environ, FREECAD_LIB=str(tmp_path))
    proc = run("tool", "mass_properties", "--doc", "x.step", env=env)
    assert proc.returncode == 2
    assert f"FREECAD_LIB={tmp_path} holds no FreeCAD module" in proc.stderr


def test_freecad_found_without_help(tmp_path):
    """A plain interpreter with no .pth and no FREECAD_LIB still finds Debian's FreeCAD."""
    code = (
        "import sys; sys.path[:] = [p for p in sys.path if 'freecad' not in p.lower()];"
        f"sys.path.insert(0, {str(REPO.parent)!r});"
        "import importlib.util as u;"
        f"s = u.spec_from_file_location('freecad_spatial', {str(REPO / '__init__.py')!r}, submodule_search_locations=[{str(REPO)!r}]);"
        "m = u.module_from_spec(s); sys.modules['freecad_spatial'] = m; s.loader.exec_module(m);"
        "from freecad_spatial.spatial_tools import freecad_env; print(freecad_env.load().Version()[0])"
    )
    env = {k: v for k, v in os.environ.items() if k != "FREECAD_LIB"}
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in {"0", "1"}

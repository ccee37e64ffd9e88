"""FreeCAD's own start-up loads the addon from a user Mod folder, and foreign modules cannot shadow ours.

Headless runs use ``freecadcmd`` with a private HOME (the user's FreeCAD
config is never touched); it exits 0 even when a script raises, so each
script writes a JSON result and a missing result is a failure. The GUI
variant of the shadowing test runs the real workbench under Xvfb.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import gui_harness
import pytest

# Generic top-level names other addons or FreeCAD 1.x itself ship (architecture.md, layout rules).
FOREIGN = ["commands", "panels", "Commands", "addon", "workbench", "spatial_tools"]
FREECADCMD = next((p for p in map(shutil.which, ("freecadcmd", "FreeCADCmd")) if p), None)
needs_freecadcmd = pytest.mark.skipif(FREECADCMD is None, reason="no freecadcmd on PATH")


@pytest.fixture
def foreign(tmp_path) -> Path:
    """A folder of foreign modules under our generic names: each leaves a marker and refuses to import."""
    folder = tmp_path / "foreign"
    folder.mkdir()
    for name in FOREIGN:
        (folder / f"{name}.py").write_text(
            textwrap.dedent(
                f"""
                import pathlib
                pathlib.Path(__file__).with_suffix(".imported").write_text("imported")
                raise ImportError("foreign module '{name}' was imported instead of freecad_spatial's")
                """
            )
        )
    return folder


def imported_markers(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.imported"))


PROBE = textwrap.dedent(
    """
    import importlib.util, json, sys, traceback
    out = {}
    try:
        import FreeCAD
        package = sys.modules.get("freecad_spatial")
        out["registered"] = package is not None
        out["package_file"] = getattr(package, "__file__", None)
        out["user_app_data"] = FreeCAD.getUserAppDataDir()
        from freecad_spatial.spatial_tools.registry import load_builtin_tools
        out["tools"] = load_builtin_tools().names()
        from freecad_spatial.commands import registry, show_tools
        out["command"] = show_tools.NAME
        out["command_modules"] = registry.COMMAND_MODULES
        from freecad_spatial.addon import workbench
        out["icon"] = workbench.icon_path()
        out["sys_path_head"] = sys.path[:3]
        out["shadow_origins"] = {n: getattr(importlib.util.find_spec(n), "origin", None) for n in FOREIGN}
        out["foreign_in_sys_modules"] = sorted(n for n in FOREIGN if n in sys.modules)
    except BaseException:
        out["error"] = traceback.format_exc()
    with open(RESULT, "w") as fh:
        json.dump(out, fh)
    """
)


def run_freecadcmd(tmp_path: Path, *, symlink: bool = False, first_on_sys_path: Path | None = None) -> tuple[dict, str]:
    """Starts freecadcmd with the addon in a private user Mod folder and runs PROBE after start-up."""
    home = tmp_path / "home"
    mod = home / ".local/share/FreeCAD" / gui_harness.user_version_folder() / "Mod"
    gui_harness.install_addon(mod, symlink=symlink)
    result = tmp_path / "probe.json"
    script = tmp_path / "probe.py"
    script.write_text(f"RESULT = {str(result)!r}\nFOREIGN = {FOREIGN!r}\n" + PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_", "FREECAD_USER", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"))
    # Options go after the script: 0.20 treats a leading option as a plain-Python invocation.
    command = [FREECADCMD, str(script), "--log-file", str(tmp_path / "freecad.log")]
    if first_on_sys_path:
        command += ["--module-path", str(first_on_sys_path)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    log = (tmp_path / "freecad.log").read_text(errors="replace") if (tmp_path / "freecad.log").exists() else ""
    output = "\n".join((proc.stdout, proc.stderr, log))
    assert result.exists(), f"freecadcmd wrote no result (exit {proc.returncode}):\n{output[-4000:]}"
    data = json.loads(result.read_text())
    assert "error" not in data, data["error"] + "\n" + output[-4000:]
    data["mod_dir"] = str(mod)
    return data, output


def addon_errors(output: str) -> list[str]:
    """Lines where FreeCAD reports a failure in our addon."""
    ours = ("freecad_spatial", "freecad-spatial", "FreeCADSpatial", "Spatial_")
    bad = ("Traceback", "Error", "error", "failed", "Exception")
    return [line for line in output.splitlines() if any(o in line for o in ours) and any(b in line for b in bad)]


@needs_freecadcmd
@pytest.mark.parametrize("symlink", [False, True], ids=["cloned", "linked-by-setup.sh"])
def test_freecad_startup_registers_the_package(tmp_path, symlink):
    data, output = run_freecadcmd(tmp_path, symlink=symlink)
    assert data["user_app_data"].startswith(str(tmp_path)), "the run must not use the real user config"
    assert data["registered"], "addon/Init.py did not register freecad_spatial"
    # Registered from the installed copy (folder 'freecad-spatial', not a Python identifier).
    installed = Path(data["mod_dir"]) / gui_harness.ADDON_FOLDER
    assert Path(data["package_file"]).parent == installed
    assert {"mass_properties", "measure_distance"} <= set(data["tools"])
    assert data["command"] == "Spatial_ShowTools"
    assert Path(data["icon"]).is_file()
    assert f"Initializing {installed}/addon... done" in output
    assert not addon_errors(output), addon_errors(output)


@needs_freecadcmd
def test_foreign_modules_first_on_sys_path_do_not_shadow_ours_headless(tmp_path, foreign):
    data, output = run_freecadcmd(tmp_path, first_on_sys_path=foreign)
    # The set-up works: a bare `import commands` would now get the foreign module ...
    assert data["sys_path_head"][0] == str(foreign)
    for name in FOREIGN:
        assert data["shadow_origins"][name] == str(foreign / f"{name}.py"), name
    # ... yet the package, its tools and its command modules loaded without touching any of them.
    assert data["registered"] and data["command"] == "Spatial_ShowTools"
    assert data["foreign_in_sys_modules"] == []
    assert imported_markers(foreign) == []
    assert not addon_errors(output), addon_errors(output)


GUI_SHADOW_SCRIPT = """
import importlib.util, sys
names = harness.params["foreign"]
harness.result["sys_path_head"] = sys.path[:2]
harness.result["origins"] = {n: getattr(importlib.util.find_spec(n), "origin", None) for n in names}
harness.result["listed"] = "FreeCADSpatialWorkbench" in Gui.listWorkbenches()
harness.result["activated"] = Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
harness.result["active"] = Gui.activeWorkbench().name()
harness.result["has_command"] = "Spatial_ShowTools" in Gui.listCommands()
Gui.runCommand("Spatial_ShowTools")
harness.wait(200)
harness.result["foreign_in_sys_modules"] = sorted(n for n in names if n in sys.modules)
"""


@pytest.mark.gui
def test_foreign_modules_do_not_shadow_the_workbench_in_the_gui(tmp_path, foreign):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    run = gui_harness.run_in_freecad_gui(
        GUI_SHADOW_SCRIPT, params={"foreign": FOREIGN}, work_dir=tmp_path / "gui", first_on_sys_path=[foreign], timeout=180
    )
    r = run.result
    assert r["sys_path_head"][0] == str(foreign)
    assert all(r["origins"][n] == str(foreign / f"{n}.py") for n in FOREIGN), r["origins"]
    assert r["listed"] and r["activated"] and r["active"] == "FreeCADSpatialWorkbench"
    assert r["has_command"]
    assert "mass_properties:" in run.report, "Spatial_ShowTools printed no tool list"
    assert r["foreign_in_sys_modules"] == [] and imported_markers(foreign) == []
    assert not addon_errors(run.all_output()), addon_errors(run.all_output())

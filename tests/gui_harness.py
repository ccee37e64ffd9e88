"""Runs a Python script inside the real FreeCAD GUI under Xvfb, isolated from the user's setup.

Every run gets its own folder with a private HOME and XDG folders (so the
user's FreeCAD config is never read or written), the addon copied into that
private user ``Mod/`` folder the way the Addon Manager would clone it, its own
Xvfb display, and FreeCAD's log file. The script runs on the GUI thread once
the main window is up and sees these names:

- ``harness``: ``result`` (a dict: put JSON-able answers in it), ``params``
  (what the caller passed), ``out_dir``, ``screenshot(name, widget=None)``
  (the main window as the X screen shows it: ``QWidget.grab`` leaves the 3D
  view grey), ``save_view(name, width, height, background)`` (the active 3D
  view, rendered), ``wait(ms)`` (let the GUI settle), ``report_text()`` (the
  Report view), ``image_stats(png)`` (is a screenshot more than a blank?);
- ``App``/``FreeCAD``, ``Gui``/``FreeCADGui``, ``QtCore``, ``QtGui``, and
  ``enum_int(e)`` (a Qt enum's number on PySide2 and PySide6 alike).

    run = run_in_freecad_gui("harness.result['wbs'] = sorted(Gui.listWorkbenches())")
    result, report, screenshots = run          # or run.result, run.stdout, run.log ...

A script that raises, a FreeCAD that crashes or hangs past ``timeout`` raises
``GuiRunFailed`` carrying the traceback and the tails of every output (or,
with ``check=False``, comes back for the caller to inspect). The run folder
is kept: pass ``work_dir=tmp_path`` from a test so pytest tidies it.

FreeCAD 0.20 facts this relies on: a ``.py`` file on the command line runs
as a macro after start-up; options must follow the file (an option first
makes the binary act as a plain Python); PYTHONPATH is cleared, so
``--module-path`` is the way to put folders first on ``sys.path``; user
config follows HOME/XDG (``~/.config/FreeCAD/user.cfg``, user data and
``Mod/`` in ``~/.local/share/FreeCAD/``). FreeCAD 1.1 puts both one folder
deeper (``v1-1/``) and first asks whether to migrate older settings.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A folder name that is no Python identifier: the addon must not depend on it.
ADDON_FOLDER = "freecad-spatial"
# What a clone holds that a copy for FreeCAD should not (caches, the venv, VCS data).
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".venv-cadquery", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info", "build", "out", "*.pyc", "*.FCBak"
)
GUI_ENV = "FREECAD_GUI"  # override the FreeCAD GUI executable


class GuiUnavailable(RuntimeError):
    """No FreeCAD GUI executable or no Xvfb on this machine."""


class GuiRunFailed(AssertionError):
    """The script raised, or FreeCAD crashed, hung or wrote no result."""


@dataclass
class GuiRun:
    """What one GUI run left behind. Unpacks as ``(result, report, screenshots)``."""

    result: dict
    report: str  # the Report view's text when the script finished
    screenshots: dict[str, Path]
    error: str | None  # the script's traceback, if it raised
    stdout: str
    stderr: str
    log: str  # FreeCAD's --log-file
    returncode: int | None
    timed_out: bool
    work_dir: Path
    mod_dir: Path
    finished: bool = False  # the script ran to its end and the result file was written
    timeout: float = 0.0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter((self.result, self.report, self.screenshots))

    def raise_for_failure(self) -> None:
        """GuiRunFailed if FreeCAD hung, died without a result, or the script raised."""
        if self.timed_out:
            raise GuiRunFailed(f"FreeCAD did not finish within {self.timeout:.0f} s\n{self.describe()}")
        if not self.finished:
            raise GuiRunFailed(f"FreeCAD exited without a result\n{self.describe()}")
        if self.error:
            raise GuiRunFailed(f"the GUI script raised\n{self.describe()}")

    def all_output(self) -> str:
        """Everything FreeCAD printed anywhere: Report view, log file, stdout, stderr."""
        return "\n".join((self.report, self.log, self.stdout, self.stderr))

    def describe(self) -> str:
        def tail(text: str, n: int = 3000) -> str:
            return text[-n:] if text else "(empty)"

        return (
            f"FreeCAD GUI run in {self.work_dir} (exit {self.returncode}, timed out: {self.timed_out}, "
            f"{self.seconds:.1f} s)\n--- script error ---\n{self.error or '(none)'}\n"
            f"--- report view ---\n{tail(self.report)}\n--- log ---\n{tail(self.log)}\n"
            f"--- stdout ---\n{tail(self.stdout)}\n--- stderr ---\n{tail(self.stderr)}"
        )


def freecad_gui_executable() -> str | None:
    for name in (os.environ.get(GUI_ENV), "freecad", "FreeCAD", "freecad-daily"):
        if name and (found := shutil.which(name)):
            return found
    return None


def gui_unavailable_reason() -> str | None:
    """Why GUI runs cannot happen here, or None when they can."""
    if freecad_gui_executable() is None:
        return f"no FreeCAD GUI executable (freecad) on PATH; set {GUI_ENV}"
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (apt install xvfb)"
    return None


def user_version_folder() -> str:
    """The per-version subfolder FreeCAD 1.1+ keeps user config and data in (``v1-1``); "" before."""
    from freecad_spatial.spatial_tools import freecad_env

    major, minor = (int(x) for x in freecad_env.load().Version()[:2])
    return f"v{major}-{minor}" if (major, minor) >= (1, 1) else ""


def install_addon(mod_dir: Path, source: Path = REPO, folder: str = ADDON_FOLDER, symlink: bool = False) -> Path:
    """Puts the addon into a user ``Mod/`` folder: a clean copy by default, or a link as setup.sh does."""
    target = Path(mod_dir) / folder
    target.parent.mkdir(parents=True, exist_ok=True)
    if symlink:
        target.symlink_to(Path(source).resolve(), target_is_directory=True)
    else:
        shutil.copytree(source, target, ignore=COPY_IGNORE, symlinks=False)
    return target


def user_cfg(preferences: dict[str, dict[str, str | int | bool]]) -> str:
    """A user.cfg with ``{"Preferences/General": {"AutoloadModule": "PartWorkbench"}}``-style entries.

    Paths are below ``Root/BaseApp``; str becomes FCText, bool FCBool, int FCInt.
    """
    tree: dict = {}
    for path, values in preferences.items():
        node = tree
        for part in path.split("/"):
            node = node.setdefault(part, {})
        node.update({("=", k): v for k, v in values.items()})

    def render(name: str, node: dict, indent: int) -> list[str]:
        pad = "  " * indent
        lines = [f'{pad}<FCParamGroup Name="{name}">']
        for key, value in node.items():
            if isinstance(key, tuple):
                _, param = key
                if isinstance(value, bool):
                    lines.append(f'{pad}  <FCBool Name="{param}" Value="{int(value)}"/>')
                elif isinstance(value, int):
                    lines.append(f'{pad}  <FCInt Name="{param}" Value="{value}"/>')
                else:
                    lines.append(f'{pad}  <FCText Name="{param}">{value}</FCText>')
            else:
                lines += render(key, value, indent + 1)
        lines.append(f"{pad}</FCParamGroup>")
        return lines

    body = render("Root", {"BaseApp": tree}, 1)
    return '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n<FCParameters>\n' + "\n".join(body) + "\n</FCParameters>\n"


DEFAULT_PREFERENCES: dict[str, dict[str, str | int | bool]] = {
    # The Start workbench embeds a web view (Chromium) and steals the first activation.
    "Preferences/General": {"AutoloadModule": "PartWorkbench"},
    # Log messages in the Report view too, so a test can read our PrintLog lines there.
    "Preferences/OutputWindow": {"checkLogging": True, "checkWarning": True, "checkError": True},
}


@contextmanager
def virtual_display(width: int = 1280, height: int = 1024, timeout: float = 20.0) -> Iterator[str]:
    """An Xvfb server on a free display number (Xvfb picks it: no races with other runs)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + timeout
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(left, 0))
            if not ready:
                raise GuiUnavailable(f"Xvfb did not start within {timeout:.0f} s")
            chunk = os.read(read_fd, 16)
            if not chunk:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise GuiUnavailable(f"Xvfb exited before it had a display: {err.strip()[-500:]}")
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_fd)
        _stop(proc)
        if proc.stderr:
            proc.stderr.close()


def _stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Ends a process this module started, with its session (its own children only).

    Only while the leader still runs: once it is reaped its id may be reused.
    """
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


BOOTSTRAP = textwrap.dedent(
    r'''
    # Written by tests/gui_harness.py; FreeCAD runs it as a command-line macro.
    import json, os, sys, time, traceback
    import FreeCAD, FreeCADGui
    from PySide import QtCore, QtGui

    _CONFIG = json.loads(__CONFIG_JSON__)

    class Harness:
        def __init__(self):
            self.out_dir = _CONFIG["out_dir"]
            self.params = _CONFIG["params"]
            self.result = {}
            self.shots = {}

        def main_window(self):
            return FreeCADGui.getMainWindow()

        def wait(self, ms=300):
            end = time.monotonic() + ms / 1000.0
            while time.monotonic() < end:
                QtGui.QApplication.processEvents()
                time.sleep(0.01)

        def screenshot(self, name="main_window", widget=None):
            # From the X screen: QWidget.grab() leaves the OpenGL 3D view grey.
            path = os.path.join(self.out_dir, name + ".png")
            widget = widget or self.main_window()
            self.wait(200)
            screen = QtGui.QGuiApplication.primaryScreen()
            pixmap = screen.grabWindow(widget.winId()) if screen is not None else widget.grab()
            if pixmap.isNull():
                pixmap = widget.grab()
            if not pixmap.save(path):
                raise RuntimeError("could not save " + path)
            self.shots[name] = path
            return path

        def save_view(self, name="view", width=800, height=600, background="White"):
            path = os.path.join(self.out_dir, name + ".png")
            view = FreeCADGui.activeDocument().activeView()
            view.saveImage(path, width, height, background)
            self.shots[name] = path
            return path

        def image_stats(self, path, background=None, grid=120):
            """Sampled pixels of a PNG: size, share that differs from ``background`` (default: the
            commonest colour) and how many distinct colours, to tell a picture from a blank."""
            image = QtGui.QImage(path)
            if image.isNull():
                raise RuntimeError("not an image: " + path)
            w, h = image.width(), image.height()
            samples = []
            for j in range(grid):
                for i in range(grid):
                    c = QtGui.QColor(image.pixel(int((i + 0.5) * w / grid), int((j + 0.5) * h / grid)))
                    samples.append((c.red(), c.green(), c.blue()))
            if background is None:
                background = max(set(samples), key=samples.count)
            differ = sum(1 for s in samples if max(abs(a - b) for a, b in zip(s, background)) > 24)
            distinct = len({(r // 16, g // 16, b // 16) for r, g, b in samples})
            return {"width": w, "height": h, "background": list(background),
                    "non_background": differ / len(samples), "distinct_colours": distinct}

        def report_text(self):
            report = self.main_window().findChild(QtGui.QTextEdit, "Report view")
            return report.toPlainText() if report is not None else ""

    harness = Harness()

    def _finish(error):
        try:
            report = harness.report_text()
        except Exception:
            report = "(the Report view could not be read: " + traceback.format_exc() + ")"
        payload = {"result": harness.result, "error": error, "report": report, "screenshots": harness.shots}
        try:
            text = json.dumps(payload, default=repr)
        except Exception:
            payload["result"] = {}
            payload["error"] = (error or "") + "\nresult is not JSON: " + traceback.format_exc()
            text = json.dumps(payload, default=repr)
        tmp = _CONFIG["result_file"] + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, _CONFIG["result_file"])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # no session save, no dialogs: the run is over

    def _run():
        error = None
        try:
            with open(_CONFIG["script_file"]) as fh:
                code = compile(fh.read(), _CONFIG["script_file"], "exec")
            namespace = {
                "__name__": "__gui_script__", "harness": harness, "App": FreeCAD, "FreeCAD": FreeCAD,
                "Gui": FreeCADGui, "FreeCADGui": FreeCADGui, "QtCore": QtCore, "QtGui": QtGui,
                # PySide6 enums are Flag objects (int() raises); PySide2's are ints.
                "enum_int": lambda e: int(getattr(e, "value", e)),
            }
            exec(code, namespace)
        except BaseException:
            error = traceback.format_exc()
        _finish(error)

    QtCore.QTimer.singleShot(_CONFIG["start_delay_ms"], _run)
    '''
)


def run_in_freecad_gui(
    script: str,
    *,
    timeout: float = 120.0,
    params: dict | None = None,
    work_dir: Path | None = None,
    install: bool = True,
    symlink: bool = False,
    first_on_sys_path: Sequence[str | os.PathLike] = (),
    preferences: dict[str, dict[str, str | int | bool]] | None = None,
    env: dict[str, str] | None = None,
    screen: tuple[int, int] = (1280, 1024),
    start_delay_ms: int = 500,
    check: bool = True,
) -> GuiRun:
    """Starts FreeCAD's GUI on a private Xvfb display, runs ``script`` once it is up, and quits.

    ``first_on_sys_path`` folders stand ahead of everything on ``sys.path``
    (to prove foreign modules cannot shadow ours): FreeCAD clears PYTHONPATH,
    so they are passed as ``--module-path``, which FreeCAD puts first. ``preferences`` are added to
    DEFAULT_PREFERENCES in a fresh user.cfg. With ``check`` a failed run raises
    GuiRunFailed; without, the caller inspects the returned GuiRun.
    """
    if reason := gui_unavailable_reason():
        raise GuiUnavailable(reason)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="fcgui-"))
    home, out = work / "home", work / "out"
    config_home, data_home, cache_home, runtime = home / ".config", home / ".local/share", home / ".cache", work / "run"
    for d in (out, config_home / "FreeCAD", data_home / "FreeCAD", cache_home, runtime):
        d.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    version_folder = user_version_folder()
    if version_folder:
        # 1.1 asks (modally) whether to migrate an earlier version's settings unless told not to.
        for base in (config_home / "FreeCAD", data_home / "FreeCAD"):
            (base / f"{version_folder}.do_not_migrate").touch()
            (base / version_folder).mkdir(exist_ok=True)
    mod_dir = data_home / "FreeCAD" / version_folder / "Mod"
    mod_dir.mkdir(parents=True, exist_ok=True)
    if install:
        install_addon(mod_dir, symlink=symlink)
    prefs = {k: dict(v) for k, v in DEFAULT_PREFERENCES.items()}
    for k, v in (preferences or {}).items():
        prefs.setdefault(k, {}).update(v)
    (config_home / "FreeCAD" / version_folder / "user.cfg").write_text(user_cfg(prefs))

    script_file, result_file, log_file = work / "gui_script.py", work / "result.json", work / "freecad.log"
    script_file.write_text(script)
    config = {
        "out_dir": str(out),
        "params": params or {},
        "result_file": str(result_file),
        "script_file": str(script_file),
        "start_delay_ms": start_delay_ms,
    }
    bootstrap = work / "bootstrap.py"
    bootstrap.write_text(BOOTSTRAP.replace("__CONFIG_JSON__", repr(json.dumps(config))))

    # The pytest process's own Qt choice (FREECAD_SPATIAL_QT=pyside6 for the pytest-qt tests) must not
    # reach FreeCAD, whose GUI is PySide2 on 0.20.
    dropped = ("PYTHON", "QT_", "FREECAD_USER", "FREECAD_SPATIAL_QT", "XDG_", "VIRTUAL_ENV")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    run_env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(config_home),
        XDG_DATA_HOME=str(data_home),
        XDG_CACHE_HOME=str(cache_home),
        XDG_RUNTIME_DIR=str(runtime),
        QT_QPA_PLATFORM="xcb",
        QTWEBENGINE_DISABLE_SANDBOX="1",
        PYTHONDONTWRITEBYTECODE="1",
        LC_ALL=run_env.get("LC_ALL", "C.UTF-8"),
    )
    run_env.update(env or {})
    # FreeCAD 0.20 reads options only after the file: an option first makes it act as a plain Python.
    command = [freecad_gui_executable() or "freecad", str(bootstrap), "--log-file", str(log_file)]
    for folder in first_on_sys_path:
        command += ["--module-path", str(folder)]

    started = time.monotonic()
    timed_out = False
    with virtual_display(*screen) as display, open(work / "stdout.txt", "wb") as so, open(work / "stderr.txt", "wb") as se:
        run_env["DISPLAY"] = display
        proc = subprocess.Popen(
            command,
            cwd=work,
            env=run_env,
            stdin=subprocess.DEVNULL,
            stdout=so,
            stderr=se,
            start_new_session=True,
        )
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        _stop(proc)  # a hung FreeCAD, with any helper processes of its session

    def read(path: Path) -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    payload = json.loads(result_file.read_text()) if result_file.exists() else None
    run = GuiRun(
        result=(payload or {}).get("result", {}),
        report=(payload or {}).get("report", ""),
        screenshots={k: Path(v) for k, v in (payload or {}).get("screenshots", {}).items()},
        error=(payload or {}).get("error"),
        stdout=read(work / "stdout.txt"),
        stderr=read(work / "stderr.txt"),
        log=read(log_file),
        returncode=proc.returncode,
        timed_out=timed_out,
        work_dir=work,
        mod_dir=mod_dir,
        finished=payload is not None,
        timeout=timeout,
        seconds=time.monotonic() - started,
    )
    if check:
        run.raise_for_failure()
    return run

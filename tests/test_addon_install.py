"""Installing the addon with THIS FreeCAD's own Addon Manager: the dependency check never stops the
install, the installer puts the repository into the user ``Mod/`` folder, FreeCAD loads the
workbench from there, and the in-app Install banner uses the folder FreeCAD puts on ``sys.path``.

The same file runs on every supported FreeCAD (0.20, 1.0, 1.1). Its Addon Manager is loaded from
``FreeCAD.getResourceDir()/Mod/AddonManager``; nothing of it is copied here. Each step runs in its
own Python process with a private HOME (so the Addon Manager's import-time paths point into
``tmp_path``), in the DRIVER script below, and reports JSON. That process is the interpreter the
venv was made from, as FreeCAD's Python is (1.1's Addon Manager pip-installs into a venv it runs in).

What is real and what stands in for the GUI (the Addon Manager's GUI cannot run headless):

- Metadata is read by the version's own functions (0.20/1.0: ``Addon.load_metadata_file`` and
  ``UpdateMetadataCacheWorker.process_metadata_txt``/``process_requirements_txt``; 1.1:
  ``AddonCatalogEntry.instantiate_addon``), with the packages we name made absent (no import, no
  distribution metadata), as in a fresh FreeCAD.
- The decision is the version's own GUI install entry: 0.20 ``CommandAddonManager.resolve_dependencies``,
  1.0 ``AddonInstallerGUI.run``, 1.1 ``AddonDependencyInstallerGUI.run`` (after ``MissingDependencies
  .import_from_addon``, as ``AddonInstallerGUI.run`` does). Only its leaves are recorded instead of
  shown: a modal error box (answered Cancel), the optional-dependency dialog and the final install
  call. The allow-list is the one packaged with that FreeCAD (the GitHub refresh needs the network).
  0.20's headless ``FreeCADGui`` lacks ``listWorkbenches``/``addPreferencePage``: an empty list and
  a no-op stand in (we declare no workbench dependency).
- Installing uses the version's installer on a ``file://`` repository: 1.x ``AddonInstaller.run()``
  with ANY (what the GUI runs: a copy, for a local URL) and with GIT (1.1 uses git only for addons
  named in its ``force_git_in_repos`` preference, which the step sets), and the ZIP branch
  (``_finalize_zip_installation``) on GitHub's archive layout; 0.20 ``InstallWorkbenchWorker.run()``
  (a GitPython clone: skipped where GitPython is missing, as on Debian 12's FreeCAD) and its ZIP
  branch (``finish_zip``, after the folder set-up ``launch_zip`` does before its download). The
  workbench then loads in ``freecadcmd`` (and, marked ``gui``, in the GUI) from that folder.
- The in-app installer's folder is compared with where the version's own dependency installer
  (0.20 ``DependencyInstallationWorker``, 1.x ``DependencyInstaller``) puts a wheel, and a fresh
  FreeCAD start must have it on ``sys.path``. 1.1's pip constraints file (fetched from GitHub by
  default) is an empty local one.

The repository is a commit of the working tree as it is (``git ls-files -co --exclude-standard``,
or the files themselves where there is no ``.git``, as in the version-matrix copies), so what is
tested is this checkout, not the last commit; no network is used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import gui_harness
import pytest
from conftest import REPO, FreeCAD

NAME = "freecad-spatial"  # the last part of the URL: the Addon Manager's name for a custom repository
BRANCH = "main"
VERSION = ".".join(FreeCAD.Version()[:3])
FREECADCMD = next((p for p in map(shutil.which, ("freecadcmd", "FreeCADCmd")) if p), None)


def addon_manager_dir() -> Path | None:
    """This FreeCAD's own Addon Manager (resource dir on Debian, home dir on other installs)."""
    for base in (FreeCAD.getResourceDir(), FreeCAD.getHomePath()):
        folder = Path(base) / "Mod" / "AddonManager"
        if (folder / "Addon.py").is_file():
            return folder
    return None


AM_DIR = addon_manager_dir()
if AM_DIR is None:
    pytest.skip(f"FreeCAD {VERSION} has no Addon Manager under {FreeCAD.getResourceDir()}Mod or "
                f"{FreeCAD.getHomePath()}Mod", allow_module_level=True)
# 0.20's Addon Manager: one GUI class decides and installs; 0.21+ split out AddonInstaller.
LEGACY = not (AM_DIR / "addonmanager_installer.py").is_file()
ROUTES = ["url", "zip"] if LEGACY else ["url", "git", "zip"]


def requirement_names(text: str) -> list[str]:
    """The project names in pip requirements text (the import names, for our packages)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [re.split(r"[\s<>=!~;\[+]", line, maxsplit=1)[0] for line in lines if line]


ASSISTANT_PACKAGES = requirement_names((REPO / "resources" / "assistant-requirements.txt").read_text())

DRIVER = r'''
"""One step of an addon install, done by this FreeCAD's own Addon Manager code (written and run by
tests/test_addon_install.py: python driver.py args.json; prints RESULT <json>)."""
import importlib, json, os, re, subprocess, sys, tempfile, traceback, types

ARGS = json.load(open(sys.argv[1], encoding="utf-8"))
AM = ARGS["addon_manager"]
OUT = {"events": []}
EVENTS = OUT["events"]


def norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def hide(names):
    """No import and no distribution metadata for ``names``: each sys.path folder holding one is
    replaced by a folder of links to everything else (how a FreeCAD without them looks)."""
    wanted = {norm(n) for n in names}

    def hidden(entry):
        stem = entry.split("-")[0] if entry.endswith((".dist-info", ".egg-info")) else entry.split(".")[0]
        return norm(stem) in wanted

    paths = []
    for path in sys.path:
        entries = os.listdir(path) if path and os.path.isdir(path) else []
        if any(hidden(e) for e in entries):
            shadow = tempfile.mkdtemp(prefix="site-without-")
            for e in entries:
                if not hidden(e):
                    os.symlink(os.path.join(path, e), os.path.join(shadow, e))
            path = shadow
        paths.append(path)
    sys.path[:] = paths
    sys.path_importer_cache.clear()
    for name in list(sys.modules):
        if norm(name.split(".")[0]) in wanted:
            del sys.modules[name]


def load_freecad():
    from freecad_spatial.spatial_tools import freecad_env

    app = freecad_env.load()
    # FreeCAD's PySide shim: the FreeCAD binary puts Ext on sys.path, a plain Python does not.
    ext = os.path.join(app.getResourceDir(), "Ext")
    if os.path.isdir(ext) and ext not in sys.path:
        sys.path.append(ext)
    sys.path.insert(0, AM)
    return app


def qt_core():
    try:
        from PySide import QtCore  # FreeCAD's shim: the binding its Addon Manager uses
    except ImportError:
        from PySide2 import QtCore
    QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    return QtCore


def has(module):
    return os.path.isfile(os.path.join(AM, module + ".py"))


def modal(title, text):
    EVENTS.append({"dialog": "modal", "title": str(title), "text": str(text)})


def write_files(folder):
    paths = {}
    for name, text in ARGS["files"].items():
        if text is not None:
            paths[name] = os.path.join(folder, name)
            with open(paths[name], "w", encoding="utf-8") as fh:
                fh.write(text)
    return paths


def names(items):
    return sorted(getattr(i, "name", i) for i in items)


def resolve():
    """What the version's GUI does when Install is pressed for an addon with these metadata files."""
    hide(ARGS["hide"])
    app = load_freecad()
    QtCore = qt_core()
    files, folder = ARGS["files"], tempfile.mkdtemp(prefix="metadata-")
    paths = write_files(folder)
    name, url, branch = ARGS["name"], ARGS["url"], ARGS["branch"]
    if has("AddonCatalog"):  # 1.1+: the catalog carries the three files
        OUT["flow"] = "AddonCatalogEntry.instantiate_addon + AddonDependencyInstallerGUI.run"
        from AddonCatalog import AddonCatalogEntry
        from Addon import MissingDependencies
        from addonmanager_installer import AddonInstaller
        import addonmanager_installer_gui as gui
        from Widgets.addonmanager_utility_dialogs import MessageDialog

        entry = AddonCatalogEntry({"repository": url, "git_ref": branch, "last_update_time": "2026-01-01T00:00:00+00:00",
                                   "metadata": {"package_xml": files["package.xml"] or "",
                                                "metadata_txt": files["metadata.txt"] or "",
                                                "requirements_txt": files["requirements.txt"] or ""}})
        repo = entry.instantiate_addon(name)
        AddonInstaller._load_local_allowed_packages_list()
        OUT["allowed"] = sorted(AddonInstaller.allowed_packages)

        def show_modal(dialog_type, object_name, title, message, *args, **kwargs):
            modal(title, message)
            return gui.QtWidgets.QMessageBox.Cancel

        MessageDialog.show_modal = staticmethod(show_modal)
        deps = MissingDependencies()
        deps.import_from_addon(repo, [repo])  # AddonInstallerGUI.run, first two lines
        record_missing(deps.python_requires, deps.python_optional, deps.wbs, deps.external_addons)
        # Its __init__ only loads the dependency dialog's .ui file, which needs the GUI.
        step = gui.AddonDependencyInstallerGUI.__new__(gui.AddonDependencyInstallerGUI)
        QtCore.QObject.__init__(step)
        step.addons, step.deps = [repo], deps
        step.dependency_worker_thread = step.installer = step.dependency_installer = step.dependency_dialog = None
        step._resolve_dependencies_then_continue = lambda: dependency_dialog(
            deps.python_requires, deps.python_optional, deps.external_addons)
        step.proceed.connect(lambda: EVENTS.append({"install": repo.name}))
        step.cancel.connect(lambda: EVENTS.append({"cancelled": True}))
        step.run()
    else:
        from Addon import Addon

        repo = Addon(name, url, Addon.Status.NOT_INSTALLED, branch)
        repo.load_metadata_file(paths["package.xml"])  # as loaded from its metadata cache
        if has("addonmanager_workers_installation"):
            from addonmanager_workers_installation import UpdateMetadataCacheWorker
        else:
            from addonmanager_workers import UpdateMetadataCacheWorker
        # Its __init__ only hooks the network manager up; the two handlers read what was downloaded.
        worker = UpdateMetadataCacheWorker.__new__(UpdateMetadataCacheWorker)
        QtCore.QThread.__init__(worker)
        worker.store = folder
        for file, handler in (("metadata.txt", worker.process_metadata_txt),
                              ("requirements.txt", worker.process_requirements_txt)):
            if files[file] is not None:
                handler(repo, QtCore.QByteArray(files[file].encode("utf-8")))
        if has("addonmanager_installer_gui"):  # 0.21 / 1.0
            OUT["flow"] = "Addon.load_metadata_file + UpdateMetadataCacheWorker + AddonInstallerGUI.run"
            from Addon import MissingDependencies
            from addonmanager_installer import AddonInstaller
            import addonmanager_installer_gui as gui

            AddonInstaller._load_local_allowed_packages_list()
            OUT["allowed"] = sorted(AddonInstaller.allowed_packages)
            box = gui.QtWidgets.QMessageBox
            box.critical = staticmethod(lambda parent, title, text, *a, **k: modal(title, text) or box.Cancel)
            missing = MissingDependencies(repo, [repo])
            record_missing(missing.python_requires, missing.python_optional, missing.wbs, missing.external_addons)
            installer_gui = gui.AddonInstallerGUI(repo, [repo])
            installer_gui.install = lambda: EVENTS.append({"install": repo.name})
            installer_gui._resolve_dependencies_then_install = lambda m: dependency_dialog(
                m.python_requires, m.python_optional, m.external_addons)
            installer_gui.run()
        else:  # 0.20
            OUT["flow"] = "Addon.load_metadata_file + UpdateMetadataCacheWorker + CommandAddonManager.resolve_dependencies"
            import FreeCADGui

            if not hasattr(FreeCADGui, "listWorkbenches"):
                FreeCADGui.listWorkbenches = dict
            if not hasattr(FreeCADGui, "addPreferencePage"):
                FreeCADGui.addPreferencePage = lambda *a: None
            import AddonManager

            box = AddonManager.QtWidgets.QMessageBox
            box.critical = staticmethod(lambda parent, title, text, *a, **k: modal(title, text) or box.Cancel)
            command = AddonManager.CommandAddonManager()  # reads ALLOWED_PYTHON_PACKAGES.txt
            OUT["allowed"] = sorted(command.allowed_packages)
            command.item_model = types.SimpleNamespace(repos=[repo])
            command.dialog = None
            command.update_allowed_packages_list = lambda: None  # the GitHub refresh needs the network
            command.install = lambda r: EVENTS.append({"install": r.name})
            command.display_dep_resolution_dialog = lambda m, r: dependency_dialog(
                m.python_required, m.python_optional, m.external_addons)
            missing = AddonManager.CommandAddonManager.MissingDependencies(repo, [repo])
            record_missing(missing.python_required, missing.python_optional, missing.wbs, missing.external_addons)
            command.resolve_dependencies(repo)
    OUT["declared"] = {"requires": sorted(repo.python_requires), "optional": sorted(repo.python_optional),
                       "requires_other": sorted(getattr(repo, "requires", []))}


def record_missing(required, optional, workbenches, addons):
    OUT["missing"] = {"required": sorted(required), "optional": sorted(optional),
                      "workbenches": sorted(workbenches), "addons": names(addons)}


def dependency_dialog(required, optional, addons):
    EVENTS.append({"dialog": "dependencies", "required": sorted(required), "optional": sorted(optional),
                   "addons": names(addons)})


def install():
    """The version's installer puts the repository at ARGS["url"] into the user Mod folder."""
    app = load_freecad()
    QtCore = qt_core()
    name, url, branch, route = ARGS["name"], ARGS["url"], ARGS["branch"], ARGS["route"]
    OUT["installed"] = os.path.join(app.getUserAppDataDir(), "Mod", name)
    from Addon import Addon

    repo = Addon(name, url, Addon.Status.NOT_INSTALLED, branch)
    if not has("addonmanager_installer"):  # 0.20
        import addonmanager_workers as workers

        worker = workers.InstallWorkbenchWorker(repo)
        worker.success.connect(lambda r, message: EVENTS.append({"success": message}))
        worker.failure.connect(lambda r, message: EVENTS.append({"failure": message}))
        if route == "url":
            if not workers.have_git:
                OUT["skip"] = ("FreeCAD 0.20's InstallWorkbenchWorker clones a repository with GitPython "
                               "(import git), absent here (Debian 12: apt install python3-git); without it it "
                               "downloads a GitHub/GitLab ZIP, which a file:// URL does not have")
                return
            OUT["method"] = "GitPython clone (InstallWorkbenchWorker.run)"
            worker.run()
        else:
            OUT["method"] = "ZIP (InstallWorkbenchWorker.finish_zip)"
            os.makedirs(OUT["installed"])  # what launch_zip does before it downloads
            worker.zipdir, worker.bakdir = OUT["installed"], None
            worker.finish_zip(0, 200, ARGS["zip"])
        worker.update_timer.stop()
        return
    import addonmanager_freecad_interface as fci
    from addonmanager_installer import AddonInstaller, InstallationMethod

    AddonInstaller._load_local_allowed_packages_list()  # else its constructor asks GitHub
    if route == "git" and hasattr(fci, "Preferences"):
        preferences = fci.Preferences()
        try:  # 1.1 uses git only for the addons named in this preference
            preferences.set("force_git_in_repos", preferences.get("force_git_in_repos") + "," + name)
        except RuntimeError:
            pass
    installer = AddonInstaller(repo)
    installer.success.connect(lambda r: EVENTS.append({"success": r.name}))
    installer.failure.connect(lambda r, message: EVENTS.append({"failure": message}))
    if route == "zip":
        OUT["method"] = "ZIP (AddonInstaller._finalize_zip_installation)"
        installer._finalize_zip_installation(ARGS["zip"])
        return
    method = InstallationMethod.ANY if route == "url" else InstallationMethod.GIT
    chosen = installer._determine_install_method(url, method)
    OUT["method"] = getattr(chosen, "name", str(chosen))
    OUT["returned"] = installer.run(method)


def pip_target():
    """The version's dependency installer installs a wheel; where does it land, and where do we install?"""
    app = load_freecad()
    qt_core()
    wheel = ARGS["wheel"]
    if not has("addonmanager_dependency_installer"):  # 0.20
        app.ParamGet("User parameter:BaseApp/Preferences/Addons").SetString("PythonExecutableForPip", sys.executable)
        from addonmanager_workers import DependencyInstallationWorker

        installer = DependencyInstallationWorker([], [], [wheel])
        installer.success.connect(lambda: EVENTS.append({"success": True}))
    else:
        # The Python its pip runs in: the user's setting (1.0 and 1.1 name it differently).
        console = app.ParamGet("User parameter:BaseApp/Preferences/PythonConsole")
        console.SetString("ExternalPythonExecutable", sys.executable)
        console.SetString("PathToPythonExecutable", sys.executable)
        import addonmanager_freecad_interface as fci
        from addonmanager_dependency_installer import DependencyInstaller
        import addonmanager_utilities as utils

        if hasattr(fci, "Preferences"):
            try:  # 1.1 passes pip a constraints file, by default from GitHub: an empty local one instead
                fci.Preferences().get("pip_constraints_path")
            except RuntimeError:
                pass
            else:
                local = tempfile.mkdtemp(prefix="constraints-")
                os.makedirs(os.path.join(local, f"{sys.version_info[0]}.{sys.version_info[1]}"))
                open(os.path.join(local, f"{sys.version_info[0]}.{sys.version_info[1]}", "constraints.txt"), "w").close()
                fci.Preferences().set("pip_constraints_path", local)

        OUT["am_target"] = utils.get_pip_target_directory()
        installer = DependencyInstaller([], [], [wheel])
        installer.finished.connect(lambda: EVENTS.append({"finished": True}))
    installer.no_python_exe.connect(lambda: EVENTS.append({"failure": "no python"}))
    installer.no_pip.connect(lambda command: EVENTS.append({"failure": command}))
    installer.failure.connect(lambda short, details: EVENTS.append({"failure": f"{short}: {details}"}))
    installer.run()
    OUT["am_installed_into"] = sorted(
        os.path.dirname(root) for root, _, files in os.walk(app.getUserAppDataDir())
        if os.path.basename(root) == ARGS["package"] and "__init__.py" in files)
    os.environ["FREECAD_SPATIAL_QT"] = "freecad"  # one Qt in this process: FreeCAD's
    from freecad_spatial.panels import dependencies

    OUT["ours"] = dependencies.target_folder()
    command = [dependencies.python_executable(),
               *dependencies.pip_arguments([ARGS["package2"]], OUT["ours"], ["--no-index", "--find-links", ARGS["wheels"]])]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    OUT["our_pip"] = {"returncode": proc.returncode, "output": (proc.stdout + proc.stderr)[-3000:]}


def imports():
    """Can this version's Addon Manager modules that the other steps use be imported without the GUI?"""
    load_freecad()
    qt_core()
    if has("AddonCatalog"):
        modules = ["AddonCatalog", "addonmanager_installer_gui", "addonmanager_dependency_installer"]
    elif has("addonmanager_installer_gui"):
        modules = ["addonmanager_workers_installation", "addonmanager_installer_gui", "addonmanager_dependency_installer"]
    else:
        modules = ["addonmanager_workers", "AddonManager"]
    OUT["failed"] = {}
    for name in ["Addon", *modules]:
        try:
            importlib.import_module(name)
        except Exception as exc:
            OUT["failed"][name] = f"{type(exc).__name__}: {exc}"


def startup():
    """A fresh FreeCAD start on the same user folder: what is on sys.path, what imports."""
    from freecad_spatial.spatial_tools import freecad_env

    app = freecad_env.load()
    OUT["user_data"] = app.getUserAppDataDir()
    OUT["sys_path"] = list(sys.path)
    OUT["imported"] = {}
    for name in ARGS["packages"]:
        try:
            OUT["imported"][name] = importlib.import_module(name).__file__
        except ImportError as exc:
            OUT["imported"][name] = f"ImportError: {exc}"


try:
    {"imports": imports, "resolve": resolve, "install": install, "pip_target": pip_target,
     "startup": startup}[ARGS["step"]]()
except BaseException:
    OUT["error"] = traceback.format_exc()
print("RESULT " + json.dumps(OUT, default=repr))
'''


def private_env(home: Path, *, keep_python: bool) -> dict[str, str]:
    """The environment of a child FreeCAD: its user config and data under ``home`` only."""
    dropped = ("XDG_", "FREECAD_USER", "FREECAD_SPATIAL_QT", "VIRTUAL_ENV", "QT_") + (() if keep_python else ("PYTHON",))
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    return env


# FreeCAD's Python is the system's, not a virtual environment: 1.1's Addon Manager pip-installs into
# the environment itself when it runs in one (addonmanager_utilities.in_venv), so the steps run in the
# interpreter this venv was made from, with our package importable through a link.
BASE_PYTHON = getattr(sys, "_base_executable", None) or sys.executable


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("driver")
    (folder / "packages").mkdir()
    (folder / "packages" / "freecad_spatial").symlink_to(REPO, target_is_directory=True)
    (folder / "driver.py").write_text(DRIVER)
    failed = run_driver(folder / "driver.py", "imports", folder / "home")["failed"]
    if failed:
        pytest.skip(f"FreeCAD {VERSION}'s Addon Manager ({AM_DIR}) cannot be imported without its GUI: {failed}")
    return folder / "driver.py"


def run_driver(driver: Path, step: str, home: Path, **args) -> dict:
    """Runs one DRIVER step in a child Python with a private HOME; its JSON result."""
    home.mkdir(parents=True, exist_ok=True)
    args_file = home.parent / f"{step}-args.json"
    args_file.write_text(json.dumps({"step": step, "addon_manager": str(AM_DIR), **args}))
    env = private_env(home, keep_python=True)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(driver.parent / "packages"), env.get("PYTHONPATH")]))
    proc = subprocess.run([BASE_PYTHON, str(driver), str(args_file)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=str(home.parent), stdin=subprocess.DEVNULL)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    tail = f"(exit {proc.returncode})\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    assert line is not None, f"the {step} step wrote no result {tail}"
    data = json.loads(line[len("RESULT "):])
    assert "error" not in data, f"the {step} step raised:\n{data['error']}\n{tail}"
    data["output"] = proc.stdout + proc.stderr
    return data


# --- the repository, as a user's git URL -------------------------------------------------------


@dataclass
class Origin:
    path: Path  # a git repository, branch main, holding this checkout's files
    head: str
    files: set[str]  # what a clone holds (relative paths)
    zip: Path  # GitHub's archive of the branch: every file under "<name>-<branch>/"

    @property
    def url(self) -> str:
        return self.path.as_uri()


def git(*args: str, cwd: Path) -> str:
    command = ["git", "-c", "user.name=FreeCAD Spatial tests", "-c", "user.email=tests@freecad-spatial.invalid",
               "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def checkout_files() -> list[str]:
    """This checkout's files, as git would commit them (tracked and new, not ignored)."""
    if (REPO / ".git").exists():
        listed = git("ls-files", "-co", "--exclude-standard", "-z", cwd=REPO).split("\0")
        return sorted(f for f in listed if f and (REPO / f).is_file())
    copied = []
    for root, dirs, files in os.walk(REPO):
        ignored = gui_harness.COPY_IGNORE(root, dirs + files)
        dirs[:] = [d for d in dirs if d not in ignored]
        copied += [os.path.relpath(os.path.join(root, f), REPO) for f in files if f not in ignored]
    return sorted(copied)


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Origin:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("origin")
    path = root / NAME
    files = checkout_files()
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, path / name)
    git("init", "-q", "-b", BRANCH, cwd=path)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "the checkout under test", cwd=path)
    archive = root / f"{NAME}-{BRANCH}.zip"
    git("archive", "--format=zip", f"--prefix={NAME}-{BRANCH}/", "-o", str(archive), BRANCH, cwd=path)
    committed = set(filter(None, git("ls-files", "-z", cwd=path).split("\0")))
    return Origin(path, git("rev-parse", "HEAD", cwd=path).strip(), committed, archive)


def metadata_files(package_xml: str | None = None) -> dict[str, str | None]:
    """What the Addon Manager downloads next to package.xml (None: the repository has no such file)."""
    def read(name: str) -> str | None:
        return (REPO / name).read_text() if (REPO / name).is_file() else None

    return {"package.xml": package_xml if package_xml is not None else read("package.xml"),
            "metadata.txt": read("metadata.txt"), "requirements.txt": read("requirements.txt")}


def declared_python(files: dict[str, str | None]) -> set[str]:
    """Every Python package name the files mention, in any of the Addon Manager's forms."""
    found = set(re.findall(r"<depend[^>]*>\s*([\w.-]+)\s*</depend>", files["package.xml"] or ""))
    for line in (files["metadata.txt"] or "").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("pylibs", "optionalpylibs"):
            found |= {v.strip() for v in value.split(",") if v.strip()}
    found |= set(requirement_names(files["requirements.txt"] or ""))
    return found


def resolve(driver: Path, tmp_path: Path, files: dict[str, str | None]) -> dict:
    hidden = sorted(declared_python(files) | set(ASSISTANT_PACKAGES))
    url = re.search(r'<url type="repository"[^>]*>([^<]+)</url>', files["package.xml"]).group(1)
    return run_driver(driver, "resolve", tmp_path / "home", files=files, hide=hidden, name=NAME, url=url, branch=BRANCH)


def modal_dialogs(data: dict) -> list[dict]:
    return [e for e in data["events"] if e.get("dialog") == "modal"]


# --- (a) the dependency check ------------------------------------------------------------------


def test_our_metadata_never_stops_the_install(driver, tmp_path):
    """With none of our Python packages installed, the version's own install entry goes straight to
    installing: no refusal, no dependency dialog, nothing required."""
    files = metadata_files()
    assert files["requirements.txt"] is None, "every Addon Manager reads a root requirements.txt as *required* packages"
    data = resolve(driver, tmp_path, files)
    context = json.dumps({k: data[k] for k in ("flow", "declared", "missing", "events")}, indent=1)
    assert data["missing"]["required"] == [], context
    assert data["missing"]["workbenches"] == [] and data["missing"]["addons"] == [], context
    # The packages were really absent and really read from metadata.txt: all of them are missing
    # optional ones (then dropped: none is on the allow-list) ...
    optional = set(declared_python(files))
    assert optional == set(ASSISTANT_PACKAGES), "metadata.txt names the packages of resources/assistant-requirements.txt"
    assert set(data["missing"]["optional"]) == optional, context
    assert not optional & set(data["allowed"]), "an allow-listed package would be offered: fine, but say so in package.xml"
    # ... and the install goes ahead at once.
    assert data["events"] == [{"install": NAME}], context


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional-true"])
def test_a_python_depend_in_package_xml_stops_the_install_where_the_addon_manager_says(driver, tmp_path, optional):
    """The control that shows the check above can fail: a package.xml <depend type="python"> on a package
    that is not allow-listed makes the version refuse (the modal box, Cancel) when required, and on
    0.20 even with optional="true" (0.20 reads every <depend> as required); 1.x honours optional."""
    flag = ' optional="true"' if optional else ""
    package_xml = (REPO / "package.xml").read_text().replace(
        "  <content>", f'  <depend type="python"{flag}>anthropic</depend>\n  <content>', 1)
    assert "anthropic</depend>" in package_xml
    data = resolve(driver, tmp_path, metadata_files(package_xml))
    context = json.dumps({k: data[k] for k in ("flow", "declared", "missing", "events")}, indent=1)
    stops = not optional or LEGACY
    if stops:
        assert data["missing"]["required"] == ["anthropic"], context
        [refusal] = modal_dialogs(data)
        assert "cannot be installed automatically" in refusal["text"] and "anthropic" in refusal["text"], context
        assert not any("install" in e for e in data["events"]), context
    else:
        assert data["missing"]["required"] == [] and "anthropic" in data["missing"]["optional"], context
        assert data["events"] == [{"install": NAME}], context


# --- (b) and (c) installing from a git URL, then FreeCAD loading it ------------------------------

PROBE = textwrap.dedent(
    """
    import json, os, sys, traceback
    out = {}
    try:
        import FreeCAD
        out["user_data"] = FreeCAD.getUserAppDataDir()
        package = sys.modules.get("freecad_spatial")
        out["package_file"] = getattr(package, "__file__", None)
        from freecad_spatial.spatial_tools.registry import load_builtin_tools
        out["tools"] = sorted(load_builtin_tools().names())
        from freecad_spatial.addon import workbench
        out["icon"] = workbench.icon_path()
        out["workbench"] = [(w.Classname, w.Subdirectory) for w in
                            FreeCAD.Metadata(os.path.join(os.path.dirname(package.__file__), "package.xml")).Content["workbench"]]
    except BaseException:
        out["error"] = traceback.format_exc()
    with open(RESULT, "w") as fh:
        json.dump(out, fh)
    """
)


def freecadcmd_probe(home: Path, work: Path) -> tuple[dict, str]:
    """FreeCAD's own start-up (freecadcmd) on the private user folder, then PROBE."""
    result, script, log = work / "probe.json", work / "probe.py", work / "freecad.log"
    script.write_text(f"RESULT = {str(result)!r}\n" + PROBE)
    # Options after the script: 0.20 treats a leading option as a plain-Python invocation.
    proc = subprocess.run([FREECADCMD, str(script), "--log-file", str(log)], capture_output=True, text=True,
                          timeout=180, env=private_env(home, keep_python=False), cwd=work, stdin=subprocess.DEVNULL)
    output = "\n".join((proc.stdout, proc.stderr, log.read_text(errors="replace") if log.exists() else ""))
    assert result.exists(), f"freecadcmd wrote no result (exit {proc.returncode}):\n{output[-4000:]}"
    data = json.loads(result.read_text())
    assert "error" not in data, data["error"] + "\n" + output[-4000:]
    return data, output


def installed_files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(folder).parts and p.name != "AM_INSTALLATION_DIGEST.txt"}


def install(driver: Path, origin: Origin, home: Path, route: str) -> dict:
    data = run_driver(driver, "install", home, route=route, name=NAME, url=origin.url, branch=BRANCH, zip=str(origin.zip))
    if data.get("skip"):
        pytest.skip(f"FreeCAD {VERSION}: {data['skip']}")
    return data


@pytest.mark.skipif(FREECADCMD is None, reason="no freecadcmd on PATH")
@pytest.mark.parametrize("route", ROUTES)
def test_the_addon_manager_installs_the_git_url_and_freecad_loads_it(driver, origin, tmp_path, route):
    home = tmp_path / "home"
    data = install(driver, origin, home, route)
    context = json.dumps({k: data.get(k) for k in ("method", "returned", "events", "installed")}, indent=1)
    installed = Path(data["installed"])
    # (b) Into the private user Mod folder, as the Addon Manager names it, whole and unchanged.
    assert installed.parent.name == "Mod" and installed.is_relative_to(home), context
    assert not any("failure" in e for e in data["events"]) and any("success" in e for e in data["events"]), context
    assert data.get("returned", True) is True, context
    assert installed_files(installed) == origin.files, context
    for name in ("package.xml", "metadata.txt", "addon/Init.py", "addon/InitGui.py"):
        assert (installed / name).read_bytes() == (origin.path / name).read_bytes(), name
    if route == "git" or (route == "url" and LEGACY):
        assert git("rev-parse", "HEAD", cwd=installed).strip() == origin.head, context

    # (c) FreeCAD's own start-up runs the workbench's Init.py from there and the package works.
    probe, output = freecadcmd_probe(home, tmp_path)
    assert Path(probe["user_data"]) / "Mod" / NAME == installed
    assert Path(probe["package_file"]).parent == installed, "freecad_spatial must come from the installed copy"
    assert f"Initializing {installed}/addon... done" in output
    assert {"mass_properties", "measure_distance"} <= set(probe["tools"])
    assert Path(probe["icon"]).is_file() and Path(probe["icon"]).is_relative_to(installed)
    assert probe["workbench"] == [["FreeCADSpatialWorkbench", "addon"]]
    ours = [line for line in output.splitlines() if "freecad_spatial" in line or "freecad-spatial" in line]
    assert not [line for line in ours if any(w in line for w in ("Traceback", "Error", "failed"))], ours


GUI_SCRIPT = """
import sys
r = harness.result
r["listed"] = "FreeCADSpatialWorkbench" in Gui.listWorkbenches()
r["activated"] = Gui.activateWorkbench("FreeCADSpatialWorkbench")
harness.wait(300)
r["active"] = Gui.activeWorkbench().name()
r["package_file"] = sys.modules["freecad_spatial"].__file__
r["commands"] = sorted(c for c in Gui.listCommands() if c.startswith("Spatial_"))
"""


@pytest.mark.gui
def test_the_gui_loads_the_workbench_the_addon_manager_installed(driver, origin, tmp_path):
    if reason := gui_harness.gui_unavailable_reason():
        pytest.skip(reason)
    home = tmp_path / "home"  # the harness's private HOME for work_dir=tmp_path
    args = {"name": NAME, "url": origin.url, "branch": BRANCH, "zip": str(origin.zip)}
    data = run_driver(driver, "install", home, route="url", **args)
    if data.get("skip"):  # 0.20 without GitPython: the ZIP it downloads from GitHub instead
        data = run_driver(driver, "install", home, route="zip", **args)
    installed = Path(data["installed"])
    run = gui_harness.run_in_freecad_gui(GUI_SCRIPT, work_dir=tmp_path, install=False, timeout=180)
    assert run.mod_dir / NAME == installed, "the harness and the Addon Manager must agree on the Mod folder"
    assert run.result["listed"] and run.result["activated"], run.describe()
    assert run.result["active"] == "FreeCADSpatialWorkbench"
    assert Path(run.result["package_file"]).parent == installed
    assert "Spatial_ShowTools" in run.result["commands"]


# --- (d) the in-app installer's folder ---------------------------------------------------------


def build_wheel(folder: Path, name: str) -> Path:
    """A minimal pure-Python wheel (PEP 427), written by hand: no build backend, no network."""
    dist = f"{name}-0.1"
    files = {f"{name}/__init__.py": "VERSION = '0.1'\n",
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
             f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_the_install_banner_uses_the_folder_this_freecad_puts_on_sys_path(driver, tmp_path):
    """The Addon Manager's own dependency installer and our banner's pip put packages in the same folder,
    and a fresh FreeCAD start puts that folder on sys.path and imports from it."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    am_wheel, ours_name = build_wheel(wheels, "spatial_am_probe"), "spatial_banner_probe"
    build_wheel(wheels, ours_name)
    home = tmp_path / "home"
    data = run_driver(driver, "pip_target", home, wheel=str(am_wheel), package="spatial_am_probe",
                      package2=ours_name, wheels=str(wheels))
    context = json.dumps({k: data.get(k) for k in ("events", "am_target", "am_installed_into", "ours", "our_pip")}, indent=1)
    ours = data["ours"]
    assert Path(ours).is_relative_to(home), context
    assert not any("failure" in e for e in data["events"]), context
    assert data["am_installed_into"] == [ours], context
    if not LEGACY:
        assert os.path.normpath(data["am_target"]) == os.path.normpath(ours), context
    assert data["our_pip"]["returncode"] == 0, context

    fresh = run_driver(driver, "startup", home, packages=["spatial_am_probe", ours_name])
    assert ours in fresh["sys_path"], "FreeCAD's start-up must put the banner's folder on sys.path"
    for name in ("spatial_am_probe", ours_name):
        assert Path(fresh["imported"][name]).parent.parent == Path(ours), fresh["imported"]

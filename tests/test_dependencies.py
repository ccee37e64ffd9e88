"""The missing-package banner: Install really runs pip (offline, on a wheel built here) in a separate
process while the GUI keeps running; a failure says so; and the workbench works with anthropic,
httpx and keyring hidden."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import REPO  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from freecad_spatial.panels import dependencies  # noqa: E402
from freecad_spatial.panels.dependencies import DependencyBanner  # noqa: E402

PACKAGE = "spatial_tiny_dep"  # a throwaway package: built here, installed nowhere but tmp_path


def build_wheel(folder, name=PACKAGE, version="0.1") -> str:
    """A minimal pure-Python wheel (PEP 427) written by hand: no build backend, no network."""
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name_, text in files.items():
            wheel.writestr(name_, text)
    return str(path)


@pytest.fixture
def offline_index(tmp_path, monkeypatch):
    wheels, target = tmp_path / "wheels", tmp_path / "AdditionalPythonPackages"
    wheels.mkdir()
    target.mkdir()
    build_wheel(wheels)
    monkeypatch.setattr(dependencies, "PACKAGES", {PACKAGE: PACKAGE, "spatial_no_such_dep": "spatial-no-such-dep"})
    monkeypatch.setattr(sys, "path", [*sys.path, str(target)])
    yield wheels, target
    sys.modules.pop(PACKAGE, None)


def make_banner(qtbot, names, wheels, target):
    def find_missing():
        return [n for n in names if not (target / n).is_dir()]

    banner = DependencyBanner(find_missing=find_missing, target=lambda: str(target),
                              pip_options=["--no-index", "--find-links", str(wheels)])
    qtbot.addWidget(banner)
    banner.show()
    return banner


def run_install(qtbot, banner, timeout=120000):
    lines: list[str] = []
    ticks = []
    heartbeat = QtCore.QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: ticks.append(banner.progress.isVisible()))
    banner.progress_text.connect(lines.append)
    heartbeat.start()
    with qtbot.waitSignal(banner.finished, timeout=timeout) as signal:
        banner.button.click()
        assert banner.process is not None and banner.progress.isVisible() and not banner.button.isEnabled()
        assert "Installing" in banner.log.text()
    heartbeat.stop()
    return signal.args[0], lines, ticks


def test_install_runs_pip_into_the_target_with_progress_and_success(qtbot, offline_index):
    wheels, target = offline_index
    banner = make_banner(qtbot, [PACKAGE], wheels, target)
    assert banner.isVisible() and PACKAGE in banner.label.text()
    ok, lines, ticks = run_install(qtbot, banner)
    assert ok, banner.output
    # pip ran in its own process: the event loop kept turning (with the progress bar up) meanwhile.
    assert sum(ticks) >= 3
    assert any("spatial_tiny_dep" in line or "spatial-tiny-dep" in line for line in lines), lines
    assert any("Successfully installed" in line for line in lines), lines
    assert "Installed" in banner.log.text() and not banner.progress.isVisible() and not banner.button.isEnabled()
    assert (target / PACKAGE / "__init__.py").is_file()
    import spatial_tiny_dep

    assert spatial_tiny_dep.VERSION == "0.1"
    # The banner no longer asks for what was just installed (issue 14.3): it says so, with the result,
    # and offers no Install; the next refresh hides it.
    assert PACKAGE not in banner.label.text() and "is installed" in banner.label.text()
    assert banner.isVisible() and banner.button.isHidden()
    assert banner.refresh() == [] and banner.isHidden()


def test_a_package_that_does_not_exist_shows_a_clear_failure(qtbot, offline_index):
    wheels, target = offline_index
    banner = make_banner(qtbot, ["spatial_no_such_dep"], wheels, target)
    ok, lines, _ = run_install(qtbot, banner)
    assert not ok
    text = banner.log.text()
    assert text.startswith("Installing failed (pip exit 1); still missing: spatial_no_such_dep.")
    assert "No matching distribution found for spatial-no-such-dep" in text
    assert banner.button.isEnabled() and not banner.progress.isVisible()


def test_pip_arguments_install_into_the_target_folder():
    args = dependencies.pip_arguments(["anthropic", "httpx"], "/x/AdditionalPythonPackages")
    assert args[:3] == ["-m", "pip", "install"] and args[args.index("--target") + 1] == "/x/AdditionalPythonPackages"
    assert args[-2:] == ["anthropic>=0.40", "httpx>=0.27"]


def test_the_banner_offers_every_package_of_the_one_list_jinja2_too(qtbot, monkeypatch):
    """The Install list is resources/assistant-requirements.txt: with all of it absent the banner names
    each package (jinja2 too) and Install asks pip for each requirement."""
    assert dependencies.PACKAGES == dependencies.read_requirements(REPO / "resources" / "assistant-requirements.txt")
    assert "jinja2" in dependencies.PACKAGES
    for name in dependencies.PACKAGES:
        monkeypatch.setitem(sys.modules, name, None)  # import fails, find_spec says None
    assert dependencies.missing() == list(dependencies.PACKAGES)
    banner = DependencyBanner(target=lambda: "/nowhere")
    qtbot.addWidget(banner)
    assert all(name in banner.label.text() for name in dependencies.PACKAGES)
    args = dependencies.pip_arguments(dependencies.missing(), "/x")
    assert args[-len(dependencies.PACKAGES):] == list(dependencies.PACKAGES.values())


@pytest.mark.parametrize(("version", "folder"), [
    (["0", "20", "2"], "/u/AdditionalPythonPackages"),
    (["0", "21", "2"], "/u/AdditionalPythonPackages/py313"),
    (["1", "1", "3"], "/u/AdditionalPythonPackages/py313"),
])
def test_the_folder_follows_the_freecad_version(version, folder):
    """The rule of FreeCAD's start-up; tests/test_addon_install.py checks it against the running FreeCAD."""
    assert dependencies.additional_packages_folder("/u/", version, (3, 13)) == folder


HIDDEN = ("anthropic", "httpx", "keyring")

WITHOUT_PACKAGES = textwrap.dedent('''
    import json, os, sys
    HIDDEN = {hidden!r}
    # Hide the packages the way a FreeCAD without them looks: any import fails, find_spec says None.
    for name in list(sys.modules):
        if name.split(".")[0] in HIDDEN:
            del sys.modules[name]
    for name in HIDDEN:
        sys.modules[name] = None
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["FREECAD_SPATIAL_QT"] = "pyside6"
    os.environ["FREECAD_SPATIAL_AUDIT_LOG"] = {audit!r}
    from freecad_spatial.spatial_tools import freecad_env
    FreeCAD = freecad_env.load()
    import Part
    import importlib, pkgutil
    import freecad_spatial
    out = {{"imported": [], "failed": {{}}}}
    # Every module of the workbench that does not need FreeCAD's GUI imports.
    for info in pkgutil.walk_packages(freecad_spatial.__path__, "freecad_spatial."):
        name = info.name
        if ".tests" in name or name.endswith(("__main__", ".Init", ".InitGui")):  # FreeCAD exec()s Init*.py
            continue
        try:
            importlib.import_module(name)
            out["imported"].append(name)
        except Exception as exc:
            out["failed"][name] = f"{{type(exc).__name__}}: {{exc}}"
    from PySide6 import QtCore, QtWidgets
    app = QtWidgets.QApplication([])
    from freecad_spatial.panels.dependencies import DependencyBanner, missing
    from freecad_spatial.panels.chat_controller import ChatConfig, ChatController
    from freecad_spatial.panels.chat_host import DocumentHost
    from freecad_spatial.panels.chat_panel import ChatPanel
    from freecad_spatial.panels.chat_messages import ErrorBubble
    from freecad_spatial.spatial_tools.agent.session import Settings
    doc = FreeCAD.newDocument("NoDeps")
    box = doc.addObject("Part::Feature", "Box")
    box.Shape = Part.makeBox(10, 20, 30)
    doc.recompute()
    out["missing"] = missing()
    # The tools work without the assistant's packages.
    from freecad_spatial.spatial_tools.registry import load_builtin_tools
    from freecad_spatial.spatial_tools.context import ToolContext
    out["volume"] = load_builtin_tools().call("mass_properties", {{"object": "Box"}}, ToolContext(document=doc))["result"]["volume"]
    config = lambda: ChatConfig(Settings.load({{"backend": "openai", "tier": "local"}}), {{"base_url": "http://127.0.0.1:9/v1"}})
    controller = ChatController(DocumentHost(lambda: doc), config)
    banner = DependencyBanner()
    panel = ChatPanel(controller, banner=banner)
    panel.resize(420, 700)
    panel.show()
    app.processEvents()
    out["banner_visible"] = banner.isVisible()
    out["banner_text"] = banner.label.text()
    out["install_enabled"] = banner.button.isEnabled()
    done = []
    controller.busy_changed.connect(lambda busy: done.append(busy))
    panel.input.setPlainText("How big is the box?")
    panel.send()
    import time
    deadline = time.monotonic() + 30
    while (not done or done[-1]) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    out["errors"] = [b.text() for b in panel.bubbles() if isinstance(b, ErrorBubble)]
    # The same question to Anthropic (the default backend): the SDK is missing too (issue 14.3).
    done.clear()
    controller.config = lambda: ChatConfig(Settings.load({{"backend": "anthropic", "tier": "cloud"}}), {{}})
    panel.input.setPlainText("And its mass?")
    panel.send()
    deadline = time.monotonic() + 30
    while (not done or done[-1]) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    out["anthropic_error"] = [b.text() for b in panel.bubbles() if isinstance(b, ErrorBubble)][-1]
    out["kinds"] = [e.stop_reason for e in controller.conversation.entries if e.role == "error"]
    out["banner_after"] = banner.isVisible() and "anthropic" in banner.label.text()
    from freecad_spatial.panels.preferences_page import PreferencesForm
    form = PreferencesForm(document=lambda: doc)
    form.load()
    out["key_field_enabled"] = form.api_key.isEnabled()
    out["key_note"] = form.keyring_warning.text() + " " + form.key_source.text()
    out["session_only"] = [form.session_only.isChecked(), form.session_only.isEnabled()]
    out["key_warning"] = form.keyring_warning.text()
    print("RESULT " + json.dumps(out))
''')


def test_the_workbench_works_and_the_panel_says_what_is_missing_without_the_packages(tmp_path):
    script = WITHOUT_PACKAGES.format(hidden=HIDDEN, audit=str(tmp_path / "audit.jsonl"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FREECAD_SPATIAL_")}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180,
                         cwd=str(REPO.parent), env=env)
    line = next((x for x in run.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, run.stdout[-3000:] + run.stderr[-5000:]
    out = json.loads(line[len("RESULT "):])
    # Only modules that need FreeCAD's GUI, and the two backend modules that *are* the packages' clients
    # (imported lazily, when a question is asked), fail to import; nothing else depends on the packages.
    clients = {"freecad_spatial.spatial_tools.backends.openai_backend",
               "freecad_spatial.spatial_tools.backends.anthropic_backend"}
    for name, why in out["failed"].items():
        assert "FreeCADGui" in why or (name in clients and any(h in why for h in HIDDEN)), (name, why)
    assert "freecad_spatial.panels.chat_panel" in out["imported"]
    assert "freecad_spatial.spatial_tools.backends.factory" in out["imported"]
    assert set(HIDDEN) <= set(out["missing"])
    assert abs(out["volume"] - 6000.0) < 1e-6
    assert out["banner_visible"] and out["install_enabled"]
    assert all(name in out["banner_text"] for name in HIDDEN)
    [error] = out["errors"]
    assert "httpx" in error and "Install" in error
    # Anthropic without its SDK: the banner's guidance, not "failed unexpectedly" with a traceback.
    anthropic_error = out["anthropic_error"]
    assert out["kinds"] == ["missing_dependency", "missing_dependency"], out["kinds"]
    assert "A Python package the assistant needs is missing" in anthropic_error, anthropic_error
    assert "anthropic" in anthropic_error and "Install in the banner" in anthropic_error
    assert "unexpectedly" not in anthropic_error and "ValueError" not in anthropic_error
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert out["banner_after"]
    # Without the keyring package a key can still be typed, for this session only, and the page says so.
    assert out["key_field_enabled"] and "keyring" in out["key_note"]
    assert out["session_only"] == [True, False] and "session only" in out["key_warning"]

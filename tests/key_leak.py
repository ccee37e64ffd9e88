"""The session-wide key-leak check (tiers.md: keys never land in files) and the test keyring.

Every API key a test uses comes from here: ``TEST_API_KEY`` or
``make_test_key(tag)``, random per run, so no earlier run and no other
program can have written them. The session fixture ``key_leak_guard``
(imported into conftest.py, so every run has it, whichever test files it
selects):

- before the first test, points the run's temp and config folders (TMPDIR,
  XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_CACHE_HOME, the audit log) into the
  session's pytest base folder, and installs a file-backed keyring there
  (no test ever touches the real OS keyring);
- after the last test (it is the outermost fixture, so its finalizer runs
  after every other teardown), reads every file under those folders, the
  FreeCAD user folders and the home configuration folders, and fails the run
  naming each file that holds any test key. The failure is reported as an
  error in the teardown of the last test, and the run's exit status is 1.

``FileKeyring`` keeps passwords base64-encoded, as keyrings.alt's file
keyring does: a keyring's own store is where a key is meant to live, and a
scan for the raw key must not count it as a leak.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest

try:  # the assistant extra; without it there is no key to protect
    import keyring
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError
except ImportError:  # pragma: no cover - keyring is installed wherever the assistant tests run
    keyring = None
    KeyringBackend = object

TEST_API_KEY = f"sk-test-{uuid.uuid4().hex}"
_KEYS: set[str] = {TEST_API_KEY}


def make_test_key(tag: str) -> str:
    """A fresh key for this run, registered with the end-of-run scan."""
    key = f"sk-test-{tag}-{uuid.uuid4().hex}"
    _KEYS.add(key)
    return key


def registered_keys() -> frozenset[str]:
    return frozenset(_KEYS)


class FileKeyring(KeyringBackend):
    """A real keyring backend in one JSON file; values base64-encoded like keyrings.alt's file keyring."""

    priority = 1

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    def _load(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _save(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data))

    def get_password(self, service, username):
        value = self._load().get(f"{service}\n{username}")
        return None if value is None else base64.b64decode(value).decode()

    def set_password(self, service, username, password):
        data = self._load()
        data[f"{service}\n{username}"] = base64.b64encode(password.encode()).decode()
        self._save(data)

    def delete_password(self, service, username):
        data = self._load()
        if data.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("not stored")
        self._save(data)


def leaks(roots: Iterable[Path], keys: Iterable[str], *, since: float | None = None) -> list[tuple[Path, str]]:
    """(file, key) for every regular file under ``roots`` that contains a key (as bytes, UTF-8).

    ``since``: only files modified at or after this time (for shared folders).
    Symlinks are not followed (a link out of the folder is not a file written there).
    """
    needles = [(k, k.encode()) for k in keys]
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for folder, _dirs, files in os.walk(root, followlinks=False):
            for name in files:
                path = Path(folder) / name
                if path in seen or path.is_symlink() or not path.is_file():
                    continue
                seen.add(path)
                try:
                    if since is not None and path.stat().st_mtime < since:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue  # vanished or unreadable (a socket, a file another process removed)
                found += [(path, key) for key, raw in needles if raw in data]
    return found


def _shared_config_folders() -> list[Path]:
    """Folders outside the session's own that a run could write to: FreeCAD's and the home's."""
    folders = [Path.home() / ".config", Path.home() / ".local" / "share", Path.home() / ".FreeCAD"]
    freecad = sys.modules.get("FreeCAD")
    if freecad is not None:
        for name in ("getUserAppDataDir", "getUserConfigDir"):
            getter = getattr(freecad, name, None)
            if getter is not None:
                folders.append(Path(getter()))
    return folders


@pytest.fixture(scope="session", autouse=True)
def key_leak_guard(tmp_path_factory):
    """Isolated temp/config folders for the whole run; after it, no file there may hold a test key."""
    started = time.time() - 1
    base = tmp_path_factory.getbasetemp()
    home = base / "session-home"
    folders = {"TMPDIR": home / "tmp", "XDG_CONFIG_HOME": home / "config", "XDG_DATA_HOME": home / "data",
               "XDG_CACHE_HOME": home / "cache"}
    patch = pytest.MonkeyPatch()
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        patch.setenv(name, str(folder))
    patch.setenv("FREECAD_SPATIAL_AUDIT_LOG", str(folders["XDG_DATA_HOME"] / "FreeCADSpatial" / "audit.jsonl"))
    patch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR again
    previous = keyring.get_keyring() if keyring is not None else None
    if keyring is not None:
        keyring.set_keyring(FileKeyring(folders["XDG_CONFIG_HOME"] / "python_keyring" / "keyring.json"))
    try:
        yield home
    finally:
        if keyring is not None:
            keyring.set_keyring(previous)
        patch.undo()
        tempfile.tempdir = None
    found = leaks([base], registered_keys()) + leaks(_shared_config_folders(), registered_keys(), since=started)
    if found:
        lines = "\n".join(f"  {path}" for path in sorted({str(p) for p, _ in found}))
        pytest.fail(f"test API key found in {len(found)} file(s) written during the run:\n{lines}", pytrace=False)

"""The run-wide check that no test API key lands in a file (key_leak.py), proven able to fail.

The check itself runs once per pytest run, after its last test; these tests
show that it scans what it should, that the run really uses isolated folders,
and — by running small pytest sessions in a subprocess — that a key written
anywhere in those folders fails the run after its last test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import keyring
from key_leak import TEST_API_KEY, FileKeyring, leaks, make_test_key, registered_keys

TESTS = Path(__file__).resolve().parent


def test_scan_finds_a_key_in_any_file_under_the_roots(tmp_path):
    key = "sk-test-scan-0123456789abcdef"
    clean = tmp_path / "clean"
    (clean / "a" / "b").mkdir(parents=True)
    (clean / "a" / "b" / "notes.txt").write_text("nothing here")
    assert leaks([clean], [key]) == []
    deep = tmp_path / "root" / ".hidden" / "x" / "y"
    deep.mkdir(parents=True)
    (deep / "settings.cfg").write_text(f"api_key = {key}\n")
    (tmp_path / "root" / "blob.bin").write_bytes(b"\x00\xff" + key.encode() + b"\x00")
    found = sorted(p.name for p, _ in leaks([tmp_path / "root"], [key, "sk-test-other"]))
    assert found == ["blob.bin", "settings.cfg"]
    outside = tmp_path / "outside.txt"
    outside.write_text(key)
    (clean / "link").symlink_to(outside)  # a link out of the folder is not a file written in it
    assert leaks([clean], [key]) == []
    assert leaks([clean], [key], since=0) == []
    assert leaks([tmp_path / "root"], [key], since=4102444800) == []  # only files changed since then


def test_every_key_the_tests_use_is_registered_and_random():
    tagged = make_test_key("probe")
    assert {TEST_API_KEY, tagged} <= registered_keys()
    assert tagged != make_test_key("probe") and len(TEST_API_KEY) > 30


def test_the_run_uses_isolated_temp_and_config_folders(tmp_path_factory, key_leak_guard):
    base = tmp_path_factory.getbasetemp()
    for name in ("TMPDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "FREECAD_SPATIAL_AUDIT_LOG"):
        assert Path(os.environ[name]).is_relative_to(key_leak_guard), name
    assert key_leak_guard.is_relative_to(base)
    assert Path(tempfile.gettempdir()).is_relative_to(base)
    # The keyring is a file-backed one inside the run's config folder, never the OS keyring.
    backend = keyring.get_keyring()
    assert isinstance(backend, FileKeyring) and backend.path.is_relative_to(key_leak_guard / "config")


def test_the_file_keyring_does_not_keep_keys_in_plain_text(tmp_path):
    backend = FileKeyring(tmp_path / "k.json")
    key = make_test_key("stored")
    backend.set_password("freecad-spatial", "anthropic", key)
    assert backend.get_password("freecad-spatial", "anthropic") == key
    assert key not in (tmp_path / "k.json").read_text()


PLANTED = """
import os, tempfile
from pathlib import Path
from key_leak import TEST_API_KEY

def test_first(tmp_path):
    {leak}

def test_last():
    pass
"""


def run_session(tmp_path: Path, leak: str) -> subprocess.CompletedProcess:
    """A pytest run of two tests with only the key_leak plugin; the first one writes ``leak``."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    test_file = tmp_path / "test_planted.py"
    test_file.write_text(PLANTED.format(leak=leak))
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "key_leak", "-p", "no:cacheprovider", "-q", "-rA",
             "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), "--basetemp", str(tmp_path / "inner"),
             str(test_file)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )
    finally:
        import shutil

        shutil.rmtree(tmp_path / "inner", ignore_errors=True)


def test_a_clean_run_passes(tmp_path):
    result = run_session(tmp_path, "(tmp_path / 'ok.txt').write_text('no key here')")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout and "error" not in result.stdout.lower()


def test_a_key_in_a_test_temp_folder_fails_the_run_after_its_last_test(tmp_path):
    result = run_session(tmp_path, "(tmp_path / 'sub').mkdir(); (tmp_path / 'sub' / 'dump.json').write_text(TEST_API_KEY)")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed, 1 error" in result.stdout  # both tests ran; the check failed after the last one
    assert "ERROR at teardown of test_last" in result.stdout
    assert "test API key found in 1 file(s)" in result.stdout and "dump.json" in result.stdout


def test_a_key_in_the_config_folder_or_tempfile_fails_the_run(tmp_path):
    leak = ("(Path(os.environ['XDG_CONFIG_HOME']) / 'app.cfg').write_text('key=' + TEST_API_KEY); "
            "tempfile.NamedTemporaryFile('w', delete=False, suffix='.log').write(TEST_API_KEY)")
    result = run_session(tmp_path, leak)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test API key found in 2 file(s)" in result.stdout
    assert "app.cfg" in result.stdout and ".log" in result.stdout

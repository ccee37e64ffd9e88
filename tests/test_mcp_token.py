"""The live MCP session's bearer token is a secret: the environment, the OS keyring (a file backend here),
or memory for the session — never FreeCAD's parameters."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest
from conftest import FreeCAD
from key_leak import FileKeyring

from freecad_spatial.spatial_tools.mcp import live


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.delenv(live.TOKEN_ENV, raising=False)
    monkeypatch.setattr(live, "_session_token", None)
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def parameters_hold(value: str) -> bool:
    group = FreeCAD.ParamGet(live.GROUP)
    return any(value in str(group.GetString(name, "")) for name in group.GetStrings())


def test_the_token_lives_in_the_keyring_and_stays(fresh, tmp_path):
    store = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(store)
    first = live.token()
    assert len(first) >= 32 and live.token() == first
    assert keyring.get_password("freecad-spatial", live.TOKEN_USER) == first
    assert not parameters_hold(first)


def test_without_a_keyring_the_token_is_for_this_session_only(fresh):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    first = live.token()
    assert first and live.token() == first and not parameters_hold(first)


def test_the_environment_variable_wins(fresh, monkeypatch, tmp_path):
    keyring.set_keyring(FileKeyring(tmp_path / "keyring.json"))
    monkeypatch.setenv(live.TOKEN_ENV, "fixed-token-for-ci")
    assert live.token() == "fixed-token-for-ci"

"""API keys: OS keyring through the real ``keyring`` API (a file-backed backend in a tmp dir),
environment overrides, and keys never printed."""

from __future__ import annotations

import json
import logging
import traceback

import keyring
import keyring.backends.fail
import pytest
from key_leak import FileKeyring, make_test_key

from freecad_spatial.spatial_tools.backends import errors, keys
from freecad_spatial.spatial_tools.backends.base import Message
from freecad_spatial.spatial_tools.backends.factory import make_backend
from freecad_spatial.spatial_tools.protocol_servers import ProtocolServer

KEY = make_test_key("keyring")
FROM_KEYRING, FROM_GENERIC_ENV, FROM_OUR_ENV = (make_test_key(t) for t in ("from-keyring", "generic-env", "our-env"))
ALL_ENV = [name for provider in ("anthropic", "openai") for name in keys.env_names(provider)]


@pytest.fixture
def file_keyring(tmp_path, monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_documented_service_and_usernames():
    assert keys.service() == "freecad-spatial"
    assert keys.username("anthropic") == "anthropic"
    assert keys.username("openai") == "openai"
    assert keys.env_names("anthropic") == ["FREECAD_SPATIAL_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"]
    assert keys.env_names("openai") == ["FREECAD_SPATIAL_OPENAI_API_KEY"]
    with pytest.raises(ValueError, match="unknown provider"):
        keys.get_key("gemini")


def test_set_get_delete_through_the_keyring(file_keyring):
    assert keys.get_key("anthropic") is None
    keys.set_key("anthropic", KEY)
    # Stored where a user's keyring tool finds it: service "freecad-spatial", user "anthropic".
    assert keyring.get_password("freecad-spatial", "anthropic") == KEY
    assert keys.get_key("anthropic").reveal() == KEY
    assert keys.get_key("openai") is None
    assert keys.key_source("anthropic") == "OS keyring"
    assert keys.delete_key("anthropic") is True
    assert keys.delete_key("anthropic") is False
    assert keys.get_key("anthropic") is None
    assert keys.key_source("anthropic") is None


def test_environment_beats_keyring(file_keyring, monkeypatch):
    keys.set_key("anthropic", FROM_KEYRING)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FROM_GENERIC_ENV)
    assert keys.get_key("anthropic").reveal() == FROM_GENERIC_ENV
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", FROM_OUR_ENV)
    assert keys.get_key("anthropic").reveal() == FROM_OUR_ENV
    assert keys.key_source("anthropic") == "environment variable FREECAD_SPATIAL_ANTHROPIC_API_KEY"
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", "   ")  # blank does not count
    assert keys.get_key("anthropic").reveal() == FROM_GENERIC_ENV


def test_secret_never_prints_itself():
    secret = keys.Secret(KEY)
    for text in (str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret}", str([secret])):
        assert KEY not in text
    assert secret.reveal() == KEY
    with pytest.raises(TypeError):
        __import__("pickle").dumps(secret)
    with pytest.raises(ValueError):
        keys.Secret("  ")


def test_no_keyring_gives_a_clear_error_without_the_key(monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(errors.KeyringUnavailable) as info:
            keys.set_key("anthropic", KEY)
        assert "freecad-spatial" in str(info.value)
        assert "FREECAD_SPATIAL_ANTHROPIC_API_KEY" in str(info.value)
        assert KEY not in str(info.value) and KEY not in repr(info.value)
        assert KEY not in "".join(traceback.format_exception(info.value))
        with pytest.raises(errors.KeyringUnavailable):
            keys.get_key("anthropic")
        # An environment variable still works without any keyring.
        monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", KEY)
        assert keys.get_key("anthropic").reveal() == KEY
        # vLLM often needs no key: the factory builds an OpenAI backend without one.
        backend = make_backend("openai", {"model": "m"})
        assert "key=none" in repr(backend)
    finally:
        keyring.set_keyring(previous)


def test_factory_sends_the_env_key_not_the_keyring_one(file_keyring, monkeypatch, caplog):
    keys.set_key("anthropic", make_test_key("loses"))
    monkeypatch.setenv("FREECAD_SPATIAL_ANTHROPIC_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    with ProtocolServer([{"text": "ok"}], require_key=KEY) as server:
        backend = make_backend("anthropic", {"base_url": server.url, "base_delay_s": 0.01})
        turn = backend.complete([], [Message("user", "hi")], [])
        assert turn.text == "ok"  # the server accepts only the env key
        recorded = server.requests[0]
    assert recorded.auth_present is True
    assert KEY not in json.dumps(recorded.headers) and KEY not in json.dumps(recorded.body)
    assert KEY not in repr(backend) and KEY not in caplog.text


def test_factory_without_any_anthropic_key_fails_before_sending(file_keyring):
    with ProtocolServer([{"text": "never"}]) as server:
        backend = make_backend("anthropic", {"base_url": server.url})
        with pytest.raises(errors.AuthError) as info:
            backend.complete([], [Message("user", "hi")], [])
        assert server.requests == []
    message = str(info.value)
    assert "freecad-spatial" in message and "FREECAD_SPATIAL_ANTHROPIC_API_KEY" in message


@pytest.fixture
def no_keyring(monkeypatch):
    """keyring installed, no usable backend: keyring's own ``fail`` backend raises NoKeyringError."""
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)
    for provider in ("anthropic", "openai"):
        keys.forget_session_key(provider)


def test_keyring_problem_says_why_no_key_can_be_stored(no_keyring):
    problem = keys.keyring_problem()
    assert problem is not None and "NoKeyringError" in problem


def test_keyring_problem_is_none_where_a_keyring_works(file_keyring):
    assert keys.keyring_problem() is None


def test_a_session_key_is_used_without_a_keyring_and_never_written(no_keyring, monkeypatch, tmp_path):
    with pytest.raises(errors.KeyringUnavailable):
        keys.get_key("anthropic")
    keys.keep_for_session("anthropic", KEY)
    assert keys.get_key("anthropic").reveal() == KEY
    assert keys.key_source("anthropic") == keys.SESSION and keys.key_source("openai") is None
    # The backend the chat builds sends it.
    with ProtocolServer([{"text": "ok"}], require_key=KEY) as server:
        backend = make_backend("anthropic", {"base_url": server.url, "base_delay_s": 0.01})
        assert backend.complete([], [Message("user", "hi")], []).text == "ok"
    # An environment variable still wins, as over the keyring.
    monkeypatch.setenv("ANTHROPIC_API_KEY", FROM_GENERIC_ENV)
    assert keys.get_key("anthropic").reveal() == FROM_GENERIC_ENV
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert keys.forget_session_key("anthropic") is True and keys.forget_session_key("anthropic") is False
    assert keys.key_source("anthropic") is None


def test_storing_in_the_keyring_replaces_the_session_key(file_keyring):
    keys.keep_for_session("openai", FROM_GENERIC_ENV)
    assert keys.key_source("openai") == keys.SESSION
    keys.set_key("openai", FROM_KEYRING)
    assert keys.key_source("openai") == keys.KEYRING and keys.get_key("openai").reveal() == FROM_KEYRING

"""The server's token: created on first start with owner-only permissions, or given by the operator."""

from __future__ import annotations

import os
import stat

import pytest

from gaitid.errors import GaitidError
from gaitid.server.settings import ServerSettings, is_loopback, resolve_token


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("GAITID_TOKEN", raising=False)
    return tmp_path


def test_a_token_is_created_on_first_start_readable_by_its_owner_only(data_home):
    token, origin = resolve_token()
    path = data_home / "gaitid" / "server-token"
    assert origin == str(path) and len(token) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert resolve_token() == (token, str(path))  # the same token on the next start


def test_a_token_file_others_can_read_is_refused(data_home):
    resolve_token()
    path = data_home / "gaitid" / "server-token"
    path.chmod(0o644)
    with pytest.raises(GaitidError, match="can be read by others"):
        resolve_token()


def test_the_operator_gives_the_token(data_home, monkeypatch):
    given = data_home / "my-token"
    given.write_text("operator-token-0123456789\n")
    given.chmod(0o600)
    assert resolve_token(given) == ("operator-token-0123456789", str(given))
    with pytest.raises(GaitidError, match="no token file"):
        resolve_token(data_home / "missing")
    monkeypatch.setenv("GAITID_TOKEN", "from-the-environment-123")
    assert resolve_token(given)[0] == "from-the-environment-123"
    assert not (data_home / "gaitid" / "server-token").exists()


@pytest.mark.parametrize("token", ["", "short", "has a space in it 0123", " leading-space-0123456789"])
def test_weak_or_malformed_tokens_are_refused(token):
    with pytest.raises(GaitidError, match="token"):
        ServerSettings(token=token)


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("192.168.1.5", False)],
)
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback

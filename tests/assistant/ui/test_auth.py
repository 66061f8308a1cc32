"""Binding: loopback needs nothing; any other address needs credentials or an explicit, warned-about opt-out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import Settings
from assistant.ui import app as ui_app
from assistant.ui.auth import AuthError, is_loopback, read_credentials, resolve_auth


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org", "127.0.0.1.nip.io", ""])
def test_other_addresses(host: str) -> None:
    assert not is_loopback(host)


def test_loopback_needs_no_credentials(tmp_path: Path) -> None:
    assert resolve_auth(Settings(data_dir=tmp_path)) == (None, None)


def test_other_address_without_credentials_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match=r"refusing to bind 0\.0\.0\.0 without a login.*PEACETALKS_AUTH"):
        resolve_auth(Settings(data_dir=tmp_path, host="0.0.0.0"))


def test_insecure_no_auth_allows_it_with_a_warning(tmp_path: Path) -> None:
    auth, warning = resolve_auth(Settings(data_dir=tmp_path, host="0.0.0.0"), insecure_no_auth=True)
    assert auth is None
    assert warning is not None and warning.startswith("WARNING") and "0.0.0.0" in warning


def test_credentials_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEACETALKS_AUTH", "analyst:s3cret:with:colons")
    file = tmp_path / "users"
    file.write_text("# team\nlead:pw1\n\n  second : pw2\n", encoding="utf-8")
    monkeypatch.setenv("PEACETALKS_AUTH_FILE", str(file))
    settings = Settings(data_dir=tmp_path, host="0.0.0.0")
    assert "s3cret" not in repr(settings)  # a SecretStr
    auth, warning = resolve_auth(settings)
    assert auth == [("analyst", "s3cret:with:colons"), ("lead", "pw1"), ("second", " pw2")]
    assert warning is None


@pytest.mark.parametrize("value", ["nocolon", ":pw", "user:"])
def test_malformed_credentials_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(AuthError, match="user:password"):
        read_credentials(Settings(data_dir=tmp_path, auth=SecretStr(value)))


def test_unreadable_or_empty_auth_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="cannot read it"):
        read_credentials(Settings(data_dir=tmp_path, auth_file=tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("# nobody\n", encoding="utf-8")
    with pytest.raises(AuthError, match="holds no 'user:password' line"):
        read_credentials(Settings(data_dir=tmp_path, auth_file=empty))


def _chat(args: list[str], tmp_path: Path, **env: str) -> Any:
    return CliRunner().invoke(app, ["chat", *args], env={"PEACETALKS_DATA_DIR": str(tmp_path / "data"), **env})


def test_cli_refuses_a_public_bind_without_credentials(tmp_path: Path) -> None:
    result = _chat(["--host", "0.0.0.0"], tmp_path)
    assert result.exit_code == 2
    assert "refusing to bind 0.0.0.0 without a login" in result.output
    assert not (tmp_path / "data").exists()  # refused before opening anything


def test_cli_flag_and_credentials_get_past_the_check(tmp_path: Path) -> None:
    flagged = _chat(["--host", "0.0.0.0", "--insecure-no-auth"], tmp_path)
    assert flagged.exit_code == 1 and "run `peacetalks ingest` first" in flagged.output
    with_login = _chat(["--host", "0.0.0.0"], tmp_path, PEACETALKS_AUTH="a:b")
    assert with_login.exit_code == 1 and "run `peacetalks ingest` first" in with_login.output


def test_launch_prints_the_warning_and_passes_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(ui_app, "build_assistant", lambda settings: settings)
    monkeypatch.setattr(ui_app, "build_app", lambda assistant: "app")
    monkeypatch.setattr(ui_app, "serve", lambda app, settings, auth, **kw: served.append((app, settings.host, auth)))
    ui_app.launch(Settings(data_dir=tmp_path, host="0.0.0.0"), insecure_no_auth=True)
    assert served == [("app", "0.0.0.0", None)]
    assert "WARNING: the web UI is bound to 0.0.0.0 without a login" in capsys.readouterr().err
    ui_app.launch(Settings(data_dir=tmp_path, host="0.0.0.0", auth=SecretStr("u:p")))
    assert served[-1] == ("app", "0.0.0.0", [("u", "p")])
    with pytest.raises(AuthError):
        ui_app.launch(Settings(data_dir=tmp_path, host="10.0.0.1"))
    assert len(served) == 2

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecodata.cli import cli
from ecodata.errors import ConfigError, PricingError
from ecodata.fx import load_rates
from ecodata.pricing import load_sessions, read_json
from ecodata.settings import Secret, Settings


def test_env_then_overrides() -> None:
    env = {"ECODATA_BASE_URL": "http://127.0.0.1:1", "ECODATA_DATA_DIR": "/tmp/x", "ECODATA_TOKEN": " s3cret\n"}
    settings = Settings.from_env(env, data_dir="/tmp/y", base_url=None)
    assert settings.base_url == "http://127.0.0.1:1"
    assert settings.data_dir == Path("/tmp/y")
    assert settings.token == Secret("s3cret")


def test_token_never_shows() -> None:
    settings = Settings.from_env({"ECODATA_TOKEN": "very-secret-token"})
    assert "very-secret-token" not in repr(settings)
    assert "very-secret-token" not in str(settings.token)
    assert settings.require_token().reveal() == "very-secret-token"


def test_token_file(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("abc123\n")
    settings = Settings.from_env({"ECODATA_TOKEN_FILE": str(tmp_path / "tok")})
    assert settings.require_token().reveal() == "abc123"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ECODATA_CONCURRENCY": "0"}, "at least 1"),
        ({"ECODATA_CONCURRENCY": "many"}, "whole number"),
        ({"ECODATA_BASE_URL": "ftp://x"}, "http://"),
        ({"ECODATA_TOKEN_FILE": "/nonexistent/token"}, "cannot read the token file"),
    ],
)
def test_invalid_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_missing_token_says_what_to_do() -> None:
    with pytest.raises(ConfigError, match="ECODATA_TOKEN"):
        Settings.from_env({}).require_token()


@pytest.mark.parametrize("content", [b"\xff\xfe rates", None])
@pytest.mark.parametrize(
    ("read", "what", "error"),
    [
        (lambda p: Settings.from_env({"ECODATA_TOKEN_FILE": str(p)}), "token", ConfigError),
        (load_rates, "FX rates", ConfigError),
        (load_sessions, "sessions", ConfigError),
        (lambda p: read_json(p, "tariff"), "tariff", PricingError),
    ],
    ids=["token", "fx", "sessions", "tariff"],
)
def test_unreadable_user_files_are_one_clear_error(tmp_path: Path, read: Any, what: str, error: type,
                                                   content: bytes | None) -> None:
    path = tmp_path / "file"
    if content is None:
        path.mkdir()
        reason = "Is a directory"
    else:
        path.write_bytes(content)
        reason = "not UTF-8 text (byte 0)"
    with pytest.raises(error) as info:
        read(path)
    assert str(info.value) == f"cannot read the {what} file {path}: {reason}"


def test_price_command_with_a_binary_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_bytes(b"\xff\xfe")
    result = CliRunner().invoke(cli, ["price", "--tariff", str(tmp_path / "t.json"), "--cdr", str(tmp_path / "t.json")])
    assert (result.exit_code, result.output) == (
        8, f"ecodata: error: cannot read the tariff file {tmp_path / 't.json'}: not UTF-8 text (byte 0)\n")


def test_no_ecodata_variable_reaches_a_test() -> None:
    import os

    assert sorted(n for n in os.environ if n.startswith("ECODATA_")) == []

from pathlib import Path

import pytest

from ecodata.errors import ConfigError
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

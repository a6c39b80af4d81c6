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
        ({"ECODATA_CONCURRENCY": "many"}, "whole number"),
        ({"ECODATA_BASE_URL": "ftp://x"}, "http://"),
        ({"ECODATA_TOKEN_FILE": "/nonexistent/token"}, "cannot read the token file"),
    ],
)
def test_invalid_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_a_concurrency_below_one_is_refused_where_requests_are_made() -> None:
    settings = Settings.from_env({"ECODATA_CONCURRENCY": "0"})  # snapshots, sql, views... need none
    with pytest.raises(ConfigError, match="concurrency must be at least 1, got 0"):
        settings.require_concurrency()


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


# --- settings mistakes on the command line: one line, the README's exit code, no traceback ------


def run_cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    base = {"ECODATA_TOKEN": "", "ECODATA_TOKEN_FILE": "", "ECODATA_DATA_DIR": "", "ECODATA_CONCURRENCY": "",
            "ECODATA_BASE_URL": "http://127.0.0.1:9", "ECODATA_LOCK_TIMEOUT": "", "CI": "1"}
    return CliRunner().invoke(cli, args, env={**base, **(env or {})})


def one_error_line(result: Any) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("ecodata: error: ")
    return lines[0]


@pytest.mark.parametrize("token", ["abö-123", "ab\u201dc", "ab\x07c"])
def test_a_token_file_that_cannot_be_sent_is_one_line_without_the_token(tmp_path: Path, token: str) -> None:
    (tmp_path / "tok").write_text(token + "\n", encoding="utf-8")
    result = run_cli(["--token-file", str(tmp_path / "tok"), "--data-dir", str(tmp_path / "d"), "fetch"])
    line = one_error_line(result)
    assert result.exit_code == 2
    assert token not in line
    assert token[:3] not in line
    assert f"the API token from the token file {tmp_path / 'tok'} has a" in line
    assert "character at position 3 (of" in line


def test_a_non_ascii_token_in_the_environment_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError, match="ECODATA_TOKEN has a non-ASCII character at position 2 ") as info:
        Settings.from_env({"ECODATA_TOKEN": "xÿz-secret"})
    assert "secret" not in str(info.value)


def test_a_token_file_saved_with_a_byte_order_mark_works(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("\ufeffabc123\n", encoding="utf-8")
    assert Settings.from_env({"ECODATA_TOKEN_FILE": str(tmp_path / "tok")}).require_token().reveal() == "abc123"


@pytest.mark.parametrize("command", [["fetch"], ["build"], ["transform"], ["views"], ["demo"]])
def test_a_data_dir_that_is_a_file_is_one_storage_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = run_cli(["--data-dir", str(tmp_path / "file"), *command], {"ECODATA_TOKEN": "t"})
    line = one_error_line(result)
    assert "is a file, not a directory" in line or "does not exist" in line, line
    assert result.exit_code in (2, 9)
    if command[0] in ("fetch", "build", "demo"):  # the writers that would create the directory
        assert result.exit_code == 9
        assert line == (f"ecodata: error: the data directory {tmp_path / 'file'} is a file, not a directory: "
                        "pass another --data-dir (or ECODATA_DATA_DIR)")


def test_a_bad_concurrency_does_not_stop_commands_that_make_no_requests(tmp_path: Path) -> None:
    result = run_cli(["--data-dir", str(tmp_path), "snapshots"], {"ECODATA_CONCURRENCY": "0"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no snapshots yet: run 'ecodata fetch'"
    fetch = run_cli(["--data-dir", str(tmp_path), "fetch"], {"ECODATA_CONCURRENCY": "0", "ECODATA_TOKEN": "t"})
    assert one_error_line(fetch).startswith("ecodata: error: concurrency must be at least 1, got 0: set ")
    assert fetch.exit_code == 2


@pytest.mark.parametrize("command", ["fetch", "build"])
@pytest.mark.parametrize(("date", "message"), [
    ("2062-07-01", "snapshot date 2062-07-01 is in the future (today is "),
    ("", "empty date: give a date as YYYY-MM-DD"),
    ("  ", "empty date: give a date as YYYY-MM-DD"),
])
def test_future_and_empty_dates_are_refused(tmp_path: Path, command: str, date: str, message: str) -> None:
    result = run_cli(["--data-dir", str(tmp_path / "d"), command, "--date", date], {"ECODATA_TOKEN": "t"})
    assert one_error_line(result).startswith(f"ecodata: error: {message}")
    assert result.exit_code == 2
    assert not (tmp_path / "d").exists()  # refused before anything is written


def test_tomorrow_is_a_valid_snapshot_date_and_the_day_after_is_not() -> None:
    import datetime as dt

    from ecodata.paths import check_snapshot_date

    today = dt.date(2026, 12, 31)
    assert check_snapshot_date(dt.date(2027, 1, 1), today=today) == dt.date(2027, 1, 1)
    with pytest.raises(ConfigError, match="snapshot date 2027-01-02 is in the future"):
        check_snapshot_date(dt.date(2027, 1, 2), today=today)


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_a_bad_lock_timeout_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="ECODATA_LOCK_TIMEOUT must be a number of seconds"):
        Settings.from_env({"ECODATA_LOCK_TIMEOUT": value})

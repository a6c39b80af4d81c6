"""Settings, built once from CLI options and ``ECODATA_*`` variables, then passed down.

Deep code never reads ``os.environ``: it receives a :class:`Settings`. The token is wrapped in
:class:`Secret` so that it cannot leak through ``repr``, logs or exception messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ecodata.errors import ConfigError, EcodataError

DEFAULT_BASE_URL = "https://api.eco-movement.com"
DEFAULT_DATA_DIR = Path("data")
ENV_PREFIX = "ECODATA_"


class Secret:
    """A string that never shows itself: ``repr``/``str`` print a mask, ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about its environment.

    Example::

        settings = Settings.from_env(data_dir="data", token="abc")
    """

    base_url: str = DEFAULT_BASE_URL
    token: Secret | None = field(default=None, repr=False)
    data_dir: Path = DEFAULT_DATA_DIR
    concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 8
    verify_tls: bool = True
    locations_version: str = "2.1.1"
    progress: bool | None = None  # None: decide from the terminal
    fx_rates_csv: Path | None = None
    sessions_toml: Path | None = None        # reference / vehicle sessions (ECODATA_SESSIONS_TOML)
    vehicles_file: Path | None = None        # vehicles table, TOML or CSV (ECODATA_VEHICLES_FILE)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``ECODATA_*`` variables, then apply explicit overrides (CLI options).

        ``None`` overrides are ignored, so CLI options that were not given fall back to the environment.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if url := env.get(ENV_PREFIX + "BASE_URL"):
            values["base_url"] = url
        if data_dir := env.get(ENV_PREFIX + "DATA_DIR"):
            values["data_dir"] = Path(data_dir)
        if token := env.get(ENV_PREFIX + "TOKEN"):
            values["token"] = Secret(token.strip())
        elif token_file := env.get(ENV_PREFIX + "TOKEN_FILE"):
            values["token"] = read_token_file(Path(token_file))
        for key in ("sessions_toml", "vehicles_file"):
            if file := env.get(ENV_PREFIX + key.upper()):
                values[key] = Path(file)
        if conc := env.get(ENV_PREFIX + "CONCURRENCY"):
            values["concurrency"] = _positive_int(conc, ENV_PREFIX + "CONCURRENCY")
        if env.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            values["progress"] = False  # CI logs: no progress bars, even on a pseudo-terminal
        for key, value in overrides.items():
            if value is None:
                continue
            if key == "token" and isinstance(value, str):
                value = Secret(value.strip())
            if key in ("data_dir", "fx_rates_csv", "sessions_toml", "vehicles_file"):
                value = Path(value)
            values[key] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def validate(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.locations_version not in ("2.1.1", "2.2"):
            raise ConfigError(f"locations version must be 2.1.1 or 2.2, got {self.locations_version!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://, got {self.base_url!r}")

    def require_token(self) -> Secret:
        """The token, or a ConfigError that says how to provide one."""
        if not self.token:
            raise ConfigError(
                "no API token: set ECODATA_TOKEN (or ECODATA_TOKEN_FILE) or pass --token-file"
            )
        return self.token


def read_text_file(path: Path, what: str, error: type[EcodataError] = ConfigError) -> str:
    """The UTF-8 text of a file the user named, or one ``error`` line: which file and why not.

    Example: ``read_text_file(Path("rates.csv"), "FX rates")``.
    """
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte {exc.start})"
    raise error(f"cannot read the {what} file {path}: {reason}") from None


def read_packaged_or_file(package: str, name: str, path: Path | None, what: str) -> tuple[str, str]:
    """(text, source) of the user's file at ``path``, or of the file ``name`` shipped in ``package``.

    ``source`` names where the text came from, for error messages.
    """
    if path is None:
        from importlib import resources

        return resources.files(package).joinpath(name).read_text(encoding="utf-8"), f"the shipped {name}"
    return read_text_file(Path(path), what), str(path)


def read_token_file(path: Path) -> Secret:
    """Read a token from a file (first line, stripped) without ever echoing it."""
    text = read_text_file(path, "token")
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise ConfigError(f"the token file {path} is empty")
    return Secret(token)


def _positive_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value

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
DEFAULT_LOCK_TIMEOUT_S = 600.0
ENV_PREFIX = "ECODATA_"
TARIFFS_VERSIONS = ("2.1.1", "2.3.0")


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
    tariffs_version: str = "2.1.1"           # OCPI flavour of the tariffs endpoint: 2.1.1 or 2.3.0
    progress: bool | None = None  # None: decide from the terminal
    fx_rates_csv: Path | None = None
    sessions_toml: Path | None = None        # reference / vehicle sessions (ECODATA_SESSIONS_TOML)
    vehicles_file: Path | None = None        # vehicles table, TOML or CSV (ECODATA_VEHICLES_FILE)
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S  # how long a writer waits for another one

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
            values["token"] = make_token(token, "ECODATA_TOKEN")
        elif token_file := env.get(ENV_PREFIX + "TOKEN_FILE"):
            values["token"] = read_token_file(Path(token_file))
        for key in ("sessions_toml", "vehicles_file"):
            if file := env.get(ENV_PREFIX + key.upper()):
                values[key] = Path(file)
        if conc := env.get(ENV_PREFIX + "CONCURRENCY"):
            # Checked by require_concurrency() where requests are made: a bad value must not
            # stop commands that make none (snapshots, sql, views...).
            values["concurrency"] = _whole_number(conc, ENV_PREFIX + "CONCURRENCY")
        if (wait := env.get(ENV_PREFIX + "LOCK_TIMEOUT", "").strip()):
            values["lock_timeout_s"] = _seconds(wait, ENV_PREFIX + "LOCK_TIMEOUT")
        if env.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            values["progress"] = False  # CI logs: no progress bars, even on a pseudo-terminal
        for key, value in overrides.items():
            if value is None:
                continue
            if key == "token" and isinstance(value, str):
                value = make_token(value, "the token option")
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
        """Checks every command needs; :meth:`require_token`/:meth:`require_concurrency` check the rest."""
        if self.lock_timeout_s < 0:
            raise ConfigError(f"lock timeout must be 0 seconds or more, got {self.lock_timeout_s}")
        if self.locations_version not in ("2.1.1", "2.2"):
            raise ConfigError(f"locations version must be 2.1.1 or 2.2, got {self.locations_version!r}")
        if self.tariffs_version not in TARIFFS_VERSIONS:
            raise ConfigError(f"tariffs version must be 2.1.1 or 2.3.0, got {self.tariffs_version!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://, got {self.base_url!r}")

    def require_token(self) -> Secret:
        """The token, or a ConfigError that says how to provide one."""
        if not self.token:
            raise ConfigError(
                "no API token: set ECODATA_TOKEN (or ECODATA_TOKEN_FILE) or pass --token-file"
            )
        return self.token

    def require_concurrency(self) -> int:
        """The requests in flight at once, or a ConfigError when it is below 1 (for the fetch)."""
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency}: set "
                              "ECODATA_CONCURRENCY or --concurrency to 1 or more (default 4)")
        return self.concurrency


def make_token(value: str, source: str) -> Secret:
    """``value`` stripped, as a Secret; a ConfigError without the token when it cannot be sent.

    HTTP headers carry ASCII only: a token with other characters (a typo, a smart quote) would fail deep in the HTTP client with a traceback. ``source`` names where the token came from, for the message.
    """
    token = value.strip().removeprefix("\ufeff").strip()
    for position, char in enumerate(token, start=1):
        if not " " <= char <= "~":
            kind = "a control character" if char.isascii() else "a non-ASCII character"
            raise ConfigError(f"the API token from {source} has {kind} at position {position} "
                              f"(of {len(token)}); API tokens are plain ASCII: copy the token again")
    return Secret(token)


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
    text = read_text_file(path, "token").removeprefix("\ufeff")
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise ConfigError(f"the token file {path} is empty")
    return make_token(token, f"the token file {path}")


def _whole_number(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a number of seconds (0 or more), got {text!r}")
    return value

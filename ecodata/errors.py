"""One exception tree for ecodata.

Every error the library raises on purpose derives from :class:`EcodataError`; the CLI catches
that one class, prints ``str(error)`` as a single line and exits with ``error.exit_code``.
Messages say what failed, why, and what to do. They never contain the API token.

    EcodataError
    ├── ConfigError            bad settings or arguments (missing token, bad date, bad file)
    ├── FetchError             talking to the API failed
    │   ├── AuthError          401/403: the token was refused (never retried)
    │   ├── ApiStatusError     an OCPI status_code other than 1000 that is not retryable
    │   ├── PaginationError    the server's paging is inconsistent (repeated cursor, drift...)
    │   └── RetryExhausted     a retryable failure persisted past the retry budget
    ├── SnapshotError          a raw snapshot is missing, incomplete or corrupt
    │   └── SnapshotDamagedError  a committed snapshot differs from what its manifest promises
    ├── ValidationError        data does not fit a table's schema or keys ("data is wrong")
    ├── ViewError              DuckDB views cannot be created or queried
    ├── PricingError           a tariff or session cannot be priced
    ├── StorageError           the data directory cannot be written (disk full, permissions, not a directory)
    └── BusyError              another ecodata process is writing to the same data directory
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a one-line
    error quotes from a library's multi-line one."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class EcodataError(Exception):
    """Base of every error ecodata raises deliberately."""

    exit_code = 1


class ConfigError(EcodataError):
    """Settings, options or input files are invalid."""

    exit_code = 2


class FetchError(EcodataError):
    """Downloading from the API failed."""

    exit_code = 3


class AuthError(FetchError):
    """The API refused the token (HTTP 401/403)."""

    exit_code = 4


class ApiStatusError(FetchError):
    """The API answered with an OCPI error status (e.g. 2001 invalid parameters).

    Example: ``ApiStatusError(2001, "limit must be between 1 and 1000", url=...)``.
    """

    def __init__(self, status_code: int, status_message: str, *, http_status: int | None = None,
                 url: str | None = None) -> None:
        self.status_code = status_code
        self.status_message = status_message
        self.http_status = http_status
        self.url = url
        where = f" for {url}" if url else ""
        http = f"HTTP {http_status}, " if http_status is not None else ""
        super().__init__(f"the API answered {http}OCPI status {status_code}{where}: {status_message}")


class PaginationError(FetchError):
    """The server's pagination is inconsistent in a way the client cannot recover from."""


class RetryExhausted(FetchError):
    """A transient failure (429, 5xx, timeout, broken body) persisted after every retry."""


class SnapshotError(EcodataError):
    """A raw snapshot is missing, incomplete or corrupt."""

    exit_code = 5


class SnapshotDamagedError(SnapshotError):
    """A committed raw snapshot's files differ from its manifest (garbled, truncated, extra, missing).

    ``problem`` says what is wrong without the advice, so a caller with its own way of getting
    the data again (the demo) can give its own; ``str()`` adds the fetch command to run.
    """

    def __init__(self, endpoint: str, date: object, problem: str) -> None:
        self.endpoint = endpoint
        self.date = date
        self.problem = problem
        super().__init__(f"{problem}: download it again with "
                         f"'ecodata fetch --endpoint {endpoint} --date {date} --force'")


class ValidationError(EcodataError):
    """Data does not fit a declared schema or key ("the data is wrong", not the code)."""

    exit_code = 6


class ViewError(EcodataError):
    """The DuckDB views cannot be created or a query against them failed."""

    exit_code = 7


class PricingError(EcodataError):
    """A tariff, price record or session cannot be priced."""

    exit_code = 8


class StorageError(EcodataError):
    """The data directory cannot be read or written: disk full, permission denied, not a directory.

    Raised for operating-system failures while writing snapshots, tables or views, after whatever
    was half-written has been removed.
    """

    exit_code = 9


class BusyError(EcodataError):
    """Another ecodata process holds the data directory's write lock."""

    exit_code = 10

"""Operating-system failures while writing the data directory, as one :class:`StorageError` line.

A full disk (or a read-only one, or a quota) reaches ecodata in three disguises: an ``OSError``
from Python's own writes, a polars ``ComputeError`` ("underlying IO error: No space left on
device (os error 28)") from the Parquet sink, and a DuckDB ``IOException`` or "Failed to commit"
error from the view file. :func:`storage_failure` recognises all three; :func:`storage_errors`
turns them into a StorageError that says what could not be written and what to do. Whoever writes
removes its half-written file first (see ``tables.write`` and ``sql.write_views``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ecodata.errors import EcodataError, StorageError

# errno values that mean "this directory cannot take the write", with the words the libraries use.
_ERRNOS = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded",
           errno.EROFS: "Read-only file system", errno.EACCES: "Permission denied",
           errno.EPERM: "Operation not permitted", errno.EFBIG: "File too large"}
_OS_ERROR = re.compile(r"os error (\d+)|\[Errno (\d+)\]")


def storage_failure(exc: BaseException) -> str | None:
    """The operating system's reason (e.g. "No space left on device") when ``exc`` is a failed
    write to storage, else None. Works for OSError, polars and DuckDB errors alike."""
    if isinstance(exc, EcodataError):
        return None
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.strerror or _ERRNOS.get(exc.errno) or str(exc)
    text = str(exc)
    for reason in _ERRNOS.values():
        if reason in text:
            return reason
    match = _OS_ERROR.search(text)
    if match:
        code = int(match.group(1) or match.group(2))
        if code in _ERRNOS:
            return _ERRNOS[code]
    return None


# below this much free space, a failed or unreadable write is taken for a full disk
_NEARLY_FULL = 4 << 20


def _nearly_full(folder: Path) -> bool:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize < _NEARLY_FULL


@contextlib.contextmanager
def parquet_write(file: Path) -> Iterator[None]:
    """Around a polars Parquet write of ``file``: a polars error that names no OS reason while the disk
    is (nearly) full becomes the ENOSPC it stands for. polars reports a full disk met while it
    writes a footer as "Invalid thrift: transport error" (found with a real 8 MB tmpfs: ``build``
    exited 1 with that line instead of the one-line storage error)."""
    try:
        yield
    except Exception as exc:
        from_polars = type(exc).__module__.startswith("polars")
        if from_polars and storage_failure(exc) is None and _nearly_full(file.parent):
            raise OSError(errno.ENOSPC, _ERRNOS[errno.ENOSPC], str(file)) from exc
        raise


def check_written(file: Path, rows: int | None) -> None:
    """Read back the footer of a Parquet file just written and check its row count (if given), so
    a write that returned without writing everything (its error lost) is not recorded as done.
    A file that does not read back raises the OSError the write should have: ENOSPC when the disk
    is (nearly) full, else EIO."""
    import pyarrow.parquet as pq

    try:
        found: int | None = pq.read_metadata(file).num_rows
    except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
        found = None
    if found is not None and rows in (None, found):
        return
    if _nearly_full(file.parent):
        raise OSError(errno.ENOSPC, _ERRNOS[errno.ENOSPC], str(file))
    raise OSError(errno.EIO, f"{file.name} was written but does not read back "
                             f"({'unreadable' if found is None else f'{found} of {rows} rows'})", str(file))


@contextlib.contextmanager
def storage_errors(data_dir: Path, what: str, kept: str = "") -> Iterator[None]:
    """Turn a failed write inside the block into a StorageError naming ``what`` and ``data_dir``.

    ``kept`` says what stays usable (e.g. "the raw snapshot of 2026-06-01 is committed").
    Example: ``with storage_errors(paths.root, "the tables of 2026-06-01"): write(...)``.
    """
    try:
        yield
    except Exception as exc:
        reason = storage_failure(exc)
        if reason is None:
            raise
        raise StorageError(storage_message(data_dir, what, reason, kept)) from None


def storage_message(data_dir: Path, what: str, reason: str, kept: str = "") -> str:
    """The one line of a failed write: what, where, why, what stays usable, what to do."""
    full = reason in (_ERRNOS[errno.ENOSPC], _ERRNOS[errno.EDQUOT], _ERRNOS[errno.EFBIG])
    todo = "free some space there" if full else f"make {data_dir} writable"
    after = f"; {kept}" if kept else ""
    return f"cannot write {what} in {data_dir}: {reason}{after}; {todo} and run the command again"

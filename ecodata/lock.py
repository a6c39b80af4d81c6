"""One writer at a time per data directory: an advisory lock every writing command holds.

``fetch``, ``transform``, ``views``, ``build`` and ``demo`` (and their library entry points) hold
``<data>/ecodata.lock`` with :func:`data_dir_lock` for as long as they write. A second writer waits
up to ``timeout_s`` (saying once that it waits, and for whom), then raises :class:`BusyError`
naming the process and command that hold the lock. Readers take no lock: every file they read is
replaced atomically (a rename), so they see the old or the new version, never half of one.

The lock is an ``flock`` on the file, so the kernel releases it when the holder ends, even by
SIGKILL: a killed run never blocks the next one. The holder removes the file before it lets go
(a writer that locked a removed file notices and opens the new one, as ``snapshot.writer``'s
per-endpoint lock does), so a finished run leaves nothing behind; the file holds the holder's
pid, command and start time, for the messages of those who wait. The lock is re-entrant within a thread (``build`` holds it and calls ``fetch`` and
``transform``, which take it again); another thread of the same process waits like another process.
Where ``fcntl`` is missing (Windows) writers are not locked against each other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ecodata.errors import BusyError, ConfigError, StorageError
from ecodata.paths import DataPaths
from ecodata.settings import DEFAULT_LOCK_TIMEOUT_S

DEFAULT_TIMEOUT_S = DEFAULT_LOCK_TIMEOUT_S
_POLL_S = 0.1
_REMIND_S = 60.0  # a waiting writer says again that it still waits, at least once a minute


@dataclass
class _Held:
    handle: IO[bytes]
    thread: int
    depth: int


_held: dict[Path, _Held] = {}
_held_guard = threading.Lock()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def data_dir_lock(paths: DataPaths, command: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, create: bool = False,
                  notify: Callable[[str], None] = _say) -> Iterator[None]:
    """Hold the write lock of the data directory ``paths.root`` while the block runs.

    ``command`` names the holder in other writers' messages (e.g. ``"build"``). ``create`` makes a
    missing data directory (fetch, build, demo); otherwise a missing one is a ConfigError (a
    mistyped ``--data-dir`` for transform or views is an error, not a new directory). ``notify``
    gets the "waiting" lines (default: stderr).

    Example::

        with data_dir_lock(DataPaths(Path("data")), "transform", timeout_s=60):
            ...  # write tables and views
    """
    key = _lock_path(paths, create)
    me = threading.get_ident()
    with _held_guard:
        held = _held.get(key)
        if held is not None and held.thread == me:
            held.depth += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key].depth -= 1
        return
    handle = _acquire(paths, key, command, timeout_s, notify)
    with _held_guard:
        _held[key] = _Held(handle, me, 1)
    try:
        yield
    finally:
        with _held_guard:
            del _held[key]
        with contextlib.suppress(OSError):
            key.unlink()  # while still holding the lock, so nobody locks the old file after us
        handle.close()  # closing the descriptor releases the flock


def _lock_path(paths: DataPaths, create: bool) -> Path:
    root = paths.root
    if not create and not root.exists():
        raise ConfigError(f"data directory {root} does not exist: run 'ecodata build' first "
                          "or pass the right --data-dir")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StorageError(f"the data directory {root} is a file, not a directory: "
                           "pass another --data-dir (or ECODATA_DATA_DIR)") from None
    except OSError as exc:
        raise StorageError(f"cannot create the data directory {root}: {exc.strerror or exc}") from None
    return paths.lock_path.resolve()


def _acquire(paths: DataPaths, key: Path, command: str, timeout_s: float,
             notify: Callable[[str], None]) -> IO[bytes]:
    started = time.monotonic()
    reminded: float | None = None
    while True:
        handle = _open(paths, key)
        if fcntl is None:  # pragma: no cover - Windows
            return handle
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
        except OSError as exc:
            handle.close()
            raise StorageError(f"cannot lock {key}: {exc.strerror or exc}") from None
        else:
            if _same_file(handle, key):
                break
            handle.close()  # the holder removed the file between our open and our lock: open it again
            continue
        waited = time.monotonic() - started
        if waited >= timeout_s:
            raise BusyError(
                f"the data directory {paths.root} is being written by {_holder(key)}; gave up after "
                f"{waited:.1f} s: wait for it to finish, or give a longer --lock-timeout "
                "(ECODATA_LOCK_TIMEOUT, seconds)"
            )
        if reminded is None or time.monotonic() - reminded >= _REMIND_S:
            notify(f"ecodata: waiting for {_holder(key)} to finish writing {paths.root} "
                   f"(up to {timeout_s:g} s, --lock-timeout)")
            reminded = time.monotonic()
        time.sleep(min(_POLL_S, max(0.0, timeout_s - waited)))
    _record_holder(handle, command)
    return handle


def _open(paths: DataPaths, key: Path) -> IO[bytes]:
    try:
        return open(key, "a+b")  # held open (by the caller) while the lock is held
    except NotADirectoryError:
        raise StorageError(f"the data directory {paths.root} is a file, not a directory: "
                           "pass another --data-dir (or ECODATA_DATA_DIR)") from None
    except OSError as exc:
        raise StorageError(f"cannot open the lock file {key}: {exc.strerror or exc}") from None


def _same_file(handle: IO[bytes], key: Path) -> bool:
    """Whether the locked descriptor is still the file at ``key`` (not one removed meanwhile)."""
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(key).st_ino
    except FileNotFoundError:
        return False


def _record_holder(handle: IO[bytes], command: str) -> None:
    """Write who holds the lock into the lock file (for the messages of waiting writers)."""
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    text = f"pid {os.getpid()} on {socket.gethostname()}, 'ecodata {command}', since {since}\n"
    with contextlib.suppress(OSError):  # the lock is what matters; the note is a courtesy
        handle.seek(0)
        handle.truncate()
        handle.write(text.encode())
        handle.flush()


def _holder(key: Path) -> str:
    """Who holds the lock, as its holder wrote it (``another ecodata process`` if unknown)."""
    try:
        text = key.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return f"another ecodata process ({text})" if text else "another ecodata process"

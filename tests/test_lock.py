"""One writer at a time per data directory, tested with real processes (flock is per process)."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ecodata.errors import BusyError, ConfigError
from ecodata.lock import data_dir_lock
from ecodata.paths import DataPaths
from ecodata.settings import Settings
from ecodata.sql import connect

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX only")

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ecodata.lock import data_dir_lock
    from ecodata.paths import DataPaths
    data, ready, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    with data_dir_lock(DataPaths(data), "build", timeout_s=0):
        ready.write_text("locked")
        time.sleep(seconds)
""")


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ECODATA_")}
    return {**clean, "CI": "1"}


def hold(data: Path, tmp_path: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Start a process that holds the data directory's lock for ``seconds``, once it holds it."""
    ready = tmp_path / f"ready-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(data), str(ready), str(seconds)], env=env())
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None, "the lock holder died"
        assert time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.05)
    return proc


def ecodata(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecodata.cli", *args], capture_output=True, text=True,
                          env=env(), timeout=120, check=False)


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """A data directory whose lock another process holds for the whole module."""
    tmp_path = tmp_path_factory.mktemp("held")
    data = tmp_path / "data"
    data.mkdir()
    holder = hold(data, tmp_path, 300)
    yield data, holder.pid
    holder.kill()
    holder.wait()


@pytest.mark.parametrize("command", [["views"], ["build", "--date", "2026-04-01"]])
def test_a_second_writer_gives_up_after_the_timeout_naming_the_holder(held, command):
    data, pid = held
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "ecodata.cli", "--data-dir", str(data), "--lock-timeout", "0.5", *command],
        capture_output=True, text=True, env={**env(), "ECODATA_TOKEN": "t", "ECODATA_BASE_URL": "http://127.0.0.1:9"},
        timeout=120, check=False)
    waited = time.monotonic() - started
    assert result.returncode == 10, result.stderr
    lines = result.stderr.strip().splitlines()
    holder_text = rf"another ecodata process \(pid {pid} on [^,]+, 'ecodata build', since [0-9T:-]+Z\)"
    assert re.fullmatch(rf"ecodata: waiting for {holder_text} to finish writing {re.escape(str(data))} "
                        r"\(up to 0.5 s, --lock-timeout\)", lines[0]), lines[0]
    assert re.fullmatch(rf"ecodata: error: the data directory {re.escape(str(data))} is being written by "
                        rf"{holder_text}; gave up after 0.[5-9] s: wait for it to finish, or give a longer "
                        r"--lock-timeout \(ECODATA_LOCK_TIMEOUT, seconds\)", lines[-1]), lines[-1]
    assert len(lines) == 2, result.stderr
    assert waited < 60
    assert sorted(p.name for p in data.iterdir()) == ["ecodata.lock"]  # nothing written


def _fetch(settings):
    from ecodata.fetch import run_fetch

    run_fetch(settings, ["prices"], dt.date(2026, 4, 1))


def _transform(settings):
    from ecodata.pipeline import transform_date

    transform_date(settings, dt.date(2026, 4, 1))


def _build(settings):
    from ecodata.pipeline import build_dataset

    build_dataset(settings, dt.date(2026, 4, 1))


def _demo(settings):
    from ecodata.demo import run_demo

    run_demo(settings, progress=False)


def _views(settings):
    from ecodata.sql import write_views

    write_views(DataPaths(settings.data_dir), lock_timeout_s=settings.lock_timeout_s)


@pytest.mark.parametrize("write", [_fetch, _transform, _build, _demo, _views])
def test_every_writing_library_entry_point_holds_the_lock(held, write):
    data, pid = held
    settings = Settings.from_env({}, data_dir=data, token="t", base_url="http://127.0.0.1:9", lock_timeout_s=0)
    with pytest.raises(BusyError, match=rf"being written by another ecodata process \(pid {pid} on "):
        write(settings)
    assert sorted(p.name for p in data.iterdir()) == ["ecodata.lock"]


def test_a_second_writer_waits_and_then_writes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    holder = hold(data, tmp_path, 120)
    waiter = subprocess.Popen([sys.executable, "-m", "ecodata.cli", "--data-dir", str(data), "--lock-timeout", "120",
                               "views"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert waiter.stderr is not None
    first = waiter.stderr.readline()  # blocks until the waiter says it waits
    holder.kill()
    holder.wait()
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert first.startswith(f"ecodata: waiting for another ecodata process (pid {holder.pid} on ")
    assert out.strip().endswith(f"views written to {data / 'ecodata.duckdb'}")


def test_a_killed_holder_does_not_block_the_next_writer(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    holder = hold(data, tmp_path, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with data_dir_lock(DataPaths(data), "views", timeout_s=0):
        pass


def test_the_lock_is_reentrant_in_one_thread_and_exclusive_across_processes(tmp_path):
    paths = DataPaths(tmp_path)
    with data_dir_lock(paths, "build", timeout_s=0), data_dir_lock(paths, "fetch", timeout_s=0):
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; from ecodata.lock import data_dir_lock;"
             "from ecodata.paths import DataPaths\n"
             "with data_dir_lock(DataPaths(Path(sys.argv[1])), 'views', timeout_s=0): pass", str(tmp_path)],
            capture_output=True, text=True, env=env(), timeout=60, check=False)
        assert probe.returncode == 1
        assert "BusyError: the data directory" in probe.stderr
        assert "'ecodata build', since " in probe.stderr
    with data_dir_lock(paths, "views", timeout_s=0):  # released by the outer block
        pass


def test_the_library_raises_busy_error(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    holder = hold(data, tmp_path, 60)
    notes: list[str] = []
    try:
        with pytest.raises(BusyError, match=f"pid {holder.pid} "), \
                data_dir_lock(DataPaths(data), "views", timeout_s=0.3, notify=notes.append):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert len(notes) == 1
    assert notes[0].startswith("ecodata: waiting for another ecodata process")


def test_transform_and_views_do_not_create_a_missing_data_directory(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"), data_dir_lock(DataPaths(tmp_path / "nope"), "views"):
        pass
    assert not (tmp_path / "nope").exists()


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ecodata.paths import DataPaths
    from ecodata.sql import write_views
    for _ in range(int(sys.argv[2])):
        write_views(DataPaths(Path(sys.argv[1])))
""")


def test_concurrent_views_writers_and_a_reader_never_meet_a_half_written_file(tmp_path):
    """Two processes rewrite the views over and over while this one reads them: every run and
    every read succeeds (main: FileNotFoundError on ecodata.duckdb.tmp in about half the runs)."""
    data = tmp_path / "data"
    data.mkdir()
    paths = DataPaths(data)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(data), "2"], env=env(),
                                stderr=subprocess.PIPE) for _ in range(2)]
    reads = 0
    while any(w.poll() is None for w in writers):
        if paths.duckdb_path.exists():
            con = connect(paths)
            try:
                assert con.execute("SELECT count(*) FROM fx_rates").fetchone()[0] > 0
            finally:
                con.close()
            reads += 1
        time.sleep(0.05)
    errors = [w.stderr.read().decode() for w in writers if w.stderr is not None]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert reads > 0
    assert sorted(p.name for p in data.iterdir()) == ["ecodata.duckdb"]  # the lock file goes with its last holder

"""Write a raw snapshot: staging with a checkpoint per page, dedupe, atomic commit, manifest.

Layout of an unfinished run (``paths.raw_staging(endpoint, date)``)::

    _run.json                 run id, start time, the parameters a resume must match
    pages/page-000042.parquet the page's rows (RAW_SCHEMA), written via a temporary name
    pages/page-000042.json    the page's checkpoint, written after its Parquet file
    final/                    assembled at commit: part-NNNNN.parquet (hard links) + _manifest.json

A page counts as stored when its checkpoint exists, so a run killed at any moment loses at most
the pages that were in flight. (Pages are not fsynced, for speed: that covers a killed process;
after a power cut, ``ecodata fetch --force`` is the safe choice. The manifest is fsynced.) :meth:`StagedSnapshot.commit` drops earlier copies of duplicated
natural keys, links the pages into ``final/`` in crawl order, writes ``_manifest.json`` there as
the last file, then renames ``final/`` to the partition in one step: readers see either nothing
or the complete snapshot.
"""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import hashlib
import itertools
import os
import shutil
import threading
import uuid

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ecodata.errors import SnapshotError
from ecodata.paths import MANIFEST_NAME, DataPaths, part_name
from ecodata.snapshot.manifest import Manifest, ManifestFile, load_manifest, write_json_atomic

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow (and polars, for a dedupe) are imported where they are used: ``ecodata fetch`` sends its
# first request before they are loaded, and the worker thread storing the first page loads pyarrow
# while the next pages download. A crawl without duplicates never loads polars.

RUN_FILE = "_run.json"
PAGES_DIR = "pages"
FINAL_DIR = "final"
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": False,  # the URL and version repeat on every row, and zstd makes them nearly free anyway
    "write_statistics": ["page", "page_index", "fetched_at"],
}


@dataclass(frozen=True)
class PageCheckpoint:
    """What was stored for one page (the page's ``.json`` sidecar)."""

    number: int
    params: dict[str, str]
    url: str
    fetched_at: str
    records: int
    body_bytes: int
    total_count: int | None
    link_next: str | None
    last_record: str | None
    retries: int
    file: str | None
    file_bytes: int
    sha256: str
    # what the offset crawl's coverage check needs (see fetch._coverage); None in older checkpoints
    lead_key: str | None = None  # key of the overlap record served first and not stored (offset pages >= 1)
    first_key: str | None = None  # first and last stored record keys
    last_key: str | None = None
    full: bool | None = None  # the page came back with as many records as it could hold
    lead_hash: str | None = None  # BLAKE2b-64 of the lead record and of the last stored record: a resume
    last_hash: str | None = None  # compares them to tell whether the data changed while it was interrupted


@dataclass(frozen=True)
class RunInfo:
    """The ``_run.json`` of a staging area; a resume continues it only if the parameters match."""

    run_id: str
    endpoint: str
    api_version: str
    base_url: str
    request_path: str
    pagination: str
    page_limit: int
    started_at: str
    attempts: int = 1
    layout: str = ""  # how pages are laid out (offset pages overlap by one record since "overlap-1")

    def same_crawl(self, other: RunInfo) -> bool:
        return (self.endpoint, self.api_version, self.base_url, self.request_path, self.pagination,
                self.page_limit, self.layout) == (other.endpoint, other.api_version, other.base_url,
                                                  other.request_path, other.pagination, other.page_limit,
                                                  other.layout)


def page_table(records: Sequence[bytes], keys: list[str], *, page: int, url: str, fetched_at: dt.datetime,
               api_version: str) -> pa.Table:
    """The raw rows of one page (RAW_SCHEMA) from each record's JSON and natural key.

    ``records`` may hold any bytes-like objects with ``len()`` (the fetcher passes slices of the
    page body); they are copied into the table.
    """
    import pyarrow as pa

    from ecodata.snapshot.schema import RAW_SCHEMA

    n = len(records)
    micros = (fetched_at - _EPOCH) // dt.timedelta(microseconds=1)
    fetched = array.array("q", [micros]) * n
    return pa.Table.from_arrays(
        [
            _binary_array(records, pa.large_string(), "q"),
            _string_array(keys),
            _int32_array(array.array("i", [page]) * n),
            _int32_array(range(n)),
            _repeated_string(url, n),
            pa.Array.from_buffers(pa.timestamp("us", tz="UTC"), n, [None, pa.py_buffer(fetched)]),
            _repeated_string(api_version, n),
        ],
        schema=RAW_SCHEMA,
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# Arrays are built from raw buffers rather than with pa.array()/pa.scalar(): faster, and those make
# pyarrow import pandas (when it is installed), which costs over a second per process.
def _binary_array(items: Sequence[bytes], arrow_type: pa.DataType, offset_code: str) -> pa.Array:
    """A (large_)string array from UTF-8 byte strings; ``offset_code`` "i" (int32) or "q" (int64)."""
    import pyarrow as pa

    offsets = array.array(offset_code, itertools.accumulate(map(len, items), initial=0))
    data = b"".join(items)
    return pa.Array.from_buffers(arrow_type, len(items), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _string_array(items: list[str]) -> pa.Array:
    """A string array from Python strings: one encode of the joined text when it is all ASCII."""
    import pyarrow as pa

    data = "".join(items).encode()
    offsets = array.array("i", itertools.accumulate(map(len, items), initial=0))
    if len(data) != offsets[-1]:  # some non-ASCII: character counts are not byte offsets
        return _binary_array([item.encode() for item in items], pa.string(), "i")
    return pa.Array.from_buffers(pa.string(), len(items), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _repeated_string(value: str, n: int) -> pa.Array:
    """A string array holding ``value`` ``n`` times."""
    import pyarrow as pa

    data = value.encode()
    width = len(data)
    offsets = array.array("i", range(0, (n + 1) * width, width)) if width else array.array("i", [0]) * (n + 1)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)])


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read one Parquet file (ParquetFile, not read_table: that imports pyarrow.dataset and pandas)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        return parquet.read(columns=columns)


def _int32_array(values: Iterable[int]) -> pa.Array:
    import pyarrow as pa

    buffer = array.array("i", values)
    return pa.Array.from_buffers(pa.int32(), len(buffer), [None, pa.py_buffer(buffer)])


def _write_parquet(table: pa.Table, path: Path, options: Mapping[str, Any] | None = None) -> tuple[int, str]:
    """Write ``table`` to ``path`` atomically (``options`` default: PARQUET_OPTIONS); return its size and SHA-256."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **(PARQUET_OPTIONS if options is None else options))
    data = sink.getvalue()
    digest = hashlib.sha256(memoryview(data)).hexdigest()
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(memoryview(data))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half file behind
        raise
    return data.size, digest


def utc_now_iso() -> str:
    """Now, UTC, ISO 8601 with milliseconds and a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StagedSnapshot:
    """The staging area of one endpoint and date; see the module docstring for its layout.

    Usage: ``staged = StagedSnapshot.open(paths, "prices", date, run)``, then
    ``staged.write_page(...)`` for every page (any thread), then ``staged.commit(...)``.
    """

    def __init__(self, paths: DataPaths, endpoint: str, date: dt.date, run: RunInfo,
                 done: dict[int, PageCheckpoint]) -> None:
        self.paths = paths
        self.endpoint = endpoint
        self.date = date
        self.run = run
        self.dir = paths.raw_staging(endpoint, date)
        self.pages_dir = self.dir / PAGES_DIR
        self.done = done
        self._init_lock = threading.Lock()

    # --- opening and resuming -------------------------------------------------------------

    @classmethod
    def open(cls, paths: DataPaths, endpoint: str, date: dt.date, run: RunInfo, *,
             fresh: bool = False) -> tuple[StagedSnapshot, str | None]:
        """Open the staging area, resuming an interrupted run with the same parameters.

        Returns the staged snapshot and a note when an earlier staging area was discarded (its
        parameters differ, e.g. another page limit) or None. ``fresh`` discards it always.
        Nothing is created on disk until the first page is written.
        """
        directory = paths.raw_staging(endpoint, date)
        note = None
        if directory.exists():
            previous = _read_run(directory / RUN_FILE)
            if fresh or previous is None or not previous.same_crawl(run):
                if not fresh:
                    note = f"discarded an unfinished {endpoint} run of {date} made with other parameters"
                shutil.rmtree(directory)
            else:
                run = RunInfo(**{**asdict(previous), "attempts": previous.attempts + 1})
                done = _read_checkpoints(directory / PAGES_DIR)
                staged = cls(paths, endpoint, date, run, done)
                staged._save_run()
                return staged, None
        return cls(paths, endpoint, date, run, {}), note

    @staticmethod
    def finish_interrupted_commit(paths: DataPaths, endpoint: str, date: dt.date) -> Manifest | None:
        """Publish a run that was killed after writing its manifest but before the final rename."""
        staging = paths.raw_staging(endpoint, date)
        final = staging / FINAL_DIR
        if not (final / MANIFEST_NAME).is_file():
            return None
        manifest = load_manifest(final / MANIFEST_NAME)
        _publish(paths, endpoint, date, final, manifest.run_id)
        return manifest

    def _save_run(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.dir / RUN_FILE, orjson.dumps(asdict(self.run)))

    # --- pages ------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the staging area and its run file (before the first page is stored). Idempotent."""
        with self._init_lock:
            if not self.pages_dir.is_dir():
                if not (self.dir / RUN_FILE).is_file():
                    self._save_run()
                self.pages_dir.mkdir(parents=True, exist_ok=True)

    def write_page(self, *, number: int, params: Mapping[str, str], url: str, fetched_at: dt.datetime,
                   records: Sequence[bytes], keys: list[str], body_bytes: int,
                   total_count: int | None, link_next: str | None, last_record: str | None,
                   retries: int) -> PageCheckpoint:
        """Store one page's rows and then its checkpoint. Safe to call from worker threads."""
        self.prepare()
        return write_page_files(
            self.pages_dir, api_version=self.run.api_version, number=number, params=params, url=url,
            fetched_at=fetched_at, records=records, keys=keys, body_bytes=body_bytes,
            total_count=total_count, link_next=link_next, last_record=last_record, retries=retries,
        )

    # --- commit -----------------------------------------------------------------------------

    def commit(self, *, pages: Iterable[int], pagination: str, concurrency: int, totals: list[int],
               warnings: list[str]) -> Manifest:
        """Dedupe, assemble ``final/``, write the manifest last, and move it into place atomically."""
        checkpoints = _read_checkpoints(self.pages_dir)
        wanted = sorted(set(pages))
        missing = [n for n in wanted if n not in checkpoints]
        if missing:
            raise SnapshotError(
                f"cannot commit {self.endpoint} {self.date}: pages {missing[:5]} were never stored; "
                "run 'ecodata fetch' again"
            )
        chosen = [checkpoints[n] for n in wanted]
        chosen = [self._verify(cp) for cp in chosen]
        duplicates, chosen = self._dedupe(chosen)
        warnings = list(warnings)
        if duplicates:
            warnings.append(
                f"{duplicates} records appeared on more than one page (data moved during the crawl); "
                "kept the last copy of each"
            )
        final = self.dir / FINAL_DIR
        if final.exists():
            shutil.rmtree(final)
        final.mkdir(parents=True)
        files = []
        for index, cp in enumerate(c for c in chosen if c.file and c.records):
            name = part_name(index)
            assert cp.file is not None
            _link_or_copy(self.pages_dir / cp.file, final / name)
            files.append(ManifestFile(name=name, rows=cp.records, bytes=cp.file_bytes, sha256=cp.sha256,
                                      page=cp.number))
        records = sum(f.rows for f in files)
        received = records + duplicates
        manifest = Manifest(
            endpoint=self.endpoint, snapshot_date=self.date.isoformat(), status="complete",
            run_id=self.run.run_id, started_at=self.run.started_at, finished_at=utc_now_iso(),
            attempts=self.run.attempts, api_version=self.run.api_version, base_url=self.run.base_url,
            request_path=self.run.request_path, pagination=pagination, page_limit=self.run.page_limit,
            concurrency=concurrency, pages=len(chosen), records=records, records_received=received,
            duplicates=duplicates, bytes=sum(f.bytes for f in files),
            body_bytes=sum(cp.body_bytes for cp in chosen), totals_announced=list(totals),
            drift=bool(duplicates or len(totals) > 1 or warnings), retries=sum(cp.retries for cp in chosen),
            warnings=warnings, files=files,
        )
        write_json_atomic(final / MANIFEST_NAME, manifest.to_json())
        _publish(self.paths, self.endpoint, self.date, final, self.run.run_id)
        return manifest

    def _verify(self, cp: PageCheckpoint) -> PageCheckpoint:
        """Re-hash a page file whose size no longer matches its checkpoint (a commit cut short)."""
        import pyarrow.parquet as pq

        if not cp.file:
            return cp
        path = self.pages_dir / cp.file
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise SnapshotError(
                f"staged page {path} is missing; run 'ecodata fetch --force' to download again"
            ) from None
        if size == cp.file_bytes:
            return cp
        with pq.ParquetFile(path) as parquet:
            rows = parquet.metadata.num_rows
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        fixed = PageCheckpoint(**{**asdict(cp), "records": rows, "file_bytes": size, "sha256": digest})
        write_json_atomic(self.pages_dir / f"page-{cp.number:06d}.json", orjson.dumps(asdict(fixed)))
        return fixed

    def _dedupe(self, chosen: list[PageCheckpoint]) -> tuple[int, list[PageCheckpoint]]:
        """Drop all but the last copy (in page, then index order) of every duplicated record_key.

        Memory stays small: first an 8-byte hash per row finds candidate rows, then only the
        candidates' keys are compared exactly. A crawl without duplicates (the normal case) is told
        by one distinct count of the keys, without loading polars.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        key_chunks = [chunk for cp in chosen if cp.file for chunk in
                      _read_parquet(self.pages_dir / cp.file, ["record_key"]).column("record_key").chunks]
        if not key_chunks:
            return 0, chosen
        all_keys = pa.chunked_array(key_chunks, type=pa.string())
        if pc.count_distinct(all_keys).as_py() == len(all_keys):
            return 0, chosen
        del all_keys, key_chunks
        import polars as pl

        frames = []
        for cp in chosen:
            if not cp.file:
                continue
            cols = _read_parquet(self.pages_dir / cp.file, ["record_key", "page_index"])
            keys = pl.Series(cols.column("record_key").combine_chunks())
            frames.append(pl.DataFrame({
                "h": keys.hash(seed=0), "page": pl.Series([cp.number] * cols.num_rows, dtype=pl.Int32),
                "page_index": pl.Series(cols.column("page_index").combine_chunks()),
            }))
        if not frames:
            return 0, chosen
        rows = pl.concat(frames)
        candidates = rows.filter(pl.col("h").is_duplicated())
        if candidates.height == 0:
            return 0, chosen
        by_page = candidates.group_by("page").agg(pl.col("page_index"))
        keyed = []
        for page, indexes in by_page.iter_rows():
            cp = next(c for c in chosen if c.number == page)
            assert cp.file is not None
            cols = _read_parquet(self.pages_dir / cp.file, ["record_key", "page_index"])
            frame = pl.from_arrow(cols)
            assert isinstance(frame, pl.DataFrame)
            keyed.append(frame.filter(pl.col("page_index").is_in(list(indexes)))
                         .with_columns(page=pl.lit(page, dtype=pl.Int32)))
        exact = pl.concat(keyed).sort(["page", "page_index"])
        drop = exact.filter(pl.col("record_key").is_duplicated() & ~pl.col("record_key").is_last_distinct())
        if drop.height == 0:
            return 0, chosen
        drops: dict[int, list[int]] = {}
        for page, index in drop.select("page", "page_index").iter_rows():
            drops.setdefault(page, []).append(index)
        result = []
        for cp in chosen:
            if cp.number not in drops or not cp.file:
                result.append(cp)
                continue
            path = self.pages_dir / cp.file
            table = _read_parquet(path)
            keep = pc.invert(pc.is_in(table.column("page_index"), _int32_array(drops[cp.number])))
            table = table.filter(keep)
            size, digest = _write_parquet(table, path)
            fixed = PageCheckpoint(**{**asdict(cp), "records": table.num_rows, "file_bytes": size,
                                      "sha256": digest})
            write_json_atomic(self.pages_dir / f"page-{cp.number:06d}.json", orjson.dumps(asdict(fixed)))
            result.append(fixed)
        return drop.height, result


@contextlib.contextmanager
def writer_lock(paths: DataPaths, endpoint: str, date: dt.date) -> Iterator[None]:
    """Hold the write lock of one endpoint and date, or raise SnapshotError if another run has it.

    An advisory ``flock`` (POSIX): the kernel releases it when the process ends, even by SIGKILL,
    so a killed run never blocks the rerun that resumes it. Where ``fcntl`` is missing (Windows)
    runs are not locked against each other.
    """
    path = paths.raw_lock(endpoint, date)
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - held open for the whole with-block
        if fcntl is None:
            break
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise SnapshotError(
                f"another 'ecodata fetch' is writing the {endpoint} snapshot of {date}; "
                "wait for it to finish (a killed run does not hold the lock)"
            ) from None
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the previous holder removed the file between our open and our lock: retry
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still holding the lock, so nobody can lock the old inode after us
        handle.close()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the _staging directory, when nothing else is staged


def write_page_files(pages_dir: Path, *, api_version: str, number: int, params: Mapping[str, str], url: str,
                     fetched_at: dt.datetime, records: Sequence[bytes], keys: list[str], body_bytes: int,
                     total_count: int | None, link_next: str | None, last_record: str | None,
                     retries: int, lead_key: str | None = None, full: bool | None = None,
                     lead_hash: str | None = None) -> PageCheckpoint:
    """Write a page's Parquet file, then its checkpoint (which makes it count as stored).

    ``lead_key`` is the key of a record the server sent first and that is not stored (the overlap
    with the previous offset page), ``full`` whether the page held as many records as it could.
    A plain function of its arguments, so a worker process can run it (see ``fetch._store``).
    """
    file_name: str | None = None
    size, digest = 0, ""
    if records:
        table = page_table(records, keys, page=number, url=url, fetched_at=fetched_at, api_version=api_version)
        file_name = f"page-{number:06d}.parquet"
        size, digest = _write_parquet(table, pages_dir / file_name)
    checkpoint = PageCheckpoint(
        number=number, params=dict(params), url=url,
        fetched_at=fetched_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        records=len(records), body_bytes=body_bytes, total_count=total_count, link_next=link_next,
        last_record=last_record, retries=retries, file=file_name, file_bytes=size, sha256=digest,
        lead_key=lead_key, first_key=keys[0] if keys else None, last_key=keys[-1] if keys else None, full=full,
        lead_hash=lead_hash, last_hash=record_hash(records[-1]) if records else None,
    )
    write_json_atomic(pages_dir / f"page-{number:06d}.json", orjson.dumps(asdict(checkpoint)), durable=False)
    return checkpoint


def record_hash(record: bytes) -> str:
    """A short fingerprint of one record's JSON (BLAKE2b, 8 bytes, hex)."""
    return hashlib.blake2b(record, digest_size=8).hexdigest()


def read_page_keys(path: Path) -> list[str]:
    """The ``record_key`` column of a staged page file."""
    column = _read_parquet(path, ["record_key"]).column("record_key")
    return [str(k) for k in column.to_pylist()]


def new_run_id() -> str:
    """A run id: UTC time plus a random suffix, sortable and unique."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _read_run(path: Path) -> RunInfo | None:
    try:
        return RunInfo(**orjson.loads(path.read_bytes()))
    except (FileNotFoundError, orjson.JSONDecodeError, TypeError):
        return None


def _read_checkpoints(pages_dir: Path) -> dict[int, PageCheckpoint]:
    """Checkpoints of the pages stored so far; a page whose Parquet file is gone does not count."""
    result: dict[int, PageCheckpoint] = {}
    if not pages_dir.is_dir():
        return result
    for path in pages_dir.glob("page-*.json"):
        try:
            cp = PageCheckpoint(**orjson.loads(path.read_bytes()))
        except (orjson.JSONDecodeError, TypeError):
            continue
        if cp.file and not (pages_dir / cp.file).is_file():
            continue
        result[cp.number] = cp
    return result


def read_staged_checkpoints(paths: DataPaths, endpoint: str, date: dt.date) -> list[PageCheckpoint]:
    """Pages stored so far by an unfinished run (for ``ecodata snapshots``), in page order."""
    done = _read_checkpoints(paths.raw_staging(endpoint, date) / PAGES_DIR)
    return [done[n] for n in sorted(done)]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _publish(paths: DataPaths, endpoint: str, date: dt.date, final: Path, run_id: str) -> None:
    """Rename ``final`` to the partition (moving an older partition aside first), then clean up."""
    partition = paths.raw_partition(endpoint, date)
    staging = paths.raw_staging(endpoint, date)
    old = staging.parent / f"replaced-{date.isoformat()}-{run_id}"
    if partition.exists():
        if old.exists():
            shutil.rmtree(old)
        os.rename(partition, old)
    os.rename(final, partition)
    if old.exists():
        shutil.rmtree(old)
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # only when no other date is staged

"""Read committed raw snapshots, full or compacted. Partitions without a manifest are invisible.

A snapshot is trusted only as far as its manifest vouches for it: only the files it lists are
read, after their sizes, SHA-256 and row counts are checked (:func:`verify_snapshot`); a
compacted day's record store is checked against its list too (:mod:`ecodata.snapshot.store`).
:func:`read_raw` is the one reader of a day's rows as the fetch committed them, whatever the
layout; :func:`scan_raw_chunks` feeds the transform.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ecodata.errors import SnapshotDamagedError, SnapshotError, first_line
from ecodata.paths import DataPaths
from ecodata.snapshot import store as record_store
from ecodata.snapshot.manifest import COMPACT, Manifest, read_manifest
from ecodata.snapshot.schema import RAW_SCHEMA


def complete_dates(paths: DataPaths, endpoint: str) -> list[dt.date]:
    """Dates with a complete (manifest-bearing) snapshot of the endpoint, oldest first."""
    return paths.raw_dates(endpoint, complete_only=True)


def latest_complete_date(paths: DataPaths, endpoint: str) -> dt.date:
    """The newest complete snapshot date of an endpoint, or a SnapshotError saying what to run."""
    dates = complete_dates(paths, endpoint)
    if not dates:
        raise SnapshotError(
            f"no complete {endpoint} snapshot in {paths.raw_root}: run 'ecodata fetch' first"
        )
    return dates[-1]


@dataclass(frozen=True)
class RawFile:
    """One data file of a raw snapshot, with what its Parquet footer says about its size."""

    path: Path
    records: int
    bytes: int  # uncompressed data size (the JSON text is nearly all of it)


@dataclass(frozen=True)
class RawChunk:
    """Consecutive records of a raw snapshot: ``frame`` holds records ``offset`` .. ``offset + records``."""

    offset: int
    records: int
    frame: pl.LazyFrame


def raw_files(paths: DataPaths, endpoint: str, date: dt.date | None = None) -> list[RawFile]:
    """The data files of one complete raw snapshot in record order (``date=None``: the latest).

    Only the files the manifest lists are read, and only once they are what the manifest
    promises (see :func:`verify_snapshot`): a damaged snapshot is a SnapshotDamagedError saying
    which file and what to run, not a polars or zstd error later. An endpoint that served no
    records has no files.
    """
    if date is None:
        date = latest_complete_date(paths, endpoint)
    if not paths.raw_manifest(endpoint, date).is_file():
        raise SnapshotError(
            f"no complete {endpoint} snapshot for {date}: run 'ecodata fetch --date {date}' first"
        )
    return verify_snapshot(paths, endpoint, date)


def verify_snapshot(paths: DataPaths, endpoint: str, date: dt.date, *,
                    checked: set[tuple[str, int]] | None = None) -> list[RawFile]:
    """Check a committed snapshot against its manifest; its files in record order when it holds.

    The files are the Parquet parts of a full day, or the index of a compacted one (whose record
    store is checked as well: ``checked`` remembers store files found good, for a caller checking
    many days).

    Checked: the manifest parses; every file it lists exists with its size and SHA-256 (a page
    garbled with its footer intact passes every Parquet check but this one); its Parquet footer
    holds the listed rows; the rows add up to the manifest's ``records``. Files the manifest does
    not list (a part copied in by hand) are not part of the snapshot and are never read. Reads
    every byte once (hashing runs at disk speed; the transform reads the files anyway).
    """
    manifest = read_manifest(paths, endpoint, date)
    partition = paths.raw_partition(endpoint, date)

    def damaged(why: str) -> SnapshotDamagedError:
        return SnapshotDamagedError(endpoint, date, f"the {endpoint} snapshot for {date} is damaged ({why})")

    if not manifest.files and manifest.records:
        raise damaged(f"its manifest lists no data files but {manifest.records:,} records")
    out = []
    for listed in manifest.files:
        file = partition / listed.name
        if Path(listed.name).name != listed.name or not listed.name.endswith(".parquet"):
            raise damaged(f"its manifest lists a file named {listed.name!r}")
        try:
            size = file.stat().st_size
            if size != listed.bytes:
                raise damaged(f"{listed.name}: {size:,} bytes, the manifest says {listed.bytes:,}")
            with open(file, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            if digest != listed.sha256:
                raise damaged(f"{listed.name}: its SHA-256 differs from the manifest's, the file was changed")
            meta = pq.read_metadata(file)
        except FileNotFoundError:
            raise damaged(f"{listed.name} is missing") from None
        except (OSError, pa.ArrowException) as exc:
            why = first_line(exc)
            raise damaged(f"{listed.name}: {why}") from None
        if meta.num_rows != listed.rows:
            raise damaged(f"{listed.name}: {meta.num_rows:,} rows, the manifest says {listed.rows:,}")
        uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        out.append(RawFile(file, meta.num_rows, uncompressed))
    rows = sum(f.records for f in out)
    if rows != manifest.records:
        raise damaged(f"its files hold {rows:,} records, the manifest says {manifest.records:,}")
    if manifest.layout == COMPACT:
        record_store.verify_store(paths, endpoint, date, record_store.load_store(paths, endpoint), checked)
    return [f for f in out if f.records]


def _day(paths: DataPaths, endpoint: str, date: dt.date | None) -> tuple[dt.date, Manifest, list[RawFile]]:
    """The date, manifest and verified files of one complete snapshot (``date=None``: the latest)."""
    if date is None:
        date = latest_complete_date(paths, endpoint)
    files = raw_files(paths, endpoint, date)
    return date, read_manifest(paths, endpoint, date), files


def _compact_index(files: list[RawFile]) -> pl.DataFrame:
    index = pl.read_parquet([f.path for f in files]) if files else None
    if index is None:
        return pl.from_arrow(record_store.index_schema().empty_table())  # type: ignore[return-value]
    return index


def _compact_frame(paths: DataPaths, endpoint: str, index: pl.DataFrame, *, with_hash: bool = False) -> pl.LazyFrame:
    store = record_store.load_store(paths, endpoint)
    return record_store.scan_compact(index, record_store.store_paths(paths, store), with_hash=with_hash)


def read_raw(paths: DataPaths, endpoint: str, date: dt.date | None = None) -> pl.DataFrame:
    """The RAW_SCHEMA rows of one complete snapshot in crawl order, as the fetch committed them.

    Full and compacted days read alike (``date=None``: the latest). Every file is checked against
    its manifest first (:func:`verify_snapshot`); the records of a compacted day are checked one
    by one against their stored BLAKE2b, so what comes back is byte for byte what was fetched,
    or a SnapshotDamagedError. A day compacted while it was being read is read again.
    """
    if date is None:
        date = latest_complete_date(paths, endpoint)
    for attempt in range(3):
        before = _manifest_bytes(paths, endpoint, date)
        try:
            return _read_raw_once(paths, endpoint, date)
        except SnapshotDamagedError:
            # compacted (or replaced) under us: the manifest changed, so read the new layout
            if attempt == 2 or before is None or before == _manifest_bytes(paths, endpoint, date):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _manifest_bytes(paths: DataPaths, endpoint: str, date: dt.date) -> bytes | None:
    try:
        return paths.raw_manifest(endpoint, date).read_bytes()
    except OSError:
        return None


def _read_raw_once(paths: DataPaths, endpoint: str, date: dt.date) -> pl.DataFrame:
    date, manifest, files = _day(paths, endpoint, date)
    if manifest.layout != COMPACT:
        return _scan(files).collect()
    frame = _compact_frame(paths, endpoint, _compact_index(files), with_hash=True).collect()
    missing = frame.filter(pl.col("record").is_null())
    if missing.height:
        raise SnapshotDamagedError(endpoint, date, f"the {endpoint} snapshot for {date} is damaged ({missing.height:,} "
                                   "of its record versions are not in the record store)")
    digests = record_store.record_digests(frame.get_column("record"))
    bad = (digests != frame.get_column(record_store.HASH)).sum()
    if bad:
        raise SnapshotDamagedError(endpoint, date, f"the {endpoint} snapshot for {date} is damaged ({bad:,} "
                                   "records differ from their stored BLAKE2b)")
    return frame.drop(record_store.HASH)


def _scan(files: list[RawFile]) -> pl.LazyFrame:
    if not files:
        return pl.from_arrow(RAW_SCHEMA.empty_table()).lazy()  # type: ignore[union-attr]
    return pl.scan_parquet([f.path for f in files])


def scan_raw(paths: DataPaths, endpoint: str, date: dt.date | None = None) -> pl.LazyFrame:
    """Lazily scan one complete raw snapshot (columns of ``snapshot.schema.RAW_SCHEMA``).

    ``date=None`` takes the latest complete snapshot; see :func:`raw_files` for the checks. A
    compacted day is its index joined with the record store (:func:`read_raw` also checks each
    record's hash).
    """
    _, manifest, files = _day(paths, endpoint, date)
    if manifest.layout == COMPACT:
        return _compact_frame(paths, endpoint, _compact_index(files))
    return _scan(files)


def scan_raw_chunks(
    paths: DataPaths, endpoint: str, date: dt.date | None = None, *, max_records: int, max_bytes: int
) -> Iterator[RawChunk]:
    """The snapshot as consecutive chunks of at most ``max_records`` records and about ``max_bytes``.

    Chunks follow the files: each scans only its own files (a slice of one scan over all files
    reads every footer again per chunk, which cost more than the decoding of small records). A
    file larger than a chunk is sliced. An empty snapshot is one empty chunk. A compacted day is
    sliced by its index (records per chunk from the day's average record size), each chunk
    joined with the store rows of its versions only.
    """
    _, manifest, files = _day(paths, endpoint, date)
    if manifest.layout == COMPACT:
        yield from _compact_chunks(paths, endpoint, manifest, files, max_records, max_bytes)
        return
    if sum(f.records for f in files) == 0:
        yield RawChunk(0, 0, _scan(files))
        return
    offset = 0
    for group in _file_groups(files, max_records, max_bytes):
        records = sum(f.records for f in group)
        for start in range(0, records, max_records):
            length = min(max_records, records - start)
            frame = _scan(group) if length == records else _scan(group).slice(start, length)
            yield RawChunk(offset + start, length, frame)
        offset += records


def _compact_chunks(paths: DataPaths, endpoint: str, manifest: Manifest, files: list[RawFile], max_records: int,
                    max_bytes: int) -> Iterator[RawChunk]:
    index = _compact_index(files)
    if index.height == 0:
        yield RawChunk(0, 0, _compact_frame(paths, endpoint, index))
        return
    # the JSON received (what a full day's uncompressed parts are nearly all of) per record
    per_record = max(1, (manifest.body_bytes or manifest.bytes) // max(1, manifest.records_received))
    step = max(1, min(max_records, max_bytes // per_record))
    for start in range(0, index.height, step):
        part = index.slice(start, step)
        yield RawChunk(start, part.height, _compact_frame(paths, endpoint, part))


def _file_groups(files: list[RawFile], max_records: int, max_bytes: int) -> Iterator[list[RawFile]]:
    """Consecutive files, as many per group as fit the limits (at least one file per group)."""
    group: list[RawFile] = []
    records = size = 0
    for file in files:
        if group and (records + file.records > max_records or size + file.bytes > max_bytes):
            yield group
            group, records, size = [], 0, 0
        group.append(file)
        records += file.records
        size += file.bytes
    if group:
        yield group

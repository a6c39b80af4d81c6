"""The record store of an endpoint: each distinct version of a raw record, stored once.

A compacted raw day (:mod:`ecodata.snapshot.compact`) keeps in its partition an *index*: one row
per record of the day in crawl order, its ``version`` and the row's own fields (``page``,
``page_index``, ``request_url``, ``fetched_at``, ``api_version``). The record's key and JSON are
in the endpoint's *store*, one row per distinct version: ``version, record_key, hash, record``,
``hash`` being the first 16 bytes of the BLAKE2b of the record's JSON (stable across versions of
Python and polars, unlike ``Series.hash``). Versions are content-addressed: a record whose key and
hash are stored already reuses that version, so a day costs its new or changed records plus its
index, a few bytes a row (versions mostly run in crawl order and are delta-encoded).

``_store.json`` lists the store files (rows, size, SHA-256, version range) and the next version
number, which only grows (a version number is never reused, even after garbage collection).
Only listed files belong to the store: a file is written under a new name before the list names
it and removed only after the list stops naming it, and the list is replaced in one rename.

Reading a compacted day joins its index with the store on ``version`` (:func:`scan_compact`):
lazy, columnar, and in the index's order.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from ecodata.errors import SnapshotDamagedError, SnapshotError, first_line
from ecodata.paths import DataPaths
from ecodata.snapshot.manifest import ManifestFile, write_json_atomic
from ecodata.snapshot.writer import _write_parquet

if TYPE_CHECKING:
    import pyarrow as pa

STORE_FORMAT = 1
HASH_BYTES = 16
VERSION = "version"
HASH = "hash"
RAW_COLUMNS = ("record", "record_key", "page", "page_index", "request_url", "fetched_at", "api_version")
INDEX_COLUMNS = (VERSION, "page", "page_index", "request_url", "fetched_at", "api_version")
STORE_COLUMNS = (VERSION, "record_key", HASH, "record")

# Off the fetch's path, so compressed harder than the fetch's level 1. A bench-scale day of
# connector_prices as one store file (2026-12-02, nice 10, load 5.5, 1 MB pages): level 1 parts
# 29.3 MB; level 3 22.3 MB in 1.7 s, level 6 21.2 MB in 3.8 s, level 9 20.8 MB in 4.8 s. Only a
# first day (or a migrate) writes that much; a later day writes its changes. Versions and page indexes are
# delta-encoded: they mostly count up by one.
INDEX_OPTIONS: dict[str, Any] = {
    "compression": "zstd", "compression_level": 9,
    "use_dictionary": ["page", "request_url", "fetched_at", "api_version"],
    "column_encoding": {VERSION: "DELTA_BINARY_PACKED", "page_index": "DELTA_BINARY_PACKED"},
}
# zstd compresses a page at a time: pages of 32 MB instead of pyarrow's 1 MB let it see the
# repeats across records (a connector_prices record repeats its site's pricing ids). A bench-scale
# day's new connector_prices versions (67,912 records, 2026-12-03): level 6 with 1 MB pages
# 6.70 MB in 0.72 s; level 6 / 32 MB pages 4.77 MB in 0.42 s; level 9 / 32 MB pages 4.31 MB in
# 0.73 s; level 19 / 1 MB pages 5.97 MB in 24 s. A row group (65,536 rows) bounds a page anyway.
STORE_OPTIONS: dict[str, Any] = {
    "compression": "zstd", "compression_level": 9, "use_dictionary": False, "data_page_size": 32 << 20,
    "column_encoding": {VERSION: "DELTA_BINARY_PACKED", "record_key": "DELTA_BYTE_ARRAY"},
    "row_group_size": 65_536,  # a middle day's chunk reads only the row groups of its versions
}


def index_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        pa.field(VERSION, pa.int64(), nullable=False),
        pa.field("page", pa.int32(), nullable=False),
        pa.field("page_index", pa.int32(), nullable=False),
        pa.field("request_url", pa.string(), nullable=False),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("api_version", pa.string(), nullable=False),
    ])


def store_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        pa.field(VERSION, pa.int64(), nullable=False),
        pa.field("record_key", pa.string(), nullable=False),
        pa.field(HASH, pa.binary(HASH_BYTES), nullable=False),
        pa.field("record", pa.large_string(), nullable=False),
    ])


@dataclass(frozen=True)
class StoreFile:
    """One file of the store: versions ``first_version`` .. ``last_version`` (not all of them, after GC)."""

    name: str
    rows: int
    bytes: int
    sha256: str
    first_version: int
    last_version: int


@dataclass
class Store:
    """The content of ``_store.json``: the store's files, oldest first, and the next version number."""

    endpoint: str
    next_version: int = 0
    files: list[StoreFile] = field(default_factory=list)

    def to_json(self) -> bytes:
        return orjson.dumps({"format": STORE_FORMAT, **asdict(self)}, option=orjson.OPT_INDENT_2)


def load_store(paths: DataPaths, endpoint: str) -> Store:
    """The endpoint's store list (an empty store when there is none yet)."""
    path = paths.raw_store_manifest(endpoint)
    try:
        data = orjson.loads(path.read_bytes())
        files = [StoreFile(**{k: f[k] for k in StoreFile.__dataclass_fields__}) for f in data["files"]]
        store = Store(endpoint, int(data["next_version"]), files)
    except FileNotFoundError:
        return Store(endpoint)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"the record store list {path} is corrupt ({exc}); the compacted {endpoint} "
                            "days need it: restore it from a backup") from None
    for f in store.files:
        if Path(f.name).name != f.name or not f.name.endswith(".parquet"):
            raise SnapshotError(f"the record store list {path} names a file {f.name!r}; restore it from a backup")
    return store


def save_store(paths: DataPaths, store: Store) -> None:
    """Replace ``_store.json`` in one rename (fsynced first)."""
    paths.raw_store_dir(store.endpoint).mkdir(parents=True, exist_ok=True)
    write_json_atomic(paths.raw_store_manifest(store.endpoint), store.to_json())


def store_paths(paths: DataPaths, store: Store) -> list[Path]:
    return [paths.raw_store_dir(store.endpoint) / f.name for f in store.files]


def record_digests(records: pl.Series) -> pl.Series:
    """The first 16 bytes of the BLAKE2b of each record's UTF-8 JSON (a Binary series named ``hash``)."""
    import pyarrow as pa

    array = records.to_arrow()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    parts: list[bytes] = []
    digest = functools.partial(hashlib.blake2b, digest_size=HASH_BYTES)
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = memoryview(offsets_buffer).cast("q")[chunk.offset:chunk.offset + len(chunk) + 1].tolist()
        data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
        parts.append(b"".join([digest(data[start:end]).digest() for start, end in itertools.pairwise(offsets)]))
    out = b"".join(parts)
    n = len(out) // HASH_BYTES
    digests = pa.Array.from_buffers(pa.binary(HASH_BYTES), n, [None, pa.py_buffer(out)])
    return pl.Series(HASH, digests.cast(pa.binary()), dtype=pl.Binary)


def write_store_file(paths: DataPaths, endpoint: str, versions: pl.DataFrame) -> StoreFile:
    """Write new versions (STORE_COLUMNS, sorted by version) to a new store file; its list entry."""
    table = versions.select(STORE_COLUMNS).to_arrow().cast(store_schema())
    first, last = int(versions[VERSION].min()), int(versions[VERSION].max())  # type: ignore[arg-type]
    path = paths.raw_store_file(endpoint, first, secrets.token_hex(4))
    path.parent.mkdir(parents=True, exist_ok=True)
    size, digest = _write_parquet(table, path, STORE_OPTIONS)
    return StoreFile(path.name, versions.height, size, digest, first, last)


def write_index_file(paths: DataPaths, endpoint: str, date: dt.date, index: pl.DataFrame) -> ManifestFile:
    """Write a day's index (INDEX_COLUMNS, crawl order) to a new file in its partition; its manifest entry."""
    table = index.select(INDEX_COLUMNS).to_arrow().cast(index_schema())
    path = paths.raw_index_file(endpoint, date, secrets.token_hex(4))
    size, digest = _write_parquet(table, path, INDEX_OPTIONS)
    first_page = int(index["page"].min()) if index.height else 0  # type: ignore[arg-type]
    return ManifestFile(name=path.name, rows=index.height, bytes=size, sha256=digest, page=first_page)


def verify_store(paths: DataPaths, endpoint: str, date: dt.date, store: Store,
                 checked: set[tuple[str, int]] | None = None) -> None:
    """Check every store file against the list (size, SHA-256, rows); a SnapshotDamagedError names the file.

    ``checked`` remembers files already found good (name, size), for a caller verifying many days.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    def damaged(why: str) -> SnapshotDamagedError:
        return SnapshotDamagedError(endpoint, date, f"the {endpoint} snapshot for {date} is damaged "
                                    f"(its record store: {why})")

    for listed in store.files:
        if checked is not None and (listed.name, listed.bytes) in checked:
            continue
        file = paths.raw_store_dir(endpoint) / listed.name
        try:
            size = file.stat().st_size
            if size != listed.bytes:
                raise damaged(f"{listed.name}: {size:,} bytes, {paths.raw_store_manifest(endpoint).name} "
                              f"says {listed.bytes:,}")
            with open(file, "rb") as fh:
                if hashlib.file_digest(fh, "sha256").hexdigest() != listed.sha256:
                    raise damaged(f"{listed.name}: its SHA-256 differs from the list's, the file was changed")
            rows = pq.read_metadata(file).num_rows
        except FileNotFoundError:
            raise damaged(f"{listed.name} is missing") from None
        except (OSError, pa.ArrowException) as exc:
            why = first_line(exc)
            raise damaged(f"{listed.name}: {why}") from None
        if rows != listed.rows:
            raise damaged(f"{listed.name}: {rows:,} rows, the list says {listed.rows:,}")
        if checked is not None:
            checked.add((listed.name, listed.bytes))


def scan_store(files: Sequence[Path], columns: Sequence[str] = STORE_COLUMNS) -> pl.LazyFrame:
    """The store's versions (``columns`` of STORE_COLUMNS), lazily; an empty frame with no files."""
    if files:
        return pl.scan_parquet(list(files)).select(columns)
    schema = pl.Schema({VERSION: pl.Int64(), "record_key": pl.String(), HASH: pl.Binary(), "record": pl.String()})
    return pl.LazyFrame(schema=schema).select(columns)


def scan_compact(index: pl.DataFrame, store_files: Sequence[Path], *, with_hash: bool = False) -> pl.LazyFrame:
    """RAW_SCHEMA rows of a compacted day (plus ``hash`` if asked) in the index's order.

    The store is read for the index's versions only: a day's versions span the whole store (its
    unchanged records are as old as the store), so a version range would read nearly every row
    ever stored, which grows with the kept days; the filter on the versions themselves holds only
    the rows asked for (row groups outside their range are skipped from the statistics). A version
    missing from the store leaves ``record`` and ``record_key`` null (readers check).
    """
    wanted = [VERSION, "record_key", "record", *([HASH] if with_hash else [])]
    store = scan_store(store_files, wanted)
    if index.height:
        versions = index.get_column(VERSION)
        low, high = int(versions.min()), int(versions.max())  # type: ignore[arg-type]
        store = store.filter(pl.col(VERSION).is_between(low, high), pl.col(VERSION).is_in(versions.unique().implode()))
    joined = index.lazy().join(store, on=VERSION, how="left", maintain_order="left")
    return joined.select([*RAW_COLUMNS, *([HASH] if with_hash else [])])


def lookup_versions(store_files: Sequence[Path], keyed: pl.DataFrame) -> pl.DataFrame:
    """``version, record_key, hash`` of the stored versions whose (key, hash) is in ``keyed``: one
    file at a time, so what is held is one file's lookup columns and the matches, not every
    version stored (which grows with the kept days)."""
    pairs = keyed.select("record_key", HASH).unique()
    frames = [pl.scan_parquet(file).select(VERSION, "record_key", HASH)
              .join(pairs.lazy(), on=["record_key", HASH], how="semi").collect()
              for file in store_files]
    found = pl.concat(frames, how="vertical") if frames else scan_store([], [VERSION, "record_key", HASH]).collect()
    return found.unique(subset=["record_key", HASH], keep="first", maintain_order=True)

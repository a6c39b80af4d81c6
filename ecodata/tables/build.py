"""The only place that writes tables: transform a raw snapshot, validate, write atomically, report.

For one snapshot date, each endpoint's transform yields lazy table frames. Here they are
checked against their declared keys (later duplicates go to ``rejects``, the first occurrence in
crawl order stays), collected chunk by chunk (each chunk's raw JSON decoded once), and written as
``tables/<table>/snapshot_date=D/part-00000.parquet`` (connector_prices, the largest, as its chunks
are flattened, when the records prove its keys unique). Each file is written to the table's staging
area and moved into place with one atomic rename, so a reader sees the old or the new table, never
half of one. References (connector_prices -> connectors, -> prices; connectors.tariff_ids ->
tariffs) are checked and orphans counted: the real API has orphans, so they are kept and reported,
never dropped. A table computed by a later stage (``session_costs``, by the pricing engine) is
handed in by :mod:`ecodata.pipeline` through :func:`write_computed_table`; this module imports no
stage to its right (see ``tests/test_import_direction.py``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import polars as pl
from polars.io.plugins import register_io_source

from ecodata.errors import ConfigError, SnapshotError, ValidationError
from ecodata.paths import DataPaths, part_name
from ecodata.settings import Settings
from ecodata.snapshot.reader import RawChunk, scan_raw_chunks
from ecodata.snapshot.schema import ENDPOINTS
from ecodata.tables.reader import scan_table, table_schema
from ecodata.tables.schemas import ALL_TABLES, REJECTS, TableSchema
from ecodata.transform import STAGES, TRANSFORMS, Stages
from ecodata.transform._common import ROW, Parts, finish, with_row_ids
from ecodata.transform._conform import REJECT
from ecodata.transform._decode import ERROR, ChunkDecoder

# Tables each endpoint feeds (besides rejects).
ENDPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "locations": ("locations", "evses", "connectors"),
    "connector_prices": ("connector_prices",),
    "prices": ("prices", "price_elements", "price_components"),
    "tariffs": ("tariffs", "tariff_elements", "tariff_components"),
}


# Raw JSON decoded at a time (whole raw files, uncompressed bytes, at most CHUNK_RECORDS records):
# bounds the peak memory of decoding. Bench scale, 2026-11-21, 3 runs each: 32 MB 3.0-3.1 s / 1.1 GB,
# 64 MB 2.9-3.3 s / 1.2 GB, 128 MB 2.7-2.9 s / 1.2-1.3 GB peak RSS.
CHUNK_BYTES = 128_000_000
CHUNK_RECORDS = 250_000
# Columns of the per-record summary of a key table (see FlatChunk).
RECORD_ROWS = "_rows"
RECORD_DISTINCT = "_distinct"
# Table Parquet is written with zstd level 1 (as the raw snapshot writer): about 30% faster to
# write than the default level 3, for a few percent more bytes.


@dataclass
class TransformReport:
    """What one ``transform_snapshot`` run did: rows per table, rejects, duplicates and orphans."""

    date: dt.date
    endpoints: list[str]
    raw_records: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)      # per endpoint
    duplicates: dict[str, int] = field(default_factory=dict)   # per table
    orphans: dict[str, int] = field(default_factory=dict)      # per reference check

    def lines(self) -> list[str]:
        """A short human-readable summary, one fact per line."""
        out = [f"snapshot {self.date}: transformed {', '.join(self.endpoints)}"]
        for endpoint in self.endpoints:
            out.append(f"  {endpoint}: {self.raw_records.get(endpoint, 0)} raw records, "
                       f"{self.rejects.get(endpoint, 0)} rejected")
        for table, count in self.rows.items():
            dup = self.duplicates.get(table, 0)
            out.append(f"  {table}: {count} rows" + (f" ({dup} duplicate keys rejected)" if dup else ""))
        for check, count in self.orphans.items():
            out.append(f"  orphans {check}: {count}")
        return out


def key_duplicates(schema: TableSchema, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``frame`` into rows with a first-seen key and the later duplicates as reject rows.

    The first occurrence in row (crawl) order stays. The reject's ``record_key`` joins the key
    values with ``|``; its ``record_json`` is the duplicate row itself (the raw record may hold many
    rows), and the reason numbers the occurrence.

    Fast exact path: equal keys hash equally, so when the row hashes of the key columns are all
    distinct there is no duplicate (one u64 per row; the exact ``is_first_distinct`` over a struct
    of string keys costs about 4x the time and 10x the memory, 0.8 GB for 3.3M connector prices).
    """
    key = list(schema.key)
    empty = pl.DataFrame(schema={c: REJECTS.polars_schema[c] for c in
                                 ("table_name", "record_key", "reason", "record_json")})
    if frame.select(key).hash_rows().n_unique() == frame.height:
        return frame, empty
    first = frame.select(pl.struct(key).is_first_distinct()).to_series()
    if first.all():  # only a hash collision
        return frame, empty
    clean = frame.filter(first)
    later = frame.filter(~first).with_columns((pl.int_range(pl.len()).over(key) + 2).alias("_occurrence"))
    json_cols = [pl.col(c).cast(pl.String) if not isinstance(schema.polars_schema[c], pl.List) else pl.col(c)
                 for c in schema.column_names]
    rejects = later.select(
        pl.lit(schema.name).alias("table_name"),
        pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|").alias("record_key"),
        pl.format("duplicate key in {} (occurrence {})", pl.lit(schema.name), pl.col("_occurrence"))
        .alias("reason"),
        pl.struct(json_cols).struct.json_encode().alias("record_json"),
    )
    return clean, rejects


def resolve_date(paths: DataPaths, date: dt.date | None, endpoints: Sequence[str]) -> tuple[dt.date, list[str]]:
    """The snapshot date to transform and the endpoints that have a complete raw snapshot for it."""
    available = {e: set(paths.raw_dates(e)) for e in endpoints}
    if date is None:
        every = set().union(*available.values()) if available else set()
        if not every:
            raise SnapshotError(f"no complete raw snapshot in {paths.raw_root}: run 'ecodata fetch' first")
        date = max(every)
    present = [e for e in endpoints if date in available[e]]
    if not present:
        raise SnapshotError(f"no complete raw snapshot for {date}: run 'ecodata fetch --date {date}' first")
    return date, present


def transform_snapshot(
    settings: Settings,
    date: dt.date | None = None,
    endpoints: Sequence[str] | None = None,
    *,
    chunk_records: int = CHUNK_RECORDS,
    chunk_bytes: int = CHUNK_BYTES,
) -> TransformReport:
    """Build the tables of one snapshot date from its raw snapshot (all endpoints present by default).

    Re-running a date replaces its tables. Example::

        report = transform_snapshot(Settings.from_env(data_dir="data"))
        print("\\n".join(report.lines()))
    """
    paths = DataPaths(settings.data_dir)
    wanted = list(endpoints) if endpoints else list(ENDPOINTS)
    unknown = [e for e in wanted if e not in TRANSFORMS]
    if unknown:
        raise ConfigError(f"unknown endpoint(s) {', '.join(unknown)}; choose from {', '.join(TRANSFORMS)}")
    date, present = resolve_date(paths, date, wanted)
    report = TransformReport(date=date, endpoints=present)
    rejects: list[pl.DataFrame] = []
    # The columns the reference checks read, kept from the tables just built (reading them back
    # from the files cost as much again as the checks themselves).
    references: dict[str, pl.DataFrame] = {}
    record_rows: dict[str, pl.DataFrame] = {}
    for endpoint in present:
        built = _transform_endpoint(paths, endpoint, date, chunk_records, chunk_bytes)
        tables, endpoint_rejects, raw_records = built.tables, built.rejects, built.raw_records
        if built.records is not None:
            record_rows[built.record_key[0]] = built.records
        for name, table in tables.items():
            write_table(paths, ALL_TABLES[name], date, table)
            if name in REFERENCE_COLUMNS:
                references[name] = table.select(REFERENCE_COLUMNS[name])
            report.rows[name] = table.height
            report.duplicates[name] = endpoint_rejects.filter(
                pl.col("reason").str.starts_with(f"duplicate key in {name} ")).height
        for name, rows in built.written.items():
            report.rows[name] = rows
            report.duplicates[name] = 0
        report.rejects[endpoint] = endpoint_rejects.height
        report.raw_records[endpoint] = raw_records
        rejects.append(endpoint_rejects)
    write_table(paths, REJECTS, date, _merge_rejects(paths, date, present, rejects))
    report.orphans = count_orphans(paths, date, references, record_rows)
    return report


class FlatChunk(NamedTuple):
    """The tables and rejects of one decoded chunk, and what its records gave the key table.

    ``records``: one row per record loaded into the endpoint's key table (``record_key[0]``): its
    record-key columns, ``_rows`` (the rows it gave that table) and ``_distinct`` (whether those
    rows' keys are distinct). None when the chunk had rejects.
    """

    tables: dict[str, pl.DataFrame]
    records: pl.DataFrame | None
    record_key: tuple[str, tuple[str, ...]]


class EndpointTables(NamedTuple):
    """One endpoint's checked tables, its rejects, and its raw record count.

    ``records`` (see ``FlatChunk``) is set when it describes the key table exactly: the reference
    checks then count connector_prices per record (304k) instead of per row (3.3M at bench scale).
    ``written``: tables already written while they were computed (name -> rows), not in ``tables``.
    """

    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    raw_records: int
    records: pl.DataFrame | None
    record_key: tuple[str, tuple[str, ...]]
    written: dict[str, int]


class _NotProven(Exception):
    """Stops the streamed write of a single-table endpoint: its table may hold a duplicate key."""


def _proven(records: pl.DataFrame | None, key_columns: tuple[str, ...]) -> bool:
    """True when the record summaries prove the key table free of duplicate keys (see below)."""
    return records is not None and bool(records.get_column(RECORD_DISTINCT).all()) and (
        records.select(key_columns).hash_rows().n_unique() == records.height)


def _decode_chunks(paths: DataPaths, endpoint: str, date: dt.date, chunk_records: int,
                   chunk_bytes: int) -> Iterator[tuple[RawChunk, FlatChunk]]:
    """Each raw chunk of the snapshot, decoded once and flattened into its tables."""
    stages = STAGES[endpoint]
    decoder = ChunkDecoder(stages.variants, stages.common)
    for chunk in scan_raw_chunks(paths, endpoint, date, max_records=chunk_records, max_bytes=chunk_bytes):
        # Decoded once, eagerly (parallel, straight from the scan); the tables are flattened from it.
        decoded = decoder.decode(with_row_ids(chunk.frame, chunk.offset))
        # The decode keeps one piece per raw file (~1000 records); made contiguous (all but the
        # text, which only rejects need), the flattening, key checks and writes downstream run on
        # a few large pieces instead of hundreds of small ones (exploding connector_prices' lists:
        # 0.11 s against 0.01 s at bench scale).
        decoded = decoded.drop("record").rechunk().with_columns(decoded.get_column("record"))
        yield chunk, _flatten_chunk(stages, decoded)
        del decoded


def _stream_single_table(paths: DataPaths, endpoint: str, date: dt.date, chunk_records: int,
                         chunk_bytes: int) -> EndpointTables | None:
    """The one table of a single-table endpoint (connector_prices), written as it is flattened.

    None of the table is held in memory (15.8M rows at europe scale). This takes the proof of
    :func:`_transform_endpoint` that no key repeats: a chunk with a reject, or a record key found
    again in a later chunk, stops the write (the previous table stays) and None is returned, so
    the caller takes the in-memory path, which decodes again and rejects what it must.
    """
    (name,) = ENDPOINT_TABLES[endpoint]
    pieces: list[pl.DataFrame] = []
    total = 0
    record_key: tuple[str, tuple[str, ...]] = ("", ())
    records = pl.DataFrame()

    def frames() -> Iterator[pl.DataFrame]:
        nonlocal total, record_key, records
        for chunk, flat in _decode_chunks(paths, endpoint, date, chunk_records, chunk_bytes):
            if flat.records is None:
                raise _NotProven
            pieces.append(flat.records)
            total += chunk.records
            record_key = flat.record_key
            yield flat.tables[name]
        records = pl.concat(pieces, how="vertical")
        if not _proven(records, record_key[1]):
            raise _NotProven

    try:
        rows = write_table(paths, ALL_TABLES[name], date, frames())
    except _NotProven:
        return None
    return EndpointTables({}, REJECTS.polars_schema.to_frame(), total, records.drop(RECORD_DISTINCT), record_key,
                          {name: rows})


def _transform_endpoint(
    paths: DataPaths, endpoint: str, date: dt.date, chunk_records: int, chunk_bytes: int
) -> EndpointTables:
    """Transform one endpoint's raw snapshot chunk by chunk; check keys over the whole tables.

    Chunks bound the memory of JSON decoding (the decoded records of one chunk at a time; the
    typed tables are much smaller). Record-level duplicates are found within a chunk by the
    transform and across chunks by the key check here, which keeps the first occurrence.

    The key table's key is the record key plus columns that tell a record's rows apart. So when
    no two records share a record key (checked on one row per record) and each record's rows have
    distinct keys, the key table has no duplicate and its full key check (a hash of every row's
    key, 3.3M rows for connector_prices at bench scale) is skipped; otherwise it runs.
    """
    names = list(ENDPOINT_TABLES[endpoint])
    if len(names) == 1:
        streamed = _stream_single_table(paths, endpoint, date, chunk_records, chunk_bytes)
        if streamed is not None:
            return streamed
    pieces: dict[str, list[pl.DataFrame]] = {name: [] for name in [*names, "rejects"]}
    total = 0
    record_pieces: list[pl.DataFrame] | None = []
    record_key: tuple[str, tuple[str, ...]] = ("", ())
    for chunk, flat in _decode_chunks(paths, endpoint, date, chunk_records, chunk_bytes):
        for name, frame in flat.tables.items():
            pieces[name].append(frame)
        record_key = flat.record_key
        if record_pieces is not None and flat.records is not None:
            record_pieces.append(flat.records)
        else:
            record_pieces = None
        total += chunk.records
    key_table, key_columns = record_key
    records = pl.concat(record_pieces, how="vertical") if record_pieces else None
    proven = _proven(records, key_columns)
    tables: dict[str, pl.DataFrame] = {}
    rejects = pieces["rejects"]
    for name in names:
        table = pl.concat(pieces[name], how="vertical", rechunk=False)
        if proven and name == key_table:
            tables[name] = table
            continue
        clean, dups = key_duplicates(ALL_TABLES[name], table)
        tables[name] = clean
        rejects.append(dups.with_columns(pl.lit(endpoint).alias("endpoint")).select(REJECTS.column_names))
    return EndpointTables(tables, pl.concat(rejects, how="vertical"), total,
                          records.drop(RECORD_DISTINCT) if proven and records is not None else None, record_key,
                          {})


def _flatten_chunk(stages: Stages, decoded: pl.DataFrame) -> FlatChunk:
    """The tables and rejects of one decoded chunk, as ``stages.flatten`` would compute them.

    The conformed parts are collected first. In the common case (every record decoded, every row
    conformed, no natural key on two records) ``finish`` would reject nothing, so the tables are the
    parts without their helper columns; otherwise ``finish`` runs on the collected parts.
    """
    flat = stages.parts(decoded.lazy())
    names = list(flat.parts)
    parts = dict(zip(names, pl.collect_all([flat.parts[n] for n in names]), strict=True))
    key_table, key_columns = flat.record_key
    # A record key is the record's: every row of one record carries the same key (see ``Parts``),
    # so one row per record is enough to see whether two records share a key (connector_prices at
    # bench scale: ~130k records a chunk, not their ~1.3M exploded rows).
    inner = [c for c in ALL_TABLES[key_table].key if c not in key_columns]
    # Distinct hashes prove distinct values; a hash collision only costs the full key check.
    distinct = (pl.struct(inner).hash() if len(inner) > 1 else pl.col(inner[0]).hash()).n_unique() if inner \
        else pl.lit(1, pl.UInt32)
    records = parts[key_table].lazy().group_by(ROW).agg(
        *[pl.first(c) for c in key_columns],
        pl.len().alias(RECORD_ROWS),
        (distinct == pl.len()).alias(RECORD_DISTINCT),
    ).drop(ROW).collect()
    clean = (
        decoded.get_column(ERROR).null_count() == decoded.height
        and all(p.get_column(REJECT).null_count() == p.height for p in parts.values())
        # each key (hash) on one record only: no later record repeats an earlier one's key
        and records.select(key_columns).hash_rows().n_unique() == records.height
    )
    if clean:
        out = {n: p.drop(ROW, REJECT) for n, p in parts.items()}
        out["rejects"] = REJECTS.polars_schema.to_frame()
        return FlatChunk(out, records, flat.record_key)
    frames = finish(decoded.lazy(), Parts(flat.endpoint, {n: p.lazy() for n, p in parts.items()}, flat.record_key))
    names = list(frames)
    return FlatChunk(dict(zip(names, pl.collect_all([frames[n] for n in names]), strict=True)), None,
                     flat.record_key)


def _merge_rejects(paths: DataPaths, date: dt.date, present: list[str], new: list[pl.DataFrame]) -> pl.DataFrame:
    """This run's rejects plus those of endpoints not re-transformed now (kept from the last run)."""
    frames = [f.cast(REJECTS.polars_schema) for f in new]
    if date in paths.table_dates("rejects"):
        old = scan_table(paths, "rejects", date).drop("snapshot_date")
        frames.insert(0, old.filter(~pl.col("endpoint").is_in(present)).collect())
    return pl.concat(frames, how="vertical") if frames else REJECTS.polars_schema.to_frame()


def _check_schema(schema: TableSchema, frame: pl.DataFrame) -> None:
    if frame.schema != schema.polars_schema:
        # The transform and the declaration disagree: that is a bug in ecodata, not bad data.
        raise ValidationError(
            f"table {schema.name}: columns {dict(frame.schema)} do not match the declared schema; "
            "please report this bug"
        )


def _write_frames(schema: TableSchema, frames: Iterable[pl.DataFrame], file: Path) -> int:
    """Write frames one after the other into one Parquet file; returns the row count.

    polars' streaming sink pulls the frames from the iterable as it writes, so a table computed
    chunk by chunk (a generator) is never held whole, and polars' own (parallel) Parquet writer
    does the work (pyarrow's took twice as long on connector_prices). An exception raised by the iterable stops
    the write (the caller removes the file). No frames at all: an empty table.
    """
    rows = 0

    def source(*_: object) -> Iterator[pl.DataFrame]:
        nonlocal rows
        for frame in frames:
            _check_schema(schema, frame)
            rows += frame.height
            yield frame

    register_io_source(source, schema=schema.polars_schema).sink_parquet(
        file, compression="zstd", compression_level=1, statistics=True)
    return rows


def write_table(paths: DataPaths, schema: TableSchema, date: dt.date,
                frame: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
    """Write one table partition: staging file, then one atomic rename over the old file.

    ``frame`` may also be an iterable of frames (e.g. a generator computing the table chunk by
    chunk): they are written into the same single file as they come (see :func:`_write_frames`);
    the rename still happens once, after the last one. Returns the rows written.
    """
    if isinstance(frame, pl.DataFrame):
        _check_schema(schema, frame)
    staging = paths.table_staging(schema.name, date)
    staging.mkdir(parents=True, exist_ok=True)
    target_dir = paths.table_partition(schema.name, date)
    tmp = staging / part_name(0)
    try:
        if isinstance(frame, pl.DataFrame):
            frame.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
            rows = frame.height
        else:
            rows = _write_frames(schema, frame, tmp)
        # Created only now: an empty partition directory would count as a snapshot date for the views.
        target_dir.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target_dir / part_name(0))
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # a failed write (or a failing chunk producer) leaves no half file
        if not isinstance(exc, OSError):
            raise
        raise SnapshotError(
            f"cannot write table {schema.name} for {date} under {paths.tables_root}: "
            f"{exc.strerror or exc}; the previous version of that table is unchanged"
        ) from None
    for stale in target_dir.glob("part-*.parquet"):
        if stale.name != part_name(0):
            stale.unlink()
    try:
        staging.rmdir()
        staging.parent.rmdir()
    except OSError:
        pass  # another date is being staged for this table
    return rows


def write_computed_table(paths: DataPaths, name: str, date: dt.date,
                         frame: pl.LazyFrame | pl.DataFrame | Iterable[pl.DataFrame]) -> int:
    """Write a table that a later stage computes (``session_costs`` from the pricing engine).

    The caller hands the frames over; this module stays the only writer. ``frame`` may be lazy,
    eager or an iterable of frames (written chunk by chunk in bounded memory); the declared
    columns are selected in their declared order. Returns the rows written.
    """
    schema = table_schema(name)
    columns = schema.column_names
    data: pl.DataFrame | Iterable[pl.DataFrame]
    if isinstance(frame, pl.LazyFrame):
        data = frame.select(columns).collect()
    elif isinstance(frame, pl.DataFrame):
        data = frame.select(columns)
    else:
        data = (f.select(columns) for f in frame)
    return write_table(paths, schema, date, data)


# Columns of each table that the reference checks of count_orphans read.
_CONNECTOR_KEY = ["location_id", "evse_uid", "connector_id"]
REFERENCE_COLUMNS: dict[str, list[str]] = {
    "connector_prices": [*_CONNECTOR_KEY, "price_id"],
    "connectors": [*_CONNECTOR_KEY, "tariff_ids"],
    "prices": ["price_id"],
    "tariffs": ["tariff_id"],
    "evses": ["location_id"],
    "locations": ["location_id"],
}


def count_orphans(paths: DataPaths, date: dt.date, frames: Mapping[str, pl.DataFrame] | None = None,
                  records: Mapping[str, pl.DataFrame] | None = None) -> dict[str, int]:
    """Reference checks on the tables of ``date`` (only those whose tables exist).

    ``frames`` may hand in tables (at least their ``REFERENCE_COLUMNS``) that were just written,
    so they are not read back; the other tables are read from their files. ``records`` may hand
    in, per table, one row per source record with its record-key columns and ``_rows`` (how many
    rows of the table it gave): a reference on exactly those columns is then checked per record
    and the rows summed (connector_prices -> connectors: 304k records instead of 3.3M rows).
    """
    given = dict(frames or {})
    per_record = dict(records or {})
    have = set(given) | {name for name in ALL_TABLES if date in paths.table_dates(name)}

    def scan(name: str) -> pl.LazyFrame:
        return given[name].lazy() if name in given else scan_table(paths, name, date)

    def missing(source: str, target: pl.LazyFrame, on: list[str]) -> pl.LazyFrame:
        """How many rows of ``source`` have no match on ``on`` in ``target``."""
        if source in per_record and set(per_record[source].columns) == {*on, RECORD_ROWS}:
            return per_record[source].lazy().join(target, on=on, how="anti").select(pl.col(RECORD_ROWS).sum())
        return scan(source).join(target, on=on, how="anti").select(pl.len())

    checks: dict[str, pl.LazyFrame] = {}
    conn_key = _CONNECTOR_KEY
    if {"connector_prices", "connectors"} <= have:
        checks["connector_prices->connectors"] = missing(
            "connector_prices", scan("connectors").select(conn_key), conn_key)
    if {"connector_prices", "prices"} <= have:
        checks["connector_prices->prices"] = missing(
            "connector_prices", scan("prices").select("price_id"), ["price_id"])
    if {"connectors", "tariffs"} <= have:
        checks["connectors.tariff_ids->tariffs"] = (
            scan("connectors").select(pl.col("tariff_ids").alias("tariff_id")).explode("tariff_id")
            .drop_nulls().join(scan("tariffs").select("tariff_id"), on="tariff_id", how="anti")
            .select(pl.len()))
    if {"evses", "locations"} <= have:
        checks["evses->locations"] = missing("evses", scan("locations").select("location_id"), ["location_id"])
    names = list(checks)
    counts = pl.collect_all([checks[n] for n in names])
    return {n: int(c.item() or 0) for n, c in zip(names, counts, strict=True)}

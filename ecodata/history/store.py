"""A table's history as a change log: each kept day stores only the rows that changed.

Layout (see :mod:`ecodata.paths`): ``history/<table>/_history.json`` lists the kept days, oldest
first, each with its change file. The change file of the first kept day holds the whole table;
the file of every later day holds, against the previous kept day, the rows that were added or
changed (the full new row) and the keys that were removed (key columns only, ``_deleted`` true).
Every row also carries ``_snapshot_date`` (its day). A day's diff compares a 64-bit hash of each
row with the hash of the row of the same key the day before, both computed during the diff: a
stored hash column would be more than half of the first day's file (measured: 403 of 783 kB of
session_costs at demo scale), as 8 incompressible bytes per row.

The state of a day is, per key, the latest log entry up to that day unless it is a deletion.
A version of a row is valid from its day until the next entry of its key (derived in the views,
:mod:`ecodata.history.views`). Keys come from the table's schema; they are unique in a built
table (the build rejects later duplicates), and a null key value counts as a value.

Atomic: every write makes new files (a random token in the name), then replaces ``_history.json``
in one rename; only then are the files it no longer names removed. A reader sees the old list or
the new one, never half. Rebuildable: putting a day that already has later days rewrites the
next kept day's changes against the new state, so the later days keep their content; deleting a
day does the same; pruning rewrites the new first day as a whole table.

A hash equal by chance for two different rows (64 bits: about 1e-19 per changed row) would hide
that change; both sides are hashed in the same process, so equal rows always hash equally.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from ecodata.errors import StorageError
from ecodata.paths import DataPaths
from ecodata.storage import check_written, parquet_write
from ecodata.tables.schemas import TableSchema

FORMAT = 1
DAY = "_snapshot_date"
DELETED = "_deleted"
INTERNAL = (DAY, DELETED)
# How change files and the state cache are written. Row groups of 512k rows and 32 MB pages let
# the dictionaries and zstd span far more rows than polars' defaults (one dictionary per ~120k
# rows): a bench-scale day of connector_prices changes (333k rows) 2.60 -> 1.65 MB, the whole
# first day (3.3M rows) 14.2 -> 9.5 MB, at the same write time (2026-12-03). Level 9 saves 5 %
# more at twice the time; a row group stays a bounded read (~70 MB of connector_prices rows).
WRITE_OPTIONS: dict[str, Any] = {
    "compression": "zstd", "compression_level": 3, "row_group_size": 524_288, "data_page_size": 32 << 20,
}


@dataclass(frozen=True)
class DayEntry:
    """One kept day: its change file (relative to the table's history folder) and its counts."""

    date: dt.date
    file: str
    rows: int       # rows of the table on that day
    upserts: int    # rows added or changed against the previous kept day (all rows on the first)
    deletes: int    # keys removed against the previous kept day
    columns: str = ""  # the table's columns when the file was written (_columns_id); "" = not recorded


@dataclass(frozen=True)
class StateCache:
    """A copy of the newest kept day's table, so that the next day's diff reads that one file
    instead of the whole change log (whose size grows with the days). A whole table rather than
    row fingerprints: measured on 3.3M connector_prices rows, the table is 14 MB as Parquet, its
    fingerprints (four incompressible 64-bit hashes a row) 116 MB.

    A cache written for other columns (a column added to the schema since) is not used: the state
    is then read from the log, and a new cache written.
    """

    date: dt.date
    file: str
    columns: str  # the table's columns and dtypes when the cache was written (see _columns_id)


@dataclass
class History:
    """The kept days of one table, oldest first (the content of ``_history.json``)."""

    table: str
    key: tuple[str, ...]
    days: list[DayEntry] = field(default_factory=list)
    state: StateCache | None = None

    @property
    def dates(self) -> list[dt.date]:
        return [d.date for d in self.days]

    def entry(self, date: dt.date) -> DayEntry | None:
        return next((d for d in self.days if d.date == date), None)

    def before(self, date: dt.date) -> DayEntry | None:
        earlier = [d for d in self.days if d.date < date]
        return earlier[-1] if earlier else None

    def after(self, date: dt.date) -> DayEntry | None:
        return next((d for d in self.days if d.date > date), None)


def load(paths: DataPaths, schema: TableSchema) -> History:
    """The table's history list (empty when it has none yet)."""
    manifest = paths.history_manifest(schema.name)
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        days = [DayEntry(dt.date.fromisoformat(d["date"]), d["file"], int(d["rows"]), int(d["upserts"]),
                         int(d["deletes"]), str(d.get("columns", ""))) for d in data["days"]]
        cache = data.get("state")
        # a cache with a "polars" entry holds row fingerprints (an earlier form), not the table: unused
        state_cache = (StateCache(dt.date.fromisoformat(cache["date"]), cache["file"],
                                  cache.get("columns", "")) if cache and "polars" not in cache else None)
    except FileNotFoundError:
        return History(schema.name, schema.key)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"cannot read {manifest}: {exc}; restore it from a backup") from None
    return History(schema.name, schema.key, sorted(days, key=lambda d: d.date), state_cache)


def _save(paths: DataPaths, history: History) -> None:
    """Replace ``_history.json`` in one rename (fsynced first), then drop unreferenced change files."""
    manifest = paths.history_manifest(history.table)
    body = {"format": FORMAT, "table": history.table, "key": list(history.key),
            "days": [{"date": d.date.isoformat(), "file": d.file, "rows": d.rows, "upserts": d.upserts,
                      "deletes": d.deletes, **({"columns": d.columns} if d.columns else {})}
                     for d in history.days]}
    newest = history.days[-1].date if history.days else None
    if history.state is not None and history.state.date != newest:
        history.state = None  # a cache of a day that is no longer the newest kept one is never used
    if history.state is not None:
        body["state"] = {"date": history.state.date.isoformat(), "file": history.state.file,
                         "columns": history.state.columns}
    tmp = manifest.with_name(manifest.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            json.dump(body, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, manifest)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the history is unchanged; the caller reports the failed write
        raise
    keep = {d.file for d in history.days} | ({history.state.file} if history.state else set())
    for file in paths.history_dir(history.table).glob("*.parquet"):
        if file.name not in keep:
            file.unlink(missing_ok=True)


def _file(paths: DataPaths, table: str, entry: DayEntry) -> Path:
    return paths.history_dir(table) / entry.file


def _log(paths: DataPaths, schema: TableSchema, history: History, upto: dt.date) -> pl.LazyFrame:
    """Every log entry of the days up to ``upto``, oldest day first."""
    files = [_file(paths, schema.name, d) for d in history.days if d.date <= upto]
    # a column added to the schema later reads as null in the files written before it
    return pl.scan_parquet(files, schema=file_schema(schema), missing_columns="insert")


def file_schema(schema: TableSchema) -> pl.Schema:
    """Columns of a change file: the table's, then the day and the deletion mark."""
    return pl.Schema({**schema.polars_schema, DAY: pl.Date(), DELETED: pl.Boolean()})


def state(paths: DataPaths, schema: TableSchema, history: History, date: dt.date) -> pl.LazyFrame:
    """The table on a kept day (with the internal columns): per key the latest entry, unless deleted."""
    return (_log(paths, schema, history, date)
            .unique(subset=list(schema.key), keep="last", maintain_order=True)
            .filter(~pl.col(DELETED)))


def _dated(frame: pl.LazyFrame, schema: TableSchema, date: dt.date) -> pl.LazyFrame:
    return frame.select(schema.column_names).with_columns(pl.lit(date, pl.Date).alias(DAY),
                                                          pl.lit(False).alias(DELETED))


def _hashes(columns: list[str], prefix: str) -> list[pl.Expr]:
    """Two 64-bit hashes (different seeds) of ``columns``: a 128-bit fingerprint for joins."""
    return [pl.struct(columns).hash(seed=seed).alias(f"{prefix}{seed}") for seed in (1, 2)]


def _diff(schema: TableSchema, before: pl.LazyFrame | None, after: pl.LazyFrame, date: dt.date) -> pl.LazyFrame:
    """The change rows of ``date``: rows of ``after`` new or changed against ``before``, removed keys.

    ``after``'s day column is set to ``date``. ``before`` is the previous kept day's table (None:
    ``date`` is the first kept day). The joins are on 128-bit fingerprints, two 64-bit hashes of
    the whole row and of the key (measured on 3.3M connector_prices rows, 3x faster than the
    4-column string join); only the row fingerprints of ``before`` are held (16 bytes a row: its
    key columns as well would be ~4x that), the removed keys are found first by streaming
    ``before`` again against the fingerprints of ``after``'s keys.
    """
    key = list(schema.key)
    key_h, row_h = _hashes(key, "_k"), _hashes(schema.column_names, "_r")
    key_names, row_names = [e.meta.output_name() for e in key_h], [e.meta.output_name() for e in row_h]
    after = after.with_columns(pl.lit(date, pl.Date).alias(DAY))
    if before is None:
        return after
    prints = before.select(row_h).collect(engine="streaming")
    upserts = after.with_columns(row_h).join(prints.lazy(), on=row_names, how="anti").drop(row_names)
    # collected first (the removed keys are few): the two anti joins, each a hash table of 3.3M
    # fingerprints for connector_prices (~0.45 GB), then run one after the other, not at once
    removed = before.select(*key, *key_h).join(after.select(key_h), on=key_names, how="anti").collect(
        engine="streaming").lazy()
    deletes = removed.select(
        [pl.col(c) if c in key else pl.lit(None, schema.polars_schema[c]).alias(c) for c in schema.column_names]
    ).with_columns(pl.lit(date, pl.Date).alias(DAY), pl.lit(True).alias(DELETED))
    return pl.concat([upserts, deletes], how="vertical")


def _write(paths: DataPaths, schema: TableSchema, date: dt.date, changes: pl.LazyFrame, rows: int) -> DayEntry:
    """Write one day's change file (a new name) and return its entry; ``rows`` is the day's table size."""
    folder = paths.history_dir(schema.name)
    folder.mkdir(parents=True, exist_ok=True)
    file = paths.history_file(schema.name, date, secrets.token_hex(4))
    try:
        # streamed: the first day's file is the whole table, never held in memory at once
        with parquet_write(file):
            changes.select(file_schema(schema).names()).sink_parquet(file, statistics=True, **WRITE_OPTIONS)
        check_written(file, None)
        counts = pl.scan_parquet(file).select(pl.len(), pl.col(DELETED).sum()).collect()
    except BaseException:
        # no half file; the caller turns a failed write (OSError, polars' IO error) into one line
        # (ecodata.storage), and the history still lists the old files
        file.unlink(missing_ok=True)
        raise
    total, deletes = int(counts.item(0, 0)), int(counts.item(0, 1) or 0)
    return DayEntry(date, file.name, rows, total - deletes, deletes, _columns_id(schema))


def _replace(days: list[DayEntry], new: Iterator[DayEntry] | list[DayEntry]) -> list[DayEntry]:
    by_date = {d.date: d for d in days}
    by_date.update({d.date: d for d in new})
    return sorted(by_date.values(), key=lambda d: d.date)


def put_day(paths: DataPaths, schema: TableSchema, date: dt.date, table: pl.LazyFrame) -> DayEntry:
    """Record the whole table of ``date`` (new, or replacing that day) as its changes.

    When a later day is kept, its changes are rewritten against the new state so that its
    content stays what it was. Returns the day's entry.
    """
    history = load(paths, schema)
    previous, following = history.before(date), history.after(date)
    after = _dated(table, schema, date)
    rows = int(table.select(pl.len()).collect().item())
    before = _table_of(paths, schema, history, previous.date) if previous else None
    entry = _write(paths, schema, date, _diff(schema, before, after, date), rows)
    written = [entry]
    if following is not None:
        kept = state(paths, schema, history, following.date)
        written.append(_write(paths, schema, following.date,
                              _diff(schema, after, kept, following.date), following.rows))
    else:  # ``date`` is the newest kept day now: the next day's diff starts from its fingerprints
        history.state = _write_state(paths, schema, date, after)
    history.days = _stamp_columns(paths, schema, _replace(history.days, written))
    _save(paths, history)
    return entry


def _cached(paths: DataPaths, schema: TableSchema, history: History, date: dt.date) -> pl.LazyFrame | None:
    """The table of ``date`` (declared columns) from the state cache when the cache holds that
    kept day with the current columns, else None. The cache is the day's table as built (its rows
    in build order), the same rows :func:`state` derives from the log."""
    cache = history.state
    if cache is None or cache.date != date or cache.columns != _columns_id(schema) or history.entry(date) is None:
        return None
    return pl.scan_parquet(paths.history_dir(schema.name) / cache.file, schema=schema.polars_schema)


def _table_of(paths: DataPaths, schema: TableSchema, history: History, date: dt.date) -> pl.LazyFrame:
    """A kept day's table: from the state cache when it holds that day, else from the log."""
    cached = _cached(paths, schema, history, date)
    return cached if cached is not None else state(paths, schema, history, date)


def _write_state(paths: DataPaths, schema: TableSchema, date: dt.date, table: pl.LazyFrame) -> StateCache:
    """Write a copy of ``date``'s table (a new file; ``_save`` names it in the history)."""
    file = paths.history_state_file(schema.name, date, secrets.token_hex(4))
    try:
        with parquet_write(file):
            table.select(schema.column_names).sink_parquet(file, **WRITE_OPTIONS)
        check_written(file, None)
    except BaseException:
        file.unlink(missing_ok=True)
        raise
    return StateCache(date, file.name, _columns_id(schema))


def _columns_id(schema: TableSchema) -> str:
    return ",".join(f"{name}:{dtype}" for name, dtype in schema.polars_schema.items())


def _stamp_columns(paths: DataPaths, schema: TableSchema, days: list[DayEntry]) -> list[DayEntry]:
    """Record the columns of kept files written before the manifest recorded them (one footer
    read each, once): a file that has exactly the table's current columns is stamped with them, so
    an older history's views stop unifying by name; any other file stays unstamped."""
    current = _columns_id(schema)
    expected = dict(file_schema(schema))
    stamped = []
    for day in days:
        if not day.columns:
            found = dict(pl.read_parquet_schema(_file(paths, schema.name, day)))
            if found == expected:
                day = replace(day, columns=current)
        stamped.append(day)
    return stamped


def delete_day(paths: DataPaths, schema: TableSchema, date: dt.date) -> bool:
    """Drop one kept day from the history (the later days keep their content); False if not kept."""
    history = load(paths, schema)
    if history.entry(date) is None:
        return False
    previous, following = history.before(date), history.after(date)
    days = [d for d in history.days if d.date != date]
    if following is not None:
        kept = state(paths, schema, history, following.date)
        before = _table_of(paths, schema, history, previous.date) if previous else None
        rewritten = _write(paths, schema, following.date, _diff(schema, before, kept, following.date), following.rows)
        days = _replace(days, [rewritten])
    history.days = days
    _save(paths, history)
    return True


def prune(paths: DataPaths, schema: TableSchema, before: dt.date) -> list[dt.date]:
    """Drop the kept days before ``before``; the first day left is rewritten as its whole table."""
    history = load(paths, schema)
    dropped = [d.date for d in history.days if d.date < before]
    if not dropped:
        return []
    remaining = [d for d in history.days if d.date >= before]
    if remaining and remaining[0].date > history.days[0].date:
        first = remaining[0]
        whole = state(paths, schema, history, first.date)
        remaining[0] = _write(paths, schema, first.date, _diff(schema, None, whole, first.date), first.rows)
    history.days = remaining
    _save(paths, history)
    return dropped


def read_day(paths: DataPaths, schema: TableSchema, date: dt.date, *, from_log: bool = False) -> pl.LazyFrame:
    """The table as it was built for a kept day: its declared columns, no internal ones.

    ``from_log``: derive it from the change log even when the state cache holds the day (a
    verification of what the log reproduces)."""
    history = load(paths, schema)
    if history.entry(date) is None:
        raise StorageError(f"table {schema.name} keeps no day {date}")
    # the newest day (what a daily build reads back: reference checks, session costs) is one file;
    # any other day is derived from the log, whose size grows with the kept days
    cached = None if from_log else _cached(paths, schema, history, date)
    return cached if cached is not None else state(paths, schema, history, date).select(schema.column_names)


def change_files(paths: DataPaths, schema: TableSchema) -> list[tuple[dt.date, Path]]:
    """(day, change file) of every kept day, oldest first (for the views)."""
    return change_log(paths, schema)[0]


def change_log(paths: DataPaths, schema: TableSchema) -> tuple[list[tuple[dt.date, Path]], bool]:
    """:func:`change_files`, and whether every one of them was written with the table's current
    columns (then a reader needs no schema unification across the files: DuckDB's
    ``union_by_name`` reads every file's footer each time a view over them is bound, a cost that
    grows with the kept days)."""
    history = load(paths, schema)
    current = _columns_id(schema)
    return ([(d.date, _file(paths, schema.name, d)) for d in history.days],
            all(d.columns == current for d in history.days))

"""The only place that writes tables: a table day is staged whole, then recorded in its history.

A table day is staged as one file, ``tables/<table>/_staging/snapshot_date=D/part-00000.parquet``,
and committed into the table's history (:mod:`ecodata.history`), which keeps only what changed
against the previous kept day. Writing takes two steps, so that several tables can be replaced
together:

* :func:`stage_tables` writes each table's frames (one frame, or a stream of them computed chunk by
  chunk, never held whole) into the table's staging area and checks them against the declared
  schema (a frame that does not match is a bug in ecodata: ``RuntimeError``);
* :func:`commit` records each staged table in its history, with one atomic switch of the table's
  ``_history.json``, so a reader sees the old or the new table, never half of one.

:func:`write_table` does both for one table. An ``OSError`` (disk full, permission denied) becomes
:class:`~ecodata.errors.StorageError` after the half-written staging files are removed; the
previous partitions stay as they were.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import polars as pl
from polars.io.plugins import register_io_source

from ecodata.errors import StorageError
from ecodata.history import record_day
from ecodata.paths import DataPaths, part_name
from ecodata.storage import check_written, parquet_write, storage_failure, storage_message
from ecodata.tables.schemas import TableSchema

# Table Parquet is written with zstd level 1 (as the raw snapshot writer): about 30% faster to
# write than the default level 3, for a few percent more bytes.
_LEVEL = 1
_DONE = object()  # ends a table's stream of frames
_QUEUE_FRAMES = 2  # frames waiting per table writer: bounds the memory of a streamed write


class StagedTable(NamedTuple):
    """A table partition written to its staging file, not yet in place."""

    schema: TableSchema
    date: dt.date
    file: Path
    rows: int


class _Abort(Exception):
    """Ends a table writer's stream when the producer of the frames failed."""


def check_schema(schema: TableSchema, frame: pl.DataFrame) -> None:
    """Raise when ``frame``'s columns are not ``schema``'s: the code, not the data, is wrong."""
    if frame.schema != schema.polars_schema:
        raise RuntimeError(
            f"table {schema.name}: columns {dict(frame.schema)} do not match the declared schema; "
            "please report this bug"
        )


def _storage_error(schema: TableSchema, date: dt.date, paths: DataPaths, exc: OSError) -> StorageError:
    reason = storage_failure(exc) or exc.strerror or str(exc)
    return StorageError(storage_message(paths.root, f"the table {schema.name} of {date}", reason,
                                        "the previous version of that table is unchanged"))


def _sink(schema: TableSchema, frames: Iterable[pl.DataFrame], file: Path) -> int:
    """Write frames one after the other into one Parquet file; returns the row count.

    polars' streaming sink pulls the frames from the iterable as it writes, so a table computed
    chunk by chunk is never held whole, and polars' own (parallel) Parquet writer does the work
    (pyarrow's took twice as long on connector_prices). No frames at all: an empty table.
    """
    rows = 0

    def source(*_: object) -> Iterator[pl.DataFrame]:
        nonlocal rows
        for frame in frames:
            check_schema(schema, frame)
            rows += frame.height
            yield frame

    register_io_source(source, schema=schema.polars_schema).sink_parquet(
        file, compression="zstd", compression_level=_LEVEL, statistics=True)
    return rows


def _stage_one(paths: DataPaths, schema: TableSchema, date: dt.date,
               frame: pl.DataFrame | Iterable[pl.DataFrame]) -> StagedTable:
    staging = paths.table_staging(schema.name, date)
    staging.mkdir(parents=True, exist_ok=True)
    file = staging / part_name(0)
    try:
        with parquet_write(file):
            if isinstance(frame, pl.DataFrame):
                check_schema(schema, frame)
                frame.write_parquet(file, compression="zstd", compression_level=_LEVEL, statistics=True)
                rows = frame.height
            else:
                rows = _sink(schema, frame, file)
        check_written(file, rows)
    except BaseException as exc:
        discard([StagedTable(schema, date, file, 0)])
        if isinstance(exc, OSError):
            raise _storage_error(schema, date, paths, exc) from None
        raise
    return StagedTable(schema, date, file, rows)


def stage_tables(paths: DataPaths, schemas: Sequence[TableSchema], date: dt.date,
                 chunks: Iterable[Mapping[str, pl.DataFrame]]) -> dict[str, StagedTable]:
    """Stage several tables fed by one stream: each item of ``chunks`` holds a frame per table.

    Each table has its own writer thread (polars' sink releases the GIL), fed through a short
    queue, so the stream is consumed once and no table is held whole. When the stream or a writer
    fails, every staging file is removed and the error raised (an OSError as StorageError).
    """
    feeds: dict[str, queue.Queue[object]] = {s.name: queue.Queue(_QUEUE_FRAMES) for s in schemas}
    results: dict[str, StagedTable | BaseException] = {}

    def frames(name: str) -> Iterator[pl.DataFrame]:
        while (item := feeds[name].get()) is not _DONE:
            if isinstance(item, _Abort):
                raise item
            assert isinstance(item, pl.DataFrame)
            yield item

    def run(schema: TableSchema) -> None:
        try:
            results[schema.name] = _stage_one(paths, schema, date, frames(schema.name))
        except BaseException as exc:
            results[schema.name] = exc
            with contextlib.suppress(queue.Empty):  # unblock a producer waiting on this queue
                while True:
                    feeds[schema.name].get_nowait()

    def put(name: str, item: object) -> None:
        while True:
            if name in results:  # the writer ended early (failed): drop what it would get
                return
            with contextlib.suppress(queue.Full):
                feeds[name].put(item, timeout=0.1)
                return

    writers = [threading.Thread(target=run, args=(s,), name=f"stage-{s.name}", daemon=True) for s in schemas]
    for thread in writers:
        thread.start()
    failure: BaseException | None = None
    try:
        for chunk in chunks:
            if any(isinstance(r, BaseException) for r in results.values()):
                break
            for schema in schemas:
                put(schema.name, chunk[schema.name])
    except BaseException as exc:
        failure = exc
    for schema in schemas:
        put(schema.name, _Abort() if failure is not None else _DONE)
    for thread in writers:
        thread.join()
    errors = [r for r in results.values() if isinstance(r, BaseException) and not isinstance(r, _Abort)]
    staged = {name: r for name, r in results.items() if isinstance(r, StagedTable)}
    if failure is not None or errors:
        discard(list(staged.values()))
        raise failure if failure is not None else errors[0]
    return {s.name: staged[s.name] for s in schemas}


def commit(paths: DataPaths, staged: Sequence[StagedTable]) -> None:
    """Record staged tables in their history (:mod:`ecodata.history`: only what changed, one atomic
    switch per table), then remove the staged files and tidy the staging area."""
    for index, table in enumerate(staged):
        try:
            record_day(paths, table.schema, table.date, table.file)
        except OSError as exc:
            discard(staged[index:])
            raise _storage_error(table.schema, table.date, paths, exc) from None
        except BaseException:
            discard(staged[index:])
            raise
        discard([table])


def discard(staged: Sequence[StagedTable]) -> None:
    """Remove staged files that will not be committed (a failed or abandoned write)."""
    for table in staged:
        table.file.unlink(missing_ok=True)
        _tidy(table.file.parent)


def _tidy(staging: Path) -> None:
    """Remove the emptied staging folders (``tables/<t>/_staging/...`` up to ``tables/``)."""
    with contextlib.suppress(OSError):  # another date is being staged for this table
        staging.rmdir()
        staging.parent.rmdir()
        staging.parent.parent.rmdir()
        staging.parent.parent.parent.rmdir()


def write_table(paths: DataPaths, schema: TableSchema, date: dt.date,
                frame: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
    """Write one table partition: staging file, then one atomic rename over the old file.

    ``frame`` may also be an iterable of frames (e.g. a generator computing the table chunk by
    chunk): they are written into the same single file as they come; the rename happens once,
    after the last one. Returns the rows written. Example::

        write_table(paths, ALL_TABLES["prices"], date, frame)
    """
    staged = _stage_one(paths, schema, date, frame)
    commit(paths, [staged])
    return staged.rows



def write_tables(paths: DataPaths, date: dt.date, frames: Mapping[TableSchema, pl.DataFrame]) -> dict[str, int]:
    """Write several tables of one date that belong together: all staged, then all recorded.

    A failure while staging leaves every table as it was. Returns the rows written per table.
    Example: ``write_tables(paths, date, {SESSION_PRICE_COSTS: costs, SESSION_PROFILES: profiles})``.
    """
    schemas = list(frames)
    staged = stage_tables(paths, schemas, date, [{s.name: frame for s, frame in frames.items()}])
    commit(paths, list(staged.values()))
    return {name: table.rows for name, table in staged.items()}

"""``ecodata migrate``: convert the legacy layout (a full copy of every table per day) in place.

For each table and each legacy day, oldest first: the day's full partition is recorded in the
table's history (:func:`ecodata.history.store.put_day`), the history's table of that day is read
back and compared with the partition row by row (every column, exact), and only then is the
partition removed. Idempotent and resumable: a day whose partition is gone is done; a day whose
partition is still there (an interrupted run, or a crash between recording and removing) is
recorded again, which replaces it in the history, and verified again. Nothing else is touched.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ecodata.errors import StorageError
from ecodata.history import store
from ecodata.paths import STAGING_DIR, DataPaths
from ecodata.tables.schemas import ALL_TABLES, TableSchema


@dataclass
class MigrateReport:
    """What :func:`migrate` did: per table the legacy days converted."""

    converted: dict[str, list[dt.date]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        if not self.converted:
            return ["migrate: nothing to convert (no table in the old full-snapshot layout)"]
        days = sorted({d for dates in self.converted.values() for d in dates})
        return [f"migrate: {len(self.converted)} table(s), {len(days)} day(s) converted to the history layout, "
                "each verified row by row before its full copy was removed"]


def _canonical(frame: pl.DataFrame, schema: TableSchema) -> pl.DataFrame:
    sortable = [c.name for c in schema.columns if not isinstance(c.dtype, pl.List)]
    return frame.select(schema.column_names).sort(sortable, nulls_last=True)


def migrate_table_day(paths: DataPaths, schema: TableSchema, date: dt.date) -> None:
    """Record one legacy partition in the history, verify it exactly, then remove the partition."""
    partition = paths.table_partition(schema.name, date)
    files = sorted(partition.glob("*.parquet"))
    # (a legacy partition written before a column existed reads it as null)
    legacy = (pl.scan_parquet(files, schema=schema.polars_schema, missing_columns="insert") if files
              else schema.polars_schema.to_frame().lazy())
    store.put_day(paths, schema, date, legacy)
    expected = _canonical(legacy.collect(), schema)
    got = _canonical(store.read_day(paths, schema, date, from_log=True).collect(), schema)
    if not got.equals(expected):
        raise StorageError(f"migrate: the history of {schema.name} for {date} does not reproduce {partition}; "
                           "the full copy is kept, please report this bug")
    shutil.rmtree(partition)


def migrate(paths: DataPaths, *, after_day: Callable[[str, dt.date], None] | None = None) -> MigrateReport:
    """Convert every legacy table partition of ``paths`` into the history layout (see the module doc).

    ``after_day(table, date)`` is called after each converted day (progress, or a test's interruption).
    """
    report = MigrateReport()
    for name, schema in ALL_TABLES.items():
        for date in paths.legacy_table_dates(name):
            migrate_table_day(paths, schema, date)
            report.converted.setdefault(name, []).append(date)
            if after_day is not None:
                after_day(name, date)
        folder = paths.table_dir(name)
        if folder.is_dir():
            shutil.rmtree(folder / STAGING_DIR, ignore_errors=True)
            if not any(folder.iterdir()):
                folder.rmdir()
    if paths.tables_root.is_dir() and not any(paths.tables_root.iterdir()):
        paths.tables_root.rmdir()
    return report

"""History that grows with change: each table keeps, per day, only what changed.

The public entry points of the layer (the rest of ecodata calls only these):

* :func:`record_day`: ``tables/write.py`` hands over a day's whole table (a Parquet file) and the
  history stores its changes against the previous kept day (rewriting the next day's when a middle
  day is rebuilt);
* :func:`read_table`: the table of a kept day, exactly as it was built (``tables/reader.py``);
* :func:`delete_day` / :func:`prune`: drop one day, or every day before a date, from every table;
* :mod:`ecodata.history.views`: the SQL of ``<table>_changes/_versions/_history``, the latest view
  and ``<table>_as_of(date)``; :mod:`ecodata.history.migrate`: the legacy layout -> history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ecodata.errors import SnapshotError
from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.tables.schemas import ALL_TABLES, RETIRED_TABLES, TableSchema

__all__ = ["PruneReport", "day_rows", "delete_day", "prune", "read_table", "record_day", "require_history_layout"]


def record_day(paths: DataPaths, schema: TableSchema, date: dt.date, file: Path) -> int:
    """Record ``file`` (the whole table of ``date``, declared columns) in the table's history; rows."""
    return store.put_day(paths, schema, date, pl.scan_parquet(file, schema=schema.polars_schema)).rows


def read_table(paths: DataPaths, schema: TableSchema, date: dt.date) -> pl.LazyFrame:
    """The table of a kept day with its declared columns (lazy)."""
    return store.read_day(paths, schema, date)


def day_rows(paths: DataPaths, schema: TableSchema) -> dict[dt.date, int]:
    """Rows of the table on each kept day (from the history list, nothing is read)."""
    return {d.date: d.rows for d in store.load(paths, schema).days}


def delete_day(paths: DataPaths, date: dt.date) -> list[str]:
    """Delete one snapshot date from every table's history; returns the tables that had it."""
    return [name for name, schema in ALL_TABLES.items() if store.delete_day(paths, schema, date)]


@dataclass
class PruneReport:
    """What :func:`prune` dropped: per table the days removed."""

    before: dt.date
    dropped: dict[str, list[dt.date]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        days = sorted({d for dates in self.dropped.values() for d in dates})
        if not days:
            return [f"prune: no table keeps a day before {self.before}"]
        return [f"prune: dropped {len(days)} day(s) before {self.before} "
                f"({days[0]} .. {days[-1]}) from {len(self.dropped)} table(s)"]


def prune(paths: DataPaths, before: dt.date) -> PruneReport:
    """Drop every table's history before ``before`` (the first day kept becomes a whole table)."""
    report = PruneReport(before)
    for name, schema in ALL_TABLES.items():
        dropped = store.prune(paths, schema, before)
        if dropped:
            report.dropped[name] = dropped
    return report


def require_history_layout(paths: DataPaths) -> None:
    """Refuse a data directory that still holds full daily table partitions (the legacy layout) or
    a table that is now computed (``RETIRED_TABLES``: session_costs stored per connector)."""
    legacy = [name for name in [*ALL_TABLES, *RETIRED_TABLES] if paths.legacy_table_dates(name)]
    if legacy:
        raise SnapshotError(
            f"{paths.root} holds tables in the old full-snapshot layout ({paths.tables_root}/"
            f"{legacy[0]}/snapshot_date=...): run 'ecodata --data-dir {paths.root} migrate' once "
            "to convert it to the history layout (nothing is lost)")
    retired = [name for name in RETIRED_TABLES if paths.table_dates(name)]
    if retired:
        raise SnapshotError(
            f"{paths.root} holds {retired[0]} stored per connector, the old layout ({paths.history_dir(retired[0])}): "
            f"run 'ecodata --data-dir {paths.root} migrate' once to convert it to session_price_costs and "
            "session_profiles (each day is verified against the old rows before they are removed)")

"""``ecodata migrate``, second step: the old stored ``session_costs`` -> ``session_price_costs`` + ``session_profiles``.

Older data directories stored ``session_costs`` as one row per (connector, price, session): in
its history, or as full daily partitions of the legacy layout. Now the engine's distinct
(price, session, profile) costs and the connector kinds' profiles are stored, and the
``session_costs`` view joins them to the connectors. For each old day, oldest first:

1. the two tables are recomputed from that day's stored input tables, with the rates kept with
   the data directory (or ``ECODATA_FX_RATES_CSV``), the sessions file of the settings (only the
   sessions the old day priced) and the engine's rounding policy, and recorded in their history;
2. the ``session_costs`` view of that day is compared with the old rows, every column, exact
   decimals (``EXCEPT ALL`` both ways and the row counts, session by session);
3. only a verified legacy partition is removed; a day that does not verify is taken out of the
   new tables again and the migration stops with one error line, the old data untouched.

Once every day is verified the old history is removed (its ``_history.json`` first, so an
interruption leaves no half history). Idempotent and resumable: a rerun recomputes and re-verifies
the days still held in the old layout; with none left it does nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from ecodata.errors import StorageError
from ecodata.history import store
from ecodata.history import views as history_views
from ecodata.paths import DataPaths
from ecodata.pricing import SESSION_COST_INPUTS, session_cost_tables_of
from ecodata.settings import Settings
from ecodata.sql import memory_connection
from ecodata.tables.schemas import SESSION_COSTS, SESSION_PRICE_COSTS, SESSION_PROFILES
from ecodata.tables.write import write_tables

OLD = SESSION_COSTS
# DuckDB's memory while checking a day (the rest spills to disk), so the check stays within a small machine.
CHECK_MEMORY = "2GB"
# The old history's views in the checking connection (a name no view of ecodata uses).
_OLD_VIEW = dataclasses.replace(SESSION_COSTS, name="migrating_old_session_costs")


@dataclass
class CostsMigrateReport:
    """What :func:`migrate_session_costs` converted: the days and their rows."""

    rows: dict[dt.date, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        if not self.rows:
            return []
        days = sorted(self.rows)
        return [f"migrate: session_costs of {len(days)} day(s) ({days[0]} .. {days[-1]}, "
                f"{sum(self.rows.values()):,} rows) recomputed as session_price_costs + session_profiles, each day "
                "verified row by row against the stored rows before they were removed"]


def migrate_session_costs(settings: Settings, *,
                          after_day: Callable[[dt.date], None] | None = None) -> CostsMigrateReport:
    """Convert every day of the old stored ``session_costs`` (see the module doc).

    Run after the history migration (the input tables must be in the history layout).
    ``after_day(date)`` is called after each verified day (a test's interruption).
    """
    paths = DataPaths(settings.data_dir)
    report = CostsMigrateReport()
    legacy = set(paths.legacy_table_dates(OLD.name))
    kept = set(paths.table_dates(OLD.name))
    for day in sorted(legacy | kept):
        report.rows[day] = _convert_day(settings, paths, day, from_partition=day in legacy)
        if day in legacy:
            shutil.rmtree(paths.table_partition(OLD.name, day))
        if after_day is not None:
            after_day(day)
    _remove_old(paths)
    return report


def _convert_day(settings: Settings, paths: DataPaths, day: dt.date, *, from_partition: bool) -> int:
    """Recompute, record and verify one old day; returns its rows. Raises StorageError when it differs."""
    missing = [name for name in SESSION_COST_INPUTS if day not in paths.table_dates(name)]
    if missing:
        raise StorageError(f"migrate: session_costs of {day} cannot be recomputed, the data directory keeps no "
                           f"{', '.join(missing)} table for {day}; the old session_costs is kept (restore those "
                           f"tables, or drop the day with 'ecodata delete --date {day}' after the migration)")
    sessions = _old_sessions(paths, day, from_partition)
    price_costs, profiles = session_cost_tables_of(settings, day, only=sessions)
    write_tables(paths, day, {SESSION_PRICE_COSTS: price_costs, SESSION_PROFILES: profiles})
    old_rows, new_rows, missing_rows, extra_rows = _compare(paths, day, from_partition, sessions)
    if (old_rows, missing_rows, extra_rows) != (new_rows, 0, 0):
        for schema in (SESSION_PRICE_COSTS, SESSION_PROFILES):
            store.delete_day(paths, schema, day)
        raise StorageError(
            f"migrate: the recomputed session_costs of {day} differ from the stored ones ({old_rows:,} stored rows, "
            f"{new_rows:,} recomputed, {missing_rows:,} stored rows not reproduced, {extra_rows:,} new); the old "
            "session_costs is kept: run migrate with the sessions file (ECODATA_SESSIONS_TOML) and rates "
            "(ECODATA_FX_RATES_CSV) the data was built with")
    return old_rows


def _connection(paths: DataPaths, day: dt.date, from_partition: bool) -> duckdb.DuckDBPyConnection:
    """The views (the new tables included) plus ``old_day`` (the stored rows of ``day``) and
    ``new_day`` (the view's), both with the columns every old file holds: a table written before a
    column existed (e.g. the reservation parts) is checked on the columns it has."""
    con = memory_connection(paths, check_layout=False)
    if from_partition:
        files = sorted(paths.table_partition(OLD.name, day).glob("*.parquet"))
    else:
        files = [file for _, file in store.change_files(paths, OLD)]
    held = [c for c in OLD.columns if all(c.name in pl.read_parquet_schema(f) for f in files)]
    old_view = dataclasses.replace(_OLD_VIEW, columns=tuple(held))
    columns = ", ".join(old_view.column_names)
    if from_partition:
        listed = ", ".join("'" + str(f.resolve()).replace("'", "''") + "'" for f in files)
        source = f"SELECT {columns} FROM read_parquet([{listed}])" if files else \
            f"SELECT {columns} FROM session_costs WHERE false"
    elif (first := _first_day_file(paths, day)) is not None:
        # the first kept day's change file is that day's whole table (no deletions): read it as it is
        source = f"SELECT {columns} FROM read_parquet('{paths.history_relative(first)}')"
    else:
        days = store.change_files(paths, OLD)
        files_sql = [paths.history_relative(file) for _, file in days]
        dates = [d for d, _ in days]
        name = old_view.name
        con.execute(f"CREATE VIEW {name}_changes AS "
                    + history_views.changes_sql(old_view, files_sql, ""))
        con.execute(f"CREATE VIEW {name}_versions AS " + history_views.versions_sql(old_view, dates))
        con.execute(f"CREATE VIEW {name}_history AS " + history_views.history_sql(old_view, dates))
        source = f"SELECT {columns} FROM {name}_history WHERE snapshot_date = DATE '{day.isoformat()}'"
    con.execute(f"CREATE TEMP VIEW old_day AS {source}")
    con.execute(f"CREATE TEMP VIEW new_day AS SELECT {columns} FROM session_costs_history "
                f"WHERE snapshot_date = DATE '{day.isoformat()}'")
    return con


def _first_day_file(paths: DataPaths, day: dt.date) -> Path | None:
    """The old history's change file of ``day`` when it is the first kept day (the whole table)."""
    days = store.change_files(paths, OLD)
    return days[0][1] if days and days[0][0] == day else None


def _old_sessions(paths: DataPaths, day: dt.date, from_partition: bool) -> list[str]:
    """The sessions the old day priced."""
    if from_partition:
        files = sorted(paths.table_partition(OLD.name, day).glob("*.parquet"))
        rows = pl.scan_parquet(files, schema=OLD.polars_schema) if files else OLD.polars_schema.to_frame().lazy()
    elif (first := _first_day_file(paths, day)) is not None:
        rows = pl.scan_parquet(first).select("session")
    else:
        rows = store.read_day(paths, OLD, day)
    return sorted(rows.select(pl.col("session").unique()).collect()["session"].to_list())


def _compare(paths: DataPaths, day: dt.date, from_partition: bool,
             sessions: list[str]) -> tuple[int, int, int, int]:
    """(stored rows, recomputed rows, stored rows not reproduced, recomputed rows not stored).

    Session by session (the filter reaches both sides' scans, so each check holds a fifth of a day),
    with DuckDB within ``CHECK_MEMORY`` and spilling the rest to ``paths.scratch_dir``, which is
    removed afterwards (a bench-scale day is 8M rows a side).
    """
    con = _connection(paths, day, from_partition)
    scratch = paths.scratch_dir
    scratch.mkdir(exist_ok=True)
    totals = [0, 0, 0, 0]
    try:
        con.execute(f"SET memory_limit = '{CHECK_MEMORY}'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET temp_directory = '" + str(scratch.resolve()).replace("'", "''") + "'")
        # the sessions of both sides: a session only one side has counts as its rows differing
        found = {r[0] for r in con.execute("SELECT DISTINCT session FROM new_day").fetchall()}
        for session in sorted(set(sessions) | found):
            old = "(SELECT * FROM old_day WHERE session = $s)"
            new = "(SELECT * FROM new_day WHERE session = $s)"
            row = con.execute(
                f"SELECT (SELECT count(*) FROM {old}), (SELECT count(*) FROM {new}), "
                f"(SELECT count(*) FROM (SELECT * FROM {old} EXCEPT ALL SELECT * FROM {new})), "
                f"(SELECT count(*) FROM (SELECT * FROM {new} EXCEPT ALL SELECT * FROM {old}))",
                {"s": session}).fetchone()
            assert row is not None
            totals = [t + int(v) for t, v in zip(totals, row, strict=True)]
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return totals[0], totals[1], totals[2], totals[3]


def _remove_old(paths: DataPaths) -> None:
    """Remove the old history (its list first) and the emptied legacy folders."""
    history = paths.history_dir(OLD.name)
    paths.history_manifest(OLD.name).unlink(missing_ok=True)
    shutil.rmtree(history, ignore_errors=True)
    folder = paths.table_dir(OLD.name)
    if folder.is_dir() and not any(p.name.startswith("snapshot_date=") for p in folder.iterdir()):
        shutil.rmtree(folder)
    if paths.tables_root.is_dir() and not any(paths.tables_root.iterdir()):
        paths.tables_root.rmdir()

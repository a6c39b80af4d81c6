"""The SQL of a table's views over its change log (plan only; :mod:`ecodata.sql` creates them).

For a table ``t`` with kept days d1 < d2 < ... < dn:

* ``t_changes``: the stored log, one row per added, changed (``deleted`` false, the new row) or
  removed key (``deleted`` true) and day; the first kept day lists every row;
* ``t_versions``: every version of a row with ``valid_from`` (its day) and ``valid_to`` (the next
  kept day on which its key changed or went; null while current). ``valid_to`` needs a window only
  over the keys that changed after d1 (a semi join against the later days' changes), so its cost
  grows with the changes, not with the days;
* ``t_history``: one row per key per kept day (a version on every day of its validity), exactly
  the table each day's build wrote; ``t``: the versions valid on the table's latest date (dn,
  or an earlier day that the tables belonging together share), dated that day;
* the table macro ``t_as_of(date)``: the table as of a date (the latest kept day on or before it).

Paths are relative to the data directory, as for every view.
"""

from __future__ import annotations

import datetime as dt

from ecodata.history.store import DAY, DELETED
from ecodata.tables.schemas import TableSchema

DATES_VIEW = "table_dates"


def _dates_values(dates: list[dt.date]) -> str:
    return ", ".join(f"(DATE '{d.isoformat()}')" for d in dates)


def _same_key(schema: TableSchema, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" for k in schema.key)


def changes_sql(schema: TableSchema, files: list[str], empty_sql: str, *, uniform: bool = False) -> str:
    """``t_changes``: the log rows with ``snapshot_date`` and ``deleted``. ``uniform``: every file
    has the table's current columns, so the files are read by position (no ``union_by_name``,
    which binds by reading every file's footer); otherwise older files' missing columns read as null."""
    columns = ", ".join(schema.column_names)
    if not files:
        return f"-- {schema.name}: no snapshot written yet\n" + empty_sql.replace("CAST(NULL AS DATE) AS snapshot_date",
                                 "CAST(NULL AS DATE) AS snapshot_date, CAST(NULL AS BOOLEAN) AS deleted")
    listed = ", ".join(f"'{f}'" for f in files)
    options = "" if uniform else ", union_by_name = true"
    return f"SELECT {columns}, {DAY} AS snapshot_date, {DELETED} AS deleted\nFROM read_parquet([{listed}]{options})"


def versions_sql(schema: TableSchema, dates: list[dt.date]) -> str:
    """``t_versions``: each version with ``valid_from`` and ``valid_to`` (null = still valid)."""
    name = schema.name
    columns = ", ".join(f"log.{c}" for c in schema.column_names)
    key = ", ".join(schema.key)
    if not dates:
        return (f"SELECT {', '.join(schema.column_names)}, snapshot_date AS valid_from, "
                f"snapshot_date AS valid_to\nFROM {name}_changes")
    first = dates[0].isoformat()
    return (
        f"WITH log AS (\n    SELECT * FROM {name}_changes\n),\n"
        f"touched AS (\n    SELECT DISTINCT {key} FROM log WHERE snapshot_date > DATE '{first}'\n),\n"
        f"bounds AS (\n    SELECT {', '.join(f'log.{k}' for k in schema.key)}, log.snapshot_date AS valid_from,\n"
        f"        lead(log.snapshot_date) OVER (PARTITION BY {', '.join(f'log.{k}' for k in schema.key)} "
        f"ORDER BY log.snapshot_date) AS valid_to\n"
        f"    FROM log SEMI JOIN touched ON {_same_key(schema, 'log', 'touched')}\n)\n"
        f"SELECT {columns}, log.snapshot_date AS valid_from, b.valid_to\n"
        f"FROM log LEFT JOIN bounds AS b\n    ON {_same_key(schema, 'log', 'b')} AND b.valid_from = log.snapshot_date\n"
        "WHERE NOT log.deleted"
    )


def history_sql(schema: TableSchema, dates: list[dt.date]) -> str:
    """``t_history``: one row per key per kept day."""
    columns = ", ".join(f"v.{c}" for c in schema.column_names)
    if not dates:
        return f"SELECT {columns}, v.valid_from AS snapshot_date FROM {schema.name}_versions AS v"
    return (
        f"SELECT {columns}, d.snapshot_date\nFROM {schema.name}_versions AS v\n"
        f"JOIN (VALUES {_dates_values(dates)}) AS d(snapshot_date)\n"
        "    ON d.snapshot_date >= v.valid_from AND (v.valid_to IS NULL OR d.snapshot_date < v.valid_to)"
    )


def latest_sql(schema: TableSchema, latest: dt.date | None) -> str:
    """``t``: the versions valid on ``latest`` (the table's latest date, chosen by the caller so that
    tables that belong together show one date), dated that day; empty without history."""
    columns = ", ".join(schema.column_names)
    if latest is None:
        return f"SELECT {columns}, CAST(NULL AS DATE) AS snapshot_date\nFROM {schema.name}_versions\nWHERE false"
    day = f"DATE '{latest.isoformat()}'"
    return (f"SELECT {columns}, {day} AS snapshot_date\nFROM {schema.name}_versions\n"
            f"WHERE valid_from <= {day} AND (valid_to IS NULL OR valid_to > {day})")


def last_day_sql(dates: list[dt.date]) -> str:
    """A scalar subquery: the last of ``dates`` on or before the macro argument ``as_of`` (null if none)."""
    kept = f"(VALUES {_dates_values(dates)}) AS d(day)" if dates else "(SELECT CAST(NULL AS DATE) AS day) AS d"
    return f"(SELECT max(day) FROM {kept} WHERE day <= CAST(as_of AS DATE))"


def as_of_sql(schema: TableSchema, dates: list[dt.date]) -> str:
    """Body of the table macro ``t_as_of(as_of)``: the table on the last kept day on or before ``as_of``."""
    columns = ", ".join(f"v.{c}" for c in schema.column_names)
    kept = f"(VALUES {_dates_values(dates)}) AS d(day)" if dates else "(SELECT CAST(NULL AS DATE) AS day) AS d"
    return (
        f"SELECT {columns}, s.snapshot_date\nFROM {schema.name}_versions AS v,\n"
        f"    (SELECT max(day) AS snapshot_date FROM {kept} WHERE day <= CAST(as_of AS DATE)) AS s\n"
        "WHERE v.valid_from <= s.snapshot_date AND (v.valid_to IS NULL OR v.valid_to > s.snapshot_date)"
    )


def dates_sql(days: dict[str, list[dt.date]]) -> str:
    """``table_dates``: one row per table and kept day."""
    rows = [f"('{name}', DATE '{d.isoformat()}')" for name, dates in days.items() for d in dates]
    if not rows:
        return "SELECT CAST(NULL AS VARCHAR) AS table_name, CAST(NULL AS DATE) AS snapshot_date WHERE false"
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS t(table_name, snapshot_date)"

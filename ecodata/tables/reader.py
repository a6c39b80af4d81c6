"""Read written tables back as lazy polars frames, typed as declared in ``schemas`` (from their history)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ecodata.errors import ConfigError, SnapshotError
from ecodata.history import read_table
from ecodata.paths import DataPaths
from ecodata.tables.schemas import ALL_TABLES, VIEW_TABLES, TableSchema


def table_schema(name: str) -> TableSchema:
    """The declared schema of a table, or a ConfigError listing the known tables."""
    if name in VIEW_TABLES:
        raise ConfigError(f"{name} is a view over the stored tables, not a table: query it with SQL "
                          f"(ecodata sql \"SELECT * FROM {name}\", or Dataset.sql)")
    try:
        return ALL_TABLES[name]
    except KeyError:
        known = ", ".join(ALL_TABLES)
        raise ConfigError(f"unknown table {name!r}; the tables are: {known}") from None


def scan_table(paths: DataPaths, name: str, date: dt.date | None = None) -> pl.LazyFrame:
    """Lazily scan one date of a table (the newest when ``date`` is None), with ``snapshot_date``.

    Example::

        scan_table(DataPaths(Path("data")), "connectors").filter(pl.col("power_class") == "HPC")
    """
    schema = table_schema(name)
    dates = paths.table_dates(name)
    if date is None:
        if not dates:
            raise SnapshotError(f"table {name} has no snapshot in {paths.history_root}: run 'ecodata transform'")
        date = dates[-1]
    elif date not in dates:
        shown = ", ".join(d.isoformat() for d in dates) or "none"
        raise SnapshotError(f"table {name} has no snapshot for {date} (available: {shown})")
    return read_table(paths, schema, date).with_columns(pl.lit(date, dtype=pl.Date).alias("snapshot_date"))

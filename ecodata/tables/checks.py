"""Reference checks on written tables, derived from the ``references`` the schemas declare.

The real API has orphans (a connector price whose price is not served), so they are kept in the
tables and counted here, never dropped.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ecodata.paths import DataPaths
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import ALL_TABLES


def count_orphans(paths: DataPaths, date: dt.date) -> dict[str, int]:
    """For each declared reference whose two tables exist for ``date``: the rows pointing at nothing.

    A list column counts each item that points at nothing. Keys are the references' names
    (``connector_prices->prices``, ``connectors.tariff_ids->tariffs``).
    """
    have = {name for name in ALL_TABLES if date in paths.table_dates(name)}
    checks: dict[str, pl.LazyFrame] = {}
    for schema in ALL_TABLES.values():
        for ref in schema.references:
            if schema.name not in have or ref.target not in have:
                continue
            source = scan_table(paths, schema.name, date).select(
                pl.col(c).alias(t) for c, t in zip(ref.columns, ref.to, strict=True))
            if any(isinstance(schema.polars_schema[c], pl.List) for c in ref.columns):
                source = source.explode(list(ref.to)).drop_nulls()
            target = scan_table(paths, ref.target, date).select(ref.to)
            checks[ref.name(schema.name)] = source.join(target, on=list(ref.to), how="anti").select(pl.len())
    names = list(checks)
    counts = pl.collect_all([checks[n] for n in names])
    return {n: int(c.item()) for n, c in zip(names, counts, strict=True)}

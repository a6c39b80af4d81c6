"""``ecodata.open(data_dir)``: the tables as polars frames and the views as DuckDB SQL.

Example::

    import ecodata, polars as pl
    ds = ecodata.open("data")
    hpc = ds.table("connectors").filter(pl.col("power_class") == "HPC").collect()
    ds.sql("SELECT * FROM market_prices WHERE country_code = 'DE'").pl()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from ecodata.errors import ConfigError, ViewError
from ecodata.paths import DataPaths, parse_date
from ecodata.pricing import comparison_query
from ecodata.pricing.comparison import (
    compare_vehicle_session,
    missing_vehicle_session_message,
    with_eur_per_100km,
)
from ecodata.sql import memory_connection
from ecodata.tables.reader import scan_table, table_file
from ecodata.tables.schemas import ALL_TABLES


class Dataset:
    """One data directory: ``table()`` (lazy polars), ``sql()`` (DuckDB), ``snapshots()``."""

    def __init__(self, data_dir: str | Path, *, fx_rates_csv: str | Path | None = None) -> None:
        self.paths = DataPaths(Path(data_dir))
        self.fx_rates_csv = Path(fx_rates_csv) if fx_rates_csv is not None else None
        self._con: duckdb.DuckDBPyConnection | None = None
        if not self.paths.root.is_dir():
            raise ConfigError(f"data directory {self.paths.root} does not exist: run 'ecodata build' first "
                              "or pass the right --data-dir")

    def __repr__(self) -> str:
        return f"Dataset({str(self.paths.root)!r})"

    def table(self, name: str, date: dt.date | str | None = None) -> pl.LazyFrame:
        """One snapshot of a table (the newest by default) as a LazyFrame with ``snapshot_date``."""
        if isinstance(date, str):
            date = parse_date(date)
        return scan_table(self.paths, name, date)

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        """Run SQL against the views (fresh, in memory); ``.pl()`` turns the result into polars."""
        if self._con is None:
            self._con = memory_connection(self.paths, self.fx_rates_csv)
        try:
            return self._con.sql(query)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ViewError(f"the query failed: {first}") from None

    def snapshots(self) -> pl.DataFrame:
        """One row per table and snapshot date with the row count (from Parquet metadata)."""
        rows: list[tuple[dt.date, str, int]] = []
        for name in ALL_TABLES:
            for date in self.paths.table_dates(name):
                file = table_file(self.paths, name, date)
                count = pl.scan_parquet(file).select(pl.len()).collect().item() if Path(file).is_file() else 0
                rows.append((date, name, int(count)))
        return pl.DataFrame(
            rows, schema={"snapshot_date": pl.Date(), "table": pl.String(), "rows": pl.Int64()}, orient="row"
        ).sort("snapshot_date", "table")

    def close(self) -> None:
        """Close the DuckDB connection, if one was opened."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open(data_dir: str | Path = "data", *, fx_rates_csv: str | Path | None = None) -> Dataset:
    """Open a data directory built by ``ecodata build`` (or fetch + transform)."""
    return Dataset(data_dir, fx_rates_csv=fx_rates_csv)


def format_relation(relation: duckdb.DuckDBPyRelation, fmt: str = "table") -> str:
    """A query result as text: an aligned ``table``, ``csv`` (with header) or ``json`` (list of rows)."""
    return format_frame(relation.pl(), fmt)


def format_frame(frame: pl.DataFrame, fmt: str = "table") -> str:
    """A frame as text, as :func:`format_relation` formats a query result."""
    if fmt == "csv":
        return str(frame.write_csv()).rstrip("\n")
    if fmt == "json":
        return str(frame.write_json())
    if fmt == "table":
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=1000, fmt_str_lengths=80,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            return str(frame)
    raise ConfigError(f"unknown format {fmt!r}: use table, csv or json")


def run_sql(data_dir: str | Path, query: str, fmt: str = "table", fx_rates_csv: Path | None = None) -> str:
    """Run one SQL query against the views of ``data_dir`` and format the result (``ecodata sql``).

    A statement without a result (e.g. only a comment) prints nothing.
    """
    if not query.strip():
        raise ConfigError("the query is empty: give one, e.g. ecodata sql \"SELECT * FROM market_prices LIMIT 5\"")
    with open(data_dir, fx_rates_csv=fx_rates_csv) as dataset:
        relation: duckdb.DuckDBPyRelation | None = dataset.sql(query)
        return "" if relation is None else format_relation(relation, fmt)



@dataclass(frozen=True)
class Report:
    """A report's text (for stdout) and an optional note (for stderr: ``csv``/``json`` stay parseable)."""

    text: str
    note: str | None = None


def compare(data_dir: str | Path, *, sessions: Sequence[str] = (), countries: Sequence[str] = (),
            power_classes: Sequence[str] = (), fmt: str = "table", fx_rates_csv: Path | None = None,
            vehicle: str | None = None, soc: str = "10-80", vehicles_file: Path | None = None) -> Report:
    """The cross-market session-cost report (``ecodata compare``) as text: ``table``, ``csv`` or ``json``.

    Filters the ``session_cost_comparison`` view with :func:`ecodata.pricing.comparison_query`.
    When no row matches, the note says which countries, power classes and sessions the data has
    (the ``table`` format prints only that line). Example:
    ``compare("data", sessions=["HPC_10_80"], countries=["DE", "NL"], fmt="csv").text``.
    ``vehicle``/``soc`` add the vehicle session ``<VEHICLE>_<FROM>_<TO>`` (built from a sessions
    TOML) and its ``eur_per_100km_median`` at the vehicle's consumption (``vehicles_file``, else
    the shipped vehicles).
    """
    car = compare_vehicle_session(vehicle, soc, vehicles_file) if vehicle is not None else None
    if car is not None:
        sessions = (*sessions, car.name)
    query = comparison_query(sessions, countries, power_classes)
    with open(data_dir, fx_rates_csv=fx_rates_csv) as dataset:
        if sessions:
            # the sessions that were priced when the data was built (session_costs), not today's TOML
            known = set(dataset.sql("SELECT DISTINCT session FROM session_costs").pl()["session"].to_list())
            if car is not None and car.name not in known:
                raise ConfigError(missing_vehicle_session_message(car))
            unknown = [s for s in sessions if s not in known]
            if unknown:
                raise ConfigError(f"unknown session(s) {', '.join(unknown)}: the data has "
                                  f"{', '.join(sorted(known)) or 'no session costs (run ecodata build)'}")
        frame = dataset.sql(query).pl()
        if car is not None:
            frame = with_eur_per_100km(frame, car)
        text = format_frame(frame, fmt)
        if frame.height:
            return Report(text)
        note = _no_match_note(dataset, sessions, countries, power_classes)
    return Report(note if fmt == "table" else text, None if fmt == "table" else note)


def _no_match_note(dataset: Dataset, sessions: Sequence[str], countries: Sequence[str],
                   power_classes: Sequence[str]) -> str:
    """One line: the filters that matched nothing, and what the comparison does hold."""
    have = dataset.sql("SELECT DISTINCT country_code, power_class, session FROM session_cost_comparison").pl()
    if have.height == 0:
        return ("no rows: the latest snapshot has no session costs; run 'ecodata transform' "
                "(or 'ecodata build') for it")
    asked = [f"{what} {', '.join(v.upper() if what != 'session' else v for v in values)}"
             for what, values in (("session", sessions), ("country", countries), ("power class", power_classes))
             if values]

    def listed(column: str) -> str:
        return ", ".join(sorted(str(v) for v in have[column].unique().to_list() if v is not None)) or "none"

    return (f"no rows match {'; '.join(asked) or 'the filters'}: the data has countries {listed('country_code')}; "
            f"power classes {listed('power_class')}; sessions {listed('session')}")

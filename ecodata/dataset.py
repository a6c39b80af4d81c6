"""``ecodata.open(data_dir)``: a dataset for notebooks and jobs; ``ecodata.build(...)`` makes one.

Example::

    import ecodata, polars as pl
    ds = ecodata.open("data")
    ds.tables(), ds.views(), ds.dates("prices"), ds.schema("connectors")
    hpc = ds.table("connectors").filter(pl.col("power_class") == "HPC").collect()
    ds.sql("SELECT * FROM market_prices WHERE country_code = ?", params=["DE"]).pl()
    ds.compare(sessions=["HPC_10_80"], countries=["DE", "NL"])
    ds.lint()                        # suspicious prices and tariffs, one row per finding
    ds.raw("prices", "2026-06-01")   # that day's raw records, byte for byte

Two kinds of dated things live in a data directory, and each has one name here: **raw
snapshots** (what ``fetch`` downloaded, per endpoint: :meth:`Dataset.snapshots`, the same list
as ``ecodata snapshots``; :meth:`Dataset.raw` reads one) and **table partitions** (what ``transform`` wrote, per table:
:meth:`Dataset.partitions` and :meth:`Dataset.dates`). Everything returns data (polars frames,
DuckDB relations, lists); turning it into text is the command line's job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from ecodata.endpoints import ENDPOINTS
from ecodata.errors import ConfigError, SnapshotError, ValidationError, ViewError, first_line
from ecodata.history import day_rows
from ecodata.history import store as history_store
from ecodata.paths import DataPaths, parse_date
from ecodata.pricing import comparison_query
from ecodata.pricing.comparison import (
    compare_vehicle_session,
    missing_vehicle_session_message,
    with_eur_per_100km,
)
from ecodata.settings import Settings
from ecodata.snapshot import list_snapshots
from ecodata.snapshot.reader import read_raw
from ecodata.sql import open_views, view_names
from ecodata.sql.lint import lint_query
from ecodata.tables.dictionary import dtype_name
from ecodata.tables.reader import scan_table, table_schema
from ecodata.tables.schemas import ALL_TABLES

if TYPE_CHECKING:  # the pipeline (fetch, httpx) is imported by build() only: a reader does not pay for it
    from ecodata.pipeline import BuildReport

_SNAPSHOTS_SCHEMA = pl.Schema({
    "endpoint": pl.String(), "snapshot_date": pl.Date(), "status": pl.String(), "records": pl.Int64(),
    "pages": pl.Int64(), "bytes": pl.Int64(), "duplicates": pl.Int64(), "drift": pl.Boolean(),
    "run_id": pl.String(), "layout": pl.String(),
})
_PARTITIONS_SCHEMA = pl.Schema({"table": pl.String(), "snapshot_date": pl.Date(), "rows": pl.Int64()})
_SCHEMA_SCHEMA = pl.Schema({"column": pl.String(), "type": pl.String(), "key": pl.Boolean(), "doc": pl.String()})
_SNAPSHOT_DATE_DOC = "date of the snapshot the row belongs to (the hive partition)"


class Dataset:
    """One data directory built by ``ecodata build``: tables as polars, views as DuckDB SQL.

    ``location`` is a directory path (``str`` or ``Path``). Queries run on an in-memory DuckDB
    connection that reads the directory's views (``ecodata.duckdb`` when it matches the files, else
    views created fresh; see :func:`ecodata.sql.open_views`), with the EUR rates kept with the
    dataset; :meth:`close` (or a ``with`` block) releases it.

    ``location`` may also be the URL of a lake ``ecodata publish`` wrote (``s3://bucket/prefix``,
    ``gs://``, ``az://``; needs ``ecodata[s3]``...): the published views then read the objects
    through fsspec (:mod:`ecodata.lake.reader`). A lake has the tables and views (:meth:`sql`,
    :meth:`table`, :meth:`tables`, :meth:`dates`, :meth:`compare`, :meth:`lint`); the raw-snapshot
    methods (:meth:`snapshots`, :meth:`partitions`, :meth:`raw`) need a local data directory.
    """

    def __init__(self, location: str | Path) -> None:
        text = str(location)
        self._url: str | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        if "://" in text and not text.startswith("file://"):
            from ecodata.lake.reader import lake_connection

            self._con, target = lake_connection(text)
            self._url = target.url
            return
        self.paths = DataPaths(Path(text.removeprefix("file://")))
        if not self.paths.root.is_dir():
            raise ConfigError(f"data directory {self.paths.root} does not exist: run 'ecodata build' first "
                              "or pass the right --data-dir")

    def __repr__(self) -> str:
        return f"Dataset({self._url!r})" if self._url is not None else f"Dataset({str(self.paths.root)!r})"

    def _local(self) -> DataPaths:
        """The data directory's paths (a ConfigError for a published lake, which has no local files)."""
        if self._url is not None:
            raise ConfigError(f"{self._url} is a published lake: raw snapshots and table partitions are "
                              "read from a local data directory (use sql(), table(), compare() on a lake)")
        return self.paths

    # --- what is there ----------------------------------------------------------------------

    def tables(self) -> list[str]:
        """The tables that have at least one partition, in declaration order."""
        if self._url is not None:
            kept = set(self._rows("SELECT DISTINCT table_name FROM table_dates")["table_name"].to_list())
            return [name for name in ALL_TABLES if name in kept]
        return [name for name in ALL_TABLES if self._local().table_dates(name)]

    def views(self) -> list[str]:
        """Every view :meth:`sql` can query, in creation order (tables, ``*_history``, joined views)."""
        return view_names()

    def dates(self, table: str) -> list[dt.date]:
        """The snapshot dates for which ``table`` has a partition, oldest first."""
        table_schema(table)
        if self._url is not None:
            return self._lake_dates(table)
        return self._local().table_dates(table)

    def schema(self, table: str) -> pl.DataFrame:
        """The columns of ``table`` as :meth:`table` returns them: name, type, part of the key, meaning.

        Example: ``ds.schema("prices").filter(pl.col("key"))`` is the key of ``prices``.
        """
        declared = table_schema(table)
        rows = [(c.name, dtype_name(c.dtype), c.name in declared.key, c.doc) for c in declared.columns]
        rows.append(("snapshot_date", "date", False, _SNAPSHOT_DATE_DOC))
        return pl.DataFrame(rows, schema=_SCHEMA_SCHEMA, orient="row")

    def snapshots(self) -> pl.DataFrame:
        """Raw snapshots, one row per endpoint and date, as ``ecodata snapshots`` lists them.

        ``status`` is ``complete``, ``incomplete`` (an unfinished run in staging) or ``corrupt``;
        ``bytes`` is the size of the Parquet parts the fetch wrote, ``drift`` whether the server's
        data moved during the crawl, ``layout`` ``full`` (those parts) or ``compact`` (an index over
        the record store; :meth:`raw` reads both alike).
        """
        rows = [(s.endpoint, s.snapshot_date, s.status, s.records, s.pages, s.bytes, s.duplicates, s.drift,
                 s.run_id, s.layout) for s in list_snapshots(self._local())]
        return pl.DataFrame(rows, schema=_SNAPSHOTS_SCHEMA, orient="row")

    def partitions(self) -> pl.DataFrame:
        """Table days kept in the history, one row per table and snapshot date, with the row count
        (from the history list: nothing is read)."""
        rows: list[tuple[str, dt.date, int]] = []
        for name, schema in ALL_TABLES.items():
            for date, count in day_rows(self._local(), schema).items():
                rows.append((name, date, count))
        return pl.DataFrame(rows, schema=_PARTITIONS_SCHEMA, orient="row").sort("snapshot_date", "table")

    # --- reading ----------------------------------------------------------------------------

    def raw(self, endpoint: str, date: dt.date | str) -> pl.DataFrame:
        """The raw records of one endpoint and day, exactly as the fetch committed them.

        Columns of ``ecodata.snapshot.schema.RAW_SCHEMA`` (record JSON, record_key, page,
        page_index, request_url, fetched_at, api_version), in crawl order (page, page_index),
        whether the day is still full or compacted into the record store. Every file is checked
        against its manifest and each record of a compacted day against its hash: a damaged day
        is a :class:`SnapshotDamagedError` saying what to run, never different bytes.

        Example: ``ds.raw("prices", "2026-06-01").select("record_key", "record")``.
        """
        if endpoint not in ENDPOINTS:
            raise ConfigError(f"unknown endpoint {endpoint!r}; choose from {', '.join(ENDPOINTS)}")
        day = parse_date(date) if isinstance(date, str) else date
        paths = self._local()
        if day not in paths.raw_dates(endpoint):
            kept = paths.raw_dates(endpoint)
            have = f"it keeps {kept[0]} .. {kept[-1]}" if kept else "it has none"
            raise SnapshotError(f"no complete {endpoint} snapshot for {day} in {paths.root} ({have}): "
                                f"run 'ecodata fetch --endpoint {endpoint} --date {day}'")
        return read_raw(paths, endpoint, day)

    def table(self, name: str, date: dt.date | str | None = None) -> pl.LazyFrame:
        """One partition of a table (the newest by default) as a LazyFrame with ``snapshot_date``.

        The history's change files up to that day are checked against the declared schema first
        (Parquet metadata only), so a file of another layout (an older ecodata, a copy from
        elsewhere) is one :class:`ValidationError` here rather than a polars error when the frame
        is collected.
        """
        if isinstance(date, str):
            date = parse_date(date)
        if self._url is not None:
            return self._lake_table(name, date)
        paths = self._local()
        frame = scan_table(paths, name, date)
        day = date if date is not None else paths.table_dates(name)[-1]
        declared = history_store.file_schema(table_schema(name))
        for kept, file in history_store.change_files(paths, table_schema(name)):
            if kept > day:
                break
            found = pl.read_parquet_schema(file)
            if found != declared:
                differ = next((f"column {c}: the file has {found.get(c, 'no such column')}, declared {t}"
                               for c, t in declared.items() if found.get(c) != t),
                              f"extra columns {', '.join(c for c in found if c not in declared)}")
                raise ValidationError(f"table {name} for {day} does not fit its declared schema ({differ}): "
                                      f"rebuild it with 'ecodata transform --date {day}'")
        return frame

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyRelation | None:
        """Run SQL against the views; ``?`` / ``$name`` placeholders take ``params`` (DuckDB binds them).

        The query runs now, so an error in it (a bad cast, a missing view) is a :class:`ViewError`
        here and not later. The result is a DuckDB relation over the computed rows: ``.pl()``,
        ``.fetchall()``, ``.arrow()`` (and ``.df()`` with pandas installed). Only
        a query of nothing but comments returns None.

        Example: ``ds.sql("SELECT * FROM prices WHERE currency = $c", params={"c": "GBP"}).pl()``.
        """
        con = self._connection()
        try:
            relation = con.sql(query, params=params)
            return None if relation is None else con.from_arrow(relation.to_arrow_table())
        except duckdb.Error as exc:
            raise ViewError(f"the query failed: {first_line(exc)}") from None

    def compare(self, *, sessions: Sequence[str] = (), countries: Sequence[str] = (),
                power_classes: Sequence[str] = (), vehicle: str | None = None, soc: str = "10-80",
                vehicles_file: str | Path | None = None) -> pl.DataFrame:
        """Reference-session costs across markets: ``session_cost_comparison`` filtered (``ecodata compare``).

        Sessions are checked against those priced when the data was built; countries (2-letter
        codes) and power classes (AC, DC, HPC) are case-insensitive. No match is an empty frame.
        ``vehicle``/``soc`` add the vehicle session ``<VEHICLE>_<FROM>_<TO>`` (priced when a
        sessions TOML names it) and its ``eur_per_100km_median`` at the vehicle's consumption
        (``vehicles_file``, else the shipped vehicles).

        Example: ``ds.compare(sessions=["HPC_10_80"], countries=["DE", "NL"])``.
        """
        car = None
        if vehicle is not None:
            car = compare_vehicle_session(vehicle, soc, Path(vehicles_file) if vehicles_file is not None else None)
            sessions = (*sessions, car.name)
        query, params = comparison_query(sessions, countries, power_classes)
        if sessions:
            # the sessions that were priced when the data was built, not today's TOML: those of
            # session_price_costs (the costs some connector uses), the sessions of session_costs
            # without joining the view
            known = set(self._rows("SELECT DISTINCT session FROM session_price_costs")["session"].to_list())
            if car is not None and car.name not in known:
                raise ConfigError(missing_vehicle_session_message(car))
            unknown = [s for s in sessions if s not in known]
            if unknown:
                raise ConfigError(f"unknown session(s) {', '.join(unknown)}: the data has "
                                  f"{', '.join(sorted(known)) or 'no session costs (run ecodata build)'}")
        frame = self._rows(query, params)
        return with_eur_per_100km(frame, car) if car is not None else frame

    def lint(self, *, counts: bool = False) -> pl.DataFrame:
        """Suspicious price records and tariffs of the latest snapshot (``ecodata lint``).

        One row per finding of the ``price_lint`` view (source, price_id or tariff_id, party,
        element_index, component_index, rule, severity, message, snapshot_date); with ``counts``
        the ``price_lint_counts`` rows instead (per source, party and rule). The rules, their
        severities and why each matters are the rows of ``price_lint_rules`` (and the README).

        Example: ``ds.lint().filter(pl.col("severity") == "error")``.
        """
        return self._rows(lint_query(counts=counts))

    # --- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the DuckDB connection, if one was opened."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self._url is not None:
                raise ViewError(f"the dataset {self._url} is closed: open it again")
            self._con = open_views(self._local())
        return self._con

    def _lake_dates(self, table: str) -> list[dt.date]:
        rows = self._rows("SELECT snapshot_date FROM table_dates WHERE table_name = ? ORDER BY 1", [table])
        return list(rows["snapshot_date"].to_list())

    def _lake_table(self, name: str, date: dt.date | None) -> pl.LazyFrame:
        """A table of a lake, read by DuckDB through the lake's views (the latest view, or the as-of macro)."""
        table_schema(name)
        kept = self._lake_dates(name)
        if not kept:
            raise SnapshotError(f"table {name} has no snapshot in {self._url}: publish a built data directory")
        if date is not None and date not in kept:
            raise SnapshotError(f"table {name} has no snapshot for {date} in {self._url} "
                                f"(it keeps {kept[0]} .. {kept[-1]})")
        day = date or kept[-1]
        frame = self._rows(f"SELECT * FROM {name}_as_of(DATE '{day.isoformat()}')")
        return frame.cast(table_schema(name).polars_schema).lazy()  # the dtypes scan_table gives

    def _rows(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        relation = self.sql(query, params)
        if relation is None:  # pragma: no cover - every caller passes a SELECT
            raise ViewError(f"the query returned no result: {query}")
        frame: pl.DataFrame = relation.pl()
        return frame


def open(location: str | Path = "data") -> Dataset:
    """Open a data directory built by ``ecodata build`` (or fetch + transform).

    Example: ``with ecodata.open("data") as ds: ds.sql("SELECT count(*) FROM prices").fetchall()``.
    """
    return Dataset(location)


def build(settings: Settings | None = None, *, date: dt.date | str | None = None,
          endpoints: Sequence[str] | None = None, force: bool = False,
          progress: bool | None = False) -> BuildReport:
    """The daily job from Python: fetch + transform + session costs + views (``ecodata build``).

    ``settings`` defaults to ``Settings.from_env()`` (``ECODATA_TOKEN``, ``ECODATA_DATA_DIR``, ...);
    ``date`` to today (UTC). Failures raise :class:`ecodata.EcodataError` subclasses, whose
    ``exit_code`` is the command line's. Progress bars are off unless asked for.

    Example::

        report = ecodata.build(ecodata.Settings.from_env(data_dir="/srv/ecodata/data"))
        print("\\n".join(report.lines()))
        ds = ecodata.open("/srv/ecodata/data")
    """
    chosen = settings if settings is not None else Settings.from_env()
    day = parse_date(date) if isinstance(date, str) else date
    from ecodata.pipeline import build_dataset

    return build_dataset(chosen, day, endpoints, force=force, progress=progress)


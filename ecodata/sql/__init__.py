"""DuckDB views over the table files: plan (``view_sql``) separate from do (``create_views``).

Views, in creation order:

* per table, over its change log (:mod:`ecodata.history.views`): ``<table>_changes`` (what each
  kept day changed), ``<table>_versions`` (each row version with ``valid_from``/``valid_to``),
  ``<table>_history`` (one row per key per snapshot) and ``<table>`` (latest snapshot, with a
  ``snapshot_date`` column), generated from ``ecodata.tables.schemas``; a table without history yet
  gets empty views with the declared columns, so dependent views still work; then ``table_dates``
  (the kept days of every table) and the table macros ``<table>_as_of(date)``;
* ``fx_rates``: the euro reference rates (shipped or the user's CSV), embedded as ``VALUES``;
* the orphans views (``connector_price_orphans``), generated from the references the schemas
  declare (``sql/orphans.py``);
* every ``views/<name>.sql`` file of this package, ordered so that a view comes after the views it
  names. Other parts of ecodata add a view by adding a file there. A ``<name>_history.sql`` file
  without a ``<name>.sql`` twin also defines ``<name>``: the same query over the latest views
  (each ``<view>_history`` it reads becomes ``<view>``), so the logic is written once; such a
  query must join its inputs on ``snapshot_date``.

File paths inside the views are RELATIVE to the data directory (``history/<t>/<day>-<token>.parquet``),
so the directory can be moved. DuckDB resolves them against ``file_search_path`` (set by
:func:`connect`) or else the process's working directory: with the plain DuckDB CLI, run
``cd data && duckdb ecodata.duckdb``. "Latest" is fixed when the views are created: re-run
``ecodata views`` (``ecodata build`` does) after transforming a new date. The tables that belong
together (an endpoint's tables; the session-cost tables with their inputs) show one date in their
latest views, the newest on which all of them exist (:func:`latest_dates`).

``session_costs`` is not stored: ``views/session_costs_history.sql`` joins the stored
``session_price_costs`` (one row per distinct price, session and profile) and ``session_profiles``
to connector_prices x connectors x locations, and its macro ``session_costs_as_of(date)`` takes the
kept days of ``session_price_costs`` (:data:`DERIVED_MACROS`). ``price_by_hour`` is made the same way
from ``price_hour_costs`` (``views/price_by_hour_history.sql``, macro ``price_by_hour_as_of``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import uuid
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from ecodata.errors import ConfigError, StorageError, ViewError, first_line
from ecodata.fx import dataset_rates, keep_rates, load_rates, rates_sql
from ecodata.history import require_history_layout
from ecodata.history import store as history_store
from ecodata.history import views as history_views
from ecodata.lock import data_dir_lock
from ecodata.paths import DataPaths
from ecodata.pricing import SESSION_COST_INPUTS
from ecodata.settings import DEFAULT_LOCK_TIMEOUT_S
from ecodata.sql.orphans import orphan_views
from ecodata.storage import storage_errors, storage_failure, storage_message
from ecodata.tables.schemas import (
    ALL_TABLES,
    PRICE_HOUR_COSTS,
    SESSION_PRICE_COSTS,
    SESSION_PROFILES,
    VIEW_TABLES,
    TableSchema,
)
from ecodata.transform import TRANSFORMS

__all__ = ["connect", "create_views", "macro_names", "macro_sql", "memory_connection", "open_views", "view_names",
           "view_sql", "views_script"]

# The storage format of ecodata.duckdb: the oldest DuckDB release whose format every later one
# reads (1.0.0, format 64), so the DuckDB 1.x CLIs and BI tools open the file, not only the DuckDB
# that wrote it (2.0 writes format 69 by default). A file of views loses nothing by it.
STORAGE_VERSION = "v1.0.0"

# A scalar macro in ecodata.duckdb holding the SHA-256 of the views script it was written from: a
# reader uses the file's views only when the script it would write now is the same (see open_views).
FINGERPRINT_MACRO = "ecodata_views_sha256"
_ATTACHED = "views_file"

_VIEWS_PACKAGE = "ecodata.sql"
_VIEWS_DIR = "views"


@functools.cache
def _sql_files() -> dict[str, str]:
    """The views defined by ``views/*.sql``, with the latest twins of ``*_history`` files added
    (read once: they are the package's own files; callers never change the dict)."""
    folder = resources.files(_VIEWS_PACKAGE).joinpath(_VIEWS_DIR)
    files = {
        item.name.removesuffix(".sql"): item.read_text(encoding="utf-8")
        for item in folder.iterdir()
        if item.name.endswith(".sql")
    }
    generated = orphan_views()
    if clash := sorted(set(generated) & set(files)):
        raise RuntimeError(f"views/{clash[0]}.sql would replace a view generated from the schemas")
    files.update(generated)
    views = set(ALL_TABLES) | {name.removesuffix("_history") for name in files}
    history_ref = re.compile(rf"\b({'|'.join(sorted(map(re.escape, views)))})_history\b")
    for name, sql in list(files.items()):
        latest = name.removesuffix("_history")
        if latest != name and latest not in files:
            code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
            files[latest] = (f"-- {name} for the latest snapshot only (generated from {name}.sql)\n"
                             + history_ref.sub(r"\1", code).strip())
    return files


# per dialect: the name of each simple dtype, the list form, the datetime with and without a zone
_TYPE_NAMES: dict[str, tuple[dict[type[pl.DataType], str], str, str, str]] = {
    "duckdb": ({pl.String: "VARCHAR", pl.Int32: "INTEGER", pl.Int64: "BIGINT", pl.Float64: "DOUBLE",
                pl.Boolean: "BOOLEAN", pl.Date: "DATE", pl.Time: "TIME"}, "{}[]", "TIMESTAMPTZ", "TIMESTAMP"),
    "spark": ({pl.String: "STRING", pl.Int32: "INT", pl.Int64: "BIGINT", pl.Float64: "DOUBLE",
               pl.Boolean: "BOOLEAN", pl.Date: "DATE", pl.Time: "TIME(6)"}, "ARRAY<{}>", "TIMESTAMP", "TIMESTAMP_NTZ"),
}


def sql_type(dtype: pl.DataType, dialect: str = "duckdb") -> str:
    """The SQL type (DuckDB or Spark) that reads the Parquet column polars writes for a declared dtype."""
    simple, list_form, zoned, naive = _TYPE_NAMES[dialect]
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if isinstance(dtype, pl.List):
        inner = dtype.inner if isinstance(dtype.inner, pl.DataType) else dtype.inner()
        return list_form.format(sql_type(inner, dialect))
    if isinstance(dtype, pl.Datetime):
        return zoned if dtype.time_zone else naive
    for polars_type, name in simple.items():
        if isinstance(dtype, polars_type):
            return name
    raise ViewError(f"no {'DuckDB' if dialect == 'duckdb' else 'Spark'} type for polars dtype {dtype}")


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB type polars' Parquet writer produces for a declared column dtype."""
    return sql_type(dtype, "duckdb")


def _empty_table_sql(schema: TableSchema) -> str:
    columns = ",\n    ".join(f"CAST(NULL AS {duckdb_type(c.dtype)}) AS {c.name}" for c in schema.columns)
    return f"SELECT\n    {columns},\n    CAST(NULL AS DATE) AS snapshot_date\nWHERE false"


def _groups() -> list[set[str]]:
    """Tables whose latest views must show one snapshot date: each endpoint's tables, and
    the session-cost tables with their inputs; groups sharing a table are merged (one table has one latest
    date). Tables in no group (``rejects``) stand alone."""
    groups = [set(transform.tables) for transform in TRANSFORMS.values()]
    groups.append({SESSION_PRICE_COSTS.name, SESSION_PROFILES.name, PRICE_HOUR_COSTS.name, *SESSION_COST_INPUTS})
    merged: list[set[str]] = []
    for group in groups:
        overlapping = [m for m in merged if m & group]
        for m in overlapping:
            merged.remove(m)
            group |= m
        merged.append(group)
    grouped = set().union(*merged)
    return merged + [{name} for name in ALL_TABLES if name not in grouped]


def latest_dates(paths: DataPaths) -> dict[str, dt.date]:
    """The snapshot date each table's latest view shows (tables without files are left out).

    One date per group (see :func:`_groups`): the newest date on which every table of the group
    that has files at all has a partition, so ``connectors`` never shows a newer day than the
    ``connector_prices`` and ``session_price_costs`` beside it. When the tables of a group share no
    date (a directory built endpoint by endpoint on different days), each endpoint's tables show
    their newest common date instead, and a table outside every endpoint (the session-cost tables)
    its own newest.

    Example: ``latest_dates(DataPaths(Path("data")))["connectors"]``.
    """
    dates = {name: set(_history_of(paths, ALL_TABLES[name])[1]) for name in ALL_TABLES}
    latest: dict[str, dt.date] = {}
    for group in _groups():
        present = [name for name in sorted(group) if dates[name]]
        common = set.intersection(*(dates[name] for name in present)) if present else set()
        if common:
            latest.update(dict.fromkeys(present, max(common)))
            continue
        for name in present:  # no common date: fall back to the endpoint's own tables
            part = next((set(t.tables) for t in TRANSFORMS.values() if name in t.tables), {name})
            shared = set.intersection(*(dates[t] for t in part if dates[t]))
            latest[name] = max(shared) if shared else max(dates[name])
    return latest


def _table_history(schema: TableSchema, paths: DataPaths | None) -> tuple[list[str], list[dt.date], bool]:
    """A table's change files (relative to the data directory), kept days, and whether the files all
    have the table's current columns; placeholders without paths."""
    if paths is None:
        return [f"history/{schema.name}/<day>-<token>.parquet"], [], False
    files, dates, uniform = _history_of(paths, schema)
    return list(files), list(dates), uniform


_Log = tuple[tuple[str, ...], tuple[dt.date, ...], bool]


def _history_of(paths: DataPaths, schema: TableSchema) -> _Log:
    """:func:`_table_history` read once per version of the table's manifest: every view and macro
    of a script reads the same few manifests (a 30-day history's script read them 132 times)."""
    try:
        found = os.stat(paths.history_manifest(schema.name))
        # manifests are replaced whole (os.replace), so a new one has a new inode or mtime
        stamp = (found.st_ino, found.st_mtime_ns, found.st_size)
    except FileNotFoundError:
        stamp = (0, 0, 0)
    return _read_history(paths, schema, stamp)


@functools.lru_cache(maxsize=256)
def _read_history(paths: DataPaths, schema: TableSchema, stamp: tuple[int, int, int]) -> _Log:
    days, uniform = history_store.change_log(paths, schema)
    return tuple(paths.history_relative(file) for _, file in days), tuple(day for day, _ in days), uniform


def _table_view_sql(schema: TableSchema, paths: DataPaths | None, kind: str) -> str:
    """SQL of one of a table's views (``kind``: changes, versions, history, latest) over its change log."""
    files, dates, uniform = _table_history(schema, paths)
    if kind == "changes":
        return history_views.changes_sql(schema, files, _empty_table_sql(schema), uniform=uniform)
    if kind == "versions":
        return history_views.versions_sql(schema, dates)
    if kind == "history":
        return history_views.history_sql(schema, dates)
    latest = latest_dates(paths).get(schema.name) if paths is not None and dates else None
    return history_views.latest_sql(schema, latest)


_TABLE_VIEW_KINDS = {"changes": "_changes", "versions": "_versions", "history": "_history", "latest": ""}


# The as-of macros of the tables that are views (VIEW_TABLES): the stored table whose kept days they follow.
DERIVED_MACROS = {"session_costs_as_of": SESSION_PRICE_COSTS, "price_by_hour_as_of": PRICE_HOUR_COSTS}


def macro_names() -> list[str]:
    """The table macros: ``<table>_as_of(as_of)`` for every stored table and every table view."""
    return [f"{name}_as_of" for name in ALL_TABLES] + list(DERIVED_MACROS)


def macro_sql(name: str, paths: DataPaths | None = None) -> str:
    """The ``CREATE OR REPLACE MACRO`` statement of one table macro."""
    if name in DERIVED_MACROS:
        view = name.removesuffix("_as_of")
        _, dates, _ = _table_history(DERIVED_MACROS[name], paths)
        columns = ", ".join(VIEW_TABLES[view].column_names)
        return (f"CREATE OR REPLACE MACRO {name}(as_of) AS TABLE\nSELECT {columns}, snapshot_date\n"
                f"FROM {view}_history\nWHERE snapshot_date = {history_views.last_day_sql(dates)}")
    table = ALL_TABLES[name.removesuffix("_as_of")]
    _, dates, _ = _table_history(table, paths)
    return f"CREATE OR REPLACE MACRO {name}(as_of) AS TABLE\n{history_views.as_of_sql(table, dates)}"


def view_names() -> list[str]:
    """Every view in creation order (each after the views it depends on)."""
    return list(_view_order())


@functools.cache
def _view_order() -> tuple[str, ...]:
    base: list[str] = []
    for name in ALL_TABLES:
        base += [f"{name}_changes", f"{name}_versions", f"{name}_history", name]
    base += [history_views.DATES_VIEW, "fx_rates"]
    return (*base, *_dependency_order(_sql_files(), set(base)))


@functools.cache
def _hinted_views() -> tuple[str, ...]:
    """The views whose SQL marks a CTE ``[NOT] MATERIALIZED``, and every view that reads one, in view order.

    A view file in the 1.x-compatible storage (:data:`STORAGE_VERSION`) drops the hint when it is
    written (DuckDB 2.0 keeps it only in its own format), and without it ``price_changes`` over 10
    bench-scale days takes 62 s and 20 GB instead of 20 s and 8.8 GB: :func:`open_views` creates
    these views in memory from the shipped SQL instead of reading them from the file.
    """
    files = _sql_files()
    hinted = {name for name, sql in files.items() if re.search(r"\bAS\s+(NOT\s+)?MATERIALIZED\b", _code(sql), re.I)}
    order = _view_order()
    grew = True
    while grew:
        readers = {name for name in files if name not in hinted
                   and any(re.search(rf"\b{re.escape(h)}\b", _code(files[name])) for h in hinted)}
        grew = bool(readers)
        hinted |= readers
    return tuple(name for name in order if name in hinted)


def _dependency_order(files: dict[str, str], known: set[str]) -> list[str]:
    deps = {
        name: {other for other in files if other != name and re.search(rf"\b{re.escape(other)}\b", _code(sql))}
        for name, sql in files.items()
    }
    ordered: list[str] = []
    done = set(known)
    while len(ordered) < len(files):
        ready = sorted(n for n in files if n not in done and deps[n] <= done)
        if not ready:
            cycle = ", ".join(sorted(set(files) - done))
            raise ViewError(f"the views {cycle} depend on each other in a cycle; fix the .sql files")
        ordered += ready
        done.update(ready)
    return ordered


def _code(sql: str) -> str:
    """SQL without ``--`` comments, so a view named in a comment is not a dependency."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def view_sql(name: str, paths: DataPaths | None = None, fx_rates_csv: Path | None = None) -> str:
    """The SELECT behind one view. With ``paths``, table views reflect the files that exist there
    and ``fx_rates`` holds the rates kept with that directory unless ``fx_rates_csv`` is given.

    Example: ``print(view_sql("market_prices"))``.
    """
    for table in ALL_TABLES.values():
        for kind, suffix in _TABLE_VIEW_KINDS.items():
            if name == f"{table.name}{suffix}":
                return _table_view_sql(table, paths, kind)
    if name == history_views.DATES_VIEW:
        return history_views.dates_sql({t: list(_history_of(paths, ALL_TABLES[t])[1]) if paths else []
                                        for t in ALL_TABLES})
    if name == "fx_rates":
        if fx_rates_csv is None and paths is not None:
            fx_rates_csv = dataset_rates(paths)
        return rates_sql(load_rates(fx_rates_csv))
    files = _sql_files()
    if name not in files:
        raise ConfigError(f"unknown view {name!r}; the views are: {', '.join(view_names())}")
    return files[name].strip()


def views_script(paths: DataPaths | None = None, fx_rates_csv: Path | None = None) -> str:
    """Every ``CREATE OR REPLACE VIEW`` and table macro statement, in order (``ecodata views --sql``)."""
    views = [f"CREATE OR REPLACE VIEW {name} AS\n{view_sql(name, paths, fx_rates_csv)};" for name in view_names()]
    return "\n\n".join([*views, *(f"{macro_sql(name, paths)};" for name in macro_names())])


def create_views(con: duckdb.DuckDBPyConnection, paths: DataPaths, fx_rates_csv: Path | None = None, *,
                 check_layout: bool = True) -> list[str]:
    """Create every view on ``con`` (whose ``file_search_path`` must point at the data dir); names created.

    A data directory still in the legacy layout (full table copies per day, or the old stored
    session_costs) is refused with what to run, unless ``check_layout`` is False (``ecodata
    migrate`` checks its work through the views before the old data is removed).
    """
    if check_layout:
        require_history_layout(paths)
    names = view_names()
    for name in names:
        sql = view_sql(name, paths, fx_rates_csv)
        try:
            con.execute(f"CREATE OR REPLACE VIEW {name} AS\n{sql}")
        except duckdb.Error as exc:
            if (reason := storage_failure(exc)) is not None:
                raise StorageError(storage_message(paths.root, "the views", reason,
                                                   "the previous view file is unchanged")) from None
            raise ViewError(f"cannot create view {name}: {first_line(exc)}") from None
    for name in macro_names():
        try:
            con.execute(macro_sql(name, paths))
        except duckdb.Error as exc:
            raise ViewError(f"cannot create macro {name}: {first_line(exc)}") from None
    return names



def _point_at(con: duckdb.DuckDBPyConnection, paths: DataPaths) -> None:
    root = str(paths.root.resolve()).replace("'", "''")
    con.execute(f"SET file_search_path = '{root}'")
    # every view binds the change files of its tables again (each CREATE VIEW binds the views it
    # reads): with the footers cached, each file's is read once per connection (a third less CPU to
    # create the views of a 30-day demo history); the files are never rewritten under one name
    con.execute("SET parquet_metadata_cache = true")


def write_views(paths: DataPaths, fx_rates_csv: Path | None = None, *,
                lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> list[str]:
    """(Re)create ``<data>/ecodata.duckdb`` holding only the views; returns the view names.

    The data directory must exist: a mistyped ``--data-dir`` is an error, not a new directory.
    ``fx_rates_csv`` (validated) becomes the rates kept with the directory; without it the
    views use the kept rates (else the shipped ones).
    Holds the data directory's write lock (:mod:`ecodata.lock`). The file is built under a
    name of its own (``ecodata.duckdb.<pid>-<random>.tmp``) and renamed over the old one, so a
    reader opens the old or the new file, never half of one; a failure (e.g. a full disk)
    removes the temporary file and its ``.wal`` and leaves the old view file as it was. The
    file is written in DuckDB's storage format ``STORAGE_VERSION`` so DuckDB 1.x tools (CLI,
    BI connectors) open it too.
    """
    if not paths.root.is_dir():
        raise ConfigError(f"data directory {paths.root} does not exist: run 'ecodata build' first "
                          "or pass the right --data-dir")
    with data_dir_lock(paths, "views", timeout_s=lock_timeout_s):
        fx_rates_csv = keep_rates(paths, fx_rates_csv)
        target = paths.duckdb_path
        staging = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")
        try:
            with storage_errors(paths.root, "the views", "the previous view file is unchanged"):
                names = _write_view_file(staging, paths, fx_rates_csv)
                os.replace(staging, target)
        finally:
            staging.unlink(missing_ok=True)
            Path(f"{staging}.wal").unlink(missing_ok=True)
    return names


def _write_view_file(file: Path, paths: DataPaths, fx_rates_csv: Path | None) -> list[str]:
    """Create the views in a new DuckDB file ``file`` (in format ``STORAGE_VERSION``)."""
    con = duckdb.connect(":memory:")
    try:
        _point_at(con, paths)
        location = str(file).replace("'", "''")
        try:
            con.execute(f"ATTACH '{location}' AS views_file (STORAGE_VERSION '{STORAGE_VERSION}')")
            con.execute("USE views_file")
        except duckdb.Error as exc:
            raise _storage_or_view_error(exc, f"cannot create {file}") from None
        con.execute("BEGIN TRANSACTION")  # one commit for every view, not one each
        names = create_views(con, paths, fx_rates_csv)
        con.execute(f"CREATE OR REPLACE MACRO {FINGERPRINT_MACRO}() AS '{views_fingerprint(paths)}'")
        con.execute("COMMIT")
        try:
            con.execute("USE memory")
            con.execute("DETACH views_file")  # checkpoints: the views are in the file, no .wal left
        except duckdb.Error as exc:
            raise _storage_or_view_error(exc, f"cannot write {file}") from None
    finally:
        con.close()
    return names


def _storage_or_view_error(exc: duckdb.Error, what: str) -> Exception:
    """A DuckDB failure to write the file: the DuckDB error itself when it is the operating
    system's (``storage_errors`` turns it into a StorageError line), else a ViewError."""
    if storage_failure(exc) is not None:
        return exc
    return ViewError(f"{what}: {first_line(exc)}")


def connect(paths: DataPaths, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open ``<data>/ecodata.duckdb`` with relative paths resolved against the data directory."""
    if not paths.duckdb_path.is_file():
        raise ViewError(f"no views at {paths.duckdb_path}: run 'ecodata views' (or 'ecodata build') first")
    try:
        con = duckdb.connect(str(paths.duckdb_path), read_only=read_only)
    except duckdb.Error as exc:
        raise ViewError(f"cannot open {paths.duckdb_path}: {first_line(exc)}") from None
    _point_at(con, paths)
    return con


def views_fingerprint(paths: DataPaths) -> str:
    """SHA-256 of the views script for ``paths`` with the rates kept there: what the views are made of."""
    return hashlib.sha256(views_script(paths).encode()).hexdigest()


def open_views(paths: DataPaths) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that reads the views of ``paths``, cheaply when it can.

    When ``ecodata.duckdb`` was written from the very script the current files give (its
    :data:`FINGERPRINT_MACRO` matches :func:`views_fingerprint`), the file is attached read-only
    and searched after the connection's own catalog: a query binds only the views it reads,
    instead of every view being created (and bound over every kept day's files) first, which
    grows with the history. Otherwise (no file, an older ecodata's views, files changed since)
    the views are created fresh, as :func:`memory_connection` does. Either way the user's own
    views and tables go to the in-memory catalog.
    """
    require_history_layout(paths)
    if paths.duckdb_path.is_file():
        expected = views_fingerprint(paths)
        con = duckdb.connect(":memory:")
        _point_at(con, paths)
        location = str(paths.duckdb_path.resolve()).replace("'", "''")
        try:
            con.execute(f"ATTACH '{location}' AS {_ATTACHED} (READ_ONLY)")
            found = con.execute(f"SELECT {_ATTACHED}.main.{FINGERPRINT_MACRO}()").fetchone()
        except duckdb.Error:
            found = None  # no macro (written by an older ecodata) or not a DuckDB file we can read
        if found is not None and found[0] == expected:
            con.execute(f"SET search_path = 'memory.main,{_ATTACHED}.main'")
            for name in _hinted_views():
                con.execute(f"CREATE VIEW memory.main.{name} AS\n{view_sql(name, paths)}")
            return con
        con.close()
    return memory_connection(paths, check_layout=False)


def memory_connection(paths: DataPaths, fx_rates_csv: Path | None = None, *,
                      check_layout: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with fresh views over the tables in ``paths``."""
    con = duckdb.connect(":memory:")
    _point_at(con, paths)
    create_views(con, paths, fx_rates_csv, check_layout=check_layout)
    return con

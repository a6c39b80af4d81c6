"""The Spark SQL of every ecodata view and table function (plan only: no pyspark needed).

The single source is the DuckDB one (:mod:`ecodata.sql`): every view's DuckDB SELECT goes through
:func:`ecodata.spark.transpile.to_spark`, except

* the table files: per table a ``<table>_change_files`` view over exactly the change files its
  ``_history.json`` lists (a Hadoop glob ``history/<table>/{<file>,<file>}.parquet`` under the base
  location, read with the table's declared schema, so older files without a newer column read it
  as null); ``<table>_changes`` selects from it as the DuckDB view does from ``read_parquet``;
* the table macros ``<table>_as_of(as_of)``: temporary SQL table functions with the same name,
  argument and body (``SELECT * FROM prices_as_of(DATE '2026-06-01')``).

Every statement is temporary (``CREATE OR REPLACE TEMPORARY VIEW`` / ``FUNCTION``): the views live
in the Spark session that runs them.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ecodata.errors import ViewError
from ecodata.history.store import DAY, DELETED
from ecodata.paths import DataPaths
from ecodata.spark.transpile import to_spark
from ecodata.sql import DERIVED_MACROS, macro_names, macro_sql, sql_type, view_names, view_sql
from ecodata.tables.schemas import ALL_TABLES, VIEW_TABLES, TableSchema

__all__ = ["SETTINGS", "base_uri", "is_url", "statements", "views_script"]

# Session settings the views need: the TIME columns (price and tariff elements' start/end time)
# are read as Spark's TIME type, which Spark 4.1+ has behind this flag.
SETTINGS = {"spark.sql.timeType.enabled": "true"}

_FILES_SUFFIX = "_change_files"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_GLOB_SPECIAL = re.compile(r"([\\{}\[\]*?,])")


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is a URL (``s3a://``, ``file:///``, ``dbfs:/``...) rather than a local path."""
    return bool(_SCHEME.match(str(location)))


def base_uri(location: str | Path) -> str:
    """The base every file path is resolved against: a URL as given (``s3a://bucket/data``,
    ``file:///srv/data``, ``abfss://...``) without a trailing ``/``, a local directory as an
    absolute ``file://`` URL (Spark's default file system may be a cluster's, not the local one)."""
    text = str(location)
    if is_url(text):
        return text.rstrip("/")
    return "file://" + Path(text).expanduser().resolve().as_posix()


def _literal(text: str) -> str:
    """A Spark SQL string literal (backslash escapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _columns(schema: TableSchema) -> str:
    return ", ".join(f"`{c.name}` {sql_type(c.dtype, 'spark')}" for c in schema.columns)


def _files_view(schema: TableSchema, base: str, files: list[str]) -> str:
    """``<table>_change_files``: the listed change files, read with the declared columns."""
    folders = {str(PurePosixPath(f).parent) for f in files}
    if len(folders) != 1:
        raise ViewError(f"the change files of {schema.name} are not in one folder: {sorted(folders)}")
    folder = _GLOB_SPECIAL.sub(r"\\\1", f"{base}/{folders.pop()}")
    names = [_GLOB_SPECIAL.sub(r"\\\1", PurePosixPath(f).name) for f in files]
    pattern = f"{folder}/{{{','.join(names)}}}" if len(names) > 1 else f"{folder}/{names[0]}"
    return (f"CREATE OR REPLACE TEMPORARY VIEW {schema.name}{_FILES_SUFFIX} "
            f"({_columns(schema)}, `{DAY}` DATE, `{DELETED}` BOOLEAN)\n"
            f"USING parquet OPTIONS (path {_literal(pattern)})")


def _changes_sql(schema: TableSchema) -> str:
    columns = ", ".join(schema.column_names)
    return (f"SELECT {columns}, `{DAY}` AS snapshot_date, `{DELETED}` AS deleted\n"
            f"FROM {schema.name}{_FILES_SUFFIX}")


def spark_view_sql(name: str, paths: DataPaths, fx_rates_csv: Path | None = None) -> str:
    """The Spark SELECT of one view (the table files' own views excepted)."""
    if name.endswith("_changes") and name.removesuffix("_changes") in ALL_TABLES:
        table = ALL_TABLES[name.removesuffix("_changes")]
        if _files(table, paths):
            return _changes_sql(table)
    try:
        return to_spark(view_sql(name, paths, fx_rates_csv))
    except Exception as exc:  # a parse or rewrite failure is a bug in the shipped SQL or here
        raise ViewError(f"cannot transpile view {name} to Spark SQL: {exc}") from None


def _files(schema: TableSchema, paths: DataPaths) -> list[str]:
    from ecodata.history import store as history_store

    return [paths.history_relative(file) for _, file in history_store.change_files(paths, schema)]


def _function(name: str, paths: DataPaths) -> str:
    """``CREATE TEMPORARY FUNCTION <table>_as_of(as_of DATE) RETURNS TABLE (...)``: the table macro."""
    view = name.removesuffix("_as_of")
    schema = VIEW_TABLES[view] if name in DERIVED_MACROS else ALL_TABLES[view]
    body = macro_sql(name, paths).split(" AS TABLE\n", 1)[1]
    return (f"CREATE OR REPLACE TEMPORARY FUNCTION {name}(as_of DATE)\n"
            f"RETURNS TABLE ({_columns(schema)}, snapshot_date DATE)\nRETURN\n{to_spark(body, function=name)}")


def statements(location: str | Path, paths: DataPaths, fx_rates_csv: Path | None = None) -> list[tuple[str, str]]:
    """(name, statement) of every Spark view and table function in creation order, with the
    files that ``paths`` lists resolved against ``location`` (see :func:`base_uri`)."""
    base = base_uri(location)
    out: list[tuple[str, str]] = []
    for name in view_names():
        table = ALL_TABLES.get(name.removesuffix("_changes")) if name.endswith("_changes") else None
        if table is not None and (files := _files(table, paths)):
            out.append((f"{table.name}{_FILES_SUFFIX}", _files_view(table, base, files)))
            sql = _changes_sql(table)  # the list is read once: spark_view_sql would read it again
        else:
            sql = spark_view_sql(name, paths, fx_rates_csv)
        out.append((name, f"CREATE OR REPLACE TEMPORARY VIEW {name} AS\n{sql}"))
    out += [(name, _function(name, paths)) for name in macro_names()]
    return out


def views_script(location: str | Path, paths: DataPaths, fx_rates_csv: Path | None = None) -> str:
    """The whole Spark SQL script (``ecodata views --dialect spark``): the session settings, then
    every statement of :func:`statements`, each ending with ``;``."""
    settings = [f"SET {key} = {value};" for key, value in SETTINGS.items()]
    return "\n\n".join([*settings, *(f"{sql};" for _, sql in statements(location, paths, fx_rates_csv))])

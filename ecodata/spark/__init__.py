"""ecodata's views on Spark (and Databricks): the same views as DuckDB's, over the same files.

* :func:`register` creates every view and table function in a Spark session, over a data
  directory or its published copy (``s3a://``, ``abfss://``, ``gs://``, ``file://``, a local path);
* :func:`views_script` is the Spark SQL script itself (``ecodata views --dialect spark``), for a
  notebook or ``spark-sql`` session; it needs sqlglot, not pyspark;
* :func:`as_of` is the as-of form from Python (the SQL form is the table function
  ``<table>_as_of(DATE 'YYYY-MM-DD')``).

The views are translated from the DuckDB ones (:mod:`ecodata.spark.plan`), so both engines
give the same rows. The file lists come from each table's ``_history.json``: :func:`register`
reads them from the location itself (through Spark's file systems when it is a URL, so the
session's credentials for the bucket apply), :func:`views_script` from a local data directory.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecodata.errors import ConfigError, ViewError, first_line
from ecodata.paths import HISTORY_MANIFEST, DataPaths
from ecodata.spark.plan import SETTINGS, base_uri, is_url, statements, views_script
from ecodata.tables.schemas import ALL_TABLES, VIEW_TABLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["as_of", "register", "views_script"]


def register(spark: SparkSession, location: str | Path) -> list[str]:
    """Create every ecodata view and table function in ``spark`` over the dataset at ``location``
    (temporary: they last as long as the session); returns their names in creation order.

    Example::

        from pyspark.sql import SparkSession
        import ecodata.spark

        spark = SparkSession.builder.getOrCreate()
        ecodata.spark.register(spark, "s3a://my-bucket/ecodata")
        spark.sql("SELECT * FROM market_prices WHERE country_code = 'DE'").show()
    """
    from pyspark.errors import PySparkException

    for key, value in SETTINGS.items():
        spark.conf.set(key, value)
    with _manifests(spark, location) as paths:
        planned = statements(location, paths)
    for name, sql in planned:
        try:
            spark.sql(sql)
        except PySparkException as exc:
            raise ViewError(f"cannot create Spark view {name}: {first_line(exc)}") from None
    return [name for name, _ in planned]


def as_of(spark: SparkSession, table: str, date: dt.date | str) -> DataFrame:
    """The table (or ``session_costs``) as it was on ``date``: its last kept day on or before it
    (``snapshot_date`` says which), from the views :func:`register` created.

    Example: ``ecodata.spark.as_of(spark, "prices", "2026-06-01").count()``.
    """
    if table not in ALL_TABLES and table not in VIEW_TABLES:
        raise ConfigError(f"unknown table {table!r}; the tables are: {', '.join([*ALL_TABLES, *VIEW_TABLES])}")
    day = date if isinstance(date, dt.date) else _date(date)
    return spark.sql(f"SELECT * FROM {table}_as_of(DATE '{day.isoformat()}')")


def _date(text: str) -> dt.date:
    from ecodata.paths import parse_date

    return parse_date(text)


class _manifests:
    """The dataset's ``_history.json`` files (and ``fx_rates.csv``) as a :class:`DataPaths`: the
    directory itself when ``location`` is a local path, else a temporary copy read through Spark."""

    def __init__(self, spark: SparkSession, location: str | Path) -> None:
        self.spark = spark
        self.location = location
        self.scratch: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> DataPaths:
        base = base_uri(self.location)
        if not is_url(self.location):
            paths = DataPaths(Path(self.location))
            if not paths.history_root.is_dir():
                raise ConfigError(f"no ecodata dataset at {self.location}: its history/ folder is missing")
            from ecodata.history import require_history_layout

            require_history_layout(paths)
            return paths
        self.scratch = tempfile.TemporaryDirectory(prefix="ecodata-spark-")
        root = Path(self.scratch.name)
        found = [(name, text) for name in ALL_TABLES
                 for _, text in self._read(f"{base}/history/{name}/{HISTORY_MANIFEST}")]
        if not found:
            raise ConfigError(f"no ecodata dataset at {base}: no history/<table>/{HISTORY_MANIFEST} there")
        for table, text in found:
            (root / "history" / table).mkdir(parents=True, exist_ok=True)
            (root / "history" / table / HISTORY_MANIFEST).write_text(text, encoding="utf-8")
        for _, text in self._read(f"{base}/fx_rates.csv"):
            (root / "fx_rates.csv").write_text(text, encoding="utf-8")
        return DataPaths(root)

    def _read(self, url: str) -> list[tuple[str, str]]:
        """[(url, whole text)] of one file read through the session's Hadoop file systems (the
        bucket's credentials apply), [] when it does not exist. Not through a DataFrame reader:
        Spark's file listing leaves out names that start with '_' (``_history.json``)."""
        try:
            jvm: Any = self.spark._jvm
            conf = self.spark._jsc.hadoopConfiguration()
        except AttributeError:
            raise ConfigError("register() over a URL needs a classic Spark session (not Spark Connect): "
                              "run 'ecodata views --dialect spark --location URL' and execute the script") from None
        try:
            path = jvm.org.apache.hadoop.fs.Path(url)
            fs = path.getFileSystem(conf)
            if not fs.exists(path):
                return []
            stream = fs.open(path)
            try:
                text = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
            finally:
                stream.close()
        except Exception as exc:  # py4j reports the JVM's IOException (permissions, no such bucket...)
            raise ViewError(f"cannot read {url}: {first_line(exc)}") from None
        return [(url, str(text))]

    def __exit__(self, *exc: Any) -> None:
        if self.scratch is not None:
            self.scratch.cleanup()


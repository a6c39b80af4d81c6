"""Every view and table function on a local Spark session gives DuckDB's rows.

Each Spark result is written to Parquet by Spark and compared with DuckDB's in DuckDB (sorted, then
row by row: money exactly and as a decimal, floats within 1e-9, everything else equal); comparing
in Python took minutes for the 0.9M rows of price_by_hour_history. Each view, once written, is
re-pointed at its Parquet copy, so the views built on it read its rows instead of planning and
running the whole stack of views below them again (Spark does not reuse a view's result across
the references to it): view by view in creation order, each is checked on inputs that were
themselves checked.
"""

import datetime as dt
import re
from pathlib import Path

import pytest

from ecodata.paths import DataPaths
from ecodata.sql import macro_names, memory_connection, view_names

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def duck(demo_data):
    con = memory_connection(DataPaths(demo_data))
    yield con
    con.close()


@pytest.fixture(scope="module")
def lake(demo_data, tmp_path_factory):
    """The demo dataset as the team reads it: published (``ecodata publish``) to another directory."""
    from ecodata.lake import publish

    target = tmp_path_factory.mktemp("spark-lake") / "lake"
    publish(demo_data, str(target), progress=False)
    return target


@pytest.fixture(scope="module")
def registered(spark, lake):
    """Every view over the published lake, through a URL: the file lists read by Spark's file system."""
    import ecodata.spark

    return ecodata.spark.register(spark, f"file://{lake.resolve()}/")


class SparkCopies:
    """Each view's Spark rows written once to Parquet, in creation order; the view's name then reads them."""

    def __init__(self, spark, folder: Path) -> None:
        self.spark, self.folder = spark, folder
        self.done: dict[str, Path | Exception] = {}

    def path(self, name: str) -> Path:
        for earlier in view_names():  # the views a view reads are created before it
            if earlier not in self.done:
                self.done[earlier] = self._write(earlier)
            if earlier == name:
                break
        found = self.done[name]
        if isinstance(found, Exception):
            raise found
        return found

    def _write(self, name: str) -> Path | Exception:
        target = self.folder / name
        try:
            self.spark.table(name).write.parquet(str(target))
        except Exception as exc:  # reported by the test of this view; the views on it fail as well
            return exc
        self.spark.read.parquet(str(target)).createOrReplaceTempView(name)
        return target


@pytest.fixture(scope="module")
def copies(spark, registered, tmp_path_factory):
    return SparkCopies(spark, tmp_path_factory.mktemp("spark-views"))


def _kind(duck_type: str) -> str:
    """A column type up to width and precision: DuckDB's and Spark's (as DuckDB reads its Parquet)
    must agree on it (a decimal stays a decimal, never a float)."""
    kind = re.sub(r"DECIMAL\(\d+,\s*\d+\)", "DECIMAL", duck_type)
    kind = re.sub(r"\b(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)\b", "INT", kind)
    kind = re.sub(r"\bFLOAT\b", "DOUBLE", kind)
    kind = re.sub(r"\bTIMESTAMP( WITH TIME ZONE|_NS|_MS|_S)?\b", "TIMESTAMP", kind)
    return re.sub(r"\bTIME_NS\b", "TIME", kind)  # Spark writes TIME in nanoseconds


def assert_same_rows(duck, duck_query: str, spark_parquet: Path) -> None:
    """DuckDB's rows of ``duck_query`` and the rows Spark wrote to ``spark_parquet`` are the same."""
    spark_query = f"SELECT * FROM read_parquet('{spark_parquet}/*.parquet')"
    d_types = duck.execute(f"DESCRIBE {duck_query}").fetchall()
    s_types = duck.execute(f"DESCRIBE {spark_query}").fetchall()
    assert [(r[0], _kind(r[1])) for r in s_types] == [(r[0], _kind(r[1])) for r in d_types]
    columns = [(f'"{name}"', kind) for name, kind, *_ in d_types]
    # sorted by every column, floats rounded (a float's last digits may differ between the engines)
    order = ", ".join(f"round({c}, 6)" if kind == "DOUBLE" else c for c, kind in columns)
    same = " AND ".join(
        f"((d.{c} IS NULL AND s.{c} IS NULL) OR abs(d.{c} - s.{c}) <= 1e-9 + 1e-9 * abs(d.{c}))"
        if kind == "DOUBLE" else f"d.{c} IS NOT DISTINCT FROM s.{c}" for c, kind in columns)
    # one pass over each side: a row missing on either side (a count that differs) fails as a difference
    bad = duck.execute(f"""
        WITH d AS (SELECT *, row_number() OVER (ORDER BY {order} NULLS FIRST) AS _row FROM ({duck_query})),
             s AS (SELECT *, row_number() OVER (ORDER BY {order} NULLS FIRST) AS _row FROM ({spark_query}))
        SELECT d.*, s.* FROM d FULL JOIN s USING (_row)
        WHERE d._row IS NULL OR s._row IS NULL OR NOT ({same}) ORDER BY _row LIMIT 1""").fetchone()
    if bad is not None:
        counts = duck.execute(f"SELECT (SELECT count(*) FROM ({duck_query})), (SELECT count(*) FROM ({spark_query}))").fetchone()
        assert counts[1] == counts[0], f"Spark gives {counts[1]} rows, DuckDB {counts[0]}"
        n = len(columns) + 1
        names = [name for name, *_ in d_types]
        d_row, s_row = bad[:n - 1], bad[n:2 * n - 1]
        diff = [(c, s, d) for c, d, s in zip(names, d_row, s_row, strict=True) if d != s]
        pytest.fail(f"first differing row (DuckDB): {dict(zip(names, d_row, strict=True))}; (column, Spark, DuckDB): {diff}")


# Known differences (README "Spark and Databricks"); not strict: either engine may agree on a given day
_KNOWN = {
    "market_prices": "a *_mean_by_price mean on a half at the 6th decimal (summation order)",
}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.xfail(reason=_KNOWN[n], strict=False)) if n in _KNOWN else n
            for n in names]


@pytest.mark.parametrize("name", _params(view_names()))
def test_every_spark_view_gives_the_duckdb_rows(name, registered, copies, duck):
    assert name in registered
    assert_same_rows(duck, f"SELECT * FROM {name}", copies.path(name))


@pytest.mark.parametrize("name", _params(macro_names()))
def test_every_as_of_function_gives_the_duckdb_macro_rows(name, registered, copies, spark, duck, tmp_path):
    copies.path(view_names()[-1])  # every view on its checked rows
    # the first kept day: the latest views already show the last one
    first = duck.execute("SELECT min(snapshot_date) FROM table_dates").fetchone()[0]
    query = f"SELECT * FROM {name}(DATE '{first}')"
    spark.sql(query).write.parquet(str(tmp_path / name))
    assert_same_rows(duck, query, tmp_path / name)


def test_register_over_a_local_directory_and_as_of_from_python(spark, demo_data, duck, registered):
    import ecodata.spark

    names = ecodata.spark.register(spark, demo_data)  # the data directory itself, a plain path
    assert names == registered
    assert spark.table("connector_prices").count() == duck.execute("SELECT count(*) FROM connector_prices").fetchone()[0]
    first = duck.execute("SELECT min(snapshot_date) FROM table_dates").fetchone()[0]
    frame = ecodata.spark.as_of(spark, "prices", first.isoformat())
    expected = duck.execute(f"SELECT count(*), max(snapshot_date) FROM prices_as_of(DATE '{first}')").fetchone()
    assert (frame.count(), frame.agg({"snapshot_date": "max"}).collect()[0][0]) == expected
    assert ecodata.spark.as_of(spark, "prices", first - dt.timedelta(days=1)).count() == 0  # before every kept day


def test_register_where_there_is_no_dataset_is_one_error(spark, tmp_path):
    import ecodata.spark
    from ecodata.errors import ConfigError

    with pytest.raises(ConfigError, match="no ecodata dataset at"):
        ecodata.spark.register(spark, tmp_path)
    with pytest.raises(ConfigError, match="no ecodata dataset at file://"):
        ecodata.spark.register(spark, f"file://{tmp_path}")
    with pytest.raises(ConfigError, match="unknown table"):
        ecodata.spark.as_of(spark, "nope", "2026-06-01")

import datetime as dt
import math

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
def registered(spark, demo_data):
    import ecodata.spark

    return ecodata.spark.register(spark, demo_data)


def _value(v):
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)  # Spark shows TIMESTAMP in the session zone (UTC)
    if isinstance(v, list):
        return tuple(_value(x) for x in v)
    return v


def _key(row):
    return tuple((0, "") if v is None else (1, round(v, 6) if isinstance(v, float) else v) for v in row)


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    # money exactly: a decimal stays a decimal with the same value (1.50 == 1.5, never a float)
    return type(a) is type(b) and a == b


def assert_same_rows(duck_columns, duck_rows, spark_frame):
    assert spark_frame.columns == duck_columns
    spark_rows = sorted((tuple(_value(v) for v in row) for row in spark_frame.collect()), key=_key)
    duck_rows = sorted((tuple(_value(v) for v in row) for row in duck_rows), key=_key)
    assert len(spark_rows) == len(duck_rows)
    for s_row, d_row in zip(spark_rows, duck_rows, strict=True):
        bad = [(c, s, d, type(s).__name__, type(d).__name__) for c, s, d in zip(duck_columns, s_row, d_row, strict=True) if not _same(s, d)]
        assert not bad, f"first differing row: {dict(zip(duck_columns, d_row, strict=True))}: {bad}"


# Known differences (README "Spark and Databricks"); not strict: either engine may agree on a given day
_KNOWN = {
    "market_prices": "a *_mean_by_price mean on a half at the 6th decimal (summation order)",
    # registered since 2026-12-03 (range(24) had no Spark translation before): 6.8M rows on the demo's two
    # days (3.4M for one), too many to compare row by row within the 300 s test timeout on 2 cores
    "price_by_hour_history": "6.8M rows: the row-by-row comparison exceeds the test timeout",
    "price_by_hour": "3.4M rows: the row-by-row comparison may exceed the test timeout",
    "price_by_hour_as_of": "3.4M rows: the row-by-row comparison may exceed the test timeout",
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=_KNOWN[n], strict=False))
                                  if n in _KNOWN else n for n in view_names()])
def test_every_spark_view_gives_the_duckdb_rows(name, registered, spark, duck):
    assert name in registered
    # cached once computed: the views built on this one then read its rows instead of running the
    # whole stack of views below them again (same rows, a fraction of the time)
    spark.sql(f"CACHE TABLE {name}")
    result = duck.execute(f"SELECT * FROM {name}")
    columns = [d[0] for d in result.description]
    assert_same_rows(columns, result.fetchall(), spark.table(name))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=_KNOWN[n], strict=False))
                                  if n in _KNOWN else n for n in macro_names()])
def test_every_as_of_function_gives_the_duckdb_macro_rows(name, registered, spark, duck, demo_data):
    # the first kept day: the latest views already show the last one
    first = duck.execute("SELECT min(snapshot_date) FROM table_dates").fetchone()[0]
    result = duck.execute(f"SELECT * FROM {name}(DATE '{first}')")
    columns = [d[0] for d in result.description]
    assert_same_rows(columns, result.fetchall(), spark.sql(f"SELECT * FROM {name}(DATE '{first}')"))


def test_register_over_a_url_reads_the_file_lists_through_spark(spark, demo_data, duck, registered):
    import ecodata.spark

    names = ecodata.spark.register(spark, f"file://{demo_data.resolve()}/")
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

import re

import pytest
from click.testing import CliRunner

from ecodata.cli import cli
from ecodata.history import store as history_store
from ecodata.paths import DataPaths
from ecodata.spark.plan import base_uri, is_url, statements
from ecodata.spark.transpile import to_spark
from ecodata.sql import macro_names, view_names
from ecodata.tables.schemas import ALL_TABLES


def _flat(sql):
    return re.sub(r" \)", ")", re.sub(r"\( ", "(", " ".join(sql.split())))


def test_asof_join_becomes_a_left_join_on_each_rates_validity_range():
    sql = _flat(to_spark("SELECT d.x, r.rate FROM d ASOF LEFT JOIN fx AS r ON r.cur = d.cur AND d.day >= r.day"))
    assert "ASOF" not in sql
    assert ("LEFT JOIN (SELECT *, LEAD(day) OVER (PARTITION BY cur ORDER BY day NULLS LAST) AS _asof_next "
            "FROM fx) AS r ON (r.cur = d.cur AND d.day >= r.day) AND (r._asof_next IS NULL OR d.day < r._asof_next)") in sql


@pytest.mark.parametrize(("duckdb", "spark"), [
    ("SELECT quantile_cont(x, 0.9) FROM t", "SELECT PERCENTILE(x, 0.9) FROM t"),
    ("SELECT a / b FROM t", "SELECT TRY_DIVIDE(CAST(a AS DOUBLE), b) FROM t"),
    ("SELECT len(l) FROM t", "SELECT ARRAY_SIZE(l) FROM t"),
    ("SELECT format('{} is {}', a, b) FROM t",
     "SELECT FORMAT_STRING('%s is %s', CAST(a AS STRING), CAST(b AS STRING)) FROM t"),
    ("SELECT list_has_all(a, b) FROM t", "SELECT (ARRAY_SIZE(ARRAY_EXCEPT(b, a)) = 0) FROM t"),
    ("WITH c AS MATERIALIZED (SELECT 1 AS x) SELECT x FROM c", "WITH c AS (SELECT 1 AS x) SELECT x FROM c"),
    ("SELECT round(x, 4) FROM t", "SELECT TRY_DIVIDE(ROUND((x) * 10000, 0), 10000) FROM t"),
    ("SELECT TIME '00:00' AS t", "SELECT CAST('00:00' AS TIME) AS t"),
    ("SELECT a FROM t SEMI JOIN u ON t.k IS NOT DISTINCT FROM u.k", "SELECT a FROM t SEMI JOIN u ON t.k IS NOT DISTINCT FROM u.k"),
    # inside a rewritten node the rewrites still apply (a replacement's children are not visited again)
    ("SELECT round(quantile_cont(round(x * 10000), 0.5)) / 10000 FROM t",
     "SELECT TRY_DIVIDE(CAST(ROUND(PERCENTILE(ROUND(x * 10000), 0.5)) AS DOUBLE), 10000) FROM t"),
    ("SELECT avg(a / b) FROM t", "SELECT AVG(CAST(TRY_DIVIDE(CAST(a AS DOUBLE), b) AS DOUBLE)) FROM t"),
])
def test_duckdb_only_constructs_are_rewritten(duckdb, spark):
    assert _flat(to_spark(duckdb)) == spark


def test_grouping_of_two_columns_is_the_same_bit_mask():
    sql = _flat(to_spark("SELECT GROUPING(a, b) AS k FROM t GROUP BY GROUPING SETS ((a), (b))"))
    assert sql.startswith("SELECT ((GROUPING(a)) * 2 + GROUPING(b)) AS k")


def test_union_by_name_lists_both_sides_columns_in_duckdb_order():
    sql = _flat(to_spark("SELECT 'p' AS source, * EXCLUDE (price_id, restrictions_json) FROM price_elements "
                         "UNION ALL BY NAME SELECT 't' AS source, tariff_id, element_index FROM tariff_elements"))
    assert "BY NAME" not in sql
    first, second = sql.split(" UNION ALL ")
    assert first.startswith("SELECT 'p' AS source, element_index, component_count,")
    assert first.endswith("snapshot_date, NULL AS tariff_id FROM price_elements")
    assert second.startswith("SELECT 't' AS source, element_index, NULL AS component_count,")


@pytest.mark.parametrize(("location", "uri"), [
    ("s3a://bucket/ecodata/", "s3a://bucket/ecodata"),
    ("file:///srv/data", "file:///srv/data"),
    ("dbfs:/mnt/ecodata", "dbfs:/mnt/ecodata"),
    ("/srv/data", "file:///srv/data"),
])
def test_base_uri(location, uri):
    assert base_uri(location) == uri
    assert is_url(location) == (not location.startswith("/"))


def test_every_view_and_function_is_planned_with_the_listed_files(demo_data):
    paths = DataPaths(demo_data)
    planned = dict(statements("s3a://bucket/eco data", paths))
    assert set(view_names()) | set(macro_names()) <= set(planned)
    for table in ALL_TABLES.values():
        files = [f.name for _, f in history_store.change_files(paths, table)]
        if not files:
            assert f"{table.name}_change_files" not in planned
            continue
        sql = planned[f"{table.name}_change_files"]
        glob = re.search(r"path '([^']*)'", sql).group(1)
        assert glob == f"s3a://bucket/eco data/history/{table.name}/{{{','.join(files)}}}"
    for name, sql in planned.items():
        assert not re.search(r"read_parquet|ASOF|\bAS (NOT )?MATERIALIZED\b|QUANTILE_CONT|BY NAME", sql), name


def test_cli_prints_the_spark_script(demo_data):
    result = CliRunner().invoke(cli, ["--data-dir", str(demo_data), "views", "--dialect", "spark",
                                      "--location", "s3a://bucket/ecodata"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SET spark.sql.timeType.enabled = true;")
    assert "CREATE OR REPLACE TEMPORARY VIEW market_prices AS" in result.output
    assert "CREATE OR REPLACE TEMPORARY FUNCTION prices_as_of(as_of DATE)" in result.output
    assert "path 's3a://bucket/ecodata/history/prices/{" in result.output
    assert not (demo_data / "ecodata.duckdb.tmp").exists()


def test_cli_location_needs_the_spark_dialect(demo_data):
    result = CliRunner().invoke(cli, ["--data-dir", str(demo_data), "views", "--location", "s3a://b/x"])
    assert result.exit_code == 2
    assert "--location is for --dialect spark only" in result.output


def test_cli_spark_dialect_without_tables_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "views", "--dialect", "spark"])
    assert result.exit_code == 2
    assert "no tables in" in result.output
    assert "Traceback" not in result.output

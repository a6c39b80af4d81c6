import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from test_sql_views import D2, build

import ecodata
from ecodata.paths import DataPaths
from ecodata.sql import FINGERPRINT_MACRO, memory_connection, open_views, views_fingerprint, write_views

QUERIES = [
    "SELECT * FROM market_prices ORDER BY ALL",
    "SELECT * FROM price_changes ORDER BY ALL",
    "SELECT * FROM connectors_history ORDER BY ALL",
    f"SELECT * FROM prices_as_of(DATE '{D2.isoformat()}') ORDER BY ALL",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("open_views") / "data")
    build(paths)
    write_views(paths)
    return paths


def view_catalogs(con):
    return {row[0] for row in con.execute(
        "SELECT DISTINCT database_name FROM duckdb_views() WHERE NOT internal AND view_name = 'market_prices'"
    ).fetchall()}


def test_a_current_view_file_is_read_not_rebuilt_and_answers_as_fresh_views(data):
    fresh = memory_connection(data)
    con = open_views(data)
    assert view_catalogs(con) == {"views_file"}
    for query in QUERIES:
        assert con.execute(query).fetchall() == fresh.execute(query).fetchall(), query
    stored = con.execute(f"SELECT views_file.main.{FINGERPRINT_MACRO}()").fetchone()
    assert stored == (views_fingerprint(data),)


def test_views_with_cte_hints_are_created_from_the_shipped_sql(data):
    """The 1.x-compatible view file drops ``[NOT] MATERIALIZED`` (price_changes over 10 bench days:
    62 s / 20 GB without the hints, 20 s / 9 GB with them): those views, and the views that read
    them, come from the shipped SQL, hints intact, while the others are read from the file."""
    con = open_views(data)
    rows = dict(con.execute(
        "SELECT view_name, database_name || '|' || sql FROM duckdb_views() WHERE NOT internal "
        "AND view_name IN ('price_changes', 'msp_vs_adhoc_pairs', 'msp_vs_adhoc', 'market_prices') "
        "AND database_name = 'memory'").fetchall())
    assert set(rows) == {"price_changes", "msp_vs_adhoc_pairs", "msp_vs_adhoc"}
    assert " AS MATERIALIZED (" in rows["price_changes"]
    assert " AS NOT MATERIALIZED (" in rows["msp_vs_adhoc_pairs"]
    stored = con.execute("SELECT sql FROM duckdb_views() WHERE database_name = 'views_file' "
                         "AND view_name = 'price_changes'").fetchone()
    assert stored is not None
    assert "MATERIALIZED" not in stored[0]  # why: if DuckDB starts keeping the hint, this code can go


def test_own_views_go_to_memory_next_to_the_read_only_file(data):
    with ecodata.open(data.root) as ds:
        ds.sql("CREATE VIEW mine AS SELECT count(*) AS n FROM prices")
        assert ds.sql("SELECT n FROM mine").fetchall() == ds.sql("SELECT count(*) FROM prices").fetchall()
        assert ds.sql("SELECT database_name FROM duckdb_views() WHERE view_name = 'mine'").fetchall() == [
            ("memory",)]


def test_a_stale_view_file_is_not_used(data, tmp_path):
    # the copy keeps other EUR rates than its view file was written with (GBP at twice the shipped
    # rate): the file's views would answer with the old rates, fresh views with the new
    copy = DataPaths(tmp_path / "stale")
    shutil.copytree(data.root, copy.root)
    shipped = (Path(ecodata.__file__).parent / "fx_rates.csv").read_text().splitlines()
    rates = [line if line.startswith("#") or ",GBP," not in f",{line}," else _doubled(line) for line in shipped]
    copy.fx_rates_path.write_text("\n".join(rates) + "\n")
    con = open_views(copy)
    assert view_catalogs(con) == {"memory"}
    query = "SELECT * FROM fx_rates WHERE currency = 'GBP' ORDER BY ALL"
    truth = memory_connection(copy).execute(query).fetchall()
    assert con.execute(query).fetchall() == truth
    stale = duckdb.connect(":memory:")
    stale.execute(f"SET file_search_path = '{copy.root}'")
    stale.execute(f"ATTACH '{copy.duckdb_path}' AS old (READ_ONLY)")
    stale.execute("USE old")
    assert stale.execute(query).fetchall() != truth


def _doubled(line):
    fields = line.split(",")
    fields[-1] = str(Decimal(fields[-1]) * 2)
    return ",".join(fields)


def test_a_view_file_without_a_fingerprint_is_not_used(data, tmp_path):
    copy = DataPaths(tmp_path / "older")
    shutil.copytree(data.root, copy.root)
    copy.duckdb_path.unlink()
    with duckdb.connect(str(copy.duckdb_path)) as con:
        con.execute("CREATE VIEW market_prices AS SELECT 'wrong' AS x")
    con = open_views(copy)
    assert view_catalogs(con) == {"memory"}
    assert con.execute(QUERIES[0]).fetchall() == memory_connection(data).execute(QUERIES[0]).fetchall()


def test_without_a_view_file_the_views_are_created_fresh(data, tmp_path):
    copy = DataPaths(tmp_path / "none")
    shutil.copytree(data.root, copy.root)
    copy.duckdb_path.unlink()
    con = open_views(copy)
    assert view_catalogs(con) == {"memory"}
    assert con.execute(QUERIES[1]).fetchall() == memory_connection(data).execute(QUERIES[1]).fetchall()

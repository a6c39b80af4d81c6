import polars as pl
import pytest
from lake_support import aws_environment, new_bucket
from polars.testing import assert_frame_equal

import ecodata
from ecodata.errors import ConfigError
from ecodata.lake import absolute_script, publish, storage_options
from ecodata.paths import DataPaths

QUERIES = [
    "SELECT * FROM market_prices ORDER BY ALL",
    "SELECT * FROM price_changes ORDER BY ALL",
    "SELECT table_name, snapshot_date FROM table_dates ORDER BY ALL",
    "SELECT * FROM connectors_as_of(DATE '2026-06-01') ORDER BY ALL",
]


@pytest.fixture(scope="module")
def lake(demo_data, moto_endpoint, tmp_path_factory):
    """The demo published once to a bucket and opened from it, for every reading test of the module."""
    with pytest.MonkeyPatch.context() as patch:
        aws_environment(patch, moto_endpoint)
        url = new_bucket()
        publish(demo_data, url, progress=False)
        patch.chdir(tmp_path_factory.mktemp("elsewhere"))  # relative names cannot find local files by accident
        with ecodata.open(url) as ds:
            yield ds


@pytest.mark.parametrize("query", QUERIES)
def test_a_view_of_the_lake_equals_the_local_one(demo_data, lake, query):
    with ecodata.open(demo_data) as local:
        expected = local.sql(query).pl()

    found = lake.sql(query).pl()
    assert found.height > 0
    assert_frame_equal(found, expected)


def test_tables_dates_table_and_compare_of_the_lake(demo_data, lake):
    with ecodata.open(demo_data) as local:
        assert lake.tables() == local.tables()
        assert lake.dates("prices") == local.dates("prices")
        first = local.dates("connectors")[0]
        for date in (None, first):
            expected = local.table("connectors", date).collect()
            found = lake.table("connectors", date).collect()
            assert_frame_equal(found.sort(found.columns), expected.sort(expected.columns), check_column_order=False)
        # cheapest_msp is arg_min over products whose medians can tie: either tied name is right
        assert_frame_equal(lake.compare(sessions=["HPC_10_80"]).drop("cheapest_msp"),
                           local.compare(sessions=["HPC_10_80"]).drop("cheapest_msp"))
        lint = lake.lint()
        assert_frame_equal(lint.sort(lint.columns), local.lint().sort(lint.columns))
    assert repr(lake).startswith("Dataset('s3://")


def test_raw_snapshots_need_a_local_directory(lake):
    with pytest.raises(ConfigError, match="is a published lake"):
        lake.raw("prices", "2026-06-01")


def test_polars_reads_the_published_history_with_storage_options(demo_data, s3):
    publish(demo_data, s3, progress=False)
    import json

    manifest = DataPaths(demo_data).history_manifest("prices")
    files = [day["file"] for day in json.loads(manifest.read_text())["days"]]
    options = storage_options()
    assert options["aws_allow_http"] == "true"

    found = pl.scan_parquet([f"{s3}/history/prices/{f}" for f in files], storage_options=options).collect()
    expected = pl.read_parquet([manifest.parent / f for f in files])
    assert_frame_equal(found, expected)
    globbed = pl.scan_parquet(f"{s3}/history/prices/*.parquet", storage_options=options).collect()  # the README's
    assert_frame_equal(globbed.sort(globbed.columns), expected.sort(expected.columns))


def test_opening_a_url_without_a_lake_says_what_to_run(s3):
    with pytest.raises(ConfigError, match=r"no published dataset at s3://.*run 'ecodata publish"):
        ecodata.open(s3)


def test_absolute_script_puts_relative_files_under_the_lake():
    script = "SELECT * FROM read_parquet(['history/a/2026-06-01-ab.parquet', 'history/b/x.parquet'])"
    assert absolute_script(script, "s3://bucket/lake/") == (
        "SELECT * FROM read_parquet(['s3://bucket/lake/history/a/2026-06-01-ab.parquet', "
        "'s3://bucket/lake/history/b/x.parquet'])")
    assert absolute_script("SELECT 'history'", "s3://b") == "SELECT 'history'"

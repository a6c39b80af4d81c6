import datetime as dt

import polars as pl
import pytest
from test_sql_views import D1, D2, build

import ecodata
from ecodata.errors import ConfigError, ViewError
from ecodata.paths import DataPaths
from ecodata.settings import Settings
from ecodata.sql import view_names, write_views
from ecodata.tables.schemas import ALL_TABLES

UTC = dt.UTC
BUILT = ["locations", "evses", "connectors", "connector_prices", "prices", "price_elements", "price_components",
         "rejects"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("dataset") / "data")
    build(paths)
    write_views(paths)
    return paths


@pytest.fixture
def ds(data):
    with ecodata.open(data.root) as dataset:
        yield dataset


def test_tables_views_and_dates(ds):
    assert ds.tables() == BUILT
    assert ds.views() == view_names()
    assert ds.dates("prices") == [D1, D2]
    assert ds.dates("tariffs") == []
    with pytest.raises(ConfigError, match="unknown table 'nope'"):
        ds.dates("nope")
    with pytest.raises(ConfigError, match=r"session_costs is a view .*SELECT \* FROM session_costs"):
        ds.table("session_costs")


def test_schema_holds_types_keys_and_the_declared_docs(ds):
    schema = ds.schema("price_components")
    declared = ALL_TABLES["price_components"]
    assert schema.columns == ["column", "type", "key", "doc"]
    assert schema["column"].to_list() == [*declared.column_names, "snapshot_date"]
    assert schema["doc"].to_list()[:-1] == [c.doc for c in declared.columns]
    assert schema.filter(pl.col("key"))["column"].to_list() == ["price_id", "element_index", "component_index"]
    assert dict(schema.select("column", "type").iter_rows())["price_incl_vat"] == "decimal(30,12)"
    assert schema.row(-1) == ("snapshot_date", "date", False,
                              "date of the snapshot the row belongs to (the hive partition)")
    assert ds.schema("prices").columns == schema.columns
    assert ds.table("price_components").collect_schema().names() == schema["column"].to_list()


def test_snapshots_are_the_raw_snapshots_and_partitions_the_tables(ds):
    raw = ds.snapshots()
    assert raw.select("endpoint", "snapshot_date", "status", "records").rows() == [
        ("locations", D1, "complete", 2), ("locations", D2, "complete", 2),
        ("connector_prices", D1, "complete", 2), ("connector_prices", D2, "complete", 2),
        ("prices", D1, "complete", 4), ("prices", D2, "complete", 5),
    ]
    assert raw.columns == ["endpoint", "snapshot_date", "status", "records", "pages", "bytes", "duplicates",
                           "drift", "run_id", "layout"]
    parts = ds.partitions()
    assert parts.columns == ["table", "snapshot_date", "rows"]
    assert parts.filter(table="connector_prices").rows() == [("connector_prices", D1, 5), ("connector_prices", D2, 4)]
    assert sorted(set(parts["table"])) == sorted(BUILT)


def test_sql_binds_duckdb_parameters(ds):
    query = "SELECT price_id FROM prices WHERE currency = ? ORDER BY 1"
    assert ds.sql(query, params=["GBP"]).fetchall() == [("P3",)]
    assert ds.sql(query, ["EUR"]).fetchall() == [("P1b",), ("P2",), ("P4",), ("P5",)]
    named = ds.sql("SELECT count(*) FROM prices WHERE currency = $c AND element_count = $n", {"c": "EUR", "n": 1})
    assert named.fetchall() == [(4,)]
    assert ds.sql(query, ["GBP' OR '1'='1"]).fetchall() == []  # a value, never SQL
    with pytest.raises(ViewError, match="the query failed"):
        ds.sql(query)  # a placeholder without a value


def test_an_error_while_the_query_runs_is_a_view_error_at_the_call(ds):
    with pytest.raises(ViewError, match=r"^the query failed: Conversion Error"):
        ds.sql("select 'x'::int")
    with pytest.raises(ViewError, match=r"^the query failed: Conversion Error"):
        ds.sql("SELECT CAST(location_id AS INTEGER) FROM locations")  # fails on the rows, not when bound
    assert ds.sql("/* only a comment */") is None


def test_every_documented_way_to_get_rows_returns_timestamptz_values(ds):
    stamp = dt.datetime(2026, 1, 1, tzinfo=UTC)
    query = "SELECT price_id, last_updated FROM prices WHERE price_id IN ('P2', 'P3') ORDER BY 1"
    assert ds.sql(query).fetchall() == [("P2", stamp), ("P3", stamp)]
    frame = ds.sql(query).pl()
    assert isinstance(frame.schema["last_updated"], pl.Datetime)
    assert frame["last_updated"].to_list() == [stamp, stamp]
    pandas = ds.sql(query).df()
    assert [t.to_pydatetime() for t in pandas["last_updated"]] == [stamp, stamp]
    assert ds.sql(query).arrow().read_all().num_rows == 2
    assert len(ds.sql("SELECT * FROM locations").fetchall()) == 2  # the bug report: pytz was missing


def test_compare_returns_a_frame_and_checks_sessions(ds):
    frame = ds.compare(countries=["nl"], power_classes=["ac"])
    assert frame.height == 0  # the fixture has no session costs
    assert frame.columns[:4] == ["country_code", "power_class", "product_type", "session"]
    with pytest.raises(ConfigError, match="unknown session"):
        ds.compare(sessions=["HPC_10_80"])
    with pytest.raises(ConfigError, match="invalid country"):
        ds.compare(countries=["D'E"])


def test_open_takes_a_path_or_a_string_and_refuses_unknown_urls(data):
    with ecodata.open(str(data.root)) as by_text:
        assert by_text.dates("prices") == [D1, D2]
    assert repr(ecodata.Dataset(data.root)) == f"Dataset({str(data.root)!r})"
    with pytest.raises(ConfigError, match=r"^cannot use ftp://host/data: the URL must start with s3://"):
        ecodata.open("ftp://host/data")  # a published lake's URL opens (tests/lake)


def test_build_is_the_daily_job_with_settings_from_the_environment(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("ecodata.pipeline.build_dataset", lambda *args, **kw: calls.append((args, kw)) or "report")
    monkeypatch.setenv("ECODATA_DATA_DIR", str(tmp_path))
    assert ecodata.build(date="2026-06-01", endpoints=["prices"]) == "report"
    (settings, date, endpoints), kw = calls[0]
    assert (settings.data_dir, date, endpoints, kw) == (tmp_path, dt.date(2026, 6, 1), ["prices"],
                                                        {"force": False, "progress": False})


def test_build_without_a_token_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no API token"):
        ecodata.build(Settings(data_dir=tmp_path))


def test_a_partition_of_another_layout_is_a_validation_error(data, tmp_path):
    import shutil

    from ecodata.errors import ValidationError

    copy = DataPaths(tmp_path / "data")
    shutil.copytree(data.root, copy.root)
    (part,) = copy.history_dir("prices").glob(f"{D2}-*.parquet")  # the day's change file
    pl.read_parquet(part).with_columns(pl.col("element_count").cast(pl.Int64)).write_parquet(part)
    with ecodata.open(copy.root) as ds:
        assert ds.table("prices", D1).collect().height == 4
        with pytest.raises(ValidationError) as caught:
            ds.table("prices")
    assert str(caught.value) == (
        "table prices for 2026-03-02 does not fit its declared schema (column element_count: the file has Int64, "
        "declared Int32): rebuild it with 'ecodata transform --date 2026-03-02'")
    assert caught.value.exit_code == 6

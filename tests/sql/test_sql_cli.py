import json

import pytest
from click.testing import CliRunner

from ecodata.cli import cli
from ecodata.simulator import SimulatedData, SimulatorConfig, serve_in_thread
from ecodata.sql import view_names


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """simulator (loopback HTTP) -> ecodata build (run_fetch, transform, views) at demo scale."""
    data = tmp_path_factory.mktemp("e2e") / "data"
    runner = CliRunner()
    with serve_in_thread(SimulatorConfig(scale="demo")) as base_url:
        result = runner.invoke(
            cli, ["--data-dir", str(data), "--base-url", base_url, "build", "--date", "2026-02-01", "--no-progress"],
            env={"ECODATA_TOKEN": "sim-token"},
        )
    assert result.exit_code == 0, result.output
    return data, result.output


def sql(data, query, *extra):
    return CliRunner().invoke(cli, ["--data-dir", str(data), "sql", query, *extra])


def test_build_end_to_end_matches_the_simulator(built):
    data, output = built
    truth = SimulatedData(scale="demo").totals()
    assert f"connector_prices: {truth['pricing_ids']} rows" in output
    assert (data / "ecodata.duckdb").is_file()
    result = sql(data, "SELECT (SELECT count(*) FROM connectors) AS c, (SELECT count(*) FROM price_components) AS pc,"
                       " (SELECT count(*) FROM rejects) AS r", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"c": truth["connectors"], "pc": truth["price_components"], "r": 0}]


def test_sql_formats(built):
    data, _ = built
    result = sql(data, "SELECT power_class, count(*) AS n FROM connectors GROUP BY 1 ORDER BY 1", "--format", "csv")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "power_class,n"
    assert [line.split(",")[0] for line in lines[1:]] == ["AC", "DC", "HPC"]
    table = sql(data, "SELECT 1 AS one, 'x' AS s")
    assert table.exit_code == 0
    assert table.output.splitlines() == ["┌─────┬───┐", "│ one ┆ s │", "╞═════╪═══╡", "│ 1   ┆ x │", "└─────┴───┘"]


def test_sql_error_is_one_line_with_exit_code(built):
    data, _ = built
    result = sql(data, "SELECT * FROM nowhere")
    assert result.exit_code == 7
    assert result.output.startswith("ecodata: error: the query failed: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("query", "code", "output"), [
    ("", 2, 'ecodata: error: the query is empty: give one, e.g. ecodata sql "SELECT * FROM market_prices LIMIT 5"\n'),
    ("   ", 2, 'ecodata: error: the query is empty: give one, e.g. ecodata sql "SELECT * FROM market_prices LIMIT 5"\n'),
    ("/* only a comment */", 0, "\n"),
])
def test_sql_without_a_result_prints_one_line_or_nothing(built, query, code, output):
    data, _ = built
    result = sql(data, query)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (result.exit_code, result.output) == (code, output)


def test_views_sql_prints_without_writing(tmp_path):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "views", "--sql"])
    assert result.exit_code == 0
    assert "CREATE OR REPLACE VIEW market_prices AS" in result.output
    assert not (tmp_path / "ecodata.duckdb").exists()


def test_views_into_a_missing_data_dir_is_one_line_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo"
    result = CliRunner().invoke(cli, ["--data-dir", str(missing), "views"])
    assert (result.exit_code, result.output) == (
        2, f"ecodata: error: data directory {missing} does not exist: run 'ecodata build' first "
           "or pass the right --data-dir\n")
    assert not missing.exists()


def test_transform_without_a_snapshot_fails_clearly(tmp_path):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "transform"])
    assert result.exit_code == 5
    assert "run 'ecodata fetch' first" in result.output


def test_views_command_rewrites_the_file(built):
    data, _ = built
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "views"])
    assert result.exit_code == 0
    assert result.output == f"{len(view_names())} views written to {data / 'ecodata.duckdb'}\n"


def test_transform_command_reports_and_hints(tmp_path):
    import datetime as dt

    from ecodata.paths import DataPaths
    from ecodata.tables.fixtures import write_raw_snapshot

    write_raw_snapshot(DataPaths(tmp_path), "connector_prices", dt.date(2026, 2, 2),
                       [{"location_id": "L", "evse_uid": "E", "connector_id": "1", "pricing_ids": ["P"]}],
                       api_version="prices")
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "transform", "--date", "2026-02-02"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "snapshot 2026-02-02: transformed connector_prices",
        "  connector_prices: 1 raw records, 0 rejected",
        "  connector_prices: 1 rows",
        "  session_costs: not computed, no prices, price_elements, price_components, connectors, locations "
        "table for 2026-02-02 (transform every endpoint of that date: ecodata transform --date 2026-02-02)",
        f"views: {len(view_names())} written to ecodata.duckdb",
        # the day just built is compacted into the record store (its one record is a new version)
        "raw: compacted 1 day(s) into the record store (1 new record versions; 0.0 MB of parts -> 0.0 MB), "
        "each verified record by record",
    ]
    assert (tmp_path / "ecodata.duckdb").is_file()
    assert DataPaths(tmp_path).table_dates("session_price_costs") == []
    assert DataPaths(tmp_path).table_dates("session_profiles") == []


def test_csv_writes_nested_values_as_the_json_the_json_format_gives(built):
    import csv
    import io

    data, _ = built
    query = "SELECT location_id, evse_uid, connector_id, tariff_ids FROM connectors ORDER BY ALL LIMIT 50"
    as_csv = sql(data, query, "--format", "csv")
    as_json = sql(data, query, "--format", "json")
    assert (as_csv.exit_code, as_json.exit_code) == (0, 0), as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    expected = json.loads(as_json.output)
    assert len(rows) == len(expected) == 50
    assert [None if r["tariff_ids"] == "" else json.loads(r["tariff_ids"]) for r in rows] == [
        e["tariff_ids"] for e in expected]
    assert any(isinstance(e["tariff_ids"], list) for e in expected)
    everything = sql(data, "SELECT * FROM connectors", "--format", "csv")
    assert everything.exit_code == 0, everything.output
    assert len(everything.output.splitlines()) > 50


def test_csv_of_structs_lists_of_structs_and_nulls():
    import polars as pl

    from ecodata.cli import format_frame

    frame = pl.DataFrame({"id": [1, 2], "s": [{"a": 1, "b": "x,y"}, None], "l": [[{"k": "v"}], []],
                          "name \"q\"": [["a"], None]})
    assert format_frame(frame, "csv").splitlines() == [
        'id,s,l,"name ""q"""',
        '1,"{""a"":1,""b"":""x,y""}","[{""k"":""v""}]","[""a""]"',
        "2,,[],",
    ]


@pytest.mark.parametrize("query", ["select 'x'::int", "SELECT CAST(location_id AS INTEGER) FROM locations"])
def test_an_error_while_the_query_runs_is_one_line_exit_7(built, query):
    data, _ = built
    result = sql(data, query)
    assert result.exit_code == 7
    assert result.output.startswith("ecodata: error: the query failed: Conversion Error: ")
    assert len(result.output.splitlines()) == 1
    assert "Traceback" not in result.output


def test_compare_with_a_damaged_table_is_one_line_exit_7(built, tmp_path):
    import shutil

    import polars as pl

    from ecodata.paths import DataPaths

    data, _ = built
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    paths = DataPaths(copy)
    date = paths.table_dates("session_price_costs")[-1]
    # the day's change file with amounts as text: the views bind, the query fails while it runs
    (file,) = paths.history_dir("session_price_costs").glob(f"{date}-*.parquet")
    pl.read_parquet(file).with_columns(pl.lit("lots").alias("total_eur_incl_vat")).write_parquet(file)
    result = CliRunner().invoke(cli, ["--data-dir", str(copy), "compare"])
    assert result.exit_code == 7, result.output
    assert result.output.startswith("ecodata: error: the query failed: ")
    assert len(result.output.splitlines()) == 1

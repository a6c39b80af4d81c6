import dataclasses
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import ecodata
from ecodata.cli import cli
from ecodata.demo import run_demo
from ecodata.errors import ConfigError
from ecodata.paths import DataPaths
from ecodata.pricing.sessions import load_sessions
from ecodata.settings import Settings
from ecodata.simulator import SimulatedData
from ecodata.snapshot import read_manifest
from ecodata.snapshot.schema import ENDPOINTS
from ecodata.tables.schemas import ALL_TABLES

DATES = [dt.date(2026, 6, 1), dt.date(2026, 6, 2)]
COUNTRIES = {"DE", "FR", "GB", "NL", "NO", "PL"}
SESSIONS = {"HPC_10_80", "DC50_20_80", "AC_SHOP", "AC_LONG", "AC_NIGHT", "AC_RESERVED"}


def test_two_snapshot_dates_from_simulator_days_0_and_1(demo_build):
    data, report = demo_build
    assert report.dates == DATES
    assert [s.day for s in report.snapshots] == [0, 1]
    assert [s.reused for s in report.snapshots] == [False, False]
    paths = DataPaths(data)
    for name in ALL_TABLES:
        assert paths.table_dates(name) == DATES, name
    for endpoint in ENDPOINTS:
        assert paths.raw_dates(endpoint) == DATES, endpoint


def test_latest_snapshot_matches_the_day_1_ground_truth(demo_build):
    data, report = demo_build
    truth = SimulatedData(scale="demo", seed=0, day=1).totals()
    # session costs: one row per (connector, price) pair of the latest date per session fitting its power class
    ds = ecodata.open(data)
    classes = pl.DataFrame([(s.name, c) for s in load_sessions() for c in s.power_classes],
                           schema=["session", "power_class"], orient="row")
    pairs = (ds.table("connector_prices").join(ds.table("prices").select("price_id"), on="price_id")
             .join(ds.table("connectors").select("location_id", "evse_uid", "connector_id", "power_class"),
                   on=["location_id", "evse_uid", "connector_id"])
             .join(classes.lazy(), on="power_class").select(pl.len()).collect().item())
    assert report.counts == {
        "locations": truth["locations"], "connectors": truth["connectors"], "prices": truth["prices"],
        "connector_prices": truth["pricing_ids"], "session_costs": pairs, "rejects": 0,
    }
    assert pairs > truth["connectors"]


def test_views_answer(demo_build):
    data, report = demo_build
    ds = ecodata.open(data)
    try:
        assert set(ds.sql("SELECT DISTINCT country_code FROM market_prices").pl()["country_code"]) == COUNTRIES
        assert set(ds.sql("SELECT DISTINCT session FROM session_cost_comparison").pl()["session"]) == SESSIONS
        history = ds.sql("SELECT DISTINCT snapshot_date FROM locations_history ORDER BY 1").pl()
        assert history["snapshot_date"].to_list() == DATES
        changes = ds.sql("SELECT change, count(*) AS n FROM price_changes GROUP BY 1 ORDER BY 1").pl()
        assert dict(changes.iter_rows()) == report.changes
        assert {"added", "removed", "energy_price_changed"} <= set(report.changes)
        pair = ds.sql("SELECT DISTINCT previous_snapshot_date, snapshot_date FROM price_changes").pl()
        assert pair.rows() == [(DATES[0], DATES[1])]
    finally:
        ds.close()
    assert report.market_prices.height > 0
    assert set(report.market_prices["product_type"]) == {"adhoc", "msp"}
    assert report.session_costs.height == report.session_costs["country_code"].n_unique()


def test_the_token_reaches_no_file_and_no_report(demo_build, sentinel_token):
    data, report = demo_build
    needle = sentinel_token.encode()
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(files) >= len(DATES) * (2 * len(ENDPOINTS) + len(ALL_TABLES)) + 1  # parts, manifests, duckdb
    assert [p for p in files if needle in p.read_bytes()] == []
    assert sentinel_token not in repr(report)


def test_second_run_through_the_cli_reuses_raw_and_prints_the_report(demo_build):
    data, report = demo_build
    run_ids = {e: read_manifest(DataPaths(data), e, d).run_id for e in ENDPOINTS for d in DATES}
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(data), "--progress"], env={"ECODATA_TOKEN": ""})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("ecodata demo: demo-scale simulated Eco-Movement API -> ")
    assert "snapshots: 2026-06-01 (simulator day 0, raw reused), 2026-06-02 (simulator day 1, raw reused)" in out
    assert "market_prices: HPC energy price incl. VAT, EUR/kWh" in out
    assert "session_cost_comparison: HPC_10_80" in out
    for country in COUNTRIES - {"PL"}:  # no HPC in Poland at demo scale
        assert re.search(rf"^│ {country} ", out, re.MULTILINE), country
    assert f"ECODATA_DATA_DIR={data.resolve()} uv run --with jupyterlab jupyter lab notebooks/" in out
    assert f"cd {data} && duckdb ecodata.duckdb" in out
    assert f"uv run ecodata --data-dir {data} compare --session HPC_10_80" in out
    assert "reusing the raw snapshot, rebuilding tables" in result.stderr
    assert {e: read_manifest(DataPaths(data), e, d).run_id for e in ENDPOINTS for d in DATES} == run_ids
    again = ecodata.open(data)
    try:
        counts = again.sql("SELECT (SELECT count(*) FROM connectors) AS c, (SELECT count(*) FROM session_costs) AS s,"
                           " (SELECT count(*) FROM price_changes) AS p").pl().row(0)
    finally:
        again.close()
    assert counts == (report.counts["connectors"], report.counts["session_costs"], sum(report.changes.values()))


def test_quiet_without_a_terminal(demo_build):
    data, _ = demo_build
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "demo"],
                                env={"CI": "true", "ECODATA_TOKEN": "users-own-token-77"})
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "raw reused" in result.stdout
    assert "(your ECODATA_TOKEN was not used: the demo gives the simulator a throwaway token)" in result.stdout
    assert "users-own-token-77" not in result.output


def test_refuses_a_data_dir_with_other_snapshots(tmp_path):
    (tmp_path / "tables" / "locations" / "snapshot_date=2026-11-20").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"holds snapshots of other dates \(2026-11-20\)"):
        run_demo(Settings.from_env(env={}, data_dir=tmp_path), progress=False)
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(tmp_path), "--no-progress"])
    assert result.exit_code == 2
    assert result.output.startswith("ecodata: error: the data directory ")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "raw").exists()


def test_a_complete_snapshot_of_other_data_is_downloaded_again(demo_build, tmp_path):
    data, report = demo_build
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    paths = DataPaths(copy)
    manifest_path = paths.raw_manifest("prices", DATES[1])
    manifest = json.loads(manifest_path.read_text())
    old_run = manifest["run_id"]
    manifest["records"] += 1  # as if another scale had been fetched into this directory
    manifest_path.write_text(json.dumps(manifest))
    again = run_demo(Settings.from_env(env={}, data_dir=copy), progress=False)
    assert [s.reused for s in again.snapshots] == [True, False]
    refreshed = read_manifest(paths, "prices", DATES[1])
    assert refreshed.run_id != old_run
    assert refreshed.records == SimulatedData(scale="demo", seed=0, day=1).count("prices")
    assert again.counts == report.counts
    assert again.changes == report.changes


def test_next_steps_for_the_default_data_dir_need_no_option(demo_build, monkeypatch):
    data, report = demo_build
    monkeypatch.chdir(data.parent)
    steps = dict(dataclasses.replace(report, data_dir=Path("data")).next_steps())
    assert steps["SQL"].startswith('uv run ecodata sql "')
    assert steps["compare"] == "uv run ecodata compare --session HPC_10_80 --country DE --country NL"
    assert steps["real API"].startswith("ECODATA_TOKEN_FILE=<file holding your licence token> uv run ecodata build")
    assert steps["DuckDB CLI"].startswith("cd data && duckdb ecodata.duckdb -c ")
    assert steps["notebooks"] == f"ECODATA_DATA_DIR={data.resolve()} uv run --with jupyterlab jupyter lab notebooks/"


@pytest.mark.parametrize(("day", "damaged", "problem"), [
    (1, "index-*.parquet", "index-[0-9a-f]{8}.parquet: its SHA-256 differs from the manifest's, the file was changed"),
    (0, "index-*.parquet", "index-[0-9a-f]{8}.parquet: its SHA-256 differs from the manifest's, the file was changed"),
    (0, "../_store/store-*.parquet", "its record store: store-[0-9a-f-]+.parquet: its SHA-256 differs from the "
                                     "list's, the file was changed"),
    (0, "_manifest.json", "its _manifest.json is corrupt: not JSON: "),
])
def test_a_damaged_demo_snapshot_advises_the_demo_not_the_real_api(demo_build, tmp_path, day, damaged, problem):
    data = tmp_path / "data"
    shutil.copytree(demo_build[0], data)
    # both days are built, so both are compacted (an index over the record store)
    file = sorted(DataPaths(data).raw_partition("prices", DATES[day]).glob(damaged))[0]
    garbled = bytearray(file.read_bytes())
    garbled[0 if damaged.endswith(".json") else 200] ^= 0xFF  # a data page: the Parquet footer stays intact
    file.write_bytes(bytes(garbled))
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(data), "--no-progress"], env={"CI": "1"})
    assert result.exit_code == 5
    line = result.output.strip()
    assert re.match(rf"ecodata: error: the prices snapshot for {DATES[day]} is damaged \({problem}", line), line
    assert line.endswith("): download the demo's snapshots again with 'ecodata demo --force'")
    assert "\n" not in line

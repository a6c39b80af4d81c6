"""The view file: opens in the DuckDB 1.x CLI (PyPI ``duckdb-cli``, a dev dependency), not only in
the DuckDB that wrote it; its latest views show one date per group of tables."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecodata.paths import DataPaths
from ecodata.pipeline import transform_date
from ecodata.settings import Settings
from ecodata.sql import STORAGE_VERSION
from ecodata.tables.fixtures import write_raw_snapshot

DAY = dt.date(2026, 4, 1)
LOCATION = {"id": "L1", "address": "a", "city": "c", "country": "DEU",
            "coordinates": {"latitude": "52.0", "longitude": "13.0"}, "last_updated": "2026-01-01T00:00:00Z",
            "evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [
                {"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC",
                 "voltage": 400, "amperage": 375, "max_power": 150000}]}]}
PRICE = {"id": "P1", "partner": "CPO", "partner_id": "cpo-1", "last_updated": "2026-01-01T00:00:00Z",
         "product": {"id": "adhoc", "name": "adhoc", "type": "adhoc", "currency": "EUR"},
         "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": 0.5, "vat": 19, "step_size": 1}]}]}


def write_day(paths: DataPaths) -> None:
    write_raw_snapshot(paths, "locations", DAY, [LOCATION])
    write_raw_snapshot(paths, "prices", DAY, [PRICE], api_version="prices")
    write_raw_snapshot(paths, "connector_prices", DAY, [
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1"]}], api_version="prices")


def duckdb_cli() -> str:
    """The ``duckdb`` binary the duckdb-cli wheel installs next to this interpreter."""
    found = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")
    if found is None:
        pytest.skip("no duckdb CLI: uv sync installs duckdb-cli with the dev group")
    return found


def test_the_duckdb_1_5_cli_answers_market_prices_from_the_data_directory(tmp_path):
    cli = duckdb_cli()
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v1.5."), version  # the 1.x line that cannot read DuckDB 2.0's default format
    paths = DataPaths(tmp_path / "data")
    write_day(paths)
    transform_date(Settings(data_dir=paths.root), DAY)
    result = subprocess.run([cli, "ecodata.duckdb", "-csv", "-c", "SELECT * FROM market_prices"],
                            cwd=paths.root, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["country_code"], r["power_class"], r["product_type"], r["currency"]) for r in rows] == [
        ("DE", "HPC", "adhoc", "EUR")]
    assert (rows[0]["energy_incl_vat_median"], rows[0]["connectors"], rows[0]["snapshot_date"]) == (
        "0.595", "1", "2026-04-01")  # 0.5 + 19 % VAT


def test_the_view_file_has_the_storage_format_of_duckdb_1_0(tmp_path):
    from ecodata.sql import write_views

    paths = DataPaths(tmp_path)
    write_views(paths)
    header = paths.duckdb_path.read_bytes()[:16]
    assert STORAGE_VERSION == "v1.0.0"
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:16], "little") == 64  # the format number DuckDB 1.0 .. 1.5 all read


def test_the_latest_views_show_one_date_for_tables_that_belong_together(tmp_path):
    """Locations transformed on a newer day than the prices: the latest views stay on the day
    with everything (main showed each table's own newest date: locations of day 2 beside the
    connector_prices and session_costs of day 1)."""
    from ecodata.sql import connect, latest_dates

    paths = DataPaths(tmp_path / "data")
    settings = Settings(data_dir=paths.root)
    write_day(paths)
    transform_date(settings, DAY)
    later = DAY + dt.timedelta(days=1)
    write_raw_snapshot(paths, "locations", later, [LOCATION])
    write_raw_snapshot(paths, "tariffs", later, [{"id": "T1", "currency": "EUR", "elements": [], "last_updated":
                                                  "2026-01-01T00:00:00Z"}])
    report = transform_date(settings, later, ["locations", "tariffs"])
    assert report.session_cost_lines[0].startswith("  session_costs: not computed")
    assert paths.table_dates("connectors") == [DAY, later]
    dates = latest_dates(paths)
    assert {name: str(d) for name, d in dates.items()} == {
        "locations": "2026-04-01", "evses": "2026-04-01", "connectors": "2026-04-01",
        "connector_prices": "2026-04-01", "prices": "2026-04-01", "price_elements": "2026-04-01",
        "price_components": "2026-04-01", "session_price_costs": "2026-04-01", "session_profiles": "2026-04-01",
        "price_hour_costs": "2026-04-01", "tariffs": "2026-04-02", "tariff_elements": "2026-04-02", "tariff_components": "2026-04-02",
        "rejects": "2026-04-02"}
    con = connect(paths)
    try:
        shown = {name: con.execute(f"SELECT DISTINCT snapshot_date FROM {name}").fetchall()
                 for name in ("locations", "connectors", "connector_prices", "session_costs", "tariffs")}
        history = con.execute("SELECT count(DISTINCT snapshot_date) FROM connectors_history").fetchone()
    finally:
        con.close()
    assert {name: [str(d) for (d,) in rows] for name, rows in shown.items()} == {
        "locations": ["2026-04-01"], "connectors": ["2026-04-01"], "connector_prices": ["2026-04-01"],
        "session_costs": ["2026-04-01"], "tariffs": ["2026-04-02"]}
    assert history == (2,)

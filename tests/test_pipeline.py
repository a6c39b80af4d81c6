import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from ecodata.cli import cli
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_date
from ecodata.pricing import session_costs_frame
from ecodata.pricing.sessions import load_sessions
from ecodata.settings import Settings
from ecodata.sql import connect, memory_connection
from ecodata.tables.fixtures import write_raw_snapshot
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import SESSION_COSTS

DAY = dt.date(2026, 4, 1)
KEY = ["location_id", "evse_uid", "connector_id", "price_id", "session"]


def session_costs_of(paths, day):
    """The session_costs view of ``day`` (session_costs is computed, not stored), with its declared dtypes."""
    con = memory_connection(paths)
    try:
        frame = con.sql("SELECT * EXCLUDE (snapshot_date) FROM session_costs_history WHERE snapshot_date = ?",
                        params=[day]).pl()
    finally:
        con.close()
    return frame.cast(dict(SESSION_COSTS.polars_schema))

LOCATION = {"id": "L1", "address": "a", "city": "c", "country": "DEU",
            "coordinates": {"latitude": "52.0", "longitude": "13.0"}, "last_updated": "2026-01-01T00:00:00Z",
            "evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [
                {"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC",
                 "voltage": 400, "amperage": 375, "max_power": 150000}]}]}


def price(value):
    return {"id": "P1", "partner": "CPO", "partner_id": "cpo-1", "last_updated": "2026-01-01T00:00:00Z",
            "product": {"id": "adhoc", "name": "adhoc", "type": "adhoc", "currency": "EUR"},
            "elements": [{"price_components": [
                {"type": "ENERGY", "price_excl_vat": value, "vat": 19, "step_size": 1}]}]}


def write_day(paths, energy_price):
    write_raw_snapshot(paths, "locations", DAY, [LOCATION])
    write_raw_snapshot(paths, "prices", DAY, [price(energy_price)], api_version="prices")
    write_raw_snapshot(paths, "connector_prices", DAY, [
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1"]}],
        api_version="prices")


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("pipeline"))
    write_day(paths, 0.5)
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.root), "transform", "--date", DAY.isoformat()])
    return paths, result


def test_a_bare_transform_writes_session_costs_and_views(transformed):
    paths, result = transformed
    assert result.exit_code == 0, result.output
    written = session_costs_of(paths, DAY)
    # Independent oracle: the one price is 0.50 per kWh excl. VAT at 19% VAT, nothing else.
    # The connector is HPC (DC, 150 kW): every reference session declared for HPC, once.
    hpc = sorted(session.name for session in load_sessions() if "HPC" in session.power_classes)
    assert sorted(written["session"].to_list()) == hpc
    assert hpc
    assert written.select("location_id", "evse_uid", "connector_id", "price_id").unique().rows() == [
        ("L1", "E1", "1", "P1")]
    for kwh, excl, incl, other in written.select(
            "energy_kwh", "total_excl_vat", "total_incl_vat",
            pl.sum_horizontal("time_cost_excl_vat", "parking_cost_excl_vat", "flat_cost_excl_vat")).rows():
        assert excl == kwh * Decimal("0.5")
        assert incl == kwh * Decimal("0.5") * Decimal("1.19")
        assert other == 0
    # stored once per (price, session, profile): one price, one kind of connector -> one row per session
    assert scan_table(paths, "session_price_costs", DAY).collect().height == len(hpc)
    assert scan_table(paths, "session_profiles", DAY).collect().height == len(hpc)
    assert (f"  session_costs: {len(hpc)} distinct (price, session, profile) costs, {len(hpc)} connector kinds x "
            "sessions (the session_costs view joins them to the connectors)") in result.output.splitlines()
    con = connect(paths)
    try:
        pairs = con.execute("SELECT sum(pairs) FROM session_cost_comparison").fetchall()
    finally:
        con.close()
    assert pairs == [(written.height,)]


def test_transforming_one_endpoint_again_refreshes_that_dates_session_costs(transformed, tmp_path):
    import shutil

    paths = DataPaths(tmp_path / "data")
    shutil.copytree(transformed[0].root, paths.root)
    settings = Settings(data_dir=paths.root)
    before = session_costs_of(paths, DAY).sort(KEY)
    write_raw_snapshot(paths, "prices", DAY, [price(0.6)], api_version="prices")
    report = transform_date(settings, DAY, ["prices"])
    after = session_costs_of(paths, DAY).sort(KEY)
    assert report.transform.endpoints == ["prices"]
    assert_frame_equal(after, pl.concat(session_costs_frame(settings, DAY)).sort(KEY))
    assert after.select(KEY).equals(before.select(KEY))
    assert (after["energy_cost_excl_vat"] > before["energy_cost_excl_vat"]).all()


def test_build_says_what_its_fetch_did_before_a_later_steps_error(tmp_path, monkeypatch):
    from ecodata.errors import ValidationError
    from ecodata.simulator import SimulatorConfig, serve_in_thread

    def broken(*_args, **_kwargs):
        raise ValidationError("the tariffs table does not fit")

    monkeypatch.setattr("ecodata.pipeline.transform_snapshot", broken)
    with serve_in_thread(SimulatorConfig(scale="demo", token="build-token")) as url:
        result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "build", "--endpoint", "tariffs",
                                          "--date", "2026-06-01"],
                                    env={"ECODATA_TOKEN": "build-token", "ECODATA_BASE_URL": url, "CI": "1"})
    assert result.exit_code == 6
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("tariffs 2026-06-01: fetched, ")
    assert lines[1].startswith("done in ")
    assert lines[2:] == [
        "fetch: the raw snapshot of 2026-06-01 is committed (a rerun reuses it); a later step failed:",
        "ecodata: error: the tariffs table does not fit"]

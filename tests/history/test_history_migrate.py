import datetime as dt
import shutil

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from ecodata.cli import cli
from ecodata.errors import SnapshotError
from ecodata.history import store
from ecodata.history.migrate import migrate
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_date
from ecodata.settings import Settings
from ecodata.sql import memory_connection
from ecodata.sql.migrate_costs import migrate_session_costs
from ecodata.tables.fixtures import write_raw_snapshot
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import ALL_TABLES, SESSION_COSTS

DATES = [dt.date(2026, 4, 1) + dt.timedelta(days=d) for d in range(4)]


def location(n):
    return {"id": f"L{n}", "address": "a", "city": "c", "country": "DEU",
            "coordinates": {"latitude": "52.0", "longitude": "13.0"}, "last_updated": "2026-01-01T00:00:00Z",
            "evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [
                {"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC",
                 "voltage": 400, "amperage": 375, "max_power": 150000}]}]}


def price(pid, value):
    return {"id": pid, "partner": "CPO", "partner_id": "cpo-1", "last_updated": "2026-01-01T00:00:00Z",
            "product": {"id": f"adhoc-{pid}", "name": f"adhoc {pid}", "type": "adhoc", "currency": "EUR"},
            "elements": [{"price_components": [
                {"type": "ENERGY", "price_excl_vat": value, "vat": 19, "step_size": 1}]}]}


def build_days(data):
    """Four days: a location opens on day 1 and closes on day 3, P1's price changes on day 2."""
    paths = DataPaths(data)
    for i, date in enumerate(DATES):
        ids = [1, 2] if i in (1, 2) else [1]
        write_raw_snapshot(paths, "locations", date, [location(n) for n in ids])
        write_raw_snapshot(paths, "prices", date, [price("P1", 0.39 if i < 2 else 0.45), price("P2", 0.5)],
                           api_version="prices")
        write_raw_snapshot(paths, "connector_prices", date, [
            {"location_id": f"L{n}", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1", "P2"]}
            for n in ids], api_version="prices")
        transform_date(Settings.from_env(env={}, data_dir=data), date)
    return paths


NEW_TABLES = ("session_price_costs", "session_profiles")  # stored since session_costs became a view


def legacy_copy(paths: DataPaths, target) -> DataPaths:
    """The same data in the layout before the history: a full partition per table and day, no history/,
    and session_costs stored per connector (the rows of the view) instead of the tables it is made of."""
    legacy = DataPaths(target)
    shutil.copytree(paths.raw_root, legacy.raw_root)
    con = memory_connection(paths)
    for name in [*ALL_TABLES, "session_costs"]:
        if name in NEW_TABLES:
            continue
        for date in paths.table_dates(name if name != "session_costs" else "session_price_costs"):
            if name == "session_costs":
                frame = con.sql("SELECT * EXCLUDE (snapshot_date) FROM session_costs_history WHERE snapshot_date = ?",
                                params=[date]).pl().cast(dict(SESSION_COSTS.polars_schema))
                assert frame.height > 0
            else:
                frame = scan_table(paths, name, date).drop("snapshot_date").collect()
            partition = legacy.table_partition(name, date)
            partition.mkdir(parents=True)
            frame.write_parquet(partition / "part-00000.parquet")
    con.close()
    return legacy


def tables_of(paths):
    return {(name, date): scan_table(paths, name, date).drop("snapshot_date").collect()
            for name in ALL_TABLES for date in paths.table_dates(name)}


def assert_same_tables(got, expected):
    assert got.keys() == expected.keys()
    for key, frame in expected.items():
        assert_frame_equal(got[key], frame, check_row_order=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths = build_days(tmp_path_factory.mktemp("built") / "data")
    return paths, tables_of(paths)


def test_the_history_stores_only_the_changes(built):
    paths, _ = built
    history = store.load(paths, ALL_TABLES["locations"])
    assert [(d.rows, d.upserts, d.deletes) for d in history.days] == [(1, 1, 0), (2, 1, 0), (2, 0, 0), (1, 0, 1)]
    prices = store.load(paths, ALL_TABLES["price_components"])
    assert [(d.rows, d.upserts, d.deletes) for d in prices.days] == [(2, 2, 0), (2, 0, 0), (2, 1, 0), (2, 0, 0)]


def test_versions_view_gives_validity(built):
    paths, _ = built
    con = memory_connection(paths)
    rows = con.sql("SELECT location_id, valid_from, valid_to FROM locations_versions ORDER BY 1, 2").fetchall()
    assert rows == [("L1", DATES[0], None), ("L2", DATES[1], DATES[3])]
    energy = con.sql("SELECT price_excl_vat::VARCHAR, valid_from, valid_to FROM price_components_versions "
                     "WHERE price_id = 'P1' ORDER BY valid_from").fetchall()
    assert energy == [("0.390000", DATES[0], DATES[2]), ("0.450000", DATES[2], None)]
    changes = con.sql("SELECT snapshot_date, change, count(*) FROM price_changes GROUP BY ALL ORDER BY ALL").fetchall()
    assert changes == [(DATES[1], "added", 2), (DATES[2], "energy_price_changed", 2), (DATES[3], "removed", 2)]


def test_the_old_layout_is_refused_with_what_to_run(built, tmp_path):
    paths, _ = built
    legacy = legacy_copy(paths, tmp_path / "old")
    with pytest.raises(SnapshotError, match=r"ecodata --data-dir .* migrate"):
        memory_connection(legacy)
    result = CliRunner().invoke(cli, ["--data-dir", str(legacy.root), "sql", "SELECT 1"])
    assert result.exit_code == 5
    assert "migrate" in result.output


def test_migrate_converts_in_place_and_is_idempotent(built, tmp_path):
    paths, expected = built
    legacy = legacy_copy(paths, tmp_path / "old")
    rows = sum(pl.read_parquet(legacy.table_partition("session_costs", d)).height for d in DATES)
    result = CliRunner().invoke(cli, ["--data-dir", str(legacy.root), "migrate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        f"migrate: {len({name for name, _ in expected}) - len(NEW_TABLES)} table(s), 4 day(s) converted to the "
        "history layout, each verified row by row before its full copy was removed",
        f"migrate: session_costs of 4 day(s) ({DATES[0]} .. {DATES[-1]}, {rows:,} rows) recomputed as "
        "session_price_costs + session_profiles, each day verified row by row against the stored rows before "
        "they were removed"]
    assert not legacy.tables_root.exists()
    assert_same_tables(tables_of(legacy), expected)
    again = CliRunner().invoke(cli, ["--data-dir", str(legacy.root), "migrate"])
    assert again.output.splitlines()[0] == "migrate: nothing to convert (no table in the old full-snapshot layout)"
    assert_same_tables(tables_of(legacy), expected)
    con = memory_connection(legacy)
    assert con.sql("SELECT count(*) FROM price_changes").fetchall() == [(6,)]


def test_an_interrupted_migrate_resumes(built, tmp_path):
    paths, expected = built
    legacy = legacy_copy(paths, tmp_path / "old")
    seen = []

    def stop_after_six(name, date):
        seen.append((name, date))
        if len(seen) == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate(legacy, after_day=stop_after_six)
    assert legacy.legacy_table_dates("locations") == []        # converted (4 days) and removed
    assert legacy.legacy_table_dates("evses") == DATES[2:]     # 2 days converted, 2 left
    # a crash between recording a day and removing its full copy: the day is recorded again
    store.put_day(legacy, ALL_TABLES["evses"], DATES[2],
                  scan_table(paths, "evses", DATES[2]).drop("snapshot_date"))
    report = migrate(legacy)
    assert report.converted["evses"] == DATES[2:]
    assert "locations" not in report.converted
    assert sorted(migrate_session_costs(Settings(data_dir=legacy.root)).rows) == DATES
    assert_same_tables(tables_of(legacy), expected)

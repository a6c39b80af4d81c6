import datetime as dt
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecodata.demo import run_demo
from ecodata.history import delete_day, prune
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_date, transform_snapshot, write_session_costs
from ecodata.settings import Settings
from ecodata.snapshot.schema import ENDPOINTS
from ecodata.sql import memory_connection
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import ALL_TABLES

DAYS = 10
FIRST = dt.date(2026, 6, 1)
DATES = [FIRST + dt.timedelta(days=d) for d in range(DAYS)]


def settings_for(data):
    return Settings.from_env(env={}, data_dir=data)


def canonical(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Rows in one order (every column, so equal tables compare equal whatever their row order)."""
    schema = ALL_TABLES[name].polars_schema
    sortable = [c for c, dtype in schema.items() if not isinstance(dtype, pl.List)]
    return frame.select(schema.names()).cast(dict(schema)).sort(sortable, nulls_last=True)


@pytest.fixture(scope="module")
def ten_days(tmp_path_factory):
    """The demo built day by day over 10 simulator days, and each day built alone in its own directory."""
    data = tmp_path_factory.mktemp("history") / "data"
    run_demo(settings_for(data), days=DAYS, progress=False)
    alone = {}
    for date in DATES:
        single = tmp_path_factory.mktemp(f"single-{date}")
        # the whole raw tree: older days are compacted into the record store they share
        shutil.copytree(DataPaths(data).raw_root, DataPaths(single).raw_root)
        transform_snapshot(settings_for(single), date)
        write_session_costs(settings_for(single), date)
        alone[date] = single
    return data, alone


def single_table(alone, date, name):
    return canonical(scan_table(DataPaths(alone[date]), name, date).drop("snapshot_date").collect(), name)


def test_every_table_history_equals_independent_single_day_builds(ten_days):
    data, alone = ten_days
    paths = DataPaths(data)
    con = memory_connection(paths)
    for name in ALL_TABLES:
        assert paths.table_dates(name) == DATES, name
        history = con.sql(f"SELECT * FROM {name}_history").pl()
        for date in DATES:
            expected = single_table(alone, date, name)
            day = history.filter(pl.col("snapshot_date") == date).drop("snapshot_date")
            assert_frame_equal(canonical(day, name), expected, check_dtypes=False)
            as_of = con.sql(f"SELECT * FROM {name}_as_of(DATE '{date}')").pl()
            assert as_of.get_column("snapshot_date").unique().to_list() in ([date], [])
            assert_frame_equal(canonical(as_of.drop("snapshot_date"), name), expected, check_dtypes=False)
            read = scan_table(paths, name, date).drop("snapshot_date").collect()
            assert_frame_equal(canonical(read, name), expected)
        latest = con.sql(f"SELECT * FROM {name}").pl()
        assert set(latest.get_column("snapshot_date").to_list()) <= {DATES[-1]}
        assert_frame_equal(canonical(latest.drop("snapshot_date"), name), single_table(alone, DATES[-1], name),
                           check_dtypes=False)


def test_history_stores_changes_not_days(ten_days):
    data, _ = ten_days
    con = memory_connection(DataPaths(data))
    stored = con.sql("SELECT count(*) FROM connector_prices_changes").fetchall()[0][0]
    expanded = con.sql("SELECT count(*) FROM connector_prices_history").fetchall()[0][0]
    first = con.sql(f"SELECT count(*) FROM connector_prices_history WHERE snapshot_date = DATE '{FIRST}'").fetchall()[0][0]
    assert expanded > 9 * first
    assert stored < 2 * first  # ten days of a market changing a few percent a day


def test_as_of_a_date_between_or_before_kept_days(ten_days):
    data, _ = ten_days
    con = memory_connection(DataPaths(data))
    assert con.sql("SELECT count(*) FROM prices_as_of(DATE '2026-05-31')").fetchall()[0][0] == 0
    later = con.sql("SELECT DISTINCT snapshot_date FROM prices_as_of(DATE '2027-01-01')").fetchall()
    assert later == [(DATES[-1],)]


def test_price_changes_from_the_changes_equal_the_full_comparison(ten_days):
    data, _ = ten_days
    con = memory_connection(DataPaths(data))
    got = con.sql("SELECT * FROM price_changes").pl()
    # the full join of every pair of days over the history views (checked above against single-day builds)
    full = con.sql(FULL_JOIN_PRICE_CHANGES).pl()
    assert sorted(got.get_column("snapshot_date").unique().to_list()) == DATES[1:]
    order = ["snapshot_date", "location_id", "evse_uid", "connector_id", "partner_id", "product_id",
             "old_price_id", "new_price_id"]
    assert_frame_equal(got.sort(order, nulls_last=True), full.sort(order, nulls_last=True))
    assert set(full.get_column("change")) == {"added", "removed", "energy_price_changed", "price_id_changed"}


def test_rebuild_of_a_middle_day_keeps_the_later_days(ten_days, tmp_path):
    data, alone = ten_days
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    paths = DataPaths(copy)
    middle = DATES[4]
    transform_date(settings_for(copy), middle)
    assert paths.table_dates("connector_prices") == DATES
    for name in ("connector_prices", "prices", "connectors", "session_costs"):
        for date in DATES[3:7]:
            got = canonical(scan_table(paths, name, date).drop("snapshot_date").collect(), name)
            assert_frame_equal(got, single_table(alone, date, name))


def test_rebuild_of_a_middle_day_with_other_data_then_back(ten_days, tmp_path):
    data, alone = ten_days
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    paths = DataPaths(copy)
    middle = DATES[4]
    # replace day 4's raw by day 8's and rebuild: day 4 now shows day 8's prices, day 5 stays day 5
    for endpoint in ENDPOINTS:
        shutil.rmtree(paths.raw_partition(endpoint, middle))
        shutil.copytree(paths.raw_partition(endpoint, DATES[8]), paths.raw_partition(endpoint, middle))
    transform_date(settings_for(copy), middle)
    got = canonical(scan_table(paths, "prices", middle).drop("snapshot_date").collect(), "prices")
    assert_frame_equal(got, single_table(alone, DATES[8], "prices"))
    for date in (DATES[3], DATES[5], DATES[9]):
        got = canonical(scan_table(paths, "prices", date).drop("snapshot_date").collect(), "prices")
        assert_frame_equal(got, single_table(alone, date, "prices"))


def test_delete_a_day_keeps_the_others(ten_days, tmp_path):
    data, alone = ten_days
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    paths = DataPaths(copy)
    assert delete_day(paths, DATES[3]) == list(ALL_TABLES)
    assert delete_day(paths, DATES[3]) == []
    assert delete_day(paths, DATES[0]) == list(ALL_TABLES)
    kept = [d for d in DATES if d not in (DATES[0], DATES[3])]
    con = memory_connection(paths)
    for name in ("connector_prices", "price_components", "locations", "tariff_components"):
        assert paths.table_dates(name) == kept
        history = con.sql(f"SELECT * FROM {name}_history").pl()
        assert sorted(history.get_column("snapshot_date").unique().to_list()) == kept
        for date in (DATES[1], DATES[2], DATES[4], DATES[9]):
            day = history.filter(pl.col("snapshot_date") == date).drop("snapshot_date")
            assert_frame_equal(canonical(day, name), single_table(alone, date, name), check_dtypes=False)
    pc = con.sql("SELECT DISTINCT previous_snapshot_date, snapshot_date FROM price_changes ORDER BY 2").fetchall()
    assert (DATES[2], DATES[4]) in pc


def test_prune_drops_older_days(ten_days, tmp_path):
    data, alone = ten_days
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    paths = DataPaths(copy)
    before = sum(f.stat().st_size for f in paths.history_root.rglob("*.parquet"))
    report = prune(paths, DATES[6])
    assert report.dropped["prices"] == DATES[:6]
    assert report.lines() == [f"prune: dropped 6 day(s) before {DATES[6]} ({DATES[0]} .. {DATES[5]}) "
                              f"from {len(ALL_TABLES)} table(s)"]
    assert prune(paths, DATES[6]).dropped == {}
    after = sum(f.stat().st_size for f in paths.history_root.rglob("*.parquet"))
    assert after < before
    for name in ("connector_prices", "prices", "session_costs"):
        assert paths.table_dates(name) == DATES[6:]
        for date in DATES[6:]:
            got = canonical(scan_table(paths, name, date).drop("snapshot_date").collect(), name)
            assert_frame_equal(got, single_table(alone, date, name))


FULL_JOIN_PRICE_CHANGES = """
WITH dates AS (
    SELECT snapshot_date, lag(snapshot_date) OVER (ORDER BY snapshot_date) AS previous_date
    FROM (SELECT DISTINCT snapshot_date FROM connector_prices_history)
),
offers AS (
    SELECT cp.snapshot_date, cp.location_id, cp.evse_uid, cp.connector_id, s.partner, s.partner_id,
        COALESCE(s.product_id, cp.product_id) AS product_id, s.product_name, s.currency, cp.price_id,
        s.energy_price_incl_vat
    FROM connector_prices_history AS cp
    LEFT JOIN price_summary_history AS s ON s.price_id = cp.price_id AND s.snapshot_date = cp.snapshot_date
),
before AS (
    SELECT d.snapshot_date AS pair_date, d.previous_date, o.* EXCLUDE (snapshot_date)
    FROM dates AS d JOIN offers AS o ON o.snapshot_date = d.previous_date
),
after AS (
    SELECT d.snapshot_date AS pair_date, d.previous_date, o.* EXCLUDE (snapshot_date)
    FROM dates AS d JOIN offers AS o ON o.snapshot_date = d.snapshot_date
    WHERE d.previous_date IS NOT NULL
)
SELECT
    COALESCE(a.previous_date, b.previous_date) AS previous_snapshot_date,
    COALESCE(a.pair_date, b.pair_date) AS snapshot_date,
    COALESCE(a.location_id, b.location_id) AS location_id,
    COALESCE(a.evse_uid, b.evse_uid) AS evse_uid,
    COALESCE(a.connector_id, b.connector_id) AS connector_id,
    COALESCE(a.partner, b.partner) AS partner,
    COALESCE(a.partner_id, b.partner_id) AS partner_id,
    COALESCE(a.product_id, b.product_id) AS product_id,
    COALESCE(a.product_name, b.product_name) AS product_name,
    COALESCE(a.currency, b.currency) AS currency,
    b.price_id AS old_price_id,
    a.price_id AS new_price_id,
    b.energy_price_incl_vat AS old_energy_price_incl_vat,
    a.energy_price_incl_vat AS new_energy_price_incl_vat,
    CASE
        WHEN b.price_id IS NULL THEN 'added'
        WHEN a.price_id IS NULL THEN 'removed'
        WHEN a.energy_price_incl_vat IS DISTINCT FROM b.energy_price_incl_vat THEN 'energy_price_changed'
        ELSE 'price_id_changed'
    END AS change
FROM after AS a
FULL OUTER JOIN before AS b
    ON a.pair_date = b.pair_date
    AND a.location_id = b.location_id AND a.evse_uid = b.evse_uid AND a.connector_id = b.connector_id
    AND COALESCE(a.partner_id, a.partner, '') = COALESCE(b.partner_id, b.partner, '')
    AND COALESCE(a.product_id, a.product_name, '') = COALESCE(b.product_id, b.product_name, '')
WHERE b.pair_date IS NULL OR a.pair_date IS NULL
    OR a.price_id IS DISTINCT FROM b.price_id
    OR a.energy_price_incl_vat IS DISTINCT FROM b.energy_price_incl_vat
"""

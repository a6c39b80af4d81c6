import datetime as dt
import os
import shutil
from decimal import Decimal

import duckdb
import pytest

import ecodata
from ecodata.errors import ConfigError, ViewError
from ecodata.fx import load_rates
from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_snapshot
from ecodata.settings import Settings
from ecodata.sql import connect, view_names, view_sql, views_script, write_views
from ecodata.tables.fixtures import write_raw_snapshot
from ecodata.tables.schemas import ALL_TABLES, VIEW_TABLES

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)


def location(lid, country, power_type, max_power):
    return {"id": lid, "address": "a", "city": "c", "country": country,
            "coordinates": {"latitude": "52.0", "longitude": "5.0"}, "last_updated": "2026-01-01T00:00:00Z",
            "evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [
                {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": power_type,
                 "voltage": 230, "amperage": 32, "max_power": max_power}]}]}


def price(pid, product, ptype, currency, components, restrictions=None):
    return {"id": pid, "partner": "Partner", "partner_id": "partner-1", "last_updated": "2026-01-01T00:00:00Z",
            "product": {"id": product, "name": product, "type": ptype, "currency": currency},
            "elements": [{"price_components": components, "restrictions": restrictions}]}


def energy(value, vat):
    return {"type": "ENERGY", "price_excl_vat": value, "vat": vat, "step_size": 1}


PRICES_D1 = [
    price("P1", "adhoc-nl", "adhoc", "EUR", [energy(0.30, 21)]),
    price("P2", "flex", "msp", "EUR", [energy(0.40, 21), {"type": "TIME", "price_excl_vat": 3, "vat": 21,
                                                          "step_size": 60}]),
    price("P3", "adhoc-gb", "adhoc", "GBP", [energy(0.50, 20)]),
    price("P4", "night", "msp", "EUR", [energy(0.20, 21)], {"start_time": "22:00", "end_time": "06:00"}),
]
PRICES_D2 = [
    price("P1b", "adhoc-nl", "adhoc", "EUR", [energy(0.32, 21)]),
    *PRICES_D1[1:],
    price("P5", "new", "msp", "EUR", [energy(0.25, 21), {"type": "FLAT", "price_excl_vat": 1, "vat": 21,
                                                         "step_size": 1}]),
]


def build(paths):
    settings = Settings(data_dir=paths.root)
    locations = [location("L1", "NLD", "AC_3_PHASE", 22), location("L2", "GBR", "DC", 150)]
    for date, prices, nl_ids, gb_ids in [(D1, PRICES_D1, ["P1", "P2", "P4", "PX"], ["P3"]),
                                         (D2, PRICES_D2, ["P1b", "P2", "P4", "P5"], [])]:
        write_raw_snapshot(paths, "locations", date, locations)
        write_raw_snapshot(paths, "prices", date, prices, api_version="prices")
        write_raw_snapshot(paths, "connector_prices", date, [
            {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": nl_ids},
            {"location_id": "L2", "evse_uid": "E1", "connector_id": "1", "pricing_ids": gb_ids},
        ], api_version="prices")
        transform_snapshot(settings, date)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("views") / "data")
    build(paths)
    write_views(paths)
    return paths


@pytest.fixture(scope="module")
def con(data):
    connection = connect(data)
    yield connection
    connection.close()


def rows(con, query):
    return con.execute(query).fetchall()


def test_view_order_puts_dependencies_first():
    names = view_names()
    assert names[:5] == ["locations_changes", "locations_versions", "locations_history", "locations",
                         "evses_changes"]
    assert names.index("table_dates") < names.index("price_changes")
    for view, needs in [("connector_prices_flat", "connectors"), ("market_prices", "connector_prices_flat"),
                        ("market_prices", "price_summary"), ("market_prices", "fx_rates"),
                        ("price_changes", "price_summary_history"),
                        ("connector_price_components", "connector_prices_flat")]:
        assert names.index(needs) < names.index(view)


def test_table_view_sql_is_relative_and_exact(data):
    assert view_sql("tariffs_changes", data).startswith("-- tariffs: no snapshot written yet\nSELECT\n")
    columns = ("price_id, partner, partner_id, product_id, product_name, product_description, product_type, "
               "subscription_type, subscription_fee_excl_vat, currency, element_count, last_updated")
    assert view_sql("prices", data) == (
        f"SELECT {columns}, DATE '2026-03-02' AS snapshot_date\nFROM prices_versions\n"
        "WHERE valid_from <= DATE '2026-03-02' AND (valid_to IS NULL OR valid_to > DATE '2026-03-02')")
    files = ", ".join(f"'history/prices/{d.file}'" for d in store.load(data, ALL_TABLES["prices"]).days)
    assert view_sql("prices_changes", data) == (
        f"SELECT {columns}, _snapshot_date AS snapshot_date, _deleted AS deleted\nFROM read_parquet([{files}])")  # every file has the current columns
    assert view_sql("prices_history", data).endswith(
        "FROM prices_versions AS v\nJOIN (VALUES (DATE '2026-03-01'), (DATE '2026-03-02')) AS d(snapshot_date)\n"
        "    ON d.snapshot_date >= v.valid_from AND (v.valid_to IS NULL OR d.snapshot_date < v.valid_to)")
    script = views_script(data)
    assert script.count("CREATE OR REPLACE VIEW ") == len(view_names())
    assert script.count("CREATE OR REPLACE MACRO ") == len(ALL_TABLES) + 2  # and session_costs_as_of, price_by_hour_as_of
    assert str(data.root) not in script


def test_price_summary_is_the_latest_snapshot_of_its_history(con):
    sql = view_sql("price_summary")
    assert sql.startswith("-- price_summary_history for the latest snapshot only")
    assert "_history" not in sql.split("\n", 1)[1]
    assert "FROM prices AS p" in sql
    assert "FROM price_components AS pc" in sql
    latest = rows(con, "SELECT * FROM price_summary ORDER BY price_id")
    assert [r[0] for r in latest] == ["P1b", "P2", "P3", "P4", "P5"]
    assert latest == rows(con, "SELECT * FROM price_summary_history WHERE snapshot_date = DATE '2026-03-02' "
                               "ORDER BY price_id")


def test_every_view_answers_and_the_fixture_fills_all_but_the_known_empty_ones(con):
    counts = {name: rows(con, f"SELECT count(*) FROM {name}")[0][0] for name in view_names()}
    # no tariffs endpoint, no rejected record, no session costs (transform_snapshot only) in the fixture
    empty = {f"{t}{h}" for t in ("tariffs", "tariff_elements", "tariff_components", "rejects", "session_price_costs",
                                 "session_profiles", "price_hour_costs")
             for h in ("", "_history", "_changes", "_versions")} | {"connector_price_orphans", "session_cost_comparison",
                                           "msp_vs_adhoc_pairs", "msp_vs_adhoc", "session_costs", "session_costs_history",
                                           "session_costs_flat", "session_costs_flat_history",  # from session costs
                                           "price_by_hour", "price_by_hour_history", "price_by_hour_summary",
                                           "price_lint", "price_lint_counts"}  # clean prices: nothing to report
    assert {name for name, n in counts.items() if n == 0} == empty
    assert (counts["prices"], counts["prices_history"], counts["price_changes"]) == (5, 9, 4)
    for table in [*ALL_TABLES.values(), *VIEW_TABLES.values()]:
        described = [r[0] for r in rows(con, f"DESCRIBE {table.name}")]
        assert described == [*table.column_names, "snapshot_date"], table.name
        history = [r[0] for r in rows(con, f"DESCRIBE {table.name}_history")]
        assert history == [*table.column_names, "snapshot_date"], table.name


def test_connector_prices_flat_keeps_orphans_visible(con):
    assert rows(con, "SELECT connector_id, price_id, country_code, power_class, partner, price_missing "
                     "FROM connector_prices_flat ORDER BY location_id, price_id") == [
        ("1", "P1b", "NL", "AC", "Partner", False),
        ("1", "P2", "NL", "AC", "Partner", False),
        ("1", "P4", "NL", "AC", "Partner", False),
        ("1", "P5", "NL", "AC", "Partner", False),
    ]
    assert rows(con, "SELECT count(*) FROM connector_price_orphans") == [(0,)]
    assert rows(con, "SELECT count(*) FROM connector_prices_history WHERE price_id = 'PX'") == [(1,)]


def test_market_prices_golden(con):
    got = rows(con, "SELECT country_code, power_class, product_type, currency, connectors, prices, priced_pairs, "
                    "energy_incl_vat_median, round(energy_incl_vat_eur_median, 6), share_time_fee, share_flat_fee "
                    "FROM market_prices")
    assert got == [
        ("NL", "AC", "adhoc", "EUR", 1, 1, 1, 0.3872, 0.3872, 0.0, 0.0),
        # msp pairs priced: P2 0.40 * 1.21 = 0.484 and P5 0.25 * 1.21 = 0.3025 (P4 has only a night price).
        ("NL", "AC", "msp", "EUR", 1, 3, 2, 0.39325, 0.39325, 1 / 3, 1 / 3),
    ]


def test_orphans_view_lists_connector_prices_without_a_price_or_connector(tmp_path):
    paths = DataPaths(tmp_path / "data")
    build(paths)
    for table in ("locations", "evses", "connectors", "connector_prices", "prices", "price_elements",
                  "price_components", "rejects"):
        store.delete_day(paths, ALL_TABLES[table], D2)  # latest = D1, where L1 lists the unknown price PX
    write_views(paths)
    with connect(paths) as c:
        assert rows(c, "SELECT * FROM connector_price_orphans") == [("L1", "E1", "1", "PX", False, True, D1)]


def test_market_prices_converts_to_eur_at_the_dated_rate(data, tmp_path):
    old = ecodata.open(data.root)
    try:
        first = old.sql("SELECT energy_price_incl_vat FROM price_summary_history "
                        "WHERE price_id = 'P3' AND snapshot_date = DATE '2026-03-01'").fetchall()
        assert first == [(Decimal("0.600000000000"),)]
    finally:
        old.close()
    # Re-point the latest views at D1, where the GB connector still has its GBP price.
    moved = DataPaths(tmp_path / "d1")
    build(moved)
    for table in ("locations", "evses", "connectors", "connector_prices", "prices", "price_elements",
                  "price_components", "rejects"):
        store.delete_day(moved, ALL_TABLES[table], D2)
    csv = tmp_path / "rates.csv"
    csv.write_text("# my rates\nrate_date,currency,units_per_eur\n2026-06-01,GBP,0.8\n2026-06-01,EUR,1\n")
    for rates, expected in [(None, round(0.6 / 0.85, 6)), (csv, 0.75)]:
        if rates is not None:
            write_views(moved, rates)  # ecodata views --fx-rates: the rates stay with the dataset
        ds = ecodata.open(moved.root)
        try:
            got = ds.sql("SELECT round(energy_incl_vat_eur_median, 6) FROM market_prices "
                         "WHERE country_code = 'GB'").fetchall()
        finally:
            ds.close()
        assert got == [(expected,)]


def test_price_changes_between_snapshots(con):
    got = rows(con, "SELECT previous_snapshot_date, snapshot_date, location_id, product_id, old_price_id, "
                    "new_price_id, old_energy_price_incl_vat, new_energy_price_incl_vat, change "
                    "FROM price_changes ORDER BY location_id, product_id")
    assert got == [
        (D1, D2, "L1", "adhoc-nl", "P1", "P1b", Decimal("0.363"), Decimal("0.3872"), "energy_price_changed"),
        (D1, D2, "L1", "new", None, "P5", None, Decimal("0.3025"), "added"),
        (D1, D2, "L1", None, "PX", None, None, None, "removed"),
        (D1, D2, "L2", "adhoc-gb", "P3", None, Decimal("0.6"), None, "removed"),
    ]


def test_the_directory_can_be_moved(data, tmp_path):
    target = tmp_path / "elsewhere"
    shutil.copytree(data.root, target)
    moved = DataPaths(target)
    with connect(moved) as c:
        assert rows(c, "SELECT count(*) FROM connectors") == [(2,)]
    # The plain DuckDB CLI way: open the file from inside the data directory, no settings.
    here = os.getcwd()
    os.chdir(target)
    try:
        with duckdb.connect("ecodata.duckdb", read_only=True) as c:
            assert rows(c, "SELECT count(*) FROM market_prices") == [(2,)]
    finally:
        os.chdir(here)


def test_open_api(data):
    ds = ecodata.open(data.root)
    try:
        # the history keeps the rows, not their order: sorted here
        assert ds.table("prices").collect()["price_id"].sort().to_list() == ["P1b", "P2", "P3", "P4", "P5"]
        assert ds.table("prices", "2026-03-01").collect().height == 4
        frame = ds.sql("SELECT country_code, count(*) AS n FROM locations GROUP BY 1 ORDER BY 1").pl()
        assert frame.rows() == [("GB", 1), ("NL", 1)]
        parts = ds.partitions()
        assert parts.filter(table="prices").select("snapshot_date", "rows").rows() == [(D1, 4), (D2, 5)]
        with pytest.raises(ViewError, match="the query failed"):
            ds.sql("SELECT * FROM no_such_view")
        with pytest.raises(ConfigError, match="unknown table"):
            ds.table("nope")
    finally:
        ds.close()
    with pytest.raises(ConfigError, match="does not exist"):
        ecodata.open(data.root / "missing")
    with ecodata.open(data.root) as ds2:
        assert ds2.sql("SELECT count(*) AS n FROM fx_rates").pl()["n"].to_list() == [load_rates().height]
    assert ds2._con is None


def test_connect_without_views_says_what_to_run(tmp_path):
    with pytest.raises(ViewError, match="run 'ecodata views'"):
        connect(DataPaths(tmp_path))


@pytest.mark.parametrize("order", ["A first", "B first"])
def test_cheapest_msp_on_a_tie_is_the_first_by_name(order):
    """Two MSP products with the same median: the same one is named whatever order the rows come in
    (arg_min, used before, named whichever it met first)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE session_costs_flat (country_code VARCHAR, power_class VARCHAR, product_type VARCHAR, "
                "partner VARCHAR, product_name VARCHAR, session VARCHAR, price_id VARCHAR, "
                "total_eur_incl_vat DECIMAL(18, 6), total_eur_incl_vat_with_subscription DECIMAL(18, 6), "
                "snapshot_date DATE)")
    msp = [("MSP A", "Flex", "PA", 9.5), ("MSP B", "Flex", "PB", 9.5), ("MSP C", "Max", "PC", 11.0)]
    if order == "B first":
        msp.reverse()
    rows_in = [("NL", "AC", "adhoc", "CPO", "Ad hoc", "AC_22_20", "P0", 12.0, 12.0)]
    rows_in += [("NL", "AC", "msp", partner, name, "AC_22_20", pid, eur, eur) for partner, name, pid, eur in msp]
    con.executemany("INSERT INTO session_costs_flat VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, DATE '2026-01-01')", rows_in)
    con.execute(f"CREATE VIEW session_cost_comparison AS {view_sql('session_cost_comparison')}")
    got = rows(con, "SELECT product_type, cheapest_msp, cheapest_msp_median_eur, adhoc_vs_best_msp_eur "
                    "FROM session_cost_comparison ORDER BY product_type")
    assert got == [("adhoc", "MSP A / Flex", 9.5, 2.5), ("msp", "MSP A / Flex", 9.5, 2.5)]

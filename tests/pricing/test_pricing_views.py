"""Golden tests of the price-analytics views on hand-computed inputs (msp_vs_adhoc, ...)."""

import datetime as dt

import pytest
from pricing_frames import price_tables, site_tables, write_priced_dataset

from ecodata.dataset import open as open_dataset
from ecodata.settings import Settings

DAY = dt.date(2026, 11, 21)


def em(pid, partner, name, ptype, energy, *, sub="n/a", fee="0"):
    return {"id": pid, "partner": partner,
            "product": {"type": ptype, "subscription_type": sub, "subscription_fee_excl_vat": fee,
                        "currency": "EUR", "name": name},
            "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": energy, "vat": 19,
                                                "step_size": 1}]}]}


RECORDS = [
    em("adhoc60", "CPO", "Ad hoc", "adhoc", "0.60"),
    em("adhoc56", "CPO", "Ad hoc", "adhoc", "0.56"),
    em("cheap", "Cheap", "Basic", "msp", "0.40", sub="month", fee="9.99"),
    em("dear", "Dear", "Gold", "msp", "0.70"),
]
# c1: ad hoc 0.60, Cheap, Dear; c2 and c3: ad hoc 0.56, Cheap; c4: Cheap only (no ad hoc: not compared)
LINKS = [("c1", "adhoc60"), ("c1", "cheap"), ("c1", "dear"), ("c2", "adhoc56"), ("c2", "cheap"),
         ("c3", "adhoc56"), ("c3", "cheap"), ("c4", "cheap")]


def connector(cid, location):
    return {"connector_id": cid, "location_id": location, "time_zone": "Europe/Berlin", "power_class": "HPC",
            "max_power_kw": 300.0, "amperage": 500, "country_code": "DE"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    conns = [connector("c1", "L1"), connector("c2", "L2"), connector("c3", "L3"), connector("c4", "L4")]
    write_priced_dataset(Settings(data_dir=root), DAY, {**price_tables(RECORDS), **site_tables(conns, LINKS)})
    with open_dataset(root) as ds:
        yield ds


def test_msp_vs_adhoc_pairs_by_hand(dataset):
    rows = dataset.sql(
        "SELECT connector_id, partner, adhoc_price_id, msp_eur_incl_vat, adhoc_eur_incl_vat, markup_eur, markup_pct, "
        "monthly_fee_incl_vat, saving_per_session, break_even_sessions_per_month, break_even_kwh_per_month "
        "FROM msp_vs_adhoc_pairs WHERE session = 'HPC_10_80' ORDER BY connector_id, partner").fetchall()
    # HPC_10_80 = 52.5 kWh, 19 % VAT: 0.60 -> 37.485, 0.56 -> 34.986, 0.40 -> 24.99, 0.70 -> 43.7325 EUR;
    # Cheap's fee 9.99 x 1.19 = 11.8881 a month: / 12.495 saved = 0.9514 sessions = 49.95 kWh; / 9.996 saved
    # = 1.1893 sessions = 62.4375 kWh
    assert rows == [
        ("c1", "Cheap", "adhoc60", 24.99, 37.485, -12.495, -33.3333, 11.8881, 12.495, 0.9514, 49.95),
        ("c1", "Dear", "adhoc60", 43.7325, 37.485, 6.2475, 16.6667, 0.0, -6.2475, None, None),
        ("c2", "Cheap", "adhoc56", 24.99, 34.986, -9.996, -28.5714, 11.8881, 9.996, 1.1893, 62.4375),
        ("c3", "Cheap", "adhoc56", 24.99, 34.986, -9.996, -28.5714, 11.8881, 9.996, 1.1893, 62.4375),
    ]


def test_msp_vs_adhoc_summary_by_hand(dataset):
    rows = dataset.sql(
        "SELECT country_code, power_class, partner, product_name, connectors, prices, markup_eur_median, "
        "markup_pct_median, share_cheaper_than_adhoc, monthly_fee_incl_vat, break_even_sessions_per_month_median, "
        "break_even_kwh_per_month_median FROM msp_vs_adhoc WHERE session = 'HPC_10_80'").fetchall()
    assert rows == [
        ("DE", "HPC", "Cheap", "Basic", 3, 1, -9.996, -28.5714, 1.0, 11.8881, 1.1893, 62.4375),
        ("DE", "HPC", "Dear", "Gold", 1, 1, 6.2475, 16.6667, 0.0, 0.0, None, None),
    ]


# --- market_concentration --------------------------------------------------------------------------

def site(cid, location, operator, power_class, lat=None, lon=None):
    return {"connector_id": cid, "location_id": location, "time_zone": "Europe/Berlin", "power_class": power_class,
            "max_power_kw": 300.0 if power_class == "HPC" else 22.0, "amperage": 32, "country_code": "DE",
            "operator_name": operator, "latitude": lat, "longitude": lon,
            "power_type": "AC_3_PHASE" if power_class == "AC" else "DC"}


# Operator A: L1 (HPC c1 + AC c2) and L2 (AC c3) in the cell 52.5 N 13.0 E; B: L3 (HPC c4) in 48.0 N
# 11.5 E; C: L4 (AC c5) without coordinates (country only). Ad hoc energy prices incl. 19 % VAT:
# c1, c2 0.595; c3 0.952; c4 0.833; c5 0.714 EUR/kWh.
SITES = [site("c1", "L1", "A", "HPC", 52.52, 13.40), site("c2", "L1", "A", "AC", 52.52, 13.40),
         site("c3", "L2", "A", "AC", 52.71, 13.05), site("c4", "L3", "B", "HPC", 48.14, 11.58),
         site("c5", "L4", "C", "AC")]
ADHOC = [em("a50", "A", "Ad hoc", "adhoc", "0.50"), em("a80", "A", "Ad hoc", "adhoc", "0.80"),
         em("b70", "B", "Ad hoc", "adhoc", "0.70"), em("c60", "C", "Ad hoc", "adhoc", "0.60")]


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("market")
    links = [("c1", "a50"), ("c2", "a50"), ("c3", "a80"), ("c4", "b70"), ("c5", "c60")]
    write_priced_dataset(Settings(data_dir=root), DAY, {**price_tables(ADHOC), **site_tables(SITES, links)})
    with open_dataset(root) as ds:
        yield ds


def test_market_concentration_hhi_by_hand(market):
    rows = market.sql(
        "SELECT area_level, area, operators, locations, connectors, hpc_connectors, hhi_locations, hhi_connectors, "
        "hhi_hpc_connectors, largest_operator, largest_operator_share_connectors, adhoc_energy_incl_vat_eur_median "
        "FROM market_concentration").fetchall()
    assert rows == [
        # locations 2/1/1 of 4 -> 50, 25, 25 % -> 2500 + 625 + 625; connectors 3/1/1 -> 60, 20, 20 % -> 4400;
        # HPC 1/1/0 -> 50, 50 -> 5000; median of 0.595, 0.595, 0.714, 0.833, 0.952
        ("country", "DE", 3, 4, 5, 2, 3750.0, 4400.0, 5000.0, "A", 60.0, 0.714),
        ("region", "DE 48.0 11.5", 1, 1, 1, 1, 10000.0, 10000.0, 10000.0, "B", 100.0, 0.833),
        ("region", "DE 52.5 13.0", 1, 2, 3, 1, 10000.0, 10000.0, 10000.0, "A", 100.0, 0.595),
    ]


def test_market_concentration_shares_by_hand(market):
    rows = market.sql("SELECT operator, locations, connectors, hpc_connectors, share_locations, share_connectors, "
                      "share_hpc_connectors FROM market_concentration_shares WHERE area = 'DE'").fetchall()
    assert rows == [("A", 2, 3, 1, 50.0, 60.0, 50.0), ("B", 1, 1, 1, 25.0, 20.0, 50.0),
                    ("C", 1, 1, 0, 25.0, 20.0, 0.0)]

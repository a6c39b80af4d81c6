import datetime as dt
from decimal import Decimal

import pytest

import ecodata
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_snapshot
from ecodata.settings import Settings
from ecodata.sql import write_views
from ecodata.tables.fixtures import write_raw_snapshot

DAY = dt.date(2026, 5, 4)


def location(lid, country, connectors):
    return {"id": lid, "address": "a", "city": "c", "country": country, "last_updated": "2026-01-01T00:00:00Z",
            "coordinates": {"latitude": "52.0", "longitude": "5.0"},
            "evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [
                {"id": str(i), "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC",
                 "voltage": 400, "amperage": 125, "max_power": 50} for i in range(1, connectors + 1)]}]}


def price(pid, components, currency="EUR"):
    return {"id": pid, "partner": "P", "partner_id": "p", "last_updated": "2026-01-01T00:00:00Z",
            "product": {"id": pid, "name": pid, "type": "adhoc", "currency": currency},
            "elements": [{"price_components": [{"type": t, "price_excl_vat": v, "vat": 20, "step_size": 1}
                                               for t, v in components]}]}


# NL: 4 DC connectors. A 0.50 (2 connectors), B 0.70 (1), C 0.03 (too cheap, 3 connectors),
# D 0.60 with a 15.00 FLAT fee (too high, 1 connector), E 2.00 (the bound itself: kept, 1 connector).
# GB (GBP, 0.85 per EUR): F 1.80 GBP = 2.1176 EUR (too dear), G 1.70 GBP = exactly 2.00 EUR (kept).
PRICES = [price("A", [("ENERGY", 0.50)]), price("B", [("ENERGY", 0.70)]), price("C", [("ENERGY", 0.03)]),
          price("D", [("ENERGY", 0.60), ("FLAT", 15)]), price("E", [("ENERGY", 2.00)]),
          price("F", [("ENERGY", 1.80)], "GBP"), price("G", [("ENERGY", 1.70), ("TIME", 61)], "GBP")]
OFFERS = {("NL1", "1"): ["A", "C"], ("NL1", "2"): ["A", "C", "D"], ("NL1", "3"): ["B", "C"], ("NL1", "4"): ["E"],
          ("GB1", "1"): ["F", "G"]}


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("outliers") / "data")
    write_raw_snapshot(paths, "locations", DAY, [location("NL1", "NLD", 4), location("GB1", "GBR", 1)])
    write_raw_snapshot(paths, "prices", DAY, PRICES, api_version="prices")
    write_raw_snapshot(paths, "connector_prices", DAY, [
        {"location_id": loc, "evse_uid": "E1", "connector_id": cid, "pricing_ids": ids}
        for (loc, cid), ids in OFFERS.items()], api_version="prices")
    transform_snapshot(Settings(data_dir=paths.root), DAY)
    write_views(paths)
    with ecodata.open(paths.root) as dataset:
        yield dataset


def test_the_policy_is_declared_once_as_rows(ds):
    assert ds.sql("SELECT measure, unit, min_eur, max_eur FROM price_outlier_policy ORDER BY position").fetchall() == [
        ("energy", "EUR/kWh excl. VAT", Decimal("0.05"), Decimal("2.00")),
        ("time", "EUR/h excl. VAT", None, Decimal("60.00")),
        ("parking_time", "EUR/h excl. VAT", None, Decimal("60.00")),
        ("flat", "EUR per session excl. VAT", None, Decimal("10.00")),
    ]


def test_prices_are_flagged_never_dropped(ds):
    got = ds.sql("SELECT price_id, energy_eur_excl_vat, is_outlier, outlier_reason FROM price_outliers "
                 "ORDER BY price_id").fetchall()
    assert got == [
        ("A", Decimal("0.5"), False, None),
        ("B", Decimal("0.7"), False, None),
        ("C", Decimal("0.03"), True, "energy_below_min"),
        ("D", Decimal("0.6"), True, "flat_above_max"),
        ("E", Decimal("2"), False, None),  # the bound itself is inside the policy
        ("F", Decimal("2.117647"), True, "energy_above_max"),
        ("G", Decimal("2"), True, "time_above_max"),  # 1.70 GBP / 0.85 = 2.00 EUR exactly: kept; 61 GBP/h = 71.76 EUR/h
    ]
    assert ds.sql("SELECT count(*) FROM price_outliers").fetchall() == ds.sql("SELECT count(*) FROM prices").fetchall()


def test_market_prices_shares_and_weighted_statistics(ds):
    columns = ("prices, priced_pairs, outlier_prices, outlier_share, outlier_pairs, outlier_share_connectors, "
               "energy_incl_vat_eur_median, energy_incl_vat_eur_mean, energy_incl_vat_eur_median_clean, "
               "energy_incl_vat_eur_mean_clean, energy_incl_vat_eur_p10_clean, energy_incl_vat_eur_p90_clean, "
               "energy_incl_vat_eur_median_by_price, energy_incl_vat_eur_mean_by_price, "
               "energy_incl_vat_eur_median_by_price_clean, energy_incl_vat_eur_mean_by_price_clean")
    nl, gb = ds.sql(f"SELECT country_code, {columns} FROM market_prices ORDER BY country_code DESC").fetchall()
    # incl. 20 % VAT: A 0.60 (x2 pairs), B 0.84, C 0.036 (x3), D 0.72, E 2.40; 8 pairs, 5 prices
    assert nl == ("NL", 5, 8, 2, 0.4, 4, 0.5,
                  0.6,  # pairs sorted: .036 .036 .036 .60 .60 .72 .84 2.40 -> (0.60 + 0.60) / 2
                  0.6585,  # (3 x 0.036 + 2 x 0.60 + 0.72 + 0.84 + 2.40) / 8 = 5.268 / 8
                  0.72,  # kept pairs (A, A, B, E): 0.60 0.60 0.84 2.40 -> (0.60 + 0.84) / 2
                  1.11,  # 4.44 / 4
                  0.6, 1.932,  # p10 and p90 of the kept pairs (linear: 0.84 + 0.7 x (2.40 - 0.84))
                  0.72,  # one value per price: 0.036 0.60 0.72 0.84 2.40
                  0.9192,  # 4.596 / 5
                  0.84,  # A, B, E: 0.60 0.84 2.40
                  1.28)  # 3.84 / 3
    # GBP, in EUR at 0.85: F 2.16 GBP incl. = 2.541176 EUR, G 2.04 GBP = 2.4 EUR; both flagged (F energy, G time)
    assert gb == ("GB", 2, 2, 2, 1.0, 2, 1.0, 2.470588, 2.470588, None, None, None, None, 2.470588, 2.470588, None, None)


def test_market_prices_keeps_its_columns_with_their_meaning(ds):
    first = ds.sql("SELECT * FROM market_prices WHERE country_code = 'NL'").pl()
    assert first.columns[:16] == [
        "country_code", "power_class", "product_type", "currency", "connectors", "prices", "priced_pairs",
        "energy_incl_vat_p10", "energy_incl_vat_median", "energy_incl_vat_p90", "energy_incl_vat_eur_p10",
        "energy_incl_vat_eur_median", "energy_incl_vat_eur_p90", "share_time_fee", "share_parking_fee",
        "share_flat_fee"]
    assert first.columns[-1] == "snapshot_date"
    assert first.row(0, named=True)["connectors"] == 4
    assert first.row(0, named=True)["energy_incl_vat_median"] == 0.6  # raw, outliers included


def test_bounds_in_a_currency_of_hundreds_per_eur_are_compared_exactly(tmp_path):
    """HUF at 400 per EUR: a 60 EUR/h bound is 24,000 HUF/h; as DECIMAL(18, 6) x DECIMAL(18, 8) that
    product needs 23 digits, which overflowed DuckDB's 18-digit multiplication and failed the europe-scale
    demo (the demo and bench markets have no HUF prices)."""
    paths = DataPaths(tmp_path / "data")
    hungarian = [price("H1", [("ENERGY", 160), ("TIME", 24_000)], "HUF"),   # 0.40 EUR/kWh, exactly 60 EUR/h: kept
                 price("H2", [("ENERGY", 160), ("TIME", 24_001)], "HUF"),   # just above 60 EUR/h: flagged
                 price("H3", [("ENERGY", 801), ("FLAT", 4_000)], "HUF")]    # 2.0025 EUR/kWh; FLAT 10 EUR: kept
    write_raw_snapshot(paths, "locations", DAY, [location("HU1", "HUN", 3)])
    write_raw_snapshot(paths, "prices", DAY, hungarian, api_version="prices")
    write_raw_snapshot(paths, "connector_prices", DAY, [
        {"location_id": "HU1", "evse_uid": "E1", "connector_id": str(i), "pricing_ids": [f"H{i}"]} for i in (1, 2, 3)],
        api_version="prices")
    transform_snapshot(Settings(data_dir=paths.root), DAY)
    write_views(paths)
    with ecodata.open(paths.root) as dataset:
        got = dataset.sql("SELECT price_id, units_per_eur, time_eur_excl_vat, is_outlier, outlier_reason "
                          "FROM price_outliers ORDER BY price_id").fetchall()
        assert got == [
            ("H1", Decimal("400"), Decimal("60"), False, None),
            ("H2", Decimal("400"), Decimal("60.0025"), True, "time_above_max"),
            ("H3", Decimal("400"), None, True, "energy_above_max"),
        ]
        assert dataset.sql("SELECT outlier_prices FROM market_prices WHERE country_code = 'HU'").fetchall() == [(2,)]

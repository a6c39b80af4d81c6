import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecodata.tables.schemas import PRICE_COMPONENTS, PRICE_ELEMENTS, PRICES
from ecodata.transform import transform_connector_prices, transform_prices

PRICE = {
    "id": "P1",
    "partner": "ChargeCo",
    "partner_id": "pp-1",
    "last_updated": "2026-05-22T17:17:32Z",
    "product": {"id": "prod-1", "name": "Flex", "description": "d", "type": "msp", "subscription_type": "month",
                "subscription_fee_excl_vat": "4.9900", "currency": "EUR", "new_product_field": 1},
    "elements": [
        {"price_components": [{"type": "ENERGY", "price_excl_vat": 0.39, "vat": 19, "step_size": 1},
                              {"type": "TIME", "price_excl_vat": 0.123456, "vat": 8.1, "step_size": 60}],
         "restrictions": {"start_time": "08:00", "end_time": "20:00", "start_date": "2026-01-01",
                          "end_date": "2027-01-01", "min_kwh": 0.5, "max_kwh": 80, "min_current": 16,
                          "max_current": 32, "min_power": 11, "max_power": 50.5, "min_duration": 60,
                          "max_duration": 14400, "day_of_week": ["MONDAY", "FRIDAY"], "reservation": "RESERVATION",
                          "overstay_duration": 3600, "min_price": 1.5, "max_price": 12,
                          "emsp_contract_date": "2025-06-01", "unknown_restriction": True}},
        {"price_components": [{"type": "PARKING_TIME", "price_excl_vat": 6, "step_size": 300}],
         "restrictions": None},
        {"price_components": [{"type": "FLAT", "price_excl_vat": "0.50", "vat": 0, "step_size": 1}]},
    ],
}


def test_prices_golden(run):
    out = run(transform_prices, [PRICE], "prices")
    prices = out["prices"]
    assert prices.schema == PRICES.polars_schema
    assert prices.row(0, named=True) == {
        "price_id": "P1", "partner": "ChargeCo", "partner_id": "pp-1", "product_id": "prod-1",
        "product_name": "Flex", "product_description": "d", "product_type": "msp", "subscription_type": "month",
        "subscription_fee_excl_vat": Decimal("4.990000"), "currency": "EUR", "element_count": 3,
        "last_updated": dt.datetime(2026, 5, 22, 17, 17, 32, tzinfo=dt.UTC),
    }
    assert out["rejects"].height == 0


def test_restrictions_become_typed_columns(run):
    elements = run(transform_prices, [PRICE], "prices")["price_elements"]
    assert elements.schema == PRICE_ELEMENTS.polars_schema
    first = elements.row(0, named=True)
    json_text = first.pop("restrictions_json")
    assert first == {
        "price_id": "P1", "element_index": 0, "component_count": 2,
        "start_time": dt.time(8), "end_time": dt.time(20),
        "start_date": dt.date(2026, 1, 1), "end_date": dt.date(2027, 1, 1),
        "min_kwh": Decimal("0.5"), "max_kwh": Decimal("80"), "min_current_a": Decimal("16"),
        "max_current_a": Decimal("32"), "min_power_kw": Decimal("11"), "max_power_kw": Decimal("50.5"),
        "min_duration_s": 60, "max_duration_s": 14400, "day_of_week": ["MONDAY", "FRIDAY"],
        "reservation": "RESERVATION", "overstay_duration_s": 3600,
        "restriction_min_price": Decimal("1.5"), "restriction_max_price": Decimal("12"),
        "emsp_contract_date": dt.date(2025, 6, 1),
    }
    assert '"start_time":"08:00"' in json_text
    # Null and missing restrictions are no restriction at all.
    rest = elements.slice(1).select(pl.exclude("price_id", "element_index", "component_count"))
    assert rest.null_count().row(0) == (2,) * rest.width


def test_components_exact_price_incl_vat(run):
    components = run(transform_prices, [PRICE], "prices")["price_components"]
    assert components.schema == PRICE_COMPONENTS.polars_schema
    expected = pl.DataFrame(
        {
            "price_id": ["P1"] * 4,
            "element_index": [0, 0, 1, 2],
            "component_index": [0, 1, 0, 0],
            "type": ["ENERGY", "TIME", "PARKING_TIME", "FLAT"],
            "price_excl_vat": [Decimal("0.39"), Decimal("0.123456"), Decimal("6"), Decimal("0.5")],
            "vat": [Decimal("19"), Decimal("8.1"), None, Decimal("0")],
            # 0.123456 * 1.081 = 0.133455936 exactly; vat not given -> null (not the same as 0).
            "price_incl_vat": [Decimal("0.4641"), Decimal("0.133455936"), None, Decimal("0.5")],
            "step_size": [1, 60, 300, 1],
        },
        schema=PRICE_COMPONENTS.polars_schema,
    )
    assert_frame_equal(components, expected)


def test_min_max_price_as_price_objects(run):
    rec = dict(PRICE, elements=[{"price_components": [{"type": "ENERGY", "price_excl_vat": 0.3}],
                                 "restrictions": {"max_price": {"excl_vat": 10, "incl_vat": 11.9}}}])
    out = run(transform_prices, [rec], "prices")
    assert out["price_elements"]["restriction_max_price"].to_list() == [Decimal("10")]
    assert out["rejects"].height == 0


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        ({"price_components": [{"type": "ENERGY", "price_excl_vat": "free"}]}, "invalid price_excl_vat: free"),
        ({"price_components": [{"type": "TIME", "price_excl_vat": 1, "step_size": 1.5}]}, "invalid step_size: 1.5"),
        ({"price_components": [], "restrictions": {"start_time": "25:00"}}, "invalid start_time: 25:00"),
        ({"price_components": [], "restrictions": {"start_date": "01/02/2026"}}, "invalid start_date: 01/02/2026"),
        ({"price_components": [], "restrictions": {"day_of_week": {"MONDAY": True}}}, None),
    ],
)
def test_a_bad_element_rejects_the_whole_price(run, element, reason):
    bad = dict(PRICE, id="P2", elements=[PRICE["elements"][0], element])
    out = run(transform_prices, [PRICE, bad], "prices")
    assert out["prices"]["price_id"].to_list() == ["P1"]
    assert set(out["price_components"]["price_id"]) == {"P1"}
    assert set(out["price_elements"]["price_id"]) == {"P1"}
    assert out["rejects"]["record_key"].to_list() == ["k1"]
    got = out["rejects"]["reason"][0]
    if reason is None:
        assert got.startswith("record does not fit the expected shape")
    else:
        assert got == reason


def test_connector_prices_golden(run):
    records = [
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1", "P2", "P3"],
         "product_ids": ["a", "b"]},
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "2", "pricing_ids": []},
        {"location_id": "L1", "evse_uid": "E2", "connector_id": "1", "pricing_ids": ["P1"], "extra": {"x": 1}},
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P9"]},
        {"evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1"]},
        {"location_id": "L1", "evse_uid": "E3", "pricing_ids": []},
    ]
    out = run(transform_connector_prices, records, "prices")
    expected = pl.DataFrame(
        {
            "location_id": ["L1"] * 4,
            "evse_uid": ["E1", "E1", "E1", "E2"],
            "connector_id": ["1", "1", "1", "1"],
            "price_id": ["P1", "P2", "P3", "P1"],
            "price_index": [0, 1, 2, 0],
            "product_id": ["a", "b", None, None],
        },
        schema={"location_id": pl.String, "evse_uid": pl.String, "connector_id": pl.String,
                "price_id": pl.String, "price_index": pl.Int32, "product_id": pl.String},
    )
    assert_frame_equal(out["connector_prices"], expected)
    assert out["rejects"].select("record_key", "reason").rows() == [
        ("k3", "duplicate record: an earlier record has the same location_id, evse_uid, connector_id (occurrence 2)"),
        ("k4", "missing key field location_id"),
        ("k5", "missing key field connector_id"),
    ]


def test_a_single_weekday_string_is_read_as_a_one_day_list(run):
    rec = dict(PRICE, elements=[{"price_components": [], "restrictions": {"day_of_week": "MONDAY"}}])
    out = run(transform_prices, [rec], "prices")
    assert out["price_elements"]["day_of_week"].to_list() == [["MONDAY"]]

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecodata.tables.schemas import CONNECTORS, EVSES, LOCATIONS
from ecodata.transform import transform_locations

UTC = dt.UTC

LOCATION_211 = {
    "id": "L1",
    "type": "ON_STREET",
    "name": "Markt",
    "address": "Markt 1",
    "city": "Aachen",
    "postal_code": "52062",
    "country": "DEU",
    "coordinates": {"latitude": "50.7753", "longitude": "6.0839"},
    "operator": {"partner_id": "op-1", "name": "Stadtwerk", "website": "https://x", "ema_id": ["DE-ABC"]},
    "brand_name": {"partner_id": "b-1", "name": "Brandy"},
    "access_type": "Public",
    "administrative_areas": {"municipality": "Aachen", "state_province": "NRW"},
    "facilities": ["CAFE"],
    "adhoc_authorisation_payment_method": [{"code": "TERMINAL_CREDIT_CARD", "description": ""}],
    "opening_times": {"twentyfourseven": True},
    "restrictions": [],
    "a_field_nobody_knows": {"nested": [1, 2, {"deep": None}]},
    "time_zone": "Europe/Berlin",
    "evses": [
        {
            "uid": "E1",
            "evse_id": "DE*ABC*E1",
            "status": "AVAILABLE",
            "capabilities": ["RFID_READER"],
            "connectors": [
                {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                 "voltage": 230, "amperage": 16, "tariff_id": "T1", "last_updated": "2026-01-01T10:00:00Z"},
                {"id": "2", "standard": "DOMESTIC_F", "format": "SOCKET", "power_type": "AC_1_PHASE",
                 "voltage": 230, "amperage": 10, "max_power": 2.3},
            ],
            "last_updated": "2026-01-01T10:00:00Z",
        },
        {
            "uid": "E2",
            "status": "CHARGING",
            "coordinates": {"latitude": 50.5, "longitude": 6.5},
            "connectors": [
                {"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC",
                 "voltage": 920, "amperage": 500, "max_power": 150},
                {"id": "2", "standard": "CHADEMO", "format": "CABLE", "power_type": "DC",
                 "voltage": 500, "amperage": 125, "max_power": 149.9},
            ],
        },
    ],
    "last_updated": "2026-01-02T08:00:00",
}

LOCATION_22 = {
    "id": "L2",
    "country_code": "CH",
    "party_id": "ECO",
    "publish": True,
    "parking_type": "PARKING_LOT",
    "address": "Bahnhofstrasse 1",
    "city": "Zürich",
    "country": "CHE",
    "coordinates": {"latitude": "47.37", "longitude": "8.54"},
    "brand_name": "Plain brand",
    "time_zone": "Europe/Zurich",
    "evses": [
        {"uid": "X", "status": "AVAILABLE", "connectors": [
            {"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC",
             "max_voltage": 1000, "max_amperage": 400, "max_electric_power": 300000, "tariff_ids": ["A", "B"]},
            {"id": "2", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_2_PHASE",
             "max_voltage": 230, "max_amperage": 32},
        ]},
    ],
    "last_updated": "2026-01-03T00:00:00+01:00",
}


@pytest.fixture
def tables(run):
    return run(transform_locations, [LOCATION_211, LOCATION_22])


def test_locations_golden(tables):
    got = tables["locations"]
    assert got.schema == LOCATIONS.polars_schema
    expected = pl.DataFrame(
        {
            "location_id": ["L1", "L2"],
            "country": ["DEU", "CHE"],
            "country_code": ["DE", "CH"],
            "party_id": [None, "ECO"],
            "latitude": [50.7753, 47.37],
            "location_type": ["ON_STREET", "PARKING_LOT"],
            "operator_name": ["Stadtwerk", None],
            "operator_id": ["op-1", None],
            "brand_name": ["Brandy", "Plain brand"],
            "municipality": ["Aachen", None],
            "facilities": [["CAFE"], None],
            "payment_methods": [["TERMINAL_CREDIT_CARD"], None],
            "twentyfourseven": [True, None],
            "evse_count": [2, 1],
            "connector_count": [4, 2],
            "last_updated": [dt.datetime(2026, 1, 2, 8, tzinfo=UTC), dt.datetime(2026, 1, 2, 23, tzinfo=UTC)],
        },
        schema={k: LOCATIONS.polars_schema[k] for k in [
            "location_id", "country", "country_code", "party_id", "latitude", "location_type", "operator_name",
            "operator_id", "brand_name", "municipality", "facilities", "payment_methods", "twentyfourseven",
            "evse_count", "connector_count", "last_updated"]},
    )
    assert_frame_equal(got.select(expected.columns), expected)


def test_evses_golden(tables):
    got = tables["evses"]
    assert got.schema == EVSES.polars_schema
    expected = pl.DataFrame(
        {
            "location_id": ["L1", "L1", "L2"],
            "evse_uid": ["E1", "E2", "X"],
            "evse_id": ["DE*ABC*E1", None, None],
            "status": ["AVAILABLE", "CHARGING", "AVAILABLE"],
            "capabilities": [["RFID_READER"], None, None],
            "latitude": [None, 50.5, None],
            "connector_count": [2, 2, 2],
        },
        schema={k: EVSES.polars_schema[k] for k in [
            "location_id", "evse_uid", "evse_id", "status", "capabilities", "latitude", "connector_count"]},
    )
    assert_frame_equal(got.select(expected.columns), expected)


def test_connectors_power_and_class(tables):
    got = tables["connectors"]
    assert got.schema == CONNECTORS.polars_schema
    expected = pl.DataFrame(
        {
            "location_id": ["L1", "L1", "L1", "L1", "L2", "L2"],
            "evse_uid": ["E1", "E1", "E2", "E2", "X", "X"],
            "connector_id": ["1", "2", "1", "2", "1", "2"],
            "voltage": [230, 230, 920, 500, 1000, 230],
            "amperage": [16, 10, 500, 125, 400, 32],
            "max_power_kw": [11.04, 2.3, 150.0, 149.9, 300.0, 14.72],
            "max_power_source": ["voltage_amperage", "max_power", "max_power", "max_power",
                                 "max_electric_power", "voltage_amperage"],
            "power_class": ["AC", "AC", "HPC", "DC", "HPC", "AC"],
            "tariff_ids": [["T1"], None, None, None, ["A", "B"], None],
            "last_updated": [dt.datetime(2026, 1, 1, 10, tzinfo=UTC), None, None, None, None, None],
        },
        schema={k: CONNECTORS.polars_schema[k] for k in [
            "location_id", "evse_uid", "connector_id", "voltage", "amperage", "max_power_kw",
            "max_power_source", "power_class", "tariff_ids", "last_updated"]},
    )
    assert_frame_equal(got.select(expected.columns), expected)
    assert tables["rejects"].height == 0


def test_unknown_fields_do_not_change_the_result(run):
    plain = {k: v for k, v in LOCATION_211.items() if k not in ("a_field_nobody_knows", "restrictions")}
    extra = dict(LOCATION_211, another_new_field="x", evses=[dict(LOCATION_211["evses"][0], new_evse_field=[{}])])
    plain = dict(plain, evses=[LOCATION_211["evses"][0]])
    a = run(transform_locations, [plain])
    b = run(transform_locations, [extra])
    for name in ("locations", "evses", "connectors"):
        assert_frame_equal(a[name], b[name])


def test_records_that_do_not_fit_go_to_rejects(run):
    bad_voltage = dict(LOCATION_22, id="L3", evses=[{"uid": "E", "connectors": [{"id": "1", "voltage": "high"}]}])
    no_id = {k: v for k, v in LOCATION_22.items() if k != "id"}
    object_as_string = dict(LOCATION_22, id="L4", evses="not a list")
    out = run(transform_locations, [LOCATION_211, "{truncated", bad_voltage, no_id, "[1, 2]",
                                    object_as_string, LOCATION_211, LOCATION_22])
    assert out["locations"]["location_id"].to_list() == ["L1", "L2"]
    assert out["connectors"].height == 6
    rejects = out["rejects"]
    assert rejects["record_key"].to_list() == ["k1", "k2", "k3", "k4", "k5", "k6"]
    assert rejects["table_name"].to_list() == [
        "locations", "connectors", "locations", "locations", "locations", "locations"]
    reasons = rejects["reason"].to_list()
    assert reasons[0].startswith("record does not fit the expected shape: ")
    assert reasons[1] == "invalid voltage: high"
    assert reasons[2] == "missing key field location_id"
    assert reasons[3].startswith("record does not fit the expected shape: ")
    assert reasons[4].startswith("record does not fit the expected shape: ")
    assert reasons[5] == "duplicate record: an earlier record has the same location_id (occurrence 2)"
    assert rejects["record_json"][0] == "{truncated"
    assert set(rejects["endpoint"]) == {"locations"}


def test_invalid_max_power_is_rejected_not_ignored(run):
    rec = dict(LOCATION_22, evses=[{"uid": "X", "connectors": [
        {"id": "1", "power_type": "DC", "max_power": "lots", "max_voltage": 400, "max_amperage": 100}]}])
    out = run(transform_locations, [rec])
    assert out["connectors"].height == 0
    assert out["rejects"]["reason"].to_list() == ["invalid max_power: lots"]


def test_one_bad_record_among_many_is_isolated(run):
    good = [dict(LOCATION_22, id=f"L{i}") for i in range(300)]
    records: list = [*good[:137], '{"id": "bad", "evses": {"uid": 1}}', *good[137:]]
    out = run(transform_locations, records)
    assert out["locations"]["location_id"].to_list() == [f"L{i}" for i in range(300)]
    assert out["rejects"]["record_key"].to_list() == ["k137"]


def test_empty_and_null_records_are_rejected_not_lost(run):
    out = run(transform_locations, [LOCATION_22, "", "null", "   ", LOCATION_211, "5"])
    assert out["locations"]["location_id"].to_list() == ["L2", "L1"]
    assert out["rejects"]["record_key"].to_list() == ["k1", "k2", "k3", "k5"]
    assert out["rejects"]["reason"][1] == "record is not a JSON object (null)"
    assert out["rejects"]["reason"][0].startswith("record does not fit the expected shape: ")


def test_a_lone_empty_record_is_rejected(run):
    out = run(transform_locations, [""])
    assert out["locations"].height == 0
    assert out["rejects"]["record_key"].to_list() == ["k0"]

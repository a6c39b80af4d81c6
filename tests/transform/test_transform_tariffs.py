import datetime as dt
from decimal import Decimal

from ecodata.tables.schemas import TARIFF_COMPONENTS, TARIFF_ELEMENTS, TARIFFS
from ecodata.transform import transform_tariffs

ALL_NULL = {"start_time": None, "end_time": None, "start_date": None, "end_date": None, "min_kwh": None,
            "max_kwh": None, "min_power": None, "max_power": None, "min_duration": None,
            "max_duration": None, "day_of_week": None}
ENERGY = {"type": "ENERGY", "price": 0.25, "step_size": 1}


def tariff(tid, restrictions, **extra):
    return {"id": tid, "currency": "EUR", "tariff_alt_url": "", "last_updated": "2026-01-01T00:00:00Z",
            "elements": [{"price_components": [ENERGY], "restrictions": restrictions}], **extra}


def test_tariff_fields_golden(run):
    rec = tariff("T1", None, country_code="NL", party_id="ECO", type="AD_HOC_PAYMENT",
                 tariff_alt_text=[{"language": "en", "text": "0.25/kWh"}, {"language": "nl", "text": "x"}],
                 min_price={"excl_vat": 0.5, "incl_vat": 0.55}, max_price={"excl_vat": 10},
                 start_date_time="2026-01-01T00:00:00Z", energy_mix={"is_green_energy": True})
    out = run(transform_tariffs, [rec])
    assert out["tariffs"].schema == TARIFFS.polars_schema
    assert out["tariffs"].row(0, named=True) == {
        "tariff_id": "T1", "country_code": "NL", "party_id": "ECO", "currency": "EUR", "type": "AD_HOC_PAYMENT",
        "tariff_alt_text": "0.25/kWh", "tariff_alt_url": "", "min_price_excl_vat": Decimal("0.5"),
        "min_price_incl_vat": Decimal("0.55"), "max_price_excl_vat": Decimal("10"), "max_price_incl_vat": None,
        "tax_included": None,
        "start_date_time": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "end_date_time": None, "element_count": 1,
        "last_updated": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    }
    components = out["tariff_components"]
    assert components.schema == TARIFF_COMPONENTS.polars_schema
    assert components.select("price_excl_vat", "vat", "price_incl_vat", "step_size").row(0) == (
        Decimal("0.25"), None, None, 1)


def test_restriction_shapes(run):
    records = [
        tariff("OBJ", {"max_current": 32, "day_of_week": ["SATURDAY"]}),
        tariff("NULL", None),
        tariff("LIST_OF_NULLS", [ALL_NULL]),
        tariff("EMPTY_LIST", []),
        tariff("LIST_ONE", [ALL_NULL, dict(ALL_NULL, min_duration=0, max_duration=86400), ALL_NULL]),
        tariff("LIST_TWO", [{"min_kwh": 1}, {"max_kwh": 5}]),
    ]
    out = run(transform_tariffs, records)
    elements = out["tariff_elements"]
    assert elements.schema == TARIFF_ELEMENTS.polars_schema
    assert elements.select("tariff_id", "max_current_a", "day_of_week", "min_duration_s", "max_duration_s").rows() == [
        ("OBJ", Decimal("32"), ["SATURDAY"], None, None),
        ("NULL", None, None, None, None),
        ("LIST_OF_NULLS", None, None, None, None),
        ("EMPTY_LIST", None, None, None, None),
        ("LIST_ONE", None, None, 0, 86400),
    ]
    assert elements.filter(tariff_id="LIST_OF_NULLS")["restrictions_json"].to_list() == [None]
    assert out["tariffs"]["tariff_id"].to_list() == ["OBJ", "NULL", "LIST_OF_NULLS", "EMPTY_LIST", "LIST_ONE"]
    assert out["rejects"].select("record_key", "table_name", "reason").rows() == [
        ("k5", "tariff_elements", "element 0 has 2 non-null restriction objects; OCPI allows one, so the tariff "
                                  "is not loaded (the raw snapshot keeps it)"),
    ]


def test_mixed_object_and_list_restrictions_are_rejected(run):
    rec = tariff("MIX", None)
    rec["elements"] = [{"price_components": [ENERGY], "restrictions": {"min_kwh": 1}},
                       {"price_components": [ENERGY], "restrictions": [ALL_NULL]}]
    out = run(transform_tariffs, [tariff("OK", None), rec])
    assert out["tariffs"]["tariff_id"].to_list() == ["OK"]
    assert out["rejects"]["reason"][0].startswith("record does not fit the expected shape")


def test_ocpi_230_tariffs_keep_tax_included_price_limits_and_tax_inclusive_prices(run):
    comps = [{"type": "ENERGY", "price": "0.595", "vat": "19", "step_size": 1}]
    yes = {"id": "Y", "currency": "EUR", "last_updated": "2026-01-01T00:00:00Z", "tax_included": "YES",
           "min_price": {"before_taxes": "1.00", "after_taxes": "1.19"}, "max_price": {"before_taxes": "20"},
           "elements": [{"price_components": comps}]}
    na = {**yes, "id": "N", "tax_included": "N/A", "min_price": None, "max_price": None}
    bad = {**yes, "id": "B", "tax_included": "MAYBE"}
    out = run(transform_tariffs, [yes, na, bad])
    rows = {r["tariff_id"]: r for r in out["tariffs"].iter_rows(named=True)}
    assert set(rows) == {"Y", "N"}
    assert (rows["Y"]["tax_included"], rows["Y"]["min_price_excl_vat"], rows["Y"]["min_price_incl_vat"],
            rows["Y"]["max_price_excl_vat"], rows["Y"]["max_price_incl_vat"]) == (
        "YES", Decimal("1"), Decimal("1.19"), Decimal("20"), None)
    prices = {r["tariff_id"]: (r["price_excl_vat"], r["price_incl_vat"])
              for r in out["tariff_components"].iter_rows(named=True)}
    assert prices == {"Y": (None, Decimal("0.595")), "N": (Decimal("0.595"), Decimal("0.595"))}
    assert out["rejects"]["reason"].to_list() == ["tax_included MAYBE is not YES, NO or N/A (OCPI 2.3.0)"]

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecodata.errors import PricingError
from ecodata.pricing import RoundingPolicy, parse_tariff, price_cdr, price_cdr_report
from ecodata.pricing.model import parse_restrictions
from ecodata.pricing.scalar import element_bound_deltas, round_fraction, window_holds

D = Decimal


def comp(kind, price, vat=None, step=1, em=False):
    c = {"type": kind, ("price_excl_vat" if em else "price"): D(str(price)), "step_size": step}
    if vat is not None:
        c["vat"] = D(str(vat))
    return c


def tariff(*elements, **extra):
    return {"id": "t", "currency": "EUR", "elements": list(elements), **extra}


def el(*components, **restrictions):
    return {"price_components": list(components), "restrictions": restrictions or None}


def cdr(start, periods, end):
    """periods: (start, {dimension: volume})."""
    return {
        "start_date_time": start, "end_date_time": end,
        "charging_periods": [
            {"start_date_time": s, "dimensions": [{"type": k, "volume": D(str(v))} for k, v in dims.items()]}
            for s, dims in periods
        ],
    }


def total(result):
    return result["total_cost"]["excl_vat"], result["total_cost"]["incl_vat"]


# --- time windows, midnight, weekdays ---------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "tod", "holds"), [
    (22 * 3600, 6 * 3600, 23 * 3600, True),
    (22 * 3600, 6 * 3600, 5 * 3600 + 59 * 60, True),
    (22 * 3600, 6 * 3600, 6 * 3600, False),
    (22 * 3600, 6 * 3600, 21 * 3600 + 59 * 60, False),
    (20 * 3600, 0, 23 * 3600 + 59 * 60, True),
    (20 * 3600, 0, 0, False),
    (None, 0, 12 * 3600, True),
    (9 * 3600, None, 8 * 3600, False),
    (0, 0, 12 * 3600, True),
])
def test_window_boundaries(start, end, tod, holds):
    assert window_holds(start, end, tod) is holds


def test_window_wrapping_midnight_prices_each_period_by_its_start():
    t = tariff(el(comp("ENERGY", "0.20", 10), start_time="22:00", end_time="06:00"), el(comp("ENERGY", "0.40", 10)))
    c = cdr("2026-03-10T21:00:00Z", [
        ("2026-03-10T21:00:00Z", {"ENERGY": 2}),   # 21:00 local (UTC): default
        ("2026-03-10T23:00:00Z", {"ENERGY": 5}),   # 23:00: night
        ("2026-03-11T05:59:00Z", {"ENERGY": 3}),   # 05:59: night (next day)
        ("2026-03-11T06:00:00Z", {"ENERGY": 2}),   # 06:00: end exclusive -> default
    ], "2026-03-11T07:00:00Z")
    got = price_cdr(t, c, "UTC")
    assert total(got) == (D("3.2000"), D("3.5200"))  # 4 kWh x 0.40 + 8 kWh x 0.20
    assert got["total_time"] == D("10.0000")


def test_session_crossing_midnight_switches_day_of_week_in_local_time():
    # Friday 23:00 to Saturday 01:00 in Berlin (UTC+1 in winter); timestamps are UTC.
    t = tariff(el(comp("TIME", "3.00"), day_of_week=["SATURDAY", "SUNDAY"]), el(comp("TIME", "1.00")))
    c = cdr("2026-11-20T22:00:00Z", [
        ("2026-11-20T22:00:00Z", {"TIME": 1}),
        ("2026-11-20T23:00:00Z", {"TIME": 1}),
    ], "2026-11-21T00:00:00Z")
    assert total(price_cdr(t, c, "Europe/Berlin")) == (D("4.0000"), D("4.0000"))
    # in UTC both periods fall on Friday
    assert total(price_cdr(t, c, "UTC")) == (D("2.0000"), D("2.0000"))


def test_end_date_exclusive_and_start_date_inclusive():
    t = tariff(el(comp("ENERGY", "0.10"), start_date="2026-01-02", end_date="2026-01-03"), el(comp("ENERGY", "1")))
    c = cdr("2026-01-01T23:00:00Z", [
        ("2026-01-01T23:00:00Z", {"ENERGY": 1}), ("2026-01-02T00:00:00Z", {"ENERGY": 1}),
        ("2026-01-03T00:00:00Z", {"ENERGY": 1}),
    ], "2026-01-03T01:00:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("2.1000")


# --- power, current, kWh and duration tiers -------------------------------------------------


def test_max_power_tiers_spec_example():
    t = tariff(el(comp("ENERGY", "0.20", 20), max_power=D(16)), el(comp("ENERGY", "0.35", 20), max_power=D(32)),
               el(comp("ENERGY", "0.50", 20)))
    c = cdr("2026-05-01T10:00:00Z", [
        ("2026-05-01T10:00:00Z", {"ENERGY": 1, "POWER": 6}),
        ("2026-05-01T10:10:00Z", {"ENERGY": 40, "POWER": 48}),
        ("2026-05-01T11:00:00Z", {"ENERGY": "0.5", "POWER": 4}),
    ], "2026-05-01T11:10:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("20.3000")


def test_min_power_boundary_is_inclusive_and_max_exclusive():
    t = tariff(el(comp("ENERGY", "0.30"), min_power=D(50), max_power=D(150)), el(comp("ENERGY", "0.60")))
    periods = [("2026-05-01T10:00:00Z", {"ENERGY": 1, "POWER": 50}), ("2026-05-01T10:01:00Z", {"ENERGY": 1, "POWER": 150})]
    assert total(price_cdr(t, cdr("2026-05-01T10:00:00Z", periods, "2026-05-01T10:02:00Z"), "UTC"))[0] == D("0.9000")


def complex_tariff_4():
    return tariff(
        el(comp("FLAT", "2.50", 15)),
        el(comp("TIME", "1.00", 20, 900), max_current=D(32)),
        el(comp("TIME", "2.00", 20, 600), min_current=D(32),
           day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]),
        el(comp("TIME", "1.25", 20, 600), min_current=D(32), day_of_week=["SATURDAY", "SUNDAY"]),
        el(comp("PARKING_TIME", "5.00", 10, 300), start_time="09:00", end_time="18:00",
           day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]),
        el(comp("PARKING_TIME", "6.00", 10, 300), start_time="10:00", end_time="17:00", day_of_week=["SATURDAY"]),
    )


def test_current_tiers_complex_tariff_monday():
    c = cdr("2026-06-01T09:30:00Z", [
        ("2026-06-01T09:30:00Z", {"TIME": D(165) / 60, "CURRENT": 16, "ENERGY": 10}),
        ("2026-06-01T12:15:00Z", {"PARKING_TIME": "0.7"}),
    ], "2026-06-01T12:57:00Z")
    got = price_cdr(complex_tariff_4(), c, "UTC")
    assert total(got) == (D("9.0000"), D("10.3000"))
    assert got["total_parking_cost"] == {"excl_vat": D("3.7500"), "incl_vat": D("4.1250")}


def test_current_tiers_complex_tariff_saturday_arithmetic_not_the_stated_typo():
    c = cdr("2026-06-06T13:30:00Z", [
        ("2026-06-06T13:30:00Z", {"TIME": "1.9", "CURRENT": 43, "ENERGY": 30}),
        ("2026-06-06T15:24:00Z", {"PARKING_TIME": D(71) / 60}),
    ], "2026-06-06T16:35:00Z")
    assert total(price_cdr(complex_tariff_4(), c, "UTC")) == (D("12.3750"), D("13.9750"))


def test_kwh_tiers_min_inclusive_max_exclusive():
    t = tariff(el(comp("ENERGY", "0.00"), max_kwh=D(1)), el(comp("ENERGY", "0.20"), min_kwh=D(1)))
    c = cdr("2026-05-01T10:00:00Z", [("2026-05-01T10:00:00Z", {"ENERGY": 1}),
                                     ("2026-05-01T10:05:00Z", {"ENERGY": 19})], "2026-05-01T12:00:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("3.8000")


def test_max_duration_tiers_spec_example():
    t = tariff(el(comp("ENERGY", "0.00", 20), max_duration=1800), el(comp("ENERGY", "0.25", 20), max_duration=3600),
               el(comp("ENERGY", "0.40", 20)))
    c = cdr("2026-05-01T10:00:00Z", [("2026-05-01T10:00:00Z", {"ENERGY": 5}),
                                     ("2026-05-01T10:30:00Z", {"ENERGY": "1.2"})], "2026-05-01T10:40:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("0.3000")


# --- step_size (spec tariff_14 scenarios the vectors miss) ---------------------------------


def step_tariff():
    return tariff(
        el(comp("TIME", "1.20", None, 1800), comp("PARKING_TIME", "1.00", None, 900), start_time="00:00", end_time="17:00"),
        el(comp("TIME", "2.40", None, 900), comp("PARKING_TIME", "1.00", None, 900), start_time="17:00", end_time="20:00"),
        el(comp("TIME", "2.40", None, 900), start_time="20:00", end_time="00:00"),
    )


def test_step_size_rounds_session_time_with_the_last_step_and_bills_surplus_at_last_price():
    c = cdr("2026-01-13T16:35:00Z", [("2026-01-13T16:35:00Z", {"TIME": D(25) / 60}),
                                     ("2026-01-13T17:00:00Z", {"TIME": D(10) / 60})], "2026-01-13T17:10:00Z")
    assert total(price_cdr(step_tariff(), c, "UTC"))[0] == D("1.3000")  # 25 min x 1.20 + 20 min x 2.40


def test_step_size_rounds_only_billed_parking_when_parking_follows():
    c = cdr("2026-01-13T19:40:00Z", [
        ("2026-01-13T19:40:00Z", {"TIME": "0.2"}), ("2026-01-13T19:52:00Z", {"PARKING_TIME": D(8) / 60}),
        ("2026-01-13T20:00:00Z", {"PARKING_TIME": "0.2"}),
    ], "2026-01-13T20:12:00Z")
    got = price_cdr(step_tariff(), c, "UTC")
    assert total(got)[0] == D("0.7300")  # 12 min x 2.40 unrounded + parking 8 -> 15 min x 1.00
    assert got["total_time_cost"]["excl_vat"] == D("0.4800")


def test_energy_step_100wh_and_two_decimal_policy():
    t = tariff(el(comp("FLAT", "0.50", 20), comp("ENERGY", "0.25", 10, 100)))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": "20.45"})], "2026-01-13T12:00:00Z")
    assert total(price_cdr(t, c, "UTC")) == (D("5.6250"), D("6.2375"))
    assert total(price_cdr(t, c, "UTC", policy=RoundingPolicy(places=2))) == (D("5.63"), D("6.24"))


def test_time_step_and_fractional_vat():
    t = tariff(el(comp("TIME", "1.90", "5.2", 300)), type="AD_HOC_PAYMENT")
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"TIME": "2.5"})], "2026-01-13T12:30:00Z")
    assert total(price_cdr(t, c, "UTC")) == (D("4.7500"), D("4.9970"))


def test_rounding_policy_modes_on_an_exact_tie():
    t = tariff(el(comp("ENERGY", "0.00005")))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 1})], "2026-01-13T11:00:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("0.0001")
    assert total(price_cdr(t, c, "UTC", policy=RoundingPolicy(rounding=ROUND_HALF_EVEN)))[0] == D("0.0000")
    assert total(price_cdr(t, c, "UTC", policy=RoundingPolicy(places=None)))[0] == D("0.00005")


@pytest.mark.parametrize(("n", "d", "mode", "want"), [
    (5, 2, "ROUND_HALF_UP", 3), (-5, 2, "ROUND_HALF_UP", -3), (5, 2, "ROUND_HALF_EVEN", 2),
    (7, 2, "ROUND_HALF_EVEN", 4), (1, 3, "ROUND_UP", 1), (-1, 3, "ROUND_FLOOR", -1), (-1, 3, "ROUND_CEILING", 0),
])
def test_round_fraction(n, d, mode, want):
    assert round_fraction(n, d, mode) == want


# --- min / max price, FLAT, VAT -------------------------------------------------------------


def test_max_price_caps_excl_and_incl_separately():
    t = tariff(el(comp("FLAT", "0.50", 20), comp("ENERGY", "0.25", 10)),
               max_price={"excl_vat": D("10.00"), "incl_vat": D("11.00")})
    big = cdr("2019-01-01T10:00:00Z", [("2019-01-01T10:00:00Z", {"ENERGY": 50})], "2019-01-01T12:00:00Z")
    small = cdr("2019-01-01T10:00:00Z", [("2019-01-01T10:00:00Z", {"ENERGY": 30})], "2019-01-01T12:00:00Z")
    assert total(price_cdr(t, big, "UTC")) == (D("10.0000"), D("11.0000"))
    assert price_cdr(t, big, "UTC")["total_energy_cost"]["excl_vat"] == D("12.5000")  # parts are not clamped
    assert total(price_cdr(t, small, "UTC")) == (D("8.0000"), D("8.8500"))


def test_min_price_floors_and_is_not_a_flat_fee():
    t = tariff(el(comp("ENERGY", "0.25", 10)), min_price={"excl_vat": D("0.50")})
    c = cdr("2019-01-01T10:00:00Z", [("2019-01-01T10:00:00Z", {"ENERGY": "1.2"})], "2019-01-01T12:00:00Z")
    got = price_cdr(t, c, "UTC")
    assert total(got) == (D("0.5000"), D("0.3300"))  # incl_vat not given: only excl is floored
    assert got["total_fixed_cost"]["excl_vat"] == D("0.0000")


def test_flat_is_billed_once_and_vat_absent_means_no_vat():
    t = tariff(el(comp("FLAT", "1.00"), comp("TIME", "2.00", 0)))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"TIME": "0.5"}),
                                     ("2026-01-13T10:30:00Z", {"TIME": "0.5"})], "2026-01-13T11:00:00Z")
    assert total(price_cdr(t, c, "UTC")) == (D("3.0000"), D("3.0000"))


def test_tariff_validity_window():
    t = tariff(el(comp("ENERGY", "0.25")), end_date_time="2019-06-30T23:59:59Z")
    c = cdr("2020-01-01T10:00:00Z", [("2020-01-01T10:00:00Z", {"ENERGY": 1})], "2020-01-01T11:00:00Z")
    with pytest.raises(PricingError, match="ended at 2019-06-30"):
        price_cdr(t, c, "UTC")


# --- restrictions as lists ------------------------------------------------------------------


def test_restrictions_list_of_nulls_is_no_restriction():
    nulls = dict.fromkeys(("start_time", "end_time", "start_date", "end_date", "min_kwh", "max_kwh", "min_power", "max_power", "min_duration", "max_duration", "day_of_week"))
    assert parse_restrictions([nulls]) is None
    assert parse_restrictions([]) is None
    assert parse_restrictions([nulls, {"min_kwh": 1}]) == parse_restrictions({"min_kwh": 1})
    t = tariff({"price_components": [comp("ENERGY", "0.25")], "restrictions": [nulls]})
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 4})], "2026-01-13T11:00:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("1.0000")


def test_restrictions_list_with_several_objects_is_refused_as_the_transform_rejects_it():
    t = tariff(el(comp("ENERGY", "1.00")),
               {"price_components": [comp("ENERGY", "0.10")],
                "restrictions": [{"start_time": "00:00", "end_time": "06:00"}, {"min_kwh": None}, {"day_of_week": ["SUNDAY"]}]})
    with pytest.raises(PricingError) as err:
        parse_tariff(t)
    assert str(err.value) == ("elements[1].restrictions has 2 non-null restriction objects; OCPI allows one per "
                              "element, so the tariff cannot be priced (the transform rejects it too)")


# --- suspicious inputs: warned about, or refused ----------------------------------------------


def test_negative_price_and_step_size_zero_are_priced_as_given_with_warnings():
    t = tariff(el(comp("ENERGY", "-0.10", 10), comp("TIME", "1.20", step=0)))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 10, "TIME": D("0.51")})],
            "2026-01-13T10:31:00Z")
    report = price_cdr_report(t, c, "UTC")
    assert total(report.totals) == (D("-0.3880"), D("-0.4880"))  # -1.00 + 0.612 excl; -1.10 + 0.612 incl
    assert report.warnings == (
        "elements[0].price_components[0] (ENERGY) has a negative price -0.10: priced as given, as a credit",
        "elements[0].price_components[1] (TIME) has step_size 0: priced without rounding "
        "(OCPI step sizes are at least 1)",
    )
    assert parse_tariff(tariff(el(comp("ENERGY", "0.10")))).warnings == ()


def test_periods_starting_after_the_cdr_end_are_priced_with_a_warning():
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 1}), ("2026-01-13T12:00:00Z", {"ENERGY": 3})],
            "2026-01-13T11:00:00Z")
    report = price_cdr_report(tariff(el(comp("ENERGY", "0.25"))), c, "UTC")
    assert total(report.totals) == (D("1.0000"), D("1.0000"))
    assert report.warnings == ("1 charging period(s) start after the CDR's end_date_time (2026-01-13T11:00:00+00:00), "
                               "so they end before they start: priced from their dimensions as given",)


def test_negative_step_size_is_refused():
    with pytest.raises(PricingError, match=r"elements\[0\]\.price_components\[0\]\.step_size must be 0 or more, got -5"):
        parse_tariff(tariff(el(comp("ENERGY", "0.10", step=-5))))


@pytest.mark.parametrize(("c", "message"), [
    (cdr("2026-01-13T10:00:00Z", [], "2026-01-13T09:00:00Z"),
     "the CDR ends (2026-01-13T09:00:00+00:00) before it starts (2026-01-13T10:00:00+00:00); fix the CDR"),
    (cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": D("1e400")})], "2026-01-13T11:00:00Z"),
     "charging_periods[0].dimensions[0].volume is 1E+400: a volume must be between 0 and 1,000,000,000 "
     "(kWh, hours, kW or A); fix the CDR"),
    (cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": -2})], "2026-01-13T11:00:00Z"),
     "charging_periods[0].dimensions[0].volume is -2: a volume must be between 0 and 1,000,000,000 "
     "(kWh, hours, kW or A); fix the CDR"),
])
def test_inconsistent_cdrs_are_refused_with_one_message(c, message):
    with pytest.raises(PricingError) as err:
        price_cdr(tariff(el(comp("ENERGY", "0.25"))), c, "UTC")
    assert str(err.value) == message


def test_a_price_too_precise_to_sum_exactly_is_a_pricing_error():
    t = tariff(el(comp("ENERGY", "0.25"), comp("FLAT", D("1e-200"))))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 1})], "2026-01-13T11:00:00Z")
    with pytest.raises(PricingError, match="cannot price exactly: a price in the tariff needs more than 120 digits"):
        price_cdr(t, c, "UTC")


# --- Eco-Movement price records and their extras --------------------------------------------


def em_price(*elements, fee="0.0000", sub="n/a"):
    return {"id": "em1", "partner": "MSP", "partner_id": "x", "last_updated": "2026-01-01T00:00:00Z",
            "product": {"id": "p", "name": "n", "description": "", "type": "msp", "subscription_type": sub,
                        "subscription_fee_excl_vat": fee, "currency": "EUR"},
            "elements": list(elements)}


def test_em_price_record_uses_price_excl_vat_and_product():
    p = em_price(el(comp("ENERGY", "0.39", 19, em=True)), fee="9.9900", sub="month")
    parsed = parse_tariff(p)
    assert parsed.source == "ecomovement"
    assert (parsed.product_type, parsed.subscription_type, parsed.subscription_fee_excl_vat) == ("msp", "month", D("9.99"))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 10})], "2026-01-13T11:00:00Z")
    assert total(price_cdr(p, c, "UTC")) == (D("3.9000"), D("4.6410"))


def test_em_overstay_fee_starts_after_charging_ends_and_is_capped():
    p = em_price(el(comp("ENERGY", "0.40", 19, em=True)),
                 el(comp("PARKING_TIME", "6.00", 19, 60, em=True), overstay_duration=3600, max_price=12))
    c = cdr("2026-01-13T10:00:00Z", [
        ("2026-01-13T10:00:00Z", {"ENERGY": 20, "TIME": 2}),
        ("2026-01-13T12:00:00Z", {"PARKING_TIME": 1}),     # first hour after charging: free
        ("2026-01-13T13:00:00Z", {"PARKING_TIME": "0.5"}),  # then 6.00/h
    ], "2026-01-13T13:30:00Z")
    got = price_cdr(p, c, "UTC")
    assert got["total_parking_cost"] == {"excl_vat": D("3.0000"), "incl_vat": D("3.5700")}
    long = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 20, "TIME": 2}),
                                        ("2026-01-13T12:00:00Z", {"PARKING_TIME": 1}),
                                        ("2026-01-13T13:00:00Z", {"PARKING_TIME": 5})], "2026-01-13T18:00:00Z")
    got = price_cdr(p, long, "UTC")
    assert got["total_parking_cost"] == {"excl_vat": D("12.0000"), "incl_vat": D("14.2800")}  # 30.00 capped at 12
    assert total(got) == (D("20.0000"), D("23.8000"))


def test_em_restriction_min_price_floors_the_element_when_used():
    p = em_price(el(comp("ENERGY", "0.30", 21, em=True), min_price=D("2.00")))
    short = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 2})], "2026-01-13T10:30:00Z")
    assert total(price_cdr(p, short, "UTC")) == (D("2.0000"), D("2.4200"))
    long = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 10})], "2026-01-13T11:30:00Z")
    assert total(price_cdr(p, long, "UTC")) == (D("3.0000"), D("3.6300"))


def test_em_restriction_min_price_as_ocpi_price_object():
    p = em_price(el(comp("ENERGY", "0.30", 21, em=True), min_price={"excl_vat": D("2.00"), "incl_vat": D("2.42")}))
    assert parse_tariff(p).elements[0].restrictions.min_price == D("2.00")


def test_em_contract_date_applies_to_contracts_from_that_date():
    p = em_price(el(comp("ENERGY", "0.30", em=True), emsp_contract_date="2026-01-01"), el(comp("ENERGY", "0.50", em=True)))
    c = cdr("2026-03-01T10:00:00Z", [("2026-03-01T10:00:00Z", {"ENERGY": 10})], "2026-03-01T11:00:00Z")
    assert total(price_cdr(p, c, "UTC"))[0] == D("3.0000")  # default contract date: the session's day
    assert total(price_cdr(p, c, "UTC", contract_date=dt.date(2025, 12, 31)))[0] == D("5.0000")


def test_reservation_elements_do_not_price_a_session_without_reservation():
    t = tariff(el(comp("TIME", "5.00", 20, 60), reservation="RESERVATION"), el(comp("ENERGY", "0.25", 10)))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 20, "TIME": 1})], "2026-01-13T11:00:00Z")
    assert total(price_cdr(t, c, "UTC")) == (D("5.0000"), D("5.5000"))


def test_periods_listed_out_of_order_are_sorted():
    t = tariff(el(comp("PARKING_TIME", "4.00"), min_duration=1800), el(comp("ENERGY", "1")))
    c = cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:30:00Z", {"PARKING_TIME": "0.5"}),
                                     ("2026-01-13T10:00:00Z", {"ENERGY": 2})], "2026-01-13T11:00:00Z")
    assert total(price_cdr(t, c, "UTC"))[0] == D("4.0000")


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "message"), [
    ({"currency": "EUR", "elements": []}, "no 'elements'"),
    ({"currency": "EUR", "elements": [{"price_components": [{"type": "KWH", "price": 1}]}]}, "type 'KWH'"),
    ({"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY"}]}]}, "has no price"),
    ({"currency": "EUR", "elements": [el(comp("ENERGY", 1), start_time="25:00")]}, "HH:MM"),
    ({"currency": "EUR", "elements": [el(comp("ENERGY", 1), day_of_week=["FUNDAY"])]}, "MONDAY..SUNDAY"),
    ({"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": "abc"}]}]}, "decimal"),
    ({"elements": [el(comp("ENERGY", 1))]}, "no currency"),
])
def test_bad_tariffs_raise_one_clear_error(bad, message):
    with pytest.raises(PricingError, match=message):
        parse_tariff(bad)


def test_bad_timezone_and_cdr():
    t = tariff(el(comp("ENERGY", 1)))
    with pytest.raises(PricingError, match="unknown time zone"):
        price_cdr(t, cdr("2026-01-13T10:00:00Z", [], "2026-01-13T11:00:00Z"), "Mars/Olympus")
    with pytest.raises(PricingError, match="charging_periods"):
        price_cdr(t, {"start_date_time": "2026-01-13T10:00:00Z"}, "UTC")


# --- more spec worked examples (tariff-semantics.md section 7), in our own CDRs -------------


@pytest.mark.parametrize(("elements", "periods", "end", "want"), [
    # tariff_1: TIME 2.00/h, 60 s steps, 10 %: 2.5 h charging
    ([el(comp("TIME", "2.00", 10, 60))], [("2026-01-13T10:00:00Z", {"TIME": "2.5"})], "2026-01-13T12:30:00Z",
     ("5.0000", "5.5000")),
    # tariff_13: TIME 3.00 (60 s) + PARKING 5.00 (300 s): 150 min + 42 min parking (-> 45)
    ([el(comp("TIME", "3.00", 10, 60), comp("PARKING_TIME", "5.00", 20, 300))],
     [("2026-01-13T10:00:00Z", {"TIME": "2.5"}), ("2026-01-13T12:30:00Z", {"PARKING_TIME": "0.7"})],
     "2026-01-13T13:12:00Z", ("11.2500", "12.7500")),
    # tariff_10: start 0.50 + 0.25/kWh + parking 2.00/h (900 s): 20 kWh, 40 min parking (-> 45)
    ([el(comp("FLAT", "0.50", 20), comp("ENERGY", "0.25", 10), comp("PARKING_TIME", "2.00", 20, 900))],
     [("2026-01-13T10:00:00Z", {"ENERGY": 20, "TIME": 1}), ("2026-01-13T11:00:00Z", {"PARKING_TIME": D(40) / 60})],
     "2026-01-13T11:40:00Z", ("7.0000", "7.9000")),
    # cdr_example: TIME 2.00/h, 300 s steps, 10 %: 1.973 h billed as 2 h
    ([el(comp("TIME", "2.00", 10, 300))], [("2026-01-13T10:00:00Z", {"TIME": "1.973"})], "2026-01-13T11:58:23Z",
     ("4.0000", "4.4000")),
])
def test_spec_worked_examples(elements, periods, end, want):
    got = price_cdr(tariff(*elements), cdr(periods[0][0], periods, end), "UTC")
    assert total(got) == (D(want[0]), D(want[1]))


# --- Eco-Movement element min_price / max_price: where the difference is booked -------------


def _idle_cdr(parking_h):
    """1 h charging (10 kWh), then ``parking_h`` hours parked."""
    return cdr("2026-01-13T10:00:00Z", [("2026-01-13T10:00:00Z", {"ENERGY": 10, "TIME": 1}),
                                        ("2026-01-13T11:00:00Z", {"PARKING_TIME": parking_h})],
               f"2026-01-13T{11 + parking_h:02d}:00:00Z")


def _idle_price(**bounds):
    """ENERGY 0.40 (19 %), then an element [TIME 2.00/h (19 %), PARKING_TIME 4.00/h (7 %)] with bounds."""
    return em_price(el(comp("ENERGY", "0.40", 19, em=True)),
                    el(comp("TIME", "2.00", 19, em=True), comp("PARKING_TIME", "4.00", 7, em=True), **bounds))


def parts(got):
    return {k: (got[k]["excl_vat"], got[k]["incl_vat"])
            for k in ("total_energy_cost", "total_time_cost", "total_parking_cost", "total_fixed_cost")}


def test_em_max_price_is_taken_off_the_largest_component_first():
    # TIME 2.00 + PARKING 3 h x 4.00 = 12.00 = 14.00, capped at 10: the 4.00 excess exceeds the first
    # component (TIME, 2.00) but is taken off PARKING (the largest), so no part goes negative
    got = price_cdr(_idle_price(max_price=D(10)), _idle_cdr(3), "UTC")
    assert parts(got) == {
        "total_energy_cost": (D("4.0000"), D("4.7600")),
        "total_time_cost": (D("2.0000"), D("2.3800")),
        "total_parking_cost": (D("8.0000"), D("8.5600")),  # VAT of the reduction: parking's 7 %
        "total_fixed_cost": (D("0.0000"), D("0.0000")),
    }
    assert total(got) == (D("14.0000"), D("15.7000"))


def test_em_max_price_below_the_largest_component_empties_it_then_reduces_the_next():
    # excess 13.00: PARKING 12.00 -> 0, then TIME 2.00 -> 1.00
    got = price_cdr(_idle_price(max_price=D(1)), _idle_cdr(3), "UTC")
    assert parts(got)["total_parking_cost"] == (D("0.0000"), D("0.0000"))
    assert parts(got)["total_time_cost"] == (D("1.0000"), D("1.1900"))
    assert total(got) == (D("5.0000"), D("5.9500"))


def test_em_min_price_is_added_to_the_largest_component():
    # 14.00 floored at 20: the 6.00 shortfall lands on PARKING (12.00, the largest), at 7 % VAT
    got = price_cdr(_idle_price(min_price=D(20)), _idle_cdr(3), "UTC")
    assert parts(got)["total_parking_cost"] == (D("18.0000"), D("19.2600"))
    assert parts(got)["total_time_cost"] == (D("2.0000"), D("2.3800"))
    assert total(got) == (D("24.0000"), D("26.4000"))
    # without parking TIME is the largest (and PARKING, billed nothing, stays 0)
    short = price_cdr(_idle_price(min_price=D(5)), cdr("2026-01-13T10:00:00Z", [
        ("2026-01-13T10:00:00Z", {"ENERGY": 10, "TIME": 1})], "2026-01-13T11:00:00Z"), "UTC")
    assert parts(short)["total_time_cost"] == (D("5.0000"), D("5.9500"))
    assert parts(short)["total_parking_cost"] == (D("0.0000"), D("0.0000"))


@pytest.mark.parametrize(("costs", "floor", "cap", "want"), [
    ([3, 20], None, 12, [0, -11]),        # first component smaller than the reduction: untouched
    ([5, 4], None, 2, [-5, -2]),          # largest emptied, then the next
    ([4, 4], None, 6, [-2, 0]),           # tie: component order
    ([4, 4], None, 0, [-4, -4]),
    ([1, 3], 10, None, [0, 6]),           # floor on the largest
    ([0, 0], 5, None, [5, 0]),            # tie: component order
    ([2, 2], 1, 3, [-1, 0]),              # both bounds, the cap binds
    ([2, 2], 5, 9, [1, 0]),               # both bounds, the floor binds
    ([2, 2], 3, 5, [0, 0]),               # within bounds
    ([0, 3], 9, 2, [0, -1]),              # cap below floor: the cap wins
    ([-1, 3], None, -2, [0, -4]),         # negative prices / cap: the rest lands on the largest
])
def test_element_bound_deltas(costs, floor, cap, want):
    got = element_bound_deltas([D(x) for x in costs], None if floor is None else D(floor),
                               None if cap is None else D(cap))
    assert got == [D(x) for x in want]


@given(costs=st.lists(st.decimals(D(0), D(50), places=3), min_size=1, max_size=4),
       floor=st.none() | st.decimals(D(0), D(60), places=3), cap=st.none() | st.decimals(D(0), D(60), places=3))
@settings(max_examples=200, deadline=None)
def test_element_bound_deltas_are_exact_and_never_make_a_part_negative(costs, floor, cap):
    deltas = element_bound_deltas(costs, floor, cap)
    spent = sum(costs)
    want = spent if floor is None else max(spent, floor)
    want = want if cap is None else min(want, cap)
    assert sum(deltas) + spent == want
    assert all(c + d >= 0 for c, d in zip(costs, deltas, strict=True))
    # a cap only reduces, a floor only adds, and a floor touches one component
    assert all(d <= 0 for d in deltas) or all(d >= 0 for d in deltas)
    if want > spent:
        assert sum(1 for d in deltas if d) == 1

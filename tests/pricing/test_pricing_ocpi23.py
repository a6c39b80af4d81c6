import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from pricing_frames import site_tables

from ecodata.errors import ConfigError, PricingError
from ecodata.pricing import (
    load_sessions,
    parse_tariff,
    price_cdr,
    price_reference,
    profile_for,
    session_costs,
)
from ecodata.pricing.sessions import ReferenceSession
from ecodata.pricing.tariff_tables import tariff_price_tables
from ecodata.tables.fixtures import tables_from_records

D = Decimal
DAY = dt.date(2026, 11, 23)  # a Monday


def money(excl, incl):
    return {"excl_vat": D(excl), "incl_vat": D(incl)}


def comp(kind, price, vat=None, step=1):
    c = {"type": kind, "price": price, "step_size": step}
    if vat is not None:
        c["vat"] = vat
    return c


def el(components, **restrictions):
    return {"price_components": components, **({"restrictions": restrictions} if restrictions else {})}


def tariff(tid, elements, **extra):
    return {"id": tid, "country_code": "NL", "party_id": "ECO", "currency": "EUR",
            "last_updated": "2026-01-01T00:00:00Z", "elements": elements, **extra}


CHARGE = [el([comp("FLAT", 0.50, 20), comp("ENERGY", 0.25, 10)])]
# The OCPI 2.2.1 reservation examples (tariff_15 ... tariff_18), as the spec describes them.
T15 = tariff("15", [el([comp("TIME", 5.00, 20, 60)], reservation="RESERVATION"), *CHARGE])
T16 = tariff("16", [el([comp("FLAT", 2.00, 20), comp("TIME", 5.00, 20, 300)], reservation="RESERVATION"), *CHARGE])
T17 = tariff("17", [el([comp("FLAT", 4.00, 20)], reservation="RESERVATION_EXPIRES"),
                    el([comp("TIME", 2.00, 20, 600)], reservation="RESERVATION"), *CHARGE])
T18 = tariff("18", [el([comp("TIME", 6.00, 20, 600)], reservation="RESERVATION_EXPIRES"),
                    el([comp("TIME", 3.00, 20, 600)], reservation="RESERVATION"), *CHARGE])


def cdr(reserved_min, kwh=None):
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    periods = [{"start_date_time": start.isoformat(),
                "dimensions": [{"type": "RESERVATION_TIME", "volume": D(reserved_min) / 60}]}]
    end = start + dt.timedelta(minutes=reserved_min)
    if kwh is not None:
        periods.append({"start_date_time": end.isoformat(),
                        "dimensions": [{"type": "ENERGY", "volume": kwh}, {"type": "TIME", "volume": 1}]})
        end += dt.timedelta(hours=1)
    return {"start_date_time": start.isoformat(), "end_date_time": end.isoformat(), "charging_periods": periods}


@pytest.mark.parametrize(("tariff_", "reserved", "kwh", "total", "reservation"), [
    (T15, 15, 20, money("6.75", "7.60"), money("1.25", "1.50")),   # 15 min x 5.00/h
    (T16, 13, 20, money("8.75", "10.00"), money("3.25", "3.90")),  # 2.00 fee + 13 -> 15 min x 5.00/h; two FLATs
    (T17, 22, 20, money("6.50", "7.30"), money("1.00", "1.20")),   # 22 -> 30 min x 2.00/h, no expiry fee
    (T17, 60, None, money("6.00", "7.20"), money("6.00", "7.20")),  # expired: 4.00 fee + 1 h x 2.00
    (T18, 22, 20, money("7.00", "7.90"), money("1.50", "1.80")),   # 22 -> 30 min x 3.00/h
    (T18, 90, None, money("9.00", "10.80"), money("9.00", "10.80")),  # expired: 1.5 h x 6.00 (EXPIRES wins)
])
def test_spec_reservation_examples(tariff_, reserved, kwh, total, reservation):
    got = price_cdr(tariff_, cdr(reserved, kwh))
    assert got["total_cost"] == total
    assert got["total_reservation_cost"] == reservation
    assert got["total_fixed_cost"] == (money("0.50", "0.60") if kwh else money("0", "0"))


def test_without_a_reservation_reservation_elements_are_ignored_and_no_reservation_total():
    plain = {"start_date_time": "2026-11-23T08:00:00Z", "end_date_time": "2026-11-23T09:00:00Z",
             "charging_periods": [{"start_date_time": "2026-11-23T08:00:00Z",
                                   "dimensions": [{"type": "ENERGY", "volume": 20}]}]}
    got = price_cdr(T17, plain)
    assert got["total_cost"] == money("5.50", "6.10")
    assert "total_reservation_cost" not in got


def test_reservation_elements_keep_their_other_restrictions():
    # evening reservations cost 1.00/h, others 4.00/h: the element is chosen at the reservation's start
    t = tariff("R", [el([comp("TIME", 1.00, None, 1)], reservation="RESERVATION", start_time="18:00"),
                     el([comp("TIME", 4.00, None, 1)], reservation="RESERVATION"), el([comp("ENERGY", 0.30)])])
    assert price_cdr(t, cdr(30, 10))["total_reservation_cost"] == money("2.00", "2.00")  # 08:00 UTC
    assert price_cdr(t, cdr(30, 10), "Australia/Brisbane")["total_reservation_cost"] == money("0.50", "0.50")


def one_period(kwh):
    return {"start_date_time": "2026-11-23T08:00:00Z", "end_date_time": "2026-11-23T09:00:00Z",
            "charging_periods": [{"start_date_time": "2026-11-23T08:00:00Z",
                                  "dimensions": [{"type": "ENERGY", "volume": kwh}]}]}


@pytest.mark.parametrize(("tax", "elements", "kwh", "total"), [
    ("YES", [el([comp("FLAT", "1.19", "19"), comp("ENERGY", "0.595", "19")])], 20, money("11.00", "13.09")),
    ("YES", [el([comp("ENERGY", "0.60", "19")])], 10, money("5.0420", "6.00")),   # 6.00 x 100 / 119 = 5.04201...
    ("NO", [el([comp("ENERGY", "0.30", "19")])], 10, money("3.00", "3.57")),     # as OCPI 2.2.1
    ("N/A", [el([comp("ENERGY", "0.30", "19")])], 10, money("3.00", "3.00")),    # no taxes apply: vat ignored
])
def test_ocpi_230_tax_included(tax, elements, kwh, total):
    report_tariff = parse_tariff(tariff("X", elements, tax_included=tax))
    assert price_cdr(report_tariff, one_period(kwh))["total_cost"] == total
    assert any("vat is ignored" in w for w in report_tariff.warnings) == (tax == "N/A")


def test_ocpi_230_price_limits_clamp_before_and_after_taxes_separately():
    t = tariff("L", [el([comp("ENERGY", "0.595", "19")])], tax_included="YES",
               min_price={"before_taxes": "2.00", "after_taxes": "2.50"},
               max_price={"before_taxes": "5.00", "after_taxes": "5.50"})
    assert price_cdr(t, one_period(1))["total_cost"] == money("2.00", "2.50")     # 0.50 / 0.595 raised
    assert price_cdr(t, one_period(20))["total_cost"] == money("5.00", "5.50")    # 10.00 / 11.90 capped
    low = price_cdr({**t, "max_price": {"before_taxes": "9.00"}}, one_period(20))
    assert low["total_cost"] == money("9.00", "11.90")                               # no after_taxes: incl unclamped
    assert low["total_energy_cost"] == money("10.00", "11.90")                       # parts are not clamped


def test_ocpi_230_restriction_price_objects_and_refusals():
    em_price = {"id": "E", "product": {"currency": "EUR"}, "elements": [
        el([{"type": "ENERGY", "price_excl_vat": "0.10", "vat": "0", "step_size": 1}],
           min_price={"before_taxes": "2.00", "taxes": [{"name": "VAT", "amount": "0.38"}]})]}
    assert price_cdr(em_price, one_period(1))["total_cost"] == money("2.00", "2.00")
    with pytest.raises(PricingError, match="tax_included must be YES, NO or N/A"):
        parse_tariff(tariff("B", CHARGE, tax_included="yes"))
    with pytest.raises(PricingError, match="tax_included YES cannot carry restriction min_price"):
        parse_tariff(tariff("B", [el([comp("ENERGY", "0.5", "19")], min_price=1)], tax_included="YES"))


# --- reference sessions with a reservation; vectorised == scalar on OCPI 2.3 tariffs ----------

EXPIRED = ReferenceSession("AC_NO_SHOW", ("AC", "DC"), dt.time(9, 0), D(0), D(0), 0, None,
                           reservation_minutes=45, reservation_expired=True)
RESERVED = ReferenceSession("DC_RESERVED", ("DC",), dt.time(16, 50), D("30"), D("40"), 5, None,
                            reservation_minutes=25)
TARIFFS_23 = [
    {**T17, "id": "t17-yes", "tax_included": "YES",  # one VAT rate: tax-inclusive, vectorised
     "elements": [*T17["elements"][:2], el([comp("FLAT", 0.50, 20), comp("ENERGY", 0.25, 20)])]},
    {**T18, "id": "t18-no", "tax_included": "NO", "min_price": {"before_taxes": 3, "after_taxes": 3.3},
     "max_price": {"before_taxes": 9.5}},
    tariff("evening-na", [el([comp("TIME", 1.2, 21, 300)], reservation="RESERVATION", start_time="17:00"),
                          el([comp("TIME", 2.4, 21, 60)], reservation="RESERVATION"),
                          el([comp("ENERGY", 0.41, 21, 100)], start_time="17:00", end_time="00:00"),
                          el([comp("ENERGY", 0.39, 21, 1), comp("PARKING_TIME", 6, 21, 600)])],
           tax_included="N/A"),
    tariff("tod-yes", [el([comp("ENERGY", 0.59, 19, 500)], start_time="17:00"), el([comp("ENERGY", 0.69, 19)]),
                       el([comp("FLAT", 0.99, 19)], reservation="RESERVATION_EXPIRES")], tax_included="YES",
           min_price={"before_taxes": 1.5}),
    {**T16, "id": "t16-221"},
]
CONNECTORS_23 = [
    {"connector_id": "ac", "location_id": "L1", "time_zone": "Europe/Amsterdam", "power_class": "AC",
     "max_power_kw": 11.0, "amperage": 16, "tariff_ids": [t["id"] for t in TARIFFS_23]},
    {"connector_id": "dc", "location_id": "L2", "time_zone": "Europe/Lisbon", "power_class": "DC",
     "max_power_kw": 50.0, "amperage": 125, "tariff_ids": [t["id"] for t in TARIFFS_23[1:]]},
]
PARTS = [("total_cost", "total"), ("total_energy_cost", "energy_cost"), ("total_time_cost", "time_cost"),
         ("total_parking_cost", "parking_cost"), ("total_fixed_cost", "flat_cost"),
         ("total_reservation_cost", "reservation_cost")]


def test_shipped_sessions_include_a_reservation():
    reserved = [s for s in load_sessions() if isinstance(s, ReferenceSession) and s.reservation_minutes]
    assert [(s.name, s.reservation_minutes, s.reservation_expired) for s in reserved] == [("AC_RESERVED", 15, False)]


def test_reference_session_with_a_reservation_golden():
    ac_reserved = next(s for s in load_sessions() if s.name == "AC_RESERVED")
    got = price_reference(parse_tariff(T17), profile_for(ac_reserved, 11.0, 16), "Europe/Amsterdam", DAY)
    # 15 min reserved -> 20 min (600 s steps) x 2.00/h = 0.6667; 0.50 start; 11 kWh x 0.25 = 2.75
    assert got["total_reservation_cost"] == money("0.6667", "0.8000")
    assert got["total_cost"] == money("3.9167", "4.4250")
    expired = price_reference(parse_tariff(T17), profile_for(EXPIRED, 11.0, 16), "Europe/Amsterdam", DAY)
    assert expired["total_cost"] == money("5.6667", "6.8000")  # 4.00 fee + 45 -> 50 min x 2.00/h
    assert expired["total_energy"] == D("0.0000")


def test_vectorised_agrees_with_scalar_on_ocpi_230_tariffs_and_reservations():
    tables = tables_from_records({"tariffs": TARIFFS_23})
    tables.update(site_tables(CONNECTORS_23, []))
    sessions = (*load_sessions(), EXPIRED, RESERVED)
    out = session_costs(tariff_price_tables(tables), day=DAY, sessions=sessions)
    by_name = {s.name: s for s in sessions}
    parsed = {t["id"]: parse_tariff(t) for t in TARIFFS_23}
    conn = {c["connector_id"]: c for c in CONNECTORS_23}
    # ac: 5 tariffs x (4 AC sessions + no-show); dc: 4 tariffs x (DC50_20_80 + no-show + DC_RESERVED)
    assert out.height == 5 * 5 + 4 * 3
    reserved_rows = 0
    for row in out.iter_rows(named=True):
        c = conn[row["connector_id"]]
        res = price_reference(parsed[row["price_id"]], profile_for(by_name[row["session"]], c["max_power_kw"],
                                                                   c["amperage"]), c["time_zone"], DAY)
        for key, col in PARTS:
            want = res.get(key, money("0", "0"))
            assert (row[f"{col}_excl_vat"], row[f"{col}_incl_vat"]) == (want["excl_vat"], want["incl_vat"]), (
                row["price_id"], row["session"], key)
        reserved_rows += row["reservation_cost_excl_vat"] != 0
    assert reserved_rows >= 15


def test_vectorised_refuses_tax_inclusive_tariffs_with_several_vat_rates():
    mixed = tariff("mixed", [el([comp("FLAT", 1.2, 20), comp("ENERGY", 0.55, 10)])], tax_included="YES")
    tables = tables_from_records({"tariffs": [mixed]})
    tables.update(site_tables([{**CONNECTORS_23[0], "tariff_ids": ["mixed"]}], []))
    with pytest.raises(PricingError, match="share one VAT rate"):
        session_costs(tariff_price_tables(tables), day=DAY)
    assert price_cdr(mixed, one_period(10))["total_cost"] == money("6.0000", "6.7000")  # the scalar engine prices it


@pytest.mark.parametrize(("entry", "message"), [
    ({"reservation_minutes": 0}, "reservation_minutes must be a whole number > 0"),
    ({"reservation_expired": True}, "reservation_expired needs reservation_minutes"),
    ({"reservation_minutes": 10, "reservation_expired": True}, "an expired reservation charges nothing: remove"),
    ({"reservation_minutes": 10, "reservation_expired": "yes"}, "reservation_expired must be true or false"),
])
def test_bad_reservation_sessions_are_refused(tmp_path, entry, message):
    body = 'name = "S"\npower_classes = ["AC"]\nstart = "10:00"\nenergy_kwh = "10"\npower_kw = "11"\nparking_minutes = 0\n'
    body += "".join(f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v).replace(chr(39), chr(34))}\n"
                    for k, v in entry.items())
    path = tmp_path / "s.toml"
    path.write_text("[[session]]\n" + body)
    with pytest.raises(ConfigError, match=message):
        load_sessions(path)


def test_an_expired_reservation_session_from_toml(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[session]]\nname = "NO_SHOW"\npower_classes = ["AC"]\nstart = "09:00"\n'
                    'reservation_minutes = 45\nreservation_expired = true\n')
    (session,) = load_sessions(path)
    assert session == ReferenceSession("NO_SHOW", ("AC",), dt.time(9, 0), D(0), D(0), 0, None,
                                       reservation_minutes=45, reservation_expired=True)


def test_simulator_ocpi_230_tariffs_through_the_transform_agree_with_the_scalar_engine():
    from ecodata.simulator import SimulatedData

    ds = SimulatedData("demo", 0, 0)
    records = list(ds.iter_records("tariffs", "2.3.0"))
    tables = tables_from_records({"tariffs": records, "locations": ds.iter_records("locations")})
    out = session_costs(tariff_price_tables(tables), day=DAY)
    linked = (tables["connectors"].filter(pl.col("power_class").is_not_null()).explode("tariff_ids")
              .filter(pl.col("tariff_ids").is_in([t["id"] for t in records]))["tariff_ids"].n_unique())
    assert out["price_id"].n_unique() == linked > 30
    assert (out["reservation_cost_excl_vat"] > 0).sum() > 0
    parsed = {t["id"]: parse_tariff(t) for t in records}
    sessions = {s.name: s for s in load_sessions()}
    conns = tables["connectors"].join(tables["locations"].select("location_id", "time_zone"), on="location_id")
    by_key = {(r["location_id"], r["evse_uid"], r["connector_id"]): r for r in conns.iter_rows(named=True)}
    sample = out.sample(300, seed=1) if out.height > 300 else out
    for row in sample.iter_rows(named=True):
        c = by_key[(row["location_id"], row["evse_uid"], row["connector_id"])]
        res = price_reference(parsed[row["price_id"]], profile_for(sessions[row["session"]], c["max_power_kw"],
                                                                   c["amperage"]), c["time_zone"] or "UTC", DAY)
        for key, col in PARTS:
            want = res.get(key, money("0", "0"))
            assert (row[f"{col}_excl_vat"], row[f"{col}_incl_vat"]) == (want["excl_vat"], want["incl_vat"]), (
                row["price_id"], row["session"], key)

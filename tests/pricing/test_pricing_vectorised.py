import datetime as dt
import random
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pricing_frames import price_tables, simulator_tables, site_tables

from ecodata.errors import PricingError
from ecodata.fx import load_rates
from ecodata.pricing import (
    RoundingPolicy,
    load_sessions,
    parse_tariff,
    price_reference,
    profile_for,
    session_costs,
)
from ecodata.pricing.scalar import round_fraction
from ecodata.pricing.sessions import price_reference_costs
from ecodata.pricing.vectorised import round_expr
from ecodata.tables.schemas import SESSION_COSTS

D = Decimal
DAY = dt.date(2026, 11, 21)
SESSIONS = {s.name: s for s in load_sessions()}
PARTS = [("total_cost", "total"), ("total_energy_cost", "energy_cost"), ("total_time_cost", "time_cost"),
         ("total_parking_cost", "parking_cost"), ("total_fixed_cost", "flat_cost")]
CONNECTORS = [
    {"connector_id": "ac3", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "AC",
     "max_power_kw": 3.7, "amperage": 16},
    {"connector_id": "ac22", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "AC",
     "max_power_kw": 22.0, "amperage": 32},
    {"connector_id": "ac11", "location_id": "L2", "time_zone": "Europe/London", "power_class": "AC",
     "max_power_kw": 11.0, "amperage": None},
    {"connector_id": "dc50", "location_id": "L2", "time_zone": "Europe/London", "power_class": "DC",
     "max_power_kw": 24.0, "amperage": 60},
    {"connector_id": "hpc", "location_id": "L3", "time_zone": "Europe/Helsinki", "power_class": "HPC",
     "max_power_kw": 300.0, "amperage": 500},
    {"connector_id": "unknown", "location_id": "L3", "time_zone": "Europe/Helsinki", "power_class": None,
     "max_power_kw": None, "amperage": None},
]


def scalar_rows(out: pl.DataFrame, records: list[dict], connectors: list[dict], day: dt.date,
                policy: RoundingPolicy | None = None):
    parsed = {r["id"]: parse_tariff(r) for r in records}
    by_id = {(c["location_id"], c["connector_id"]): c for c in connectors}
    for row in out.iter_rows(named=True):
        c = by_id[(row["location_id"], row["connector_id"])]
        profile = profile_for(SESSIONS[row["session"]], c["max_power_kw"], c["amperage"])
        yield row, price_reference(parsed[row["price_id"]], profile, c["time_zone"] or "UTC", day, policy=policy)


def assert_agree(out, records, connectors, day, policy=None):
    checked = 0
    for row, res in scalar_rows(out, records, connectors, day, policy):
        for key, col in PARTS:
            for vat in ("excl_vat", "incl_vat"):
                assert res[key][vat] == row[f"{col}_{vat}"], (row["price_id"], row["session"], key, vat, res, row)
        assert res["total_energy"] == row["energy_kwh"]
        checked += 1
    return checked


def run(records, connectors=CONNECTORS, day=DAY, **kw):
    links = [(c["connector_id"], r["id"]) for c in connectors for r in records]
    tables = {**price_tables(records), **site_tables(connectors, links)}
    return session_costs(tables, day=day, **kw)


def em(pid, elements, *, currency="EUR", ptype="msp", sub="n/a", fee="0.0000"):
    return {"id": pid, "partner": "P", "product": {"type": ptype, "subscription_type": sub,
                                                   "subscription_fee_excl_vat": fee, "currency": currency},
            "elements": elements}


def c(kind, price, vat=19, step=1):
    return {"type": kind, "price_excl_vat": D(str(price)), "vat": None if vat is None else D(str(vat)),
            "step_size": step}


HAND = [
    em("night", [{"price_components": [c("ENERGY", "0.30")], "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
                 {"price_components": [c("ENERGY", "0.55"), c("FLAT", "1.00")]},
                 {"price_components": [c("PARKING_TIME", "6.00", step=60)],
                  "restrictions": {"overstay_duration": 2700, "max_price": "12.00"}}], sub="month", fee="9.9900"),
    em("tiers", [{"price_components": [c("ENERGY", "0.79", 8.1)], "restrictions": {"min_power": "50"}},
                 {"price_components": [c("ENERGY", "0.29", 8.1)], "restrictions": {"max_current": "20"}},
                 {"price_components": [c("ENERGY", "0.39", 8.1, 100), c("TIME", "1.20", None, 900)]},
                 {"price_components": [c("ENERGY", "0.10", 8.1)], "restrictions": {"min_kwh": "12.5"}}],
       currency="CHF", ptype="adhoc"),
    em("blocking", [{"price_components": [c("ENERGY", "0.45", 21)]},
                    {"price_components": [c("TIME", "0.06", 21, 60)], "restrictions": {"min_duration": 14400}},
                    {"price_components": [c("PARKING_TIME", "3.00", 21, 300)],
                     "restrictions": {"start_time": "08:00", "end_time": "20:00",
                                      "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]}}],
       currency="SEK"),
    em("floor", [{"price_components": [c("ENERGY", "0.20", 25)], "restrictions": {"min_price": "5.00"}},
                 {"price_components": [c("FLAT", "0.35", 25)], "restrictions": {"emsp_contract_date": "2027-01-01"}}],
       currency="NOK", sub="yearly", fee="120"),
    em("free", [{"price_components": [c("FLAT", "0", None, 0)]}], currency="GBP", ptype="adhoc"),
]


@pytest.fixture(scope="module")
def hand_out():
    return run(HAND, rates=load_rates())


def test_hand_made_prices_agree_exactly_with_the_scalar_engine(hand_out):
    assert assert_agree(hand_out, HAND, CONNECTORS, DAY) == hand_out.height
    # fitting: AC x 4 AC sessions x 3 connectors + DC + HPC, the unknown-class connector gets nothing
    assert hand_out.height == len(HAND) * (4 * 3 + 1 + 1)
    assert hand_out.columns == SESSION_COSTS.column_names
    assert hand_out.schema == SESSION_COSTS.polars_schema


def test_power_is_capped_by_the_connector(hand_out):
    powers = dict(hand_out.filter(pl.col("price_id") == "free").select("connector_id", "charging_power_kw").unique().iter_rows())
    assert powers == {"ac3": D("3.7"), "ac22": D("11"), "ac11": D("11"), "dc50": D("24"), "hpc": D("126")}


def test_subscription_fee_is_amortised_at_kwh_per_month_and_converted_to_eur(hand_out):
    row = hand_out.filter((pl.col("price_id") == "night") & (pl.col("session") == "AC_SHOP")
                          & (pl.col("connector_id") == "ac22")).row(0, named=True)
    # 9.99 x 1.19 per month, 11 kWh of 100 kWh a month
    assert row["subscription_fee_per_session_incl_vat"] == (D("9.99") * D("1.19") * 11 / 100).quantize(D("0.0001"))
    assert row["total_eur_incl_vat_with_subscription"] == row["total_eur_incl_vat"] + row[
        "subscription_fee_per_session_incl_vat"]
    nok = hand_out.filter((pl.col("price_id") == "floor") & (pl.col("session") == "HPC_10_80")).row(0, named=True)
    assert nok["subscription_fee_per_session_incl_vat"] == (D(120) * D("1.25") / 12 * D("52.5") / 100).quantize(D("0.0001"))
    rate = D("11.6")  # shipped NOK per EUR valid on the day
    from ecodata.fx import rate_for

    assert rate_for(load_rates(), "NOK", DAY) == rate
    # EUR is converted from the exact local total, then rounded once
    hpc = next(x for x in CONNECTORS if x["connector_id"] == "hpc")
    exact = price_reference(parse_tariff(HAND[3]), profile_for(SESSIONS["HPC_10_80"], hpc["max_power_kw"], hpc["amperage"]),
                            hpc["time_zone"], DAY, policy=RoundingPolicy(places=None))
    want = Fraction(exact["total_cost"]["incl_vat"]) / Fraction(rate)
    assert nok["total_eur_incl_vat"] == D(round_fraction(want.numerator * 10**4, want.denominator, "ROUND_HALF_UP")).scaleb(-4)


def test_eur_columns_are_null_without_rates_except_for_eur_prices():
    out = run(HAND[:2], CONNECTORS[:2], rates=None)
    eur = out.filter(pl.col("currency") == "EUR")
    assert eur["total_eur_incl_vat"].to_list() == eur["total_incl_vat"].to_list()
    assert out.filter(pl.col("currency") == "CHF")["total_eur_incl_vat"].null_count() == 8


def test_rounding_policy_is_shared(hand_out):
    policy = RoundingPolicy(places=2, rounding=ROUND_HALF_EVEN)
    out = run(HAND[:3], CONNECTORS, policy=policy)
    assert assert_agree(out, HAND[:3], CONNECTORS, DAY, policy) == out.height


@given(n=st.integers(-(10**30), 10**30), d=st.integers(1, 10**18),
       mode=st.sampled_from(["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_UP", "ROUND_DOWN",
                             "ROUND_CEILING", "ROUND_FLOOR"]))
@settings(max_examples=60, deadline=None)
def test_polars_rounding_matches_the_scalar_rounding(n, d, mode):
    frame = pl.DataFrame({"n": pl.Series([n], dtype=pl.Int128), "d": pl.Series([d], dtype=pl.Int128)})
    got = frame.select(round_expr(pl.col("n"), pl.col("d"), RoundingPolicy(places=0, rounding=mode))).item()
    assert got == round_fraction(n, d, mode)


# --- property: random Eco-Movement price records ------------------------------------------

_money = st.decimals(min_value=D("0"), max_value=D("2.5"), places=4)
_hhmm = st.sampled_from(["00:00", "06:00", "07:30", "12:00", "16:00", "19:00", "20:00", "22:00", "23:45"])


@st.composite
def restrictions(draw):
    r = {}
    if draw(st.booleans()):
        r["start_time"], r["end_time"] = draw(_hhmm), draw(_hhmm)
    if draw(st.integers(0, 4)) == 0:
        r["day_of_week"] = draw(st.lists(st.sampled_from(["MONDAY", "SATURDAY", "SUNDAY", "FRIDAY"]), min_size=1,
                                         max_size=3, unique=True))
    if draw(st.integers(0, 3)) == 0:
        r[draw(st.sampled_from(["min_kwh", "max_kwh"]))] = draw(st.decimals(D("0.5"), D("40"), places=1))
    if draw(st.integers(0, 3)) == 0:
        r[draw(st.sampled_from(["min_power", "max_power"]))] = draw(st.sampled_from([D(7), D(11), D("22.5"), D(50)]))
    if draw(st.integers(0, 4)) == 0:
        r[draw(st.sampled_from(["min_current", "max_current"]))] = draw(st.sampled_from([D(16), D(20), D(32)]))
    if draw(st.integers(0, 3)) == 0:
        r[draw(st.sampled_from(["min_duration", "max_duration"]))] = draw(st.sampled_from([600, 1800, 3600, 14400]))
    if draw(st.integers(0, 3)) == 0:
        r["overstay_duration"] = draw(st.sampled_from([0, 900, 2700, 3600]))
    if draw(st.integers(0, 4)) == 0:
        r[draw(st.sampled_from(["min_price", "max_price"]))] = draw(st.decimals(D("0.5"), D("15"), places=3))
    if draw(st.integers(0, 6)) == 0:
        r["emsp_contract_date"] = draw(st.sampled_from(["2026-01-01", "2027-01-01"]))
    return r or None


@st.composite
def price_records(draw, pid):
    elements = []
    for _ in range(draw(st.integers(1, 4))):
        kinds = draw(st.lists(st.sampled_from(["ENERGY", "TIME", "PARKING_TIME", "FLAT"]), min_size=1, max_size=3,
                              unique=True))
        comps = []
        for kind in kinds:
            step = draw(st.sampled_from([1, 100, 500] if kind == "ENERGY" else [1, 60, 300, 900]))
            comps.append(c(kind, draw(_money) * (10 if kind in ("PARKING_TIME", "TIME") else 1),
                           draw(st.sampled_from([None, 0, 19, D("8.1"), 21])), 1 if kind == "FLAT" else step))
        elements.append({"price_components": comps, "restrictions": draw(restrictions())})
    return em(pid, elements, currency=draw(st.sampled_from(["EUR", "SEK"])))


@given(records=st.tuples(*(price_records(f"p{i}") for i in range(3))),
       day=st.dates(dt.date(2026, 3, 27), dt.date(2026, 11, 2)))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_price_records_agree_exactly(records, day):
    out = run(list(records), day=day)
    assert assert_agree(out, list(records), CONNECTORS, day) == out.height == 3 * 14


# --- property: random samples of the simulator's prices -----------------------------------


@pytest.fixture(scope="module")
def demo():
    tables, records = simulator_tables("demo", 0)
    out = session_costs(tables, day=DAY, rates=load_rates())
    return tables, records, out


def test_simulator_prices_sampled_agree_exactly(demo):
    tables, records, out = demo
    conns = tables["connectors"].join(tables["locations"].select("location_id", "time_zone"), on="location_id")
    connectors = [{**r} for r in conns.iter_rows(named=True)]
    sample = out[random.Random(7).sample(range(out.height), 1500)]
    by_id = {(c["location_id"], c["evse_uid"], c["connector_id"]): c for c in connectors}
    parsed = {r["id"]: parse_tariff(r) for r in records}
    for row in sample.iter_rows(named=True):
        cn = by_id[(row["location_id"], row["evse_uid"], row["connector_id"])]
        profile = profile_for(SESSIONS[row["session"]], cn["max_power_kw"], cn["amperage"])
        res = price_reference(parsed[row["price_id"]], profile, cn["time_zone"], DAY)
        for key, col in PARTS:
            for vat in ("excl_vat", "incl_vat"):
                assert res[key][vat] == row[f"{col}_{vat}"], (row, res)


def test_simulator_every_fitting_pair_is_priced(demo):
    tables, _records, out = demo
    fit = (tables["connector_prices"].join(tables["connectors"], on=["location_id", "evse_uid", "connector_id"])
           .join(tables["prices"].select("price_id"), on="price_id", how="semi")
           .select(pl.col("power_class").replace_strict({"AC": 4, "DC": 1, "HPC": 1}, default=0).sum()).item())
    assert out.height == fit
    assert out.select(["location_id", "evse_uid", "connector_id", "price_id", "session"]).is_duplicated().sum() == 0


def test_missing_step_size_means_one_and_bad_components_are_refused():
    # energy is free before 12:07, so the billed energy is not a whole number of Wh and the 1 Wh step shows
    rec = em("nostep", [{"price_components": [{"type": "ENERGY", "price_excl_vat": D("0.30"), "vat": D(19)}],
                         "restrictions": {"start_time": "12:07", "end_time": "00:00"}}])
    out = run([rec], CONNECTORS[:1])
    assert assert_agree(out, [rec], CONNECTORS[:1], DAY) == 4
    shop = out.filter(pl.col("session") == "AC_SHOP").row(0, named=True)
    # 11 kWh at 3.7 kW from 12:00 (Berlin); 420 s free = 431.667 Wh; billed 10 568.333 Wh -> 10 569 Wh
    assert shop["energy_cost_excl_vat"] == D("3.1707")
    bad = em("bad", [{"price_components": [c("SESSION_TIME", "1.00")]}])
    with pytest.raises(PricingError, match="unknown type or without price_excl_vat"):
        run([bad], CONNECTORS[:1])


# --- Eco-Movement element min/max price: booked without negative parts --------------------

IDLE = [
    em("cap5", [{"price_components": [c("ENERGY", "0.30")]},
                {"price_components": [c("TIME", "1.20", 19), c("PARKING_TIME", "3.00", 7)],
                 "restrictions": {"max_price": "5.00"}}]),
    em("cap1", [{"price_components": [c("ENERGY", "0.30")]},
                {"price_components": [c("TIME", "1.20", 19), c("PARKING_TIME", "3.00", 7)],
                 "restrictions": {"max_price": "1.00"}}]),
    em("floor30", [{"price_components": [c("ENERGY", "0.30")]},
                   {"price_components": [c("TIME", "1.20", 19), c("PARKING_TIME", "3.00", 7)],
                    "restrictions": {"min_price": "30.00"}}]),
]


def test_element_max_price_takes_the_largest_part_first_and_agrees(hand_out):
    out = run(IDLE, CONNECTORS[1:2])  # ac22: 11 kW
    assert assert_agree(out, IDLE, CONNECTORS[1:2], DAY) == out.height == 12

    def row(pid, session):
        r = out.filter((pl.col("price_id") == pid) & (pl.col("session") == session)).row(0, named=True)
        return {k: (r[f"{k}_cost_excl_vat"], r[f"{k}_cost_incl_vat"]) for k in ("time", "parking")}

    # AC_LONG: 2 h charging (TIME 2.40) + 3 h parked (PARKING 9.00) = 11.40, capped at 5: the 6.40
    # excess is more than TIME and is taken off PARKING (9.00 -> 2.60) at parking's 7 % VAT
    assert row("cap5", "AC_LONG") == {"time": (D("2.4000"), D("2.8560")), "parking": (D("2.6000"), D("2.7820"))}
    # cap 1: PARKING emptied, then TIME 2.40 -> 1.00
    assert row("cap1", "AC_LONG") == {"time": (D("1.0000"), D("1.1900")), "parking": (D("0.0000"), D("0.0000"))}
    # AC_NIGHT: 9 819 s charging (TIME 3.2730), 33 381 s parked (PARKING 27.8175) -> 5.00
    assert row("cap5", "AC_NIGHT") == {"time": (D("3.2730"), D("3.8949")), "parking": (D("1.7270"), D("1.8479"))}
    # a floor lands on the largest part: AC_SHOP has no parking, so TIME (1.20) takes 30.00 - 1.20
    assert row("floor30", "AC_SHOP") == {"time": (D("30.0000"), D("35.7000")), "parking": (D("0"), D("0"))}
    assert row("floor30", "AC_LONG") == {"time": (D("2.4000"), D("2.8560")), "parking": (D("27.6000"), D("29.5320"))}


COST_PARTS = [f"{p}_cost_{v}" for p in ("energy", "time", "parking", "flat") for v in ("excl_vat", "incl_vat")]


def test_simulator_prices_never_give_a_negative_part(demo):
    _tables, records, out = demo
    capped = {r["id"] for r in records if any((e.get("restrictions") or {}).get("max_price") is not None
                                               for e in r["elements"])}
    assert out.filter(pl.col("price_id").is_in(list(capped))).height > 1000  # the caps are exercised
    assert out.select(pl.min_horizontal(COST_PARTS).min()).item() >= 0
    assert out.select(pl.min_horizontal("total_excl_vat", "total_incl_vat").min()).item() >= 0


def test_simulator_capped_prices_parts_add_up_exactly_unrounded(demo):
    """Unrounded, the parts of a price with an element bound still add up to the total exactly."""
    tables, records, out = demo
    conns = tables["connectors"].join(tables["locations"].select("location_id", "time_zone"), on="location_id")
    by_id = {(r["location_id"], r["evse_uid"], r["connector_id"]): r for r in conns.iter_rows(named=True)}
    parsed = {r["id"]: parse_tariff(r) for r in records}
    bounded = [pid for pid, t in parsed.items()
               if any(e.restrictions is not None and (e.restrictions.max_price is not None
                                                      or e.restrictions.min_price is not None) for e in t.elements)]
    rows = out.filter(pl.col("price_id").is_in(bounded))
    for row in rows[random.Random(3).sample(range(rows.height), min(300, rows.height))].iter_rows(named=True):
        cn = by_id[(row["location_id"], row["evse_uid"], row["connector_id"])]
        profile = profile_for(SESSIONS[row["session"]], cn["max_power_kw"], cn["amperage"])
        costs = price_reference_costs(parsed[row["price_id"]], profile, cn["time_zone"], DAY)
        for part_costs, total in ((costs.excl, costs.total_excl), (costs.incl, costs.total_incl)):
            assert min(part_costs.values()) >= 0, row
            assert sum(map(Fraction, part_costs.values())) == Fraction(total), row

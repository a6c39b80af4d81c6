"""price_by_hour: golden hand-computed costs, the repeat of time-invariant prices, the scalar engine."""

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import polars as pl
import pytest
from pricing_frames import price_tables, simulator_tables, site_tables

from ecodata.pricing import load_sessions, parse_tariff, price_reference, profile_for
from ecodata.pricing.hours import HOUR_COLUMNS, hour_sessions, price_by_hour_table, week_dates
from ecodata.pricing.model import WEEKDAYS

D = Decimal
DAY = dt.date(2026, 11, 21)  # a Saturday: the week priced is Sat 21 .. Fri 27 November (no DST change)
AC = [{"connector_id": "ac22", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "AC",
       "max_power_kw": 22.0, "amperage": 32}]


def comp(price, vat=19):
    return {"type": "ENERGY", "price_excl_vat": D(price), "vat": D(vat), "step_size": 1}


def em(pid, elements):
    return {"id": pid, "partner": "P", "product": {"type": "adhoc", "subscription_type": "n/a",
                                                   "subscription_fee_excl_vat": "0", "currency": "EUR"},
            "elements": elements}


PEAK = em("peak", [{"price_components": [comp("0.60")], "restrictions": {"start_time": "16:00", "end_time": "20:00"}},
                   {"price_components": [comp("0.30")]}])
WEEKDAY = em("weekday", [{"price_components": [comp("0.40")],
                          "restrictions": {"day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]}},
                         {"price_components": [comp("0.50")]}])
FLAT = em("flat", [{"price_components": [comp("0.45")]}])
RECORDS = [PEAK, WEEKDAY, FLAT]


def tables_of(records, connectors=AC):
    links = [(c["connector_id"], r["id"]) for c in connectors for r in records]
    return {**price_tables(records), **site_tables(connectors, links)}


@pytest.fixture(scope="module")
def hours():
    return price_by_hour_table(tables_of(RECORDS), day=DAY)


def test_golden_costs_of_an_11_kwh_hour_at_each_hour_of_the_week(hours):
    # AC_SHOP: 11 kWh in one hour from h:00 local time, 19 % VAT
    ac = hours.filter(pl.col("session") == "AC_SHOP")
    assert ac.height == 3 * 168
    assert ac.columns == HOUR_COLUMNS

    def cost(pid):
        rows = ac.filter(pl.col("price_id") == pid)
        return {(r["day_of_week"], r["hour"]): r["total_incl_vat"] for r in rows.iter_rows(named=True)}

    peak, weekday, flat = cost("peak"), cost("weekday"), cost("flat")
    for day in WEEKDAYS:
        for hour in range(24):
            assert peak[(day, hour)] == (D("7.854") if 16 <= hour < 20 else D("3.927"))   # 11 x 0.60 / 0.30 x 1.19
            assert weekday[(day, hour)] == (D("6.545") if day in ("SATURDAY", "SUNDAY") else D("5.236"))
            assert flat[(day, hour)] == D("5.8905")
    varying = dict(ac.select("price_id", "time_varying").unique().iter_rows())
    assert varying == {"peak": True, "weekday": True, "flat": False}


def test_a_price_without_time_restrictions_is_priced_once_with_the_same_result(hours):
    full = price_by_hour_table(tables_of(RECORDS), day=DAY, repeat_invariant=False)
    assert full.equals(hours)


def test_one_session_per_power_class_and_the_week_of_the_snapshot():
    assert [s.name for s in hour_sessions(load_sessions())] == ["AC_SHOP", "DC50_20_80", "HPC_10_80"]
    dates = week_dates(DAY)
    assert dates["SATURDAY"] == DAY
    assert dates["FRIDAY"] == dt.date(2026, 11, 27)
    assert sorted(dates.values()) == [DAY + dt.timedelta(days=i) for i in range(7)]


@pytest.mark.slow  # 168 engine runs over the demo simulator tables (about 2 min on 2 shared cores)
def test_vectorised_agrees_with_the_scalar_engine_on_a_sample_of_simulator_hours():
    tables, records = simulator_tables("demo", seed=3)
    out = price_by_hour_table(tables, day=DAY)
    assert out.filter(pl.col("time_varying")).height > 0
    parsed = {r["id"]: parse_tariff(r) for r in records}
    sessions = {s.name: s for s in load_sessions()}
    kinds = (pl.DataFrame(tables["connectors"]).join(pl.DataFrame(tables["locations"]).select("location_id", "time_zone"),
                                                    on="location_id", how="left"))
    profiles = {}
    for row in kinds.select("power_class", "max_power_kw", "amperage", "time_zone", "power_type").unique().iter_rows():
        for s in sessions.values():
            if row[0] in s.power_classes:
                p = profile_for(s, row[1], row[2], row[0], row[4])
                profiles.setdefault((s.name, row[3]), []).append(p)
    rows = out.filter(pl.col("time_varying")).rows(named=True)
    sample = random.Random(5).sample(rows, min(300, len(rows)))
    dates = week_dates(DAY)
    checked = 0
    for r in sample:
        tz = r["profile"].split("@", 1)[1]
        candidates = list(profiles.get((r["session"], None if tz == "UTC" else tz), [])
                      + profiles.get((r["session"], tz), []))
        power_w = int(r["profile"].split("W_", 1)[0])
        profile = next(p for p in candidates if p.power_w == power_w)
        moved = dataclasses.replace(profile, session=dataclasses.replace(profile.session, start=dt.time(r["hour"])))
        res = price_reference(parsed[r["price_id"]], moved, tz, dates[r["day_of_week"]])
        assert res["total_cost"]["incl_vat"] == r["total_incl_vat"], r
        assert res["total_cost"]["excl_vat"] == r["total_excl_vat"], r
        checked += 1
    assert checked == len(sample) > 50

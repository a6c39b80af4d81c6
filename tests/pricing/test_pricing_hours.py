"""price_hour_costs / price_by_hour: golden hand-computed costs, the restricted prices priced in one engine
call and the others once, the views, and the scalar engine on a sample of simulator hours."""

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import polars as pl
import pytest
from pricing_frames import price_tables, simulator_tables, site_tables, write_priced_dataset

from ecodata.dataset import open as open_dataset
from ecodata.fx import load_rates
from ecodata.pricing import load_sessions, parse_tariff, price_reference, profile_for
from ecodata.pricing.hours import (
    HOUR_COLUMNS,
    expand_hours,
    hour_sessions,
    price_hour_costs,
    time_restricted_prices,
    week_dates,
)
from ecodata.pricing.model import WEEKDAYS
from ecodata.settings import Settings

D = Decimal
DAY = dt.date(2026, 11, 21)  # a Saturday: the week priced is Sat 21 .. Fri 27 November (no DST change)
AC = [{"connector_id": "ac22", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "AC",
       "max_power_kw": 22.0, "amperage": 32, "country_code": "DE"},
      {"connector_id": "ac11", "location_id": "L2", "time_zone": "Europe/Berlin", "power_class": "AC",
       "max_power_kw": 22.0, "amperage": 32, "country_code": "DE"}]


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
LINKS = [("ac22", "peak"), ("ac22", "weekday"), ("ac22", "flat"), ("ac11", "flat")]


def tables_of(records=RECORDS, connectors=AC, links=LINKS):
    return {**price_tables(records), **site_tables(connectors, links)}


@pytest.fixture(scope="module")
def stored():
    return price_hour_costs(tables_of(), day=DAY, rates=load_rates())


def by_hour(frame, pid):
    rows = frame.filter((pl.col("price_id") == pid) & (pl.col("session") == "AC_SHOP"))
    return {(r["day_of_week"], r["hour"]): r["total_incl_vat"] for r in rows.iter_rows(named=True)}


def test_golden_costs_of_an_11_kwh_hour_at_each_hour_of_the_week(stored):
    # AC_SHOP: 11 kWh in one hour from h:00 local time, 19 % VAT
    assert stored.columns == HOUR_COLUMNS
    peak, weekday, flat = (by_hour(stored, pid) for pid in ("peak", "weekday", "flat"))
    assert len(peak) == len(weekday) == 168
    for day in WEEKDAYS:
        for hour in range(24):
            assert peak[(day, hour)] == (D("7.854") if 16 <= hour < 20 else D("3.927"))   # 11 x 0.60 / 0.30 x 1.19
            assert weekday[(day, hour)] == (D("6.545") if day in ("SATURDAY", "SUNDAY") else D("5.236"))
    assert flat == {(None, None): D("5.8905")}  # stored once: the same at every start


def test_a_session_crossing_the_peak_window_is_split_at_its_edge(stored):
    # HPC_10_80 is not priced on AC connectors; AC_SHOP from 15:00 ends at 16:00, so it is off-peak;
    # a peak-priced hour is exactly 16:00 .. 19:00 starts
    peak = by_hour(stored, "peak")
    assert [h for h in range(24) if peak[("MONDAY", h)] == D("7.854")] == [16, 17, 18, 19]
    assert set(stored["session"]) == {"AC_SHOP"}


def test_only_time_restricted_prices_get_168_rows_the_others_their_session_price_cost(stored):
    assert time_restricted_prices(price_tables(RECORDS)["price_elements"]).to_list() == ["peak", "weekday"]
    counts = dict(stored.group_by("price_id").len().iter_rows())
    assert counts == {"peak": 168, "weekday": 168, "flat": 1}


def test_pricing_every_price_at_every_hour_gives_the_same_grid(stored):
    full = price_hour_costs(tables_of(), day=DAY, rates=load_rates(), every_hour=True)
    assert full.height == 3 * 168
    assert expand_hours(stored).drop("time_restricted").equals(full)


def test_one_session_per_power_class_and_the_week_of_the_snapshot():
    assert [s.name for s in hour_sessions(load_sessions())] == ["AC_SHOP", "DC50_20_80", "HPC_10_80"]
    dates = week_dates(DAY)
    assert dates["SATURDAY"] == DAY
    assert dates["FRIDAY"] == dt.date(2026, 11, 27)
    assert sorted(dates.values()) == [DAY + dt.timedelta(days=i) for i in range(7)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("hours")
    write_priced_dataset(Settings(data_dir=root), DAY, tables_of())
    with open_dataset(root) as ds:
        yield ds


def test_the_pipeline_stores_price_hour_costs_and_the_view_repeats_the_others(dataset, stored):
    kept = dataset.sql(f"SELECT {', '.join(HOUR_COLUMNS)} FROM price_hour_costs").pl()
    assert kept.sort(HOUR_COLUMNS, nulls_last=True).equals(stored.sort(HOUR_COLUMNS, nulls_last=True))
    rows = dataset.sql("SELECT connector_id, price_id, day_of_week, hour, time_restricted, total_incl_vat, "
                       "eur_per_kwh_incl_vat FROM price_by_hour WHERE session = 'AC_SHOP'").pl()
    assert rows.height == len(LINKS) * 168
    assert dict(rows.group_by("connector_id").len().iter_rows()) == {"ac22": 3 * 168, "ac11": 168}
    flat = rows.filter(pl.col("price_id") == "flat")
    assert set(flat["total_incl_vat"]) == {D("5.8905")}
    assert not flat["time_restricted"].any()
    assert set(flat["eur_per_kwh_incl_vat"]) == {0.5355}
    monday_17 = rows.filter((pl.col("price_id") == "peak") & (pl.col("day_of_week") == "MONDAY")
                            & (pl.col("hour") == 17))
    assert monday_17["eur_per_kwh_incl_vat"].to_list() == [0.714]  # 0.60 x 1.19
    history = dataset.sql("SELECT count(*), count(DISTINCT snapshot_date) FROM price_by_hour_history").fetchall()
    as_of = dataset.sql(f"SELECT count(*) FROM price_by_hour_as_of(DATE '{DAY}')").fetchall()
    assert history == [(len(LINKS) * 168, 1)]
    assert as_of == [(len(LINKS) * 168,)]


def test_the_summary_per_country_and_power_class_by_hand(dataset):
    rows = dataset.sql("SELECT * FROM price_by_hour_summary WHERE country_code = 'DE' AND power_class = 'AC'").pl()
    assert rows.height == 168
    # three distinct (price, profile) pairs (both connectors run AC_SHOP alike, flat is counted once);
    # peak and weekday vary with the start: 2 of 3
    assert set(rows["price_profiles"]) == {3}
    assert set(rows["varying_price_profiles"]) == {2}
    assert set(rows["varying_pct"]) == {66.67}
    # EUR/kWh incl. VAT: peak 0.714 (16-20h) else 0.357, weekday 0.476 Mon-Fri else 0.595, flat 0.5355
    mon_17 = rows.filter((pl.col("day_of_week") == "MONDAY") & (pl.col("hour") == 17)).row(0, named=True)
    assert (mon_17["eur_per_kwh_min"], mon_17["eur_per_kwh_median"], mon_17["eur_per_kwh_max"]) == (0.476, 0.5355, 0.714)
    sat_3 = rows.filter((pl.col("day_of_week") == "SATURDAY") & (pl.col("hour") == 3)).row(0, named=True)
    assert (sat_3["eur_per_kwh_min"], sat_3["eur_per_kwh_median"], sat_3["eur_per_kwh_max"]) == (0.357, 0.5355, 0.595)
    # medians over the week: weekdays 0.476 / 0.5355 at peak -> peak median 0.595 (Sat/Sun 16-20h: 0.595, 0.714,
    # 0.5355 -> 0.595), off-peak 0.476 (Mon-Fri outside 16-20h: 0.357, 0.476, 0.5355)
    first = rows.row(0, named=True)
    assert (first["peak_median_eur_per_kwh"], first["offpeak_median_eur_per_kwh"],
            first["peak_offpeak_spread_eur_per_kwh"]) == (0.595, 0.476, 0.119)
    assert (first["peak_start"], first["offpeak_start"]) == ("SATURDAY 16", "MONDAY 00")


@pytest.fixture(scope="module")
def simulator():
    tables, records = simulator_tables("demo", seed=3)
    return tables, records, price_hour_costs(tables, day=DAY)


def test_vectorised_agrees_with_the_scalar_engine_on_a_sample_of_simulator_hours(simulator):
    tables, records, out = simulator
    timed = out.filter(pl.col("hour").is_not_null())
    assert timed.height > 0
    assert out.filter(pl.col("hour").is_null()).height > 0
    parsed = {r["id"]: parse_tariff(r) for r in records}
    sessions = {s.name: s for s in load_sessions()}
    kinds = (pl.DataFrame(tables["connectors"]).join(pl.DataFrame(tables["locations"]).select("location_id", "time_zone"),
                                                    on="location_id", how="left"))
    profiles: dict[str, object] = {}
    for row in kinds.select("power_class", "max_power_kw", "amperage", "time_zone", "power_type").unique().iter_rows():
        for s in sessions.values():
            if row[0] in s.power_classes:
                p = profile_for(s, row[1], row[2], row[0], row[4])
                current = getattr(p, "current_ma", None)
                name = f"{p.power_w}W_{'?' if current is None else current}mA@{row[3] or 'UTC'}"
                profiles.setdefault(f"{s.name}|{name}", p)
    # per time-restricted price: one of its (session, profile) pairs at a random hour of each weekday
    # (where a wrong time window, weekday or date would show), plus 30 rows anywhere
    rng = random.Random(5)
    sample = []
    for _, rows in sorted(timed.group_by("price_id"), key=lambda kv: kv[0]):
        pair = rng.choice(rows.select("session", "profile").unique().sort("session", "profile").rows())
        mine = rows.filter((pl.col("session") == pair[0]) & (pl.col("profile") == pair[1]))
        sample += [rng.choice(mine.filter(pl.col("day_of_week") == day).rows(named=True)) for day in WEEKDAYS]
    sample += rng.sample(timed.rows(named=True), 30)
    assert len(sample) > 100
    dates = week_dates(DAY)
    for r in sample:
        profile = profiles[f"{r['session']}|{r['profile']}"]
        moved = dataclasses.replace(profile, session=dataclasses.replace(profile.session, start=dt.time(r["hour"])))
        tz = r["profile"].split("@", 1)[1]
        res = price_reference(parsed[r["price_id"]], moved, tz, dates[r["day_of_week"]])
        assert (res["total_cost"]["incl_vat"], res["total_cost"]["excl_vat"]) == (r["total_incl_vat"],
                                                                                 r["total_excl_vat"]), r


def test_without_time_restricted_prices_each_price_has_its_one_row():
    out = price_hour_costs(tables_of([FLAT], AC, [("ac22", "flat")]), day=DAY)
    assert out.select("price_id", "session", "day_of_week", "hour", "total_incl_vat").rows() == [
        ("flat", "AC_SHOP", None, None, D("5.8905"))]


def test_a_week_with_a_clock_change_agrees_with_the_scalar_engine_at_every_hour():
    # Monday 22 March 2027: Berlin moves to summer time on Sunday 28 March at 2:00 (2:00 does not exist)
    week = dt.date(2027, 3, 22)
    out = price_hour_costs(tables_of(), day=week, every_hour=True)
    profile = profile_for(next(s for s in load_sessions() if s.name == "AC_SHOP"), 22.0, 32, "AC")
    dates = week_dates(week)
    parsed = {r["id"]: parse_tariff(r) for r in RECORDS}
    for r in out.iter_rows(named=True):
        moved = dataclasses.replace(profile, session=dataclasses.replace(profile.session, start=dt.time(r["hour"])))
        res = price_reference(parsed[r["price_id"]], moved, "Europe/Berlin", dates[r["day_of_week"]])
        assert res["total_cost"]["incl_vat"] == r["total_incl_vat"], r
    sunday = by_hour(out, "peak")
    assert sunday[("SUNDAY", 2)] == sunday[("SUNDAY", 3)] == D("3.927")
    assert sunday[("SUNDAY", 15)] == D("3.927")  # 15:00 CEST .. 16:00: off-peak
    assert sunday[("SUNDAY", 16)] == D("7.854")


def test_simulator_prices_without_time_restrictions_cost_the_same_at_every_start(simulator):
    tables, _, out = simulator
    once = out.filter(pl.col("hour").is_null())
    chosen = sorted(random.Random(7).sample(sorted(set(once["price_id"])), 8))
    subset = {**tables, **{name: tables[name].filter(pl.col("price_id").is_in(chosen))
                           for name in ("prices", "price_elements", "price_components", "connector_prices")}}
    every = price_hour_costs(subset, day=DAY, every_hour=True)
    assert every.height > 8 * 168
    assert expand_hours(once.filter(pl.col("price_id").is_in(chosen))).drop("time_restricted").equals(every)

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ecodata.errors import ConfigError
from ecodata.pricing import load_sessions, parse_tariff, price_reference, profile_for
from ecodata.pricing.model import Breakpoints, tariff_breakpoints
from ecodata.pricing.sessions import build_session

D = Decimal
BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 11, 21)  # a Saturday


@pytest.fixture(scope="module")
def sessions():
    return {s.name: s for s in load_sessions()}


def test_default_sessions_follow_the_analyst_reference(sessions):
    assert list(sessions) == ["HPC_10_80", "DC50_20_80", "AC_SHOP", "AC_LONG", "AC_NIGHT", "AC_RESERVED"]
    assert (sessions["HPC_10_80"].energy_kwh, sessions["HPC_10_80"].power_classes) == (D("52.5"), ("HPC",))
    night = profile_for(sessions["AC_NIGHT"], 11.0, 16)
    assert night.charging_s + night.parking_s == 12 * 3600
    long = profile_for(sessions["AC_LONG"], 22.0, 32)
    assert (long.charging_s, long.parking_s) == (7200, 3 * 3600)


def test_sessions_toml_override_and_errors(tmp_path):
    good = tmp_path / "s.toml"
    good.write_text('[[session]]\nname = "X"\npower_classes = ["ac"]\nstart = "08:15"\nenergy_kwh = "7.5"\n'
                    'power_kw = 3.7\nparking_minutes = 30\n', encoding="utf-8")
    (s,) = load_sessions(good)
    assert (s.name, s.power_classes, s.start, s.energy_kwh, s.power_kw) == ("X", ("AC",), dt.time(8, 15), D("7.5"), D("3.700"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[session]]\nname = "X"\npower_classes = ["AC"]\nstart = "08:15"\nenergy_kwh = 1\npower_kw = 3\n',
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="exactly one of parking_minutes or connected_minutes"):
        load_sessions(bad)
    with pytest.raises(ConfigError, match="cannot read the sessions file"):
        load_sessions(tmp_path / "missing.toml")


def test_power_capped_by_connector_and_current_scaled(sessions):
    p = profile_for(sessions["HPC_10_80"], 150.0, 400)
    assert (p.power_w, p.current_ma) == (126_000, 336_000)
    p = profile_for(sessions["AC_SHOP"], 3.7, 16)
    assert (p.power_w, p.current_ma, p.charging_s) == (3700, 16_000, 10_703)  # ceil(11 kWh / 3.7 kW) seconds
    assert profile_for(sessions["AC_SHOP"], None, None).power_w == 11_000


def test_periods_split_at_midnight_windows_thresholds_and_charge_end(sessions):
    profile = profile_for(sessions["AC_NIGHT"], 7.4, 32)  # 19:00, 30 kWh at 7.4 kW -> 14 595 s
    bp = Breakpoints(times_of_day=frozenset({22 * 3600}), durations=frozenset({3600}),
                     overstays=frozenset({2700}), kwh=frozenset({D("1.5")}))
    session = build_session(profile, BERLIN, DAY, bp)
    offsets = [int(p.offset_s) for p in session.periods]
    assert offsets == [0, 730, 3600, 10800, 14595, 14595 + 2700, 18000]
    # kWh threshold: first whole second at which 1.5 kWh is reached (1.5 kWh / 7.4 kW = 729.7 s)
    assert session.periods[1].offset_s == 730
    assert sum(p.energy_kws for p in session.periods) == D(30 * 3600)
    assert sum(p.time_s for p in session.periods) == 14595
    assert sum(p.parking_s for p in session.periods) == 12 * 3600 - 14595
    assert session.periods[4].since_charge_end_s == 0
    assert session.periods[4].power_kw is None
    assert session.periods[-1].start.astimezone(BERLIN).time() == dt.time(0, 0)  # local midnight


def test_reference_session_crossing_midnight_uses_the_new_day(sessions):
    t = parse_tariff({"id": "x", "currency": "EUR", "elements": [
        {"price_components": [{"type": "PARKING_TIME", "price": 2, "step_size": 1}], "restrictions": {"day_of_week": ["SUNDAY"]}},
        {"price_components": [{"type": "ENERGY", "price": "0.5", "step_size": 1}]}]})
    got = price_reference(t, profile_for(sessions["AC_NIGHT"], 11.0, 16), "Europe/Berlin", DAY)
    # charging 19:00-21:43:38, parking until 07:00 on Sunday; only Sunday's 7 h of parking are billed
    assert got["total_parking_cost"]["excl_vat"] == D("14.0000")
    assert got["total_energy_cost"]["excl_vat"] == D("15.0000")


def test_dst_day_keeps_wall_clock_windows(sessions):
    t = parse_tariff({"id": "x", "currency": "EUR", "elements": [
        {"price_components": [{"type": "PARKING_TIME", "price": 1, "step_size": 1}], "restrictions": {"start_time": "02:00", "end_time": "04:00"}}]})
    # night of the autumn change in Berlin: 02:00-04:00 local lasts 3 hours
    got = price_reference(t, profile_for(sessions["AC_NIGHT"], 11.0, 16), "Europe/Berlin", dt.date(2026, 10, 24))
    assert got["total_parking_cost"]["excl_vat"] == D("3.0000")
    assert tariff_breakpoints([t]).times_of_day == frozenset({7200, 14400})

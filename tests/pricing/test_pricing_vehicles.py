"""Vehicles: the shipped table, the per-second charging profile (golden, hand-computed), pricing
of vehicle sessions by both engines, and the vehicle/session files users pass."""

import datetime as dt
from decimal import Decimal

import pytest
from pricing_frames import price_tables, site_tables, write_priced_dataset

from ecodata.errors import ConfigError
from ecodata.pricing import parse_tariff, price_reference, profile_for, session_costs
from ecodata.pricing.sessions import load_sessions
from ecodata.pricing.vehicles import (
    Vehicle,
    VehicleSession,
    find_vehicle,
    load_vehicles,
    parse_soc,
    vehicle_profile_for,
    vehicle_session,
)

D = Decimal
DAY = dt.date(2026, 11, 21)
# A test car with round numbers: 100 kWh, 100 kW up to 50 % SoC, then a step down to 40 kW.
STEP_CAR = Vehicle("STEP", "Step car", D("100"), 3, D("11"),
                   ((D(0), D(100)), (D(50), D(100)), (D(50), D(40)), (D(100), D(40))), D("20"), "t", "t", "t")
STEP_10_80 = VehicleSession("STEP_10_80", ("DC", "HPC"), dt.time(12, 0), STEP_CAR, 10, 80)


def em(pid, elements, *, ptype="msp"):
    return {"id": pid, "partner": "P", "product": {"type": ptype, "subscription_type": "n/a",
                                                   "subscription_fee_excl_vat": "0", "currency": "EUR"},
            "elements": elements}


def c(kind, price, vat=None, step=1):
    return {"type": kind, "price_excl_vat": D(price), "vat": None if vat is None else D(vat), "step_size": step}


POWER_TIERS = em("tiers", [
    {"price_components": [c("ENERGY", "0.70")], "restrictions": {"min_power": "50"}},
    {"price_components": [c("ENERGY", "0.50"), c("TIME", "1.20")]},
    {"price_components": [c("TIME", "0")], "restrictions": {"min_power": "50"}},
])


def total(result):
    return result["total_cost"]["excl_vat"]


# --- the shipped table -------------------------------------------------------------------------


def test_shipped_vehicles_have_every_figure_and_its_source():
    vehicles = load_vehicles()
    assert len(vehicles) == 16
    for v in vehicles:
        assert all((v.source_battery, v.source_charging, v.source_consumption)), v.name
        assert v.dc_curve[0][0] == 0
        assert v.dc_curve[-1][0] == 100
    model_y = find_vehicle(vehicles, "tesla_model_y_lr")
    assert (model_y.battery_kwh, model_y.ac_phases, model_y.ac_max_kw, model_y.consumption_kwh_per_100km) == (
        D("75.0"), 3, D("11"), D("17.2"))
    assert model_y.dc_kw(15) == D("247.5")  # halfway between 250 kW at 10 % and 245 kW at 20 %
    with pytest.raises(ConfigError, match="unknown vehicle 'Trabant': use one of AUDI_Q4_40, BMW_I4_E40"):
        find_vehicle(vehicles, "Trabant")


# --- the profile, hand-computed ----------------------------------------------------------------


def test_step_curve_profile_on_a_300_kw_connector():
    p = vehicle_profile_for(STEP_10_80, 300.0, 500, "HPC")
    # 10 -> 50 %: 40 kWh at 100 kW = 1440 s; 50 -> 80 %: 30 kWh at 40 kW = 2700 s
    assert p.charging_s == 4140
    assert (p.power_w_at(1439), p.power_w_at(1440)) == (100_000, 40_000)
    assert p.energy_at(1440) == 144_000_000
    assert p.energy_at(4140) == 252_000_000
    assert p.current_ma_at(0) == 166_667          # 500 A x 100 / 300 kW
    assert p.mean_power_w == 60_870               # 70 kWh / 4140 s


@pytest.mark.parametrize(("max_kw", "expected"), [
    (300.0, D("44.3800")),   # 40 kWh x 0.70 (>= 50 kW) + 30 kWh x 0.50 + 4140 s x 1.20/h (only below 50 kW)
    (50.0, D("44.8600")),    # 10->50 % at 50 kW (2880 s, still >= 50 kW: 0.70, TIME 0) + 2700 s x 1.20/h
    (45.0, D("36.9667")),    # all below 50 kW: 70 kWh x 0.50 + 5900 s x 1.20/h = 35 + 1.96667
])
def test_step_curve_session_costs_by_hand(max_kw, expected):
    tariff = parse_tariff(POWER_TIERS)
    p = profile_for(STEP_10_80, max_kw, None, "HPC")
    got = price_reference(tariff, p, "Europe/Berlin", DAY)
    assert total(got) == expected
    assert got["total_energy"] == D("70.0000")


def test_ac_power_is_the_car_limit_and_the_usable_phases():
    s = vehicle_session(STEP_CAR, (10, 80), power_classes=("AC",))
    assert vehicle_profile_for(s, 22.0, 32, "AC", "AC_3_PHASE").charging_s == 22910   # 70 kWh at 11 kW, ceil
    assert vehicle_profile_for(s, 7.4, 32, "AC", "AC_1_PHASE").cap_w == 7400
    one_phase = Vehicle("ONE", "1-phase car", D("40"), 1, D("7.4"), STEP_CAR.dc_curve, D("15"), "t", "t", "t")
    s1 = vehicle_session(one_phase, (20, 80), power_classes=("AC",))
    assert vehicle_profile_for(s1, 22.0, 32, "AC", "AC_3_PHASE").cap_w == 7333   # one phase of 22 kW
    assert vehicle_profile_for(s1, 22.0, 32, "AC", None).cap_w == 7400           # phases unknown: the car's


def test_per_second_integration_is_within_a_second_of_the_continuous_curve():
    vehicles = load_vehicles()
    for name in ("TESLA_MODEL_Y_LR", "KIA_EV6_LR", "RENAULT_MEGANE_EV60"):
        v = find_vehicle(vehicles, name)
        s = vehicle_session(v, (10, 80))
        p = vehicle_profile_for(s, 300.0, None, "HPC")
        points = [(float(a), float(b) * 1000) for a, b in v.dc_curve]
        battery, energy, t, h = float(v.battery_j), 0.0, 0.0, 0.02
        while energy < s.energy_j:
            soc = 10 + energy / battery * 100
            i = max(k for k in range(len(points) - 1) if points[k][0] <= soc)
            (x0, p0), (x1, p1) = points[i], points[i + 1]
            power = min(p0 + (p1 - p0) * (soc - x0) / (x1 - x0), 300_000.0)
            dt_ = min(h, (s.energy_j - energy) / power)
            energy += power * dt_
            t += dt_
        assert abs(p.charging_s - t) < 1, (name, p.charging_s, t)


def test_distance_and_eur_per_100_km():
    assert STEP_10_80.energy_kwh == D("70")
    assert STEP_10_80.distance_km == D("350")
    assert parse_soc("10-80") == (10, 80)
    for bad in ("80-10", "10", "a-b", "0-101"):
        with pytest.raises(ConfigError, match="invalid SoC window"):
            parse_soc(bad)


# --- both engines ------------------------------------------------------------------------------

CONNECTORS = [
    {"connector_id": "ac22", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "AC",
     "max_power_kw": 22.0, "amperage": 32, "power_type": "AC_3_PHASE"},
    {"connector_id": "ac1", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "AC",
     "max_power_kw": 7.4, "amperage": 32, "power_type": "AC_1_PHASE"},
    {"connector_id": "dc50", "location_id": "L2", "time_zone": "Europe/London", "power_class": "DC",
     "max_power_kw": 50.0, "amperage": 125, "power_type": "DC"},
    {"connector_id": "hpc", "location_id": "L3", "time_zone": "Europe/Helsinki", "power_class": "HPC",
     "max_power_kw": 300.0, "amperage": 500, "power_type": "DC"},
]
RECORDS = [
    POWER_TIERS,
    em("amps", [{"price_components": [c("ENERGY", "0.29", "19")], "restrictions": {"max_current": "150"}},
                {"price_components": [c("ENERGY", "0.59", "19", 100), c("TIME", "0.60", "19", 60)]},
                {"price_components": [c("PARKING_TIME", "6.00", "19", 300)],
                 "restrictions": {"overstay_duration": 600}}]),
    em("kwh_tiers", [{"price_components": [c("ENERGY", "0.45", "21")], "restrictions": {"max_kwh": "20"}},
                     {"price_components": [c("ENERGY", "0.65", "21"), c("FLAT", "1.00", "21")]},
                     {"price_components": [c("TIME", "0.02", "21")], "restrictions": {"start_time": "12:30"}}],
       ptype="adhoc"),
]


def test_vectorised_and_scalar_engines_agree_on_vehicle_sessions():
    fleet = load_vehicles()
    sessions = [
        vehicle_session(find_vehicle(fleet, "TESLA_MODEL_Y_LR"), (10, 80), parking_minutes=20),
        vehicle_session(find_vehicle(fleet, "RENAULT_ZOE_R135"), (20, 90), power_classes=("AC", "DC")),
        vehicle_session(find_vehicle(fleet, "DACIA_SPRING_45"), (5, 100), power_classes=("AC", "DC", "HPC")),
        STEP_10_80,
    ]
    links = [(conn["connector_id"], r["id"]) for conn in CONNECTORS for r in RECORDS]
    out = session_costs({**price_tables(RECORDS), **site_tables(CONNECTORS, links)}, day=DAY, sessions=sessions)
    by_session = {s.name: s for s in sessions}
    by_conn = {conn["connector_id"]: conn for conn in CONNECTORS}
    parsed = {r["id"]: parse_tariff(r) for r in RECORDS}
    for row in out.iter_rows(named=True):
        conn = by_conn[row["connector_id"]]
        p = profile_for(by_session[row["session"]], conn["max_power_kw"], conn["amperage"], conn["power_class"],
                        conn["power_type"])
        want = price_reference(parsed[row["price_id"]], p, conn["time_zone"], DAY)
        for key, col in (("total_cost", "total"), ("total_energy_cost", "energy_cost"),
                         ("total_time_cost", "time_cost"), ("total_parking_cost", "parking_cost"),
                         ("total_fixed_cost", "flat_cost")):
            for vat in ("excl_vat", "incl_vat"):
                assert want[key][vat] == row[f"{col}_{vat}"], (row["session"], row["connector_id"], key, vat)
        assert want["total_energy"] == row["energy_kwh"]
    # fitting pairs: Model Y and STEP on dc50 + hpc, Zoe on ac22 + ac1 + dc50, Spring on all four
    assert out.height == len(RECORDS) * (2 + 2 + 3 + 4)
    step_hpc = out.filter(session="STEP_10_80", connector_id="hpc", price_id="tiers")
    assert step_hpc.select("total_excl_vat", "charging_power_kw").row(0) == (D("44.3800"), D("60.870"))


# --- files -------------------------------------------------------------------------------------


def test_vehicles_from_csv_and_vehicle_sessions_from_a_sessions_toml(tmp_path):
    csv_file = tmp_path / "cars.csv"
    csv_file.write_text(
        "name,label,battery_kwh,ac_phases,ac_max_kw,dc_curve,consumption_kwh_per_100km,source_battery,"
        "source_charging,source_consumption\n"
        "MYCAR,My car,50.5,2,7.4,0:50 50:50 100:20,16.1,spec sheet,own test,trip log\n", encoding="utf-8")
    (car,) = load_vehicles(csv_file)
    assert (car.battery_kwh, car.ac_phases, car.dc_curve[-1], car.source_consumption) == (
        D("50.5"), 2, (D(100), D(20)), "trip log")
    toml = tmp_path / "sessions.toml"
    toml.write_text('[[session]]\nname = "MINE"\nvehicle = "mycar"\nsoc = "20-80"\npower_classes = ["DC"]\n'
                    'start = "08:00"\nparking_minutes = 15\n\n'
                    '[[session]]\nname = "AC_SHOP"\npower_classes = ["AC"]\nstart = "12:00"\nenergy_kwh = "11"\n'
                    'power_kw = "11"\nparking_minutes = 0\n', encoding="utf-8")
    mine, shop = load_sessions(toml, vehicles=csv_file)
    assert isinstance(mine, VehicleSession)
    assert mine.vehicle == car
    assert (mine.soc_from, mine.soc_to, mine.start, mine.parking_minutes, mine.energy_kwh) == (
        20, 80, dt.time(8, 0), 15, D("30.3"))
    assert shop.name == "AC_SHOP"


@pytest.mark.parametrize(("text", "message"), [
    ('[[vehicle]]\nname = "X"\n', "missing key 'battery_kwh'"),
    ('[[vehicle]]\nname="X"\nlabel="x"\nbattery_kwh="50"\nac_phases=3\nac_max_kw="11"\ndc_curve=[[10, 50], [100, 20]]\n'
     'consumption_kwh_per_100km="16"\nsource_battery="a"\nsource_charging="b"\nsource_consumption="c"\n',
     "dc_curve must run from SoC 0 to 100"),
    ('[[vehicle]]\nname="X"\nlabel="x"\nbattery_kwh="50"\nac_phases=4\nac_max_kw="11"\ndc_curve=[[0, 50], [100, 20]]\n'
     'consumption_kwh_per_100km="16"\nsource_battery="a"\nsource_charging="b"\nsource_consumption="c"\n',
     "ac_phases must be 1, 2 or 3"),
    ("not toml [", "is not valid TOML"),
])
def test_bad_vehicle_files_are_config_errors(tmp_path, text, message):
    f = tmp_path / "v.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_vehicles(f)


# --- compare --vehicle ---------------------------------------------------------------------------

STEP_CSV = ("name,label,battery_kwh,ac_phases,ac_max_kw,dc_curve,consumption_kwh_per_100km,source_battery,"
            "source_charging,source_consumption\n"
            "STEP,Step car,100,3,11,0:100 50:100 50:40 100:40,20,test,test,test\n")
ADHOC_AND_MSP = [
    em("adhoc1", [{"price_components": [c("ENERGY", "0.60", "19")]}], ptype="adhoc"),
    em("msp1", [{"price_components": [c("ENERGY", "0.40", "19")]}]),
]


@pytest.fixture(scope="module")
def vehicle_data(tmp_path_factory):
    from ecodata.settings import Settings

    root = tmp_path_factory.mktemp("vdata")
    (root / "cars.csv").write_text(STEP_CSV, encoding="utf-8")
    (root / "sessions.toml").write_text('[[session]]\nvehicle = "STEP"\nsoc = "10-80"\npower_classes = ["HPC"]\n',
                                        encoding="utf-8")
    conns = [{"connector_id": "c1", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "HPC",
              "max_power_kw": 300.0, "amperage": 500, "country_code": "DE"}]
    tables = {**price_tables(ADHOC_AND_MSP), **site_tables(conns, [("c1", r["id"]) for r in ADHOC_AND_MSP])}
    settings = Settings(data_dir=root / "data", sessions_toml=root / "sessions.toml", vehicles_file=root / "cars.csv")
    write_priced_dataset(settings, DAY, tables)
    return root


def test_compare_vehicle_reports_the_vehicle_session_and_eur_per_100_km(vehicle_data):
    import json

    from click.testing import CliRunner

    from ecodata.cli import cli

    env = {"ECODATA_VEHICLES_FILE": str(vehicle_data / "cars.csv")}
    result = CliRunner(env=env).invoke(cli, ["--data-dir", str(vehicle_data / "data"), "compare", "--vehicle", "step",
                                             "--soc", "10-80", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["session"], r["product_type"]) for r in rows] == [("STEP_10_80", "adhoc"), ("STEP_10_80", "msp")]
    # 70 kWh x 0.60 x 1.19 = 49.98 EUR; 70 kWh at 20 kWh/100 km = 350 km -> 14.28 EUR per 100 km
    assert (rows[0]["eur_incl_vat_median"], rows[0]["eur_per_100km_median"]) == (49.98, 14.28)
    assert (rows[1]["eur_incl_vat_median"], rows[1]["eur_per_100km_median"]) == (33.32, 9.52)
    missing = CliRunner(env=env).invoke(cli, ["--data-dir", str(vehicle_data / "data"), "compare", "--vehicle",
                                              "STEP", "--soc", "20-80"])
    assert missing.exit_code == 2
    assert missing.stderr == ('ecodata: error: the data has no costs for vehicle session STEP_20_80: add [[session]] '
                              'vehicle = "STEP" soc = "20-80" to your sessions TOML (ECODATA_SESSIONS_TOML) and run '
                              "'ecodata transform'\n")

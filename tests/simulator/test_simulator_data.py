from __future__ import annotations

import ctypes
import gc
import re
import statistics
from collections import Counter
from typing import Any

import httpx
import psutil
import pytest
from simulator_client import run

from ecodata.errors import ConfigError
from ecodata.restrictions import OCPI_2_1_1_KEYS, RESTRICTION_FIELDS
from ecodata.simulator import SimulatedData, SimulatorConfig, create_app
from ecodata.simulator.geo import BY_CODE

try:
    LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6")
except OSError:
    LIBC = None

OCPI_RESTRICTIONS = set(OCPI_2_1_1_KEYS)
EM_RESTRICTIONS = {f.key for f in RESTRICTION_FIELDS if f.since == "eco-movement"}


@pytest.fixture(scope="module")
def bench() -> SimulatedData:
    return SimulatedData("bench", 0, 0)


@pytest.fixture(scope="module")
def bench_prices(bench: SimulatedData) -> list[dict[str, Any]]:
    return list(bench.iter_records("prices", chunk=5000))


def test_demo_row_counts_follow_market_realism_section_5(demo_truth: SimulatedData) -> None:
    demo = demo_truth.totals()
    assert demo["locations"] == 1000
    assert 2400 <= demo["evses"] <= 2900
    assert 2700 <= demo["connectors"] <= 3300
    assert 18_000 <= demo["pricing_ids"] <= 24_000
    assert 300 <= demo["prices"] <= 500
    assert (demo["countries"], demo["cpos"], demo["msps"]) == (6, 40, 25)
    assert demo["connector_prices"] == demo_truth.count("connector_prices") == demo["connectors"]


@pytest.mark.bench_scale
def test_bench_row_counts_follow_market_realism_section_5(bench: SimulatedData) -> None:
    big = bench.totals()
    assert big["locations"] == 100_000
    assert 240_000 <= big["evses"] <= 280_000
    assert 280_000 <= big["connectors"] <= 320_000
    assert 3_000_000 <= big["pricing_ids"] <= 3_600_000
    assert 17_000 <= big["prices"] <= 23_000
    assert (big["countries"], big["cpos"], big["msps"]) == (13, 1200, 150)
    assert big["connector_prices"] == bench.count("connector_prices") == big["connectors"]


@pytest.mark.bench_scale
def test_country_and_power_class_shares(bench: SimulatedData) -> None:
    n = bench.count("locations")
    infos = [bench.site_info(p) for p in range(0, n, 5)]
    countries = Counter(i["country"] for i in infos)
    weights = {cc: BY_CODE[cc].weight for cc in bench.params.countries}
    total_weight = sum(weights.values())
    for cc, w in weights.items():
        assert abs(countries[cc] / len(infos) - w / total_weight) < 0.012, cc
    evses = Counter()
    for i in infos:
        evses[i["site_class"]] += i["evses"]
    all_evses = sum(evses.values())
    expected_ac = sum(w * BY_CODE[cc].ac_share for cc, w in weights.items()) / total_weight
    assert abs(evses["AC"] / all_evses - expected_ac) < 0.03
    assert abs(evses["DC"] / all_evses - (1 - expected_ac) * 7 / 18) < 0.015
    assert abs(evses["HPC"] / all_evses - (1 - expected_ac) * 11 / 18) < 0.025
    assert 2.4 <= all_evses / len(infos) <= 2.8
    access = Counter(i["access_type"] for i in infos)
    assert 0.5 <= access["Public"] / len(infos) <= 0.8
    assert access["Restricted"] > 0
    assert access["Private"] > 0


@pytest.mark.bench_scale
def test_every_connector_lists_one_ad_hoc_price_and_k_msp_prices(bench: SimulatedData, bench_prices: list[dict[str, Any]]) -> None:
    types = {p["id"]: p["product"]["type"] for p in bench_prices}
    currency = {p["id"]: p["product"]["currency"] for p in bench_prices}
    ks: dict[str, list[int]] = {"core": [], "nordic": [], "south": []}
    for position in range(0, bench.count("connector_prices"), 97):
        row = bench.record("connector_prices", position)
        kinds = [types[i] for i in row["pricing_ids"]]
        assert kinds[0] == "adhoc"
        assert kinds.count("adhoc") == 1
        assert set(kinds[1:]) <= {"msp", "cpo_subscription"}
        assert len(row["product_ids"]) == len(row["pricing_ids"])
        assert len(set(row["pricing_ids"])) == len(row["pricing_ids"])
        assert len({currency[i] for i in row["pricing_ids"]}) == 1
        location = bench.location_position(row["location_id"])
        assert location is not None
        group = BY_CODE[bench.site_info(location)["country"]].msp_group
        ks[group].append(len(kinds) - 1)
    assert statistics.mean(ks["core"]) > statistics.mean(ks["nordic"]) > statistics.mean(ks["south"])
    assert 9 <= statistics.mean(ks["core"] + ks["nordic"] + ks["south"]) <= 13


@pytest.mark.bench_scale
def test_prices_are_plausible_per_country(bench: SimulatedData, bench_prices: list[dict[str, Any]]) -> None:
    by_currency = {c.currency: c for c in bench.catalog.countries}
    adhoc_kwh: dict[tuple[str, str], list[float]] = {}
    restriction_keys: set[str] = set()
    windows: set[tuple[str, str]] = set()
    for position, price in enumerate(bench_prices):
        product = price["product"]
        assert re.fullmatch(r"\d+\.\d{4}", product["subscription_fee_excl_vat"])
        assert product["subscription_type"] in ("month", "yearly", "one-off", "n/a")
        assert (product["subscription_type"] == "n/a") == (float(product["subscription_fee_excl_vat"]) == 0)
        spec = bench.catalog.specs[position]
        country = bench.catalog.countries[spec[2]]
        assert product["currency"] == country.currency
        for element in price["elements"]:
            restrictions = element["restrictions"]
            if restrictions is not None:
                assert restrictions
                restriction_keys |= set(restrictions)
                if "start_time" in restrictions:
                    windows.add((restrictions["start_time"], restrictions["end_time"]))
            for comp in element["price_components"]:
                assert comp["type"] in ("ENERGY", "FLAT", "TIME", "PARKING_TIME")
                assert comp["vat"] == country.vat
                assert comp["price_excl_vat"] == round(comp["price_excl_vat"], 4) >= 0
                if comp["type"] == "ENERGY" and restrictions is None:
                    eur = comp["price_excl_vat"] * (1 + country.vat / 100) / country.fx_per_eur
                    assert 0.1 <= eur <= 1.45, price
                    if product["type"] == "adhoc" and len(price["elements"]) == 1 and len(element["price_components"]) == 1:
                        adhoc_kwh.setdefault((country.code2, ("AC", "DC", "HPC")[spec[3]]), []).append(
                            comp["price_excl_vat"] * (1 + country.vat / 100))
    assert restriction_keys <= OCPI_RESTRICTIONS | EM_RESTRICTIONS
    assert restriction_keys >= EM_RESTRICTIONS
    assert {"min_power", "max_power", "day_of_week", "min_duration", "start_time"} <= restriction_keys
    assert ("22:00", "06:00") in windows  # a window that wraps midnight
    for (cc, power_class), values in adhoc_kwh.items():
        if len(values) < 40:
            continue
        country = BY_CODE[cc]
        reference = {"AC": country.adhoc_ac, "DC": country.adhoc_dc, "HPC": country.adhoc_hpc}[power_class]
        assert abs(statistics.median(values) / reference - 1) < 0.2, (cc, power_class)
    assert by_currency["GBP"].code2 == "GB"


def test_tariffs_match_connectors_and_show_the_list_restrictions_quirk(demo_truth: SimulatedData) -> None:
    tariffs = list(demo_truth.iter_records("tariffs"))
    ids = {t["id"] for t in tariffs}
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    styles = Counter()
    for t in tariffs:
        assert t["tariff_alt_url"] == "" or t["tariff_alt_url"].startswith("https://")
        for element in t["elements"]:
            r = element.get("restrictions", "absent")
            styles["list" if isinstance(r, list) else "object" if isinstance(r, dict) else str(r)] += 1
            if isinstance(r, list):
                assert set(r[0]) == OCPI_RESTRICTIONS
                set_keys = {k for k, v in r[0].items() if v is not None}
                styles["all null" if not set_keys else "faq" if set_keys == {"min_duration", "max_duration"} else "set"] += 1
    assert min(styles["list"], styles["absent"], styles["object"], styles["None"], styles["all null"],
               styles["faq"]) > 0
    referenced = set()
    for location in demo_truth.iter_records("locations"):
        for evse in location["evses"]:
            for connector in evse["connectors"]:
                if "tariff_id" in connector:
                    referenced.add(connector["tariff_id"])
    assert referenced <= ids
    assert len(referenced) > len(ids) / 3


def test_location_attributes(demo_truth: SimulatedData) -> None:
    locations = list(demo_truth.iter_records("locations"))
    no_power = 0
    for loc in locations:
        for party in ("operator", "owner", "brand_name"):
            assert set(loc[party]) == {"partner_id", "name", "website", "ema_id"}
        assert loc["access_type"] in ("Public", "Restricted", "Private")
        assert set(loc["administrative_areas"]) == {"municipality", "state_province"}
        assert loc["time_zone"] == BY_CODE[{c.code3: c.code2 for c in BY_CODE.values()}[loc["country"]]].time_zone
        assert re.fullmatch(r"-?\d{1,2}\.\d{4}", loc["coordinates"]["latitude"])
        for evse in loc["evses"]:
            assert evse["status"] in ("AVAILABLE", "CHARGING", "UNKNOWN", "OUTOFORDER", "INOPERATIVE", "BLOCKED",
                                      "PLANNED", "RESERVED")
            ids = [c["id"] for c in evse["connectors"]]
            assert len(ids) == len(set(ids))
            for c in evse["connectors"]:
                if "max_power" not in c:
                    no_power += 1
                    continue
                phases = 3 if c["power_type"] == "AC_3_PHASE" else 1
                assert abs(c["voltage"] * c["amperage"] * phases / 1000 - c["max_power"]) <= 0.1 * c["max_power"] + 0.5
        uids = [e["uid"] for e in loc["evses"]]
        assert len(uids) == len(set(uids))
    assert 0.03 < no_power / demo_truth.count("connector_prices") < 0.2
    assert any("energy_mix" in loc for loc in locations)
    assert any(loc["opening_times"].get("regular_hours") for loc in locations)


def test_day_one_changes_some_prices_and_locations(demo_truth: SimulatedData) -> None:
    day1 = SimulatedData("demo", 0, 1)
    ids0 = {r["id"] for r in demo_truth.iter_records("locations")}
    ids1 = {r["id"] for r in day1.iter_records("locations")}
    assert len(ids1 - ids0) == 5  # 0.5 % new locations per day
    assert 0 < len(ids0 - ids1) < 20
    changed = sum(a != b for a, b in zip(demo_truth.catalog.price_ids, day1.catalog.price_ids, strict=True))
    assert 0 < changed < 0.06 * len(day1.catalog.price_ids)
    rows0 = {(r["location_id"], r["evse_uid"], r["connector_id"]): r["pricing_ids"]
             for r in demo_truth.iter_records("connector_prices")}
    rows1 = {(r["location_id"], r["evse_uid"], r["connector_id"]): r["pricing_ids"]
             for r in day1.iter_records("connector_prices")}
    common = rows0.keys() & rows1.keys()
    different = sum(rows0[k] != rows1[k] for k in common)
    assert 0.02 * len(common) < different < 0.6 * len(common)
    assert day1.timestamp == "2026-06-02T08:00:00"
    assert SimulatedData("demo", 0, 1).catalog.price_ids == day1.catalog.price_ids


def test_unknown_scale_and_endpoint_are_config_errors(demo_truth: SimulatedData) -> None:
    with pytest.raises(ConfigError, match="unknown scale 'huge'"):
        SimulatedData("huge")
    with pytest.raises(ConfigError, match="unknown endpoint 'sessions'"):
        demo_truth.count("sessions")
    with pytest.raises(ConfigError, match="unknown pricing envelope"):
        SimulatorConfig(pricing_envelope="xml")


@pytest.mark.bench_scale
def test_memory_stays_flat_while_bench_scale_is_crawled(bench: SimulatedData) -> None:
    app = create_app(SimulatorConfig(scale="bench"), dataset=bench)
    # (path, limit, pages in the warm-up, pages in total): the warm-up fills the bounded render caches
    # and lets the allocator reach its working size with pages of the largest size
    plan = [("/ocpi/cpo/2.1.1/tariffs", 1000, 6, 6), ("/prices", 10000, 3, 3),
            ("/ocpi/cpo/2.1.1/locations", 1000, 10, 100), ("/prices/connector_prices", 10000, 3, 31)]

    async def crawl(c: httpx.AsyncClient, warm: bool) -> int:
        served = 0
        for path, limit, warm_pages, pages in plan:
            for page in range(0, warm_pages) if warm else range(warm_pages, pages):
                r = await c.get(path, params={"limit": limit, "offset": page * limit})
                assert r.status_code == 200
                served += len(r.content)
        return served

    process = psutil.Process()

    def rss() -> int:
        gc.collect()
        if LIBC is not None:
            LIBC.malloc_trim(0)  # hand freed pages back, so RSS shows what is still in use
        value: int = process.memory_info().rss
        return value

    run(lambda c: crawl(c, True), app)
    before = rss()
    served = run(lambda c: crawl(c, False), app)
    growth = rss() - before
    assert served > 450_000_000  # most of the bench dataset went over the wire...
    assert growth < 10_000_000  # ...while the process did not grow with it


def test_connector_rows_list_the_site_pricing_set(demo_truth: SimulatedData) -> None:
    cat = demo_truth.catalog
    for pos in range(demo_truth.count("locations")):
        info = demo_truth.site_info(pos)
        start, _ = demo_truth.connector_range(pos)
        row = demo_truth.record("connector_prices", start)
        assert row["pricing_ids"] == [cat.price_ids[i] for i in info["price_indices"]]
        assert row["product_ids"] == [cat.product(i)[0] for i in info["price_indices"]]


@pytest.mark.bench_scale
def test_daily_change_rates_at_bench_scale(bench: SimulatedData) -> None:
    day1 = SimulatedData("bench", 0, 1)
    n = len(bench.catalog.price_ids)
    changed = sum(a != b for a, b in zip(bench.catalog.price_ids, day1.catalog.price_ids, strict=True))
    sd = (n * 0.02 * 0.98) ** 0.5
    assert abs(changed - 0.02 * n) < 4 * sd  # about 2 % of prices get a new id per day
    assert day1.count("locations") - bench.count("locations") == 500 - len(set(bench._slots) - set(day1._slots))
    removed = len(set(bench._slots) - set(day1._slots))
    assert abs(removed - 500) < 4 * (100_000 * 0.005) ** 0.5  # about 0.5 % removed, 0.5 % added
    kept = removed_checked = 0
    for position in range(0, bench.count("locations"), 997):
        location_id = bench.location_id(position)
        moved = day1.location_position(location_id)
        if moved is None:
            removed_checked += 1
            continue
        kept += 1
        assert day1.record("locations", moved)["id"] == location_id  # ids are stable across days
    assert kept > 90
    assert removed_checked < 5


def test_tariffs_2_3_0_flavour_is_the_same_tariffs_in_2_3_shapes():
    from ecodata.pricing import parse_tariff

    ds = SimulatedData("demo", 0, 0)
    old = list(ds.iter_records("tariffs"))
    new = list(ds.iter_records("tariffs", "2.3.0"))
    assert [t["id"] for t in new] == [t["id"] for t in old]
    modes = Counter(t["tax_included"] for t in new)
    assert set(modes) == {"YES", "NO", "N/A"}
    assert min(modes.values()) >= 3
    reserved = [t for t in new if any((e.get("restrictions") or {}) == {"reservation": "RESERVATION"}
                                      or e.get("restrictions") == [{"reservation": "RESERVATION"}]
                                      for e in t["elements"])]
    assert len(reserved) >= 3
    assert sum("min_price" in t for t in new) >= 3
    for before, after in zip(old, new, strict=True):
        assert after["country_code"]
        assert after["party_id"]
        tail = after["elements"][len(after["elements"]) - len(before["elements"]):]
        for eb, ea in zip(before["elements"], tail, strict=True):
            for cb, ca in zip(eb["price_components"], ea["price_components"], strict=True):
                if after["tax_included"] == "YES":  # the same price, given incl. VAT
                    assert abs(ca["price"] - cb["price"] * (1 + ca["vat"] / 100)) < 0.00006
                else:
                    assert ca["price"] == cb["price"]
        parse_tariff(after)  # every one is a valid tariff for the engine


def test_mini_scale_is_the_demo_markets_smaller() -> None:
    from ecodata.simulator.config import SCALE_PARAMS

    mini, demo = SCALE_PARAMS["mini"], SCALE_PARAMS["demo"]
    assert mini.countries == demo.countries  # the same currencies and VAT rates for the engine tests
    truth = SimulatedData("mini")
    assert 0 < truth.count("locations") < demo.locations / 5
    assert len({r["country"] for r in truth.iter_records("locations")}) == len(demo.countries)  # every one kept

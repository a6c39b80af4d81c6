import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

import ecodata
from ecodata.cli import cli
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_snapshot
from ecodata.settings import Settings
from ecodata.sql import view_sql, write_views
from ecodata.tables.fixtures import write_raw_snapshot

DAY = dt.date(2026, 5, 4)
README = Path(__file__).resolve().parents[1] / "README.md"


def energy(value, vat=21, step=1):
    return {"type": "ENERGY", "price_excl_vat": value, "vat": vat, "step_size": step}


def comp(kind, value, vat=21, step=1):
    return {"type": kind, "price_excl_vat": value, "vat": vat, "step_size": step}


def price(pid, *elements, currency="EUR", fee=None):
    product = {"id": pid, "name": pid, "type": "msp", "currency": currency}
    if fee is not None:
        product.update(subscription_type="month", subscription_fee_excl_vat=fee)
    return {"id": pid, "partner": f"MSP-{pid[:2]}", "partner_id": "m1", "last_updated": "2026-01-01T00:00:00Z",
            "product": product, "elements": [{"price_components": c, "restrictions": r} for c, r in elements]}


def tariff(tid, *elements, currency="EUR", country="NL", **fields):
    return {"id": tid, "country_code": country, "party_id": "CPO", "currency": currency,
            "last_updated": "2026-01-01T00:00:00Z", **fields,
            "elements": [{"price_components": [{"type": k, "price": v, "vat": 21, "step_size": 1} for k, v in c],
                          "restrictions": r} for c, r in elements]}


# One price or tariff per rule that triggers exactly that rule (and the clean ones trigger none).
PRICES = [
    price("OK1", ([energy(0.40)], None)),
    price("OK2", ([energy(0.20)], {"start_time": "22:00", "end_time": "06:00"}),  # night, then the fallback
          ([energy(0.40), comp("TIME", 6, step=60)], None),
          ([comp("PARKING_TIME", 12, step=60)], {"min_duration": 7200})),
    price("NE", ),
    price("EW", ([energy(0.40)], None), ([], {"min_kwh": 50})),
    price("NP", ([energy(-0.10)], None)),
    price("NF", ([energy(0.40)], None), fee=-5),
    price("MM", ([energy(0.40)], {"min_price": 5, "max_price": 2})),
    price("SN", ([energy(0.40, step=-1)], None)),
    price("SZ", ([energy(0.40, step=0)], None)),
    price("VA", ([energy(0.40, vat=190)], None)),
    price("UR", ([energy(0.40)], {"min_kwh": 20, "max_kwh": 10}), ([energy(0.30)], None)),
    price("WD", ([energy(0.40)], {"day_of_week": ["MONDAY", "FUNDAY"]}), ([energy(0.30)], None)),
    price("OV", ([energy(0.40)], {"start_time": "08:00", "end_time": "20:00"}),
          ([energy(0.30)], {"start_time": "09:00", "end_time": "12:00", "day_of_week": ["MONDAY"]})),
    price("DU", ([energy(0.40), energy(0.30)], None)),
    price("FT", ([energy(0.40)], None), ([comp("FLAT", 1)], {"start_time": "18:00", "end_time": "22:00"})),
    price("CU", ([energy(0.40)], None), currency="GBP"),
    price("EX", ([energy(0.30)], {"end_date": "2026-05-04"}), ([energy(0.40)], None)),
    price("PO", ([energy(2.50)], None)),
]
TARIFFS = [
    tariff("TOK", ([("ENERGY", 0.40)], None), min_price={"excl_vat": 1, "incl_vat": 1.21},
           end_date_time="2026-12-31T00:00:00Z"),
    tariff("TMM", ([("ENERGY", 0.40)], None), min_price={"excl_vat": 5, "incl_vat": 6.05},
           max_price={"excl_vat": 3, "incl_vat": 3.63}),
    tariff("TIV", ([("ENERGY", 0.40)], None), min_price={"excl_vat": 5, "incl_vat": 4}),
    tariff("TCU", ([("ENERGY", 0.40)], None), currency="SEK"),
    tariff("TNV", ([("ENERGY", 0.40)], None), start_date_time="2026-09-01T00:00:00Z",
           end_date_time="2026-08-01T00:00:00Z"),
    tariff("TEX", ([("ENERGY", 0.40)], None), end_date_time="2026-05-03T12:00:00Z"),
]
EXPECTED = [
    ("price", "CU", None, None, "currency_not_country", "warning",
     "currency GBP is not the currency of NL, where 1 connector(s) offer it"),
    ("price", "DU", 0, 1, "duplicate_component_type", "warning",
     "element 0 has a second ENERGY component (component 0 is billed)"),
    ("price", "EW", 1, None, "element_without_components", "error", "element 1 has no price components"),
    ("price", "EX", 0, None, "expired", "info",
     "element 0 ended on 2026-05-04 (end_date, exclusive), by the snapshot date 2026-05-04"),
    ("price", "FT", 1, 0, "flat_under_time_restriction", "warning", "FLAT component under a time-of-day window"),
    ("price", "MM", 0, None, "min_price_above_max_price", "error", "element 0 min_price 5 is above its max_price 2"),
    ("price", "NE", None, None, "no_elements", "error", "the price has no elements"),
    ("price", "NF", None, None, "negative_price", "error", "subscription_fee_excl_vat -5 is negative"),
    ("price", "NP", None, None, "price_outlier", "info",
     "outside the outlier policy: energy_below_min (energy -0.1 EUR/kWh excl. VAT)"),
    ("price", "NP", 0, 0, "negative_price", "error", "ENERGY price -0.1 is negative"),
    ("price", "OV", 1, 0, "overlapping_elements", "warning",
     "element 1 ENERGY never bills: element 0 prices ENERGY whenever element 1 could apply"),
    ("price", "PO", None, None, "price_outlier", "info",
     "outside the outlier policy: energy_above_max (energy 2.5 EUR/kWh excl. VAT)"),
    ("price", "SN", 0, 0, "step_size_negative", "error", "ENERGY step_size -1 is negative"),
    ("price", "SZ", 0, 0, "step_size_zero", "warning", "ENERGY step_size is 0 (priced without rounding)"),
    ("price", "UR", 0, None, "unreachable_element", "error", "element 0 never applies: min_kwh 20 >= max_kwh 10"),
    ("price", "VA", 0, 0, "vat_out_of_range", "warning", "ENERGY VAT 190 % is outside 0-30 %"),
    ("price", "WD", 0, None, "invalid_weekday", "error", "element 0 day_of_week has FUNDAY"),
    ("tariff", "TCU", None, None, "currency_not_country", "warning",
     "currency SEK is not the currency of the tariff's country NL"),
    ("tariff", "TEX", None, None, "expired", "info",
     "the tariff ended at 2026-05-03 12:00:00 UTC, before the snapshot date 2026-05-04"),
    ("tariff", "TIV", None, None, "incl_vat_below_excl", "error", "min_price incl. VAT 4 is below excl. VAT 5"),
    ("tariff", "TMM", None, None, "min_price_above_max_price", "error", "min_price 5 is above max_price 3 (excl. VAT)"),
    ("tariff", "TMM", None, None, "min_price_above_max_price", "error",
     "min_price 6.05 is above max_price 3.63 (incl. VAT)"),
    ("tariff", "TNV", None, None, "tariff_never_valid", "error",
     "start_date_time 2026-09-01 00:00:00 is not before end_date_time 2026-08-01 00:00:00"),
]


def write_day(paths, prices, tariffs):
    location = {"id": "L1", "address": "a", "city": "c", "country": "NLD", "last_updated": "2026-01-01T00:00:00Z",
                "coordinates": {"latitude": "52.0", "longitude": "5.0"},
                "evses": [{"uid": "E1", "status": "AVAILABLE", "connectors": [
                    {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                     "voltage": 230, "amperage": 32, "max_power": 22}]}]}
    write_raw_snapshot(paths, "locations", DAY, [location])
    write_raw_snapshot(paths, "prices", DAY, prices, api_version="prices")
    write_raw_snapshot(paths, "connector_prices", DAY, [
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": [p["id"] for p in prices]}],
        api_version="prices")
    write_raw_snapshot(paths, "tariffs", DAY, tariffs, api_version="2.2")
    transform_snapshot(Settings(data_dir=paths.root), DAY)
    write_views(paths)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("lint") / "data")
    write_day(paths, PRICES, TARIFFS)
    return paths


def test_every_rule_fires_exactly_where_expected(data):
    with ecodata.open(data.root) as ds:
        rejects = ds.sql("SELECT count(*) FROM rejects").fetchall()
        found = ds.lint()
    assert rejects == [(0,)]
    got = sorted(found.select("source", pl.coalesce("price_id", "tariff_id"), "element_index", "component_index",
                              "rule", "severity", "message").rows(), key=lambda r: (r[0], r[1], r[4], r[6]))
    assert got == sorted(EXPECTED, key=lambda r: (r[0], r[1], r[4], r[6]))
    assert {r[4] for r in EXPECTED} == set(rules_frame()["rule"])  # every declared rule is exercised
    assert found.filter(pl.col("price_id") == "OV")["party"].to_list() == ["MSP-OV"]
    assert found.filter(pl.col("tariff_id") == "TCU")["party"].to_list() == ["NL*CPO"]
    assert set(found["snapshot_date"]) == {DAY}


def test_clean_records_have_no_findings(tmp_path):
    paths = DataPaths(tmp_path / "data")
    write_day(paths, PRICES[:2], TARIFFS[:1])
    with ecodata.open(paths.root) as ds:
        assert ds.lint().height == 0
        assert ds.sql("SELECT count(*) FROM price_lint_counts").fetchall() == [(0,)]


def test_counts_per_party_and_rule(data):
    with ecodata.open(data.root) as ds:
        counts = ds.lint(counts=True)
    rows = counts.filter(pl.col("party").is_in(["MSP-TM", "NL*CPO", "MSP-NP"])).select(
        "source", "party", "rule", "severity", "findings", "records_flagged", "records", "share_flagged").rows()
    assert rows == [
        ("price", "MSP-NP", "negative_price", "error", 1, 1, 1, 1.0),
        ("price", "MSP-NP", "price_outlier", "info", 1, 1, 1, 1.0),
        ("tariff", "NL*CPO", "currency_not_country", "warning", 1, 1, 6, 1 / 6),
        ("tariff", "NL*CPO", "expired", "info", 1, 1, 6, 1 / 6),
        ("tariff", "NL*CPO", "incl_vat_below_excl", "error", 1, 1, 6, 1 / 6),
        ("tariff", "NL*CPO", "min_price_above_max_price", "error", 2, 1, 6, 1 / 6),
        ("tariff", "NL*CPO", "tariff_never_valid", "error", 1, 1, 6, 1 / 6),
    ]


def cli_lint(data, *args):
    return CliRunner().invoke(cli, ["--data-dir", str(data.root), "lint", *args])


def test_lint_command_reports_and_exits_zero_unless_asked_to_fail(data):
    result = cli_lint(data, "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == len(EXPECTED)
    csv = cli_lint(data, "--format", "csv")
    assert csv.stdout.splitlines()[0] == ("source,price_id,tariff_id,party,party_id,element_index,component_index,"
                                          "rule,severity,message,snapshot_date")
    failing = cli_lint(data, "--format", "csv", "--fail-on", "error")
    assert failing.exit_code == 1
    assert failing.stdout == csv.stdout  # the report is printed all the same
    assert failing.stderr == "ecodata: lint: 12 findings of severity error (--fail-on error)\n"
    counts = cli_lint(data, "--counts", "--format", "csv")
    assert counts.exit_code == 0
    assert counts.stdout.splitlines()[0] == ("source,party,rule,severity,findings,records_flagged,records,"
                                             "share_flagged,snapshot_date")


def test_fail_on_passes_when_nothing_is_that_severe(tmp_path):
    paths = DataPaths(tmp_path / "data")
    write_day(paths, [PRICES[0], PRICES[8]], [])  # SZ: step_size 0, a warning
    assert cli_lint(paths, "--fail-on", "error").exit_code == 0
    result = cli_lint(paths, "--fail-on", "warning", "--format", "csv")
    assert result.exit_code == 1
    assert result.stderr == "ecodata: lint: 1 finding of severity warning or worse (--fail-on warning)\n"
    assert cli_lint(paths).exit_code == 0


def rules_frame():
    return duckdb.sql(view_sql("price_lint_rules")).pl()


def test_the_readme_rule_table_is_the_declared_rules():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Outliers and lint"):].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (error|warning|info) \| (.+) \| (.+) \|$", section, flags=re.MULTILINE)
    declared = rules_frame()
    assert rows == [(r["rule"], r["severity"], r["checks"], r["why"]) for r in declared.iter_rows(named=True)]
    assert len(rows) >= 15


def window(start, end, **more):
    return {"start_time": start, "end_time": end, **more}


# (earlier element's restrictions, later element's restrictions, is the later one shadowed?)
OVERLAPS = {
    "W1": (None, window("22:00", "06:00"), True),  # unrestricted first: nothing after it bills ENERGY
    "W2": (window("22:00", "06:00"), None, False),  # night first, then the fallback: the usual pattern
    "W3": (window("22:00", "06:00"), window("23:00", "02:00"), True),  # wrapped inside wrapped
    "W4": (window("22:00", "06:00"), window("05:00", "07:00"), False),  # sticks out of the window
    "W5": (window("22:00", "06:00"), window("01:00", "04:00"), True),  # inside the morning part
    "W6": (window("08:00", "20:00"), window("20:00", "22:00"), False),  # end is exclusive: disjoint
    "W7": (window("10:00", "10:00"), window("00:00", "08:00"), True),  # start = end is the whole day
    "W8": ({"day_of_week": ["MONDAY", "TUESDAY"]}, {"day_of_week": ["MONDAY"]}, True),
    "W9": ({"day_of_week": ["MONDAY"]}, {"day_of_week": ["MONDAY", "TUESDAY"]}, False),
    "WA": ({"max_power": 50}, {"max_power": 22, "min_kwh": 5}, True),
    "WB": ({"max_power": 22}, {"max_power": 50}, False),
    "WC": ({"reservation": "RESERVATION"}, None, False),  # a reservation element never prices charging
    "WD": ({"min_duration": 3600}, {"min_duration": 7200, "start_date": "2026-01-01"}, True),
}


def test_overlapping_elements_follow_the_engines_matching(tmp_path):
    paths = DataPaths(tmp_path / "data")
    prices = [price(pid, ([energy(0.40)], first), ([energy(0.30)], later))
              for pid, (first, later, _) in OVERLAPS.items()]
    write_day(paths, prices, [])
    with ecodata.open(paths.root) as ds:
        found = ds.lint().filter(pl.col("rule") == "overlapping_elements")
        assert ds.lint().filter(pl.col("rule") != "overlapping_elements").height == 0
    assert sorted(found["price_id"]) == sorted(pid for pid, (_, _, shadowed) in OVERLAPS.items() if shadowed)


def test_the_severities_are_those_of_the_rules_and_the_cli():
    from ecodata.sql.lint import SEVERITIES

    assert set(rules_frame()["severity"]) == set(SEVERITIES)
    fail_on = next(p for p in cli.commands["lint"].params if p.name == "fail_on")
    assert list(fail_on.type.choices) == list(SEVERITIES)

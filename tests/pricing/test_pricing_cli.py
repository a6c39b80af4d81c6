import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from pricing_frames import price_tables, site_tables

from ecodata.cli import cli
from ecodata.errors import ConfigError
from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.pipeline import write_session_costs
from ecodata.pricing import comparison_query
from ecodata.settings import Settings
from ecodata.sql import connect, write_views
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import ALL_TABLES
from ecodata.tables.write import write_table

DAY = dt.date(2026, 11, 21)


@pytest.fixture
def files(tmp_path):
    tariff = {"id": "t", "currency": "EUR", "elements": [
        {"price_components": [{"type": "FLAT", "price": 0.50, "vat": 20.0, "step_size": 1},
                              {"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}]}
    cdr = {"start_date_time": "2026-01-13T14:30:00Z", "end_date_time": "2026-01-13T15:30:00Z",
           "charging_periods": [{"start_date_time": "2026-01-13T14:30:00Z",
                                 "dimensions": [{"type": "ENERGY", "volume": 20}]}]}
    (tmp_path / "tariff.json").write_text(json.dumps(tariff), encoding="utf-8")
    (tmp_path / "cdr.json").write_text(json.dumps({"data": cdr}), encoding="utf-8")
    return tmp_path


def test_price_prints_the_cdr_totals_as_exact_json(files):
    result = CliRunner().invoke(cli, ["price", "--tariff", str(files / "tariff.json"), "--cdr",
                                      str(files / "cdr.json"), "--timezone", "Europe/Amsterdam"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output, parse_float=Decimal)
    assert totals["total_cost"] == {"excl_vat": Decimal("5.5000"), "incl_vat": Decimal("6.1000")}
    assert totals["total_energy"] == Decimal("20.0000")
    assert list(totals) == ["total_cost", "total_energy_cost", "total_time_cost", "total_parking_cost",
                            "total_fixed_cost", "total_energy", "total_time", "total_parking_time"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read the tariff file"),
    ("{not json", "is not valid JSON (line 1"),
    ('{"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": "x"}]}]}', "decimal number"),
])
def test_price_bad_tariff_file_is_one_line_and_nonzero(files, content, message):
    bad = files / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["price", "--tariff", str(bad), "--cdr", str(files / "cdr.json")])
    assert result.exit_code == 8
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_price_warns_on_stderr_and_prints_the_totals(files):
    tariff = {"id": "t", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": -0.25, "step_size": 0}]}]}
    (files / "neg.json").write_text(json.dumps(tariff), encoding="utf-8")
    result = CliRunner().invoke(cli, ["price", "--tariff", str(files / "neg.json"), "--cdr", str(files / "cdr.json")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout, parse_float=Decimal)["total_cost"] == {
        "excl_vat": Decimal("-5.0000"), "incl_vat": Decimal("-5.0000")}
    assert result.stderr.splitlines() == [
        "ecodata: warning: elements[0].price_components[0] (ENERGY) has a negative price -0.25: priced as given, "
        "as a credit",
        "ecodata: warning: elements[0].price_components[0] (ENERGY) has step_size 0: priced without rounding "
        "(OCPI step sizes are at least 1)",
    ]


@pytest.mark.parametrize(("tariff_text", "cdr_text", "message"), [
    (None, '{"end_date_time": "2026-01-13T15:30:00Z", "charging_periods": [{"start_date_time": '
           '"2026-01-13T14:30:00Z", "dimensions": [{"type": "ENERGY", "volume": 1e400}]}]}',
     "volume is 1E+400: a volume must be between 0 and 1,000,000,000"),
    ('{"currency": "EUR", "elements": [{"price_components": [{"type": "ENERGY", "price": 0.3}], '
     '"restrictions": [{"min_kwh": 1}, {"max_kwh": 5}]}]}', None,
     "elements[0].restrictions has 2 non-null restriction objects; OCPI allows one per element"),
])
def test_price_refusals_are_one_line_exit_8(files, tariff_text, cdr_text, message):
    tariff_file, cdr_file = files / "tariff.json", files / "cdr.json"
    if tariff_text is not None:
        tariff_file = files / "t2.json"
        tariff_file.write_text(tariff_text, encoding="utf-8")
    if cdr_text is not None:
        cdr_file = files / "c2.json"
        cdr_file.write_text(cdr_text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["price", "--tariff", str(tariff_file), "--cdr", str(cdr_file)])
    assert result.exit_code == 8
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


RECORDS = [
    {"id": "adhoc1", "partner": "CPO", "product": {"type": "adhoc", "subscription_type": "n/a", "currency": "EUR"},
     "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": "0.60", "vat": 19, "step_size": 1}]}]},
    {"id": "msp1", "partner": "Cheap", "product": {"type": "msp", "subscription_type": "n/a", "currency": "EUR",
                                                    "name": "Basic"},
     "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": "0.40", "vat": 19, "step_size": 1}]}]},
    {"id": "msp2", "partner": "Dear", "product": {"type": "msp", "subscription_type": "n/a", "currency": "EUR",
                                                   "name": "Gold"},
     "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": "0.50", "vat": 19, "step_size": 1}]}]},
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    conns = [{"connector_id": "c1", "location_id": "L1", "time_zone": "Europe/Berlin", "power_class": "HPC",
              "max_power_kw": 300.0, "amperage": 500, "country_code": "DE"}]
    tables = {**price_tables(RECORDS), **site_tables(conns, [("c1", r["id"]) for r in RECORDS])}
    paths = DataPaths(root)
    for name, frame in tables.items():
        write_table(paths, ALL_TABLES[name], DAY, frame)
    write_session_costs(Settings(data_dir=root), DAY)
    write_views(paths)
    return root


def test_compare_reports_distribution_cheapest_msp_and_spread(data_dir):
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "compare", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["product_type"], r["session"]) for r in rows] == [("adhoc", "HPC_10_80"), ("msp", "HPC_10_80")]
    adhoc, msp = rows
    assert adhoc["eur_incl_vat_median"] == pytest.approx(52.5 * 0.60 * 1.19)
    assert msp["pairs"] == 2
    assert msp["cheapest_msp"] == "Cheap / Basic"
    assert msp["cheapest_msp_median_eur"] == pytest.approx(52.5 * 0.40 * 1.19)
    assert adhoc["adhoc_vs_best_msp_eur"] == pytest.approx(52.5 * 0.20 * 1.19)
    assert adhoc["adhoc_vs_best_msp_ratio"] == pytest.approx(1.5)


def test_compare_csv_has_amounts_rounded_to_four_places_without_float_noise(data_dir):
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "compare", "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, adhoc, msp = result.output.strip().splitlines()
    assert header == ("country_code,power_class,product_type,session,pairs,prices,eur_incl_vat_p10,"
                      "eur_incl_vat_median,eur_incl_vat_p90,eur_incl_vat_with_subscription_median,cheapest_msp,"
                      "cheapest_msp_median_eur,adhoc_vs_best_msp_eur,adhoc_vs_best_msp_ratio,snapshot_date")
    # 52.5 kWh at 0.60 / 0.40 / 0.50 EUR excl. VAT, 19 % VAT; msp p10 and p90 interpolate 24.99 and 31.2375
    assert adhoc == ("DE,HPC,adhoc,HPC_10_80,1,1,37.485,37.485,37.485,37.485,Cheap / Basic,24.99,12.495,1.5,"
                     "2026-11-21")
    assert msp == ("DE,HPC,msp,HPC_10_80,2,2,25.6148,28.1138,30.6128,28.1138,Cheap / Basic,24.99,12.495,1.5,"
                   "2026-11-21")


def test_market_prices_csv_has_no_float_noise(data_dir):
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "sql", "--format", "csv",
                                      "SELECT energy_incl_vat_median, energy_incl_vat_eur_p10, energy_incl_vat_eur_p90 "
                                      "FROM market_prices ORDER BY product_type"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[1:] == ["0.714,0.714,0.714", "0.5355,0.4879,0.5831"]


def test_compare_filters_and_formats(data_dir):
    runner = CliRunner()
    none = runner.invoke(cli, ["--data-dir", str(data_dir), "compare", "--country", "NL", "--format", "csv"])
    assert none.exit_code == 0
    assert none.stdout.strip().splitlines()[0].startswith("country_code,power_class")
    assert len(none.stdout.strip().splitlines()) == 1
    assert none.stderr == "no rows match country NL: the data has countries DE; power classes HPC; sessions HPC_10_80\n"
    table = runner.invoke(cli, ["--data-dir", str(data_dir), "compare", "--country", "xx", "--power-class", "ac"])
    assert table.exit_code == 0
    assert (table.stdout, table.stderr) == (
        "no rows match country XX; power class AC: the data has countries DE; power classes HPC; "
        "sessions HPC_10_80\n", "")
    some = runner.invoke(cli, ["--data-dir", str(data_dir), "compare", "--session", "HPC_10_80", "--country", "de",
                               "--power-class", "hpc"])
    assert some.exit_code == 0
    assert "Cheap / Basic" in some.output
    bad = runner.invoke(cli, ["--data-dir", str(data_dir), "compare", "--session", "NOPE"])
    assert bad.exit_code == 2
    assert "unknown session(s) NOPE: the data has HPC_10_80" in bad.output


def test_comparison_never_joins_costs_of_an_older_snapshot(data_dir, tmp_path):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(data_dir, root)
    paths = DataPaths(root)
    later = DAY + dt.timedelta(days=1)
    for name, schema in ALL_TABLES.items():
        if name not in ("session_price_costs", "session_profiles") and DAY in paths.table_dates(name):
            store.put_day(paths, schema, later, scan_table(paths, name, DAY).drop("snapshot_date"))
    write_views(paths)  # tables of the later date, session costs only of DAY (as a bare transform used to leave it)
    result = CliRunner().invoke(cli, ["--data-dir", str(root), "compare", "--format", "csv"])
    assert result.exit_code == 0, result.output
    # The latest views show one date for session_costs and its inputs: DAY, the newest date on
    # which all of them exist, so the comparison is DAY's, never DAY's costs over later tables.
    con = connect(paths)
    try:
        assert con.execute("SELECT DISTINCT snapshot_date FROM connectors").fetchall() == [(DAY,)]
    finally:
        con.close()
    alone = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "compare", "--format", "csv"])
    assert (result.stdout, result.stderr) == (alone.stdout, alone.stderr)
    assert len(result.stdout.strip().splitlines()) > 1


def test_comparison_query_binds_validated_values_as_parameters():
    assert comparison_query(["AC_SHOP", "AC_LONG"], ["de"], ["ac"]) == (
        "SELECT * FROM session_cost_comparison\n"
        "WHERE session IN (?, ?) AND country_code IN (?) AND power_class IN (?)",
        ["AC_SHOP", "AC_LONG", "DE", "AC"])
    assert comparison_query() == ("SELECT * FROM session_cost_comparison", [])
    with pytest.raises(ConfigError, match="invalid country"):
        comparison_query([], ["D'E"], [])


def test_price_takes_the_zone_from_cdr_location_when_not_given(tmp_path):
    tariff = {"id": "t", "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.10, "step_size": 1}],
         "restrictions": {"start_time": "00:00", "end_time": "12:00"}},
        {"price_components": [{"type": "ENERGY", "price": 1.00, "step_size": 1}]}]}
    cdr = {"start_date_time": "2026-01-13T11:30:00Z", "end_date_time": "2026-01-13T12:00:00Z",
           "cdr_location": {"time_zone": "Europe/Berlin"},  # 12:30 local: the default element
           "charging_periods": [{"start_date_time": "2026-01-13T11:30:00Z",
                                 "dimensions": [{"type": "ENERGY", "volume": 1}]}]}
    (tmp_path / "t.json").write_text(json.dumps(tariff), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(cdr), encoding="utf-8")
    args = ["price", "--tariff", str(tmp_path / "t.json"), "--cdr", str(tmp_path / "c.json")]
    berlin = json.loads(CliRunner().invoke(cli, args).output, parse_float=Decimal)
    utc = json.loads(CliRunner().invoke(cli, [*args, "--timezone", "UTC"]).output, parse_float=Decimal)
    assert berlin["total_cost"]["excl_vat"] == Decimal("1.0000")
    assert utc["total_cost"]["excl_vat"] == Decimal("0.1000")


def test_price_prints_ocpi_230_prices_for_a_230_tariff(files):
    tariff = {"id": "t", "currency": "EUR", "tax_included": "YES", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.595, "vat": 19, "step_size": 1}]},
        {"price_components": [{"type": "TIME", "price": 3.0, "vat": 19, "step_size": 60}],
         "restrictions": {"reservation": "RESERVATION"}}]}
    cdr = {"start_date_time": "2026-01-13T14:20:00Z", "end_date_time": "2026-01-13T15:30:00Z",
           "charging_periods": [
               {"start_date_time": "2026-01-13T14:20:00Z", "dimensions": [{"type": "RESERVATION_TIME", "volume": 0.25}]},
               {"start_date_time": "2026-01-13T14:35:00Z", "dimensions": [{"type": "ENERGY", "volume": 20}]}]}
    (files / "t23.json").write_text(json.dumps(tariff), encoding="utf-8")
    (files / "c23.json").write_text(json.dumps(cdr), encoding="utf-8")
    result = CliRunner().invoke(cli, ["price", "--tariff", str(files / "t23.json"), "--cdr", str(files / "c23.json")])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output, parse_float=Decimal)
    # 20 kWh x 0.595 incl. 19 % = 11.90 (10.00 before taxes); 15 min x 3.00/h = 0.75 (0.6303 before taxes)
    assert totals["total_energy_cost"] == {"before_taxes": Decimal("10.0000"),
                                           "taxes": [{"name": "VAT", "amount": Decimal("1.9000")}]}
    assert totals["total_reservation_cost"] == {"before_taxes": Decimal("0.6303"),
                                                "taxes": [{"name": "VAT", "amount": Decimal("0.1197")}]}
    assert totals["total_cost"]["before_taxes"] == Decimal("10.6303")
    assert totals["total_time_cost"] == {"before_taxes": Decimal("0.0000"), "taxes": []}

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from ecodata.errors import ConfigError
from ecodata.fx import REQUIRED_CURRENCIES, load_rates, rate_for, rates_sql


def test_shipped_rates_cover_every_required_currency_on_every_date():
    rates = load_rates()
    per_date = rates.group_by("rate_date").agg(pl.col("currency").sort())
    for currencies in per_date["currency"].to_list():
        assert set(REQUIRED_CURRENCIES) <= set(currencies)
    assert rates.filter(currency="EUR")["units_per_eur"].unique().to_list() == [Decimal("1.00000000")]


def test_rate_for_picks_the_rate_valid_on_the_date(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("rate_date,currency,units_per_eur\n2025-01-01,GBP,0.83\n2026-01-01,gbp,0.85\n")
    rates = load_rates(csv)
    assert rate_for(rates, "GBP", dt.date(2025, 12, 31)) == Decimal("0.83")
    assert rate_for(rates, "GBP", dt.date(2026, 1, 1)) == Decimal("0.85")
    assert rate_for(rates, "GBP", dt.date(2020, 1, 1)) == Decimal("0.83")  # earliest covers older dates
    assert rate_for(rates, "CHF", dt.date(2026, 1, 1)) is None


def test_rates_sql_round_trips_through_duckdb():
    rates = load_rates()
    got = duckdb.sql(rates_sql(rates)).pl()
    assert got.sort("currency", "rate_date").rows() == rates.rows()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("rate_date,currency,units_per_eur\n2026-13-01,GBP,0.85\n", "does not fit"),
        ("rate_date,currency,units_per_eur\n2026-01-01,GBP,-1\n", "invalid row"),
        ("rate_date,currency,units_per_eur\n2026-01-01,GBP,lots\n", "does not fit"),
        ("date,currency,rate\n2026-01-01,GBP,0.85\n", "does not fit"),
    ],
)
def test_bad_rate_files_fail_with_one_clear_error(tmp_path, text, match):
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_rates(csv)


def test_missing_rate_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the FX rates file"):
        load_rates(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate_date,currency,units_per_eur\n2026-01-01,GBP,0.85\n2026-01-01,gbp,0.86\n2025-01-01,GBP,0.83\n",
         "gives GBP more than one rate for 2026-01-01 (2 rows of repeated currency and date): "
         "keep one row per currency and date"),
        ("# only a header\nrate_date,currency,units_per_eur\n",
         "has no rates, only a header: add rows of rate_date,currency,units_per_eur"),
    ],
)
def test_duplicate_and_header_only_rate_files_are_refused(tmp_path, text, message):
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_rates(csv)
    assert str(caught.value) == f"the FX rates file {csv} {message}"


MY_RATES = "rate_date,currency,units_per_eur\n2026-01-01,EUR,1\n2026-01-01,GBP,0.5\n"


def fx_rows(runner, data, *command):
    from ecodata.cli import cli

    result = runner.invoke(cli, ["--data-dir", str(data), *command])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_rates_given_to_views_stay_with_the_dataset(tmp_path):
    from click.testing import CliRunner

    import ecodata
    from ecodata.paths import DataPaths
    from ecodata.sql import write_views

    data = tmp_path / "data"
    data.mkdir()
    mine = tmp_path / "my.csv"
    mine.write_text(MY_RATES)
    runner = CliRunner()
    query = "SELECT currency, units_per_eur FROM fx_rates ORDER BY 1"
    fx_rows(runner, data, "views", "--fx-rates", str(mine))
    assert (data / "fx_rates.csv").read_text() == MY_RATES
    mine.unlink()  # the dataset keeps its own copy
    expected = "currency,units_per_eur\nEUR,1.00000000\nGBP,0.50000000\n"
    assert fx_rows(runner, data, "sql", query, "--format", "csv") == expected
    write_views(DataPaths(data))  # what transform and build do afterwards, without --fx-rates
    assert fx_rows(runner, data, "sql", query, "--format", "csv") == expected
    assert "(DATE '2026-01-01', 'GBP', 0.50000000)" in fx_rows(runner, data, "views", "--sql")
    with ecodata.open(data) as ds:
        assert ds.sql(query).fetchall() == [("EUR", Decimal(1)), ("GBP", Decimal("0.5"))]


def test_a_refused_rate_file_keeps_the_rates_the_dataset_had(tmp_path):
    from click.testing import CliRunner

    from ecodata.cli import cli

    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "my.csv").write_text(MY_RATES)
    (tmp_path / "dup.csv").write_text(MY_RATES + "2026-01-01,GBP,0.6\n")
    runner = CliRunner()
    fx_rows(runner, data, "views", "--fx-rates", str(tmp_path / "my.csv"))
    result = runner.invoke(cli, ["--data-dir", str(data), "views", "--fx-rates", str(tmp_path / "dup.csv")])
    assert (result.exit_code, result.output) == (
        2, f"ecodata: error: the FX rates file {tmp_path / 'dup.csv'} gives GBP more than one rate for 2026-01-01 "
           "(2 rows of repeated currency and date): keep one row per currency and date\n")
    assert (data / "fx_rates.csv").read_text() == MY_RATES
    assert not (data / "fx_rates.csv.tmp").exists()

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

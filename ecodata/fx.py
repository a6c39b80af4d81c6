"""Dated euro reference rates: the shipped table (``fx_rates.csv``) or a user CSV.

The CSV has ``rate_date,currency,units_per_eur`` (``#`` lines are comments); a rate is valid from
its date until the next date of the same currency, and the earliest rate also covers older
snapshots. Amounts convert to EUR as ``amount / units_per_eur``. The shipped values are rounded
approximations (see the CSV header); pass your own file for real analysis.

The rates a dataset uses are kept with it: a writer given a file (``ecodata views --fx-rates``,
``ecodata build --fx-rates``) validates it and copies it to ``<data>/fx_rates.csv``
(:func:`keep_rates`); every later view rebuild, session-cost computation and query of that
directory uses that copy (:func:`dataset_rates`), so EUR figures do not depend on the client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from ecodata.errors import ConfigError, StorageError, first_line
from ecodata.paths import DataPaths
from ecodata.settings import read_packaged_or_file

FX_SCHEMA = pl.Schema({"rate_date": pl.Date(), "currency": pl.String(), "units_per_eur": pl.Decimal(18, 8)})
REQUIRED_CURRENCIES = ("EUR", "GBP", "CHF", "NOK", "SEK", "DKK", "PLN", "CZK", "HUF", "RON")


def load_rates(csv: Path | None = None) -> pl.DataFrame:
    """The rate table (sorted by currency and date), from ``csv`` or the shipped file.

    Raises ConfigError when the file cannot be read, has no rows, a row does not fit, or a
    currency has two rates for one date.
    """
    text, source = read_packaged_or_file("ecodata", "fx_rates.csv", csv, "FX rates")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    try:
        frame = pl.read_csv("\n".join(lines).encode(), schema_overrides={"rate_date": pl.String,
                                                                        "units_per_eur": pl.String})
        rates = frame.select(
            pl.col("rate_date").str.strip_chars().str.to_date("%Y-%m-%d"),
            pl.col("currency").str.strip_chars().str.to_uppercase(),
            pl.col("units_per_eur").str.strip_chars().cast(pl.Decimal(18, 8)),
        )
    except (pl.exceptions.PolarsError, pl.exceptions.ColumnNotFoundError) as exc:
        first = first_line(exc)
        raise ConfigError(
            f"the FX rates file {source} does not fit 'rate_date,currency,units_per_eur' "
            f"(YYYY-MM-DD, ISO code, positive number): {first}"
        ) from None
    bad = rates.filter(pl.any_horizontal(pl.all().is_null()) | (pl.col("units_per_eur") <= 0))
    if bad.height:
        raise ConfigError(f"the FX rates file {source} has {bad.height} invalid row(s), e.g. {bad.row(0)}")
    if rates.height == 0:
        raise ConfigError(f"the FX rates file {source} has no rates, only a header: "
                          "add rows of rate_date,currency,units_per_eur")
    twice = rates.filter(pl.struct("rate_date", "currency").is_duplicated()).sort("currency", "rate_date")
    if twice.height:
        date, currency, _ = twice.row(0)
        raise ConfigError(f"the FX rates file {source} gives {currency} more than one rate for {date} "
                          f"({twice.height} rows of repeated currency and date): keep one row per currency and date")
    return rates.sort("currency", "rate_date")


def dataset_rates(paths: DataPaths) -> Path | None:
    """The rates file kept with the data directory, or None when it uses the shipped rates."""
    kept = paths.fx_rates_path
    return kept if kept.is_file() else None


def keep_rates(paths: DataPaths, csv: Path | None) -> Path | None:
    """Make ``csv`` (validated) the data directory's rates and return the kept copy.

    Without ``csv``, the directory keeps the rates it has (:func:`dataset_rates`). The copy is
    written next to its target and renamed into place, so a reader never sees half a file.
    """
    if csv is None:
        return dataset_rates(paths)
    text, _ = read_packaged_or_file("ecodata", "fx_rates.csv", csv, "FX rates")
    load_rates(csv)  # refuse a bad file before it replaces the kept one
    target = paths.fx_rates_path
    staging = target.with_name(target.name + ".tmp")
    try:
        staging.write_text(text, encoding="utf-8")
        staging.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
        raise StorageError(f"cannot keep the FX rates in {target}: {exc.strerror or type(exc).__name__}; "
                           "free space or fix the permissions, then run ecodata views --fx-rates again") from None
    return target


def rate_for(rates: pl.DataFrame, currency: str, date: dt.date) -> Decimal | None:
    """Units of ``currency`` per EUR valid on ``date`` (the earliest rate for older dates)."""
    rows = rates.filter(pl.col("currency") == currency.upper())
    if rows.height == 0:
        return None
    valid = rows.filter(pl.col("rate_date") <= date)
    chosen = valid[-1] if valid.height else rows[0]
    value = chosen.get_column("units_per_eur").item()
    return value if isinstance(value, Decimal) else Decimal(str(value))


def rates_sql(rates: pl.DataFrame) -> str:
    """The rate table as a SQL ``VALUES`` query, so the DuckDB file needs no CSV next to it."""
    rows = [
        f"(DATE '{d.isoformat()}', '{c}', {u})"
        for d, c, u in rates.select("rate_date", "currency", "units_per_eur").iter_rows()
    ]
    values = ",\n    ".join(rows) if rows else "(NULL, NULL, NULL)"
    return (
        "SELECT CAST(rate_date AS DATE) AS rate_date, CAST(currency AS VARCHAR) AS currency,\n"
        "       CAST(units_per_eur AS DECIMAL(18, 8)) AS units_per_eur\n"
        f"FROM (VALUES\n    {values}\n) AS r(rate_date, currency, units_per_eur)"
        + ("" if rows else "\nWHERE false")
    )

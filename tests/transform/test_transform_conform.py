"""conform: the fast parse takes the usual text, the lenient retry the rest; what fits neither is a reject."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from ecodata.tables.schemas import Column, TableSchema
from ecodata.transform._conform import REJECT, conform

UTC = dt.UTC


def typed(dtype: pl.DataType, values: list[str | None]) -> pl.DataFrame:
    schema = TableSchema("t", "test", (Column("k", pl.String(), ""), Column("v", dtype, "")), ("k",))
    frame = pl.LazyFrame({"k": [str(i) for i in range(len(values))], "v": values}, schema={"k": pl.String, "v": pl.String})
    return conform(frame, schema).collect()


@pytest.mark.parametrize(("dtype", "text", "expected"), [
    (pl.Int32(), "230", 230),
    (pl.Int32(), " 230 ", 230),
    (pl.Int64(), "14400.0", 14400),
    (pl.Int64(), " -3 ", -3),
    (pl.Float64(), " 52.5 ", 52.5),
    (pl.Decimal(12, 6), "0.35", Decimal("0.350000")),
    (pl.Decimal(12, 6), " 0.35\t", Decimal("0.350000")),
    (pl.Boolean(), "true", True),
    (pl.Boolean(), " FALSE ", False),
    (pl.Boolean(), "1", True),
    (pl.Date(), "2026-03-01", dt.date(2026, 3, 1)),
    (pl.Date(), " 2026-03-01 ", dt.date(2026, 3, 1)),
    (pl.Time(), "07:30", dt.time(7, 30)),
    (pl.Time(), "07:30:15", dt.time(7, 30, 15)),
    (pl.Datetime("us", "UTC"), "2026-01-01T10:00:00Z", dt.datetime(2026, 1, 1, 10, tzinfo=UTC)),
    (pl.Datetime("us", "UTC"), "2026-01-01T10:00:00.25+01:00", dt.datetime(2026, 1, 1, 9, 0, 0, 250000, tzinfo=UTC)),
    (pl.Datetime("us", "UTC"), "2026-01-01T10:00:00", dt.datetime(2026, 1, 1, 10, tzinfo=UTC)),
    (pl.Datetime("us", "UTC"), " 2026-01-01T10:00:00Z ", dt.datetime(2026, 1, 1, 10, tzinfo=UTC)),
])
def test_usual_and_lenient_forms_fit(dtype, text, expected):
    out = typed(dtype, [text, None])
    assert out["v"].to_list() == [expected, None]
    assert out[REJECT].to_list() == [None, None]


@pytest.mark.parametrize(("dtype", "text"), [
    (pl.Int64(), "14400.5"), (pl.Int32(), "1e99"), (pl.Int32(), "abc"), (pl.Float64(), "1,5"),
    (pl.Boolean(), "yes"), (pl.Date(), "01-03-2026"), (pl.Time(), "7h30"),
    (pl.Datetime("us", "UTC"), "2026-01-01T10:00Z"), (pl.Datetime("us", "UTC"), "yesterday"),
])
def test_what_fits_no_form_is_a_reject_naming_the_value(dtype, text):
    out = typed(dtype, ["2" if dtype.is_integer() else None, text])
    assert out["v"][1] is None
    assert out[REJECT].to_list() == [None, f"invalid v: {text}"]


def test_a_missing_key_is_named_before_a_bad_value():
    schema = TableSchema("t", "test", (Column("k", pl.String(), ""), Column("v", pl.Int32(), "")), ("k",))
    out = conform(pl.LazyFrame({"k": [None], "v": ["x"]}, schema={"k": pl.String, "v": pl.String}), schema).collect()
    assert out[REJECT].to_list() == ["missing key field k"]

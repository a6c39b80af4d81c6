"""Type flat string columns to a table's declared schema and say which value did not fit.

Transforms decode JSON leaves as text, lay them out under the table's column names, then call
:func:`conform`. Every column is cast non-strictly; a value that was present but could not be
cast (and a missing key column) sets the row's ``_reject`` reason instead of becoming a silent
null. This is the "data is wrong" half of validation (dataframely's ``filter``); keys and
references are checked on the whole table by ``tables/build.py``.
"""

from __future__ import annotations

import polars as pl

from ecodata.tables.schemas import TableSchema

REJECT = "_reject"
_TYPED = "_typed:"  # prefix of the intermediate typed columns
_TRUE = ("true", "1")
_FALSE = ("false", "0")


def parse_utc(expr: pl.Expr) -> pl.Expr:
    """OCPI DateTime text to UTC: with ``Z``, with an offset, or without a zone (means UTC).

    One RFC 3339 parse (``%+``: ``Z`` or an offset) covers nearly every value; only the values it
    leaves null are tried again as naive UTC, so the second parse runs on (almost) only nulls.
    """
    text = expr.str.strip_chars()
    zoned = text.str.to_datetime("%+", time_unit="us", strict=False).dt.convert_time_zone("UTC")
    naive = pl.when(zoned.is_null()).then(text).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f", time_zone="UTC", time_unit="us", strict=False
    )
    return pl.coalesce(zoned, naive)


def cast_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Cast a text expression to ``dtype`` non-strictly (unparseable values become null)."""
    if isinstance(dtype, pl.String):
        return expr
    if isinstance(dtype, pl.Boolean):
        lowered = expr.str.strip_chars().str.to_lowercase()
        return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False)
    if isinstance(dtype, pl.Time):
        text = expr.str.strip_chars()
        return pl.coalesce(text.str.to_time("%H:%M", strict=False), text.str.to_time("%H:%M:%S", strict=False))
    if isinstance(dtype, pl.Date):
        return expr.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    if isinstance(dtype, pl.Datetime):
        return parse_utc(expr)
    if dtype.is_integer():
        number = expr.str.strip_chars().cast(pl.Float64, strict=False)
        # 14400 and 14400.0 are the same duration; 14400.5 is not an integer and does not fit.
        return pl.when(number == number.floor()).then(number).cast(dtype, strict=False)
    return expr.str.strip_chars().cast(dtype, strict=False)


def conform(frame: pl.LazyFrame, schema: TableSchema, *, keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """Select ``schema``'s columns typed as declared, plus ``keep`` columns and ``_reject``.

    Missing source columns become nulls. ``_reject`` is null for rows that fit, else the reason of
    the first column that did not fit (a missing key value, or a value that could not be cast).
    Each cast is computed once, in a first step (polars does not share a cast used both as the
    value and in the failure check, which doubled the cost), and compared with its source after.
    """
    have = frame.collect_schema()
    casts: list[pl.Expr] = []
    typed: list[pl.Expr] = []
    key_failures: list[pl.Expr] = []
    failures: list[pl.Expr] = []
    for column in schema.columns:
        name, dtype = column.name, column.dtype
        if name not in have:
            typed.append(pl.lit(None, dtype=dtype).alias(name))
            if name in schema.key:
                key_failures.append(pl.lit(f"missing key field {name}"))
            continue
        source = pl.col(name)
        if name in schema.key:
            key_failures.append(pl.when(source.is_null()).then(pl.lit(f"missing key field {name}")))
        if have[name] == dtype:
            typed.append(source)
            continue
        value = pl.col(f"{_TYPED}{name}")
        if isinstance(have[name], pl.String):
            casts.append(cast_text(source, dtype).cast(dtype).alias(f"{_TYPED}{name}"))
            failures.append(
                pl.when(source.is_not_null() & value.is_null())
                .then(pl.format("invalid {}: {}", pl.lit(name), source.str.slice(0, 80)))
            )
        else:
            casts.append(source.cast(dtype, strict=False).alias(f"{_TYPED}{name}"))
            failures.append(pl.when(source.is_not_null() & value.is_null()).then(pl.lit(f"invalid {name}")))
        typed.append(value.alias(name))
    failures = key_failures + failures
    reason = pl.coalesce(failures) if failures else pl.lit(None, dtype=pl.String())
    return frame.with_columns(casts).select(*typed, *[pl.col(k) for k in keep], reason.cast(pl.String()).alias(REJECT))

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
_TRUE = ("true", "1")
_FALSE = ("false", "0")


def parse_utc(expr: pl.Expr) -> pl.Expr:
    """OCPI DateTime text to UTC: with ``Z``, without a zone (means UTC) or with an offset."""
    text = expr.str.strip_chars()
    return pl.coalesce(
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", time_unit="us", strict=False),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_zone="UTC", time_unit="us", strict=False),
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", strict=False)
        .dt.convert_time_zone("UTC"),
    )


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
    """
    have = frame.collect_schema()
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
        if have[name] == dtype:
            value = source
        elif isinstance(have[name], pl.String):
            value = cast_text(source, dtype).cast(dtype)
            failures.append(
                pl.when(source.is_not_null() & value.is_null())
                .then(pl.format("invalid {}: {}", pl.lit(name), source.str.slice(0, 80)))
            )
        else:
            value = source.cast(dtype, strict=False)
            failures.append(pl.when(source.is_not_null() & value.is_null())
                            .then(pl.lit(f"invalid {name}")))
        if name in schema.key:
            key_failures.append(pl.when(source.is_null()).then(pl.lit(f"missing key field {name}")))
        typed.append(value.alias(name))
    failures = key_failures + failures
    reason = pl.coalesce(failures) if failures else pl.lit(None, dtype=pl.String())
    return frame.select(*typed, *[pl.col(k) for k in keep], reason.cast(pl.String()).alias(REJECT))

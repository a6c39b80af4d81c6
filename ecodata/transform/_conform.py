"""Type flat string columns to a table's declared schema and say which value did not fit.

Transforms decode JSON leaves as text, lay them out under the table's column names, then call
:func:`conform`. Every column is cast non-strictly; a value that was present but could not be
cast (and a missing key column) sets the row's ``_reject`` reason instead of becoming a silent
null. This is the "data is wrong" half of validation (dataframely's ``filter``); keys and
duplicate keys are found by ``_common.finish`` and references are checked by ``tables/checks.py``.
"""

from __future__ import annotations

import polars as pl

from ecodata.tables.schemas import TableSchema

REJECT = "_reject"
_FAST = "_fast:"  # prefixes of the intermediate typed columns
_TYPED = "_typed:"
_TRUE = ("true", "1")
_FALSE = ("false", "0")


def fast_parse(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """One cheap parse of text that is already in the usual form (JSON text as the API sends it)."""
    if isinstance(dtype, pl.Datetime):  # RFC 3339: Z or an offset, to UTC
        return text.str.to_datetime("%+", time_unit="us", strict=False).dt.convert_time_zone("UTC")
    if isinstance(dtype, pl.Boolean):
        return pl.when(text.is_in(_TRUE)).then(True).when(text.is_in(_FALSE)).then(False)
    if isinstance(dtype, pl.Time):
        return text.str.to_time("%H:%M", strict=False)
    if isinstance(dtype, pl.Date):
        return text.str.to_date("%Y-%m-%d", strict=False)
    return text.cast(dtype, strict=False)


def fallback_parse(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The lenient parse for what :func:`fast_parse` left null: surrounding spaces, other forms.

    Datetimes without a zone mean UTC; times may carry seconds; booleans any case; integers may
    be written as floats with nothing after the point (14400.0 is 14400, 14400.5 does not fit).
    """
    text = text.str.strip_chars()
    if isinstance(dtype, pl.Datetime):
        return pl.coalesce(
            text.str.to_datetime("%+", time_unit="us", strict=False).dt.convert_time_zone("UTC"),
            text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_zone="UTC", time_unit="us", strict=False),
        )
    if isinstance(dtype, pl.Boolean):
        return fast_parse(text.str.to_lowercase(), dtype)
    if isinstance(dtype, pl.Time):
        return pl.coalesce(text.str.to_time("%H:%M", strict=False), text.str.to_time("%H:%M:%S", strict=False))
    if dtype.is_integer():
        number = text.cast(pl.Float64, strict=False)
        return pl.when(number == number.floor()).then(number).cast(dtype, strict=False)
    return fast_parse(text, dtype)


def conform(frame: pl.LazyFrame, schema: TableSchema, *, keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """Select ``schema``'s columns typed as declared, plus ``keep`` columns and ``_reject``.

    Missing source columns become nulls. ``_reject`` is null for rows that fit, else the reason of
    the first column that did not fit (a missing key value, or a value that could not be cast).

    Text is typed in passes over materialised columns: a fast parse of every value, then the
    lenient parse of only the values it left null, then the failure check. polars does not share
    a subexpression used twice, so one nested expression would parse every value several times.
    """
    have = frame.collect_schema()
    fast: list[pl.Expr] = []
    typed_text: list[pl.Expr] = []
    casts: list[pl.Expr] = []
    out: list[pl.Expr] = []
    key_failures: list[pl.Expr] = []
    failures: list[pl.Expr] = []
    for column in schema.columns:
        name, dtype = column.name, column.dtype
        if name not in have:
            out.append(pl.lit(None, dtype=dtype).alias(name))
            if name in schema.key:
                key_failures.append(pl.lit(f"missing key field {name}"))
            continue
        source = pl.col(name)
        if name in schema.key:
            key_failures.append(pl.when(source.is_null()).then(pl.lit(f"missing key field {name}")))
        if have[name] == dtype:
            out.append(source)
            continue
        value = pl.col(f"{_TYPED}{name}")
        if isinstance(have[name], pl.String):
            first = pl.col(f"{_FAST}{name}")
            fast.append(fast_parse(source, dtype).cast(dtype).alias(f"{_FAST}{name}"))
            retry = fallback_parse(pl.when(first.is_null()).then(source), dtype)
            typed_text.append(pl.coalesce(first, retry).cast(dtype).alias(f"{_TYPED}{name}"))
            # The offending text is masked before formatting, so only failing rows are formatted.
            failed_text = pl.when(source.is_not_null() & value.is_null()).then(source)
            failures.append(pl.format("invalid {}: {}", pl.lit(name), failed_text.str.slice(0, 80)))
        else:
            casts.append(source.cast(dtype, strict=False).alias(f"{_TYPED}{name}"))
            failures.append(pl.when(source.is_not_null() & value.is_null()).then(pl.lit(f"invalid {name}")))
        out.append(value.alias(name))
    failures = key_failures + failures
    reason = pl.coalesce(failures) if failures else pl.lit(None, dtype=pl.String())
    return (
        frame.with_columns(*fast, *casts)
        .with_columns(typed_text)
        .select(*out, *[pl.col(k) for k in keep], reason.cast(pl.String()).alias(REJECT))
    )

"""Decode the raw ``record`` JSON column into typed structs, isolating records that do not fit.

polars' ``str.json_decode`` with an explicit struct dtype is fast and ignores unknown fields, but
one record that does not fit (an object where a string is expected, invalid JSON) fails the whole
batch. :func:`decode_records` therefore decodes a batch at once and, only when that fails, tries the
alternative shapes (``Variant``) and bisects the batch, so that the bad records are isolated in
O(bad x log n) vectorised decodes, never by a Python loop per record. Each bad record gets the
decoder's reason; good records get the variant's struct normalised to one common dtype.

Leaves are decoded as strings (JSON numbers and booleans become their text) and typed later by
:func:`ecodata.tables.conform.conform`, which can say which value did not fit which column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

DATA = "_data"
ERROR = "_decode_error"
# What polars raises when a record does not fit the dtype it is decoded with.
_DECODE_ERRORS = (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError)


@dataclass(frozen=True)
class Variant:
    """One accepted JSON shape: the dtype to decode with and how to turn it into the common dtype.

    ``hint`` is an optional regex on the record text: records matching it try this variant first,
    so that a snapshot mixing shapes is decoded in one pass per shape instead of by bisection.
    """

    dtype: pl.Struct
    normalise: Callable[[pl.Expr], pl.Expr] | None = None
    hint: str | None = None


def decode_records(frame: pl.LazyFrame, variants: list[Variant], common: pl.Struct) -> pl.LazyFrame:
    """Add ``_data`` (struct of dtype ``common``, null when the record does not fit) and
    ``_decode_error`` (the reason, null when it fits) decoded from the ``record`` column.
    """
    out_dtype = pl.Struct({DATA: common, ERROR: pl.String()})

    def decode_batch(series: pl.Series) -> pl.Series:
        return _decode_series(series, variants, common).alias("record")

    return frame.with_columns(
        pl.col("record").map_batches(decode_batch, return_dtype=out_dtype).alias("_decoded")
    ).with_columns(
        pl.col("_decoded").struct.field(DATA).alias(DATA),
        pl.col("_decoded").struct.field(ERROR).alias(ERROR),
    ).drop("_decoded").cache()


def decode_frame(frame: pl.LazyFrame, variants: list[Variant], common: pl.Struct) -> pl.DataFrame:
    """``decode_records(frame, ...).collect()``, computed the fast way whenever every record fits.

    The fast plan decodes each hint group with its variant inside polars' query engine (parallel,
    straight from the Parquet scan, no Python hop). It raises as soon as one record does not fit
    (or is empty), and then the chunk is decoded again by :func:`decode_records`, which isolates the
    bad records. Both give the same frame: the fast plan is the first attempt of the slow one.
    """
    try:
        return _fast_plan(frame, variants, common, _routes_present(frame, variants)).collect()
    except _DECODE_ERRORS:
        return decode_records(frame, variants, common).collect()


class ChunkDecoder:
    """:func:`decode_frame` for the consecutive chunks of one snapshot, skipping the routing pass
    while the records have one shape.

    Routing records to their shape is a regex pass over the whole text (and a second read of
    it). A record of another shape does not fit the default variant's dtype (an object where a
    string or list is expected, or the reverse), so while every chunk so far decoded with the
    default variant, the next one is decoded with it directly; if that fails, this and every later
    chunk go through :func:`decode_frame`. Records that fit the default variant decode the same
    either way.
    """

    def __init__(self, variants: list[Variant], common: pl.Struct) -> None:
        self.variants = variants
        self.common = common
        self.one_shape = True

    def decode(self, frame: pl.LazyFrame) -> pl.DataFrame:
        if self.one_shape:
            try:
                return _fast_plan(frame, self.variants, self.common, [0]).collect()
            except _DECODE_ERRORS:
                self.one_shape = False
        return decode_frame(frame, self.variants, self.common)


def _route(variants: list[Variant]) -> pl.Expr:
    """Each record's variant index, as in :func:`_decode_series`: the last matching hint wins, else 0."""
    route: pl.Expr = pl.lit(0, pl.Int32)
    for i, variant in enumerate(variants):
        if variant.hint is not None:
            route = pl.when(pl.col("record").str.contains(variant.hint)).then(pl.lit(i, pl.Int32)).otherwise(route)
    return route


def _routes_present(frame: pl.LazyFrame, variants: list[Variant]) -> list[int]:
    """The variant indices some record routes to (one cheap regex pass over the text, no decoding)."""
    if all(v.hint is None for v in variants):
        return [0]
    present = frame.select(_route(variants).unique().alias("r")).collect().get_column("r").to_list()
    return sorted(present) or [0]


def _fast_plan(frame: pl.LazyFrame, variants: list[Variant], common: pl.Struct, routes: list[int]) -> pl.LazyFrame:
    """Decode each route group with its variant; one group (the usual case) needs no regrouping."""
    record = pl.col("record")
    routed = frame.with_columns(_route(variants).alias("_route")) if len(routes) > 1 else frame
    parts = []
    for i in routes:
        variant = variants[i]
        data = record.str.json_decode(variant.dtype)
        if variant.normalise is not None:
            data = variant.normalise(data)
        part = routed.filter(pl.col("_route") == i).drop("_route") if len(routes) > 1 else routed
        parts.append(part.with_columns(data.cast(common).alias(DATA)))
    decoded = pl.concat(parts, how="vertical").sort("_row") if len(parts) > 1 else parts[0]
    return decoded.with_columns(
        pl.when(pl.col(DATA).is_null()).then(pl.lit("record is not a JSON object (null)")).alias(ERROR)
    )


def _decode_series(series: pl.Series, variants: list[Variant], common: pl.Struct) -> pl.Series:
    empty = pl.DataFrame(schema={DATA: common, ERROR: pl.String()})
    if series.len() == 0:  # an endpoint that served no records
        return empty.to_struct("record")
    hinted = [i for i, v in enumerate(variants) if v.hint is not None]
    if not hinted:
        pieces: list[pl.DataFrame] = []
        _solve(series, variants, common, pieces)
        return pl.concat([empty, *pieces], how="vertical").to_struct("record")
    # Route each record to the variant its text hints at (default: the first), decode each group
    # with that variant first, then put the rows back in their original order.
    route = pl.repeat(0, series.len(), dtype=pl.Int32, eager=True)
    for i in hinted:
        hint = variants[i].hint
        assert hint is not None
        route = pl.select(pl.when(series.str.contains(hint)).then(pl.lit(i, pl.Int32)).otherwise(route)).to_series()
    position = pl.int_range(series.len(), eager=True, dtype=pl.UInt32)
    groups: list[pl.DataFrame] = []
    for i in route.unique().sort().to_list():
        mask = route == i
        ordered = [variants[i], *[v for j, v in enumerate(variants) if j != i]]
        pieces = []
        _solve(series.filter(mask), ordered, common, pieces)
        group = pl.concat([empty, *pieces], how="vertical")
        groups.append(group.with_columns(position.filter(mask).alias("_position")))
    return pl.concat(groups, how="vertical").sort("_position").drop("_position").to_struct("record")


def _try(series: pl.Series, variant: Variant, common: pl.Struct) -> pl.DataFrame:
    decoded = series.str.json_decode(variant.dtype)
    if decoded.len() != series.len():
        # polars returns no row for a lone empty string; never let rows shift.
        raise pl.exceptions.ComputeError("empty record (no JSON at all)")
    frame = pl.DataFrame({DATA: decoded})
    if variant.normalise is not None:
        frame = frame.select(variant.normalise(pl.col(DATA)).alias(DATA))
    # Other non-objects (a list, a string) fail to decode; JSON null decodes to a null struct.
    return frame.select(
        pl.col(DATA).cast(common),
        pl.when(pl.col(DATA).is_null()).then(pl.lit("record is not a JSON object (null)")).alias(ERROR),
    )


def _solve(series: pl.Series, variants: list[Variant], common: pl.Struct, out: list[pl.DataFrame]) -> None:
    """Decode ``series`` in order into ``out``; bisect when no variant fits the whole slice."""
    if series.len() == 0:
        return
    first_error = ""
    for variant in variants:
        try:
            out.append(_try(series, variant, common))
            return
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError,
                pl.exceptions.InvalidOperationError) as exc:
            # Report the mismatch against the shape tried first (the expected one for this record).
            if not first_error:
                first_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if series.len() == 1:
        out.append(pl.DataFrame(
            {DATA: pl.Series([None], dtype=common), ERROR: [_reason(first_error)]},
            schema={DATA: common, ERROR: pl.String()},
        ))
        return
    middle = series.len() // 2
    _solve(series.slice(0, middle), variants, common, out)
    _solve(series.slice(middle), variants, common, out)


def _reason(message: str) -> str:
    """A short reason from polars' decode error, e.g. 'does not fit: error deserializing ...'."""
    message = message.removeprefix("error deserializing JSON: ")
    return f"record does not fit the expected shape: {message}"[:300]

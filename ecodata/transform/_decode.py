"""Decode the raw ``record`` JSON column into typed structs, isolating records that do not fit.

polars' ``str.json_decode`` with an explicit struct dtype is fast and ignores unknown fields, but
one record that does not fit (an object where a string is expected, invalid JSON) fails the whole
batch. A :class:`Decoder` therefore decodes a batch at once and, only when that fails, tries the
alternative shapes (``Variant``) and bisects the batch, so that the bad records are isolated in
O(bad x log n) vectorised decodes, never by a Python loop per record. Each bad record gets the
decoder's reason; good records get the variant's struct normalised to one common dtype.

Routing (:func:`_route`) and the decode of one variant (:func:`_variant_data`) are written once
and used by both doors of the decoder: :meth:`Decoder.lazy` (the reference, a lazy frame) and
:meth:`Decoder.decode` (one chunk, eagerly, inside polars' engine while every record fits).

Leaves are decoded as strings (JSON numbers and booleans become their text) and typed later by
``_conform.conform``, which can say which value did not fit which column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from ecodata.errors import first_line

DATA = "_data"
ERROR = "_decode_error"
_ROUTE = "_route"
# What polars raises when a record does not fit the dtype it is decoded with (ShapeError: a blank
# record decodes to no row at all).
_DECODE_ERRORS = (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.InvalidOperationError,
                  pl.exceptions.ShapeError)
_NOT_AN_OBJECT = "record is not a JSON object (null)"


@dataclass(frozen=True)
class Variant:
    """One accepted JSON shape: the dtype to decode with and how to turn it into the common dtype.

    ``hint`` is an optional regex on the record text: records matching it try this variant first,
    so that a snapshot mixing shapes is decoded in one pass per shape instead of by bisection.
    """

    dtype: pl.Struct
    normalise: Callable[[pl.Expr], pl.Expr] | None = None
    hint: str | None = None


def _variant_data(variant: Variant, common: pl.Struct) -> pl.Expr:
    """``record`` decoded with one variant and normalised to the common dtype, as ``_data``."""
    data = pl.col("record").str.json_decode(variant.dtype)
    if variant.normalise is not None:
        data = variant.normalise(data)
    return data.cast(common).alias(DATA)


def _route(variants: list[Variant]) -> pl.Expr:
    """Each record's variant index: the last variant whose hint matches its text, else 0."""
    route: pl.Expr = pl.lit(0, pl.Int32)
    for i, variant in enumerate(variants):
        if variant.hint is not None:
            route = pl.when(pl.col("record").str.contains(variant.hint)).then(pl.lit(i, pl.Int32)).otherwise(route)
    return route.alias(_ROUTE)


def _with_error(frame: pl.LazyFrame) -> pl.LazyFrame:
    # Other non-objects (a list, a string) fail to decode; JSON null decodes to a null struct.
    return frame.with_columns(pl.when(pl.col(DATA).is_null()).then(pl.lit(_NOT_AN_OBJECT)).alias(ERROR))


class Decoder:
    """One endpoint's record decoder (its ``variants`` and their ``common`` dtype).

    Both doors give the same frame: ``frame`` plus ``_data`` (null when the record does not fit)
    and ``_decode_error`` (the reason, null when it fits). A decoder remembers, across the chunks
    of one snapshot, whether every record so far had the default shape (see :meth:`decode`), so
    make one per snapshot.
    """

    def __init__(self, variants: list[Variant], common: pl.Struct) -> None:
        self.variants = variants
        self.common = common
        self.one_shape = True

    def lazy(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """The reference: every batch decoded by :meth:`_isolate` (route, try, bisect)."""
        out_dtype = pl.Struct({DATA: self.common, ERROR: pl.String()})
        decoded = pl.col("record").map_batches(lambda s: self._isolate(s).to_struct("record"), return_dtype=out_dtype)
        return frame.with_columns(decoded.alias("_decoded")).with_columns(
            pl.col("_decoded").struct.field(DATA), pl.col("_decoded").struct.field(ERROR),
        ).drop("_decoded").cache()

    def decode(self, frame: pl.LazyFrame) -> pl.DataFrame:
        """One chunk, eagerly: ``self.lazy(frame).collect()``, computed the fast way when it can be.

        The fast plan decodes each route group with its variant inside polars' engine (parallel,
        straight from the Parquet scan). It raises as soon as one record does not fit, and the chunk
        is then decoded by the reference, which isolates the bad records. Routing is a regex pass
        over the whole text; a record of another shape does not fit the default variant's dtype, so
        while every chunk so far decoded with the default variant, the next one is tried with it
        directly, and after the first that fails every chunk is routed.
        """
        if self.one_shape:
            try:
                return self._fast_plan(frame, [0]).collect()
            except _DECODE_ERRORS:
                self.one_shape = False
        try:
            return self._fast_plan(frame, self._routes_present(frame)).collect()
        except _DECODE_ERRORS:
            return self.lazy(frame).collect()

    def _routes_present(self, frame: pl.LazyFrame) -> list[int]:
        if all(v.hint is None for v in self.variants):
            return [0]
        present = frame.select(_route(self.variants).unique()).collect().get_column(_ROUTE).to_list()
        return sorted(present) or [0]

    def _fast_plan(self, frame: pl.LazyFrame, routes: list[int]) -> pl.LazyFrame:
        if len(routes) == 1:
            return _with_error(frame.with_columns(_variant_data(self.variants[routes[0]], self.common)))
        routed = frame.with_columns(_route(self.variants))
        parts = [routed.filter(pl.col(_ROUTE) == i).drop(_ROUTE)
                 .with_columns(_variant_data(self.variants[i], self.common)) for i in routes]
        return _with_error(pl.concat(parts, how="vertical").sort("_row"))

    def _isolate(self, series: pl.Series) -> pl.DataFrame:
        """``_data`` and ``_decode_error`` of each record of ``series``, in order."""
        frame = pl.DataFrame({"record": series}).with_row_index("_position")
        if frame.height == 0:  # an endpoint that served no records
            return pl.DataFrame(schema={DATA: self.common, ERROR: pl.String()})
        routes = frame.select(_route(self.variants)).get_column(_ROUTE)
        groups: list[pl.DataFrame] = []
        for i in routes.unique().sort().to_list():
            # Records hinting at variant i try it first, then the others in order.
            ordered = [self.variants[i], *[v for j, v in enumerate(self.variants) if j != i]]
            pieces: list[pl.DataFrame] = []
            self._solve(frame.filter(routes == i), ordered, pieces)
            groups.extend(pieces)
        return pl.concat(groups, how="vertical").sort("_position").select(DATA, ERROR)

    def _solve(self, frame: pl.DataFrame, variants: list[Variant], out: list[pl.DataFrame]) -> None:
        """Decode ``frame`` (``_position``, ``record``) into ``out``; bisect when no variant fits it all."""
        if frame.height == 0:
            return
        first_error = ""
        for variant in variants:
            try:
                if (frame.get_column("record").str.strip_chars().str.len_bytes() == 0).any():
                    raise pl.exceptions.ComputeError("empty record (no JSON at all)")
                decoded = frame.lazy().select("_position", _variant_data(variant, self.common))
                out.append(_with_error(decoded).collect())
                return
            except _DECODE_ERRORS as exc:
                # Report the mismatch against the shape tried first (the expected one for this record).
                if not first_error:
                    first_error = first_line(exc)
        if frame.height == 1:
            out.append(frame.select("_position", pl.lit(None, dtype=self.common).alias(DATA),
                                    pl.lit(_reason(first_error)).alias(ERROR)))
            return
        middle = frame.height // 2
        self._solve(frame.slice(0, middle), variants, out)
        self._solve(frame.slice(middle), variants, out)


def _reason(message: str) -> str:
    """A short reason from polars' decode error, e.g. 'does not fit: error deserializing ...'."""
    message = message.removeprefix("error deserializing JSON: ")
    return f"record does not fit the expected shape: {message}"[:300]

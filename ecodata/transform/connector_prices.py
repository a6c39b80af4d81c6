"""Connector prices endpoint -> ``connector_prices``: one row per connector and pricing id (+ ``rejects``)."""

from __future__ import annotations

import polars as pl

from ecodata.tables.schemas import CONNECTOR_PRICES
from ecodata.transform._common import ROW, Parts
from ecodata.transform._conform import conform
from ecodata.transform._decode import DATA, Variant

_S = pl.String()
CONNECTOR_PRICE_JSON = pl.Struct({
    "location_id": _S, "evse_uid": _S, "connector_id": _S,
    "pricing_ids": pl.List(_S), "product_ids": pl.List(_S),
})
VARIANTS = [Variant(CONNECTOR_PRICE_JSON)]


def parts_connector_prices(rows: pl.LazyFrame) -> Parts:
    """Explode each record's ``pricing_ids`` (with the product id at the same position, if any).

    A record with an empty ``pricing_ids`` list yields no row: that connector has no price.

    ``rows`` are raw rows with ``_row`` decoded by ``_decode.Decoder``.
    """
    f = pl.col(DATA).struct.field
    per_record = rows.filter(pl.col(DATA).is_not_null()).select(
        ROW, f("location_id").alias("location_id"), f("evse_uid").alias("evse_uid"),
        f("connector_id").alias("connector_id"), f("pricing_ids").alias("price_id"),
        f("product_ids").alias("_product_ids"),
    )
    # A record without any key field cannot be placed, whatever its pricing ids.
    keyless = per_record.filter(pl.col("price_id").list.len().fill_null(0) == 0).select(
        ROW, "location_id", "evse_uid", "connector_id", pl.lit("-").alias("price_id"),
        pl.lit(None, dtype=pl.Int32).alias("price_index"), pl.lit(None, dtype=_S).alias("product_id"),
    ).filter(pl.any_horizontal(pl.col("location_id", "evse_uid", "connector_id").is_null()))
    # The product id at each position is gathered per record and exploded along with the pricing
    # ids (carrying the whole product_ids list onto every exploded row costs 4x the time).
    exploded = (
        per_record.filter(pl.col("price_id").list.len() > 0)
        .with_columns(pl.int_ranges(0, pl.col("price_id").list.len(), dtype=pl.Int32).alias("price_index"))
        .with_columns(
            pl.col("_product_ids").fill_null(pl.lit([], dtype=pl.List(_S)))
            .list.gather(pl.col("price_index"), null_on_oob=True).alias("product_id")
        )
        .drop("_product_ids")
        .explode("price_id", "price_index", "product_id")
    )
    flat = pl.concat([exploded, keyless], how="vertical_relaxed")
    return Parts("connector_prices", {"connector_prices": conform(flat, CONNECTOR_PRICES, keep=(ROW,))},
                  ("connector_prices", ("location_id", "evse_uid", "connector_id")))

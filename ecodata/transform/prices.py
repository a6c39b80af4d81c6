"""Prices endpoint -> ``prices``, ``price_elements``, ``price_components`` (+ ``rejects``).

Restrictions are one object or null; Eco-Movement's extras (``overstay_duration``, ``min_price`` /
``max_price`` as a number or an OCPI Price object, ``emsp_contract_date``) become typed columns.
"""

from __future__ import annotations

import polars as pl

from ecodata.tables.schemas import PRICE_COMPONENTS, PRICE_ELEMENTS, PRICES
from ecodata.transform._common import (
    RESTRICTION,
    RESTRICTION_PRICE_OBJECTS,
    ROW,
    Parts,
    component_json,
    element_tables,
    restriction_price_objects_to_text,
)
from ecodata.transform._conform import conform
from ecodata.transform._decode import DATA, Variant

_S = pl.String()
_PRODUCT = pl.Struct({
    "id": _S, "name": _S, "description": _S, "type": _S, "subscription_type": _S,
    "subscription_fee_excl_vat": _S, "currency": _S,
})


def _price_json(restriction: pl.DataType) -> pl.Struct:
    element = pl.Struct({"price_components": pl.List(component_json("price_excl_vat")),
                         "restrictions": restriction})
    return pl.Struct({"id": _S, "partner": _S, "partner_id": _S, "last_updated": _S,
                      "product": _PRODUCT, "elements": pl.List(element)})


PRICE_JSON = _price_json(RESTRICTION)
VARIANTS = [
    Variant(PRICE_JSON),
    Variant(
        _price_json(RESTRICTION_PRICE_OBJECTS),
        lambda e: e.struct.with_fields(
            pl.field("elements").list.eval(pl.element().struct.with_fields(
                restriction_price_objects_to_text(pl.field("restrictions")).alias("restrictions")
            )).alias("elements")
        ),
        hint=r'"m(?:in|ax)_price"\s*:\s*\{',
    ),
]


def parts_prices(rows: pl.LazyFrame) -> Parts:
    """Flatten raw price records into prices, their elements and their components.

    ``rows`` are raw rows with ``_row`` decoded by ``_decode.Decoder``.
    """
    f = pl.col(DATA).struct.field
    product = f("product").struct.field
    parents = rows.filter(pl.col(DATA).is_not_null()).select(
        ROW, f("id").alias("price_id"), f("partner").alias("partner"), f("partner_id").alias("partner_id"),
        product("id").alias("product_id"), product("name").alias("product_name"),
        product("description").alias("product_description"), product("type").alias("product_type"),
        product("subscription_type").alias("subscription_type"),
        product("subscription_fee_excl_vat").alias("subscription_fee_excl_vat"),
        product("currency").alias("currency"),
        f("elements").list.len().cast(pl.Int32).alias("element_count"),
        f("last_updated").alias("last_updated"),
        f("elements").alias("elements"),
    )
    prices = conform(parents, PRICES, keep=(ROW,))
    elements, components = element_tables(
        parents, "price_id", "price_excl_vat", PRICE_ELEMENTS, PRICE_COMPONENTS,
        pl.col("element").struct.field("restrictions"),
    )
    return Parts("prices", {"prices": prices, "price_elements": elements, "price_components": components},
                  ("prices", ("price_id",)))

"""OCPI tariffs tables in the shape the vectorised evaluator reads (``prices`` and its children).

:func:`tariff_price_tables` turns a snapshot's ``tariffs``, ``tariff_elements``,
``tariff_components`` and ``connectors`` (``tariff_ids``) into ``prices``, ``price_elements``,
``price_components`` and ``connector_prices`` frames, so :func:`ecodata.pricing.session_costs`
prices every (connector, OCPI tariff, reference session) with the same rules as the scalar
engine prices the raw tariff. The ``prices`` frame keeps each tariff's ``tax_included`` (OCPI
2.3.0) and its ``min_price_*``/``max_price_*`` bounds; a component's ``price_excl_vat`` is the
price as the tariff gives it (it includes taxes when ``tax_included`` is YES).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ecodata.errors import PricingError
from ecodata.tables.schemas import CONNECTOR_PRICES, PRICE_COMPONENTS, PRICE_ELEMENTS, PRICES

TARIFF_INPUTS = ("tariffs", "tariff_elements", "tariff_components", "connectors", "locations")


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def tariff_price_tables(tables: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    """The evaluator's input tables for the OCPI tariffs of ``tables`` (see the module doc).

    Example::

        costs = session_costs(tariff_price_tables(tables), day=dt.date(2026, 11, 21))
    """
    t = {name: _lazy(tables[name]) for name in TARIFF_INPUTS}
    tariffs = t["tariffs"]
    bounded = (t["tariff_elements"].join(tariffs.filter(pl.col("tax_included") == "YES").select("tariff_id"),
                                         on="tariff_id", how="semi")
               .filter(pl.col("restriction_min_price").is_not_null() | pl.col("restriction_max_price").is_not_null())
               .select("tariff_id").head(3).collect())
    if bounded.height:
        raise PricingError("tariffs with tax_included YES cannot carry restriction min_price/max_price, e.g. "
                           f"{bounded['tariff_id'].to_list()}; fix or drop those tariffs")
    prices = tariffs.select(
        pl.col("tariff_id").alias("price_id"), "currency", "element_count", "last_updated", "tax_included",
        "min_price_excl_vat", "min_price_incl_vat", "max_price_excl_vat", "max_price_incl_vat",
    ).with_columns([pl.lit(None, dtype=PRICES.polars_schema[c]).alias(c) for c in PRICES.column_names
                    if c not in ("price_id", "currency", "element_count", "last_updated")])
    elements = t["tariff_elements"].rename({"tariff_id": "price_id"}).select(PRICE_ELEMENTS.column_names)
    components = t["tariff_components"].rename({"tariff_id": "price_id"}).with_columns(
        pl.coalesce("price_excl_vat", "price_incl_vat").cast(PRICE_COMPONENTS.polars_schema["price_excl_vat"])
        .alias("price_excl_vat")).select(PRICE_COMPONENTS.column_names)
    links = (t["connectors"].select("location_id", "evse_uid", "connector_id", pl.col("tariff_ids").alias("price_id"))
             .filter(pl.col("price_id").list.len() > 0)
             .with_columns(pl.int_ranges(0, pl.col("price_id").list.len(), dtype=pl.Int32).alias("price_index"))
             .explode("price_id", "price_index")
             .unique(["location_id", "evse_uid", "connector_id", "price_id"], keep="first", maintain_order=True)
             .with_columns(pl.lit(None, dtype=pl.String).alias("product_id"))
             .select(CONNECTOR_PRICES.column_names))
    return {"prices": prices, "price_elements": elements, "price_components": components,
            "connector_prices": links, "connectors": t["connectors"], "locations": t["locations"]}

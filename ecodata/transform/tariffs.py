"""OCPI tariffs endpoint -> ``tariffs``, ``tariff_elements``, ``tariff_components`` (+ ``rejects``).

``restrictions`` may be an object, null, or (an Eco-Movement quirk) a LIST of objects. Objects
whose keys are all null (or empty) count as no restriction. A list with exactly one remaining
object is that object. A list with SEVERAL non-null objects has no defined meaning in OCPI (one
object per element), so the whole tariff goes to ``rejects`` with a reason that says so; it is never
loaded half-right or dropped silently. A tariff that mixes object and list forms across its
elements is rejected as not fitting the expected shape.
"""

from __future__ import annotations

import polars as pl

from ecodata.tables.schemas import PRICE_INCL, TARIFF_COMPONENTS, TARIFF_ELEMENTS, TARIFFS
from ecodata.transform._common import (
    RESTRICTION,
    ROW,
    Parts,
    component_json,
    element_tables,
    restriction_is_set,
)
from ecodata.transform._conform import REJECT, conform
from ecodata.transform._decode import DATA, Variant

_S = pl.String()
# 2.2.1 Price {excl_vat, incl_vat} or 2.3.0 PriceLimit {before_taxes, after_taxes}
_PRICE = pl.Struct({"excl_vat": _S, "incl_vat": _S, "before_taxes": _S, "after_taxes": _S})
TAX_INCLUDED = ("YES", "NO", "N/A")


def _tariff_json(restriction: pl.DataType) -> pl.Struct:
    element = pl.Struct({"price_components": pl.List(component_json("price")), "restrictions": restriction})
    return pl.Struct({
        "id": _S, "country_code": _S, "party_id": _S, "currency": _S, "type": _S,
        "tariff_alt_text": pl.List(pl.Struct({"language": _S, "text": _S})), "tariff_alt_url": _S,
        "min_price": _PRICE, "max_price": _PRICE, "start_date_time": _S, "end_date_time": _S,
        "elements": pl.List(element), "last_updated": _S, "tax_included": _S,
    })


TARIFF_JSON = _tariff_json(pl.List(RESTRICTION))  # the common form: restrictions as a list
VARIANTS = [
    Variant(
        _tariff_json(RESTRICTION),
        lambda e: e.struct.with_fields(
            pl.field("elements").list.eval(pl.element().struct.with_fields(
                pl.concat_list(pl.field("restrictions")).alias("restrictions")
            )).alias("elements")
        ),
    ),
    Variant(TARIFF_JSON, hint=r'"restrictions"\s*:\s*\['),
]


def parts_tariffs(rows: pl.LazyFrame) -> Parts:
    """Flatten raw OCPI tariff records into tariffs, their elements and their components.

    ``rows`` are raw rows with ``_row`` decoded by ``_decode.Decoder``.
    """
    f = pl.col(DATA).struct.field
    parents = rows.filter(pl.col(DATA).is_not_null()).select(
        ROW, f("id").alias("tariff_id"), f("country_code").alias("country_code"),
        f("party_id").alias("party_id"), f("currency").alias("currency"), f("type").alias("type"),
        f("tariff_alt_text").list.first().struct.field("text").alias("tariff_alt_text"),
        f("tariff_alt_url").alias("tariff_alt_url"),
        *[pl.coalesce(f(bound).struct.field(old), f(bound).struct.field(new)).alias(f"{bound}_{old}")
          for bound in ("min_price", "max_price")
          for old, new in (("excl_vat", "before_taxes"), ("incl_vat", "after_taxes"))],
        f("tax_included").alias("tax_included"),
        f("start_date_time").alias("start_date_time"), f("end_date_time").alias("end_date_time"),
        f("elements").list.len().cast(pl.Int32).alias("element_count"),
        f("last_updated").alias("last_updated"),
        f("elements").alias("elements"),
    )
    tariffs = conform(parents, TARIFFS, keep=(ROW,)).with_columns(
        pl.coalesce(
            pl.col(REJECT),
            pl.when(pl.col("tax_included").is_not_null() & ~pl.col("tax_included").is_in(TAX_INCLUDED)).then(
                pl.format("tax_included {} is not YES, NO or N/A (OCPI 2.3.0)", pl.col("tax_included"))),
        ).alias(REJECT))
    kept = pl.col("element").struct.field("restrictions").list.eval(pl.element().filter(restriction_is_set(pl.element())))
    elements, components = element_tables(
        parents, "tariff_id", "price", TARIFF_ELEMENTS, TARIFF_COMPONENTS,
        kept.list.first(),
        extra_element_columns=(kept.list.len().alias("_restriction_objects"),),
    )
    # 2.3.0: a tax-inclusive price is the price incl. VAT (its excl. VAT amount is not a finite
    # decimal in general, so it is left null); with no taxes the price is the price incl. too
    tax = pl.col("_tax")
    components = components.join(parents.select(ROW, pl.col("tax_included").alias("_tax")), on=ROW,
                                 how="left").with_columns(
        pl.when(tax == "YES").then(pl.col("price_excl_vat").cast(PRICE_INCL))
        .when(tax == "N/A").then(pl.col("price_excl_vat").cast(PRICE_INCL))
        .otherwise(pl.col("price_incl_vat")).alias("price_incl_vat"),
        pl.when(tax == "YES").then(None).otherwise(pl.col("price_excl_vat")).alias("price_excl_vat"),
    ).drop("_tax")
    elements = elements.with_columns(
        pl.coalesce(
            pl.col(REJECT),
            pl.when(pl.col("_restriction_objects") > 1).then(pl.format(
                "element {} has {} non-null restriction objects; OCPI allows one, so the tariff is "
                "not loaded (the raw snapshot keeps it)",
                pl.col("element_index"), pl.col("_restriction_objects"))),
        ).alias(REJECT)
    ).drop("_restriction_objects")
    return Parts("tariffs", {"tariffs": tariffs, "tariff_elements": elements,
                                    "tariff_components": components},
                  ("tariffs", ("tariff_id",)))

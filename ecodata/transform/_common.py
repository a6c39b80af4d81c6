"""Pieces shared by the endpoint transforms: raw row ids, restriction and component shapes, rejects.

A transform keeps the raw row number (``_row``) on every flat row. Rows that do not fit their
table (``_reject`` set by ``conform``) make their whole raw record a reject: a partly loaded
record (a price with one element missing) would be wrong, not just incomplete. The reject keeps
the record's key and JSON from the raw snapshot.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from ecodata.restrictions import RESTRICTION_FIELDS
from ecodata.tables.schemas import ALL_TABLES, PRICE_INCL, REJECTS, TableSchema
from ecodata.transform._conform import REJECT, conform
from ecodata.transform._decode import ERROR

ROW = "_row"
_S = pl.String()
_LS = pl.List(pl.String())

# Every declared restriction key (ecodata.restrictions), each leaf decoded as text (see _decode).
RESTRICTION_JSON: dict[str, pl.DataType] = {
    f.key: _LS if f.kind == "weekdays" else _S for f in RESTRICTION_FIELDS
}
RESTRICTION = pl.Struct(RESTRICTION_JSON)

# min_price/max_price inside restrictions may come as an OCPI Price object instead of a number.
PRICE_OBJECT = pl.Struct({"excl_vat": _S, "incl_vat": _S})
_PRICE_KEYS = tuple(f.key for f in RESTRICTION_FIELDS if f.kind == "price")
RESTRICTION_PRICE_OBJECTS = pl.Struct({**RESTRICTION_JSON, **dict.fromkeys(_PRICE_KEYS, PRICE_OBJECT)})


def restriction_price_objects_to_text(restrictions: pl.Expr) -> pl.Expr:
    """Normalise restrictions whose prices (min/max_price) are ``{excl_vat, incl_vat}`` objects to excl. VAT text."""
    return restrictions.struct.with_fields(*(pl.field(k).struct.field("excl_vat").alias(k) for k in _PRICE_KEYS))


def with_row_ids(raw: pl.LazyFrame, offset: int = 0) -> pl.LazyFrame:
    """The raw rows numbered in file order from ``offset``, keeping what transforms and rejects need."""
    return raw.select("record", "record_key", "api_version").with_row_index(ROW, offset=offset)


def restriction_columns(restrictions: pl.Expr) -> list[pl.Expr]:
    """One text (or list) column per restriction field, named as in the tables, plus the JSON."""
    columns = [restrictions.struct.field(f.key).alias(f.column) for f in RESTRICTION_FIELDS]
    columns.append(
        pl.when(restriction_is_set(restrictions)).then(restrictions.struct.json_encode()).alias("restrictions_json")
    )
    return columns


def restriction_is_set(restriction: pl.Expr) -> pl.Expr:
    """True when a restriction object has at least one non-null (non-empty) value."""
    checks = []
    for key, dtype in RESTRICTION_JSON.items():
        value = restriction.struct.field(key)
        checks.append(value.list.len() > 0 if isinstance(dtype, pl.List) else value.is_not_null())
    return restriction.is_not_null() & pl.any_horizontal(checks).fill_null(False)


def explode_with_index(frame: pl.LazyFrame, list_column: str, index_name: str) -> pl.LazyFrame:
    """Explode ``list_column`` into one row per item, numbering items from 0 within each row.

    Rows whose list is empty or null produce no rows (the parent row still exists).
    """
    return (
        frame.filter(pl.col(list_column).list.len() > 0)
        .with_columns(pl.int_ranges(0, pl.col(list_column).list.len(), dtype=pl.Int32).alias(index_name))
        .explode(list_column, index_name)
    )


class Parts(NamedTuple):
    """An endpoint's conformed table frames (with ``_row`` and ``_reject``), before ``finish``.

    ``record_key`` = (table, columns): the natural key of a record, checked across records. Every
    row that a record gives a table carries the record's own values in those columns, and each
    table's declared key is those columns plus what tells one record's rows apart.
    """

    endpoint: str
    parts: dict[str, pl.LazyFrame]
    record_key: tuple[str, tuple[str, ...]]


SEEN_COUNT = "_seen"


class Finished(NamedTuple):
    """What :func:`finish` gives: the clean tables plus ``rejects``, the record keys and duplicates.

    ``keys``: the record keys of these rows with how many records had each (``_seen``), to hand to
    the next chunk's ``finish`` merged with the earlier ones (:func:`merge_seen`). ``duplicates``:
    per table, one row with the count of rows that left it because of a duplicate key.
    """

    tables: dict[str, pl.LazyFrame]
    keys: pl.LazyFrame
    duplicates: dict[str, pl.LazyFrame]


def merge_seen(seen: pl.DataFrame | None, keys: pl.DataFrame) -> pl.DataFrame:
    """The record keys seen so far and how often: ``seen`` plus one chunk's ``keys``."""
    if seen is None:
        return keys
    key_columns = [c for c in keys.columns if c != SEEN_COUNT]
    return pl.concat([seen, keys], how="vertical").group_by(key_columns).agg(pl.col(SEEN_COUNT).sum())


def finish(rows: pl.LazyFrame, flat: Parts, seen: pl.LazyFrame | None = None) -> Finished:
    """Split conformed ``flat.parts`` into clean tables and one ``rejects`` frame.

    ``rows`` is the decoded raw frame (``_row``, ``record``, ``record_key``, ``_decode_error``).
    A record is rejected when it did not decode, when any of its flat rows did not conform, or
    when an earlier record (in crawl order) had the same natural key ``record_key`` = (table,
    columns); all of its rows then leave every table, and the reject names the first table that
    failed. ``seen`` holds the record keys of earlier chunks of the same snapshot (with counts),
    so that a snapshot finished chunk by chunk gives what it gives finished whole.

    That is the one duplicate-key mechanism: as no two records left share a record key, two rows
    with one declared key can only come from one record (two EVSEs with one uid), and those later
    rows alone leave their table as ``duplicate key in <table>`` rejects. Rejects are in crawl order.
    """
    endpoint, parts, (key_table, key_columns) = flat
    keys = (
        parts[key_table].filter(pl.col(REJECT).is_null())
        .select(ROW, *key_columns).unique(ROW, keep="first", maintain_order=True)
        .with_columns(pl.col(ROW).rank("dense").over(key_columns).cast(pl.UInt32).alias("_occurrence"))
    )
    if seen is not None:
        keys = keys.join(seen, on=list(key_columns), how="left").with_columns(
            (pl.col("_occurrence") + pl.col(SEEN_COUNT).fill_null(0).cast(pl.UInt32)).alias("_occurrence")
        ).drop(SEEN_COUNT)
    keyed = keys.filter(pl.col("_occurrence") > 1).select(
        ROW, pl.lit(key_table).alias("table_name"),
        pl.format("duplicate record: an earlier record has the same {} (occurrence {})",
                  pl.lit(", ".join(key_columns)), pl.col("_occurrence")).alias("reason"),
        pl.lit(len(parts)).alias("_order"),
    )
    failures = [
        rows.filter(pl.col(ERROR).is_not_null()).select(
            ROW, pl.lit(next(iter(parts))).alias("table_name"), pl.col(ERROR).alias("reason"),
            pl.lit(-1).alias("_order"))
    ]
    for order, (table, frame) in enumerate(parts.items()):
        failures.append(
            frame.filter(pl.col(REJECT).is_not_null())
            .select(ROW, pl.lit(table).alias("table_name"), pl.col(REJECT).alias("reason"),
                    pl.lit(order).alias("_order"))
        )
    failures.append(keyed)
    failed = (
        pl.concat(failures, how="vertical")
        .sort(ROW, "_order", maintain_order=True)
        .unique(ROW, keep="first", maintain_order=True)
    )
    duplicate_records = failed.filter(pl.col("_order") == len(parts)).select(ROW)
    clean: dict[str, pl.LazyFrame] = {}
    duplicates: dict[str, pl.LazyFrame] = {}
    row_rejects: list[pl.LazyFrame] = []
    for table, frame in parts.items():
        kept = frame.join(failed.select(ROW), on=ROW, how="anti", maintain_order="left").drop(REJECT)
        later, rejected = _later_rows(kept, ALL_TABLES[table], key_columns)
        clean[table] = kept.filter(~later).drop(ROW)
        row_rejects.append(rejected)
        duplicates[table] = pl.concat([
            frame.join(duplicate_records, on=ROW, how="semi").select(pl.len()),
            rejected.select(pl.len()),
        ]).select(pl.col("len").sum().cast(pl.Int64).alias("duplicates"))
    records = (
        failed.join(rows.select(ROW, "record", "record_key"), on=ROW, how="left")
        .select(ROW, pl.lit(0).alias("_kind"), pl.lit(endpoint).alias("endpoint"), "table_name", "record_key",
                "reason", pl.col("record").alias("record_json"))
    )
    clean["rejects"] = (
        pl.concat([records, *[r.with_columns(pl.lit(1).alias("_kind"), pl.lit(endpoint).alias("endpoint"))
                              .select(records.collect_schema().names()) for r in row_rejects]], how="vertical")
        .sort(ROW, "_kind", maintain_order=True)
        .drop(ROW, "_kind")
        .cast(REJECTS.polars_schema)
    )
    seen_keys = keys.group_by(list(key_columns)).agg(pl.len().cast(pl.UInt32).alias(SEEN_COUNT))
    return Finished(clean, seen_keys, duplicates)


def _later_rows(frame: pl.LazyFrame, schema: TableSchema, record_key: tuple[str, ...]) -> tuple[pl.Expr, pl.LazyFrame]:
    """The mask of rows repeating an earlier row's declared key, and their reject rows.

    ``frame`` holds rows of records with distinct record keys, so a repeated key is a repeat
    within one record: (``_row``, the key's other columns) tells it exactly, which is cheaper to
    compare than the whole key. The reject's ``record_key`` joins the key values with ``|``, its
    ``record_json`` is the row itself, and the reason numbers the occurrence.
    """
    if not set(record_key) <= set(schema.key):
        raise RuntimeError(f"table {schema.name}: key {schema.key} does not hold the record key {record_key}")
    inner = [c for c in schema.key if c not in record_key]
    later = ~pl.struct(ROW, *inner).is_first_distinct()
    json_cols = [pl.col(c) if isinstance(schema.polars_schema[c], pl.List) else pl.col(c).cast(pl.String)
                 for c in schema.column_names]
    rejected = frame.filter(later).with_columns(
        (pl.int_range(pl.len()).over(list(schema.key)) + 2).alias("_occurrence")
    ).select(
        ROW,
        pl.lit(schema.name).alias("table_name"),
        pl.concat_str([pl.col(k).cast(pl.String) for k in schema.key], separator="|").alias("record_key"),
        pl.format("duplicate key in {} (occurrence {})", pl.lit(schema.name), pl.col("_occurrence")).alias("reason"),
        pl.struct(json_cols).struct.json_encode().alias("record_json"),
    )
    return later, rejected


def component_json(price_field: str) -> pl.Struct:
    """A price component as decoded: ``price_excl_vat`` (prices) or ``price`` (OCPI tariffs)."""
    return pl.Struct({"type": _S, price_field: _S, "vat": _S, "step_size": _S})


def incl_vat(price_excl_vat: pl.Expr, vat: pl.Expr) -> pl.Expr:
    """Exact ``price_excl_vat * (1 + vat/100)`` as Decimal(30, 12); null when vat is not given.

    The cast to the wide scale comes first: polars keeps the larger operand scale, so multiplying
    at scale 6 would round the product.
    """
    return (price_excl_vat.cast(PRICE_INCL) * (vat.cast(PRICE_INCL) + 100) / 100).cast(PRICE_INCL)


def element_tables(
    parents: pl.LazyFrame,
    parent_key: str,
    price_field: str,
    elements_schema: TableSchema,
    components_schema: TableSchema,
    restrictions: pl.Expr,
    extra_element_columns: tuple[pl.Expr, ...] = (),
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Element and component rows of prices or tariffs, conformed.

    ``parents`` has ``_row``, ``parent_key`` and ``elements`` (list of element structs);
    ``restrictions`` is an expression on the exploded ``element`` column giving one restriction struct.
    """
    elements = explode_with_index(parents.select(ROW, parent_key, pl.col("elements").alias("element")),
                                  "element", "element_index")
    f = pl.col("element").struct.field
    keep = tuple(e.meta.output_name() for e in extra_element_columns)
    # The restriction struct is computed once into a column: used as an expression, it would be
    # evaluated again for each of the ~20 restriction columns (polars does not share it).
    element_flat = elements.with_columns(restrictions.alias("_restriction"), *extra_element_columns).select(
        ROW, parent_key, "element_index",
        f("price_components").list.len().cast(pl.Int32).alias("component_count"),
        *restriction_columns(pl.col("_restriction")),
        *keep,
    )
    element_table = conform(element_flat, elements_schema, keep=(ROW, *keep))
    components = explode_with_index(
        elements.select(ROW, parent_key, "element_index", f("price_components").alias("component")),
        "component", "component_index",
    )
    c = pl.col("component").struct.field
    component_flat = components.select(
        ROW, parent_key, "element_index", "component_index",
        c("type"), c(price_field).alias("price_excl_vat"), c("vat"), c("step_size"),
    )
    component_table = conform(component_flat, components_schema, keep=(ROW,)).with_columns(
        incl_vat(pl.col("price_excl_vat"), pl.col("vat")).alias("price_incl_vat")
    )
    return element_table, component_table

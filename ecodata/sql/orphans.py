"""The orphans views, generated from the references the table schemas declare.

A table's declared ``references`` (``ecodata.tables.schemas``) are the one source of its relations:
``tables.checks.count_orphans`` counts the rows pointing at nothing and the view generated here
lists them (the latest snapshot), one ``<target>_missing`` flag per reference, so the two cannot
drift apart. The SQL is plain ``LEFT JOIN ... IS NULL`` so that it reads the same in other engines.
"""

from __future__ import annotations

from ecodata.tables.schemas import ALL_TABLES, CONNECTOR_PRICES, Reference, TableSchema

# view name -> the table whose references it checks
ORPHAN_VIEWS: dict[str, TableSchema] = {"connector_price_orphans": CONNECTOR_PRICES}


def missing_flag(ref: Reference) -> str:
    """The view's flag for a reference: ``connector_missing`` for ``connectors`` (table names are plural)."""
    return f"{ref.target.removesuffix('s')}_missing"


def orphans_sql(schema: TableSchema) -> str:
    """The SELECT of ``schema``'s rows (latest snapshot) that point at nothing, flagged per reference.

    Every reference must point at its target's key (so a join finds at most one row) with scalar
    columns; a reference that does not is a mistake in the schemas, not in the data.
    """
    if not schema.references:
        raise RuntimeError(f"table {schema.name} declares no references to list orphans of")
    joins, flags, missing = [], [], []
    for i, ref in enumerate(schema.references):
        target = ALL_TABLES[ref.target]
        if ref.to != target.key:
            raise RuntimeError(f"{ref.name(schema.name)} does not point at the key {target.key} of {target.name}")
        if any(schema.polars_schema[c].is_nested() for c in ref.columns):
            raise RuntimeError(f"{ref.name(schema.name)}: an orphans view needs scalar reference columns")
        alias = f"r{i}"
        on = " AND ".join(f"{alias}.{t} = s.{c}" for c, t in zip(ref.columns, ref.to, strict=True))
        joins.append(f"LEFT JOIN {ref.target} AS {alias}\n    ON {on}")
        absent = f"{alias}.{ref.to[0]} IS NULL"
        flags.append(f"{absent} AS {missing_flag(ref)}")
        missing.append(absent)
    names = ", ".join(ref.name(schema.name) for ref in schema.references)
    columns = ",\n    ".join([*(f"s.{k}" for k in schema.key), *flags, "s.snapshot_date"])
    return (
        f"-- {schema.name} rows (latest snapshot) that point at nothing: the real API has such orphans;\n"
        f"-- they stay in the tables. Generated from the references declared in tables.schemas:\n"
        f"-- {names}.\n"
        f"SELECT\n    {columns}\nFROM {schema.name} AS s\n" + "\n".join(joins)
        + "\nWHERE " + " OR ".join(missing)
    )


def orphan_views() -> dict[str, str]:
    """Every orphans view: name -> SELECT."""
    return {name: orphans_sql(schema) for name, schema in ORPHAN_VIEWS.items()}

import polars as pl
import pytest

import ecodata.sql
from ecodata.sql import view_names, view_sql
from ecodata.sql.orphans import ORPHAN_VIEWS, missing_flag, orphans_sql
from ecodata.tables.schemas import CONNECTOR_PRICES, Column, Reference, TableSchema


def test_the_orphans_view_is_generated_from_the_declared_references():
    assert ORPHAN_VIEWS == {"connector_price_orphans": CONNECTOR_PRICES}
    assert [missing_flag(r) for r in CONNECTOR_PRICES.references] == ["connector_missing", "price_missing"]
    assert view_sql("connector_price_orphans") == orphans_sql(CONNECTOR_PRICES) == """\
-- connector_prices rows (latest snapshot) that point at nothing: the real API has such orphans;
-- they stay in the tables. Generated from the references declared in tables.schemas:
-- connector_prices->connectors, connector_prices->prices.
SELECT
    s.location_id,
    s.evse_uid,
    s.connector_id,
    s.price_id,
    r0.location_id IS NULL AS connector_missing,
    r1.price_id IS NULL AS price_missing,
    s.snapshot_date
FROM connector_prices AS s
LEFT JOIN connectors AS r0
    ON r0.location_id = s.location_id AND r0.evse_uid = s.evse_uid AND r0.connector_id = s.connector_id
LEFT JOIN prices AS r1
    ON r1.price_id = s.price_id
WHERE r0.location_id IS NULL OR r1.price_id IS NULL"""
    names = view_names()
    assert names.index("connector_price_orphans") > max(names.index(t) for t in ("connector_prices", "prices"))


def schema_pointing(ref: Reference, dtype: pl.DataType) -> TableSchema:
    return TableSchema("t", "a test table", (Column("id", pl.String(), "key"), Column(ref.columns[0], dtype, "ref")),
                       ("id",), (ref,))


@pytest.mark.parametrize(("schema", "message"), [
    (schema_pointing(Reference(("price_id",), "prices"), pl.List(pl.String())), "needs scalar reference columns"),
    (schema_pointing(Reference(("partner",), "prices"), pl.String()), "does not point at the key"),
    (TableSchema("t", "no references", (Column("id", pl.String(), "key"),), ("id",)), "declares no references"),
], ids=["list column", "not the target key", "no references"])
def test_a_reference_the_view_cannot_check_is_a_bug_in_the_schemas(schema, message):
    with pytest.raises(RuntimeError, match=message):
        orphans_sql(schema)


def test_a_view_file_may_not_replace_a_generated_view(monkeypatch):
    monkeypatch.setattr(ecodata.sql, "orphan_views", lambda: {"market_prices": "SELECT 1"})
    for cached in (ecodata.sql._sql_files, ecodata.sql._view_order):  # the view files are read once
        cached.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"views/market_prices.sql would replace a view generated"):
            view_names()
    finally:
        monkeypatch.undo()
        ecodata.sql._sql_files.cache_clear()
        ecodata.sql._view_order.cache_clear()
    assert "market_prices" in view_names()

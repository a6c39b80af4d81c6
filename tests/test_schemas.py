import polars as pl
import pytest

from ecodata.tables.schemas import ALL_TABLES, PRICE, TableSchema


@pytest.mark.parametrize("table", ALL_TABLES.values(), ids=lambda t: t.name)
def test_schema_is_well_formed(table: TableSchema) -> None:
    names = table.column_names
    assert len(names) == len(set(names)), "duplicate column"
    assert set(table.key) <= set(names), "key column not declared"
    assert all(c.doc for c in table.columns), "every column is documented"
    assert table.doc


def test_money_is_never_float() -> None:
    for table in ALL_TABLES.values():
        for column in table.columns:
            if "price" in column.name or "cost" in column.name or "fee" in column.name or column.name.startswith("total"):
                if column.name in ("price_id", "price_index"):
                    continue
                assert isinstance(column.dtype, pl.Decimal), (table.name, column.name)
    assert isinstance(PRICE, pl.Decimal)

import polars as pl
import pytest

from ecodata.tables.schemas import ALL_TABLES, PRICE, PRICE_INCL, VIEW_TABLES, TableSchema


@pytest.mark.parametrize("table", [*ALL_TABLES.values(), *VIEW_TABLES.values()], ids=lambda t: t.name)
def test_schema_is_well_formed(table: TableSchema) -> None:
    names = table.column_names
    assert len(names) == len(set(names)), "duplicate column"
    assert set(table.key) <= set(names), "key column not declared"
    assert all(c.doc for c in table.columns), "every column is documented"
    assert table.doc


MONEY_WORDS = ("price", "cost", "fee", "total")


def test_money_is_never_float() -> None:
    money = {(table.name, column.name): column.dtype for table in [*ALL_TABLES.values(), *VIEW_TABLES.values()]
             for column in table.columns
             if any(word in column.name for word in MONEY_WORDS) and column.name not in ("price_id", "price_index")}
    # The check reaches the money columns of every kind of table (not an empty loop).
    assert {("price_components", "price_excl_vat"), ("price_components", "price_incl_vat"),
            ("prices", "subscription_fee_excl_vat"), ("tariffs", "min_price_incl_vat"),
            ("price_elements", "restriction_max_price"), ("session_costs", "total_eur_incl_vat"),
            ("session_price_costs", "total_eur_incl_vat")} <= set(money)
    floats = sorted(name for name, dtype in money.items() if not isinstance(dtype, pl.Decimal))
    assert floats == []
    assert PRICE.scale == 6
    assert PRICE_INCL.scale == 12

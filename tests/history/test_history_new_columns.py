import dataclasses
import datetime as dt

import polars as pl

from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.sql import connect, write_views
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import TARIFFS

OLD, NEW = dt.date(2026, 5, 1), dt.date(2026, 5, 2)


def test_a_history_written_before_a_column_existed_reads_it_as_null(tmp_path):
    # tariffs as written before OCPI 2.3.0's tax_included column: an old data directory
    old_schema = dataclasses.replace(TARIFFS, columns=tuple(c for c in TARIFFS.columns if c.name != "tax_included"))
    paths = DataPaths(tmp_path)
    row = {"tariff_id": "T1", "currency": "EUR", "element_count": 1}
    old = pl.DataFrame([{c: row.get(c) for c in old_schema.column_names}], schema=old_schema.polars_schema)
    store.put_day(paths, old_schema, OLD, old.lazy())
    assert scan_table(paths, "tariffs", OLD).collect()["tax_included"].to_list() == [None]
    new = pl.DataFrame([{**{c: row.get(c) for c in TARIFFS.column_names}, "tax_included": "YES"}],
                       schema=TARIFFS.polars_schema)
    store.put_day(paths, TARIFFS, NEW, new.lazy())
    assert scan_table(paths, "tariffs", NEW).collect()["tax_included"].to_list() == ["YES"]
    write_views(paths)
    con = connect(paths)
    got = con.sql("SELECT snapshot_date, tax_included FROM tariffs_history ORDER BY 1").fetchall()
    assert got == [(OLD, None), (NEW, "YES")]

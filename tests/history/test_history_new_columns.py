import dataclasses
import datetime as dt
import json

import polars as pl

from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.sql import connect, view_sql, write_views
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


def test_the_changes_view_unifies_columns_only_when_a_file_was_written_with_other_columns(tmp_path):
    paths = DataPaths(tmp_path)
    row = {"tariff_id": "T1", "currency": "EUR", "element_count": 1}
    frame = pl.DataFrame([{c: row.get(c) for c in TARIFFS.column_names}], schema=TARIFFS.polars_schema)
    store.put_day(paths, TARIFFS, OLD, frame.lazy())
    store.put_day(paths, TARIFFS, NEW, frame.with_columns(pl.lit(2, pl.Int32).alias("element_count")).lazy())
    assert "union_by_name" not in view_sql("tariffs_changes", paths)
    # a manifest written before the columns were recorded: the files are unified by name
    manifest = paths.history_manifest("tariffs")
    body = json.loads(manifest.read_text())
    del body["days"][0]["columns"]
    manifest.write_text(json.dumps(body))
    assert "union_by_name = true" in view_sql("tariffs_changes", paths)
    write_views(paths)
    got = connect(paths).sql("SELECT snapshot_date, element_count FROM tariffs_history ORDER BY 1").fetchall()
    assert got == [(OLD, 1), (NEW, 2)]


def _forget_columns(paths: DataPaths) -> None:
    manifest = paths.history_manifest("tariffs")
    body = json.loads(manifest.read_text())
    for day in body["days"]:
        day.pop("columns", None)
    manifest.write_text(json.dumps(body))


def test_the_next_day_records_the_columns_of_files_listed_before_columns_were_recorded(tmp_path):
    paths = DataPaths(tmp_path)
    row = {"tariff_id": "T1", "currency": "EUR", "element_count": 1}
    frame = pl.DataFrame([{c: row.get(c) for c in TARIFFS.column_names}], schema=TARIFFS.polars_schema)
    store.put_day(paths, TARIFFS, OLD, frame.lazy())
    _forget_columns(paths)
    assert "union_by_name = true" in view_sql("tariffs_changes", paths)
    store.put_day(paths, TARIFFS, NEW, frame.lazy())
    assert [d.columns for d in store.load(paths, TARIFFS).days] == [store.load(paths, TARIFFS).days[1].columns] * 2
    assert "union_by_name" not in view_sql("tariffs_changes", paths)


def test_a_file_with_other_columns_is_never_recorded_as_current(tmp_path):
    old_schema = dataclasses.replace(TARIFFS, columns=tuple(c for c in TARIFFS.columns if c.name != "tax_included"))
    paths = DataPaths(tmp_path)
    row = {"tariff_id": "T1", "currency": "EUR", "element_count": 1}
    old = pl.DataFrame([{c: row.get(c) for c in old_schema.column_names}], schema=old_schema.polars_schema)
    store.put_day(paths, old_schema, OLD, old.lazy())
    _forget_columns(paths)
    new = pl.DataFrame([{c: row.get(c) for c in TARIFFS.column_names}], schema=TARIFFS.polars_schema)
    store.put_day(paths, TARIFFS, NEW, new.lazy())
    assert [bool(d.columns) for d in store.load(paths, TARIFFS).days] == [False, True]
    assert "union_by_name = true" in view_sql("tariffs_changes", paths)
    write_views(paths)
    got = connect(paths).sql("SELECT snapshot_date, tax_included FROM tariffs_history ORDER BY 1").fetchall()
    assert got == [(OLD, None), (NEW, None)]

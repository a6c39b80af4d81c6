import datetime as dt
import json

from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.sql import view_sql
from ecodata.tables.schemas import ALL_TABLES
from ecodata.tables.write import write_table

D1 = dt.date(2026, 11, 21)


def test_history_paths_are_under_the_data_directory(tmp_path):
    paths = DataPaths(tmp_path / "data")
    assert paths.history_manifest("prices") == tmp_path / "data" / "history" / "prices" / "_history.json"
    assert paths.history_file("prices", D1, "ab12") == tmp_path / "data" / "history" / "prices" / "2026-11-21-ab12.parquet"
    assert paths.history_relative(paths.history_file("prices", D1, "ab12")) == "history/prices/2026-11-21-ab12.parquet"
    assert paths.table_dates("prices") == []


def test_the_views_read_the_listed_change_files_by_relative_path(tmp_path):
    paths = DataPaths(tmp_path)
    schema = ALL_TABLES["prices"]
    write_table(paths, schema, D1, schema.polars_schema.to_frame())
    (entry,) = store.load(paths, schema).days
    listed = json.loads(paths.history_manifest("prices").read_text())["days"]
    assert listed == [{"date": "2026-11-21", "file": entry.file, "rows": 0, "upserts": 0, "deletes": 0,
                       "columns": entry.columns}]
    assert entry.columns
    assert f"read_parquet(['history/prices/{entry.file}'])" in view_sql("prices_changes", paths)
    assert paths.table_dates("prices") == [D1]


def test_the_views_follow_each_new_version_of_a_manifest(tmp_path):
    # the view builder reads a manifest once per version of it: a new day, then a deleted one, show at once
    paths = DataPaths(tmp_path)
    schema = ALL_TABLES["prices"]
    write_table(paths, schema, D1, schema.polars_schema.to_frame())
    assert view_sql("prices_changes", paths).count("'history/prices/") == 1
    write_table(paths, schema, D1 + dt.timedelta(days=1), schema.polars_schema.to_frame())
    assert view_sql("prices_changes", paths).count("'history/prices/") == 2
    assert "DATE '2026-11-22'" in view_sql("prices", paths)
    store.delete_day(paths, schema, D1 + dt.timedelta(days=1))
    assert view_sql("prices_changes", paths).count("'history/prices/") == 1
    assert "DATE '2026-11-21'" in view_sql("prices", paths)

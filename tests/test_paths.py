import datetime as dt
from pathlib import Path

import pytest

from ecodata.paths import DataPaths
from ecodata.sql import view_sql


@pytest.mark.parametrize(("date", "expected"), [
    ("*", "tables/prices/snapshot_date=*/*.parquet"),
    (dt.date(2026, 11, 21), "tables/prices/snapshot_date=2026-11-21/*.parquet"),
    ("<latest>", "tables/prices/snapshot_date=<latest>/*.parquet"),
])
def test_table_glob_is_relative_and_matches_the_partitions(tmp_path, date, expected):
    paths = DataPaths(tmp_path / "data")
    assert paths.table_glob("prices", date) == expected
    assert DataPaths(Path()).table_glob("prices", date) == expected
    if isinstance(date, dt.date):
        assert paths.root / expected == paths.table_partition("prices", date) / "*.parquet"


def test_the_views_read_the_files_through_table_glob(tmp_path):
    paths = DataPaths(tmp_path)
    assert f"read_parquet('{paths.table_glob('prices')}'" in view_sql("prices_history")
    assert f"read_parquet('{paths.table_glob('prices', '<latest>')}'" in view_sql("prices")

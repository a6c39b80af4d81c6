import datetime as dt

import pytest

from ecodata.errors import SnapshotError
from ecodata.paths import DataPaths
from ecodata.snapshot.reader import scan_raw
from ecodata.tables.fixtures import write_raw_snapshot

DATE = dt.date(2026, 4, 1)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_raw_file_is_a_snapshot_error_that_says_what_to_run(tmp_path, damage):
    paths = DataPaths(tmp_path)
    write_raw_snapshot(paths, "tariffs", DATE, [{"id": f"T{i}", "elements": []} for i in range(50)])
    part = paths.raw_partition("tariffs", DATE) / "part-00000.parquet"
    assert scan_raw(paths, "tariffs", DATE).collect().height == 50
    part.write_bytes(part.read_bytes()[:300] if damage == "truncate" else b"not parquet at all")
    with pytest.raises(SnapshotError) as info:
        scan_raw(paths, "tariffs", DATE)
    message = str(info.value)
    assert message.startswith("the tariffs snapshot for 2026-04-01 is damaged (part-00000.parquet: ")
    assert message.endswith("download it again with 'ecodata fetch --endpoint tariffs --date 2026-04-01 --force'")

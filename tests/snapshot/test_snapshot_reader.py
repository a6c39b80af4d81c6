import datetime as dt

import pytest

from ecodata.errors import SnapshotError
from ecodata.paths import DataPaths
from ecodata.snapshot.reader import scan_raw, scan_raw_chunks
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


@pytest.mark.parametrize(("max_records", "max_bytes", "sizes"), [
    (100, 10**9, [100, 30]),            # four 25-record files per chunk, then the rest
    (10, 10**9, [10, 10, 5] * 5 + [5]), # each 25-record file is sliced
    (100, 1, [25] * 5 + [5]),       # one file per chunk when the byte budget is tiny
])
def test_raw_chunks_cover_every_record_once_in_order(tmp_path, max_records, max_bytes, sizes):
    paths = DataPaths(tmp_path)
    write_raw_snapshot(paths, "tariffs", DATE, [{"id": f"T{i}"} for i in range(130)], page_size=25)
    chunks = list(scan_raw_chunks(paths, "tariffs", DATE, max_records=max_records, max_bytes=max_bytes))
    assert [c.records for c in chunks] == sizes
    assert [c.offset for c in chunks] == [sum(sizes[:i]) for i in range(len(sizes))]
    keys = [k for c in chunks for k in c.frame.collect().get_column("record_key").to_list()]
    assert keys == scan_raw(paths, "tariffs", DATE).collect().get_column("record_key").to_list()
    assert keys == [f"T{i}" for i in range(130)]


def test_an_empty_snapshot_is_one_empty_chunk(tmp_path):
    paths = DataPaths(tmp_path)
    write_raw_snapshot(paths, "tariffs", DATE, [])
    chunks = list(scan_raw_chunks(paths, "tariffs", DATE, max_records=10, max_bytes=10))
    assert [(c.offset, c.records, c.frame.collect().height) for c in chunks] == [(0, 0, 0)]

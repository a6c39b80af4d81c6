import datetime as dt
import shutil

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


def _tariffs(paths, n=50, page_size=50):
    write_raw_snapshot(paths, "tariffs", DATE, [{"id": f"T{i}", "elements": []} for i in range(n)],
                       page_size=page_size)
    return paths.raw_partition("tariffs", DATE)


def _cli(paths, *args):
    from click.testing import CliRunner

    from ecodata.cli import cli

    return CliRunner().invoke(cli, ["--data-dir", str(paths.root), *args], env={"CI": "1"})


ADVICE = "download it again with 'ecodata fetch --endpoint tariffs --date 2026-04-01 --force'"


def test_a_data_page_garbled_with_its_footer_intact_stops_transform_and_shows_in_snapshots(tmp_path):
    paths = DataPaths(tmp_path)
    part = _tariffs(paths) / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[100:110] = bytes(b ^ 0xFF for b in data[100:110])  # inside the first data page, footer untouched
    part.write_bytes(bytes(data))
    result = _cli(paths, "transform", "--date", DATE.isoformat())
    assert result.exit_code == 5
    assert result.output.strip() == (
        "ecodata: error: the tariffs snapshot for 2026-04-01 is damaged (part-00000.parquet: its SHA-256 "
        f"differs from the manifest's, the file was changed): {ADVICE}")
    listing = _cli(paths, "snapshots")
    assert listing.exit_code == 0
    lines = listing.output.strip().splitlines()
    assert lines[1].split()[:4] == ["tariffs", "2026-04-01", "damaged", "50"]
    assert lines[-1] == result.output.strip().removeprefix("ecodata: error: ")


@pytest.mark.parametrize(("damage", "why"), [
    ("missing", "part-00001.parquet is missing"),
    ("short", "part-00001.parquet: 3 bytes, the manifest says "),
])
def test_a_missing_or_resized_file_is_named(tmp_path, damage, why):
    paths = DataPaths(tmp_path)
    part = _tariffs(paths, 50, 25) / "part-00001.parquet"
    if damage == "missing":
        part.unlink()
    else:
        part.write_bytes(b"abc")
    with pytest.raises(SnapshotError) as info:
        scan_raw(paths, "tariffs", DATE)
    assert str(info.value).startswith(f"the tariffs snapshot for 2026-04-01 is damaged ({why}")
    assert str(info.value).endswith(ADVICE)


def test_only_the_files_the_manifest_lists_are_read(tmp_path):
    partition = _tariffs(DataPaths(tmp_path))
    shutil.copy(partition / "part-00000.parquet", partition / "part-00005.parquet")
    frame = scan_raw(DataPaths(tmp_path), "tariffs", DATE).collect()
    assert frame.height == 50
    assert frame.get_column("record_key").to_list() == [f"T{i}" for i in range(50)]


@pytest.mark.parametrize(("text", "why"), [
    ("{not json", "not JSON: "),
    ("[]", "a JSON list, not an object"),
    ('{"records": 50, "files": [{"name": "part-00000.parquet"}]}', "a file entry has no valid 'rows'"),
])
def test_a_corrupt_manifest_stops_transform_with_one_line(tmp_path, text, why):
    paths = DataPaths(tmp_path)
    _tariffs(paths)
    paths.raw_manifest("tariffs", DATE).write_text(text)
    result = _cli(paths, "transform", "--date", DATE.isoformat())
    assert result.exit_code == 5
    line = result.output.strip()
    assert line.startswith(f"ecodata: error: the tariffs snapshot for 2026-04-01 is damaged (its _manifest.json "
                           f"is corrupt: {why}")
    assert line.endswith(ADVICE)
    assert "\n" not in line
    listing = _cli(paths, "snapshots").output.strip().splitlines()
    assert listing[1].split()[:3] == ["tariffs", "2026-04-01", "damaged"]
    assert listing[-1] == line.removeprefix("ecodata: error: ")


def test_a_manifest_whose_rows_do_not_add_up_is_refused(tmp_path):
    import orjson

    paths = DataPaths(tmp_path)
    _tariffs(paths)
    manifest = orjson.loads(paths.raw_manifest("tariffs", DATE).read_bytes())
    manifest["records"] = 51
    paths.raw_manifest("tariffs", DATE).write_bytes(orjson.dumps(manifest))
    with pytest.raises(SnapshotError, match=r"damaged \(its files hold 50 records, the manifest says 51\)"):
        scan_raw(paths, "tariffs", DATE)

import datetime as dt
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest

import ecodata
from ecodata.errors import ConfigError, SnapshotDamagedError, SnapshotError
from ecodata.fetch import run_fetch
from ecodata.paths import DataPaths
from ecodata.pipeline import migrate_dataset, prune_dataset
from ecodata.settings import Secret, Settings
from ecodata.simulator import SimulatedData, SimulatorConfig, serve_in_thread
from ecodata.snapshot import list_snapshots, read_manifest
from ecodata.snapshot import store as record_store
from ecodata.snapshot.compact import STEPS, compact_raw
from ecodata.snapshot.schema import ENDPOINTS

DAYS = 10
FIRST = dt.date(2026, 6, 1)
DATES = [FIRST + dt.timedelta(days=d) for d in range(DAYS)]
TOKEN = "store-test-token"


def settings_for(data: Path) -> Settings:
    return Settings.from_env(env={}, data_dir=data)


def disk(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def full_rows(root: Path, endpoint: str, date: dt.date) -> pl.DataFrame:
    """The rows of a full partition as the fetch wrote them: its listed parts, in order."""
    paths = DataPaths(root)
    manifest = read_manifest(paths, endpoint, date)
    return pl.read_parquet([paths.raw_partition(endpoint, date) / f.name for f in manifest.files])


@pytest.fixture(scope="module")
def fetched(tmp_path_factory) -> Path:
    """Ten simulator days fetched over HTTP, every day a full partition (nothing compacted yet)."""
    data = tmp_path_factory.mktemp("store") / "data"
    for day, date in enumerate(DATES):
        truth = SimulatedData(scale="demo", seed=0, day=day)
        with serve_in_thread(SimulatorConfig(scale="demo", seed=0, token=TOKEN, day=day), dataset=truth) as url:
            run_fetch(settings_for(data).with_(base_url=url, token=Secret(TOKEN)), None, date, progress=False)
    return data


@pytest.fixture(scope="module")
def compacted(fetched, tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("compacted") / "data"
    shutil.copytree(fetched, data)
    report = compact_raw(DataPaths(data))
    assert report.compacted == dict.fromkeys(ENDPOINTS, DATES[:-1])
    assert report.problems == []
    return data


def test_every_day_reads_back_byte_for_byte_and_the_disk_shrinks(fetched, compacted):
    ds = ecodata.open(compacted)
    for endpoint in ENDPOINTS:
        for date in DATES:
            expected = full_rows(fetched, endpoint, date)
            got = ds.raw(endpoint, date)
            assert got.schema == expected.schema
            assert got.equals(expected), (endpoint, date)
            # the JSON bytes themselves, not only equal strings after decoding
            assert [r.encode() for r in got["record"]] == [r.encode() for r in expected["record"]]
        assert read_manifest(DataPaths(compacted), endpoint, DATES[0]).layout == "compact"
        assert read_manifest(DataPaths(compacted), endpoint, DATES[-1]).layout == "full"
    full, small = disk(fetched / "raw"), disk(compacted / "raw")
    print(f"\n10 demo days raw: {full / 1e6:.2f} MB as full copies, {small / 1e6:.2f} MB compacted")
    assert small < 0.5 * full


def test_compacted_days_are_listed_with_their_counts(fetched, compacted):
    before = {(s.endpoint, s.snapshot_date): s for s in list_snapshots(DataPaths(fetched))}
    after = list_snapshots(DataPaths(compacted))
    assert len(after) == len(before) == DAYS * len(ENDPOINTS)
    for row in after:
        old = before[(row.endpoint, row.snapshot_date)]
        assert (row.status, row.records, row.pages, row.bytes, row.run_id) == \
               (old.status, old.records, old.pages, old.bytes, old.run_id)
        assert row.layout == ("full" if row.snapshot_date == DATES[-1] else "compact")
    frame = ecodata.open(compacted).snapshots()
    assert frame.filter(pl.col("layout") == "compact").height == (DAYS - 1) * len(ENDPOINTS)


def test_compaction_again_changes_nothing(compacted, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(compacted, data)
    files = sorted(p.relative_to(data) for p in data.rglob("*"))
    assert compact_raw(DataPaths(data)).compacted == {}
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == files


def test_the_newest_day_is_compacted_once_it_is_transformed_and_reads_back_the_same(fetched, compacted, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(compacted, data)
    paths = DataPaths(data)
    # a transform of an older date leaves the newest day full: its own transform still has to read it
    assert compact_raw(paths, transformed=DATES[3]).compacted == {}
    assert read_manifest(paths, "prices", DATES[-1]).layout == "full"
    report = compact_raw(paths, ["prices", "tariffs"], transformed=DATES[-1])
    assert report.compacted == {"prices": [DATES[-1]], "tariffs": [DATES[-1]]}
    assert report.problems == []
    for endpoint in ENDPOINTS:
        expected = "compact" if endpoint in ("prices", "tariffs") else "full"
        assert read_manifest(paths, endpoint, DATES[-1]).layout == expected
    for endpoint in ("prices", "tariffs"):
        assert not list(paths.raw_partition(endpoint, DATES[-1]).glob("part-*.parquet"))
        got = ecodata.open(data).raw(endpoint, DATES[-1])
        assert got.equals(full_rows(fetched, endpoint, DATES[-1])), endpoint


@pytest.mark.parametrize("step", STEPS)
def test_compaction_killed_at_any_step_is_finished_by_a_rerun(fetched, tmp_path, step):
    data = tmp_path / "data"
    shutil.copytree(fetched, data)
    paths = DataPaths(data)
    child = (
        "import datetime as dt, os, signal, sys\n"
        "from pathlib import Path\n"
        "from ecodata.paths import DataPaths\n"
        "from ecodata.snapshot.compact import compact_day\n"
        "def hook(name):\n"
        "    if name == sys.argv[3]:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "paths = DataPaths(Path(sys.argv[1]))\n"
        "compact_day(paths, 'locations', dt.date.fromisoformat(sys.argv[2]))\n"
        "compact_day(paths, 'locations', dt.date.fromisoformat(sys.argv[4]), after_step=hook)\n"
    )
    run = subprocess.run([sys.executable, "-c", child, str(data), DATES[0].isoformat(), step, DATES[1].isoformat()],
                         capture_output=True, timeout=120)
    assert run.returncode == -9, run.stderr.decode()
    ds = ecodata.open(data)
    for date in DATES:  # readable at once, whatever the step
        assert ds.raw("locations", date).equals(full_rows(fetched, "locations", date))
    report = compact_raw(paths, ["locations"])
    assert report.problems == []
    for date in DATES:
        assert read_manifest(paths, "locations", date).layout == ("full" if date == DATES[-1] else "compact")
        assert ds.raw("locations", date).equals(full_rows(fetched, "locations", date))
        listed = {f.name for f in read_manifest(paths, "locations", date).files} | {"_manifest.json"}
        assert {f.name for f in paths.raw_partition("locations", date).iterdir()} == listed
    store = record_store.load_store(paths, "locations")
    assert {f.name for f in paths.raw_store_dir("locations").iterdir()} == {f.name for f in store.files} | {"_store.json"}
    versions = pl.read_parquet(record_store.store_paths(paths, store)).select("record_key", "hash")
    assert not versions.is_duplicated().any()


def test_prune_collects_the_versions_no_kept_day_uses(fetched, compacted, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(compacted, data)
    paths = DataPaths(data)
    stored = sum(f.rows for f in record_store.load_store(paths, "connector_prices").files)
    lines = prune_dataset(settings_for(data), DATES[6])
    assert any("record versions no kept day uses" in line for line in lines), lines
    assert paths.raw_dates("connector_prices") == DATES[6:]
    store = record_store.load_store(paths, "connector_prices")
    left = pl.read_parquet(record_store.store_paths(paths, store))
    assert left.height < stored
    used = pl.concat([pl.read_parquet(paths.raw_partition("connector_prices", d) / f.name).select("version")
                      for d in DATES[6:-1] for f in read_manifest(paths, "connector_prices", d).files]).unique()
    assert set(left["version"]) == set(used["version"])
    ds = ecodata.open(data)
    for endpoint in ENDPOINTS:
        for date in DATES[6:]:
            assert ds.raw(endpoint, date).equals(full_rows(fetched, endpoint, date))


def test_migrate_compacts_a_directory_of_full_days_once(fetched, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(fetched, data)
    lines = migrate_dataset(settings_for(data))
    assert any(line.startswith("raw: compacted 36 day(s)") for line in lines), lines
    again = migrate_dataset(settings_for(data))
    assert any("no raw day to compact" in line for line in again), again
    ds = ecodata.open(data)
    for endpoint in ENDPOINTS:
        for date in DATES:
            assert ds.raw(endpoint, date).equals(full_rows(fetched, endpoint, date))


def _rewrite_store_file(paths: DataPaths, endpoint: str, edit) -> None:
    """Edit the first store file and make its list entry match again (a tampering no checksum sees)."""
    manifest = paths.raw_store_manifest(endpoint)
    listed = orjson.loads(manifest.read_bytes())
    entry = listed["files"][0]
    file = paths.raw_store_dir(endpoint) / entry["name"]
    table = edit(pq.read_table(file))
    pq.write_table(table, file)
    data = file.read_bytes()
    entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), rows=table.num_rows)
    manifest.write_bytes(orjson.dumps(listed))


def test_a_changed_record_is_caught_by_its_hash(compacted, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(compacted, data)
    paths = DataPaths(data)

    def garble(table):
        import pyarrow as pa
        records = table.column("record").to_pylist()
        records[0] = records[0].replace('"', "'", 1)
        return table.set_column(table.schema.get_field_index("record"), "record", pa.array(records, pa.large_string()))

    _rewrite_store_file(paths, "prices", garble)
    with pytest.raises(SnapshotDamagedError, match="1 records differ from their stored BLAKE2b"):
        ecodata.open(data).raw("prices", DATES[0])


def test_a_missing_version_and_a_damaged_store_file_are_one_error(compacted, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(compacted, data)
    paths = DataPaths(data)
    _rewrite_store_file(paths, "tariffs", lambda table: table.slice(1))
    with pytest.raises(SnapshotDamagedError, match="record versions are not in the record store"):
        ecodata.open(data).raw("tariffs", DATES[0])
    store_file = record_store.store_paths(paths, record_store.load_store(paths, "prices"))[0]
    store_file.write_bytes(store_file.read_bytes()[:-1] + b"x")
    with pytest.raises(SnapshotDamagedError, match=r"record store: .*SHA-256 differs") as err:
        ecodata.open(data).raw("prices", DATES[3])
    assert "ecodata fetch --endpoint prices" in str(err.value)
    status = {(s.endpoint, s.snapshot_date): s.status for s in list_snapshots(paths)}
    assert status[("prices", DATES[3])] == "damaged"
    assert status[("prices", DATES[-1])] == "complete"  # the newest day is full, it needs no store
    assert compact_raw(paths).problems == []  # nothing left to compact: every older day is compacted


def test_raw_refuses_an_unknown_endpoint_or_day(compacted):
    ds = ecodata.open(compacted)
    with pytest.raises(ConfigError, match="unknown endpoint 'price'"):
        ds.raw("price", DATES[0])
    with pytest.raises(SnapshotError, match="no complete prices snapshot for 2026-05-31"):
        ds.raw("prices", "2026-05-31")
    assert ds.raw("prices", DATES[2].isoformat()).height == read_manifest(DataPaths(compacted), "prices", DATES[2]).records


def test_empty_days_repeated_keys_and_reverted_records_round_trip(tmp_path):
    from ecodata.tables.fixtures import write_raw_snapshot

    paths = DataPaths(tmp_path)
    a, b = '{"id": "A", "v": 1}', '{"id": "B", "v": 1}'
    days = {
        DATES[0]: [],
        DATES[1]: [a, b, a, '{"id": "A", "v": 2}'],       # the same record twice, and a second version of A
        DATES[2]: ['{"id": "A", "v": 2}', b],
        DATES[3]: [a, '{"id": "B",  "v": 1}'],            # A back to its first version; B with other bytes
        DATES[4]: [b],
    }
    for date, records in days.items():
        write_raw_snapshot(paths, "tariffs", date, records, page_size=2)
    expected = {date: full_rows(tmp_path, "tariffs", date) for date in days}
    assert compact_raw(paths).compacted == {"tariffs": DATES[:4]}
    ds = ecodata.open(tmp_path)
    for date in days:
        got = ds.raw("tariffs", date)
        assert got.equals(expected[date]), date
    store = record_store.load_store(paths, "tariffs")
    versions = pl.read_parquet(record_store.store_paths(paths, store))
    # A v1, B, A v2, B with other whitespace: each distinct (key, JSON) once, the revert reused
    assert versions.height == 4
    assert versions["record"].to_list() == [a, b, '{"id": "A", "v": 2}', '{"id": "B",  "v": 1}']


def test_a_forced_fetch_replaces_a_compacted_day_and_the_collection_drops_its_versions(fetched, compacted, tmp_path):
    from ecodata.snapshot.compact import collect_garbage

    data = tmp_path / "data"
    shutil.copytree(compacted, data)
    paths = DataPaths(data)
    day = 8  # the simulator's day 8 again, as a full partition
    truth = SimulatedData(scale="demo", seed=0, day=day)
    with serve_in_thread(SimulatorConfig(scale="demo", seed=0, token=TOKEN, day=day), dataset=truth) as url:
        run_fetch(settings_for(data).with_(base_url=url, token=Secret(TOKEN)), ["tariffs"], DATES[3], force=True,
                  progress=False)
    assert read_manifest(paths, "tariffs", DATES[3]).layout == "full"
    ds = ecodata.open(data)
    same = ["record", "record_key", "page", "page_index", "api_version"]  # another port and fetch time
    assert ds.raw("tariffs", DATES[3]).select(same).equals(full_rows(fetched, "tariffs", DATES[8]).select(same))
    replaced = ds.raw("tariffs", DATES[3])
    store = record_store.load_store(paths, "tariffs")
    stored = set(pl.read_parquet(record_store.store_paths(paths, store))["version"])
    used = set(pl.concat([pl.read_parquet(paths.raw_partition("tariffs", d) / f.name) for d in DATES
                          if read_manifest(paths, "tariffs", d).layout == "compact"
                          for f in read_manifest(paths, "tariffs", d).files])["version"])
    assert collect_garbage(paths, "tariffs") == len(stored - used)  # the versions only the replaced day used
    assert set(pl.read_parquet(record_store.store_paths(paths, record_store.load_store(paths, "tariffs")))
               ["version"]) == used
    compact_raw(paths, ["tariffs"])
    assert read_manifest(paths, "tariffs", DATES[3]).layout == "compact"
    for date in DATES:
        want = replaced if date == DATES[3] else full_rows(fetched, "tariffs", date)
        assert ds.raw("tariffs", date).equals(want), date


def test_a_read_back_that_differs_in_a_later_slice_keeps_the_day_full(fetched, tmp_path, monkeypatch):
    """The verification reads the day back slice by slice: a difference in any slice stops the
    compaction before the manifest changes, and the day stays full and readable."""
    from ecodata.snapshot import compact

    data = tmp_path / "data"
    shutil.copytree(fetched, data)
    paths = DataPaths(data)
    date = DATES[0]
    records = read_manifest(paths, "locations", date).records_received
    monkeypatch.setattr(compact, "VERIFY_RECORDS", max(1, records // 3))
    scan, calls = record_store.scan_compact, []

    def altered_second_slice(index, files, *, with_hash=False):
        calls.append(index.height)
        frame = scan(index, files, with_hash=with_hash)
        if len(calls) == 2:  # the first slice reads back right, the second does not
            frame = frame.with_columns(pl.col("record").str.replace("}$", " }"))
        return frame

    monkeypatch.setattr(record_store, "scan_compact", altered_second_slice)
    with pytest.raises(SnapshotError, match="would not reproduce it"):
        compact.compact_day(paths, "locations", date)
    assert len(calls) == 2
    assert read_manifest(paths, "locations", date).layout == "full"
    assert ecodata.open(data).raw("locations", date).equals(full_rows(fetched, "locations", date))

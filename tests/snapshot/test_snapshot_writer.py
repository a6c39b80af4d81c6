import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fetch"))
from fetch_fake_api import TOKEN, FakeApi, make_records

from ecodata.cli import format_snapshots
from ecodata.errors import ApiStatusError, SnapshotError
from ecodata.fetch import RetryPolicy, run_fetch
from ecodata.paths import DataPaths
from ecodata.settings import Secret, Settings
from ecodata.snapshot import list_snapshots, read_manifest
from ecodata.snapshot import writer as writer_module
from ecodata.snapshot.reader import scan_raw
from ecodata.snapshot.schema import RAW_SCHEMA, record_key
from ecodata.snapshot.writer import page_table

DATE = dt.date(2026, 4, 1)
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.001)


def settings_for(tmp_path: Path, concurrency: int = 4) -> Settings:
    return Settings(base_url="http://fake", token=Secret(TOKEN), data_dir=tmp_path, concurrency=concurrency)


def failing_once(api: FakeApi, fail: Any) -> httpx.MockTransport:
    """Answer HTTP 400 (not retried) to the first request matching ``fail(params)``; later ones pass."""
    state = {"failed": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if not state["failed"] and fail(dict(request.url.params)):
            state["failed"] = True
            api.requests.append(request)
            return httpx.Response(400, content=b'{"status_code": 2001, "status_message": "boom"}')
        return api.handle(request)

    return httpx.MockTransport(handler)


def all_records(tmp_path: Path, endpoint: str) -> list[Any]:
    frame = scan_raw(DataPaths(tmp_path), endpoint, DATE).collect().sort("page", "page_index")
    return [orjson.loads(r) for r in frame["record"]]


@pytest.mark.parametrize(("endpoint", "fail_on"), [
    ("connector_prices", lambda p: p.get("last_record") is not None and p["last_record"] == "Mzk="),  # page 4
    ("locations", lambda p: p.get("offset") == "39"),  # page 4 (each page after the first starts one record early)
])
def test_interrupted_run_resumes_without_refetching_stored_pages(tmp_path: Path, endpoint: str,
                                                                  fail_on: Any) -> None:
    api = FakeApi({endpoint: make_records(endpoint, 95)})
    with pytest.raises(ApiStatusError, match="boom"):
        run_fetch(settings_for(tmp_path, concurrency=1), [endpoint], DATE,
                  transport=failing_once(api, fail_on), page_limit=10, retry=FAST, progress=False)
    paths = DataPaths(tmp_path)
    assert not paths.raw_partition(endpoint, DATE).exists()
    staged = [s for s in list_snapshots(paths) if s.status == "incomplete"]
    assert [(s.endpoint, s.pages, s.records) for s in staged] == [(endpoint, 4, 40)]
    first_run = len(api.requests)
    report = run_fetch(settings_for(tmp_path, concurrency=1), [endpoint], DATE, transport=api.transport(),
                       page_limit=10, retry=FAST, progress=False)
    result = report.result(endpoint)
    assert (result.status, result.pages, result.pages_downloaded, result.records) == ("resumed", 10, 6, 95)
    assert len(api.requests) - first_run == 6
    assert all_records(tmp_path, endpoint) == api.records[endpoint]
    manifest = read_manifest(paths, endpoint, DATE)
    assert manifest.attempts == 2
    assert not paths.raw_staging(endpoint, DATE).exists()


def test_page_without_checkpoint_is_fetched_again(tmp_path: Path) -> None:
    api = FakeApi({"prices": make_records("prices", 30)})
    with pytest.raises(ApiStatusError):
        run_fetch(settings_for(tmp_path, 1), ["prices"], DATE, page_limit=10, retry=FAST, progress=False,
                  transport=failing_once(api, lambda p: p.get("last_record") == "MTk="))  # page 2
    pages_dir = DataPaths(tmp_path).raw_staging("prices", DATE) / "pages"
    (pages_dir / "page-000001.json").unlink()  # killed after the Parquet file, before its checkpoint
    before = len(api.requests)
    result = run_fetch(settings_for(tmp_path, 1), ["prices"], DATE, transport=api.transport(), page_limit=10,
                       retry=FAST, progress=False).result("prices")
    assert [r.url.params.get("last_record") for r in api.requests[before:]] == ["OQ==", "MTk="]
    assert (result.records, result.pages_downloaded) == (30, 2)
    assert all_records(tmp_path, "prices") == api.records["prices"]


def test_commit_killed_after_manifest_is_finished_without_requests(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi({"tariffs": make_records("tariffs", 12)})
    real_publish = writer_module._publish

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "_publish", killed)
    with pytest.raises(KeyboardInterrupt):
        run_fetch(settings_for(tmp_path), ["tariffs"], DATE, transport=api.transport(), page_limit=5,
                  progress=False)
    paths = DataPaths(tmp_path)
    assert paths.raw_dates("tariffs") == []
    monkeypatch.setattr(writer_module, "_publish", real_publish)
    before = len(api.requests)
    result = run_fetch(settings_for(tmp_path), ["tariffs"], DATE, transport=api.transport(), page_limit=5,
                       progress=False).result("tariffs")
    assert len(api.requests) == before
    assert (result.status, result.records) == ("resumed", 12)
    assert paths.raw_dates("tariffs") == [DATE]


def test_manifest_describes_the_files(tmp_path: Path) -> None:
    api = FakeApi({"connector_prices": make_records("connector_prices", 47)})
    run_fetch(settings_for(tmp_path), ["connector_prices"], DATE, transport=api.transport(), page_limit=10,
              progress=False)
    paths = DataPaths(tmp_path)
    partition = paths.raw_partition("connector_prices", DATE)
    manifest = read_manifest(paths, "connector_prices", DATE)
    names = sorted(p.name for p in partition.iterdir())
    assert names == ["_manifest.json"] + [f"part-0000{i}.parquet" for i in range(5)]
    assert [f.name for f in manifest.files] == names[1:]
    for f in manifest.files:
        data = (partition / f.name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f.bytes, f.sha256)
        assert pq.ParquetFile(partition / f.name).metadata.num_rows == f.rows
        assert pq.read_schema(partition / f.name).equals(RAW_SCHEMA)
    latest_part = max((partition / f.name).stat().st_mtime_ns for f in manifest.files)
    assert (partition / "_manifest.json").stat().st_mtime_ns >= latest_part
    assert (manifest.status, manifest.pages, manifest.records, manifest.duplicates) == ("complete", 5, 47, 0)
    assert (manifest.pagination, manifest.page_limit, manifest.totals_announced) == ("cursor", 10, [47])
    assert manifest.bytes == sum(f.bytes for f in manifest.files)
    assert manifest.request_path == "/prices/connector_prices"


def test_complete_date_left_alone_unless_forced(tmp_path: Path) -> None:
    records = make_records("prices", 8)
    api = FakeApi({"prices": records})
    s = settings_for(tmp_path)
    run_fetch(s, ["prices"], DATE, transport=api.transport(), progress=False)
    records.append({"id": "LATE", "value": 0})
    again = run_fetch(s, ["prices"], DATE, transport=api.transport(), progress=False).result("prices")
    assert (again.status, again.records, len(api.requests)) == ("skipped", 8, 1)
    forced = run_fetch(s, ["prices"], DATE, transport=api.transport(), force=True, progress=False)
    assert (forced.result("prices").status, forced.result("prices").records) == ("fetched", 9)
    assert all_records(tmp_path, "prices")[-1] == {"id": "LATE", "value": 0}
    assert DataPaths(tmp_path).raw_dates("prices") == [DATE]
    assert not (tmp_path / "raw" / "prices" / "_staging").exists()


def test_staging_with_other_parameters_is_discarded(tmp_path: Path) -> None:
    api = FakeApi({"prices": make_records("prices", 30)})
    with pytest.raises(ApiStatusError):
        run_fetch(settings_for(tmp_path, 1), ["prices"], DATE, page_limit=10, retry=FAST, progress=False,
                  transport=failing_once(api, lambda p: p.get("last_record") == "MTk="))
    result = run_fetch(settings_for(tmp_path, 1), ["prices"], DATE, transport=api.transport(), page_limit=15,
                       progress=False).result("prices")
    assert (result.status, result.pages, result.pages_downloaded, result.records) == ("fetched", 2, 2, 30)
    assert any("discarded an unfinished prices run" in w for w in result.warnings)


def test_listing_and_format(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    assert format_snapshots(list_snapshots(paths)) == "no snapshots yet: run 'ecodata fetch'"
    api = FakeApi({"tariffs": make_records("tariffs", 3), "prices": make_records("prices", 20)})
    run_fetch(settings_for(tmp_path), ["tariffs"], DATE, transport=api.transport(), progress=False)
    with pytest.raises(ApiStatusError):
        run_fetch(settings_for(tmp_path, 1), ["prices"], DATE, page_limit=10, retry=FAST, progress=False,
                  transport=failing_once(api, lambda p: p.get("last_record") == "OQ=="))
    rows = list_snapshots(paths)
    assert [(r.endpoint, r.status, r.records, r.pages) for r in rows] == [
        ("prices", "incomplete", 10, 1), ("tariffs", "complete", 3, 1)]
    lines = format_snapshots(rows).splitlines()
    assert lines[0].split() == ["endpoint", "date", "status", "records", "pages", "MB", "duplicates", "drift"]
    assert lines[2].split()[:5] == ["tariffs", "2026-04-01", "complete", "3", "1"]


def test_read_manifest_missing_and_corrupt(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path)
    with pytest.raises(SnapshotError, match="incomplete; run 'ecodata fetch'"):
        read_manifest(paths, "prices", DATE)
    paths.raw_partition("prices", DATE).mkdir(parents=True)
    paths.raw_manifest("prices", DATE).write_text("{not json")
    with pytest.raises(SnapshotError, match="is corrupt"):
        read_manifest(paths, "prices", DATE)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
records_strategy = st.lists(st.dictionaries(st.sampled_from(["id", "x", "\u00fcml", "n"]), json_values), max_size=8)


@settings(max_examples=60, deadline=None)
@given(records=records_strategy)
def test_page_rows_round_trip(records: list[dict[str, Any]]) -> None:
    fetched = dt.datetime(2026, 4, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    raw = [orjson.dumps(r) for r in records]
    keys = [record_key(r, ("id", "n")) for r in records]
    table = page_table(raw, keys, page=3, url="http://h/p?limit=5", fetched_at=fetched, api_version="prices")
    assert table.schema.equals(RAW_SCHEMA)
    assert [orjson.loads(r) for r in table.column("record").to_pylist()] == records
    assert table.column("page_index").to_pylist() == list(range(len(records)))
    assert table.column("page").to_pylist() == [3] * len(records)
    assert table.column("record_key").to_pylist() == keys
    assert set(table.column("fetched_at").to_pylist()) <= {fetched}
    assert set(table.column("request_url").to_pylist()) <= {"http://h/p?limit=5"}


def test_page_rows_from_buffers_and_non_ascii_text() -> None:
    """Records may be any bytes-like slices; keys, URL and version keep non-ASCII text intact."""
    body = b'[{"id":"\xc3\xa9"},{"id":"b"}]'
    raw = [memoryview(body)[1:12], memoryview(body)[13:-1]]
    fetched = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    table = page_table(raw, ["\u00e9|x", "b|"], page=0, url="http://h/\u00fc?a=1", fetched_at=fetched,
                       api_version="")
    assert table.column("record").to_pylist() == ['{"id":"\u00e9"}', '{"id":"b"}']
    assert table.column("record_key").to_pylist() == ["\u00e9|x", "b|"]
    assert table.column("request_url").to_pylist() == ["http://h/\u00fc?a=1"] * 2
    assert table.column("api_version").to_pylist() == ["", ""]
    empty = page_table([], [], page=1, url="u", fetched_at=fetched, api_version="prices")
    assert (empty.num_rows, empty.schema.equals(RAW_SCHEMA)) == (0, True)


@pytest.mark.parametrize(("record", "key"), [
    ({"id": "a", "n": 1}, "a|1"), ({"id": None}, "|"), ({}, "|"), ({"id": 2.5, "n": True}, "2.5|true"),
    ({"id": {"x": [1]}, "n": "z"}, '{"x":[1]}|z'),
])
def test_record_key(record: dict[str, Any], key: str) -> None:
    assert record_key(record, ("id", "n")) == key


def test_second_writer_of_the_same_snapshot_is_refused(tmp_path: Path) -> None:
    api = FakeApi({"prices": make_records("prices", 5), "tariffs": make_records("tariffs", 5)})
    paths = DataPaths(tmp_path)
    with writer_module.writer_lock(paths, "prices", DATE):
        with pytest.raises(SnapshotError, match="another 'ecodata fetch' is writing the prices snapshot"):
            run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), progress=False)
        other = run_fetch(settings_for(tmp_path), ["tariffs"], DATE, transport=api.transport(), progress=False)
        assert other.result("tariffs").records == 5
    assert not paths.raw_lock("prices", DATE).exists()
    done = run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), progress=False)
    assert done.result("prices").records == 5
    assert not (tmp_path / "raw" / "prices" / "_staging").exists()

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import orjson
import pytest
from fetch_fake_api import TOKEN, FakeApi, make_records

from ecodata.errors import PaginationError
from ecodata.fetch import RetryPolicy, run_fetch
from ecodata.paths import DataPaths
from ecodata.settings import Secret, Settings
from ecodata.snapshot import read_manifest
from ecodata.snapshot.reader import scan_raw

DATE = dt.date(2026, 3, 2)
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.001)


def settings_for(tmp_path: Path, concurrency: int = 4) -> Settings:
    return Settings(base_url="http://fake", token=Secret(TOKEN), data_dir=tmp_path, concurrency=concurrency)


def fetch(tmp_path: Path, api: FakeApi, endpoint: str, page_limit: int = 10, concurrency: int = 4):  # type: ignore[no-untyped-def]
    return run_fetch(settings_for(tmp_path, concurrency), [endpoint], DATE, transport=api.transport(),
                     page_limit=page_limit, retry=FAST, progress=False).result(endpoint)


def test_repeated_cursor_stops(tmp_path: Path) -> None:
    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if params.get("last_record"):
            headers["X-Last-Record"] = params["last_record"]  # the server hands back the same cursor

    api = FakeApi({"prices": make_records("prices", 100)}, hook=hook)
    with pytest.raises(PaginationError, match=r"prices: the server repeated the cursor .* after page 1"):
        fetch(tmp_path, api, "prices")
    assert api.data_requests == 2
    assert not DataPaths(tmp_path).raw_partition("prices", DATE).exists()


def test_endless_fresh_cursors_stop(tmp_path: Path) -> None:
    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        headers["X-Last-Record"] = f"fresh-{n}"  # a new cursor every time, the crawl never ends
        headers["X-Total-Count"] = "30"

    api = FakeApi({"prices": make_records("prices", 30)}, hook=hook)
    api.records["prices"] = api.records["prices"] * 1
    with pytest.raises(PaginationError, match="does not end"):
        run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=httpx.MockTransport(
            lambda r: api.handle(_reset_cursor(r))), page_limit=10, retry=FAST, progress=False)
    assert api.data_requests == 2 * 3 + 10


def _reset_cursor(request: httpx.Request) -> httpx.Request:
    url = request.url.copy_remove_param("last_record")
    return httpx.Request(request.method, url, headers=request.headers)


def test_repeated_link_stops(tmp_path: Path) -> None:
    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        del headers["X-Total-Count"]  # no total: the client follows Link one page at a time
        headers["Link"] = '<http://fake/x?offset=10&limit=10>; rel="next"'

    api = FakeApi({"locations": make_records("locations", 100)}, hook=hook)
    with pytest.raises(PaginationError, match="Link after page 1 repeats an earlier page"):
        fetch(tmp_path, api, "locations")
    assert api.data_requests == 2


def test_link_without_total_is_followed(tmp_path: Path) -> None:
    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        del headers["X-Total-Count"]

    api = FakeApi({"tariffs": make_records("tariffs", 35)}, hook=hook)
    result = fetch(tmp_path, api, "tariffs")
    assert (result.records, result.pages, result.drift) == (35, 4, False)
    assert read_manifest(DataPaths(tmp_path), "tariffs", DATE).pagination == "link"
    assert [r.url.params["offset"] for r in api.requests] == ["0", "10", "20", "30"]


def test_link_above_maximum_limit_is_clamped_and_reported(tmp_path: Path) -> None:
    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        del headers["X-Total-Count"]
        if "Link" in headers:
            offset = int(params.get("offset", "0")) + 10
            headers["Link"] = f'<http://fake/x?offset={offset}&limit=5000>; rel="next"'

    api = FakeApi({"locations": make_records("locations", 25)}, hook=hook)
    result = fetch(tmp_path, api, "locations")
    assert result.records == 25
    assert {r.url.params["limit"] for r in api.requests} == {"10"}
    assert "page 0: the Link asks for limit=5000, above the maximum 1000; used limit=10" in result.warnings


def test_total_count_change_is_reported_and_growth_fetched(tmp_path: Path) -> None:
    records = make_records("locations", 40)
    api = FakeApi({"locations": records})

    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if n == 2:  # the data grows during the crawl
            records.extend(make_records("locations", 55)[40:])
            headers["X-Total-Count"] = "55"

    api.hook = hook
    result = fetch(tmp_path, api, "locations", concurrency=1)
    manifest = read_manifest(DataPaths(tmp_path), "locations", DATE)
    assert manifest.totals_announced == [40, 55]
    assert manifest.drift
    assert result.records == 55
    assert any("X-Total-Count changed from 40 to 55" in w for w in manifest.warnings)


def test_short_page_before_the_end_is_reported(tmp_path: Path) -> None:
    records = make_records("tariffs", 30)
    api = FakeApi({"tariffs": records})

    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if params.get("offset") == "9":  # page 1 (pages overlap by one record)
            del records[12]  # a record vanishes: page 1 comes back short, total drops

    api.hook = hook
    result = fetch(tmp_path, api, "tariffs", concurrency=1)
    assert result.drift
    assert any("short page" in w or "changed from 30 to 29" in w for w in result.warnings)


def test_offset_drift_duplicates_keep_last_copy(tmp_path: Path) -> None:
    records = make_records("locations", 30)
    api = FakeApi({"locations": records})

    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if params.get("offset") == "9":  # page 1 (pages overlap by one): an insert at the front shifts later records
            records.insert(0, {"id": "NEW", "value": -1})
            records[20] = {**records[20], "value": "updated"}  # served again on page 2, changed

    api.hook = hook
    result = fetch(tmp_path, api, "locations", concurrency=1)
    frame = scan_raw(DataPaths(tmp_path), "locations", DATE).collect()
    keys = frame["record_key"].to_list()
    assert len(keys) == len(set(keys))
    assert result.duplicates == 1
    manifest = read_manifest(DataPaths(tmp_path), "locations", DATE)
    assert (manifest.records, manifest.records_received, manifest.duplicates) == (30, 31, 1)  # "NEW" slid in behind the crawl: offset paging cannot see it
    dup = frame.filter(frame["record_key"] == records[20]["id"])
    assert dup.height == 1
    assert orjson.loads(dup["record"][0])["value"] == "updated"  # the later page's copy was kept
    assert dup["page"][0] == 2


def test_offset_pages_run_concurrently_within_the_limit(tmp_path: Path) -> None:
    api = FakeApi({"locations": make_records("locations", 200), "prices": make_records("prices", 60)})
    in_flight = {"now": 0, "max": 0, "cursor_now": 0, "cursor_max": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.path == "/prices"
        in_flight["now"] += 1
        in_flight["cursor_now"] += cursor
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        in_flight["cursor_max"] = max(in_flight["cursor_max"], in_flight["cursor_now"])
        await asyncio.sleep(0.005)
        in_flight["now"] -= 1
        in_flight["cursor_now"] -= cursor
        return api.handle(request)

    report = run_fetch(settings_for(tmp_path, concurrency=3), ["locations", "prices"], DATE,
                       transport=httpx.MockTransport(handler), page_limit=10, retry=FAST, progress=False)
    assert in_flight["max"] == 3
    assert in_flight["cursor_max"] == 1
    assert report.result("locations").records == 200
    assert report.result("prices").records == 60


@pytest.mark.parametrize("endpoint", ["locations", "prices"])
def test_server_page_cap_is_adopted(tmp_path: Path, endpoint: str) -> None:
    api = FakeApi({endpoint: make_records(endpoint, 25)}, cap=7)
    result = fetch(tmp_path, api, endpoint, page_limit=10, concurrency=2)
    assert result.records == 25
    assert scan_raw(DataPaths(tmp_path), endpoint, DATE).collect()["record_key"].n_unique() == 25
    assert not any("short page" in w for w in result.warnings)
    if endpoint == "locations":
        assert result.warnings == ["page 0: the server caps pages at X-Limit=7 (asked for 10); paging by 7"]
        # pages of 7 records, each after the first starting on the previous page's last record
        assert sorted(int(r.url.params["offset"]) for r in api.requests) == [0, 6, 12, 18]

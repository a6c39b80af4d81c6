import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
from fetch_sim_server import serve

from ecodata.errors import PaginationError
from ecodata.fetch import run_fetch
from ecodata.paths import DataPaths
from ecodata.settings import Secret, Settings
from ecodata.simulator import FaultSpec, SimulatedData, SimulatorConfig, create_app
from ecodata.snapshot import read_manifest
from ecodata.snapshot.reader import scan_raw
from ecodata.snapshot.schema import ENDPOINT_KEYS

DATE = dt.date(2026, 5, 4)
TOKEN = "sim-token"


def settings_for(base_url: str, data_dir: Path, **changes: object) -> Settings:
    return Settings(base_url=base_url, token=Secret(TOKEN), data_dir=data_dir).with_(**changes)


def _key(record: dict[str, Any], endpoint: str) -> str:
    return "|".join(str(record[k]) for k in ENDPOINT_KEYS[endpoint])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_offset_crawl_under_drift_stores_every_record_that_existed_throughout(tmp_path: Path, seed: int) -> None:
    app = create_app(SimulatorConfig(scale="demo", seed=seed, token=TOKEN, faults=FaultSpec.parse("mutate=0.2")))
    with serve(app) as url:
        report = run_fetch(settings_for(url, tmp_path), ["locations", "tariffs"], DATE, page_limit=50,
                           progress=False)
    base = SimulatedData("demo", seed, 0)
    paths = DataPaths(tmp_path)
    for endpoint in ("locations", "tariffs"):
        frame = scan_raw(paths, endpoint, DATE).collect()
        stored = set(frame["record_key"])
        assert len(stored) == frame.height, endpoint
        deleted = set(app.view(endpoint).deleted)
        survivors = {_key(base.record(endpoint, i), endpoint) for i in range(base.count(endpoint)) if i not in deleted}
        assert survivors - stored == set(), endpoint
        manifest = read_manifest(paths, endpoint, DATE)
        assert manifest.records == frame.height
    assert app.faults.counts["mutate"] > 0
    assert report.result("locations").records == read_manifest(paths, "locations", DATE).records


def test_a_clean_offset_crawl_reads_each_record_once_and_proves_itself_from_checkpoints(tmp_path: Path) -> None:
    with serve(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN))) as url:
        report = run_fetch(settings_for(url, tmp_path), ["locations"], DATE, page_limit=50, progress=False)
    result = report.result("locations")
    manifest = read_manifest(DataPaths(tmp_path), "locations", DATE)
    assert (result.records, result.pages, result.pages_downloaded) == (1000, 20, 20)
    assert (manifest.records_received, manifest.duplicates, manifest.drift, manifest.warnings) == (1000, 0, False, [])
    assert manifest.body_bytes > 0


def test_data_moving_faster_than_the_re_reads_fails_loudly_and_commits_nothing(tmp_path: Path) -> None:
    from fetch_fake_api import TOKEN as FAKE_TOKEN
    from fetch_fake_api import FakeApi, make_records

    records = make_records("locations", 60)
    api = FakeApi({"locations": records})

    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if n > 0:  # every request after the first: ten records vanish at the front, ten are added at the end
            del records[:10]
            records.extend({"id": f"NEW{n}-{i}", "value": i} for i in range(10))

    api.hook = hook
    settings = Settings(base_url="http://fake", token=Secret(FAKE_TOKEN), data_dir=tmp_path, concurrency=1)
    with pytest.raises(PaginationError, match=r"locations: the data kept moving during the offset crawl; after \d+ "
                                              r"re-reads \d+ gap\(s\) between pages remain, so records may be "
                                              r"missing; nothing was committed"):
        run_fetch(settings, ["locations"], DATE, transport=api.transport(), page_limit=10, progress=False)
    assert not DataPaths(tmp_path).raw_partition("locations", DATE).exists()


def test_a_record_shifted_past_a_page_boundary_is_re_read(tmp_path: Path) -> None:
    from fetch_fake_api import TOKEN as FAKE_TOKEN
    from fetch_fake_api import FakeApi, make_records

    records = make_records("tariffs", 30)
    api = FakeApi({"tariffs": records})
    skipped = records[10]

    def hook(n: int, endpoint: str, params: dict[str, str], headers: dict[str, str]) -> None:
        if params.get("offset") == "9" and records[0]["id"] != "gone":
            del records[0]  # before page 1 is served: record 10 slides onto page 0's range, which was read
            records.insert(25, {"id": "gone", "value": 0})  # and one is added further on: the total stays 30

    api.hook = hook
    settings = Settings(base_url="http://fake", token=Secret(FAKE_TOKEN), data_dir=tmp_path, concurrency=1)
    result = run_fetch(settings, ["tariffs"], DATE, transport=api.transport(), page_limit=10,
                       progress=False).result("tariffs")
    frame = scan_raw(DataPaths(tmp_path), "tariffs", DATE).collect()
    stored = [orjson.loads(r) for r in frame["record"]]
    assert skipped in stored
    assert {r["id"] for r in stored} >= {r["id"] for r in records}
    assert result.drift
    assert any("re-read at offset" in w for w in result.warnings)

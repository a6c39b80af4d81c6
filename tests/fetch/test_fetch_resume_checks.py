import datetime as dt
import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from fetch_fake_api import TOKEN as FAKE_TOKEN
from fetch_fake_api import FakeApi, make_records
from fetch_sim_server import serve

from ecodata.errors import ApiStatusError, ConfigError
from ecodata.fetch import RetryPolicy, run_fetch
from ecodata.fetch import _client as client_module
from ecodata.paths import DataPaths
from ecodata.settings import Secret, Settings
from ecodata.simulator import SimulatedData, SimulatorConfig, create_app
from ecodata.snapshot import read_manifest
from ecodata.snapshot.reader import scan_raw

DATE = dt.date(2026, 5, 4)
SIM_TOKEN = "sim-token"
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.001)


class FailNth:
    """Answers HTTP 400 (not retried) to the n-th request of each listed path; passes everything else."""

    def __init__(self, app: Any, nth: dict[str, int]) -> None:
        self.app, self.nth, self.seen = app, nth, dict.fromkeys(nth, 0)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path in self.nth:
            self.seen[path] += 1
            if self.seen[path] == self.nth[path]:
                body = b'{"status_code": 2001, "status_message": "boom"}'
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def sim_settings(url: str, data_dir: Path) -> Settings:
    return Settings(base_url=url, token=Secret(SIM_TOKEN), data_dir=data_dir, concurrency=1)


def test_a_resume_after_the_data_changed_starts_over_and_matches_the_new_day(tmp_path: Path) -> None:
    day0 = create_app(SimulatorConfig(scale="demo", seed=0, token=SIM_TOKEN, day=0))
    server = FailNth(day0, {"/api/ocpi/cpo/2.1.1/locations": 5, "/api/ocpi/cpo/2.1.1/tariffs": 2})
    paths = DataPaths(tmp_path)
    with serve(server) as url:
        with pytest.raises(ApiStatusError, match="boom"):
            run_fetch(sim_settings(url, tmp_path), ["locations", "tariffs"], DATE, page_limit=10, retry=FAST,
                      progress=False)
        assert paths.raw_staging("tariffs", DATE).is_dir()
        server.app = create_app(SimulatorConfig(scale="demo", seed=0, token=SIM_TOKEN, day=1))  # the next day
        report = run_fetch(sim_settings(url, tmp_path), ["locations", "tariffs"], DATE, page_limit=10,
                           progress=False)
    truth = SimulatedData("demo", 0, 1)
    for endpoint, reason in (("locations", "the server now counts 1002 records, the interrupted run's pages 1000"),
                             ("tariffs", "page 1 no longer starts where the interrupted run's page 0 ended")):
        frame = scan_raw(paths, endpoint, DATE).collect().sort("page", "page_index")
        assert frame["record"].to_list() == [truth.record_bytes(endpoint, i).decode()
                                             for i in range(truth.count(endpoint))], endpoint
        result = report.result(endpoint)
        assert result.status == "fetched"
        assert result.pages_downloaded == result.pages
        assert any(reason in w and w.endswith("started over") for w in result.warnings), result.warnings


def test_a_resume_of_pages_older_than_an_hour_starts_over(tmp_path: Path) -> None:
    api = FakeApi({"tariffs": make_records("tariffs", 95)})
    settings = Settings(base_url="http://fake", token=Secret(FAKE_TOKEN), data_dir=tmp_path, concurrency=1)
    api.faults = {5: "ocpi2001"}
    with pytest.raises(ApiStatusError):
        run_fetch(settings, ["tariffs"], DATE, transport=api.transport(), page_limit=10, retry=FAST, progress=False)
    run_file = DataPaths(tmp_path).raw_staging("tariffs", DATE) / "_run.json"
    run = orjson.loads(run_file.read_bytes())
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2, minutes=1)
    run["started_at"] = two_hours_ago.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    run_file.write_bytes(orjson.dumps(run))
    api.faults = {}
    result = run_fetch(settings, ["tariffs"], DATE, transport=api.transport(), page_limit=10,
                       progress=False).result("tariffs")
    assert (result.status, result.pages, result.pages_downloaded, result.records) == ("fetched", 10, 10, 95)
    assert result.warnings[0] == (f"discarded an unfinished tariffs run of {DATE} started 2.0 h ago (a resume reuses "
                                  "pages younger than 1 h only: the data has changed since); started over")


def test_a_complete_snapshot_of_another_locations_version_is_not_handed_back(tmp_path: Path) -> None:
    api = FakeApi({"locations": make_records("locations", 15)})
    settings = Settings(base_url="http://fake", token=Secret(FAKE_TOKEN), data_dir=tmp_path)
    run_fetch(settings, ["locations"], DATE, transport=api.transport(), progress=False)
    with pytest.raises(ConfigError) as caught:
        run_fetch(settings.with_(locations_version="2.2"), ["locations"], DATE, transport=api.transport(),
                  progress=False)
    assert str(caught.value) == (f"the locations snapshot of {DATE} holds API version 2.1.1, not the 2.2 asked "
                                 "for: add --force to replace it with 2.2, or ask for 2.1.1")
    assert caught.value.exit_code == 2
    report = run_fetch(settings.with_(locations_version="2.2"), ["locations"], DATE, transport=api.transport(),
                       force=True, progress=False)
    assert report.result("locations").status == "fetched"
    assert read_manifest(DataPaths(tmp_path), "locations", DATE).api_version == "2.2"
    again = run_fetch(settings.with_(locations_version="2.2"), ["locations"], DATE, transport=api.transport(),
                      progress=False)
    assert again.result("locations").status == "skipped"


def test_a_long_retry_wait_is_logged_at_least_once_a_minute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(client_module.asyncio, "sleep", fake_sleep)
    api = FakeApi({"prices": make_records("prices", 5)})
    api.faults = {1: "http429"}
    api.retry_after = "150"
    settings = Settings(base_url="http://fake", token=Secret(FAKE_TOKEN), data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="ecodata.fetch"):
        report = run_fetch(settings, ["prices"], DATE, transport=api.transport(),
                           retry=RetryPolicy(max_retry_after_s=150), progress=False)
    assert waits == [60.0, 60.0, 30.0]
    assert [r.getMessage() for r in caplog.records] == [
        "waiting 150 s (the server's Retry-After) before retry 1 of http://fake/prices?limit=10000 after HTTP 429",
        "still waiting to retry http://fake/prices?limit=10000: 90 s left",
        "still waiting to retry http://fake/prices?limit=10000: 30 s left",
    ]
    assert all(FAKE_TOKEN not in r.getMessage() and r.exc_info is None for r in caplog.records)
    assert report.lines()[0] == "prices 2026-05-04: fetched, 5 records in 1 page (1 downloaded now, 0.0 MB), 1 retry"



def test_a_resume_whose_overlap_record_changed_content_starts_over(tmp_path: Path) -> None:
    records = make_records("tariffs", 35)
    api = FakeApi({"tariffs": records})
    settings = Settings(base_url="http://fake", token=Secret(FAKE_TOKEN), data_dir=tmp_path, concurrency=1)
    api.faults = {2: "ocpi2001"}  # page 1 fails: page 0 (records 0-9) is stored
    with pytest.raises(ApiStatusError):
        run_fetch(settings, ["tariffs"], DATE, transport=api.transport(), page_limit=10, retry=FAST, progress=False)
    api.faults = {}
    records[9] = {**records[9], "value": "repriced"}  # same key, new content, while the run was interrupted
    result = run_fetch(settings, ["tariffs"], DATE, transport=api.transport(), page_limit=10,
                       progress=False).result("tariffs")
    frame = scan_raw(DataPaths(tmp_path), "tariffs", DATE).collect().sort("page", "page_index")
    assert [orjson.loads(r) for r in frame["record"]] == records
    assert (result.status, result.pages_downloaded) == ("fetched", 4)
    assert result.warnings[0] == ("record 'T00009' differs from the copy the interrupted run stored on page 0: the "
                                  "data changed in between; started over")

import asyncio
import datetime as dt
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

# fetch_sim_server.serve (not the simulator's serve_in_thread, which builds its own app) serves a
# wrapped app, so tests can count the pages served and read which records a mutating server deleted.
# Both bind with IPPROTO_TCP, so keep-alive responses are not delayed by Nagle + delayed ACKs.
from fetch_sim_server import CountingApp, serve

from ecodata.cli import cli
from ecodata.fetch import FetchReport, run_fetch
from ecodata.paths import DataPaths
from ecodata.settings import Secret, Settings
from ecodata.simulator import FaultSpec, SimulatedData, SimulatorConfig, create_app
from ecodata.snapshot import list_snapshots, read_manifest
from ecodata.snapshot.reader import scan_raw
from ecodata.snapshot.schema import ENDPOINT_KEYS, ENDPOINTS

DATE = dt.date(2026, 5, 4)
TOKEN = "sim-token"
PAGE_LIMIT = 100
ISSUE_FAULTS = "http429=0.05,http503=0.05,drop=0.02,truncate=0.02,ocpi3000=0.02,slow=0.02:1"


@pytest.fixture(scope="module")
def truth() -> SimulatedData:
    return SimulatedData("demo", 0, 0)


def settings_for(base_url: str, data_dir: Path, **changes: object) -> Settings:
    return Settings(base_url=base_url, token=Secret(TOKEN), data_dir=data_dir).with_(**changes)


def assert_equals_truth(data_dir: Path, truth: SimulatedData, endpoints: tuple[str, ...] = ENDPOINTS,
                        version: str = "2.1.1") -> None:
    for endpoint in endpoints:
        frame = scan_raw(DataPaths(data_dir), endpoint, DATE).collect().sort("page", "page_index")
        assert frame.height == truth.count(endpoint), endpoint
        served = frame["record"].to_list()
        expected = [truth.record_bytes(endpoint, i, version).decode() for i in range(truth.count(endpoint))]
        assert served == expected, endpoint
        assert frame["record_key"].n_unique() == frame.height


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FetchReport]:
    data_dir = tmp_path_factory.mktemp("clean")
    with serve(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN))) as url:
        report = run_fetch(settings_for(url, data_dir), None, DATE, page_limit=PAGE_LIMIT, progress=False)
    return data_dir, report


def test_clean_run_equals_ground_truth(clean_run: tuple[Path, FetchReport], truth: SimulatedData) -> None:
    data_dir, report = clean_run
    assert_equals_truth(data_dir, truth)
    for endpoint in ENDPOINTS:
        result = report.result(endpoint)
        manifest = read_manifest(DataPaths(data_dir), endpoint, DATE)
        pages = math.ceil(truth.count(endpoint) / PAGE_LIMIT)
        assert (result.status, result.pages, result.pages_downloaded) == ("fetched", pages, pages)
        assert (manifest.records, manifest.duplicates, manifest.drift) == (truth.count(endpoint), 0, False)
        assert manifest.totals_announced == [truth.count(endpoint)]
        assert manifest.pagination == ("cursor" if endpoint in ("prices", "connector_prices") else "offset")
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_raw_columns(clean_run: tuple[Path, FetchReport], truth: SimulatedData) -> None:
    data_dir, _ = clean_run
    frame = scan_raw(DataPaths(data_dir), "connector_prices", DATE).collect().sort("page", "page_index")
    first = truth.record("connector_prices", 0)
    assert frame["record_key"][0] == "|".join(str(first[k]) for k in ENDPOINT_KEYS["connector_prices"])
    assert frame["request_url"][0].endswith("/prices/connector_prices?limit=100")
    assert "last_record=" in frame["request_url"][PAGE_LIMIT]
    assert frame["page"][PAGE_LIMIT] == 1
    assert frame["page_index"][PAGE_LIMIT] == 0
    assert set(frame["api_version"]) == {"prices"}
    locations = scan_raw(DataPaths(data_dir), "locations", DATE).collect()
    assert set(locations["api_version"]) == {"2.1.1"}
    assert any(u.endswith("/api/ocpi/cpo/2.1.1/locations?offset=0&limit=100") for u in locations["request_url"])


def test_snapshots_command_lists_the_run(clean_run: tuple[Path, FetchReport], truth: SimulatedData) -> None:
    data_dir, _ = clean_run
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "snapshots"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 5
    assert lines[1].split()[:5] == ["locations", DATE.isoformat(), "complete", f"{truth.count('locations'):,}",
                                    "10"]


def test_locations_2_2(tmp_path: Path, truth: SimulatedData) -> None:
    with serve(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN))) as url:
        run_fetch(settings_for(url, tmp_path, locations_version="2.2"), ["locations"], DATE,
                  page_limit=250, progress=False)
    assert_equals_truth(tmp_path, truth, ("locations",), version="2.2")
    assert read_manifest(DataPaths(tmp_path), "locations", DATE).api_version == "2.2"


def test_tariffs_2_3_0_is_opt_in(tmp_path: Path, truth: SimulatedData) -> None:
    with serve(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN))) as url:
        run_fetch(settings_for(url, tmp_path, tariffs_version="2.3.0"), ["tariffs"], DATE,
                  page_limit=250, progress=False)
    assert_equals_truth(tmp_path, truth, ("tariffs",), version="2.3.0")
    assert read_manifest(DataPaths(tmp_path), "tariffs", DATE).api_version == "2.3.0"
    urls = scan_raw(DataPaths(tmp_path), "tariffs", DATE).collect()["request_url"]
    assert urls.str.contains("/api/ocpi/cpo/2.3.0/tariffs").all()


def test_faulty_server_run_equals_ground_truth(tmp_path: Path, truth: SimulatedData) -> None:
    config = SimulatorConfig(scale="demo", seed=0, token=TOKEN, faults=FaultSpec.parse(ISSUE_FAULTS))
    with serve(create_app(config)) as url:
        report = run_fetch(settings_for(url, tmp_path), None, DATE, page_limit=PAGE_LIMIT, progress=False)
    assert_equals_truth(tmp_path, truth)
    assert sum(r.retries for r in report.endpoints) > 0
    assert all(r.duplicates == 0 for r in report.endpoints)


def test_mutating_server(tmp_path: Path, truth: SimulatedData) -> None:
    app = create_app(SimulatorConfig(scale="demo", seed=3, token=TOKEN, faults=FaultSpec.parse("mutate=0.5")))
    with serve(app) as url:
        report = run_fetch(settings_for(url, tmp_path, concurrency=2), None, DATE, page_limit=PAGE_LIMIT,
                           progress=False)
    paths = DataPaths(tmp_path)
    base = SimulatedData("demo", 3, 0)
    for endpoint in ("prices", "connector_prices"):  # keyset: nothing that existed throughout is lost
        keys = set(scan_raw(paths, endpoint, DATE).collect()["record_key"])
        deleted = set(app.view(endpoint).deleted)
        survivors = {
            "|".join(str(base.record(endpoint, i)[k]) for k in ENDPOINT_KEYS[endpoint])
            for i in range(base.count(endpoint)) if i not in deleted
        }
        assert survivors <= keys, endpoint
        assert len(keys) == scan_raw(paths, endpoint, DATE).collect().height
    for endpoint in ("locations",):  # offset: the drift is reported
        manifest = read_manifest(paths, endpoint, DATE)
        assert manifest.drift
        assert len(manifest.totals_announced) > 1
        assert any("X-Total-Count changed" in w for w in manifest.warnings)
        assert report.result(endpoint).drift


def _fetch_command(url: str, data_dir: Path, token: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ecodata.cli", "--data-dir", str(data_dir), "--base-url", url, "fetch",
            "--date", DATE.isoformat(), "--no-progress", *extra]


def _env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECODATA_")}
    env["ECODATA_TOKEN"] = token
    return env


def test_sigkill_then_rerun_completes_without_refetching(tmp_path: Path, truth: SimulatedData) -> None:
    counting = CountingApp(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN,
                                                      faults=FaultSpec.parse("slow=0.2:0.05"))))
    limit, concurrency = 40, 3
    with serve(counting) as url:
        proc = subprocess.Popen(_fetch_command(url, tmp_path, TOKEN, "--page-limit", str(limit),
                                               "--concurrency", str(concurrency)),
                                env=_env(TOKEN), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stored = sum(1 for _ in (tmp_path / "raw").glob("*/_staging/*/pages/page-*.json"))
            if stored >= 25:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert any(s.status == "incomplete" for s in list_snapshots(DataPaths(tmp_path)))
        served_first = sum(counting.served.values())
        rerun = subprocess.run(_fetch_command(url, tmp_path, TOKEN, "--page-limit", str(limit),
                                              "--concurrency", str(concurrency)),
                               env=_env(TOKEN), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    needed = sum(math.ceil(truth.count(e) / limit) for e in ENDPOINTS)
    total = sum(counting.served.values())
    assert served_first < needed
    assert needed <= total <= needed + concurrency
    assert_equals_truth(tmp_path, truth)
    assert "resumed" in rerun.stdout


def test_wrong_token(tmp_path: Path) -> None:
    wrong = "Wr0ng-T0ken-abc123"
    data_dir = tmp_path / "data"
    with serve(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN))) as url:
        done = subprocess.run(_fetch_command(url, data_dir, wrong), env=_env(wrong), capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 4
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ecodata: error: the API refused the token (HTTP 401)")
    assert done.stdout == ""
    assert wrong not in done.stderr + done.stdout
    assert not data_dir.exists() or not any(p.is_file() for p in data_dir.rglob("*"))  # no snapshot, no staging
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert wrong.encode() not in path.read_bytes(), path


def test_a_whole_fetch_never_loads_polars_or_duckdb(tmp_path: Path) -> None:
    """The fetch's imports stay light: polars (the reader's) and DuckDB load in none of its steps.

    ``ecodata.snapshot`` used to import its reader, and with it polars, for every fetch: ~0.3 s before
    the first request went out (benchmarks/README.md, bench_fetch: first request 0.47 s -> 0.28 s).
    """
    code = ("import sys, datetime as dt; from pathlib import Path; import ecodata.fetch; "
            "print(sorted(m for m in ('duckdb', 'polars', 'pyarrow') if m in sys.modules)); "
            "from ecodata.fetch import run_fetch; from ecodata.settings import Settings; "
            "s = Settings.from_env(base_url=sys.argv[1], data_dir=Path(sys.argv[2])); "
            "r = run_fetch(s, None, dt.date(2026, 1, 1), progress=False); "
            "print(sum(e.records for e in r.endpoints), sorted(m for m in ('duckdb', 'polars') if m in sys.modules))")
    with serve(create_app(SimulatorConfig(scale="demo", seed=0, token=TOKEN))) as url:
        done = subprocess.run([sys.executable, "-c", code, url, str(tmp_path)], env=_env(TOKEN),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.splitlines()
    assert before == "[]"
    records, loaded = after.split(" ", 1)
    assert int(records) > 0
    assert loaded == "[]"


def test_httpcore_reads_a_response_in_large_steps() -> None:
    """The read size the fetch sets is a constant httpcore still has (a newer httpcore would drop it silently)."""
    import httpcore

    from ecodata.fetch import _client

    assert httpcore.AsyncHTTP11Connection.READ_NUM_BYTES == _client.READ_BYTES == 1 << 20


class _HeldCursorPage:
    """A cursor endpoint of two pages whose first page sends its headers and half its body, then holds
    the rest until the request for the second page arrives (or 5 s pass): it tells whether the client
    asks for page n+1 while page n is still downloading."""

    def __init__(self) -> None:
        self.second_asked: asyncio.Event | None = None
        self.overlapped = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if self.second_asked is None:
            self.second_asked = asyncio.Event()
        second = b"last_record=c1" in scope["query_string"]
        records = [b'{"id":"%d","currency":"EUR","elements":[]}' % i for i in ((2,) if second else (0, 1))]
        body = b'{"status_code":1000,"status_message":"Success","data":[' + b",".join(records) + b"]}"
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"x-total-count", b"3"), (b"x-last-record", b"" if second else b"c1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if second:
            self.second_asked.set()
            await send({"type": "http.response.body", "body": body})
            return
        half = len(body) // 2
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        try:
            await asyncio.wait_for(self.second_asked.wait(), 5)
            self.overlapped = True
        except TimeoutError:
            pass
        await send({"type": "http.response.body", "body": body[half:]})


def test_the_next_cursor_page_is_asked_for_while_the_page_before_downloads(tmp_path: Path) -> None:
    """A cursor endpoint is a chain: page n+1 goes out on page n's X-Last-Record header, not after its
    body (each page then costs one round trip less: bench_fetch remote-like)."""
    app = _HeldCursorPage()
    with serve(app) as url:
        report = run_fetch(settings_for(url, tmp_path), ["prices"], DATE, progress=False)
    assert report.result("prices").records == 3
    assert app.overlapped

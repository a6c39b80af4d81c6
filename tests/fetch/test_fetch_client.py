import asyncio
import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fetch_fake_api import TOKEN, FakeApi, make_records

from ecodata.errors import ApiStatusError, AuthError, FetchError, RetryExhausted
from ecodata.fetch import RetryPolicy, run_fetch
from ecodata.fetch import _client as client_module
from ecodata.fetch._client import _next_link, parse_retry_after, public_url
from ecodata.paths import DataPaths
from ecodata.settings import Secret, Settings
from ecodata.snapshot import read_manifest
from ecodata.snapshot.reader import scan_raw

DATE = dt.date(2026, 3, 1)
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.002)


def settings_for(tmp_path: Path, token: str = TOKEN, concurrency: int = 4) -> Settings:
    return Settings(base_url="http://fake", token=Secret(token), data_dir=tmp_path, concurrency=concurrency)


def served(endpoint: str, n: int) -> FakeApi:
    return FakeApi({endpoint: make_records(endpoint, n)})


def raw_records(tmp_path: Path, endpoint: str) -> list[Any]:
    frame = scan_raw(DataPaths(tmp_path), endpoint, DATE).collect().sort("page", "page_index")
    return [orjson.loads(r) for r in frame["record"]]


@pytest.mark.parametrize("fault", ["http429", "http500", "http502", "http503", "drop", "truncate", "ocpi3000",
                                   "timeout", "badenvelope"])
@pytest.mark.parametrize("endpoint", ["prices", "tariffs"])
def test_each_transient_fault_is_retried(tmp_path: Path, fault: str, endpoint: str) -> None:
    api = served(endpoint, 25)
    api.faults = {2: fault}
    report = run_fetch(settings_for(tmp_path), [endpoint], DATE, transport=api.transport(),
                       page_limit=10, retry=FAST, progress=False)
    result = report.result(endpoint)
    assert (result.records, result.pages, result.retries) == (25, 3, 1)
    assert raw_records(tmp_path, endpoint) == api.records[endpoint]
    assert read_manifest(DataPaths(tmp_path), endpoint, DATE).retries == 1


def test_retry_after_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(client_module.asyncio, "sleep", fake_sleep)
    api = served("prices", 5)
    api.faults = {1: "http429", 2: "http503", 3: "http429"}
    api.retry_after = "7"
    run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(),
              retry=RetryPolicy(base_delay_s=0.5, max_delay_s=4), progress=False)
    assert waits[0] == 7.0
    assert 0.5 <= waits[1] <= 1.0  # second retry, no Retry-After: jitter in [d/2, d] with d = 1.0
    assert waits[2] == 7.0


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.25, max_delay_s=3.0)
    rng = random.Random(1)
    for n in range(1, 12):
        ceiling = min(3.0, 0.25 * 2 ** (n - 1))
        delays = {policy.delay(n, None, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1
    assert policy.delay(3, 250.0, rng) == 120.0  # Retry-After capped by max_retry_after_s


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), (" 0 ", 0.0), ("nonsense", None), (None, None),
                                                 ("Wed, 21 Oct 2026 07:28:10 GMT", 10.0)])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 10, 21, 7, 28, 0, tzinfo=dt.UTC)
    assert parse_retry_after(value, now) == expected


def test_attempts_exhausted(tmp_path: Path) -> None:
    api = served("prices", 25)
    api.faults = {2: "http503", 3: "http503", 4: "http503"}
    with pytest.raises(RetryExhausted, match=r"after 3 attempts; last failure: HTTP 503"):
        run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), page_limit=10,
                  retry=RetryPolicy(max_attempts=3, base_delay_s=0.001), progress=False)
    assert not DataPaths(tmp_path).raw_partition("prices", DATE).exists()
    assert len(api.requests) == 4


def test_retry_budget_is_shared_by_the_run(tmp_path: Path) -> None:
    api = served("prices", 45)
    api.faults = {2: "http503", 4: "drop", 6: "truncate"}
    with pytest.raises(RetryExhausted, match=r"retry budget \(2 retries\) is spent; .*truncated"):
        run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), page_limit=10,
                  retry=RetryPolicy(max_attempts=5, base_delay_s=0.001, budget=2), progress=False)


def test_refused_token_is_not_retried_and_never_shown(tmp_path: Path) -> None:
    api = served("locations", 5)
    secret = "wrong-token-XYZ"
    with pytest.raises(AuthError) as info:
        run_fetch(settings_for(tmp_path, token=secret), None, DATE, transport=api.transport(), progress=False)
    message = str(info.value)
    assert "refused the token (HTTP 401)" in message
    assert "ECODATA_TOKEN" in message
    assert "\n" not in message
    assert secret not in message
    assert len(api.requests) <= 4  # one per endpoint at most, no retry
    assert all(r.headers["Authorization"] == f"Token {secret}" for r in api.requests)
    assert not (tmp_path / "raw").exists() or not any(p.is_file() for p in (tmp_path / "raw").rglob("*"))


def test_bad_parameter_quotes_status_message(tmp_path: Path) -> None:
    api = served("prices", 5)
    with pytest.raises(ApiStatusError) as info:
        asyncio.run(_get(api, {"limit": "bad"}))
    assert info.value.status_code == 2001
    assert info.value.http_status == 400
    assert "limit must be a number" in str(info.value)
    assert len(api.requests) == 1


def test_ocpi_client_error_in_200_is_not_retried(tmp_path: Path) -> None:
    api = served("prices", 5)
    api.faults = {1: "ocpi2001"}
    with pytest.raises(ApiStatusError, match=r"OCPI status 2001.*Invalid parameter: offset"):
        run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), retry=FAST,
                  progress=False)
    assert len(api.requests) == 1


async def _get(api: FakeApi, params: dict[str, str]) -> Any:
    async with client_module.ApiClient(token=Secret(TOKEN), transport=api.transport(), retry=FAST) as client:
        return await client.get_page("http://fake/prices", params, 0)


@pytest.mark.parametrize("envelope", ["status_code", "status"])
def test_both_envelopes_and_unknown_fields_are_kept(tmp_path: Path, envelope: str) -> None:
    api = served("connector_prices", 12)
    api.envelope = envelope
    run_fetch(settings_for(tmp_path), ["connector_prices"], DATE, transport=api.transport(), page_limit=5,
              progress=False)
    records = raw_records(tmp_path, "connector_prices")
    assert records == api.records["connector_prices"]
    assert records[4]["extra_field"] == {"nested": [4, None, "x"]}
    frame = scan_raw(DataPaths(tmp_path), "connector_prices", DATE).collect()
    assert frame["record_key"][0] == "L00000|E0|1"
    assert frame["api_version"].unique().to_list() == ["prices"]
    assert sorted(set(frame["request_url"]))[0] == "http://fake/prices/connector_prices?limit=5"


@pytest.mark.parametrize(("header", "expected"), [
    ('<https://x/l?offset=5&limit=5>; rel="next"', "https://x/l?offset=5&limit=5"),
    ('<https://x/p>; rel="prev", <https://x/n>; rel=next', "https://x/n"),
    ("<https://x/n>; rel=\u201cnext\u201d", "https://x/n"),
    ('<https://x/p>; rel="prev"', None),
    (None, None),
])
def test_next_link(header: str | None, expected: str | None) -> None:
    assert _next_link(header) == expected


def test_public_url_drops_user_info() -> None:
    assert public_url("https://user:pw@host:8443/a?b=1") == "https://host:8443/a?b=1"


@pytest.mark.parametrize(("status", "body", "error", "message"), [
    (403, b'{"status_code": 2000, "status_message": "Forbidden"}', AuthError, "refused the token (HTTP 403)"),
    (404, b'{"status_code": 2000, "status_message": "no such route: /x"}', ApiStatusError,
     "HTTP 404, OCPI status 2000 for http://fake/prices?limit=10000: no such route: /x"),
    (404, b"<html>not found</html>", FetchError, "answered HTTP 404 for http://fake/prices?limit=10000; check the base URL"),
    (400, b'{"status": 2001, "message": "bad limit"}', ApiStatusError,
     "HTTP 400, OCPI status 2001 for http://fake/prices?limit=10000: bad limit"),
])
def test_client_errors_are_not_retried(tmp_path: Path, status: int, body: bytes, error: type[Exception],
                                       message: str) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, content=body)

    with pytest.raises(error, match=re.escape(message)):
        run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=httpx.MockTransport(handler), retry=FAST,
                  progress=False)
    assert len(calls) == 1


def test_runs_inside_a_running_event_loop(tmp_path: Path) -> None:
    api = served("prices", 3)

    async def notebook_cell() -> int:  # Jupyter runs cells inside an event loop
        report = run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), progress=False)
        return report.result("prices").records

    assert asyncio.run(notebook_cell()) == 3


def test_report_lines(tmp_path: Path) -> None:
    api = served("prices", 3)
    report = run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), progress=False)
    lines = report.lines()
    assert lines[0] == "prices 2026-03-01: fetched, 3 records in 1 page (1 downloaded now, 0.0 MB)"
    assert lines[1].startswith("done in ")


@pytest.mark.parametrize("endpoint", ["locations", "connector_prices", "prices", "tariffs"])
def test_an_endpoint_with_no_records_is_an_empty_readable_snapshot(tmp_path: Path, endpoint: str) -> None:
    from ecodata.pipeline import transform_snapshot

    report = run_fetch(settings_for(tmp_path), [endpoint], DATE, transport=served(endpoint, 0).transport())
    assert report.result(endpoint).records == 0
    assert read_manifest(DataPaths(tmp_path), endpoint, DATE).records == 0
    assert raw_records(tmp_path, endpoint) == []
    rows = transform_snapshot(settings_for(tmp_path), DATE, [endpoint]).rows
    assert rows[endpoint] == 0


def test_an_api_that_cannot_be_reached_fails_fast_with_what_to_check(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port on which nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(base_url=f"http://127.0.0.1:{port}", token=Secret(TOKEN), data_dir=tmp_path)
    with pytest.raises(FetchError) as info:
        run_fetch(settings, ["tariffs"], DATE, retry=RetryPolicy(base_delay_s=0.001), progress=False)
    message = str(info.value)
    assert not isinstance(info.value, RetryExhausted)
    assert message.startswith(f"cannot reach the API at http://127.0.0.1:{port} "
                              "(connection error: connection refused, 3 attempts): check --base-url")
    assert message.endswith("nothing was downloaded")
    assert TOKEN not in message
    assert not DataPaths(tmp_path).raw_partition("tariffs", DATE).exists()


@pytest.mark.parametrize(("faults", "retries"), [
    ({1: "refused", 2: "refused"}, 2),               # refused at first, answered on the third try
    ({2: "refused", 3: "refused", 4: "refused"}, 3),  # refused after the API answered: a restart, retried
])
def test_a_refused_connection_is_transient_until_the_limit_or_once_the_api_answered(
        tmp_path: Path, faults: dict[int, str], retries: int) -> None:
    api = served("prices", 25)
    api.faults = faults
    report = run_fetch(settings_for(tmp_path, concurrency=1), ["prices"], DATE, transport=api.transport(),
                       page_limit=10, retry=FAST, progress=False)
    assert (report.result("prices").records, report.result("prices").retries) == (25, retries)
    assert raw_records(tmp_path, "prices") == api.records["prices"]


def test_a_refused_connection_from_the_start_gives_up_after_the_unreachable_attempts(tmp_path: Path) -> None:
    api = served("prices", 25)
    api.faults = {1: "refused", 2: "refused", 3: "refused"}
    with pytest.raises(FetchError, match=r"^cannot reach the API at http://fake \(connection error: .*, 3 attempts\)"):
        run_fetch(settings_for(tmp_path), ["prices"], DATE, transport=api.transport(), page_limit=10,
                  retry=FAST, progress=False)
    assert len(api.requests) == 3

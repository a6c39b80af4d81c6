from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from simulator_client import (
    AUTH,
    ROUTES,
    crawl_by_cursor,
    crawl_by_link,
    crawl_by_offset,
    record_key,
    run,
)

from ecodata.simulator import FaultSpec, SimulatedData, SimulatorConfig, create_app, serve_in_thread
from ecodata.simulator.geo import COUNTRIES
from ecodata.simulator.mutation import GAP

ALPHA2 = {c.code3: c.code2 for c in COUNTRIES}


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(SimulatorConfig())


@pytest.mark.parametrize(("endpoint", "version", "limit"), [
    ("locations", "2.1.1", 97),
    ("locations", "2.2", 250),
    ("tariffs", "2.1.1", 10),
    ("prices", "2.1.1", 45),
    ("connector_prices", "2.1.1", 400),
])
def test_link_crawl_returns_every_record_once_and_exactly_the_ground_truth(
        app: Any, demo_truth: SimulatedData, endpoint: str, version: str, limit: int) -> None:
    crawl = run(lambda c: crawl_by_link(c, ROUTES[(endpoint, version)], limit), app)
    total = demo_truth.count(endpoint)
    assert set(crawl.totals) == {total}
    assert len(crawl.records) == total
    assert len({record_key(endpoint, r) for r in crawl.records}) == total
    assert crawl.pages == -(-total // limit)
    assert "link" not in crawl.last_headers
    assert crawl.last_headers["x-limit"] == ("10000" if endpoint in ("prices", "connector_prices") else "1000")
    for position, record in enumerate(crawl.records):
        assert orjson.dumps(record) == demo_truth.record_bytes(endpoint, position, version)


@pytest.mark.parametrize(("endpoint", "limit"), [("prices", 37), ("connector_prices", 1000)])
def test_keyset_crawl_returns_every_record_once(app: Any, demo_truth: SimulatedData, endpoint: str, limit: int) -> None:
    crawl = run(lambda c: crawl_by_cursor(c, ROUTES[(endpoint, "2.1.1")], limit, offset_noise=True), app)
    total = demo_truth.count(endpoint)
    assert len(crawl.records) == total
    assert len({record_key(endpoint, r) for r in crawl.records}) == total
    assert crawl.cursors[-1] == ""
    assert all(crawl.cursors[:-1])
    assert len(set(crawl.cursors[:-1])) == len(crawl.cursors) - 1
    assert "link" not in crawl.last_headers


def test_link_in_keyset_mode_carries_the_cursor_and_keeps_other_parameters(app: Any) -> None:
    async def go(c: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        first = await c.get("/api/prices/?limit=5&foo=bar")
        second = await c.get("/prices", params={"limit": 5, "last_record": first.headers["x-last-record"]})
        return first, second

    first, second = run(go, app)
    assert first.headers["link"] == '<http://sim/api/prices/?foo=bar&offset=5&limit=5>; rel="next"'
    cursor = second.headers["x-last-record"]
    assert second.headers["link"] == f'<http://sim/prices?last_record={cursor}&limit=5>; rel="next"'


def test_limit_above_the_maximum_is_capped_and_default_is_the_maximum(app: Any) -> None:
    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [await c.get("/ocpi/cpo/2.1.1/locations?limit=5000"), await c.get("/prices/connector_prices")]

    capped, default = run(go, app)
    assert len(orjson.loads(capped.content)["data"]) == 1000
    assert "link" not in capped.headers
    assert capped.headers["x-limit"] == "1000"
    assert len(orjson.loads(default.content)["data"]) == int(default.headers["x-total-count"])


def test_single_objects_and_per_location_connector_prices(app: Any, demo_truth: SimulatedData) -> None:
    location = demo_truth.record("locations", 3)
    price = demo_truth.record("prices", 11)

    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [await c.get(f"/ocpi/cpo/2.1.1/locations/{location['id']}"),
                await c.get(f"/api/ocpi/cpo/2.2/locations/{location['id']}/"),
                await c.get(f"/prices/{price['id']}"),
                await c.get(f"/prices/connector_prices/{location['id']}")]

    loc211, loc22, one_price, rows = run(go, app)
    assert orjson.loads(loc211.content)["data"] == location
    assert orjson.loads(loc22.content)["data"] == demo_truth.record("locations", 3, "2.2")
    assert orjson.loads(one_price.content)["data"] == [price]
    start, stop = demo_truth.connector_range(3)
    assert orjson.loads(rows.content)["data"] == [demo_truth.record("connector_prices", p) for p in range(start, stop)]


def test_locations_versions_share_data_with_version_specific_shapes(demo_truth: SimulatedData) -> None:
    for position in range(0, 1000, 50):
        v211 = demo_truth.record("locations", position, "2.1.1")
        v22 = demo_truth.record("locations", position, "2.2")
        assert v211["id"] == v22["id"]
        assert v22["country_code"] == ALPHA2[v211["country"]]
        assert round(float(v22["coordinates"]["latitude"]), 4) == float(v211["coordinates"]["latitude"])
        assert len(v211["coordinates"]["latitude"].split(".")[1]) == 4
        assert len(v22["coordinates"]["latitude"].split(".")[1]) == 6
        assert "type" in v211
        assert "type" not in v22
        assert v22["publish"] is True
        assert v22["time_zone"] == v211["time_zone"]
        for e211, e22 in zip(v211["evses"], v22["evses"], strict=True):
            for c211, c22 in zip(e211["connectors"], e22["connectors"], strict=True):
                assert (c211["voltage"], c211["amperage"]) == (c22["max_voltage"], c22["max_amperage"])
                assert ("max_power" in c211) == ("max_electric_power" in c22)
                if "max_power" in c211:
                    assert c211["max_power"] == round(c22["max_electric_power"] / 1000)
                assert c22["tariff_ids"] == ([c211["tariff_id"]] if "tariff_id" in c211 else [])


ERROR_CASES = [
    ({}, "/prices", 401, 2000, "missing or invalid token: send the header 'Authorization: Token <your token>'"),
    ({"Authorization": "Token wrong"}, "/ocpi/cpo/2.1.1/locations", 401, 2000,
     "missing or invalid token: send the header 'Authorization: Token <your token>'"),
    ({"Authorization": "Basic sim-token"}, "/prices", 401, 2000,
     "missing or invalid token: send the header 'Authorization: Token <your token>'"),
    (AUTH, "/prices?limit=0", 400, 2001, "limit must be a whole number from 1 to 10000, got '0'"),
    (AUTH, "/ocpi/cpo/2.1.1/locations?limit=ten", 400, 2001, "limit must be a whole number from 1 to 1000, got 'ten'"),
    (AUTH, "/ocpi/cpo/2.1.1/tariffs?offset=-3", 400, 2001, "offset must be a whole number of 0 or more, got '-3'"),
    (AUTH, "/prices/connector_prices?last_record=bogus", 400, 2001,
     "last_record 'bogus' is not a cursor this server issued; pass the X-Last-Record header of the previous page"),
    (AUTH, "/ocpi/cpo/2.1.1/locations/no-such-id", 404, 2003, "unknown location 'no-such-id'"),
    (AUTH, "/prices/connector_prices/no-such-id", 404, 2003, "unknown location 'no-such-id'"),
    (AUTH, "/prices/0000", 404, 2000,
     "unknown price id '0000' (price ids change when a price changes; download connector_prices again)"),
    (AUTH, "/ocpi/cpo/2.1.1/sessions", 404, 2000, "no such route: /ocpi/cpo/2.1.1/sessions"),
]


@pytest.mark.parametrize(("headers", "url", "http", "code", "message"), ERROR_CASES)
def test_error_bodies(app: Any, headers: dict[str, str], url: str, http: int, code: int, message: str) -> None:
    async def go(c: httpx.AsyncClient) -> httpx.Response:
        c.headers.clear()
        return await c.get(url, headers=headers)

    response = run(go, app)
    assert response.status_code == http
    assert orjson.loads(response.content) == {"data": None, "status_code": code, "status_message": message,
                                              "timestamp": "2026-06-01T08:00:00"}


def test_bearer_and_base64_tokens_are_accepted_and_the_token_never_echoes(app: Any) -> None:
    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        c.headers.clear()
        return [await c.get("/prices?limit=1", headers={"Authorization": "Bearer sim-token"}),
                await c.get("/prices?limit=1", headers={"Authorization": "Token c2ltLXRva2Vu"}),
                await c.get("/prices?limit=1", headers={"Authorization": "Token sim-token-x"})]

    bearer, b64, wrong = run(go, app)
    assert (bearer.status_code, b64.status_code, wrong.status_code) == (200, 200, 401)
    assert b"sim-token" not in wrong.content


def test_status_envelope_style_on_pricing_routes(demo_truth: SimulatedData) -> None:
    app = create_app(SimulatorConfig(pricing_envelope="status"))

    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [await c.get("/prices?limit=2"), await c.get("/prices?limit=-1"),
                await c.get("/ocpi/cpo/2.1.1/tariffs?limit=1")]

    ok, bad, tariffs = run(go, app)
    body = orjson.loads(ok.content)
    assert list(body) == ["timestamp", "status", "total", "limit", "data"]
    assert (body["status"], body["total"], body["limit"], len(body["data"])) == (1000, demo_truth.count("prices"), 2, 2)
    assert orjson.loads(bad.content)["status"] == 2001
    assert orjson.loads(tariffs.content)["status_code"] == 1000


def test_same_seed_gives_byte_identical_pages_and_another_seed_does_not() -> None:
    urls = ["/ocpi/cpo/2.1.1/locations?limit=50&offset=100", "/ocpi/cpo/2.2/locations?limit=20",
            "/prices?limit=100", "/prices/connector_prices?limit=300&offset=999", "/ocpi/cpo/2.1.1/tariffs"]

    async def go(c: httpx.AsyncClient) -> list[tuple[bytes, list[tuple[str, str]]]]:
        out = []
        for url in urls:
            r = await c.get(url)
            out.append((r.content, sorted(r.headers.items())))
        return out

    first = run(go, create_app(SimulatorConfig(seed=5)))
    second = run(go, create_app(SimulatorConfig(seed=5)))
    other = run(go, create_app(SimulatorConfig(seed=6)))
    assert first == second
    assert all(a[0] != b[0] for a, b in zip(first, other, strict=True))


def _identity(endpoint: str, record: dict[str, Any]) -> tuple[str, ...]:
    return record_key(endpoint, record)


@pytest.mark.parametrize(("endpoint", "limit"), [("connector_prices", 150), ("prices", 20)])
def test_keyset_misses_nothing_under_mutate_while_offset_drifts(demo_truth: SimulatedData, endpoint: str, limit: int) -> None:
    path = ROUTES[(endpoint, "2.1.1")]
    start_keys = {_identity(endpoint, r) for r in demo_truth.iter_records(endpoint)}

    def final_keys(app: Any) -> set[tuple[str, ...]]:
        view = app.view(endpoint)
        return {_identity(endpoint, orjson.loads(raw)) for raw in view.render(view.keys(0, view.count()))}

    keyset_app = create_app(SimulatorConfig(faults=FaultSpec.parse("mutate=0.5"), seed=0, fault_seed=3))
    keyset = run(lambda c: crawl_by_cursor(c, path, limit), keyset_app)
    throughout = start_keys & final_keys(keyset_app)
    seen = [_identity(endpoint, r) for r in keyset.records]
    assert len(set(keyset.totals)) > 1  # the data really changed during the crawl
    assert throughout <= set(seen)
    assert len(seen) == len(set(seen))  # keyset never repeats a record either

    offset_app = create_app(SimulatorConfig(faults=FaultSpec.parse("mutate=0.5"), seed=0, fault_seed=3))
    offset = run(lambda c: crawl_by_offset(c, path, limit), offset_app)
    throughout = start_keys & final_keys(offset_app)
    seen = [_identity(endpoint, r) for r in offset.records]
    missed = throughout - set(seen)
    repeated = len(seen) - len(set(seen))
    assert missed or repeated  # offset pagination drifts under the same mutations


def test_mutations_show_on_both_location_versions() -> None:
    app = create_app(SimulatorConfig(faults=FaultSpec.parse("mutate=1"), fault_seed=1))

    async def go(c: httpx.AsyncClient) -> None:
        for _ in range(30):
            await c.get("/ocpi/cpo/2.1.1/locations?limit=1")

    run(go, app)
    v211, v22 = app.view("locations", "2.1.1"), app.view("locations", "2.2")
    assert v211.count() == v22.count() != 1000
    ids211 = [orjson.loads(r)["id"] for r in v211.render(v211.keys(0, v211.count()))]
    ids22 = [orjson.loads(r)["id"] for r in v22.render(v22.keys(0, v22.count()))]
    assert ids211 == ids22
    assert any(k % GAP for k in v211.keys(0, v211.count()))


def test_real_http_server_serves_and_drops_connections() -> None:
    config = SimulatorConfig(faults=FaultSpec.parse("drop=0.5,truncate=0.5"), fault_seed=2)
    outcomes = {"drop": 0, "truncate": 0}
    with serve_in_thread(config) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, headers=AUTH) as client:
            for offset in range(40):
                try:
                    response = client.get("/prices", params={"limit": 5, "offset": offset})
                except httpx.RemoteProtocolError:
                    outcomes["drop"] += 1
                    continue
                assert response.status_code == 200
                with pytest.raises(orjson.JSONDecodeError):
                    orjson.loads(response.content)
                outcomes["truncate"] += 1
    assert outcomes["drop"] + outcomes["truncate"] == 40
    assert 8 <= outcomes["drop"] <= 32
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/prices", headers=AUTH, timeout=2)


def test_read_ahead_serves_the_same_pages_and_renders_each_range_once(demo_truth: SimulatedData) -> None:
    app = create_app(SimulatorConfig())
    calls: list[tuple[str, int, int, str]] = []
    render = app.dataset.render

    def counting(endpoint: str, start: int, stop: int, version: str = "2.1.1") -> list[bytes]:
        calls.append((endpoint, start, stop, version))
        return render(endpoint, start, stop, version)

    app.dataset.render = counting  # type: ignore[method-assign]

    async def go(c: httpx.AsyncClient) -> tuple[Any, Any, list[httpx.Response]]:
        locations = await crawl_by_link(c, ROUTES[("locations", "2.2")], 400)
        rows = await crawl_by_cursor(c, ROUTES[("connector_prices", "2.1.1")], 1000)
        together = await asyncio.gather(*(c.get(f"/prices/connector_prices?limit=1000&offset={o}")
                                          for o in (0, 1000, 2000)))
        return locations, rows, list(together)

    locations, rows, together = run(go, app)
    app.close()
    assert [orjson.dumps(r) for r in locations.records] == [
        demo_truth.record_bytes("locations", p, "2.2") for p in range(demo_truth.count("locations"))]
    assert [orjson.dumps(r) for r in rows.records] == [
        demo_truth.record_bytes("connector_prices", p) for p in range(demo_truth.count("connector_prices"))]
    assert [orjson.loads(r.content)["data"] for r in together] == [
        rows.records[0:1000], rows.records[1000:2000], rows.records[2000:3000]]
    first_crawls = [c for c in calls if c[0] == "locations"] + [c for c in calls if c[0] == "connector_prices"][:4]
    assert len(first_crawls) == len(set(first_crawls))  # a sequential crawl renders every range once


def test_read_ahead_serves_a_client_whose_pages_overlap_by_one_record(demo_truth: SimulatedData) -> None:
    app = create_app(SimulatorConfig())
    calls: list[tuple[str, int, int]] = []
    render = app.dataset.render

    def counting(endpoint: str, start: int, stop: int, version: str = "2.1.1") -> list[bytes]:
        calls.append((endpoint, start, stop))
        return render(endpoint, start, stop, version)

    app.dataset.render = counting  # type: ignore[method-assign]

    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        first = await c.get("/api/ocpi/cpo/2.1.1/locations?offset=0&limit=450")
        await asyncio.sleep(0.2)  # the next page is read ahead meanwhile
        return [first, await c.get("/api/ocpi/cpo/2.1.1/locations?offset=449&limit=451")]

    first, second = run(go, app)
    assert [orjson.dumps(r) for r in orjson.loads(first.content)["data"]] == [
        demo_truth.record_bytes("locations", p) for p in range(450)]
    assert [orjson.dumps(r) for r in orjson.loads(second.content)["data"]] == [
        demo_truth.record_bytes("locations", p) for p in range(449, 900)]
    app.close()
    # the overlapping page: one record rendered, the rest taken from the read-ahead (then the next is read ahead)
    assert calls == [("locations", 0, 450), ("locations", 450, 900), ("locations", 449, 450), ("locations", 900, 1000)]

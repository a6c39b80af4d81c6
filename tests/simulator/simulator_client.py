"""A minimal client, independent of ecodata.fetch, used by the simulator tests to check it from outside."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

TOKEN = "sim-token"
AUTH = {"Authorization": f"Token {TOKEN}"}
LINK_RE = re.compile(r'<([^>]+)>;\s*rel="next"')

ROUTES = {
    ("locations", "2.1.1"): "/ocpi/cpo/2.1.1/locations",
    ("locations", "2.2"): "/ocpi/cpo/2.2/locations",
    ("tariffs", "2.1.1"): "/ocpi/cpo/2.1.1/tariffs",
    ("prices", "2.1.1"): "/prices",
    ("connector_prices", "2.1.1"): "/prices/connector_prices",
}


def record_key(endpoint: str, record: dict[str, Any]) -> tuple[str, ...]:
    if endpoint == "connector_prices":
        return (record["location_id"], record["evse_uid"], record["connector_id"])
    return (record["id"],)


@dataclass
class Crawl:
    records: list[dict[str, Any]] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    pages: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    cursors: list[str] = field(default_factory=list)


def run(coro_fn: Callable[[httpx.AsyncClient], Coroutine[Any, Any, Any]], app: Any) -> Any:
    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
            return await coro_fn(client)

    return asyncio.run(main())


async def crawl_by_link(client: httpx.AsyncClient, path: str, limit: int) -> Crawl:
    out = Crawl()
    url: str | None = f"{path}?limit={limit}"
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        body = orjson.loads(response.content)
        out.records.extend(body["data"])
        out.totals.append(int(response.headers["x-total-count"]))
        out.pages += 1
        out.last_headers = dict(response.headers)
        match = LINK_RE.search(response.headers.get("link", ""))
        url = match.group(1) if match else None
    return out


async def crawl_by_cursor(client: httpx.AsyncClient, path: str, limit: int, offset_noise: bool = False) -> Crawl:
    out = Crawl()
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["last_record"] = cursor
            if offset_noise:
                params["offset"] = 7  # must be ignored when last_record is given
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        out.records.extend(orjson.loads(response.content)["data"])
        out.totals.append(int(response.headers["x-total-count"]))
        out.pages += 1
        out.last_headers = dict(response.headers)
        cursor = response.headers["x-last-record"]
        out.cursors.append(cursor)
        if not cursor:
            return out


async def crawl_by_offset(client: httpx.AsyncClient, path: str, limit: int) -> Crawl:
    out = Crawl()
    offset = 0
    while True:
        response = await client.get(path, params={"limit": limit, "offset": offset})
        assert response.status_code == 200, response.text
        data = orjson.loads(response.content)["data"]
        out.records.extend(data)
        out.pages += 1
        out.totals.append(int(response.headers["x-total-count"]))
        if len(data) < limit:
            return out
        offset += limit

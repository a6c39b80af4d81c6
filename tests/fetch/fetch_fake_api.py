"""A tiny scriptable fake of the API for httpx.MockTransport unit tests (no simulator needed)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

TOKEN = "fake-token-123"

PATHS = {
    "/api/ocpi/cpo/2.1.1/locations": "locations",
    "/api/ocpi/cpo/2.2/locations": "locations",
    "/api/ocpi/cpo/2.1.1/tariffs": "tariffs",
    "/prices": "prices",
    "/prices/connector_prices": "connector_prices",
}


def make_records(endpoint: str, n: int) -> list[dict[str, Any]]:
    if endpoint == "connector_prices":
        return [{"location_id": f"L{i // 3:05d}", "evse_uid": f"E{i % 3}", "connector_id": "1",
                 "pricing_ids": [f"P{i}"], "extra_field": {"nested": [i, None, "x"]}} for i in range(n)]
    return [{"id": f"{endpoint[:1].upper()}{i:05d}", "value": i * 1.5, "name": f"r\u00e9cord {i}",
             "unknown_field": [True, None]} for i in range(n)]


@dataclass
class FakeApi:
    """Serves records with offset/Link/X-Total-Count or last_record/X-Last-Record pagination.

    ``faults`` maps a request number (1-based, counted over all requests) to a fault name:
    http429, http500, http502, http503, drop, refused, truncate, ocpi3000, timeout, badenvelope. ``hook(request_no, endpoint,
    params, response_headers)`` may edit headers to script pagination anomalies.
    """

    records: dict[str, list[dict[str, Any]]]
    faults: dict[int, str] = field(default_factory=dict)
    envelope: str = "status_code"
    retry_after: str = "0"
    hook: Callable[[int, str, dict[str, str], dict[str, str]], None] | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    data_requests: int = 0
    cap: int | None = None  # the server's maximum page size (X-Limit); None: serve what is asked

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        number = len(self.requests)
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            return self._json(401, {"status_code": 2000, "status_message": "Unauthorized",
                                    "timestamp": "2026-01-01T00:00:00Z"})
        fault = self.faults.get(number)
        if fault == "http429":
            return httpx.Response(429, headers={"Retry-After": self.retry_after}, text="slow down")
        if fault == "http503":
            return httpx.Response(503, text="unavailable")
        if fault == "http500":
            return self._json(500, {"status_code": 3000, "status_message": "Internal server error"})
        if fault == "http502":
            return httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
        if fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault == "drop":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        if fault == "refused":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        endpoint = PATHS[request.url.path]
        params = dict(request.url.params)
        if endpoint == "prices" and params.get("limit") == "bad":
            return self._json(400, {"status_code": 2001, "status_message": "limit must be a number"})
        items = self.records[endpoint]
        limit = int(params.get("limit", "1000"))
        if self.cap is not None:
            limit = min(limit, self.cap)
        cursor_mode = endpoint in ("prices", "connector_prices")
        if cursor_mode and params.get("last_record"):
            start = int(base64.b64decode(params["last_record"]).decode()) + 1
        else:
            start = int(params.get("offset", "0"))
        chunk = items[start:start + limit]
        end = start + len(chunk)
        headers = {"X-Total-Count": str(len(items)), "X-Limit": str(self.cap or limit)}
        if end < len(items):
            headers["Link"] = f'<http://fake/{request.url.path}?{urlencode({"offset": end, "limit": limit})}>; rel="next"'
        if cursor_mode:
            headers["X-Last-Record"] = base64.b64encode(str(end - 1).encode()).decode() if end < len(items) else ""
        if self.hook:
            self.hook(number, endpoint, params, headers)
        self.data_requests += 1
        status_key = "status" if self.envelope == "status" else "status_code"
        body: dict[str, Any] = {"data": chunk, status_key: 1000, "status_message": "Success",
                                "timestamp": "2026-01-01T00:00:00", "surprise": {"new": 1}}
        if fault == "ocpi3000":
            body = {"data": None, "status_code": 3000, "status_message": "Generic server error"}
        if fault == "ocpi2001":
            body = {"data": None, "status_code": 2001, "status_message": "Invalid parameter: offset"}
        raw = orjson.dumps(body)
        if fault == "truncate":
            raw = raw[: len(raw) // 2]
        if fault == "badenvelope":
            raw = b'{"status_code": 1000, "data": {"not": "a list"}}'
        return httpx.Response(200, headers=headers, content=raw)

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(status, content=orjson.dumps(body), headers={"Content-Type": "application/json"})

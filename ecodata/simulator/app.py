"""The HTTP face of the simulator: a raw ASGI app (no framework overhead per request).

Routes (each also under ``/api`` and with or without a trailing slash)::

    GET /ocpi/cpo/2.1.1/locations[/{id}]     OCPI 2.1.1 + Eco-Movement attributes, limit <= 1000
    GET /ocpi/cpo/2.2/locations[/{id}]       OCPI 2.2.1 shapes of the same data
    GET /ocpi/cpo/2.1.1/tariffs              raw OCPI tariffs, limit <= 1000
    GET /ocpi/cpo/2.3.0/tariffs              the same tariffs in OCPI 2.3.0 shapes (tax_included,
                                             PriceLimit, reservation elements); a client opts in
    GET /prices                              prices (new), limit <= 10000, offset or last_record
    GET /prices/{id}                         one price (``data`` is a one-element list)
    GET /prices/connector_prices             connector -> pricing_ids, limit <= 10000, offset or last_record
    GET /prices/connector_prices/{location_id}

Decisions where the reference is silent (documented for clients):

* Auth: ``Authorization: Token <token>``; ``Bearer <token>`` is accepted too, because a known live
  client sends it and the real API evidently serves it; the OCPI 2.2 Base64 form of the token is
  accepted as well. Anything else gets HTTP 401 with an OCPI body (status_code 2000).
* ``limit`` above the route's maximum is capped (OCPI: the server may return fewer, ``X-Limit``
  states the cap); ``limit < 1``, a non-integer limit/offset, a negative offset or a malformed
  ``last_record`` get HTTP 400 with status_code 2001 and a message that says what is wrong.
* ``X-Limit`` is the route's maximum page size; ``X-Total-Count`` the current number of records.
* ``X-Last-Record`` (pricing routes) is an opaque cursor (base64url of the last record's sort key),
  empty on the last page. With ``last_record`` the ``offset`` is ignored and ``Link`` carries
  ``last_record``; otherwise ``Link`` carries ``offset``. ``Link`` is absent on the last page.
* The envelope ``timestamp`` is the simulated "now" of the dataset's day, so pages are
  byte-identical between runs with the same configuration.
* An unknown location id gets 404 with status_code 2003, an unknown price id 404 with 2000.
* ``date_from``/``date_to`` and other unknown parameters are accepted, ignored, and kept in ``Link``.
* Large pages: while a client works on a page, the next one (the one ``Link`` announced) is
  rendered ahead in a worker thread, so generation overlaps the client's own processing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from ecodata.simulator._rng import key, uuid_from
from ecodata.simulator.config import SimulatorConfig
from ecodata.simulator.data import SimulatedData
from ecodata.simulator.faults import Decision, FaultEngine
from ecodata.simulator.mutation import GAP, View

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_PRICING = ("prices", "connector_prices")
_CHUNK = 1024 * 1024
# Pages of at least this many records (about 1 MB and more) get the next page rendered ahead.
_READ_AHEAD_MIN = {"locations": 400, "connector_prices": 1000, "prices": 2000, "tariffs": 1 << 30}


class ConnectionDropped(Exception):
    """Raised by the ``drop`` fault after part of the body was sent: the server closes the connection."""


class _Reply(Exception):
    """An error response, raised from deep in a handler."""

    def __init__(self, http: int, code: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.http, self.code, self.message, self.headers = http, code, message, headers or []


def _cursor(k: int) -> str:
    return base64.urlsafe_b64encode(k.to_bytes(8, "big")).decode().rstrip("=")


def _uncursor(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 8:
        raise _Reply(400, 2001, f"last_record {text!r} is not a cursor this server issued; "
                                 "pass the X-Last-Record header of the previous page")
    return int.from_bytes(raw, "big")


class SimulatorApp:
    """The ASGI application; see the module docstring for its behaviour."""

    def __init__(self, config: SimulatorConfig, dataset: SimulatedData | None = None) -> None:
        self.config = config
        self.dataset = dataset or SimulatedData(config.scale, config.seed, config.day)
        if (self.dataset.scale, self.dataset.seed, self.dataset.day) != (config.scale, config.seed, config.day):
            raise ValueError("the dataset does not match the config's scale, seed and day")
        fault_seed = config.seed if config.fault_seed is None else config.fault_seed
        self.faults = FaultEngine(config.faults, fault_seed)
        token = config.token.encode()
        self._tokens = (token, base64.b64encode(token))
        self._ts = self.dataset.timestamp.encode()
        self._views: dict[tuple[str, str], View] = {}
        self._ahead: dict[tuple[str, str, int, int], Future[list[bytes]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._served: dict[tuple[str, str, int, int], None] = {}  # recently served ranges, oldest first

    def close(self) -> None:
        """Stop the read-ahead worker (the app keeps working, without read-ahead threads running)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ahead.clear()

    # ------------------------------------------------------------------ views
    def view(self, endpoint: str, version: str = "2.1.1") -> View:
        """The live view of an endpoint (mutations apply to both location versions alike)."""
        vk = (endpoint, version)
        v = self._views.get(vk)
        if v is None:
            ds = self.dataset
            seed = ds.seed

            def render(a: int, b: int) -> list[bytes]:
                return ds.render(endpoint, a, b, version)

            def inserted(k: int) -> bytes:
                base = ds.render(endpoint, k // GAP, k // GAP + 1, version)[0]
                return _inserted(endpoint, base, k, seed, ds.timestamp)

            def updated(raw: bytes, n: int) -> bytes:
                return _updated(endpoint, raw, n, ds.timestamp)

            v = View(ds.count(endpoint), render, inserted, updated)
            twin = next((w for (e, ver), w in self._views.items() if e == endpoint and ver != version), None)
            if twin is not None:  # share the overlay so every version shows the same mutations
                v.deleted, v.inserted, v.updated = twin.deleted, twin.inserted, twin.updated
            self._views[vk] = v
        return v

    def _mutate(self, endpoint: str, d: Decision) -> None:
        v = self.view(endpoint)
        count = v.count()
        if count == 0:
            return
        pos = (d.draw >> 8) % count
        op = d.draw % 3
        if op == 0:
            v.delete_at(pos)
        elif op == 1:
            keys = v.keys(pos, 1)
            v.insert_after(keys[0] // GAP, d.draw >> 20)
        else:
            v.update_at(pos)

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        pricing_route = path.startswith(("/prices", "/api/prices"))
        status_style = pricing_route and self.config.pricing_envelope == "status"
        try:
            if not self._authorised(scope):
                raise _Reply(401, 2000, "missing or invalid token: send the header 'Authorization: Token <your token>'")
            d = self.faults.decide(scope["method"], path, query)
            if d.slow:
                await asyncio.sleep(self.config.faults.slow_seconds)
            if d.exclusive in ("http429", "http500", "http502", "http503", "ocpi3000"):
                await self._fault_reply(send, d.exclusive, status_style)
                return
            status, headers, body = await self._handle(scope, path, query, d, status_style)
        except _Reply as reply:
            await self._send(send, reply.http, reply.headers, self._error(reply.code, reply.message, status_style))
            return
        if d.exclusive == "truncate" and status == 200:
            cut = max(1, int(len(body) * (0.1 + 0.8 * ((d.draw >> 32) % 1000) / 1000)))
            body = body[:cut]
        if d.exclusive == "drop" and status == 200:
            cut = max(1, len(body) // 2)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers]})
            await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
            raise ConnectionDropped("the drop fault closed the connection mid-body")
        await self._send(send, status, headers, body)

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = bytes(value).strip().partition(b" ")
                if scheme.lower() not in (b"token", b"bearer"):
                    return False
                token = token.strip()
                return any(hmac.compare_digest(token, t) for t in self._tokens)
        return False

    async def _send(self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers]})
        if len(body) <= _CHUNK:
            await send({"type": "http.response.body", "body": body})
            return
        # Large bodies go out in slices: the server then waits for the socket to drain between slices,
        # instead of buffering megabytes that asyncio (3.11) shifts down after every partial send.
        for start in range(0, len(body), _CHUNK):
            await send({"type": "http.response.body", "body": body[start:start + _CHUNK],
                        "more_body": start + _CHUNK < len(body)})

    def _error(self, code: int, message: str, status_style: bool) -> bytes:
        if status_style:
            return orjson.dumps({"timestamp": self.dataset.timestamp, "status": code, "status_message": message,
                                 "data": None})
        return orjson.dumps({"data": None, "status_code": code, "status_message": message,
                             "timestamp": self.dataset.timestamp})

    async def _fault_reply(self, send: Send, kind: str, status_style: bool) -> None:
        retry = [(b"retry-after", str(self.config.faults.retry_after).encode())]
        if kind == "http429":
            await self._send(send, 429, retry, self._error(2000, "Too many requests, slow down", status_style))
        elif kind == "http500":
            await self._send(send, 500, [], self._error(3000, "Internal server error", status_style))
        elif kind == "http502":
            body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            await send({"type": "http.response.start", "status": 502, "headers": [
                (b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        elif kind == "http503":
            await self._send(send, 503, retry, self._error(3000, "Service temporarily unavailable", status_style))
        else:
            await self._send(send, 200, [], self._error(3000, "Generic server error", status_style))

    # ------------------------------------------------------------------ routing
    async def _handle(self, scope: Scope, path: str, query: bytes, d: Decision,
                status_style: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if path.startswith("/api/"):
            path = path[4:]
        path = path.rstrip("/")
        if scope["method"] != "GET":
            raise _Reply(405, 2000, f"method {scope['method']} is not allowed on {path or '/'}")
        parts = path.split("/")[1:]
        if parts[:3] == ["ocpi", "cpo", "2.3.0"] and parts[3:] == ["tariffs"]:
            return await self._list(scope, query, "tariffs", "2.3.0", d, False)
        if parts[:3] == ["ocpi", "cpo", "2.1.1"] or parts[:3] == ["ocpi", "cpo", "2.2"]:
            version = parts[2]
            rest = parts[3:]
            if rest and rest[0] == "locations":
                if len(rest) == 1:
                    return await self._list(scope, query, "locations", version, d, False)
                if len(rest) == 2:
                    return self._location(rest[1], version, d)
            if rest == ["tariffs"] and version == "2.1.1":
                return await self._list(scope, query, "tariffs", version, d, False)
        elif parts and parts[0] == "prices":
            if len(parts) == 1:
                return await self._list(scope, query, "prices", "2.1.1", d, status_style)
            if parts[1] == "connector_prices":
                if len(parts) == 2:
                    return await self._list(scope, query, "connector_prices", "2.1.1", d, status_style)
                if len(parts) == 3:
                    return self._connector_prices_of(parts[2], d, status_style)
            elif len(parts) == 2:
                return self._price(parts[1], d, status_style)
        raise _Reply(404, 2000, f"no such route: {path or '/'}")

    def _params(self, query: bytes, max_limit: int, keyset: bool) -> tuple[int, int, int | None, list[tuple[str, str]]]:
        limit, offset, cursor = max_limit, 0, None
        others: list[tuple[str, str]] = []
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name == "limit":
                limit = min(_whole_number(value, 1, f"limit must be a whole number from 1 to {max_limit}"), max_limit)
            elif name == "offset":
                offset = _whole_number(value, 0, "offset must be a whole number of 0 or more")
            elif name == "last_record" and keyset:
                cursor = _uncursor(value)
            else:
                others.append((name, value))
        return limit, offset, cursor, others

    async def _list(self, scope: Scope, query: bytes, endpoint: str, version: str, d: Decision,
              status_style: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        keyset = endpoint in _PRICING
        max_limit = self.config.max_pricing_limit if keyset else self.config.max_limit
        limit, offset, cursor, others = self._params(query, max_limit, keyset)
        if d.mutate:
            self._mutate(endpoint, d)
        view = self.view(endpoint, version)
        total = view.count()
        start = view.rank(cursor) if cursor is not None else offset
        keys = view.keys(start, limit)
        records = await self._records(view, endpoint, version, keys)
        if d.unknown_fields:
            extra = b'"x_eco_attribute_%d":{"value":%d,"flags":[true,null],"note":"new field"},' % (
                d.draw % 97, d.draw % 1000)
            records = [r[:1] + extra + r[1:] for r in records]
        more = start + len(keys) < total
        headers = [(b"x-total-count", str(total).encode()), (b"x-limit", str(max_limit).encode())]
        if keyset:
            headers.append((b"x-last-record", _cursor(keys[-1]).encode() if more and keys else b""))
        if more and keys:
            params = list(others)
            if cursor is not None:
                params += [("last_record", _cursor(keys[-1])), ("limit", str(limit))]
            else:
                params += [("offset", str(start + len(keys))), ("limit", str(limit))]
            host = "127.0.0.1"
            for name, value in scope["headers"]:
                if name == b"host":
                    host = bytes(value).decode("latin-1")
                    break
            url = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{scope['path']}?{urlencode(params)}"
            headers.append((b"link", f'<{url}>; rel="next"'.encode()))
        extra = b',"x_debug_trace":"%d"' % d.draw if d.unknown_fields else b""
        if status_style:
            head = b'{"timestamp":"%s","status":1000,"total":%d,"limit":%d%s,"data":[' % (self._ts, total, limit, extra)
            tail = b"]}"
        else:
            head = b'{"data":['
            tail = b'],"status_code":1000,"status_message":"Success","timestamp":"%s"%s}' % (self._ts, extra)
        if records:  # glue the envelope onto the first and last record: the page is copied once
            records[0] = head + records[0]
            records[-1] = records[-1] + tail
            body = b",".join(records)
        else:
            body = head + tail
        return 200, headers, body

    async def _records(self, view: View, endpoint: str, version: str, keys: list[int]) -> list[bytes]:
        """The records for keys; a large page is taken from (or schedules) the read-ahead of the next page.

        A crawler asks for the page its last ``Link`` announced, and then spends a while parsing it.
        The simulator renders that next page in a worker thread meanwhile, so a sequential crawl is
        not held up by generation; ranges already asked for are never rendered twice.
        """
        if view.mutated or not keys:
            return view.render(keys)
        start, stop = keys[0] // GAP, keys[-1] // GAP + 1
        ahead = self._ahead.pop((endpoint, version, start, stop), None)
        lead: list[bytes] = []
        if ahead is None:
            # a client whose pages overlap by one record (ecodata's offset crawl) asks for the page
            # read ahead plus the record before it: render that one record, take the rest read ahead
            near = next((k for k in self._ahead if k[:3] == (endpoint, version, start + 1) and k[3] >= stop), None)
            if near is not None:
                ahead = self._ahead.pop(near)
                lead = view.render(keys[:1])
        if ahead is not None:
            rendered: list[bytes] = await asyncio.wrap_future(ahead)
            records = lead + rendered[:stop - start - len(lead)]  # a copy: the envelope is glued onto its ends
        else:
            records = view.render(keys)
        self._served[(endpoint, version, start, stop)] = None
        while len(self._served) > 64:
            self._served.pop(next(iter(self._served)))
        following = (endpoint, version, stop, min(view.n, stop + (stop - start)))
        if (len(keys) >= _READ_AHEAD_MIN[endpoint] and following[2] < following[3]
                and following not in self._ahead and following not in self._served):
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecodata-sim-ahead")
            while len(self._ahead) >= 3:  # bounded: a few pages at most
                self._ahead.pop(next(iter(self._ahead)))
            self._ahead[following] = self._pool.submit(self.dataset.render, *following[:1], *following[2:],
                                                       following[1])
        return records

    def _ok(self, data: bytes, status_style: bool) -> bytes:
        if status_style:
            return b'{"timestamp":"%s","status":1000,"total":1,"limit":1,"data":%s}' % (self._ts, data)
        return b'{"data":%s,"status_code":1000,"status_message":"Success","timestamp":"%s"}' % (data, self._ts)

    def _location(self, location_id: str, version: str, d: Decision) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        pos = self.dataset.location_position(location_id)
        if pos is None:
            raise _Reply(404, 2003, f"unknown location {location_id!r}")
        return 200, [], self._ok(self.dataset.location_bytes(pos, version), False)

    def _price(self, price_id: str, d: Decision, status_style: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        idx = self.dataset.price_position(price_id)
        if idx is None:
            raise _Reply(404, 2000, f"unknown price id {price_id!r} (price ids change when a price changes; "
                                    "download connector_prices again)")
        return 200, [], self._ok(b"[" + self.dataset.catalog.price_bytes(idx) + b"]", status_style)

    def _connector_prices_of(self, location_id: str, d: Decision,
                             status_style: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        pos = self.dataset.location_position(location_id)
        if pos is None:
            raise _Reply(404, 2003, f"unknown location {location_id!r}")
        rows = self.dataset.connector_rows(pos)
        return 200, [], self._ok(b"[" + b",".join(rows) + b"]", status_style)


# ---------------------------------------------------------------------- mutations
def _inserted(endpoint: str, base: bytes, k: int, seed: int, now: str) -> bytes:
    """A new record sorting right after ``base``: a copy with a new identity."""
    rec = orjson.loads(base)
    new_id = uuid_from(key(seed, 900, k), 0xF00000000000 | k)
    if endpoint == "connector_prices":
        rec["connector_id"] = str(90 + k % GAP)
    elif endpoint == "tariffs":
        rec["id"] = new_id.replace("-", "")
    else:
        rec["id"] = new_id
    if "last_updated" in rec:
        rec["last_updated"] = now + "Z"
    return orjson.dumps(rec)


def _updated(endpoint: str, raw: bytes, n: int, now: str) -> bytes:
    """The record after ``n`` updates: a later last_updated (a shorter price list for connector rows)."""
    rec = orjson.loads(raw)
    if endpoint == "connector_prices":
        keep = max(1, len(rec["pricing_ids"]) - n)
        rec["pricing_ids"] = rec["pricing_ids"][:keep]
        rec["product_ids"] = rec["product_ids"][:keep]
    else:
        rec["last_updated"] = now + "Z"
        if endpoint == "locations" and rec.get("evses"):
            rec["evses"][0]["status"] = "CHARGING" if rec["evses"][0]["status"] != "CHARGING" else "AVAILABLE"
    return orjson.dumps(rec)


def create_app(config: SimulatorConfig, dataset: SimulatedData | None = None) -> SimulatorApp:
    """The simulator as an ASGI app, e.g. for ``httpx.ASGITransport(app=create_app(config))``."""
    return SimulatorApp(config, dataset)


__all__ = ["ConnectionDropped", "SimulatorApp", "create_app"]


def _whole_number(value: str, minimum: int, rule: str) -> int:
    """A query parameter as an int of at least ``minimum``, or HTTP 400 / OCPI 2001 quoting ``rule``."""
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise _Reply(400, 2001, f"{rule}, got {value!r}")
    return number

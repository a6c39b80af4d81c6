"""The HTTP side: one authenticated ``httpx.AsyncClient``, retries, and envelope checks.

:meth:`ApiClient.get_page` turns one request into a :class:`Page` or an error from
``ecodata.errors``. Transient failures are retried with capped exponential backoff and jitter
(``Retry-After`` honoured) until either the per-request attempts or the run's total retry budget
are spent:

* retried: HTTP 429, 408, 5xx, timeouts, dropped connections, truncated or invalid JSON, an
  envelope without a ``data`` list, and OCPI 3xxx inside an HTTP 200;
* not retried: 401/403 (:class:`AuthError`), other 4xx and OCPI 2xxx (:class:`ApiStatusError`);
* given up early: a connection that cannot be made while the API has not answered a single request
  of the run (wrong base URL, nothing listening, unknown host) fails after
  ``RetryPolicy.unreachable_attempts`` tries, about a second, with a message saying what to check,
  instead of a full retry schedule; once the API has answered, a refused connection is transient
  (a restart) and retried like the rest.

The token travels only in the ``Authorization`` header. No message built here contains it:
errors quote the request URL (which never carries the token) and the server's status text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import os
import random
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

if "httpx" not in sys.modules:
    # httpx imports its own command line (click, rich, pygments) when those are installed: a good
    # part of this process's start-up, for a tool ecodata never calls. Marked absent, httpx skips it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpcore
import httpx
import orjson

from ecodata.errors import ApiStatusError, AuthError, FetchError, RetryExhausted
from ecodata.fetch._store import PageTarget, StoreOutcome, decode_and_store
from ecodata.settings import Secret
from ecodata.snapshot.writer import PageCheckpoint

log = logging.getLogger("ecodata.fetch")

# httpcore reads a response 64 KiB at a time, and every read is a trip through h11, anyio and the
# event loop: for pages of 2-10 MB that trip, not the bytes, is most of the client's CPU. Reading up
# to 1 MiB at a time (in practice what the socket holds, up to asyncio's 256 KiB) takes about a fifth
# of the download's CPU away (benchmarks/README.md, bench_fetch). READ_NUM_BYTES is the tuning
# constant of httpcore's HTTP/1.1 connection; tests/fetch/test_fetch_simulator.py checks it is still there.
READ_BYTES = 1 << 20
if getattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES", READ_BYTES) < READ_BYTES:
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = READ_BYTES
_RETRY_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry limits: per request (``max_attempts``, first try included) and per run (``budget``).

    The delay before retry ``n`` (1-based) is the server's ``Retry-After`` when it sent one
    (capped at ``max_retry_after_s``), otherwise a random value in ``[d/2, d]`` with
    ``d = min(max_delay_s, base_delay_s * 2**(n-1))`` ("equal jitter": spread out, never zero).

    Example: ``RetryPolicy(max_attempts=5, base_delay_s=0.01, budget=50)`` for fast tests.
    """

    max_attempts: int = 8
    base_delay_s: float = 0.25
    max_delay_s: float = 20.0
    max_retry_after_s: float = 120.0
    budget: int = 1000
    unreachable_attempts: int = 3  # connection attempts before the API has answered once

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (retry_number - 1))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass
class PageHead:
    """What a page's response headers announced; enough to plan the next requests."""

    number: int
    params: dict[str, str]
    total_count: int | None
    x_limit: int | None
    link_next: str | None
    last_record: str | None  # None: header absent; "": present and empty (the last page)


@dataclass
class Page(PageHead):
    """One downloaded page: its headers, where it came from, and (once stored) its checkpoint."""

    url: str = ""
    fetched_at: dt.datetime = dt.datetime.min
    body_bytes: int = 0
    retries: int = 0
    record_count: int = 0  # records stored
    served: int = 0  # records in the response (an offset page's overlap record included)
    checkpoint: PageCheckpoint | None = None


StoreFn = Callable[[bytes, Page], Awaitable["StoreOutcome | None"]]


@dataclass
class RetryStats:
    """Retries spent so far in a run, shared by every request of that run."""

    used: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class _Transient(Exception):
    """A failure worth retrying; ``reason`` is a short human description."""

    def __init__(self, reason: str, retry_after: float | None = None, *, no_connection: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.no_connection = no_connection  # the TCP/TLS connection could not be made at all


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a (public) URL: where a connection was attempted."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _connect_reason(exc: httpx.ConnectError) -> str:
    """A short cause of a failed connection ("connection refused", "name or service not known")."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror) and cause.strerror:
            return cause.strerror.lower()  # the host name did not resolve
        if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
            return os.strerror(cause.errno).lower()  # e.g. connection refused
        cause = cause.__cause__ or cause.__context__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:120] or type(exc).__name__


def public_url(url: str | httpx.URL) -> str:
    """The URL without user info (``user:pass@``), safe to record and print."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _envelope_status(body: Mapping[str, Any]) -> tuple[int | None, str]:
    """The OCPI status code and message, from either envelope style (``status_code`` or ``status``)."""
    code = body.get("status_code", body.get("status"))
    message = body.get("status_message", body.get("message", ""))
    try:
        number = int(code) if code is not None else None
    except (TypeError, ValueError):
        number = None
    return number, str(message) if message is not None else ""


class ApiClient:
    """An authenticated async client for one run; use as ``async with ApiClient(...) as api``.

    ``transport`` replaces the network (``httpx.ASGITransport`` or ``httpx.MockTransport`` in
    tests). The token is set once as a default header and never appears anywhere else. ``tls``
    false (a plain-http base URL) skips building a TLS context.
    """

    def __init__(self, *, token: Secret, timeout_s: float = 60.0, verify_tls: bool = True,
                 retry: RetryPolicy | None = None, max_connections: int = 8,
                 transport: httpx.AsyncBaseTransport | None = None, seed: int | None = None,
                 tls: bool = True) -> None:
        self.retry = retry or RetryPolicy()
        self.stats = RetryStats()
        self._answered = False  # has any request of this run got an HTTP response?
        self._rng = random.Random(seed)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Token {token.reveal()}", "Accept": "application/json",
                     "User-Agent": "ecodata"},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
            # a plain-http base URL never opens a TLS connection (redirects are not followed, a Link's
            # host is ignored): no TLS context then, whose CA bundle costs a good part of the start-up
            verify=verify_tls if tls else False,
            limits=limits,
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def get_page(self, url: str, params: dict[str, str], number: int, store: StoreFn | None = None,
                       on_head: Callable[[PageHead], None] | None = None) -> Page:
        """GET one page, retrying transient failures, and hand its body to ``store``.

        ``store`` decodes the body and, when the envelope says success, writes the page; it
        returns a :class:`StoreOutcome` (None: not valid JSON) from which this method decides to
        accept, retry or fail. The default only decodes and checks. ``on_head`` is called once,
        with the headers of the first HTTP 2xx answer that carries paging headers, as soon as they
        arrive: the crawl plans the next requests from it, so that the next page of a cursor
        endpoint is requested while this one downloads and decodes.
        """
        store = store or _check_only
        request_url = public_url(httpx.URL(url, params=params))
        attempt = 0
        heads: list[PageHead] = []

        def first_head(head: PageHead) -> None:
            if not heads:
                heads.append(head)
                if on_head is not None:
                    on_head(head)

        while True:
            attempt += 1
            try:
                return await self._attempt(url, params, number, request_url, attempt - 1, store,
                                           first_head)
            except _Transient as failure:
                reason = failure.reason
                if failure.no_connection and not self._answered and attempt >= self.retry.unreachable_attempts:
                    raise FetchError(
                        f"cannot reach the API at {_origin(request_url)} ({reason}, {attempt} attempts): "
                        "check --base-url or ECODATA_BASE_URL and the network (for the simulator, "
                        "'ecodata simulate' must be running); nothing was downloaded"
                    ) from None
                if attempt >= self.retry.max_attempts:
                    raise RetryExhausted(
                        f"gave up on {request_url} after {attempt} attempts; last failure: {reason}; "
                        "run the same command again to resume"
                    ) from None
                if self.stats.used >= self.retry.budget:
                    raise RetryExhausted(
                        f"the run's retry budget ({self.retry.budget} retries) is spent; last failure on "
                        f"{request_url}: {reason}; run the same command again to resume"
                    ) from None
                self.stats.used += 1
                kind = reason.split(":")[0]
                self.stats.by_reason[kind] = self.stats.by_reason.get(kind, 0) + 1
                await _wait(self.retry.delay(attempt, failure.retry_after, self._rng), request_url, reason,
                            attempt, failure.retry_after is not None)

    async def _get(self, url: str, params: dict[str, str],
                   on_response: Callable[[httpx.Response], None]) -> tuple[httpx.Response, bytes]:
        """GET and read the body ourselves: ``aread()`` would cache it on the Response, which sits in
        a reference cycle with its stream, so every page body would live until the next cyclic GC
        and peak memory would follow the GC's rhythm instead of the pages in flight.

        ``on_response`` sees the status and headers as soon as they arrive, before the body: the
        next page of a cursor endpoint can be on its way while this one downloads."""
        async with self._client.stream("GET", url, params=params) as response:
            on_response(response)
            content = b"".join([chunk async for chunk in response.aiter_bytes()])
        # httpx binds the stream to its response (a cycle); in-process transports (ASGI, mock) keep
        # the body in that stream. Cutting the cycle frees it now rather than at the next GC.
        response.stream = httpx.ByteStream(b"")
        return response, content

    async def _attempt(self, url: str, params: dict[str, str], number: int, request_url: str,
                       retries: int, store: StoreFn, on_head: Callable[[PageHead], None]) -> Page:
        def paging(response: httpx.Response) -> None:
            if 200 <= response.status_code < 300:
                head = _head(number, params, response.headers)
                if head.total_count is not None or head.link_next is not None or head.last_record is not None:
                    on_head(head)  # a data page's paging headers (an error reply carries none), before its body

        try:
            response, content = await self._get(url, params, paging)
        except httpx.ConnectTimeout as exc:
            raise _Transient(f"connection timeout: {type(exc).__name__}", no_connection=True) from None
        except httpx.TimeoutException as exc:
            raise _Transient(f"timeout: {type(exc).__name__}") from None
        except httpx.ConnectError as exc:
            raise _Transient(f"connection error: {_connect_reason(exc)}", no_connection=True) from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection error: {type(exc).__name__}") from None
        self._answered = True
        fetched_at = dt.datetime.now(dt.UTC)
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                f"the API refused the token (HTTP {status}) for {request_url}: check ECODATA_TOKEN, "
                "ECODATA_TOKEN_FILE or --token-file, and that the licence covers this endpoint"
            )
        if status in _RETRY_HTTP or status >= 500:
            raise _Transient(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))
        if status >= 300:
            body = _decode(content)
            if isinstance(body, dict):
                code, message = _envelope_status(body)
                if code is not None:
                    raise ApiStatusError(code, message or "(no status message)", http_status=status,
                                         url=request_url)
            raise FetchError(f"the API answered HTTP {status} for {request_url}; check the base URL and "
                             "the endpoint")
        head = _head(number, params, response.headers)
        page = Page(number=number, params=dict(params), total_count=head.total_count, x_limit=head.x_limit,
                    link_next=head.link_next, last_record=head.last_record, url=request_url,
                    fetched_at=fetched_at, body_bytes=len(content), retries=retries)
        outcome = await store(content, page)
        if outcome is None:
            raise _Transient("invalid JSON: the body is truncated or not JSON")
        if not outcome.is_object:
            raise _Transient("invalid envelope: the body is not a JSON object")
        code, message = outcome.status_code, outcome.status_message
        if code is not None and code >= 3000:  # 3xxx server errors, 4xxx hub errors: transient
            raise _Transient(f"OCPI status {code}: {message}")
        if code is not None and 2000 <= code < 3000:
            raise ApiStatusError(code, message or "(no status message)", http_status=status, url=request_url)
        if not outcome.valid:
            raise _Transient("invalid envelope: 'data' is not a list")
        on_head(head)  # no-op when it was called early or by an earlier attempt
        page.record_count = outcome.record_count
        page.served = outcome.served_count
        page.checkpoint = outcome.checkpoint
        return page


WAIT_LOG_S = 10.0  # waits at least this long are logged, and again every WAIT_LOG_EVERY_S while they last
WAIT_LOG_EVERY_S = 60.0


async def _wait(seconds: float, request_url: str, reason: str, attempt: int, server_asked: bool) -> None:
    """Sleep before a retry; a long wait says so on the log (stderr) at least once a minute.

    Without it a run throttled by ``Retry-After`` would sit silent for minutes outside a terminal.
    """
    if seconds < WAIT_LOG_S:
        await asyncio.sleep(seconds)
        return
    why = "the server's Retry-After" if server_asked else "backoff"
    log.warning("waiting %.0f s (%s) before retry %d of %s after %s", seconds, why, attempt, request_url, reason)
    remaining = seconds
    while remaining > WAIT_LOG_EVERY_S:
        await asyncio.sleep(WAIT_LOG_EVERY_S)
        remaining -= WAIT_LOG_EVERY_S
        log.warning("still waiting to retry %s: %.0f s left", request_url, remaining)
    await asyncio.sleep(remaining)


async def _check_only(content: bytes, page: Page) -> StoreOutcome | None:
    """The default store: decode and check the envelope in a worker thread, write nothing."""
    target = PageTarget(None, (), "")
    return await asyncio.to_thread(
        decode_and_store, content, target, number=page.number, params=page.params, url=page.url,
        fetched_at=page.fetched_at, total_count=page.total_count, link_next=page.link_next,
        last_record=page.last_record, retries=page.retries,
    )


def _decode(content: bytes) -> Any:
    """``orjson.loads`` or None when the body is not valid JSON (e.g. cut off mid-way)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _head(number: int, params: Mapping[str, str], headers: httpx.Headers) -> PageHead:
    """The paging headers of a page's answer."""
    return PageHead(number=number, params=dict(params), total_count=_int_header(headers, "X-Total-Count"),
                    x_limit=_int_header(headers, "X-Limit"), link_next=_next_link(headers.get("Link")),
                    last_record=headers.get("X-Last-Record"))


def _next_link(header: str | None) -> str | None:
    """The URL of the ``rel="next"`` entry of a ``Link`` header, if any."""
    if not header:
        return None
    for part in header.split(","):
        section = part.strip()
        if not section.startswith("<") or ">" not in section:
            continue
        target, _, rest = section[1:].partition(">")
        rels = [p.strip() for p in rest.split(";") if p.strip()]
        for rel in rels:
            name, _, value = rel.partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"\u201c\u201d').split():
                return target.strip()
    return None

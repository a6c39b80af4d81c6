"""The one page loop and :func:`run_fetch`, the library behind ``ecodata fetch``.

All endpoints of a run crawl at the same time on one ``httpx.AsyncClient``. A shared pool of
``settings.concurrency`` slots bounds the requests in flight *and* the pages held in memory: a
slot is taken before a request and given back once the page's checkpoint is on disk, so memory
does not grow with an endpoint's size, and a run killed at any moment loses at most
``concurrency`` downloaded pages. Cursor pages (the sequential critical path) get slots first.
Decoding, conversion and the Parquet write run in worker threads so the event loop keeps the
network busy meanwhile.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import heapq
import itertools
import logging
import math
import shutil
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ecodata.errors import AuthError, ConfigError
from ecodata.fetch._client import ApiClient, Page, PageHead, RetryPolicy, public_url
from ecodata.fetch._coverage import Read
from ecodata.fetch._endpoints import EndpointSpec, endpoint_spec
from ecodata.fetch._paginate import CursorPaginator, DonePage, OffsetPaginator, PageRequest
from ecodata.fetch._progress import ProgressSink, make_progress
from ecodata.fetch._store import PageTarget, StoreOutcome, decode_and_store
from ecodata.lock import data_dir_lock
from ecodata.paths import DataPaths, check_snapshot_date
from ecodata.settings import Settings
from ecodata.snapshot.manifest import Manifest, read_manifest
from ecodata.snapshot.schema import ENDPOINTS
from ecodata.snapshot.writer import (
    PageCheckpoint,
    RunInfo,
    StagedSnapshot,
    new_run_id,
    read_page_keys,
    utc_now_iso,
    writer_lock,
)
from ecodata.storage import storage_errors

log = logging.getLogger("ecodata.fetch")
T = TypeVar("T")
RESUME_MAX_AGE_S = 3600.0  # stored pages older than this are not reused: the data has changed since
PAGE_LAYOUT = "overlap-1"  # offset pages overlap by one record (a staging area of another layout is discarded)


def _full_size(page: Page) -> int | None:
    """Records a full offset page holds: the limit asked for, or the server's cap if lower."""
    asked = page.params.get("limit", "")
    if "offset" not in page.params or not asked.isdigit():
        return None
    return min(int(asked), page.x_limit) if page.x_limit and page.x_limit > 0 else int(asked)


def _check_junction(resumed_from: dict[int, PageCheckpoint], cp: PageCheckpoint) -> None:
    """A fresh offset page must start with the record the interrupted run stored last on the page before."""
    before = resumed_from.get(cp.number - 1)
    if before is None or cp.lead_key is None or before.last_key is None:
        return
    if before.last_key != cp.lead_key:
        raise _DataChanged(f"page {cp.number} no longer starts where the interrupted run's page {before.number} "
                           "ended: the data changed in between", len(resumed_from))
    if before.last_hash is not None and cp.lead_hash is not None and before.last_hash != cp.lead_hash:
        raise _DataChanged(f"record {cp.lead_key!r} differs from the copy the interrupted run stored on page "
                           f"{before.number}: the data changed in between", len(resumed_from))


def _reads(stored: dict[int, PageCheckpoint], pages: set[int]) -> list[Read]:
    """The coverage check's view of the stored offset pages."""
    reads = []
    for number in sorted(pages & stored.keys()):
        cp = stored[number]
        offset = cp.params.get("offset", "")
        if not offset.isdigit():
            continue
        served = cp.records + (cp.lead_key is not None)
        full = cp.full if cp.full is not None else served >= int(cp.params.get("limit", "0") or 0)
        if cp.total_count is not None and int(offset) + served >= cp.total_count:
            full = False  # the same answer's total says this page reached the end
        reads.append(Read(number, int(offset), served, cp.lead_key, cp.first_key, cp.last_key, full))
    return reads


class _StoredKeys:
    """The stored record keys of a staged page (read from its Parquet file once, when asked)."""

    def __init__(self, pages_dir: Path, stored: dict[int, PageCheckpoint]) -> None:
        self._dir = pages_dir
        self._stored = stored
        self._cache: dict[int, set[str]] = {}

    def __call__(self, number: int) -> set[str]:
        keys = self._cache.get(number)
        if keys is None:
            cp = self._stored[number]
            keys = set(read_page_keys(self._dir / cp.file)) if cp.file else set()
            self._cache[number] = keys
        return keys


@dataclass(frozen=True)
class EndpointResult:
    """The outcome for one endpoint.

    ``status``: ``fetched`` (downloaded in full now), ``resumed`` (completed a run that had been
    interrupted, reusing its stored pages) or ``skipped`` (already complete; use ``force``).
    ``pages_downloaded`` counts pages downloaded by this call only.
    """

    endpoint: str
    snapshot_date: dt.date
    status: str
    pages: int
    pages_downloaded: int
    records: int
    duplicates: int
    bytes: int
    retries: int
    drift: bool
    warnings: list[str]
    elapsed_s: float
    partition: Path


@dataclass(frozen=True)
class FetchReport:
    """What :func:`run_fetch` did, one :class:`EndpointResult` per endpoint."""

    snapshot_date: dt.date
    endpoints: list[EndpointResult] = field(default_factory=list)
    elapsed_s: float = 0.0

    def result(self, endpoint: str) -> EndpointResult:
        return next(r for r in self.endpoints if r.endpoint == endpoint)

    def lines(self) -> list[str]:
        """Human summary, one line per endpoint (the CLI prints these)."""
        out = []
        for r in self.endpoints:
            extra = f", {_count(r.duplicates, 'duplicate')} dropped" if r.duplicates else ""
            extra += f", {_count(r.retries, 'retry', 'retries')}" if r.retries else ""
            extra += f", drift: {_count(len(r.warnings), 'warning')} (see the manifest)" if r.drift else ""
            out.append(
                f"{r.endpoint} {r.snapshot_date}: {r.status}, {_count(r.records, 'record')} in "
                f"{_count(r.pages, 'page')} "
                f"({r.pages_downloaded} downloaded now, {r.bytes / 1e6:.1f} MB){extra}"
            )
        out.append(f"done in {self.elapsed_s:.1f} s -> {self.endpoints[0].partition.parent.parent}"
                   if self.endpoints else "nothing to do")
        return out


def _count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 page``, ``2 pages``, ``1,000 records``."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


class _Slots:
    """A counting semaphore whose waiters are served by priority (lower first), then FIFO."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


@dataclass
class _Run:
    settings: Settings
    paths: DataPaths
    api: ApiClient
    slots: _Slots
    progress: ProgressSink
    date: dt.date
    force: bool
    page_limit: int | None


def _result_from_manifest(m: Manifest, status: str, downloaded: int, elapsed: float,
                          partition: Path) -> EndpointResult:
    return EndpointResult(
        endpoint=m.endpoint, snapshot_date=m.date, status=status, pages=m.pages,
        pages_downloaded=downloaded, records=m.records, duplicates=m.duplicates, bytes=m.bytes,
        retries=m.retries, drift=m.drift, warnings=list(m.warnings), elapsed_s=elapsed, partition=partition,
    )


async def _crawl_endpoint(run: _Run, spec: EndpointSpec) -> EndpointResult:
    """Download one endpoint into its staging area (resuming), then commit it; one run at a time."""
    with writer_lock(run.paths, spec.name, run.date):
        return await _crawl_locked(run, spec)


async def _crawl_locked(run: _Run, spec: EndpointSpec) -> EndpointResult:
    started = time.monotonic()
    paths, date = run.paths, run.date
    partition = paths.raw_partition(spec.name, date)
    if not run.force:
        if paths.raw_manifest(spec.name, date).is_file():
            # a staging area next to a complete snapshot is the leftover of a run killed while
            # cleaning up after its commit (a new run of a complete date needs --force)
            shutil.rmtree(paths.raw_staging(spec.name, date), ignore_errors=True)
            complete = read_manifest(paths, spec.name, date)
            _check_version(complete, spec)
            return _result_from_manifest(complete, "skipped", 0, 0.0, partition)
        finished = StagedSnapshot.finish_interrupted_commit(paths, spec.name, date)
        if finished is not None:
            return _result_from_manifest(finished, "resumed", 0, time.monotonic() - started, partition)
    try:
        return await _crawl_staged(run, spec, started, fresh=run.force)
    except _DataChanged as changed:
        log.warning("%s %s: %s; discarded the %d stored pages and started over", spec.name, date, changed,
                    changed.discarded)
        return await _crawl_staged(run, spec, started, fresh=True, note=f"{changed}; started over")


class _DataChanged(Exception):
    """The data changed while a resumed run was interrupted: its stored pages cannot be reused."""

    def __init__(self, reason: str, discarded: int) -> None:
        super().__init__(reason)
        self.discarded = discarded


def _check_version(manifest: Manifest, spec: EndpointSpec) -> None:
    """A complete snapshot of another API version is not what was asked for: say so, do not hand it back."""
    if manifest.api_version != spec.api_version:
        raise ConfigError(
            f"the {spec.name} snapshot of {manifest.snapshot_date} holds API version {manifest.api_version}, "
            f"not the {spec.api_version} asked for: add --force to replace it with {spec.api_version}, or "
            f"ask for {manifest.api_version}"
        )


def _age_s(iso: str) -> float:
    try:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return math.inf
    return (dt.datetime.now(dt.UTC) - when).total_seconds()


async def _crawl_staged(run: _Run, spec: EndpointSpec, started: float, *, fresh: bool,
                        note: str | None = None) -> EndpointResult:
    paths, date = run.paths, run.date
    partition = paths.raw_partition(spec.name, date)
    limit = min(run.page_limit or spec.max_limit, spec.max_limit)
    info = RunInfo(
        run_id=new_run_id(), endpoint=spec.name, api_version=spec.api_version,
        base_url=public_url(run.settings.base_url), request_path=spec.path, pagination=spec.pagination,
        page_limit=limit, started_at=utc_now_iso(), layout=PAGE_LAYOUT,
    )
    staged, discarded = StagedSnapshot.open(paths, spec.name, date, info, fresh=fresh)
    note = note or discarded
    if staged.done and _age_s(staged.run.started_at) > RESUME_MAX_AGE_S:
        age_h = _age_s(staged.run.started_at) / 3600
        staged, _ = StagedSnapshot.open(paths, spec.name, date, info, fresh=True)
        note = (f"discarded an unfinished {spec.name} run of {date} started {age_h:.1f} h ago (a resume reuses "
                f"pages younger than {RESUME_MAX_AGE_S / 3600:g} h only: the data has changed since); started over")
    if note:
        log.warning(note)
    resumed_from = dict(staged.done)  # pages of an earlier attempt, checked against what the server says now
    stored_total = next((resumed_from[n].total_count for n in sorted(resumed_from, reverse=True)
                         if resumed_from[n].total_count is not None), None)
    done = {
        n: DonePage(n, cp.params, cp.records, cp.total_count, cp.link_next, cp.last_record)
        for n, cp in staged.done.items()
    }
    paginator: OffsetPaginator | CursorPaginator
    if spec.pagination == "offset":
        paginator = OffsetPaginator(endpoint=spec.name, limit=limit, max_limit=spec.max_limit, done=done)
    else:
        paginator = CursorPaginator(endpoint=spec.name, limit=limit, max_limit=spec.max_limit, done=done)
    url = spec.url(run.settings.base_url)
    priority = 0 if spec.pagination == "cursor" else 1
    known_total = paginator.drift.totals[-1] if paginator.drift.totals else None
    run.progress.start(spec.name, known_total, sum(d.records for d in done.values()), len(done))
    downloaded = 0
    total_shown = known_total
    tasks: set[asyncio.Task[None]] = set()
    stored: dict[int, PageCheckpoint] = dict(staged.done)

    failed = False

    async def fetch_one(request: PageRequest) -> None:
        nonlocal downloaded, failed
        await run.slots.acquire(priority)
        try:
            if failed:
                return  # another page failed: start no new request, the crawl is being cancelled
            page = await run.api.get_page(url, request.params, request.number, store, on_head)
            downloaded += 1
            if page.checkpoint is not None:
                stored[page.number] = page.checkpoint
                _check_junction(resumed_from, page.checkpoint)
            paginator.inspect(page)
            run.progress.page(spec.name, page.record_count)
        except BaseException:
            failed = True
            raise
        finally:
            run.slots.release()

    target = PageTarget(str(staged.pages_dir), spec.key_fields, spec.api_version)

    async def store(content: bytes, page: Page) -> StoreOutcome | None:
        staged.prepare()
        drop_lead = isinstance(paginator, OffsetPaginator) and paginator.has_lead(page.number, page.params)
        work = asyncio.get_running_loop().run_in_executor(None, functools.partial(
            decode_and_store, content, target, number=page.number, params=page.params, url=page.url,
            fetched_at=page.fetched_at, total_count=page.total_count, link_next=page.link_next,
            last_record=page.last_record, retries=page.retries, drop_lead=drop_lead,
            full_size=_full_size(page),
        ))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.wait([work])  # a cancelled crawl waits for the write: no stray page after a restart
            raise

    def on_head(head: PageHead) -> None:
        nonlocal total_shown
        if resumed_from and stored_total is not None and head.total_count not in (None, stored_total) \
                and not downloaded:
            raise _DataChanged(f"the server now counts {head.total_count} records, the interrupted run's pages "
                               f"{stored_total}: the data changed in between", len(resumed_from))
        for follow_up in paginator.advance(head):
            spawn(follow_up)
        if head.total_count is not None and head.total_count != total_shown:
            total_shown = head.total_count
            run.progress.set_total(spec.name, head.total_count)

    def spawn(request: PageRequest) -> None:
        tasks.add(asyncio.create_task(fetch_one(request)))

    async def drain() -> None:
        try:
            while tasks:
                finished_tasks, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                tasks.difference_update(finished_tasks)
                errors = [t.exception() for t in finished_tasks if not t.cancelled() and t.exception()]
                if errors:
                    raise errors[0]  # type: ignore[misc]
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    for request in paginator.start():
        spawn(request)
    await drain()
    if isinstance(paginator, OffsetPaginator):
        keys = _StoredKeys(staged.pages_dir, stored)
        while repairs := paginator.verify(_reads(stored, paginator.pages()), keys):
            for request in repairs:
                spawn(request)
            await drain()
    manifest = await asyncio.to_thread(
        staged.commit, pages=paginator.pages(), pagination=paginator.mode,
        concurrency=run.settings.concurrency, totals=paginator.drift.totals,
        warnings=([note] if note else []) + paginator.drift.warnings,
    )
    for warning in manifest.warnings:
        log.info("%s %s: %s", spec.name, date, warning)
    if manifest.drift:
        log.warning("%s %s: the data moved during the crawl (%s, %s dropped); see %s",
                    spec.name, date, _count(len(manifest.warnings), "warning"),
                    _count(manifest.duplicates, "duplicate"), paths.raw_manifest(spec.name, date))
    status = "resumed" if staged.run.attempts > 1 else "fetched"
    return _result_from_manifest(manifest, status, downloaded, time.monotonic() - started, partition)


async def _run_all(run: _Run, specs: list[EndpointSpec]) -> list[EndpointResult]:
    """Crawl every endpoint concurrently; a refused token stops all at once, other errors after the rest."""
    tasks = [asyncio.create_task(_crawl_endpoint(run, spec)) for spec in specs]
    pending: set[asyncio.Task[EndpointResult]] = set(tasks)
    try:
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            if any(isinstance(t.exception(), AuthError | ConfigError) for t in finished):
                break
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    errors = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    stop = [e for e in errors if isinstance(e, AuthError | ConfigError)]
    if stop or errors:
        raise (stop or errors)[0]  # type: ignore[misc]
    return [task.result() for task in tasks]


def _load_writer_libraries() -> None:
    import pyarrow.parquet  # noqa: F401


def _run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from inside a running event loop (e.g. Jupyter) via a helper thread."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is None:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def run_fetch(settings: Settings, endpoints: Sequence[str] | None = None, date: dt.date | None = None,
              *, force: bool = False, transport: httpx.AsyncBaseTransport | None = None,
              progress: bool | None = None, page_limit: int | None = None,
              retry: RetryPolicy | None = None) -> FetchReport:
    """Download endpoints into the raw snapshot of ``date`` (default: today, UTC).

    Resumes an interrupted run of the same date without downloading stored pages again; leaves a
    complete snapshot alone unless ``force``. ``transport`` replaces the network (tests mount the
    simulator with ``httpx.ASGITransport``); ``page_limit`` asks for smaller pages than each
    endpoint's maximum; ``retry`` overrides the retry policy (default: ``settings.max_retries``
    attempts per request). ``progress``: None shows bars only on an interactive terminal.

    Example::

        report = run_fetch(Settings.from_env(), ["prices"], dt.date(2026, 11, 21))
        print(report.result("prices").records)
    """
    token = settings.require_token()
    names = list(dict.fromkeys(endpoints)) if endpoints else list(ENDPOINTS)
    if not names:
        raise ConfigError("no endpoint selected")
    specs = [endpoint_spec(name, settings.locations_version, settings.tariffs_version) for name in names]
    if page_limit is not None and page_limit < 1:
        raise ConfigError(f"page limit must be at least 1, got {page_limit}")
    date = check_snapshot_date(date or dt.datetime.now(dt.UTC).date())
    settings.require_concurrency()
    policy = retry or RetryPolicy(max_attempts=max(1, settings.max_retries))
    show = progress if progress is not None else settings.progress
    started = time.monotonic()

    async def main() -> list[EndpointResult]:
        sink = make_progress(show)
        try:
            async with ApiClient(token=token, timeout_s=settings.timeout_s, verify_tls=settings.verify_tls,
                                 retry=policy, max_connections=settings.concurrency + 1,
                                 transport=transport, tls=settings.base_url.lower().startswith("https:")) as api:
                run = _Run(settings, DataPaths(settings.data_dir), api, _Slots(settings.concurrency), sink,
                           date, force, page_limit)
                return await _run_all(run, specs)
        finally:
            sink.close()

    paths = DataPaths(settings.data_dir)
    with data_dir_lock(paths, "fetch", timeout_s=settings.lock_timeout_s, create=True), \
            storage_errors(paths.root, f"the raw snapshot of {date}",
                           "no snapshot was committed, the pages stored so far are kept for the rerun to resume"):
        # The worker threads that store pages need pyarrow; loading it here, while the first requests
        # are on the wire, keeps the import off the first page's path.
        threading.Thread(target=_load_writer_libraries, name="ecodata-import", daemon=True).start()
        results = _run_coroutine(main())
    return FetchReport(date, results, time.monotonic() - started)

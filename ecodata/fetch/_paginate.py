"""Pagination strategies: tiny objects that say which pages to request next.

The one page loop (``_crawl``) asks a paginator for its first requests (:meth:`start`), and after
every downloaded page for the follow-up requests (:meth:`advance`). Paginators never do I/O;
they check the server's paging for the guards below and record what they saw:

* a repeated cursor or ``Link`` (the crawl would never end): :class:`PaginationError`;
* more pages than the announced total can explain (a server cycling through fresh cursors):
  :class:`PaginationError`;
* a ``Link`` asking for more than the maximum limit: warned about, and clamped to our limit;
* an ``X-Total-Count`` that changes mid-crawl, a short page before the end: warned about (the
  manifest reports them as drift); offset crawls schedule extra pages when the total grows.

Pages already stored by an interrupted run are passed in as ``done`` and are not requested again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from ecodata.errors import PaginationError
from ecodata.fetch._client import Page, PageHead
from ecodata.fetch._coverage import Read, plan_repairs

MAX_REPAIR_ROUNDS = 8  # rounds of re-reads before an offset crawl under drift gives up


@dataclass(frozen=True)
class PageRequest:
    """A page to fetch: its number in crawl order and its query parameters."""

    number: int
    params: dict[str, str]


@dataclass(frozen=True)
class DonePage:
    """What the paginators need to know about a page stored by an earlier (interrupted) run."""

    number: int
    params: dict[str, str]
    records: int
    total_count: int | None
    link_next: str | None
    last_record: str | None


@dataclass
class Drift:
    """Paging anomalies seen during a crawl; the manifest reports them."""

    totals: list[int] = field(default_factory=list)  # distinct X-Total-Count values, in order seen
    warnings: list[str] = field(default_factory=list)

    def total_seen(self, total: int | None) -> None:
        if total is not None and (not self.totals or self.totals[-1] != total):
            self.totals.append(total)


def _page_cap(total: int | None, limit: int) -> int:
    """The most pages a crawl may take before it is declared endless."""
    if total is None:
        return 1_000_000
    return 2 * math.ceil(max(total, 1) / limit) + 10


class _Base:
    mode: str = ""

    def __init__(self, *, endpoint: str, limit: int, max_limit: int,
                 done: Mapping[int, DonePage] | None = None) -> None:
        self.endpoint = endpoint
        self.limit = limit
        self.max_limit = max_limit
        self.done: dict[int, DonePage] = dict(done or {})
        self.drift = Drift()
        for number in sorted(self.done):
            self.drift.total_seen(self.done[number].total_count)
        self._seen_links: set[tuple[tuple[str, str], ...]] = set()
        self.chain: set[int] = set()  # page numbers of a sequential (cursor or Link) crawl

    def _link_params(self, page_number: int, link: str) -> dict[str, str]:
        """Query parameters of a next ``Link`` (its host is ignored: the token goes to base_url only)."""
        params = self._check_link_limit(page_number, link)
        key = tuple(sorted(params.items()))
        if key in self._seen_links:
            raise PaginationError(
                f"{self.endpoint}: the server's Link after page {page_number} repeats an earlier page "
                f"({link}); stopped instead of looping"
            )
        self._seen_links.add(key)
        return params

    def _check_link_limit(self, page_number: int, link: str) -> dict[str, str]:
        """The Link's query parameters, with a limit above the maximum warned about and clamped."""
        params = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
        asked = params.get("limit")
        if asked is not None:
            try:
                asked_limit = int(asked)
            except ValueError:
                asked_limit = self.limit + 1
            if asked_limit > self.max_limit:
                self.drift.warnings.append(
                    f"page {page_number}: the Link asks for limit={asked}, above the maximum "
                    f"{self.max_limit}; used limit={self.limit}"
                )
                params["limit"] = str(self.limit)
        return params

    def _follow_link(self, head: PageHead) -> list[PageRequest]:
        if head.link_next is None:
            return []
        params = self._link_params(head.number, head.link_next)
        return self._skip_done_chain(head.number + 1, params)

    def _full(self, page: PageHead) -> int:
        """Records a full page holds: our limit, or the server's cap (``X-Limit``) if lower."""
        return min(self.limit, page.x_limit) if page.x_limit and page.x_limit > 0 else self.limit

    def inspect(self, page: Page) -> None:
        """Check a decoded page: a page that announces a successor should be full."""
        more = page.link_next is not None or bool(page.last_record)
        if more and page.record_count < self._full(page):
            self.drift.warnings.append(
                f"page {page.number}: short page before the end ({page.record_count} of "
                f"{self._full(page)} records)"
            )

    def _skip_done_chain(self, number: int, params: dict[str, str]) -> list[PageRequest]:
        """Walk over pages an earlier run stored with exactly these parameters; request the next one."""
        self.chain.add(number)
        while number in self.done and self.done[number].params == params:
            stored = self.done[number]
            nxt = self._next_params_of(stored)
            if nxt is None:
                return []
            number, params = number + 1, nxt
            self.chain.add(number)
        return [PageRequest(number, params)]

    def pages(self) -> set[int]:
        """The page numbers that make up the snapshot once the crawl has ended."""
        return set(self.chain)

    def _next_params_of(self, stored: DonePage) -> dict[str, str] | None:
        if stored.link_next is None:
            return None
        return self._link_params(stored.number, stored.link_next)

    def _check_cap(self, number: int, total: int | None) -> None:
        if number >= _page_cap(total, self.limit):
            raise PaginationError(
                f"{self.endpoint}: page {number} is more than the announced total of {total} records can "
                "fill; the server's pagination does not end, stopped"
            )


class OffsetPaginator(_Base):
    """``limit``/``offset`` pages, planned all at once from ``X-Total-Count`` (so they can run
    concurrently); without a total it falls back to following ``Link`` one page at a time.

    Pages overlap by one record: page 0 asks for ``step`` records at offset 0, page ``n >= 1`` for
    ``step + 1`` records starting one record before the previous page's end. That first record
    (the *lead*) is not stored; its key proves the two pages touch (``fetch._coverage``). When
    the data moved and a junction cannot be proven, :meth:`verify` asks for re-reads until every
    record that existed throughout the crawl is provably stored, or fails loudly.
    """

    mode = "offset"

    def __init__(self, *, endpoint: str, limit: int, max_limit: int,
                 done: Mapping[int, DonePage] | None = None) -> None:
        super().__init__(endpoint=endpoint, limit=limit, max_limit=max_limit, done=done)
        self.limit = max(1, min(limit, max_limit - 1))  # records each page adds (its step)
        self.first = self.limit  # records page 0 covers
        self.total: int | None = None
        self.latest_total: int | None = None
        self.planned: set[int] = set(self.done)
        self.verifying = False
        self.repair_rounds = 0
        self._tried: set[int] = set()
        self.repairs: set[int] = set()  # page numbers of re-reads asked for by verify()
        page0 = self.done.get(0)
        if page0 is not None and page0.params.get("limit", "").isdigit():
            asked = int(page0.params["limit"])
            self.limit = self.first = asked
            if page0.records < asked and (page0.total_count or 0) > page0.records > 1:
                self.first, self.limit = page0.records, page0.records - 1  # an earlier attempt met a cap
        done_totals = [self.done[n].total_count for n in sorted(self.done)]
        if self.done and all(t is not None for t in done_totals):
            self.total = max(t for t in done_totals if t is not None)
            self.latest_total = done_totals[-1]
        elif self.done:
            self.mode = "link"

    def offset_of(self, number: int) -> int:
        """Where page ``number`` starts (its lead record, for pages after the first)."""
        return 0 if number == 0 else self.first + (number - 1) * self.limit - 1

    def _params(self, number: int) -> dict[str, str]:
        size = self.limit if number == 0 else self.limit + 1
        return {"offset": str(self.offset_of(number)), "limit": str(size)}

    def has_lead(self, number: int, params: Mapping[str, str]) -> bool:
        """True for a planned page after the first: its first record is the overlap, not stored."""
        return (self.mode == "offset" and number > 0 and number not in self.repairs
                and dict(params) == self._params(number))

    def _page_count(self, total: int) -> int:
        if total <= self.first:
            return 1
        return 1 + math.ceil((total - self.first) / max(self.limit, 1))

    def _plan_up_to(self, total: int) -> list[PageRequest]:
        pages = self._page_count(total)
        self._check_cap(pages - 1, self.drift.totals[0] if self.drift.totals else total)
        new = [n for n in range(pages) if n not in self.planned]
        self.planned.update(new)
        return [PageRequest(n, self._params(n)) for n in new]

    def start(self) -> list[PageRequest]:
        if self.mode == "link":
            return self._skip_done_chain(0, self._params(0))
        if self.total is not None:
            return self._plan_up_to(self.total)
        self.planned.add(0)
        self.chain.add(0)
        return [PageRequest(0, self._params(0))]

    def pages(self) -> set[int]:
        return set(self.chain) if self.mode == "link" else set(self.planned)

    def advance(self, head: PageHead) -> list[PageRequest]:
        """Follow-up requests, from a page's headers alone (called before its body is decoded)."""
        self.drift.total_seen(head.total_count)
        if head.total_count is not None:
            self.latest_total = head.total_count
        if self.mode == "link" or head.total_count is None:
            self.mode = "link"
            return self._follow_link(head)
        if head.link_next is not None:
            self._check_link_limit(head.number, head.link_next)
        total = head.total_count
        if self.total is None:
            if head.x_limit is not None and 0 < head.x_limit < self.limit:
                # the server serves at most X-Limit records a page: offsets must step by that, or
                # every page would skip (limit - X-Limit) records
                self.drift.warnings.append(
                    f"page {head.number}: the server caps pages at X-Limit={head.x_limit} (asked for "
                    f"{self.limit}); paging by {head.x_limit}"
                )
                self.first, self.limit = head.x_limit, max(1, head.x_limit - 1)
            self.total = total
            return self._plan_up_to(total)
        if total != self.total:
            self.drift.warnings.append(
                f"page {head.number}: X-Total-Count changed from {self.total} to {total} during the crawl"
            )
            grew = total > self.total
            self.total = total
            if grew and not self.verifying:  # while verifying, the coverage check plans the tail
                return self._plan_up_to(total)
        return []

    def inspect(self, page: Page) -> None:
        if self.mode == "link" or page.total_count is None:
            super().inspect(page)
            return
        offset = int(page.params.get("offset", "0"))
        expected = max(0, min(self._full(page) + (0 if page.number == 0 else 1),
                              int(page.params.get("limit", self.limit)), page.total_count - offset))
        if page.served < expected:
            self.drift.warnings.append(
                f"page {page.number}: short page before the end ({page.served} of {expected} "
                f"records expected at offset {offset}, total {page.total_count})"
            )

    def verify(self, reads: Sequence[Read], keys_of: Callable[[int], set[str]]) -> list[PageRequest]:
        """Re-reads that close the gaps of the crawl so far; [] when every survivor is provably stored.

        Raises PaginationError when the data keeps moving faster than the re-reads can prove.
        """
        if self.mode != "offset":
            return []
        self.verifying = True
        offsets = plan_repairs(reads, keys_of, step=self.limit, latest_total=self.latest_total)
        if not offsets:
            return []
        offsets = [o for o in offsets if o not in self._tried] or offsets
        self.repair_rounds += 1
        budget = len(self.planned - self.repairs) + MAX_REPAIR_ROUNDS  # re-reads: about one pass more at most
        if self.repair_rounds > MAX_REPAIR_ROUNDS or len(self.repairs) + len(offsets) > budget:
            raise PaginationError(
                f"{self.endpoint}: the data kept moving during the offset crawl; after "
                f"{len(self.repairs)} re-reads {len(offsets)} gap(s) between pages remain, so "
                "records may be missing; nothing was committed: run 'ecodata fetch' again (it resumes)"
            )
        self._tried.update(offsets)
        requests = []
        number = max(self.planned | self.repairs, default=-1) + 1
        for offset in offsets:
            self.drift.warnings.append(
                f"page {number}: re-read at offset {offset} to prove no record was skipped "
                "(the data moved between pages)"
            )
            requests.append(PageRequest(number, {"offset": str(offset), "limit": str(self.limit + 1)}))
            self.repairs.add(number)
            self.planned.add(number)
            number += 1
        return requests


class CursorPaginator(_Base):
    """Keyset pages: ``last_record=<X-Last-Record of the previous page>`` until it comes back empty."""

    mode = "cursor"

    def __init__(self, *, endpoint: str, limit: int, max_limit: int,
                 done: Mapping[int, DonePage] | None = None) -> None:
        super().__init__(endpoint=endpoint, limit=limit, max_limit=max_limit, done=done)
        self._seen_cursors: set[str] = set()
        self.first_total: int | None = self.drift.totals[0] if self.drift.totals else None
        self._last_total: int | None = self.drift.totals[-1] if self.drift.totals else None

    def start(self) -> list[PageRequest]:
        return self._skip_done_chain(0, {"limit": str(self.limit)})

    def _next_params_of(self, stored: DonePage) -> dict[str, str] | None:
        if stored.last_record is None and stored.link_next is not None:
            return self._link_params(stored.number, stored.link_next)
        if not stored.last_record:
            return None
        self._seen_cursors.add(stored.last_record)
        return {"limit": str(self.limit), "last_record": stored.last_record}

    def advance(self, head: PageHead) -> list[PageRequest]:
        """The next request, from a page's headers alone (called before its body is decoded)."""
        self.drift.total_seen(head.total_count)
        if self.first_total is None:
            self.first_total = head.total_count
        if head.total_count is not None and self._last_total is not None and head.total_count != self._last_total:
            self.drift.warnings.append(
                f"page {head.number}: X-Total-Count changed from {self._last_total} to {head.total_count} "
                "during the crawl"
            )
        if head.total_count is not None:
            self._last_total = head.total_count
        if head.last_record is None:
            if head.link_next is not None:
                return self._follow_link(head)
            self.drift.warnings.append(
                f"page {head.number}: no X-Last-Record and no Link header; took it as the last page"
            )
            return []
        cursor = head.last_record
        if not cursor:
            return []
        if cursor in self._seen_cursors:
            raise PaginationError(
                f"{self.endpoint}: the server repeated the cursor {cursor!r} after page {head.number}; "
                "stopped instead of looping"
            )
        self._seen_cursors.add(cursor)
        self._check_cap(head.number + 1, self.first_total)
        return self._skip_done_chain(head.number + 1, {"limit": str(self.limit), "last_record": cursor})


Paginator = OffsetPaginator | CursorPaginator

"""Proof that an offset crawl stored every record that existed throughout it, and the re-reads that close its gaps.

Offset pages are windows of a list that may change between requests: a delete before a page's
offset shifts later records back, so the next page would start one record too far and skip one.
The records themselves are ordered by the server (by key), and a record that exists during the
whole crawl keeps its place in that order. Each read is therefore an interval of that order, as
it was when the read was served: every record of the interval was in the response.

* page 0 (offset 0) starts at the beginning; a page that is not full reaches the end;
* a page with a *lead* (its first record, the overlap with the previous page, not stored) stores
  the interval just after its lead;
* two reads touch when they share a stored key, or when one's lead is stored by the other.

If the reads that touch form one chain from a page-0 read to an end read, the union of their
intervals is the whole order, so every record present throughout the crawl was stored by some
read. Otherwise the reads around each gap (and past the last full read) are re-read, and the
check runs again. A clean crawl is proven from the checkpoints alone (each page's lead is the
previous page's last stored key); page files are read only around a suspected gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Read:
    """One stored offset page, as the coverage check sees it."""

    number: int
    offset: int
    served: int  # records in the response (lead included)
    lead_key: str | None
    first_key: str | None  # first and last *stored* key
    last_key: str | None
    full: bool


class _Components:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def _touch(a: Read, b: Read, keys_of: Callable[[int], set[str]]) -> bool:
    """True when reads ``a`` and ``b`` provably overlap (their intervals leave nothing between them)."""
    if b.lead_key is not None and b.lead_key == a.last_key:
        return True  # the normal junction: b starts with a's last stored record
    if a.lead_key is not None and a.lead_key == b.last_key:
        return True
    ka, kb = keys_of(a.number), keys_of(b.number)
    return bool(ka & kb) or (b.lead_key is not None and b.lead_key in ka) or (
        a.lead_key is not None and a.lead_key in kb)


def plan_repairs(reads: Sequence[Read], keys_of: Callable[[int], set[str]], *, step: int,
                 latest_total: int | None, window: int = 3) -> list[int]:
    """Offsets to re-read so that the reads prove complete; [] when they already do.

    ``keys_of(number)`` gives the stored keys of a read (only called near a suspected gap).
    ``window``: each read is compared with the next ``window`` reads in offset order.
    """
    if any(r.offset == 0 and r.served == 0 for r in reads):
        return []  # the endpoint was empty when the crawl began: nothing existed throughout
    live = sorted((r for r in reads if r.served > 0), key=lambda r: (r.offset, r.number))
    if not live:
        return [0]
    parts = _Components(len(live))
    for i, a in enumerate(live):
        for j in range(i + 1, min(i + 1 + window, len(live))):
            if parts.find(i) != parts.find(j) and _touch(a, live[j], keys_of):
                parts.union(i, j)
    starts = {parts.find(i) for i, r in enumerate(live) if r.offset == 0}
    ends = {parts.find(i) for i, r in enumerate(live) if not r.full}
    if starts & ends:
        return []
    offsets: set[int] = set()
    for i in range(len(live) - 1):
        a, b = live[i], live[i + 1]
        if parts.find(i) != parts.find(i + 1):
            gap = b.offset - a.offset
            offsets.add(a.offset + gap // 2 if gap >= 2 else max(0, a.offset - max(1, step // 2)))
    if not starts:
        offsets.add(0)
    for component in starts:
        if component in ends:
            continue
        last = max((r for i, r in enumerate(live) if parts.find(i) == component), key=lambda r: r.offset)
        tail = last.offset + step
        if latest_total is not None:
            tail = min(tail, max(last.offset + 1, latest_total - 1 - step // 2))
        offsets.add(tail)
    return sorted(offsets)

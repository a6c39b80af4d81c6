"""A live view of one endpoint: the generated records plus inserts, updates and deletes.

The ``mutate`` fault changes an endpoint between requests, so that offset pagination drifts
(a delete before the client's offset makes it skip a record, an insert makes it see one twice).
Every record has an ordered key: base record ``p`` has key ``p * GAP``; a record inserted after
``p`` gets ``p * GAP + j``. Keyset pagination (``last_record``) resumes after a key, so it never
misses a record that existed during the whole crawl. The overlay is as small as the number of
mutations (one per mutated request at most), never the size of the endpoint.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable

GAP = 1024


class View:
    """Position <-> key mapping and rendering for one endpoint (and one locations version)."""

    def __init__(self, base_count: int, render: Callable[[int, int], list[bytes]],
                 inserted: Callable[[int], bytes], updated: Callable[[bytes, int], bytes]) -> None:
        self.n = base_count
        self._render = render
        self._make_inserted = inserted
        self._make_updated = updated
        self.deleted: list[int] = []  # base positions, sorted
        self.inserted: list[int] = []  # keys, sorted
        self.updated: dict[int, int] = {}  # key -> number of updates

    @property
    def mutated(self) -> bool:
        return bool(self.deleted or self.inserted or self.updated)

    def count(self) -> int:
        return self.n - len(self.deleted) + len(self.inserted)

    def _le_block(self, p: int) -> int:
        """Number of view keys <= p * GAP + GAP - 1 (base records up to p and inserts after them)."""
        return (p + 1) - bisect_right(self.deleted, p) + bisect_right(self.inserted, p * GAP + GAP - 1)

    def rank(self, k: int) -> int:
        """Number of view keys <= k (so the next page after cursor k starts at this position)."""
        p = min(k // GAP, self.n - 1)
        base = (p + 1) if k >= 0 else 0
        return base - bisect_right(self.deleted, p if k >= 0 else -1) + bisect_right(self.inserted, k)

    def keys(self, start: int, limit: int) -> list[int]:
        """Keys of view positions [start, start + limit)."""
        if not self.mutated:
            return [p * GAP for p in range(start, min(self.n, start + limit))]
        if start >= self.count() or limit <= 0:
            return []
        lo, hi = 0, self.n - 1
        while lo < hi:  # smallest base block p with _le_block(p) > start
            mid = (lo + hi) // 2
            if self._le_block(mid) > start:
                hi = mid
            else:
                lo = mid + 1
        p = lo
        skip = start - (self._le_block(p - 1) if p else 0)
        out: list[int] = []
        dset = self.deleted
        while len(out) < limit + skip and p < self.n:
            block = []
            i = bisect_left(dset, p)
            if not (i < len(dset) and dset[i] == p):
                block.append(p * GAP)
            j = bisect_left(self.inserted, p * GAP + 1)
            while j < len(self.inserted) and self.inserted[j] < (p + 1) * GAP:
                block.append(self.inserted[j])
                j += 1
            out.extend(block)
            p += 1
        return out[skip:skip + limit]

    def render(self, keys: list[int]) -> list[bytes]:
        """Record JSONs for keys, rendering runs of base records in one call."""
        if not self.mutated:
            if not keys:
                return []
            return self._render(keys[0] // GAP, keys[-1] // GAP + 1)
        out: list[bytes] = []
        run: list[int] = []

        def flush() -> None:
            if run:
                out.extend(self._render(run[0], run[-1] + 1))
                run.clear()

        for k in keys:
            if k % GAP == 0 and (not run or run[-1] + 1 == k // GAP):
                run.append(k // GAP)
                continue
            flush()
            if k % GAP == 0:
                run.append(k // GAP)
            else:
                out.append(self._make_inserted(k))
        flush()
        if self.updated:
            for i, k in enumerate(keys):
                n = self.updated.get(k)
                if n:
                    out[i] = self._make_updated(out[i], n)
        return out

    # ------------------------------------------------------------------ mutations
    def delete_at(self, pos: int) -> None:
        keys = self.keys(pos, 1)
        if not keys:
            return
        k = keys[0]
        if k % GAP == 0:
            insort(self.deleted, k // GAP)
        else:
            self.inserted.remove(k)
        self.updated.pop(k, None)

    def insert_after(self, pos: int, salt: int) -> None:
        """Insert a new record right after the base record ``pos`` (its key sorts just after it)."""
        if self.n == 0:
            return
        p = min(max(pos, 0), self.n - 1)
        lo = bisect_left(self.inserted, p * GAP + 1)
        hi = bisect_left(self.inserted, (p + 1) * GAP)
        used = set(self.inserted[lo:hi])
        j = 1 + salt % (GAP - 1)
        while p * GAP + j in used:
            j = j % (GAP - 1) + 1
            if len(used) >= GAP - 1:
                return
        insort(self.inserted, p * GAP + j)

    def update_at(self, pos: int) -> None:
        keys = self.keys(pos, 1)
        if keys:
            self.updated[keys[0]] = self.updated.get(keys[0], 0) + 1

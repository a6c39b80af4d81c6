"""Seeded, repeatable fault decisions.

Each request draws from a stream keyed by (fault seed, method, path and query, how many times that
exact URL was asked before). So a given crawl sees the same faults on every run, whatever the
timing or the interleaving of concurrent requests, and a retry of a failed URL draws afresh.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ecodata.simulator._rng import Rng
from ecodata.simulator.config import EXCLUSIVE_FAULTS, FaultSpec


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do to one request: at most one exclusive fault, plus any additive ones."""

    exclusive: str | None
    slow: bool
    unknown_fields: bool
    mutate: bool
    draw: int  # 64 random bits for the details (cut point, which record to mutate...)


NO_FAULT = Decision(None, False, False, False, 0)


class FaultEngine:
    """Decides faults per request from a :class:`FaultSpec` and a seed."""

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self._attempts: dict[bytes, int] = {}
        self.counts: dict[str, int] = dict.fromkeys((*EXCLUSIVE_FAULTS, "slow", "unknown_fields", "mutate"), 0)
        self.requests = 0
        self._cum: list[tuple[str, float]] = []
        total = 0.0
        for kind in EXCLUSIVE_FAULTS:
            rate = getattr(spec, kind)
            if rate > 0:
                total += rate
                self._cum.append((kind, total))

    def decide(self, method: str, path: str, query: bytes) -> Decision:
        self.requests += 1
        if not self.spec.active():
            return NO_FAULT
        url = method.encode() + b" " + path.encode() + b"?" + query
        n = self._attempts.get(url, 0)
        self._attempts[url] = n + 1
        digest = hashlib.blake2b(url, digest_size=8, key=self.seed.to_bytes(8, "little", signed=True)).digest()
        rng = Rng(int.from_bytes(digest, "little") ^ (n * 0x9E3779B97F4A7C15))
        u = rng.random()
        exclusive = None
        for kind, edge in self._cum:
            if u < edge:
                exclusive = kind
                break
        spec = self.spec
        d = Decision(exclusive, rng.random() < spec.slow, rng.random() < spec.unknown_fields,
                     rng.random() < spec.mutate, rng.u64())
        if exclusive:
            self.counts[exclusive] += 1
        for kind in ("slow", "unknown_fields", "mutate"):
            if getattr(d, kind):
                self.counts[kind] += 1
        return d

"""Counter-based randomness: any record's random stream is derived from (seed, tag, position).

SplitMix64 makes a stream from a 64-bit key in pure Python, with O(1) set-up (seeding
``random.Random`` costs ~4 µs, too much per record). Streams are independent of the order in
which records are asked for, which is what makes every page reproducible on its own.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_INV53 = 2.0**-53


def mix(z: int) -> int:
    """The SplitMix64 finaliser of ``z + golden``: a well-spread 64-bit hash of a 64-bit input."""
    z = (z + _GOLDEN) & M64
    z = ((z ^ (z >> 30)) * _C1) & M64
    z = ((z ^ (z >> 27)) * _C2) & M64
    return z ^ (z >> 31)


def key(*parts: int) -> int:
    """A 64-bit key from several integers (seed, tag, position...)."""
    z = 0
    for part in parts:
        z = mix(z ^ (part & M64))
    return z


def unit(*parts: int) -> float:
    """A uniform float in [0, 1) keyed by integers."""
    return (key(*parts) >> 11) * _INV53


class Rng:
    """A tiny SplitMix64 stream: ``Rng(key(seed, TAG, i)).random()``."""

    __slots__ = ("s",)

    def __init__(self, seed: int) -> None:
        self.s = seed & M64

    def u64(self) -> int:
        self.s = z = (self.s + _GOLDEN) & M64
        z = ((z ^ (z >> 30)) * _C1) & M64
        z = ((z ^ (z >> 27)) * _C2) & M64
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self.u64() >> 11) * _INV53

    def below(self, n: int) -> int:
        return self.u64() % n

    def between(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return lo + self.u64() % (hi - lo + 1)

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def chance(self, p: float) -> bool:
        return self.random() < p

    def pick(self, seq: Sequence[T]) -> T:
        return seq[self.u64() % len(seq)]

    def weighted(self, cum: Sequence[float]) -> int:
        """Index drawn with the weights whose running sums are ``cum``."""
        return bisect_right(cum, self.random() * cum[-1])

    def normal(self) -> float:
        u1 = self.random() or _INV53
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * self.random())

    def gamma(self, shape: float, scale: float) -> float:
        """Gamma variate (Marsaglia-Tsang for shape >= 1)."""
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = self.normal()
            v = (1.0 + c * x) ** 3
            if v <= 0:
                continue
            u = self.random()
            if math.log(u or _INV53) < 0.5 * x * x + d - d * v + d * math.log(v):
                return d * v * scale

    def geometric_day(self, p: float) -> int:
        """First day (1, 2, ...) on which an event of daily probability ``p`` happens."""
        u = self.random() or _INV53
        return 1 + int(math.log(u) / math.log1p(-p))


def cumulative(weights: Sequence[float]) -> list[float]:
    """Running sums, for :meth:`Rng.weighted`."""
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def uuid_from(k: int, node: int) -> str:
    """A UUID-1-looking id whose last 12 hex digits carry ``node`` (so the id can be decoded)."""
    return uuid_bytes(k, node).decode()


def uuid_bytes(k: int, node: int) -> bytes:
    """:func:`uuid_from` as ASCII bytes (the rendering hot path)."""
    return b"%08x-%04x-11%02x-%04x-%012x" % (k >> 32, (k >> 16) & 0xFFFF, (k >> 8) & 0xFF,
                                            0x8000 | (mix(k) & 0x3FFF), node & 0xFFFFFFFFFFFF)


def compact(data: bytes) -> bytes:
    """An exact-size copy: orjson returns bytes with a 4 KiB allocation, wasteful in long-lived caches."""
    return memoryview(data).tobytes()

"""Simulator configuration: scale, seed, token, day, envelope style and opt-in faults.

Example::

    config = SimulatorConfig(scale="demo", seed=1, faults=FaultSpec.parse("http429=0.05,slow=0.02:1"))
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ecodata.errors import ConfigError

SCALES = ("mini", "demo", "bench", "europe")
ENVELOPES = ("status_code", "status")


@dataclass(frozen=True, slots=True)
class ScaleParams:
    """Sizes of one scale (market-realism section 5)."""

    countries: tuple[str, ...]
    locations: int
    cpos: int
    msps: int
    adhoc_variants: int  # site-specific ad hoc prices per (CPO, power class)
    msp_mean_factor: float  # scales the per-country MSP density (demo has fewer pairs per connector)
    msp_countries: int  # countries an average MSP covers (beyond its home)
    passthrough_top: int  # CPOs per country with MSP pass-through / negotiated prices


_BENCH_COUNTRIES = ("DE", "NL", "FR", "GB", "BE", "IT", "SE", "ES", "DK", "NO", "AT", "CH", "PL")
_EUROPE_COUNTRIES = (*_BENCH_COUNTRIES, "PT", "IE", "FI", "CZ", "HU", "RO", "GR", "SK", "SI", "HR", "LU", "BG",
                     "LT", "LV", "EE", "IS")

SCALE_PARAMS: dict[str, ScaleParams] = {
    # the demo's six countries and currencies at ~1/7 of its size: for engine-against-engine tests (Spark)
    "mini": ScaleParams(("DE", "NL", "FR", "GB", "NO", "PL"), 150, 12, 10, 1, 0.52, 1, 2),
    "demo": ScaleParams(("DE", "NL", "FR", "GB", "NO", "PL"), 1_000, 40, 25, 1, 0.52, 1, 2),
    "bench": ScaleParams(_BENCH_COUNTRIES, 100_000, 1_200, 150, 3, 0.93, 4, 10),
    "europe": ScaleParams(_EUROPE_COUNTRIES, 460_000, 3_000, 240, 3, 1.0, 5, 8),
}

# Fault kinds; the first group are mutually exclusive outcomes of one request.
EXCLUSIVE_FAULTS = ("http429", "http500", "http502", "http503", "drop", "truncate", "ocpi3000")
ADDITIVE_FAULTS = ("slow", "unknown_fields", "mutate")
FAULT_KINDS = EXCLUSIVE_FAULTS + ADDITIVE_FAULTS


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Per-request fault probabilities, parsed from ``"http429=0.05,slow=0.02:1,mutate=0.1"``.

    ``slow=rate:seconds`` delays a response; ``http429=rate:seconds`` sets Retry-After (default 1).
    The exclusive kinds (429, 5xx, drop, truncate, ocpi3000) must sum to at most 1.
    """

    http429: float = 0.0
    http500: float = 0.0
    http502: float = 0.0
    http503: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    ocpi3000: float = 0.0
    slow: float = 0.0
    unknown_fields: float = 0.0
    mutate: float = 0.0
    slow_seconds: float = 1.0
    retry_after: int = 1

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse ``kind=rate[,kind=rate...]``; empty or None means no faults."""
        if not text or not text.strip():
            return cls()
        values: dict[str, float | int] = {}
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            kind, sep, rate_text = item.partition("=")
            kind = kind.strip()
            if not sep or kind not in FAULT_KINDS:
                raise ConfigError(
                    f"bad fault {item!r}: use kind=rate with kind one of {', '.join(FAULT_KINDS)}"
                )
            rate_part, colon, extra = rate_text.partition(":")
            rate = _number(rate_part, item)
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"bad fault {item!r}: the rate must be between 0 and 1")
            values[kind] = rate
            if colon:
                seconds = _number(extra, item)
                if seconds < 0:
                    raise ConfigError(f"bad fault {item!r}: seconds must not be negative")
                if kind == "slow":
                    values["slow_seconds"] = seconds
                elif kind == "http429":
                    values["retry_after"] = int(seconds)
                else:
                    raise ConfigError(f"bad fault {item!r}: only slow and http429 take ':seconds'")
        spec = cls(**values)  # type: ignore[arg-type]
        if sum(getattr(spec, k) for k in EXCLUSIVE_FAULTS) > 1.0 + 1e-9:
            raise ConfigError(f"bad faults {text!r}: the rates of {', '.join(EXCLUSIVE_FAULTS)} sum above 1")
        return spec

    def active(self) -> bool:
        return any(getattr(self, k) > 0 for k in FAULT_KINDS)

    def __str__(self) -> str:
        parts = []
        for f in fields(self):
            if f.name in FAULT_KINDS and getattr(self, f.name) > 0:
                value = f"{f.name}={getattr(self, f.name):g}"
                if f.name == "slow":
                    value += f":{self.slow_seconds:g}"
                elif f.name == "http429":
                    value += f":{self.retry_after}"
                parts.append(value)
        return ",".join(parts)


def _number(text: str, item: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"bad fault {item!r}: {text!r} is not a number") from None


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything that determines what the simulator serves.

    The data is a pure function of (scale, seed, day); faults draw from their own seeded stream
    (``fault_seed``, default the data seed), so a run with the same config is repeatable.
    """

    scale: str = "demo"
    seed: int = 0
    token: str = field(default="sim-token", repr=False)
    faults: FaultSpec = field(default_factory=FaultSpec)
    pricing_envelope: str = "status_code"
    day: int = 0
    fault_seed: int | None = None
    max_limit: int = 1000  # locations and tariffs
    max_pricing_limit: int = 10000  # prices and connector_prices

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ConfigError(f"unknown scale {self.scale!r}: use one of {', '.join(SCALES)}")
        if self.pricing_envelope not in ENVELOPES:
            raise ConfigError(f"unknown pricing envelope {self.pricing_envelope!r}: use status_code or status")
        if self.day < 0:
            raise ConfigError(f"day must be 0 or more, got {self.day}")
        if self.max_limit < 1 or self.max_pricing_limit < 1:
            raise ConfigError("the maximum page sizes must be at least 1")
        if not self.token or any(ch.isspace() for ch in self.token):
            raise ConfigError("the simulator token must be non-empty printable text without whitespace")

    @property
    def params(self) -> ScaleParams:
        return SCALE_PARAMS[self.scale]

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import httpx
import orjson
import pytest
from simulator_client import run

from ecodata.errors import ConfigError
from ecodata.simulator import FaultSpec, SimulatorConfig, create_app

N = 400
RATE = 0.25


def _bounds(n: int, p: float) -> tuple[float, float]:
    sd = math.sqrt(n * p * (1 - p))
    return n * p - 4 * sd, n * p + 4 * sd


def _observe(kind: str, spec: str, n: int = N, slow_after: float = 0.025) -> tuple[dict[str, int], Any]:
    app = create_app(SimulatorConfig(faults=FaultSpec.parse(spec), fault_seed=11))
    seen = dict.fromkeys(("http429", "http500", "http502", "http503", "drop", "truncate", "ocpi3000",
                          "unknown_fields", "slow", "mutate", "ok"), 0)

    async def go(c: httpx.AsyncClient) -> None:
        previous_total = None
        for i in range(n):
            started = time.perf_counter()
            try:
                r = await c.get("/prices", params={"limit": 2, "offset": i})
            except Exception:  # the drop fault: the ASGI app raises after half the body
                seen["drop"] += 1
                continue
            if time.perf_counter() - started >= slow_after:
                seen["slow"] += 1
            if r.status_code == 429:
                assert r.headers["retry-after"] == "1"
                seen["http429"] += 1
            elif r.status_code in (500, 502, 503):
                seen[f"http{r.status_code}"] += 1
            else:
                assert r.status_code == 200
                try:
                    body = orjson.loads(r.content)
                except orjson.JSONDecodeError:
                    seen["truncate"] += 1
                    continue
                if body["status_code"] == 3000:
                    seen["ocpi3000"] += 1
                    continue
                seen["ok"] += 1
                if any(k.startswith("x_eco_attribute_") for k in body["data"][0]):
                    seen["unknown_fields"] += 1
                total = int(r.headers["x-total-count"])
                if previous_total is not None and total != previous_total:
                    seen["mutate"] += 1
                previous_total = total

    run(go, app)
    return seen, app


@pytest.mark.parametrize(("kind", "spec", "expected_rate"), [
    ("http429", f"http429={RATE}", RATE),
    ("http500", f"http500={RATE}", RATE),
    ("http502", f"http502={RATE}", RATE),
    ("http503", f"http503={RATE}", RATE),
    ("drop", f"drop={RATE}", RATE),
    ("truncate", f"truncate={RATE}", RATE),
    ("ocpi3000", f"ocpi3000={RATE}", RATE),
    ("unknown_fields", f"unknown_fields={RATE}", RATE),
    ("mutate", f"mutate={RATE}", RATE * 2 / 3),  # inserts and deletes change X-Total-Count, updates do not
])
def test_each_fault_occurs_at_about_its_rate(kind: str, spec: str, expected_rate: float) -> None:
    seen, app = _observe(kind, spec)
    lo, hi = _bounds(N, expected_rate)
    assert lo <= seen[kind] <= hi, seen
    others = {k: v for k, v in seen.items() if k not in (kind, "ok", "slow")}  # timing noise is no fault
    assert not any(others.values()), others
    assert app.faults.counts[kind] >= seen[kind]


def test_slow_responses_occur_at_about_their_rate() -> None:
    seen, app = _observe("slow", f"slow={RATE}:0.1", n=100, slow_after=0.09)
    lo, hi = _bounds(100, RATE)
    assert lo <= seen["slow"] <= hi, seen
    assert app.faults.counts["slow"] <= seen["slow"] <= app.faults.counts["slow"] + 3  # + machine stalls
    assert seen["ok"] == 100


def test_exclusive_faults_together_keep_their_rates() -> None:
    seen, _ = _observe("mix", "http429=0.1,http500=0.1,http503=0.1,truncate=0.1,ocpi3000=0.1")
    for kind in ("http429", "http500", "http503", "truncate", "ocpi3000"):
        lo, hi = _bounds(N, 0.1)
        assert lo <= seen[kind] <= hi, seen
    assert seen["ok"] == N - sum(seen[k] for k in ("http429", "http500", "http503", "truncate", "ocpi3000"))


def test_faults_are_repeatable_and_retries_draw_afresh() -> None:
    def statuses(fault_seed: int) -> list[int]:
        app = create_app(SimulatorConfig(faults=FaultSpec.parse("http429=0.5"), fault_seed=fault_seed))

        async def go(c: httpx.AsyncClient) -> list[int]:
            return [(await c.get("/prices?limit=1")).status_code for _ in range(60)]

        out: list[int] = run(go, app)
        return out

    first, again, other = statuses(4), statuses(4), statuses(5)
    assert first == again
    assert first != other
    assert set(first) == {200, 429}  # the same URL asked again is not doomed to fail


def test_502_is_a_proxy_html_page() -> None:
    app = create_app(SimulatorConfig(faults=FaultSpec.parse("http502=1")))

    async def go(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get("/ocpi/cpo/2.1.1/locations")

    r = run(go, app)
    assert (r.status_code, r.headers["content-type"]) == (502, "text/html")
    assert r.content.startswith(b"<html>")


def test_fault_spec_parse() -> None:
    spec = FaultSpec.parse("http429=0.05:3, slow=0.02:1.5,mutate=0.1,unknown_fields=1")
    assert (spec.http429, spec.retry_after, spec.slow, spec.slow_seconds, spec.mutate, spec.unknown_fields) == (
        0.05, 3, 0.02, 1.5, 0.1, 1.0)
    assert str(spec) == "http429=0.05:3,slow=0.02:1.5,unknown_fields=1,mutate=0.1"
    assert FaultSpec.parse("") == FaultSpec() == FaultSpec.parse(None)
    assert not FaultSpec().active()


@pytest.mark.parametrize(("text", "message"), [
    ("bogus=0.1", "bad fault 'bogus=0.1': use kind=rate with kind one of http429, http500, http502, http503, "
                  "drop, truncate, ocpi3000, slow, unknown_fields, mutate"),
    ("http500", "bad fault 'http500': use kind=rate with kind one of"),
    ("http500=2", "bad fault 'http500=2': the rate must be between 0 and 1"),
    ("drop=x", "bad fault 'drop=x': 'x' is not a number"),
    ("slow=0.1:-1", "bad fault 'slow=0.1:-1': seconds must not be negative"),
    ("drop=0.1:3", "bad fault 'drop=0.1:3': only slow and http429 take ':seconds'"),
    ("http500=0.6,http502=0.6", "bad faults 'http500=0.6,http502=0.6': the rates of http429, http500, http502, "
                                "http503, drop, truncate, ocpi3000 sum above 1"),
])
def test_fault_spec_rejects_bad_input_with_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        FaultSpec.parse(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_fault_outcomes_do_not_depend_on_request_interleaving() -> None:
    urls = [f"/prices?limit=1&offset={i}" for i in range(60)]

    def outcomes(concurrent: bool) -> dict[str, int]:
        app = create_app(SimulatorConfig(faults=FaultSpec.parse("http500=0.5"), fault_seed=9))

        async def go(c: httpx.AsyncClient) -> dict[str, int]:
            if concurrent:
                responses = await asyncio.gather(*(c.get(u) for u in reversed(urls)))
                return {u: r.status_code for u, r in zip(reversed(urls), responses, strict=True)}
            return {u: (await c.get(u)).status_code for u in urls}

        out: dict[str, int] = run(go, app)
        return out

    sequential, concurrent = outcomes(False), outcomes(True)
    assert sequential == concurrent
    assert set(sequential.values()) == {200, 500}

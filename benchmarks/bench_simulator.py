"""Simulator throughput benchmark: serving vs a client's parse of the same bodies, in one run.

The simulator runs as a real uvicorn server in its own process (``ecodata.simulator.run_server``);
the client crawls every endpoint at the maximum page size over HTTP on 127.0.0.1 with one
keep-alive connection and, for each page, times

* serve: the request until the whole body is received (generation + HTTP), and
* parse (the peer): ``orjson.loads`` of that same body, the least a client must do with it.

ratio = serve rate / parse rate (pages per second); >= 1 means the simulator is never the
bottleneck of a client that parses what it downloads. Price and tariff bodies are cached
after their first rendering (bounded), so those endpoints are crawled twice: cold, then warm.

Usage: ``uv run python benchmarks/bench_simulator.py [--scale bench] [--max-pages 0] [--counts]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import time
from dataclasses import dataclass

import httpx
import orjson

ROUTES = [
    ("locations 2.1.1", "/ocpi/cpo/2.1.1/locations", 1000, 1),
    ("locations 2.2", "/ocpi/cpo/2.2/locations", 1000, 1),
    ("connector_prices", "/prices/connector_prices", 10000, 1),
    ("prices", "/prices", 10000, 2),
    ("tariffs", "/ocpi/cpo/2.1.1/tariffs", 1000, 2),
]
TOKEN = "bench-token"


@dataclass
class Result:
    name: str
    pages: int = 0
    records: int = 0
    nbytes: int = 0
    serve_s: float = 0.0
    parse_s: float = 0.0


def _serve(scale: str, seed: int, port: int) -> None:
    from ecodata.simulator import SimulatorConfig, run_server

    run_server(SimulatorConfig(scale=scale, seed=seed, token=TOKEN), "127.0.0.1", port)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def crawl(client: httpx.Client, name: str, path: str, limit: int, max_pages: int) -> Result:
    result = Result(name)
    offset = 0
    while True:
        started = time.perf_counter()
        response = client.get(path, params={"limit": limit, "offset": offset})
        body = response.content
        received = time.perf_counter()
        data = orjson.loads(body)["data"]
        parsed = time.perf_counter()
        assert response.status_code == 200, response.text[:200]
        result.pages += 1
        result.records += len(data)
        result.nbytes += len(body)
        result.serve_s += received - started
        result.parse_s += parsed - received
        offset += limit
        if "link" not in response.headers or (max_pages and result.pages >= max_pages):
            return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="bench", choices=["demo", "bench", "europe"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-pages", type=int, default=0, help="pages per endpoint and pass (0: all)")
    parser.add_argument("--counts", action="store_true", help="also print the row counts of every scale")
    args = parser.parse_args()

    port = _free_port()
    ctx = multiprocessing.get_context("spawn")
    server = ctx.Process(target=_serve, args=(args.scale, args.seed, port), daemon=True)
    started = time.perf_counter()
    server.start()
    base_url = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    try:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Token {TOKEN}"}, timeout=120) as client:
            while True:
                try:
                    client.get("/prices", params={"limit": 1})
                    break
                except httpx.TransportError:
                    if not server.is_alive():
                        raise SystemExit("the simulator process died during start-up") from None
                    time.sleep(0.05)
            startup = time.perf_counter() - started
            for name, path, limit, passes in ROUTES:
                for n in range(passes):
                    label = name if passes == 1 else f"{name} ({'cold' if n == 0 else 'warm'})"
                    results.append(crawl(client, label, path, limit, args.max_pages))
    finally:
        server.terminate()
        server.join(10)

    print(f"simulator scale={args.scale} seed={args.seed}: server ready in {startup:.1f} s "
          f"(process start + dataset skeletons)")
    header = (f"{'endpoint':<26}{'pages':>6}{'records':>10}{'MB':>8}{'serve p/s':>11}{'serve MB/s':>11}"
              f"{'parse p/s':>11}{'parse MB/s':>11}{'ratio':>7}")
    print(header)
    print("-" * len(header))
    for r in results:
        mb = r.nbytes / 1e6
        serve_ps, parse_ps = r.pages / r.serve_s, r.pages / r.parse_s
        print(f"{r.name:<26}{r.pages:>6}{r.records:>10}{mb:>8.1f}{serve_ps:>11.1f}{mb / r.serve_s:>11.1f}"
              f"{parse_ps:>11.1f}{mb / r.parse_s:>11.1f}{serve_ps / parse_ps:>7.2f}")
    if args.counts:
        from ecodata.simulator import Dataset

        print("\nrow counts per scale (Dataset.totals(), ground truth)")
        keys = ("locations", "evses", "connectors", "pricing_ids", "prices", "price_elements", "price_components",
                "tariffs", "tariff_elements", "tariff_components", "cpos", "msps", "countries")
        totals = {}
        for scale in ("demo", "bench", "europe"):
            t0 = time.perf_counter()
            totals[scale] = Dataset(scale, args.seed).totals()
            totals[scale]["seconds"] = round(time.perf_counter() - t0)
        print(f"{'':<20}" + "".join(f"{s:>12}" for s in totals))
        for k in (*keys, "seconds"):
            print(f"{k:<20}" + "".join(f"{totals[s][k]:>12,}" for s in totals))


if __name__ == "__main__":
    main()

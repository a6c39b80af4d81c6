"""Simulator throughput benchmark: serving vs a client's parse of the same bodies, in one run.

The simulator runs as a real uvicorn server in its own process (``ecodata.simulator.run_server``);
a bare HTTP/1.1 client (a socket, no HTTP library, so that client overhead does not hide the
server's speed) crawls every endpoint at the maximum page size on 127.0.0.1 over one keep-alive
connection and, for each page, times

* serve: the request until the whole body is received (generation + HTTP), and
* parse (the peer): ``orjson.loads`` of that same body, the least a client must do with it.

ratio = serve rate / parse rate (pages per second); >= 1 means the simulator is never the
bottleneck of a client that parses what it downloads. The server renders the next large page
in a worker thread while the client parses the current one (read-ahead), so a second table
gives generation alone, in process, without HTTP or read-ahead. Price and tariff bodies are
cached after their first rendering (bounded), so those endpoints are crawled cold, then warm.

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


class BareClient:
    """HTTP/1.1 GET over one keep-alive socket: headers parsed by hand, Content-Length or chunked bodies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=1 << 20)

    def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {TOKEN}\r\n\r\n".encode())
        status = int(self.reader.readline().split(b" ")[1])
        headers: dict[str, str] = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, headers, self.reader.read(int(headers["content-length"]))
        parts = []
        while size := int(self.reader.readline().split(b";")[0], 16):
            parts.append(self.reader.read(size))
            self.reader.readline()
        self.reader.readline()
        return status, headers, b"".join(parts)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def crawl(client: BareClient, name: str, path: str, limit: int, max_pages: int) -> Result:
    result = Result(name)
    offset = 0
    while True:
        started = time.perf_counter()
        status, headers, body = client.get(f"{path}?limit={limit}&offset={offset}")
        received = time.perf_counter()
        records = len(orjson.loads(body)["data"])  # nothing kept: each parse starts from the same heap
        parsed = time.perf_counter()
        assert status == 200, body[:200]
        result.pages += 1
        result.records += records
        result.nbytes += len(body)
        result.serve_s += received - started
        result.parse_s += parsed - received
        offset += limit
        if "link" not in headers or (max_pages and result.pages >= max_pages):
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
        while True:
            try:
                httpx.get(f"{base_url}/prices?limit=1", headers={"Authorization": f"Token {TOKEN}"})
                break
            except httpx.TransportError:
                if not server.is_alive():
                    raise SystemExit("the simulator process died during start-up") from None
                time.sleep(0.05)
        startup = time.perf_counter() - started
        client = BareClient(port)
        for name, path, limit, passes in ROUTES:
            for n in range(passes):
                label = name if passes == 1 else f"{name} ({'cold' if n == 0 else 'warm'})"
                results.append(crawl(client, label, path, limit, args.max_pages))
        client.close()
    finally:
        server.terminate()
        server.join(10)

    print(f"simulator scale={args.scale} seed={args.seed}: server ready in {startup:.1f} s "
          f"(process start + dataset skeletons)")
    header = (f"{'endpoint':<26}{'pages':>6}{'records':>10}{'MB':>8}{'serve p/s':>11}{'serve MB/s':>11}"
              f"{'parse p/s':>11}{'parse MB/s':>11}{'ratio':>7}")
    print(header)
    print("-" * len(header))
    crawl_once = [r for r in results if not r.name.endswith("(warm)")]
    results.append(Result("whole crawl (cold)", sum(r.pages for r in crawl_once), sum(r.records for r in crawl_once),
                          sum(r.nbytes for r in crawl_once), sum(r.serve_s for r in crawl_once),
                          sum(r.parse_s for r in crawl_once)))
    for r in results:
        mb = r.nbytes / 1e6
        serve_ps, parse_ps = r.pages / r.serve_s, r.pages / r.parse_s
        print(f"{r.name:<26}{r.pages:>6}{r.records:>10}{mb:>8.1f}{serve_ps:>11.1f}{mb / r.serve_s:>11.1f}"
              f"{parse_ps:>11.1f}{mb / r.parse_s:>11.1f}{serve_ps / parse_ps:>7.2f}")
    print("\ngeneration alone, in process (no HTTP, no read-ahead): SimulatedData.render of a page vs orjson.loads of it")
    from ecodata.simulator import SimulatedData

    ds = SimulatedData(args.scale, args.seed)
    print(f"{'endpoint':<26}{'pages':>6}{'render MB/s':>13}{'parse MB/s':>12}{'ratio':>7}")
    for name, endpoint, version, limit in (("locations 2.1.1", "locations", "2.1.1", 1000),
                                           ("locations 2.2", "locations", "2.2", 1000),
                                           ("connector_prices", "connector_prices", "2.1.1", 10000),
                                           ("prices (cold)", "prices", "2.1.1", 10000),
                                           ("tariffs (cold)", "tariffs", "2.1.1", 1000)):
        render_s = parse_s = 0.0
        nbytes = pages = 0
        for start in range(0, min(ds.count(endpoint), 20 * limit), limit):
            t0 = time.perf_counter()
            body = b'{"data":[' + b",".join(ds.render(endpoint, start, start + limit, version)) + b"]}"
            t1 = time.perf_counter()
            orjson.loads(body)
            parse_s += time.perf_counter() - t1
            render_s += t1 - t0
            nbytes += len(body)
            pages += 1
        print(f"{name:<26}{pages:>6}{nbytes / 1e6 / render_s:>13.1f}{nbytes / 1e6 / parse_s:>12.1f}"
              f"{parse_s / render_s:>7.2f}")
    if args.counts:
        print("\nrow counts per scale (SimulatedData.totals(), ground truth)")
        keys = ("locations", "evses", "connectors", "pricing_ids", "prices", "price_elements", "price_components",
                "tariffs", "tariff_elements", "tariff_components", "cpos", "msps", "countries")
        totals = {}
        for scale in ("demo", "bench", "europe"):
            t0 = time.perf_counter()
            totals[scale] = SimulatedData(scale, args.seed).totals()
            totals[scale]["seconds"] = round(time.perf_counter() - t0)
        print(f"{'':<20}" + "".join(f"{s:>12}" for s in totals))
        for k in (*keys, "seconds"):
            print(f"{k:<20}" + "".join(f"{totals[s][k]:>12,}" for s in totals))


if __name__ == "__main__":
    main()

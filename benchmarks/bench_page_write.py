"""The fetch's store step per page, stage by stage, and the page file's codec chosen by measurement.

Downloads a few real pages of every endpoint from an in-process simulator (``--scale``), then times, on
those bodies, each stage the fetch's worker runs for a page: decoding (msgspec: the records as slices,
then the key fields), building the Arrow table, and writing the Parquet file with each candidate codec
(best of ``--repeat``). Prints MB/s of page body and the file size; the fetch uses
``ecodata.snapshot.writer.PARQUET_OPTIONS``, the first row of the codec table.

Usage::

    uv run python benchmarks/bench_page_write.py                  # bench scale, 5 pages an endpoint
    uv run python benchmarks/bench_page_write.py --scale demo --pages 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ecodata.endpoints import ENDPOINT_KEYS
from ecodata.fetch._decode import decode_page
from ecodata.simulator import SimulatorConfig
from ecodata.simulator.server import serve_in_thread
from ecodata.snapshot.writer import PARQUET_OPTIONS, page_table

TOKEN = "bench-token"
PATHS = {"locations": "/api/ocpi/cpo/2.1.1/locations", "tariffs": "/api/ocpi/cpo/2.1.1/tariffs",
         "prices": "/prices", "connector_prices": "/prices/connector_prices"}
LIMITS = {"locations": 1000, "tariffs": 1000, "prices": 10000, "connector_prices": 10000}
CODECS: dict[str, dict[str, Any]] = {
    "zstd 1 (the fetch's)": PARQUET_OPTIONS,
    "zstd 1, dictionary on url/version": {**PARQUET_OPTIONS, "use_dictionary": ["request_url", "api_version"]},
    "zstd -1": {**PARQUET_OPTIONS, "compression_level": -1},
    "zstd -5": {**PARQUET_OPTIONS, "compression_level": -5},
    "zstd 3": {**PARQUET_OPTIONS, "compression_level": 3},
    "lz4": {**PARQUET_OPTIONS, "compression": "lz4", "compression_level": None},
    "snappy": {**PARQUET_OPTIONS, "compression": "snappy", "compression_level": None},
    "none": {**PARQUET_OPTIONS, "compression": "none", "compression_level": None},
}


def _pages(base_url: str, pages: int) -> list[tuple[str, bytes]]:
    """The first ``pages`` pages of every endpoint (cursor endpoints followed by X-Last-Record)."""
    out = []
    for endpoint, path in PATHS.items():
        query = f"limit={LIMITS[endpoint]}"
        for number in range(pages):
            if endpoint in ("locations", "tariffs"):
                query = f"limit={LIMITS[endpoint]}&offset={number * LIMITS[endpoint]}"
            request = urllib.request.Request(f"{base_url}{path}?{query}", headers={"Authorization": f"Token {TOKEN}"})
            with urllib.request.urlopen(request, timeout=300) as response:
                body, cursor = response.read(), response.headers.get("X-Last-Record")
            if b'"data":[]' in body[:64]:
                break
            out.append((endpoint, body))
            if endpoint in ("prices", "connector_prices"):
                if not cursor:
                    break
                query = f"limit={LIMITS[endpoint]}&last_record={cursor}"
    return out


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench", choices=["demo", "bench", "europe"])
    parser.add_argument("--pages", type=int, default=5, help="pages per endpoint")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with serve_in_thread(SimulatorConfig(scale=args.scale, token=TOKEN)) as base_url:
        bodies = _pages(base_url, args.pages)
    total_mb = sum(len(b) for _, b in bodies) / 1e6
    now = dt.datetime.now(dt.UTC)
    stages: dict[str, float] = {"decode (records + keys)": 0.0, "Arrow table": 0.0}
    tables = []
    for endpoint, body in bodies:
        seconds, page = _best(lambda b=body, e=endpoint: decode_page(b, ENDPOINT_KEYS[e], copy=False), args.repeat)
        stages["decode (records + keys)"] += seconds
        seconds, table = _best(lambda p=page: page_table(p.records, p.keys, page=1, url="http://127.0.0.1/x?limit=1",
                                                          fetched_at=now, api_version="2.1.1"), args.repeat)
        stages["Arrow table"] += seconds
        tables.append(table)
    print(f"store step per page: {len(bodies)} pages, {total_mb:.1f} MB of page bodies (scale {args.scale}), "
          f"best of {args.repeat}")
    for name, seconds in stages.items():
        print(f"  {name:<36} {seconds * 1000:7.1f} ms {total_mb / seconds:7.0f} MB/s")
    print("Parquet write of the same tables:")
    for name, options in CODECS.items():
        def write(opts: dict[str, Any] = options) -> int:
            size = 0
            for table in tables:
                sink = pa.BufferOutputStream()
                pq.write_table(table, sink, **opts)
                size += sink.getvalue().size
            return size
        seconds, size = _best(write, args.repeat)
        print(f"  {name:<36} {seconds * 1000:7.1f} ms {total_mb / seconds:7.0f} MB/s {size / 1e6:7.2f} MB "
              f"({total_mb * 1e6 / size:4.1f}x smaller)")


if __name__ == "__main__":
    main()

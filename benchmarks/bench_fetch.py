"""Fetch benchmark: ecodata fetch vs a bare httpx loop (the floor) vs a dlt rest_api pipeline.

One run against ONE simulator process (``ecodata simulate``, its own core) at the given scale.
Each peer runs in its own child process, so its peak RSS (``ru_maxrss``) is its own:

* ``bare``    a sequential httpx loop that only downloads the same pages (Link for the offset
              endpoints, X-Last-Record for the cursor ones, the maximum page size), no parsing;
* ``ecodata`` ``run_fetch`` with the default settings (concurrency 4, maximum page sizes);
* ``dlt``     a dlt ``rest_api`` source for the same endpoints and pagination (``header_link`` for
              the offset endpoints, a header cursor for the keyset ones), written to Parquet on the
              local filesystem destination, ``max_table_nesting=0`` (nested JSON kept as JSON,
              the closest to ecodata's raw rows and the least work for dlt).

Usage::

    uv run python benchmarks/bench_fetch.py                      # bench scale, all endpoints
    uv run python benchmarks/bench_fetch.py --scale demo --peers bare,ecodata
    uv run python benchmarks/bench_fetch.py --endpoints locations,prices

Prints a table: seconds (the work inside the child, after its imports), cpu seconds (the child's
CPU time over all its threads during that work), wall seconds (the whole child process:
interpreter start, imports, work), records, MB written, peak RSS, and each peer's work time
relative to ecodata, then the machine's load average. Targets: dlt / ecodata >= 5, ecodata / bare <= 1.3,
ecodata peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TOKEN = "bench-token"
ENDPOINTS = ("locations", "connector_prices", "prices", "tariffs")
OFFSET_PATHS = {"locations": "/api/ocpi/cpo/2.1.1/locations", "tariffs": "/api/ocpi/cpo/2.1.1/tariffs"}
CURSOR_PATHS = {"prices": "/prices", "connector_prices": "/prices/connector_prices"}
MAX_LIMIT = {"locations": 1000, "tariffs": 1000, "prices": 10000, "connector_prices": 10000}


# --- peers (run in a child process) -----------------------------------------------------------


def peer_bare(url: str, out: Path, endpoints: list[str]) -> dict[str, Any]:
    """Download every page sequentially; count bytes; no JSON parsing, nothing written."""
    records: dict[str, int] = {}
    body_bytes = 0
    headers = {"Authorization": f"Token {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for endpoint in endpoints:
            path = OFFSET_PATHS.get(endpoint) or CURSOR_PATHS[endpoint]
            params: dict[str, str] = {"limit": str(MAX_LIMIT[endpoint])}
            next_url: str | None = None
            while True:
                response = client.get(next_url) if next_url else client.get(path, params=params)
                response.raise_for_status()
                body_bytes += len(response.content)
                records[endpoint] = int(response.headers["X-Total-Count"])
                if endpoint in CURSOR_PATHS:
                    cursor = response.headers.get("X-Last-Record")
                    if not cursor:
                        break
                    params = {"limit": str(MAX_LIMIT[endpoint]), "last_record": cursor}
                else:
                    link = response.links.get("next", {}).get("url")
                    if not link:
                        break
                    next_url = link
    return {"records": records, "bytes_written": 0, "body_bytes": body_bytes}


def peer_ecodata(url: str, out: Path, endpoints: list[str]) -> dict[str, Any]:
    from ecodata.fetch import run_fetch
    from ecodata.settings import Secret, Settings

    settings = Settings(base_url=url, token=Secret(TOKEN), data_dir=out)
    report = run_fetch(settings, endpoints, dt.date(2026, 1, 1), progress=False)
    return {
        "records": {r.endpoint: r.records for r in report.endpoints},
        "bytes_written": sum(r.bytes for r in report.endpoints),
        "duplicates": sum(r.duplicates for r in report.endpoints),
    }


def peer_dlt(url: str, out: Path, endpoints: list[str]) -> dict[str, Any]:
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"  # no network besides 127.0.0.1
    os.environ["DLT_DATA_DIR"] = str(out / "dlt_data")
    import dlt
    from dlt.sources.helpers.rest_client.paginators import HeaderCursorPaginator
    from dlt.sources.rest_api import rest_api_source

    class LastRecordPaginator(HeaderCursorPaginator):
        """X-Last-Record -> ?last_record=; the simulator sends an EMPTY header on the last page."""

        def update_state(self, response: Any, data: Any = None) -> None:
            self._next_reference = response.headers.get(self.cursor_key) or None

    resources = []
    for endpoint in endpoints:
        if endpoint in OFFSET_PATHS:
            paginator: Any = {"type": "header_link"}
            path = OFFSET_PATHS[endpoint]
        else:
            paginator = LastRecordPaginator(cursor_key="X-Last-Record", cursor_param="last_record")
            path = CURSOR_PATHS[endpoint]
        resources.append({
            "name": endpoint,
            "endpoint": {"path": path.lstrip("/"), "params": {"limit": MAX_LIMIT[endpoint]},
                         "paginator": paginator, "data_selector": "data"},
        })
    source = rest_api_source({
        "client": {"base_url": url + "/", "headers": {"Authorization": f"Token {TOKEN}"}},
        "resource_defaults": {"write_disposition": "replace"},
        "resources": resources,
    })
    source.max_table_nesting = 0
    pipeline = dlt.pipeline(
        pipeline_name="bench_fetch", pipelines_dir=str(out / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(out / "lake").as_uri()), dataset_name="raw",
    )
    info = pipeline.run(source, loader_file_format="parquet")
    assert not info.has_failed_jobs
    counts = pipeline.last_trace.last_normalize_info.row_counts  # type: ignore[union-attr]
    written = sum(p.stat().st_size for p in (out / "lake").rglob("*.parquet"))
    return {"records": {e: int(counts.get(e, 0)) for e in endpoints}, "bytes_written": written}


PEERS = {"bare": peer_bare, "ecodata": peer_ecodata, "dlt": peer_dlt}


def _import_peer(peer: str) -> None:
    """Import a peer's libraries before the clock starts (the wall column includes them)."""
    if peer == "ecodata":
        import ecodata.fetch  # noqa: F401
    elif peer == "dlt":
        os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
        import dlt
        import dlt.sources.rest_api  # noqa: F401


def run_child(args: argparse.Namespace) -> None:
    out = Path(args.out)
    _import_peer(args.peer)
    started = time.perf_counter()
    cpu_started = time.process_time()
    result = PEERS[args.peer](args.url, out, args.endpoints.split(","))
    result["seconds"] = time.perf_counter() - started
    result["cpu"] = time.process_time() - cpu_started  # all threads of the peer, not the simulator
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print("RESULT " + json.dumps(result))


# --- the parent: one simulator, the peers one after the other ---------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/prices?limit=1", headers={"Authorization": f"Token {TOKEN}"}, timeout=60)
            if r.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the simulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench", choices=["demo", "bench", "europe"])
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--peers", default="bare,ecodata,dlt")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        run_child(args)
        return

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen([sys.executable, "-m", "ecodata.cli", "simulate", "--scale", args.scale,
                            "--port", str(port), "--token", TOKEN],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: dict[str, dict[str, Any]] = {}
    try:
        _wait_ready(url)
        for peer in args.peers.split(","):
            out = Path(tempfile.mkdtemp(prefix=f"bench-fetch-{peer}-"))
            wall = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--peer", peer, "--url", url, "--out", str(out),
                                   "--endpoints", args.endpoints], capture_output=True, text=True)
            wall = time.perf_counter() - wall
            shutil.rmtree(out, ignore_errors=True)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(f"{peer}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
                continue
            results[peer] = json.loads(lines[-1][len("RESULT "):])
            results[peer]["wall"] = wall
            print(f"{peer}: {results[peer]['seconds']:.2f} s", file=sys.stderr)
    finally:
        sim.terminate()
        sim.wait(30)

    base = results.get("ecodata", {}).get("seconds")
    print(f"\nfetch benchmark: scale {args.scale}, endpoints {args.endpoints}, one simulator process, "
          f"{os.cpu_count()} cores")
    print(f"{'peer':<8} {'seconds':>8} {'cpu s':>6} {'wall s':>7} {'records':>9} {'MB out':>7} "
          f"{'peak RSS MB':>11} {'x ecodata':>9}")
    for peer, r in results.items():
        ratio = f"{r['seconds'] / base:.2f}" if base else "-"
        print(f"{peer:<8} {r['seconds']:>8.2f} {r['cpu']:>6.2f} {r['wall']:>7.2f} {sum(r['records'].values()):>9,} "
              f"{r['bytes_written'] / 1e6:>7.1f} {r['maxrss_mb']:>11.0f} {ratio:>9}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at the end: {load:.1f} (the peers share {os.cpu_count()} cores with the "
          "simulator; other load inflates ecodata, which uses two cores, more than the sequential bare loop)")
    counts = {peer: r["records"] for peer, r in results.items()}
    if len({json.dumps(c, sort_keys=True) for c in counts.values()}) > 1:
        print(f"WARNING: record counts differ between peers: {counts}")
    if base and "dlt" in results and "bare" in results:
        print(f"dlt / ecodata = {results['dlt']['seconds'] / base:.1f}x (target >= 5); "
              f"ecodata / bare = {base / results['bare']['seconds']:.2f} (target <= 1.3); "
              f"ecodata peak RSS = {results['ecodata']['maxrss_mb']:.0f} MB (target <= 1024)")


if __name__ == "__main__":
    main()

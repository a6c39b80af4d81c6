"""Fetch benchmark: the whole ``ecodata fetch`` command vs a bare urllib loop (the floor) vs dlt rest_api.

Two simulators (``ecodata simulate --scale S``, each its own process) on 127.0.0.1: *loopback*, and
*remote-like*, where every request is 50 ms slower (``--faults slow=1:0.05``). Every peer is a whole
child process, timed from its start to its exit (interpreter start and imports included); its CPU
time and peak RSS come from ``wait4`` (all its threads, its own process only):

* ``urllib``  the floor: a sequential ``urllib.request`` loop that downloads the same pages (maximum
              page size; ``Link`` for the offset endpoints, ``X-Last-Record`` for the cursor ones),
              reads each body and parses only the headers; nothing is decoded or written;
* ``ecodata`` ``python -m ecodata.cli fetch`` with the default settings (concurrency 4, maximum page
              sizes): every record decoded, checked, written to the raw snapshot, committed;
* ``dlt``     a dlt ``rest_api`` source for the same endpoints and pagination (``header_link`` for the
              offset endpoints, a header cursor for the keyset ones), written to Parquet on the local
              filesystem destination, ``max_table_nesting=0`` (nested JSON kept as JSON, the closest to
              ecodata's raw rows and the least work for dlt); run ``--dlt-repeat`` times on loopback.

``--repeat`` rounds, interleaved (each round: every server, every peer), so slow phases of a shared
machine hit all peers alike; the table shows medians. Also measured: the simulator's CPU seconds per
run (from ``/proc``), and how soon ``ecodata fetch`` sends its first request after its process starts
(a socket that answers 401, median of 5).

Usage::

    uv run python benchmarks/bench_fetch.py                      # bench scale, all endpoints
    uv run python benchmarks/bench_fetch.py --scale demo --peers urllib,ecodata --repeat 1
    uv run python benchmarks/bench_fetch.py --endpoints locations,prices --dlt-repeat 0

Targets: loopback ecodata / urllib <= 1.3, remote-like <= 0.6, ecodata peak RSS <= 1 GB, dlt / ecodata >= 5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

TOKEN = "bench-token"
ENDPOINTS = ("locations", "connector_prices", "prices", "tariffs")
OFFSET_PATHS = {"locations": "/api/ocpi/cpo/2.1.1/locations", "tariffs": "/api/ocpi/cpo/2.1.1/tariffs"}
CURSOR_PATHS = {"prices": "/prices", "connector_prices": "/prices/connector_prices"}
MAX_LIMIT = {"locations": 1000, "tariffs": 1000, "prices": 10000, "connector_prices": 10000}
SERVERS = {"loopback": [], "remote-like": ["--faults", "slow=1:0.05"]}
DATE = "2026-01-01"


# --- peers run as child processes of this script ----------------------------------------------


def peer_urllib(url: str, out: Path, endpoints: list[str]) -> dict[str, Any]:
    """Download every page sequentially with urllib; read the bodies, parse only the headers."""
    records: dict[str, int] = {}
    body_bytes = 0
    for endpoint in endpoints:
        path = OFFSET_PATHS.get(endpoint) or CURSOR_PATHS[endpoint]
        target = f"{url}{path}?limit={MAX_LIMIT[endpoint]}"
        while True:
            request = urllib.request.Request(target, headers={"Authorization": f"Token {TOKEN}"})
            with urllib.request.urlopen(request, timeout=300) as response:
                body_bytes += len(response.read())
                headers = response.headers
            records[endpoint] = int(headers["X-Total-Count"])
            if endpoint in CURSOR_PATHS:
                cursor = headers.get("X-Last-Record")
                if not cursor:
                    break
                target = f"{url}{path}?limit={MAX_LIMIT[endpoint]}&last_record={cursor}"
            else:
                link = headers.get("Link")
                if not link:
                    break
                target = link.split(">", 1)[0].lstrip("<")
    return {"records": records, "body_bytes": body_bytes}


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


PEERS = {"urllib": peer_urllib, "dlt": peer_dlt}


def run_child(args: argparse.Namespace) -> None:
    result = PEERS[args.peer](args.url, Path(args.out), args.endpoints.split(","))
    print("RESULT " + json.dumps(result))


# --- the parent ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url + "/prices?limit=1", headers={"Authorization": f"Token {TOKEN}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the simulator did not start")


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_process(command: list[str], env: dict[str, str], sim_pid: int) -> dict[str, Any]:
    """Run one peer process; its wall time, CPU (wait4), peak RSS, the simulator's CPU meanwhile."""
    load = os.getloadavg()[0]
    sim_cpu = _cpu_of(sim_pid)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage (Popen has not reaped it)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return {"wall": wall, "stdout": stdout, "stderr": stderr, "status": proc.returncode,
            "cpu": usage.ru_utime + usage.ru_stime, "maxrss_mb": usage.ru_maxrss / 1024,
            "sim_cpu": _cpu_of(sim_pid) - sim_cpu, "load": (load + os.getloadavg()[0]) / 2}


def _first_request_s(repeat: int = 5) -> float:
    """Seconds from starting ``ecodata fetch`` to its first request reaching a socket (answered 401)."""
    times = []
    for _ in range(repeat):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        arrived: list[float] = []

        def answer(srv: socket.socket = server, got: list[float] = arrived) -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(65536)
                got.append(time.perf_counter())
                body = b'{"status_code":2000,"status_message":"no"}'
                conn.sendall(b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        out = tempfile.mkdtemp(prefix="bench-fetch-first-")
        started = time.perf_counter()
        subprocess.run(_ecodata_command(f"http://127.0.0.1:{port}", Path(out), "prices"), env=_env(),
                       capture_output=True, timeout=120)
        thread.join(5)
        server.close()
        shutil.rmtree(out, ignore_errors=True)
        if arrived:
            times.append(arrived[0] - started)
    return statistics.median(times)


def _env() -> dict[str, str]:
    """The peers' environment: the token, and bytecode caches allowed (as an installed package has them;
    with PYTHONDONTWRITEBYTECODE every process would compile its imports again, over a second here)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECODATA_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["ECODATA_TOKEN"] = TOKEN
    return env


def _ecodata_command(url: str, out: Path, endpoints: str) -> list[str]:
    command = [sys.executable, "-m", "ecodata.cli", "--data-dir", str(out), "--base-url", url, "fetch",
               "--date", DATE, "--no-progress"]
    for endpoint in endpoints.split(","):
        command += ["--endpoint", endpoint]
    return command


def _command(peer: str, url: str, out: Path, endpoints: str) -> list[str]:
    if peer == "ecodata":
        return _ecodata_command(url, out, endpoints)
    return [sys.executable, __file__, "--peer", peer, "--url", url, "--out", str(out), "--endpoints", endpoints]


def _one_run(peer: str, server: str, url: str, sim_pid: int, endpoints: str) -> dict[str, Any] | None:
    out = Path(tempfile.mkdtemp(prefix=f"bench-fetch-{peer}-"))
    env = _env()
    if peer == "dlt":
        env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    try:
        run = _run_process(_command(peer, url, out, endpoints), env, sim_pid)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if run["status"] != 0:
        print(f"{peer} on {server}: failed\n{run['stderr'][-3000:]}", file=sys.stderr)
        return None
    lines = [ln for ln in run["stdout"].splitlines() if ln.startswith("RESULT ")]
    if lines:
        run.update(json.loads(lines[-1][len("RESULT "):]))
    print(f"{peer:<8} {server:<12} {run['wall']:6.2f} s  cpu {run['cpu']:5.2f} s  sim cpu {run['sim_cpu']:5.2f} s  "
          f"rss {run['maxrss_mb']:5.0f} MB  load {run['load']:.1f}", file=sys.stderr)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench", choices=["demo", "bench", "europe"])
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--peers", default="urllib,ecodata,dlt")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds of urllib and ecodata")
    parser.add_argument("--dlt-repeat", type=int, default=1, help="dlt runs (loopback only)")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        run_child(args)
        return

    sims: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    peers = args.peers.split(",")
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for server, extra in SERVERS.items():
            port = _free_port()
            proc = subprocess.Popen([sys.executable, "-m", "ecodata.cli", "simulate", "--scale", args.scale,
                                     "--port", str(port), "--token", TOKEN, *extra], env=_env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sims[server] = (f"http://127.0.0.1:{port}", proc)
        for url, _ in sims.values():
            _wait_ready(url)
        first = _first_request_s() if "ecodata" in peers else None
        for _ in range(args.repeat):
            for server, (url, proc) in sims.items():
                for peer in (p for p in peers if p != "dlt"):
                    run = _one_run(peer, server, url, proc.pid, args.endpoints)
                    if run is not None:
                        runs.setdefault((peer, server), []).append(run)
        if "dlt" in peers:
            url, proc = sims["loopback"]
            for _ in range(args.dlt_repeat):
                run = _one_run("dlt", "loopback", url, proc.pid, args.endpoints)
                if run is not None:
                    runs.setdefault(("dlt", "loopback"), []).append(run)
    finally:
        for _, proc in sims.values():
            proc.terminate()
            proc.wait(30)
    _report(args, runs, first)


def _report(args: argparse.Namespace, runs: dict[tuple[str, str], list[dict[str, Any]]], first: float | None) -> None:
    floor_mb = {server: statistics.median(r["body_bytes"] for r in rs) / 1e6
                for (peer, server), rs in runs.items() if peer == "urllib"}
    print(f"\nfetch benchmark: scale {args.scale}, endpoints {args.endpoints}, {os.cpu_count()} cores, "
          f"medians of {args.repeat} interleaved rounds (dlt: {args.dlt_repeat} run)")
    print("whole processes, start to exit; cpu = the peer's own user+system seconds (wait4); sim cpu = the "
          "simulator's seconds during the same run; per 100 MB = of the page bodies the floor downloaded")
    print(f"{'server':<12} {'peer':<8} {'wall s (runs)':<26} {'median':>7} {'x floor':>7} {'cpu s':>6} "
          f"{'cpu/100MB':>9} {'sim cpu':>7} {'RSS MB':>6} {'load':>9}")
    medians: dict[tuple[str, str], float] = {}
    for (peer, server), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        walls = [r["wall"] for r in rs]
        medians[(peer, server)] = median = statistics.median(walls)
        floor = medians.get(("urllib", server)) or statistics.median(r["wall"] for r in runs.get(("urllib", server), rs))
        cpu = statistics.median(r["cpu"] for r in rs)
        mb = floor_mb.get(server, float("nan"))
        loads = [r["load"] for r in rs]
        print(f"{server:<12} {peer:<8} {' / '.join(f'{w:.2f}' for w in walls):<26} {median:>7.2f} "
              f"{median / floor:>7.2f} {cpu:>6.2f} {cpu / mb * 100:>9.2f} "
              f"{statistics.median(r['sim_cpu'] for r in rs):>7.2f} {max(r['maxrss_mb'] for r in rs):>6.0f} "
              f"{min(loads):>4.1f}-{max(loads):<4.1f}")
    print(f"MB downloaded by the floor: {', '.join(f'{s} {mb:.1f}' for s, mb in floor_mb.items())}")
    if first is not None:
        print(f"ecodata fetch: first request {first:.3f} s after its process started (median of 5; target < 0.5)")
    for server, target in (("loopback", 1.3), ("remote-like", 0.6)):
        if ("ecodata", server) in medians and ("urllib", server) in medians:
            ratio = medians[("ecodata", server)] / medians[("urllib", server)]
            print(f"{server}: ecodata / urllib = {ratio:.2f} (target <= {target}: {'met' if ratio <= target else 'missed'})")
    if ("dlt", "loopback") in medians and ("ecodata", "loopback") in medians:
        ratio = medians[("dlt", "loopback")] / medians[("ecodata", "loopback")]
        print(f"dlt / ecodata (loopback) = {ratio:.1f}x (target >= 5: {'met' if ratio >= 5 else 'missed'})")
    rss = max((r["maxrss_mb"] for (p, _), rs in runs.items() if p == "ecodata" for r in rs), default=None)
    if rss is not None:
        print(f"ecodata peak RSS = {rss:.0f} MB (target <= 1024: {'met' if rss <= 1024 else 'missed'})")


if __name__ == "__main__":
    main()

"""Benchmark ``ecodata publish`` against a plain ``aws s3 sync``-like copy, on a local S3 server, in one run.

    uv run python benchmarks/bench_publish.py --data-dir DIR [--repeat 3]
    uv run python benchmarks/bench_publish.py --scale bench      # builds DIR first: ecodata demo --days 1

Both sides talk to one moto S3 server (``ThreadedMotoServer`` on 127.0.0.1, in this process) and use
the same library (fsspec's s3fs), each run a whole child process, interpreter start and imports
included, wall time from start to exit:

* ``sync``: the peer, what ``aws s3 sync DIR s3://...`` does with s3fs: walk the data directory's
  ``raw/`` and ``history/`` (leaving out what publish leaves out: staging areas, locks, state caches),
  list the bucket, and upload every file that is missing or of another size, in one concurrent
  ``put`` (no checksums, no ordering, no manifest last, no ledger);
* ``publish``: ``ecodata --data-dir DIR publish s3://bucket/lake`` into an empty bucket (reads the
  manifests under the lock, generates the views script, hashes what no manifest hashes, uploads data
  then manifests, writes the ledger);
* ``publish again``: the same command once more, nothing changed (lists the bucket, reads the ledger,
  sends nothing); and ``sync again`` for comparison.

Each figure is the median of ``--repeat`` runs, each pair into fresh buckets, the order alternated.
Targets (issue 13): publish <= 1.2x sync; publish again < 2 s. The load average is printed with the
results: the machine is shared, and both sides suffer alike from it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SYNC = r"""
import sys
from pathlib import Path
import s3fs
data, url = Path(sys.argv[1]), sys.argv[2]
root = url.removeprefix("s3://")
local = {}
for area in ("raw", "history"):
    for file in (data / area).rglob("*"):
        rel = file.relative_to(data).as_posix()
        if file.is_file() and "/_staging/" not in rel and not file.name.startswith("_state-") \
                and not file.name.endswith((".lock", ".tmp")):
            local[rel] = file
fs = s3fs.S3FileSystem()
try:
    remote = {k.removeprefix(root + "/"): v["size"] for k, v in fs.find(root, detail=True).items()}
except FileNotFoundError:
    remote = {}
send = [rel for rel, file in local.items() if remote.get(rel) != file.stat().st_size]
if send:
    fs.put([str(local[rel]) for rel in send], [f"{root}/{rel}" for rel in send])
print(f"sync: {len(send)} file(s) sent")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return seconds, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def build_data(scale: str, where: Path) -> Path:
    data = where / "data"
    print(f"building a {scale}-scale day: ecodata demo --scale {scale} --days 1 (slow) ...", flush=True)
    subprocess.run([sys.executable, "-m", "ecodata.cli", "demo", "--scale", scale, "--days", "1",
                    "--data-dir", str(data), "--no-progress"], check=True, cwd=REPO, capture_output=True)
    return data


def size_of(data: Path) -> tuple[int, int]:
    files = [f for area in ("raw", "history") for f in (data / area).rglob("*") if f.is_file()
             and "/_staging/" not in f.as_posix() and not f.name.startswith("_state-")]
    return len(files), sum(f.stat().st_size for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="A built data directory (default: build one).")
    parser.add_argument("--scale", default="bench", choices=["demo", "bench"], help="Scale of a data dir built here.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each figure (the median is reported).")
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # bytecode caches allowed, as an installed package has them: this sandbox sets PYTHONDONTWRITEBYTECODE,
    # with which every run compiled s3fs and botocore from source again (~0.6 s of a publish with nothing new)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                           "AWS_ENDPOINT_URL")})
    import s3fs

    fs = s3fs.S3FileSystem()
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as scratch:
        data = args.data_dir or build_data(args.scale, Path(scratch))
        count, total = size_of(data)
        print(f"data dir {data}: {count} files, {total / 1e6:.1f} MB (raw + history)")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        figures: dict[str, list[float]] = {"sync": [], "sync again": [], "publish": [], "publish again": []}
        notes: dict[str, str] = {}
        sync = [sys.executable, "-c", SYNC, str(data)]
        publish = [sys.executable, "-m", "ecodata.cli", "--data-dir", str(data), "publish"]
        for run in range(args.repeat):
            a, b = f"bench-sync-{uuid.uuid4().hex[:8]}", f"bench-pub-{uuid.uuid4().hex[:8]}"
            fs.mkdir(a)
            fs.mkdir(b)
            pairs = [("sync", [*sync, f"s3://{a}/lake"]), ("publish", [*publish, f"s3://{b}/lake", "--no-progress"])]
            for name, command in pairs if run % 2 == 0 else pairs[::-1]:
                seconds, line = timed(command, env)
                figures[name].append(seconds)
                again, line_again = timed(command, env)
                figures[f"{name} again"].append(again)
                notes[name], notes[f"{name} again"] = line, line_again
                print(f"  run {run + 1}: {name} {seconds:.2f} s, again {again:.2f} s", flush=True)
            fs.rm(f"{a}", recursive=True)
            fs.rm(f"{b}", recursive=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server.stop()
    median = {name: statistics.median(values) for name, values in figures.items()}
    print(f"\nmedian of {args.repeat} runs, whole commands (process start to exit):")
    for name, value in median.items():
        print(f"  {name:<14} {value:6.2f} s   {notes[name]}")
    ratio = median["publish"] / median["sync"]
    print(f"publish / sync: {ratio:.2f}x (target <= 1.2x): {'met' if ratio <= 1.2 else 'NOT met'}")
    print(f"publish again: {median['publish again']:.2f} s (target < 2 s): "
          f"{'met' if median['publish again'] < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()

"""Benchmark the raw record store: disk of N days full vs compacted, compaction time, raw() time.

    uv run python benchmarks/bench_rawstore.py [--scale demo] [--days 10] [--keep DIR]

1. Write N daily raw snapshots of all four endpoints (simulator days 0 .. N-1, the simulator's
   ground truth ``SimulatedData``, pages of 1000 as an offset crawl pages them), every day a full
   partition, and copy them (the "full" directory).
2. Compact the days one by one, oldest first, as the daily builds do (``compact_day`` of every
   endpoint; the newest day stays full): the first day's time (it stores every record), and the
   median of the later days' (the daily cost: the changed records plus the index).
3. Read one middle day of every endpoint with ``read_raw`` (what ``ds.raw()`` runs: checksums of
   the index and the store files, the join, each record's BLAKE2b), best of 3, against reading the
   same day's full parts (``read_raw`` on the full copy: checksums, then the Parquet parts).

Prints the disk of the raw folders (every file: parts, indexes, store files, manifests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

FIRST = dt.date(2026, 6, 1)


def disk(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def write_days(root: Path, scale: str, days: int) -> None:
    from ecodata.paths import DataPaths
    from ecodata.simulator import SimulatedData
    from ecodata.snapshot.schema import ENDPOINTS
    from ecodata.tables.fixtures import write_raw_snapshot

    paths = DataPaths(root)
    for day in range(days):
        sim = SimulatedData(scale=scale, seed=0, day=day)
        for endpoint in ENDPOINTS:
            records = [b.decode() for b in sim.render(endpoint, 0, sim.count(endpoint))]
            api = "prices" if endpoint in ("prices", "connector_prices") else "2.1.1"
            write_raw_snapshot(paths, endpoint, FIRST + dt.timedelta(days=day), records, api_version=api,
                               page_size=1000)


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    args = parser.parse_args()

    from ecodata.paths import DataPaths
    from ecodata.snapshot.compact import compact_day
    from ecodata.snapshot.reader import read_raw
    from ecodata.snapshot.schema import ENDPOINTS

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-rawstore-"))
    full, compact = work / "full", work / "compact"
    start = time.perf_counter()
    write_days(full, args.scale, args.days)
    print(f"wrote {args.days} {args.scale} days in {time.perf_counter() - start:.1f} s")
    shutil.copytree(full, compact)
    paths = DataPaths(compact)
    per_day = []
    for day in range(args.days - 1):
        date = FIRST + dt.timedelta(days=day)
        start = time.perf_counter()
        for endpoint in ENDPOINTS:
            compact_day(paths, endpoint, date)
        per_day.append(time.perf_counter() - start)
    middle = FIRST + dt.timedelta(days=args.days // 2 - 1)
    rows = sum(read_raw(paths, e, middle).height for e in ENDPOINTS)
    t_compact = best(lambda: [read_raw(paths, e, middle) for e in ENDPOINTS])
    t_full = best(lambda: [read_raw(DataPaths(full), e, middle) for e in ENDPOINTS])
    one_day = sum(disk(DataPaths(full).raw_partition(e, FIRST)) for e in ENDPOINTS)
    raw_full, raw_compact = disk(full / "raw"), disk(compact / "raw")
    print(f"raw disk, one day:                 {one_day / 1e6:9.2f} MB")
    print(f"raw disk, {args.days} days as full copies:  {raw_full / 1e6:9.2f} MB")
    print(f"raw disk, {args.days} days compacted:       {raw_compact / 1e6:9.2f} MB "
          f"({raw_compact / raw_full:.2f}x the full copies, {raw_compact / one_day:.2f}x one day)")
    later = statistics.median(per_day[1:]) if len(per_day) > 1 else float("nan")
    print(f"compaction, first day (all records): {per_day[0]:7.2f} s; later days, median: {later:.2f} s")
    print(f"read_raw of day {middle} ({rows:,} records, 4 endpoints), best of 3: compacted {t_compact:.3f} s, "
          f"full parts {t_full:.3f} s ({t_compact / t_full:.2f}x)")
    if args.keep is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

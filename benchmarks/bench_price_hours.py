"""What the price_hour_costs step adds to the build's session-cost step, on a built data directory.

Each variant runs in its own fresh subprocess (own peak RSS, ``VmHWM``), on a copy-free read of the
directory's tables of one date, ``--repeat`` times (best time and lowest peak kept):

* ``costs``: the session-cost step as before price_hour_costs (``session_cost_tables_of``: price the
  distinct (price, session, profile) costs), nothing written;
* ``costs+hours``: the same, then ``price_hour_costs_of`` (the time-restricted prices at the 168 starts
  of the week in one engine call, the others taken from the costs), nothing written.

It also prints the rows of price_hour_costs and the bytes of its history files in the directory
(written by the build). Usage (after ``ecodata demo --data-dir DIR`` or a bench-scale build)::

    uv run python benchmarks/bench_price_hours.py DIR [--date 2026-06-02] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(data_dir: Path, date: dt.date, hours: bool) -> dict[str, float]:
    """One variant in this process: seconds per part and the peak RSS."""
    from ecodata.pricing import price_hour_costs_of, session_cost_tables_of
    from ecodata.settings import Settings

    settings = Settings(data_dir=data_dir)
    out: dict[str, float] = {}
    start = time.perf_counter()
    price_costs, _ = session_cost_tables_of(settings, date)
    out["costs_s"] = time.perf_counter() - start
    out["cost_rows"] = float(price_costs.height)
    if hours:
        start = time.perf_counter()
        frame = price_hour_costs_of(settings, date, price_costs)
        out["hours_s"] = time.perf_counter() - start
        out["hour_rows"] = float(frame.height)
        out["timed_rows"] = float(frame.filter(pl.col("hour").is_not_null()).height)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def run(data_dir: Path, date: dt.date, hours: bool) -> dict[str, float]:
    cmd = [sys.executable, __file__, str(data_dir), "--date", date.isoformat(), "--child", "hours" if hours else "costs"]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["costs", "hours"], default=None)
    args = parser.parse_args()
    from ecodata.paths import DataPaths

    paths = DataPaths(args.data_dir)
    date = args.date or max(paths.table_dates("session_price_costs"))
    if args.child:
        print(json.dumps(child(args.data_dir, date, args.child == "hours")))
        return
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for name, hours in (("costs", False), ("costs+hours", True)):
            got = run(args.data_dir, date, hours)
            kept = best.setdefault(name, got)
            for key, value in got.items():
                kept[key] = min(kept[key], value)
    files = sorted(paths.history_dir("price_hour_costs").glob("*.parquet"))
    costs, both = best["costs"], best["costs+hours"]
    print(f"{args.data_dir} {date}, best of {args.repeat}:")
    print(f"  costs       {costs['costs_s']:.2f} s, peak RSS {costs['peak_rss_mb']:.0f} MB, "
          f"{costs['cost_rows']:,.0f} session_price_costs rows")
    print(f"  costs+hours {both['costs_s']:.2f} + {both['hours_s']:.2f} s, peak RSS {both['peak_rss_mb']:.0f} MB, "
          f"{both['hour_rows']:,.0f} price_hour_costs rows ({both['timed_rows']:,.0f} at the 168 hours)")
    print(f"  price_hour_costs step: +{both['hours_s']:.2f} s ({both['hours_s'] / costs['costs_s']:.2f}x the cost step), "
          f"+{both['peak_rss_mb'] - costs['peak_rss_mb']:.0f} MB peak RSS; history files "
          f"{sum(f.stat().st_size for f in files) / 1e6:.2f} MB ({len(files)} files)")


if __name__ == "__main__":
    main()

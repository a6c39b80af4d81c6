"""Pricing benchmark: the vectorised evaluator vs the scalar engine, in one run.

Builds the snapshot tables from the simulator's ground truth (through ``ecodata.transform``),
then:

* vectorised: ``session_costs`` for every (connector, price, fitting default session), collected
  in memory; pairs/s = rows produced (connector x price x session) per second of wall time,
  including profile building, pricing of the distinct (price, profile) pairs and the join back;
* scalar: ``price_reference`` (reference engine, tariffs parsed once beforehand) on a random
  sample of the same rows, pairs/s = sampled rows per second; the sample is also checked to be
  equal to the vectorised rows (totals and parts, excl. and incl. VAT).

* the same for vehicle sessions (:func:`bench_vehicle_sessions`: shipped cars' DC curves
  integrated per second, and two AC sessions), with the ratio of their vectorised rate to the
  reference sessions' rate;
* build memory (``--build-rss``): the tables are written to a data directory, then a fresh
  subprocess runs the build's session-cost step (``ecodata.pipeline.write_session_costs``:
  price the distinct costs + write ``session_price_costs`` and ``session_profiles``) and reports
  its peak RSS (``VmHWM``) and the Parquet written, next to the peak of a subprocess that only
  imports ecodata and polars.

Usage: ``uv run python benchmarks/bench_pricing.py [--scale bench] [--sample 3000] [--build-rss]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ecodata.fx import load_rates
from ecodata.pricing import load_sessions, parse_tariff, price_reference, profile_for, session_costs
from ecodata.pricing.sessions import AnySession
from ecodata.pricing.vehicles import find_vehicle, load_vehicles, vehicle_session


def simulator_tables(scale: str, seed: int) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
    """Ground truth -> raw-shaped rows -> ecodata.transform -> tables (and the price records)."""
    from ecodata.simulator import SimulatedData
    from ecodata.tables.fixtures import tables_from_records

    ds = SimulatedData(scale=scale, seed=seed)
    price_records = list(ds.iter_records("prices"))
    tables = tables_from_records({"locations": ds.iter_records("locations"),
                                  "connector_prices": ds.iter_records("connector_prices"),
                                  "prices": price_records})
    return tables, price_records


def cached_tables(scale: str, seed: int, cache: Path | None) -> tuple[dict[str, pl.DataFrame], list[dict[str, Any]]]:
    """simulator_tables, kept as Parquet (+ the price records as JSON) in ``cache`` when given."""
    if cache is None:
        return simulator_tables(scale, seed)
    folder = cache / f"{scale}-{seed}"
    if (folder / "prices.json").exists():
        tables = {p.stem: pl.read_parquet(p) for p in folder.glob("*.parquet")}
        return tables, json.loads((folder / "prices.json").read_text(encoding="utf-8"))
    tables, records = simulator_tables(scale, seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet")
    (folder / "prices.json").write_text(json.dumps(records), encoding="utf-8")
    return tables, records


def rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process(os.getpid()).memory_info().rss) / 1e6
    except ImportError:  # pragma: no cover
        return float("nan")


_HWM = """
def vm_hwm_mb():
    # peak RSS of this process image (VmHWM starts afresh at exec, unlike ru_maxrss, which a
    # child inherits from its parent's peak when spawned with fork/vfork)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
"""
_HOOK = _HWM + """
import datetime as dt, sys, time
from ecodata.settings import Settings
from ecodata.pipeline import write_session_costs
t0 = time.perf_counter()
lines = write_session_costs(Settings.from_env(data_dir=sys.argv[1]), dt.date.fromisoformat(sys.argv[2]))
print(f"{vm_hwm_mb():.0f};{time.perf_counter() - t0:.1f}s;" + ";".join(lines))
"""
_IMPORTS = _HWM + """
import polars, ecodata.pricing, ecodata.tables.write, ecodata.pipeline
print(f"{vm_hwm_mb():.0f}")
"""


def peak_rss_mb(code: str, *args: str) -> tuple[float, str]:
    """Run ``python -c code args`` in a fresh process that prints its VmHWM (MB) first, then
    ``;``-separated text: (peak RSS in MB, the text)."""
    out = subprocess.run([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, check=True).stdout
    peak, _, rest = out.strip().partition(";")
    return float(peak), rest


def build_rss(tables: dict[str, pl.DataFrame], day: dt.date) -> None:
    """Peak RSS of the build's session_costs step (compute + write) in a fresh process."""
    from ecodata.paths import DataPaths
    from ecodata.tables.schemas import ALL_TABLES
    from ecodata.tables.write import write_table

    with tempfile.TemporaryDirectory(prefix="ecodata-bench-pricing-") as tmp:
        paths = DataPaths(Path(tmp))
        for name in ("prices", "price_elements", "price_components", "connectors", "connector_prices",
                     "locations"):
            write_table(paths, ALL_TABLES[name], day, tables[name])
        base, _ = peak_rss_mb(_IMPORTS)
        peak, out = peak_rss_mb(_HOOK, tmp, day.isoformat())
        seconds, *lines = out.split(";")
        size = sum(f.stat().st_size for name in ("session_price_costs", "session_profiles")
                   for f in paths.history_dir(name).glob("*.parquet")) / 1e6
        print(f"build session_costs step (compute + write, fresh process): peak RSS {peak:,.0f} MB "
              f"in {seconds} ({'; '.join(x.strip() for x in lines)}, {size:.1f} MB of Parquet); "
              f"a process that only imports ecodata + polars: {base:,.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="bench", choices=["demo", "bench"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=3000, help="rows priced by the scalar engine")
    parser.add_argument("--repeat", type=int, default=2, help="vectorised runs (the first one is cold)")
    parser.add_argument("--day", default="2026-11-21")
    parser.add_argument("--cache", type=Path, default=None,
                        help="directory to keep the built tables in (Parquet) and reuse on the next run")
    parser.add_argument("--build-rss", action="store_true",
                        help="also measure the peak RSS of the build's session_costs step in a subprocess")
    parser.add_argument("--only-build-rss", action="store_true", help="measure only that (no pairs/s runs)")
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.day)

    t0 = time.perf_counter()
    tables, records = cached_tables(args.scale, args.seed, args.cache)
    t_tables = time.perf_counter() - t0
    print(f"scale={args.scale} seed={args.seed}: tables built in {t_tables:.1f}s "
          + ", ".join(f"{k}={v.height}" for k, v in tables.items()), flush=True)
    if args.build_rss or args.only_build_rss:
        build_rss(tables, day)
        if args.only_build_rss:
            return
    rates = load_rates()
    reference = measure("reference sessions", load_sessions(), tables, records, rates, day, args)
    vehicles = measure("vehicle sessions", bench_vehicle_sessions(), tables, records, rates, day, args)
    print(f"vehicle vs reference sessions, vectorised rows/s (best): {vehicles / reference:.2f}x")


def bench_vehicle_sessions() -> list[AnySession]:
    """Vehicle sessions benchmarked: four shipped cars 10 -> 80 % on DC/HPC, two of them 20 -> 80 %
    on AC (curves of 5-11 points, per-second integration, power thresholds split periods)."""
    fleet = load_vehicles()
    dc = [vehicle_session(find_vehicle(fleet, n), (10, 80)) for n in
          ("TESLA_MODEL_Y_LR", "VW_ID3_PRO", "KIA_EV6_LR", "DACIA_SPRING_45")]
    ac = [vehicle_session(find_vehicle(fleet, n), (20, 80), power_classes=("AC",), name=f"{n}_AC_20_80")
          for n in ("RENAULT_ZOE_R135", "TESLA_MODEL_Y_LR")]
    return [*dc, *ac]


def measure(label: str, sessions: Sequence[AnySession], tables: dict[str, pl.DataFrame],
            records: list[dict[str, Any]], rates: pl.DataFrame, day: dt.date, args: argparse.Namespace) -> float:
    """Vectorised runs and a scalar sample for one set of sessions; prints both and their ratio,
    returns the best vectorised rows/s."""
    print(f"-- {label}: {', '.join(s.name for s in sessions)}", flush=True)
    runs: list[float] = []
    out = pl.DataFrame()
    for run in range(args.repeat):
        del out  # free the previous result before the next run
        rss_before = rss_mb()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        out = session_costs(tables, day=day, sessions=sessions, rates=rates, timings=timings)
        t_vec = time.perf_counter() - t0
        runs.append(t_vec)
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in timings.items() if k != "distinct_pairs")
        print(f"vectorised run {run + 1} ({'cold' if run == 0 else 'warm'}): {out.height} rows "
              f"(connector x price x session) in {t_vec:.2f}s = {out.height / t_vec:,.0f} pairs/s ({stages}); "
              f"{int(timings['distinct_pairs'])} distinct (price, profile) pairs priced; "
              f"RSS {rss_before:.0f} -> {rss_mb():.0f} MB", flush=True)
    cold_rate, best_rate = out.height / runs[0], out.height / min(runs)

    conn = tables["connectors"].join(tables["locations"].select("location_id", "time_zone"), on="location_id")
    by_key = {(r["location_id"], r["evse_uid"], r["connector_id"]): r for r in conn.iter_rows(named=True)}
    parsed = {r["id"]: parse_tariff(r) for r in records}
    by_name = {s.name: s for s in sessions}
    idx = random.Random(args.seed).sample(range(out.height), min(args.sample, out.height))
    sample = out[idx]
    rows = list(sample.iter_rows(named=True))
    t0 = time.perf_counter()
    results = []
    for row in rows:
        c = by_key[(row["location_id"], row["evse_uid"], row["connector_id"])]
        profile = profile_for(by_name[row["session"]], c["max_power_kw"], c["amperage"], c["power_class"],
                              c["power_type"])
        results.append(price_reference(parsed[row["price_id"]], profile, c["time_zone"] or "UTC", day))
    t_scalar = time.perf_counter() - t0
    scalar_rate = len(rows) / t_scalar
    mismatches = 0
    parts = [("total_cost", "total"), ("total_energy_cost", "energy_cost"), ("total_time_cost", "time_cost"),
             ("total_parking_cost", "parking_cost"), ("total_fixed_cost", "flat_cost"),
             ("total_reservation_cost", "reservation_cost")]
    no_reservation = {"excl_vat": 0, "incl_vat": 0}  # the totals carry it only for reserved sessions
    for row, res in zip(rows, results, strict=True):
        for key, col in parts:
            for vat in ("excl_vat", "incl_vat"):
                if res.get(key, no_reservation)[vat] != row[f"{col}_{vat}"]:
                    mismatches += 1
    print(f"scalar: {len(rows)} sampled rows in {t_scalar:.2f}s = {scalar_rate:,.0f} pairs/s; "
          f"mismatches vs vectorised: {mismatches}")
    print(f"ratio vectorised/scalar ({label}): {cold_rate / scalar_rate:,.0f}x cold, "
          f"{best_rate / scalar_rate:,.0f}x best of {len(runs)} (target >= 100x)", flush=True)
    return best_rate


if __name__ == "__main__":
    main()

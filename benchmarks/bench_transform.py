"""Benchmark the polars transform at bench scale against two peers, in one run.

    uv run python benchmarks/bench_transform.py [--scale bench] [--keep DIR] [--repeat 4]

1. Build a raw snapshot (all four endpoints) from the simulator's ground truth ``SimulatedData``.
2. In separate child processes (so each peak RSS is its own):
   * ``decode``: polars only decoding the raw JSON of the same snapshot with the same explicit
     struct dtypes (``str.json_decode``), materialised; the floor any JSON-based transform pays;
   * ``transform``: ``ecodata.pipeline.transform_snapshot`` end to end (decode, flatten, type,
     validate keys, rejects, write Parquet, orphan checks);
   * ``pandas``: the naive peer, ``json.loads`` + ``pandas.json_normalize`` flattening of the same
     records to the same levels (locations/evses/connectors, pricing ids, price components, tariff
     components).
3. Create the views and time ``SELECT * FROM market_prices`` (best of 3).

Decode and transform alternate ``--repeat`` times (best time kept, largest peak RSS shown), since
the machine is shared. Prints one table (seconds, peak RSS, ratio to decode). Targets: transform
<= 2x decode, peak RSS <= 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATE = dt.date(2026, 1, 1)
ENDPOINTS = ("locations", "connector_prices", "prices", "tariffs")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_raw(root: Path, scale: str) -> dict[str, int]:
    from ecodata.paths import DataPaths
    from ecodata.simulator import SimulatedData
    from ecodata.tables.fixtures import write_raw_snapshot

    sim = SimulatedData(scale=scale, seed=0, day=0)
    paths = DataPaths(root)
    counts = {}
    for endpoint in ENDPOINTS:
        records = [b.decode() for b in sim.render(endpoint, 0, sim.count(endpoint))]
        api = "prices" if endpoint in ("prices", "connector_prices") else "2.1.1"
        counts[endpoint] = write_raw_snapshot(paths, endpoint, DATE, records, api_version=api, page_size=1000)
        del records
    return counts


def phase_decode(root: Path) -> dict[str, float]:
    import polars as pl

    from ecodata.paths import DataPaths
    from ecodata.snapshot.reader import scan_raw
    from ecodata.transform import connector_prices, locations, prices, tariffs
    from ecodata.transform._decode import Variant

    # The shapes the transform accepts. An endpoint whose records all have the default shape is
    # decoded in one pass; one that mixes shapes (the simulator's tariffs do) is split by the same
    # text hints as the transform's and decoded once per shape (the failed first try is counted:
    # the transform pays it too).
    variants: dict[str, list[Variant]] = {
        "locations": locations.VARIANTS, "connector_prices": [Variant(connector_prices.CONNECTOR_PRICE_JSON)],
        "prices": prices.VARIANTS, "tariffs": tariffs.VARIANTS,
    }
    paths = DataPaths(root)
    start = time.perf_counter()
    rows = 0
    for endpoint in ENDPOINTS:
        raw = scan_raw(paths, endpoint, DATE)
        hinted = [v for v in variants[endpoint] if v.hint is not None]
        default = next(v for v in variants[endpoint] if v.hint is None)
        try:  # the cheapest decode: every record has the default shape (no split needed)
            frame = raw.select(pl.col("record").str.json_decode(default.dtype)).collect()
            rows += frame.height
            del frame
            continue
        except pl.exceptions.ComputeError:
            pass  # some record has another shape: split the records by shape and decode each group
        groups = [(pl.col("record").str.contains(v.hint), v) for v in hinted if v.hint is not None]
        rest = ~pl.any_horizontal([m for m, _ in groups]) if groups else pl.lit(True)
        for mask, variant in [*groups, (rest, default)]:
            frame = raw.filter(mask).select(pl.col("record").str.json_decode(variant.dtype)).collect()
            rows += frame.height
            del frame
    return {"seconds": time.perf_counter() - start, "rows": rows}


def phase_transform(root: Path) -> dict[str, float]:
    from ecodata.pipeline import transform_snapshot
    from ecodata.settings import Settings

    start = time.perf_counter()
    report = transform_snapshot(Settings(data_dir=root), DATE)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": sum(report.rows.values()),
            "rejects": sum(report.rejects.values())}


def phase_pandas(root: Path) -> dict[str, float]:
    import pandas as pd
    import pyarrow.parquet as pq

    from ecodata.paths import DataPaths

    paths = DataPaths(root)
    start = time.perf_counter()
    rows = 0
    for endpoint in ENDPOINTS:
        files = sorted(paths.raw_partition(endpoint, DATE).glob("part-*.parquet"))
        texts = [t for f in files for t in pq.read_table(f, columns=["record"]).column("record").to_pylist()]
        records = [json.loads(t) for t in texts]
        del texts
        if endpoint == "locations":
            frames = [
                pd.json_normalize(records, sep="_"),
                pd.json_normalize(records, record_path=["evses"], meta=["id"], meta_prefix="location_", sep="_"),
                pd.json_normalize(records, record_path=["evses", "connectors"], meta=["id", ["evses", "uid"]],
                                  meta_prefix="location_", sep="_", errors="ignore"),
            ]
        elif endpoint == "connector_prices":
            frames = [pd.json_normalize(records, record_path=["pricing_ids"],
                                        meta=["location_id", "evse_uid", "connector_id"])]
        else:
            frames = [
                pd.json_normalize(records, sep="_"),
                pd.json_normalize(records, record_path=["elements"], meta=["id"], meta_prefix="parent_", sep="_"),
                pd.json_normalize(records, record_path=["elements", "price_components"], meta=["id"],
                                  meta_prefix="parent_", sep="_"),
            ]
        rows += sum(len(f) for f in frames)
        del records, frames
    return {"seconds": time.perf_counter() - start, "rows": rows}


def phase_market(root: Path) -> dict[str, float]:
    from ecodata.paths import DataPaths
    from ecodata.sql import connect, write_views

    paths = DataPaths(root)
    write_views(paths)
    con = connect(paths)
    times = []
    rows = 0
    for _ in range(3):
        start = time.perf_counter()
        rows = len(con.execute("SELECT * FROM market_prices").fetchall())
        times.append(time.perf_counter() - start)
    con.close()
    return {"seconds": min(times), "rows": rows}


PHASES = {"decode": phase_decode, "transform": phase_transform, "pandas": phase_pandas, "market": phase_market}


def run_child(phase: str, root: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--root", str(root)],
                         check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench")
    parser.add_argument("--keep", type=Path, default=None, help="build the data here and keep it")
    parser.add_argument("--repeat", type=int, default=4, help="runs of decode and transform (best is kept)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = PHASES[args.phase](args.root)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return

    root = args.keep or Path(tempfile.mkdtemp(prefix="ecodata-bench-"))
    try:
        start = time.perf_counter()
        counts = make_raw(root, args.scale)
        raw_mb = sum(f.stat().st_size for f in (root / "raw").rglob("*.parquet")) / 1e6
        print(f"raw snapshot ({args.scale}): {counts}, {raw_mb:.0f} MB Parquet, "
              f"built in {time.perf_counter() - start:.1f} s")
        # decode and transform alternate `repeat` times and keep their best run: the machine is shared,
        # so the ratio compares like with like; peak RSS is the largest seen.
        runs: dict[str, list[dict[str, float]]] = {"decode": [], "transform": []}
        for _ in range(args.repeat):
            for phase in runs:
                runs[phase].append(run_child(phase, root))
        results = {
            phase: {**min(rs, key=lambda r: r["seconds"]), "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)}
            for phase, rs in runs.items()
        }
        results.update({phase: run_child(phase, root) for phase in ("pandas", "market")})
        base = results["decode"]["seconds"]
        print(f"\n{'step':<44} {'seconds':>8} {'x decode':>9} {'peak RSS MB':>12} {'rows':>10}")
        labels = {"decode": "polars json_decode only (floor)", "transform": "ecodata transform_snapshot (+write)",
                  "pandas": "pandas json.loads + json_normalize", "market": "DuckDB SELECT * FROM market_prices"}
        for phase, label in labels.items():
            r = results[phase]
            ratio = f"{r['seconds'] / base:.2f}" if phase != "market" else "-"
            print(f"{label:<44} {r['seconds']:>8.2f} {ratio:>9} {r['peak_rss_mb']:>12.0f} {int(r['rows']):>10}")
        transform = results["transform"]
        print(f"\ntransform / decode = {transform['seconds'] / base:.2f} (target <= 2), "
              f"pandas / transform = {results['pandas']['seconds'] / transform['seconds']:.2f}, "
              f"transform peak RSS {transform['peak_rss_mb']:.0f} MB (target <= 2048), "
              f"rejects {int(transform['rejects'])}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

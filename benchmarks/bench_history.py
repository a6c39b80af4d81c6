"""Benchmark a growing history: N consecutive simulator days built day by day, ecodata side by side
with the layout of full daily copies, in one run.

    uv run python benchmarks/bench_history.py [--scale bench] [--days 30] [--baseline 15eea87] [--keep DIR]
                                              [--no-peer]

The peer ("full copies") is ecodata as it was before the history layout (git commit ``--baseline``,
default 15eea87, main just before the history merge): every day a full copy of every table, its raw
snapshots full copies too. The bench checks that commit out into a temporary git worktree and syncs
its own virtual environment (``uv sync --frozen``, from the uv cache), so both sides run their real
CLI, each command a whole child process (interpreter start and imports included), wall time and peak
RSS taken from ``wait4`` for that process alone.

For each day d = 0 .. N-1 the raw snapshots of all four endpoints are rendered from the simulator's
ground truth (``SimulatedData(scale, seed=0, day=d)``, the same daily mutation the simulator serves)
and written identically into both data directories (not timed: the fetch is excluded). Then
``ecodata transform --date D`` (tables, session costs, views: "the build") runs in each, and the disk
of each data directory is taken (``du``-like: the bytes of every file, raw + tables + views).

After the last day, each side runs the same questions as whole ``ecodata sql`` commands:
* ``as_of``: the connectors of the middle day (ecodata: ``connectors_as_of(DATE)``; peer:
  ``connectors_history`` filtered on that date, the way that layout answers it);
* ``summary_every_day``: ``price_summary_history`` aggregated per day (the price summary of every
  day; ``market_prices`` itself is defined on the newest day in both layouts);
* ``price_changes``: ``SELECT change, count(*) FROM price_changes GROUP BY 1`` over all N days.

``--no-peer``: ecodata alone (its disk, build times, peak RSS and question times; no ratios to the
peer), for runs longer than the peer can answer in memory (its ``price_changes`` over 10 bench days
already takes ~20 GB).

``--demo-targets``: instead, the issue's whole-command targets on one demo dataset of the scale
(``ecodata demo --scale S --days 2``, whole command, its peak RSS), then in it, each a whole child
process: ``ecodata transform --date`` of the second day (the unit), ``ecodata sql "SELECT change,
count(*) FROM price_changes GROUP BY 1"`` and ``ecodata compare --session HPC_10_80``, with their
ratios to the transform (targets: <= 0.25x and <= 2 GB each; the demo's peak RSS <= 4 GB).

Targets (issue 12): disk of N days <= 3x the disk of one day; the build of the last day <= 1.2x the
build of day 2; the three questions at least as fast as on the peer; peak RSS of a day's build <= the
peer's. The europe x 365 projection scales the measured per-day growth by the locations ratio of the
two scales (460k / 100k); it is a projection, not a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIRST_DATE = dt.date(2026, 1, 1)
FIRST_DEMO_DATE = dt.date(2026, 6, 1)  # ecodata demo's day 0
ENDPOINTS = ("locations", "connector_prices", "prices", "tariffs")
LOCATIONS = {"demo": 2_000, "bench": 100_000, "europe": 460_000}  # market-realism section 5 sizes


def render_day(root: Path, scale: str, day: int, date: dt.date) -> None:
    """Write day ``day`` of the simulator as committed raw snapshots of ``date`` into ``root``."""
    from ecodata.paths import DataPaths
    from ecodata.simulator import SimulatedData
    from ecodata.tables.fixtures import write_raw_snapshot

    sim = SimulatedData(scale=scale, seed=0, day=day)
    paths = DataPaths(root)
    for endpoint in ENDPOINTS:
        records = [b.decode() for b in sim.render(endpoint, 0, sim.count(endpoint))]
        api = "prices" if endpoint in ("prices", "connector_prices") else "2.1.1"
        write_raw_snapshot(paths, endpoint, date, records, api_version=api, page_size=1000)


def copy_raw(source: Path, target: Path, date: dt.date) -> None:
    for endpoint in ENDPOINTS:
        part = f"snapshot_date={date.isoformat()}"
        src = source / "raw" / endpoint / part
        dst = target / "raw" / endpoint / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst)


def disk_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def run_measured(python: str, data: Path, *args: str) -> dict[str, Any]:
    """Like :func:`run`, with the child's own peak RSS from ``wait4``."""
    # bytecode caches allowed, as an installed package has them (this sandbox sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECODATA_") and k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([python, "-m", "ecodata.cli", "--data-dir", str(data), *args],
                                stdout=out, stderr=err, env=env, cwd=data.parent)  # no ./ecodata on sys.path
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = {"s": elapsed, "rss_mb": usage.ru_maxrss / 1024, "rc": proc.returncode,
                  "out": out.read().decode(errors="replace"), "err": err.read().decode(errors="replace")}
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(args)} failed in {data} (exit {result['rc']}): {result['err'][-2000:]}")
    return result


def baseline_python(commit: str, root: Path) -> str:
    """A worktree of ``commit`` with its own synced environment; returns its python."""
    tree = root / f"baseline-{commit}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(tree), commit],
                   check=True, capture_output=True)
    subprocess.run(["uv", "sync", "--frozen", "--no-dev", "-q"], cwd=tree, check=True,
                   env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(tree / ".venv")})
    return str(tree / ".venv" / "bin" / "python")


def remove_baseline(commit: str, root: Path) -> None:
    tree = root / f"baseline-{commit}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def questions(days: list[dt.date]) -> dict[str, tuple[str, str]]:
    """(ecodata SQL, peer SQL) per question."""
    middle = days[len(days) // 2].isoformat()
    return {
        "as_of": (f"SELECT count(*) AS n, count(DISTINCT location_id) AS locations FROM connectors_as_of(DATE '{middle}')",
                  f"SELECT count(*) AS n, count(DISTINCT location_id) AS locations FROM connectors_history "
                  f"WHERE snapshot_date = DATE '{middle}'"),
        "summary_every_day": ("SELECT snapshot_date, count(*) AS prices, median(CAST(energy_price_incl_vat AS DOUBLE)) "
                              "AS median FROM price_summary_history GROUP BY 1 ORDER BY 1",) * 2,
        "price_changes": ("SELECT change, count(*) AS n FROM price_changes GROUP BY 1 ORDER BY 1",) * 2,
    }


def demo_targets(scale: str, keep: Path | None) -> None:
    """The issue's targets on a two-day demo dataset (see the module docstring)."""
    root = keep or Path(tempfile.mkdtemp(prefix="bench-history-demo-"))
    data = root / f"demo-{scale}"
    python = sys.executable
    try:
        demo = run_measured(python, data, "demo", "--scale", scale, "--days", "2", "--no-progress")
        print(f"demo --scale {scale} --days 2: {demo['s']:7.1f} s, peak RSS {demo['rss_mb']:7.0f} MB "
              "(target <= 4096 MB)", flush=True)
        second = (FIRST_DEMO_DATE + dt.timedelta(days=1)).isoformat()
        unit = run_measured(python, data, "transform", "--date", second)
        print(f"transform --date {second}: {unit['s']:7.1f} s, {unit['rss_mb']:7.0f} MB (the unit)", flush=True)
        for label, args in (("price_changes", ("sql", "SELECT change, count(*) FROM price_changes GROUP BY 1")),
                            ("compare HPC_10_80", ("compare", "--session", "HPC_10_80"))):
            r = run_measured(python, data, *args)
            print(f"{label:<18} {r['s']:7.1f} s = {r['s'] / unit['s']:5.2f}x the transform (target <= 0.25x), "
                  f"peak RSS {r['rss_mb']:7.0f} MB (target <= 2048 MB)", flush=True)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="bench", choices=sorted(LOCATIONS))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--baseline", default="15eea87", help="git commit of the full-copies layout")
    parser.add_argument("--keep", type=Path, help="keep both data directories under this folder")
    parser.add_argument("--no-peer", action="store_true",
                        help="ecodata only (disk, build times, RSS, question times): no full-copies peer")
    parser.add_argument("--demo-targets", action="store_true",
                        help="measure the whole-command targets on a two-day demo dataset instead")
    args = parser.parse_args()
    if args.demo_targets:
        demo_targets(args.scale, args.keep)
        return
    if args.days < 2:
        raise SystemExit("--days must be at least 2")

    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    root = args.keep or work
    new, old = root / "history", root / "full-copies"
    for d in (new, old):
        if d.exists():
            shutil.rmtree(d)
    peer = None
    if not args.no_peer:
        print(f"baseline: {args.baseline} (full daily copies), synced into {work}", flush=True)
        peer = baseline_python(args.baseline, work)
    ours = sys.executable
    dates = [FIRST_DATE + dt.timedelta(days=d) for d in range(args.days)]
    rows: list[dict[str, Any]] = []
    try:
        for day, date in enumerate(dates):
            started = time.perf_counter()
            render_day(new, args.scale, day, date)
            if peer:
                copy_raw(new, old, date)
            rendered = time.perf_counter() - started
            a = run_measured(ours, new, "transform", "--date", date.isoformat())
            row = {"day": day + 1, "date": date, "new_s": a["s"], "new_rss": a["rss_mb"], "new_disk": disk_bytes(new)}
            line = (f"day {row['day']:>3} {date}  render {rendered:6.1f} s | build: history {a['s']:6.1f} s "
                    f"{a['rss_mb']:6.0f} MB")
            if peer:
                b = run_measured(peer, old, "transform", "--date", date.isoformat())
                row |= {"old_s": b["s"], "old_rss": b["rss_mb"], "old_disk": disk_bytes(old)}
                line += f", full copies {b['s']:6.1f} s {b['rss_mb']:6.0f} MB"
            line += f" | disk: history {row['new_disk'] / 1e6:8.1f} MB"
            if peer:
                line += f", full copies {row['old_disk'] / 1e6:8.1f} MB"
            rows.append(row)
            print(line, flush=True)
        report(rows, args, with_peer=peer is not None)
        print("\nquestions over all days (whole `ecodata sql` commands, best of 3):")
        print(f"{'question':<20} {'history s':>10} {'MB':>7} {'full s':>8} {'MB':>7} {'ratio':>7}  same rows")
        for name, (ours_sql, peer_sql) in questions(dates).items():
            best_a = min((run_measured(ours, new, "sql", ours_sql, "--format", "csv") for _ in range(3)),
                         key=lambda r: r["s"])
            if peer is None:
                print(f"{name:<20} {best_a['s']:>10.2f} {best_a['rss_mb']:>7.0f}")
                continue
            best_b = min((run_measured(peer, old, "sql", peer_sql, "--format", "csv") for _ in range(3)),
                         key=lambda r: r["s"])
            same = best_a["out"] == best_b["out"]
            print(f"{name:<20} {best_a['s']:>10.2f} {best_a['rss_mb']:>7.0f} {best_b['s']:>8.2f} "
                  f"{best_b['rss_mb']:>7.0f} {best_a['s'] / best_b['s']:>7.2f}  {'yes' if same else 'NO'}")
    finally:
        if peer:
            remove_baseline(args.baseline, work)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def report(rows: list[dict[str, Any]], args: argparse.Namespace, *, with_peer: bool) -> None:
    first, second, last = rows[0], rows[1], rows[-1]
    n = len(rows)
    print(f"\n{n} days at {args.scale} scale")
    for side, label in (("new", "history"), ("old", "full copies"))[:2 if with_peer else 1]:
        growth = (last[f"{side}_disk"] - first[f"{side}_disk"]) / (n - 1)
        factor = LOCATIONS["europe"] / LOCATIONS[args.scale]
        projected = (first[f"{side}_disk"] + 364 * growth) * factor
        print(f"  {label:<12} disk: day 1 {first[f'{side}_disk'] / 1e6:8.1f} MB, {n} days "
              f"{last[f'{side}_disk'] / 1e6:8.1f} MB = {last[f'{side}_disk'] / first[f'{side}_disk']:5.2f}x one day "
              f"(target <= 3x); +{growth / 1e6:.1f} MB a day; europe x 365 projected {projected / 1e9:7.1f} GB")
        print(f"  {label:<12} build: day 2 {second[f'{side}_s']:6.1f} s, day {n} {last[f'{side}_s']:6.1f} s = "
              f"{last[f'{side}_s'] / second[f'{side}_s']:4.2f}x (target <= 1.2x); peak RSS max "
              f"{max(r[f'{side}_rss'] for r in rows):6.0f} MB")
    if not with_peer:
        return
    print(f"  peak RSS of a build, history / full copies: "
          f"{max(r['new_rss'] for r in rows) / max(r['old_rss'] for r in rows):.2f}x (target <= 1x)")


if __name__ == "__main__":
    main()

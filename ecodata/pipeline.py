"""The orchestration: the steps of a daily run, each stage called in data-flow order.

* :func:`transform_snapshot`: raw snapshot -> tables, endpoint by endpoint: the raw chunks
  (:mod:`ecodata.snapshot`) through the endpoint's transform (:mod:`ecodata.transform`) into
  table storage (:mod:`ecodata.tables`), then rejects and the reference checks.
* :func:`transform_date`: :func:`transform_snapshot`, then the
  ``session_costs`` of that date (:mod:`ecodata.pricing` computes, ``tables`` writes), then
  the DuckDB views (:mod:`ecodata.sql`), then the compaction of the older raw days into the
  record store (:mod:`ecodata.snapshot.compact`; a newest day stays full until it is transformed).
  ``ecodata transform`` runs it, so a bare transform leaves a consistent dataset: no date
  whose tables exist without its session costs.
* :func:`build_dataset`: fetch + :func:`transform_date` (``ecodata build``).
* :func:`prune_dataset`, :func:`delete_date`, :func:`migrate_dataset`: the history's upkeep
  (:mod:`ecodata.history`), each followed by the views.

This module sits right of every stage it calls; no stage imports it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl

from ecodata.errors import ConfigError, EcodataError, SnapshotError
from ecodata.history import delete_day, prune, require_history_layout
from ecodata.history.migrate import migrate
from ecodata.lock import data_dir_lock
from ecodata.paths import DataPaths, check_snapshot_date
from ecodata.pricing import SESSION_COST_INPUTS, price_hour_costs_of, session_cost_tables_of
from ecodata.settings import Settings
from ecodata.snapshot.compact import collect_garbage, compact_raw, remove_leftovers
from ecodata.snapshot.reader import scan_raw_chunks
from ecodata.snapshot.schema import ENDPOINTS
from ecodata.sql import write_views
from ecodata.sql.migrate_costs import migrate_session_costs
from ecodata.storage import storage_errors
from ecodata.tables.checks import count_orphans
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import (
    ALL_TABLES,
    PRICE_HOUR_COSTS,
    REJECTS,
    SESSION_PRICE_COSTS,
    SESSION_PROFILES,
)
from ecodata.tables.write import commit, stage_tables, write_table, write_tables
from ecodata.transform import TRANSFORMS, ChunkTables

# Raw JSON decoded at a time (whole raw files, uncompressed bytes, at most CHUNK_RECORDS records):
# bounds the peak memory of decoding. Bench scale, 2026-11-21, 3 runs each: 32 MB 3.0-3.1 s / 1.1 GB,
# 64 MB 2.9-3.3 s / 1.2 GB, 128 MB 2.7-2.9 s / 1.2-1.3 GB peak RSS.
CHUNK_BYTES = 128_000_000
CHUNK_RECORDS = 250_000


@dataclass
class TransformReport:
    """What one ``transform_snapshot`` run did: rows per table, rejects, duplicates and orphans."""

    date: dt.date
    endpoints: list[str]
    raw_records: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)      # per endpoint
    duplicates: dict[str, int] = field(default_factory=dict)   # per table: rows left out for a repeated key
    orphans: dict[str, int] = field(default_factory=dict)      # per reference check

    def lines(self) -> list[str]:
        """A short human-readable summary, one fact per line."""
        out = [f"snapshot {self.date}: transformed {', '.join(self.endpoints)}"]
        for endpoint in self.endpoints:
            out.append(f"  {endpoint}: {self.raw_records.get(endpoint, 0)} raw records, "
                       f"{self.rejects.get(endpoint, 0)} rejected")
        for table, count in self.rows.items():
            dup = self.duplicates.get(table, 0)
            out.append(f"  {table}: {count} rows" + (f" ({dup} duplicate keys rejected)" if dup else ""))
        for check, count in self.orphans.items():
            out.append(f"  orphans {check}: {count}")
        return out


def resolve_date(paths: DataPaths, date: dt.date | None, endpoints: Sequence[str]) -> tuple[dt.date, list[str]]:
    """The snapshot date to transform and the endpoints that have a complete raw snapshot for it."""
    available = {e: set(paths.raw_dates(e)) for e in endpoints}
    if date is None:
        every = set().union(*available.values()) if available else set()
        if not every:
            raise SnapshotError(f"no complete raw snapshot in {paths.raw_root}: run 'ecodata fetch' first")
        date = max(every)
    present = [e for e in endpoints if date in available[e]]
    if not present:
        raise SnapshotError(f"no complete raw snapshot for {date}: run 'ecodata fetch --date {date}' first")
    return date, present


def transform_snapshot(
    settings: Settings,
    date: dt.date | None = None,
    endpoints: Sequence[str] | None = None,
    *,
    chunk_records: int = CHUNK_RECORDS,
    chunk_bytes: int = CHUNK_BYTES,
) -> TransformReport:
    """Build the tables of one snapshot date from its raw snapshot (all endpoints present by default).

    Each endpoint's raw snapshot is read in chunks (bounding the memory of JSON decoding), each
    chunk transformed (``TRANSFORMS[endpoint].chunks``) and its tables streamed to staging; the
    endpoint's tables are moved into place together once its last chunk is written, then
    ``rejects`` (this run's plus those of endpoints not re-transformed now) and the reference
    checks. Re-running a date replaces its tables. Example::

        report = transform_snapshot(Settings.from_env(data_dir="data"))
        print("\\n".join(report.lines()))
    """
    paths = DataPaths(settings.data_dir)
    wanted = list(endpoints) if endpoints else list(ENDPOINTS)
    unknown = [e for e in wanted if e not in TRANSFORMS]
    if unknown:
        raise ConfigError(f"unknown endpoint(s) {', '.join(unknown)}; choose from {', '.join(TRANSFORMS)}")
    date, present = resolve_date(paths, date, wanted)
    report = TransformReport(date=date, endpoints=present)
    rejects: list[pl.DataFrame] = []
    for endpoint in present:
        transform = TRANSFORMS[endpoint]
        chunks = (c.frame for c in scan_raw_chunks(paths, endpoint, date, max_records=chunk_records,
                                                    max_bytes=chunk_bytes))
        tally = _Tally(transform.tables)
        staged = stage_tables(paths, [ALL_TABLES[t] for t in transform.tables], date,
                              tally.count(transform.chunks(chunks)))
        commit(paths, list(staged.values()))
        endpoint_rejects = pl.concat(tally.rejects, how="vertical") if tally.rejects else REJECTS.polars_schema.to_frame()
        for name, table in staged.items():
            report.rows[name] = table.rows
            report.duplicates[name] = tally.duplicates[name]
        report.rejects[endpoint] = endpoint_rejects.height
        report.raw_records[endpoint] = tally.raw_records
        rejects.append(endpoint_rejects)
    write_table(paths, REJECTS, date, _merge_rejects(paths, date, present, rejects))
    report.orphans = count_orphans(paths, date)
    return report


class _Tally:
    """Passes an endpoint's chunks on to the table writers, keeping their rejects and counts."""

    def __init__(self, tables: Sequence[str]) -> None:
        self.rejects: list[pl.DataFrame] = []
        self.duplicates = dict.fromkeys(tables, 0)
        self.raw_records = 0

    def count(self, chunks: Iterator[ChunkTables]) -> Iterator[dict[str, pl.DataFrame]]:
        for chunk in chunks:
            self.rejects.append(chunk.tables["rejects"])
            for name, n in chunk.duplicates.items():
                self.duplicates[name] += n
            self.raw_records += chunk.raw_records
            yield chunk.tables


def _merge_rejects(paths: DataPaths, date: dt.date, present: list[str], new: list[pl.DataFrame]) -> pl.DataFrame:
    """This run's rejects plus those of endpoints not re-transformed now (kept from the last run)."""
    frames = [f.cast(REJECTS.polars_schema) for f in new]
    if date in paths.table_dates("rejects"):
        old = scan_table(paths, "rejects", date).drop("snapshot_date")
        frames.insert(0, old.filter(~pl.col("endpoint").is_in(present)).collect())
    return pl.concat(frames, how="vertical") if frames else REJECTS.polars_schema.to_frame()


@dataclass
class TransformDateReport:
    """What :func:`transform_date` did: the transform, the session-cost step, the views written."""

    transform: TransformReport
    session_cost_lines: list[str]
    views: list[str]
    raw_lines: list[str] = field(default_factory=list)  # the compaction of the raw days

    @property
    def date(self) -> dt.date:
        return self.transform.date

    def lines(self) -> list[str]:
        """A short human-readable summary, one fact per line."""
        return [*self.transform.lines(), *self.session_cost_lines,
                f"views: {len(self.views)} written to ecodata.duckdb", *self.raw_lines]


@dataclass
class BuildReport:
    """What :func:`build_dataset` did: the fetch report's lines, the transform report, the views."""

    fetch_lines: list[str]
    transform: TransformReport
    views: list[str]
    extra_lines: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The fetch lines, then the transform, session-cost and views lines."""
        return [*self.fetch_lines, *self.transform.lines(), *self.extra_lines,
                f"views: {len(self.views)} written to ecodata.duckdb"]


def write_session_costs(settings: Settings, date: dt.date) -> list[str]:
    """Price every distinct (price, profile) of ``date`` for the reference sessions and write
    ``session_price_costs``, ``session_profiles`` and ``price_hour_costs`` (each power class's
    session at every hour of the week) together (the ``session_costs`` and ``price_by_hour``
    views join them to the connectors); returns the report lines.

    When an input table of that date is missing (only some endpoints were ever transformed),
    nothing is computed and the line says which tables to build first.
    """
    paths = DataPaths(settings.data_dir)
    missing = [name for name in SESSION_COST_INPUTS if date not in paths.table_dates(name)]
    if missing:
        return [f"  session_costs: not computed, no {', '.join(missing)} table for {date} "
                f"(transform every endpoint of that date: ecodata transform --date {date})"]
    price_costs, profiles = session_cost_tables_of(settings, date)
    hours = price_hour_costs_of(settings, date, price_costs)
    write_tables(paths, date, {SESSION_PRICE_COSTS: price_costs, SESSION_PROFILES: profiles, PRICE_HOUR_COSTS: hours})
    timed = hours.filter(pl.col("hour").is_not_null())
    return [f"  session_costs: {price_costs.height} distinct (price, session, profile) costs, "
            f"{profiles.height} connector kinds x sessions (the session_costs view joins them to the connectors)",
            f"  price_hour_costs: {timed.height // 168} time-restricted (price, session, profile) x 168 hours of the "
            f"week, {hours.height - timed.height} the same at every hour (the price_by_hour views)"]


def transform_date(
    settings: Settings,
    date: dt.date | None = None,
    endpoints: Sequence[str] | None = None,
    *,
    chunk_records: int = CHUNK_RECORDS,
) -> TransformDateReport:
    """Tables, session costs and views of one snapshot date (the newest raw one by default).

    Example::

        report = transform_date(Settings.from_env(data_dir="data"))
        print("\\n".join(report.lines()))
    """
    paths = DataPaths(settings.data_dir)
    with data_dir_lock(paths, "transform", timeout_s=settings.lock_timeout_s):
        require_history_layout(paths)
        which = f"the tables of {date}" if date else "the tables"
        with storage_errors(paths.root, which, "no table file is left half-written"):
            report = transform_snapshot(settings, date, endpoints, chunk_records=chunk_records)
            costs = write_session_costs(settings, report.date)
        views = write_views(paths, settings.fx_rates_csv, lock_timeout_s=settings.lock_timeout_s)
        with storage_errors(paths.root, "the raw record store", "every raw day is full or compacted, never half"):
            raw = compact_raw(paths, report.endpoints, transformed=report.date)
    return TransformDateReport(report, costs, views, raw.lines())


def build_dataset(
    settings: Settings,
    date: dt.date | None = None,
    endpoints: Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: bool | None = None,
) -> BuildReport:
    """Fetch + transform + session costs + views: the daily job in one call.

    Example: ``build_dataset(Settings.from_env(), endpoints=["prices", "connector_prices"])``.
    """
    if date is not None:
        check_snapshot_date(date)  # refused before the data directory is created or locked
    settings.require_token()
    settings.require_concurrency()
    from ecodata.fetch import run_fetch  # here: a transform alone does not pay for httpx (~0.4 s)

    with data_dir_lock(DataPaths(settings.data_dir), "build", timeout_s=settings.lock_timeout_s, create=True):
        fetched = run_fetch(settings, endpoints, date, force=force, progress=progress)
        try:
            done = transform_date(settings, fetched.snapshot_date, endpoints)
        except EcodataError as exc:
            # The error line alone would hide that the download worked: say so first (the CLI
            # prints an error's notes before its line), and that a rerun will reuse it.
            for line in fetched.lines():
                exc.add_note(line)
            exc.add_note(f"fetch: the raw snapshot of {fetched.snapshot_date} is committed (a rerun reuses it); "
                         "a later step failed:")
            raise
    return BuildReport(fetched.lines(), done.transform, done.views, [*done.session_cost_lines, *done.raw_lines])


def prune_dataset(settings: Settings, before: dt.date) -> list[str]:
    """Drop every table day and complete raw snapshot before ``before``, then rewrite the views.

    The first day kept becomes a whole table in each history, so every later day stays as it was;
    the raw record store drops the versions no kept day references. Returns the report lines.
    """
    paths = DataPaths(settings.data_dir)
    with data_dir_lock(paths, "prune", timeout_s=settings.lock_timeout_s):
        require_history_layout(paths)
        with storage_errors(paths.root, "the history", "each table's history is the old or the new one"):
            lines = prune(paths, before).lines()
            raw = versions = 0
            for endpoint in ENDPOINTS:
                for date in paths.raw_dates(endpoint):
                    if date < before:
                        shutil.rmtree(paths.raw_partition(endpoint, date))
                        raw += 1
                versions += collect_garbage(paths, endpoint)
                remove_leftovers(paths, endpoint)
        lines.append(f"prune: removed {raw} raw snapshot(s) before {before}"
                     + (f" and {versions:,} record versions no kept day uses" if versions else ""))
        views = write_views(paths, settings.fx_rates_csv, lock_timeout_s=settings.lock_timeout_s)
    return [*lines, f"views: {len(views)} written to ecodata.duckdb"]


def delete_date(settings: Settings, date: dt.date) -> list[str]:
    """Delete one snapshot date from every table's history (its raw snapshot stays), then the views.

    The later days keep their content. ``ecodata transform --date D`` builds it again from raw.
    """
    paths = DataPaths(settings.data_dir)
    with data_dir_lock(paths, "delete", timeout_s=settings.lock_timeout_s):
        require_history_layout(paths)
        with storage_errors(paths.root, "the history", "each table's history is the old or the new one"):
            tables = delete_day(paths, date)
        views = write_views(paths, settings.fx_rates_csv, lock_timeout_s=settings.lock_timeout_s)
    if not tables:
        return [f"delete: no table keeps {date}; nothing changed", f"views: {len(views)} written to ecodata.duckdb"]
    return [f"delete: {date} removed from {len(tables)} table(s); its raw snapshot is kept "
            f"(ecodata transform --date {date} rebuilds it)", f"views: {len(views)} written to ecodata.duckdb"]


def migrate_dataset(settings: Settings) -> list[str]:
    """Convert an older data directory, then write the views: full daily table copies into the
    history layout (:mod:`ecodata.history.migrate`), the old stored ``session_costs`` into
    ``session_price_costs`` + ``session_profiles`` (:mod:`ecodata.sql.migrate_costs`), and its full
    raw days (all but each endpoint's newest) into the record store."""
    paths = DataPaths(settings.data_dir)
    with data_dir_lock(paths, "migrate", timeout_s=settings.lock_timeout_s):
        with storage_errors(paths.root, "the migration", "every day converted so far is verified; run it again"):
            tables = migrate(paths)
            costs = migrate_session_costs(settings)
            lines = tables.lines() if tables.converted or not costs.rows else []
            lines += costs.lines()
            raw = compact_raw(paths)
            collected = sum(collect_garbage(paths, endpoint) for endpoint in ENDPOINTS)
            lines += raw.lines() or ["migrate: no raw day to compact (each endpoint's newest day stays full)"]
            if collected:
                lines.append(f"migrate: dropped {collected:,} record versions no kept day uses")
        views = write_views(paths, settings.fx_rates_csv, lock_timeout_s=settings.lock_timeout_s)
    return [*lines, f"views: {len(views)} written to ecodata.duckdb"]

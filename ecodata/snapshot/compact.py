"""Compact raw days into the record store, and collect the store's garbage.

The fetch commits every day as a full partition (:mod:`ecodata.snapshot.writer`), which the
transform of that day reads as plain Parquet parts. :func:`compact_raw` (run after each transform,
by ``ecodata transform``/``build``, and by ``ecodata migrate``; never inside a fetch) then turns the
full days into an index plus the new record versions (:mod:`ecodata.snapshot.store`): every older
day, and the newest once it is transformed (a newest day fetched but not yet transformed stays
full for its transform). Keeping the newest day full cost a whole copy of a day's raw records
(a bench-scale day: 52 MB of parts for 5 MB of new versions and index).

One day's compaction (:func:`compact_day`), each step a new file or one rename:

1. check the full day against its manifest (sizes, SHA-256, rows) and the store against its list;
2. hash every record; look its (key, hash) up in the store; number the new versions;
3. write the new versions to a new store file, then replace ``_store.json`` naming it;
4. write the day's index (a new file in its partition);
5. read the day back through index and store and compare it with the full parts, every column
   of every row, and each record with its hash;
6. replace the day's ``_manifest.json`` (``layout`` ``"compact"``, listing the index);
7. remove the parts, which the manifest no longer lists.

Killed at any point, the day is still readable (full until step 6, compact after it), and a
rerun finishes the job: versions stored by step 3 are found again by the lookup, and files that
no list names (a half-written index or store file, the old parts) are removed
(:func:`remove_leftovers`). :func:`collect_garbage` (``ecodata prune``, ``migrate``) drops the
versions no kept day references, rewriting store files that hold some of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from ecodata.endpoints import ENDPOINTS
from ecodata.errors import SnapshotDamagedError, SnapshotError
from ecodata.paths import MANIFEST_NAME, DataPaths
from ecodata.snapshot import store as record_store
from ecodata.snapshot.manifest import COMPACT, Manifest, read_manifest, write_json_atomic
from ecodata.snapshot.reader import read_raw
from ecodata.snapshot.store import HASH, VERSION, Store
from ecodata.snapshot.writer import utc_now_iso

STEPS = ("store-file", "store-list", "index", "verified", "manifest", "parts-removed")


@dataclass
class CompactReport:
    """What :func:`compact_raw` did: per endpoint the days compacted and the new versions stored."""

    compacted: dict[str, list[dt.date]] = field(default_factory=dict)
    new_versions: dict[str, int] = field(default_factory=dict)
    full_bytes: int = 0      # the parts removed
    stored_bytes: int = 0    # the index and store files written instead
    problems: list[str] = field(default_factory=list)  # days left full, and why

    def lines(self) -> list[str]:
        out = []
        days = sum(len(d) for d in self.compacted.values())
        if days:
            versions = sum(self.new_versions.values())
            out.append(f"raw: compacted {days} day(s) into the record store ({versions:,} new record "
                       f"versions; {self.full_bytes / 1e6:.1f} MB of parts -> {self.stored_bytes / 1e6:.1f} MB), "
                       "each verified record by record")
        out += [f"raw: {p}" for p in self.problems]
        return out


def compact_raw(paths: DataPaths, endpoints: Sequence[str] = ENDPOINTS, *,
                transformed: dt.date | None = None) -> CompactReport:
    """Compact every full raw day of ``endpoints`` but the newest of each, which is compacted too
    when it is ``transformed`` (the date just built; see the module doc).

    A damaged day is left as it is and reported (``problems``): it is not this step's to repair.
    """
    report = CompactReport()
    for endpoint in endpoints:
        dates = paths.raw_dates(endpoint)
        if dates:
            remove_leftovers(paths, endpoint)
        for date in dates if dates and dates[-1] == transformed else dates[:-1]:
            manifest = read_manifest(paths, endpoint, date)
            if manifest.layout == COMPACT:
                continue
            try:
                result = compact_day(paths, endpoint, date)
            except SnapshotDamagedError as exc:
                report.problems.append(f"{endpoint} {date} kept full: {exc}")
                continue
            report.compacted.setdefault(endpoint, []).append(date)
            report.new_versions[endpoint] = report.new_versions.get(endpoint, 0) + result.new_versions
            report.full_bytes += result.full_bytes
            report.stored_bytes += result.stored_bytes
    return report


@dataclass(frozen=True)
class DayResult:
    """One compacted day: versions added to the store, bytes of parts removed and of files written."""

    new_versions: int
    full_bytes: int
    stored_bytes: int


def compact_day(paths: DataPaths, endpoint: str, date: dt.date, *,
                after_step: Callable[[str], None] | None = None) -> DayResult:
    """Compact one full raw day (steps in the module doc); ``after_step(name)`` after each of STEPS.

    The caller holds the data directory's write lock. A day already compacted is left alone.
    """
    step = after_step or (lambda name: None)
    manifest = read_manifest(paths, endpoint, date)
    if manifest.layout == COMPACT:
        return DayResult(0, 0, 0)
    store = record_store.load_store(paths, endpoint)
    record_store.verify_store(paths, endpoint, date, store)
    day = read_raw(paths, endpoint, date)  # checks the parts against the manifest
    keyed = day.select("record_key", "record").with_columns(record_store.record_digests(day.get_column("record")))
    known = record_store.lookup_versions(record_store.store_paths(paths, store), keyed)
    found = keyed.join(known, on=["record_key", HASH], how="left", maintain_order="left")
    new = (found.filter(pl.col(VERSION).is_null()).drop(VERSION)
           .unique(subset=["record_key", HASH], keep="first", maintain_order=True)
           .with_row_index(VERSION, offset=store.next_version)
           .with_columns(pl.col(VERSION).cast(pl.Int64)))
    written = 0
    if new.height:
        entry = record_store.write_store_file(paths, endpoint, new)
        step("store-file")
        store = Store(endpoint, store.next_version + new.height, [*store.files, entry])
        record_store.save_store(paths, store)
        written += entry.bytes
        step("store-list")
        found = found.join(new.select("record_key", HASH, pl.col(VERSION).alias("_new")),
                           on=["record_key", HASH], how="left", maintain_order="left")
        found = found.with_columns(pl.coalesce(VERSION, "_new").alias(VERSION)).drop("_new")
    index = day.select(record_store.INDEX_COLUMNS[1:]).with_columns(found.get_column(VERSION).cast(pl.Int64))
    entry_index = record_store.write_index_file(paths, endpoint, date, index)
    written += entry_index.bytes
    step("index")
    compacted = replace(manifest, files=[entry_index], layout=COMPACT, compacted_at=utc_now_iso())
    _verify_compacted(paths, endpoint, date, day, keyed.get_column(HASH),
                      index_path=paths.raw_partition(endpoint, date) / entry_index.name, store=store)
    step("verified")
    write_json_atomic(paths.raw_manifest(endpoint, date), compacted.to_json())
    step("manifest")
    removed = sum(f.bytes for f in manifest.files)
    _remove_unlisted_in_partition(paths, endpoint, date, compacted)
    step("parts-removed")
    return DayResult(new.height, removed, written)


# Records read back at a time by the verification: the day is held once, its copy from the
# store one slice at a time (a whole copy would double the step's peak memory).
VERIFY_RECORDS = 100_000


def _verify_compacted(paths: DataPaths, endpoint: str, date: dt.date, day: pl.DataFrame, digests: pl.Series, *,
                      index_path: Path, store: Store) -> None:
    """Read the day back through its new index and the store; it must equal ``day`` row for row.

    ``digests`` are the hashes of ``day``'s records: the stored hashes read back must be them.
    """
    index = pl.read_parquet(index_path)
    files = record_store.store_paths(paths, store)
    same = index.height == day.height
    for start in range(0, index.height, VERIFY_RECORDS) if same else ():
        back = record_store.scan_compact(index.slice(start, VERIFY_RECORDS), files, with_hash=True).collect()
        same = (back.drop(HASH).equals(day.slice(start, VERIFY_RECORDS))
                and back.get_column(HASH).equals(digests.slice(start, VERIFY_RECORDS), check_names=False))
        if not same:
            break
    if not same:
        raise SnapshotError(f"compacting the {endpoint} snapshot of {date} would not reproduce it; its full parts "
                            "are kept, please report this bug")


def _remove_unlisted_in_partition(paths: DataPaths, endpoint: str, date: dt.date, manifest: Manifest) -> None:
    """Remove the data files of a partition that its manifest does not list (a compaction's leftovers).

    In a full partition only leftover index files go (parts are the fetch's, never touched here).
    """
    listed = {f.name for f in manifest.files} | {MANIFEST_NAME}
    for file in paths.raw_partition(endpoint, date).iterdir():
        if file.name in listed or not file.is_file():
            continue
        leftover = file.name.startswith("index-") or file.name.endswith(".tmp")
        if manifest.layout == COMPACT and file.name.startswith("part-"):
            leftover = True
        if leftover:
            file.unlink(missing_ok=True)


def remove_leftovers(paths: DataPaths, endpoint: str) -> None:
    """Remove what an interrupted compaction or collection left: files no manifest or list names."""
    for date in paths.raw_dates(endpoint):
        _remove_unlisted_in_partition(paths, endpoint, date, read_manifest(paths, endpoint, date))
    folder = paths.raw_store_dir(endpoint)
    if not folder.is_dir():
        return
    listed = {f.name for f in record_store.load_store(paths, endpoint).files}
    for file in folder.iterdir():
        unlisted = file.name.startswith("store-") and file.name not in listed
        if file.is_file() and (unlisted or file.name.endswith(".tmp")):
            file.unlink(missing_ok=True)


def collect_garbage(paths: DataPaths, endpoint: str) -> int:
    """Drop the store versions no kept compacted day references; returns how many were dropped.

    A store file whose versions are all referenced stays; one with none goes; one with some is
    rewritten (a new file) with those only. The new list replaces ``_store.json`` in one rename,
    and only then are the old files removed.
    """
    store = record_store.load_store(paths, endpoint)
    if not store.files:
        return 0
    indexes = []
    for date in paths.raw_dates(endpoint):
        manifest = read_manifest(paths, endpoint, date)
        if manifest.layout == COMPACT:
            indexes += [paths.raw_partition(endpoint, date) / f.name for f in manifest.files]
    referenced = (pl.scan_parquet(indexes).select(VERSION).unique().collect() if indexes
                  else pl.DataFrame(schema={VERSION: pl.Int64()}))
    kept, dropped = [], 0
    for entry in store.files:
        path = paths.raw_store_dir(endpoint) / entry.name
        versions = pl.scan_parquet(path).select(VERSION).collect()
        used = versions.join(referenced, on=VERSION, how="semi").height
        if used == entry.rows:
            kept.append(entry)
            continue
        dropped += entry.rows - used
        if used:
            rows = pl.scan_parquet(path).join(referenced.lazy(), on=VERSION, how="semi").sort(VERSION).collect()
            kept.append(record_store.write_store_file(paths, endpoint, rows))
    if dropped:
        record_store.save_store(paths, Store(endpoint, store.next_version, kept))
        remove_leftovers(paths, endpoint)
    return dropped

"""The only module that knows the data-directory layout.

    <data>/raw/<endpoint>/snapshot_date=YYYY-MM-DD/part-NNNNN.parquet + _manifest.json
    <data>/raw/<endpoint>/snapshot_date=YYYY-MM-DD/index-<token>.parquet + _manifest.json (compacted)
    <data>/raw/<endpoint>/_staging/snapshot_date=YYYY-MM-DD/...      (an unfinished run)
    <data>/raw/<endpoint>/_store/_store.json                         (the record store's file list)
    <data>/raw/<endpoint>/_store/store-<first version>-<token>.parquet (distinct record versions)
    <data>/history/<table>/_history.json                             (the table's kept days, see below)
    <data>/history/<table>/<YYYY-MM-DD>-<token>.parquet              (one day's changes)
    <data>/history/<table>/_state-<YYYY-MM-DD>-<token>.parquet        (a copy of the newest day's table, a cache)
    <data>/tables/<table>/_staging/snapshot_date=YYYY-MM-DD/...      (a day's whole table being recorded)
    <data>/ecodata.duckdb                                             (views only)
    <data>/fx_rates.csv                        (the EUR rates the user chose; absent = shipped rates)
    <data>/ecodata.lock                                               (the one writer's lock)

A raw partition is visible to readers only once its ``_manifest.json`` exists. A partition is
either *full* (its parts hold every row) or *compacted* (:mod:`ecodata.snapshot.store`): its index
lists the day's rows by record version, and the endpoint's record store holds each distinct
version once, the files ``_store.json`` names. A table's history
(:mod:`ecodata.history`) is what its ``_history.json`` lists: each kept day's change file, written
before the list names it and removed only after the list stops naming it. Before the history
layout, every table day was a full copy in ``<data>/tables/<table>/snapshot_date=YYYY-MM-DD/``
(the "legacy" layout, which ``ecodata migrate`` converts).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ecodata.errors import ConfigError, StorageError

MANIFEST_NAME = "_manifest.json"
STORE_DIR = "_store"
STORE_MANIFEST = "_store.json"
HISTORY_MANIFEST = "_history.json"
STAGING_DIR = "_staging"
PARTITION_PREFIX = "snapshot_date="
_PARTITION_RE = re.compile(r"^snapshot_date=(\d{4}-\d{2}-\d{2})$")


def parse_date(text: str) -> dt.date:
    """Parse a YYYY-MM-DD snapshot date or raise a ConfigError that says the expected form.

    An empty text is refused too (``--date ''`` from a script whose variable is unset must not
    silently mean today).
    """
    if not text.strip():
        raise ConfigError("empty date: give a date as YYYY-MM-DD, e.g. 2026-11-21, or leave --date out")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"invalid date {text!r}: use YYYY-MM-DD, e.g. 2026-11-21") from None


def check_snapshot_date(date: dt.date, *, today: dt.date | None = None) -> dt.date:
    """``date`` when it can be a snapshot date, else a ConfigError: no date after tomorrow (UTC).

    Tomorrow is allowed (a job in a time zone ahead of UTC). A later date would become the
    "latest" snapshot for good and hide every real one behind it.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    if date > today + dt.timedelta(days=1):
        raise ConfigError(f"snapshot date {date} is in the future (today is {today}, UTC): "
                          "give today's date or an earlier one")
    return date


def part_name(index: int) -> str:
    """File name of the index-th Parquet part of a partition."""
    return f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class DataPaths:
    """Paths inside one data directory. Creates nothing; callers create what they write."""

    root: Path

    @property
    def raw_root(self) -> Path:
        return self.root / "raw"

    @property
    def tables_root(self) -> Path:
        return self.root / "tables"

    @property
    def history_root(self) -> Path:
        return self.root / "history"

    @property
    def duckdb_path(self) -> Path:
        return self.root / "ecodata.duckdb"

    @property
    def fx_rates_path(self) -> Path:
        """The EUR reference rates kept with this dataset (``views --fx-rates`` copies them here)."""
        return self.root / "fx_rates.csv"

    @property
    def scratch_dir(self) -> Path:
        """Where a long check may spill to disk (``ecodata migrate``'s DuckDB); removed after use."""
        return self.root / "_scratch"

    @property
    def lock_path(self) -> Path:
        """The lock file every writing command holds (see :mod:`ecodata.lock`)."""
        return self.root / "ecodata.lock"

    def raw_dir(self, endpoint: str) -> Path:
        return self.raw_root / endpoint

    def raw_partition(self, endpoint: str, date: dt.date) -> Path:
        return self.raw_dir(endpoint) / f"{PARTITION_PREFIX}{date.isoformat()}"

    def raw_staging(self, endpoint: str, date: dt.date) -> Path:
        return self.raw_dir(endpoint) / STAGING_DIR / f"{PARTITION_PREFIX}{date.isoformat()}"

    def raw_lock(self, endpoint: str, date: dt.date) -> Path:
        """Lock file held by the one run writing this endpoint and date (next to its staging area)."""
        return self.raw_dir(endpoint) / STAGING_DIR / f"{PARTITION_PREFIX}{date.isoformat()}.lock"

    def raw_manifest(self, endpoint: str, date: dt.date) -> Path:
        return self.raw_partition(endpoint, date) / MANIFEST_NAME

    def raw_index_file(self, endpoint: str, date: dt.date, token: str) -> Path:
        """The index of a compacted raw day; ``token`` makes every rewrite a new file."""
        return self.raw_partition(endpoint, date) / f"index-{token}.parquet"

    def raw_store_dir(self, endpoint: str) -> Path:
        """Folder of an endpoint's record store (distinct record versions of its compacted days)."""
        return self.raw_dir(endpoint) / STORE_DIR

    def raw_store_manifest(self, endpoint: str) -> Path:
        return self.raw_store_dir(endpoint) / STORE_MANIFEST

    def raw_store_file(self, endpoint: str, first_version: int, token: str) -> Path:
        """A store file holding versions from ``first_version`` on; ``token`` makes it a new name."""
        return self.raw_store_dir(endpoint) / f"store-{first_version:012d}-{token}.parquet"

    def table_dir(self, table: str) -> Path:
        return self.tables_root / table

    def table_partition(self, table: str, date: dt.date) -> Path:
        return self.table_dir(table) / f"{PARTITION_PREFIX}{date.isoformat()}"

    def table_staging(self, table: str, date: dt.date) -> Path:
        return self.table_dir(table) / STAGING_DIR / f"{PARTITION_PREFIX}{date.isoformat()}"

    def history_dir(self, table: str) -> Path:
        """Folder of one table's history: its change files and ``_history.json``."""
        return self.history_root / table

    def history_manifest(self, table: str) -> Path:
        return self.history_dir(table) / HISTORY_MANIFEST

    def history_file(self, table: str, date: dt.date, token: str) -> Path:
        """A change file of one table and day; ``token`` makes every rewrite a new file."""
        return self.history_dir(table) / f"{date.isoformat()}-{token}.parquet"

    def history_state_file(self, table: str, date: dt.date, token: str) -> Path:
        """A copy of a table's newest kept day (``history.store.StateCache``): not data, a
        cache that spares the next day's diff a read of the whole change log."""
        return self.history_dir(table) / f"_state-{date.isoformat()}-{token}.parquet"

    def history_relative(self, file: Path) -> str:
        """A history file as a ``/``-separated path relative to the data directory (for the views)."""
        return file.relative_to(self.root).as_posix()

    def raw_dates(self, endpoint: str, *, complete_only: bool = True) -> list[dt.date]:
        """Snapshot dates of an endpoint, oldest first; by default only those with a manifest."""
        return _partition_dates(self.raw_dir(endpoint), require=MANIFEST_NAME if complete_only else None)

    def table_dates(self, table: str) -> list[dt.date]:
        """The kept days of a table's history, oldest first (none when it has no history yet)."""
        manifest = self.history_manifest(table)
        try:
            days = json.loads(manifest.read_text(encoding="utf-8"))["days"]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"cannot read {manifest}: {exc}; restore it from a backup or "
                               "rebuild the table (ecodata migrate/transform)") from None
        return sorted(dt.date.fromisoformat(day["date"]) for day in days)

    def legacy_table_dates(self, table: str) -> list[dt.date]:
        """Dates of a table's full daily partitions in the legacy layout (what migrate converts)."""
        return _partition_dates(self.table_dir(table), require=None)


def _partition_dates(directory: Path, require: str | None) -> list[dt.date]:
    if not directory.is_dir():
        return []
    dates = []
    for child in directory.iterdir():
        match = _PARTITION_RE.match(child.name)
        if not match or not child.is_dir():
            continue
        if require is not None and not (child / require).is_file():
            continue
        dates.append(dt.date.fromisoformat(match.group(1)))
    return sorted(dates)

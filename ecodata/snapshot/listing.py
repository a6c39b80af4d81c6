"""List raw snapshots, complete and unfinished (``ecodata snapshots``, ``Dataset.snapshots()``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ecodata.endpoints import ENDPOINTS
from ecodata.errors import SnapshotError
from ecodata.paths import PARTITION_PREFIX, STAGING_DIR, DataPaths
from ecodata.snapshot.manifest import read_manifest
from ecodata.snapshot.reader import verify_snapshot
from ecodata.snapshot.writer import read_staged_checkpoints


@dataclass(frozen=True)
class SnapshotInfo:
    """One row of ``ecodata snapshots``.

    ``status`` is ``complete`` (manifest present and every file it lists as it promises),
    ``incomplete`` (an unfinished run in staging: counts are what it stored so far; ``ecodata
    fetch --date`` resumes it) or ``damaged`` (``problem`` says what and what to run).
    ``bytes`` is the size of the Parquet parts the fetch wrote; ``layout`` says whether the day
    is still those parts (``full``) or was compacted into the record store (``compact``).
    """

    endpoint: str
    snapshot_date: dt.date
    status: str
    records: int
    pages: int
    bytes: int
    duplicates: int
    drift: bool
    run_id: str
    problem: str = ""
    layout: str = "full"


def list_snapshots(paths: DataPaths) -> list[SnapshotInfo]:
    """Every snapshot under ``paths``, by endpoint then date (complete and unfinished ones).

    Example::

        for s in list_snapshots(DataPaths(Path("data"))):
            print(s.endpoint, s.snapshot_date, s.status, s.records)
    """
    rows: list[SnapshotInfo] = []
    checked: set[tuple[str, int]] = set()  # store files found good once (shared by the compacted days)
    for endpoint in ENDPOINTS:
        for date in paths.raw_dates(endpoint, complete_only=True):
            try:
                m = read_manifest(paths, endpoint, date)
            except SnapshotError as exc:
                rows.append(SnapshotInfo(endpoint, date, "damaged", 0, 0, 0, 0, False, "", str(exc)))
                continue
            try:
                verify_snapshot(paths, endpoint, date, checked=checked)
                status, problem = m.status, ""
            except SnapshotError as exc:
                status, problem = "damaged", str(exc)
            rows.append(SnapshotInfo(endpoint, date, status, m.records, m.pages, m.bytes, m.duplicates,
                                     m.drift, m.run_id, problem, m.layout))
        staging = paths.raw_dir(endpoint) / STAGING_DIR
        if staging.is_dir():
            for child in sorted(staging.iterdir()):
                if not child.name.startswith(PARTITION_PREFIX) or not child.is_dir():
                    continue
                try:
                    date = dt.date.fromisoformat(child.name.removeprefix(PARTITION_PREFIX))
                except ValueError:
                    continue
                pages = read_staged_checkpoints(paths, endpoint, date)
                rows.append(SnapshotInfo(endpoint, date, "incomplete", sum(p.records for p in pages),
                                         len(pages), sum(p.file_bytes for p in pages), 0, False, ""))
    rows.sort(key=lambda r: (ENDPOINTS.index(r.endpoint), r.snapshot_date, r.status))
    return rows


"""Read committed raw snapshots. Partitions without a manifest are invisible."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ecodata.errors import SnapshotError
from ecodata.paths import DataPaths
from ecodata.snapshot.manifest import read_manifest
from ecodata.snapshot.schema import RAW_SCHEMA


def complete_dates(paths: DataPaths, endpoint: str) -> list[dt.date]:
    """Dates with a complete (manifest-bearing) snapshot of the endpoint, oldest first."""
    return paths.raw_dates(endpoint, complete_only=True)


def latest_complete_date(paths: DataPaths, endpoint: str) -> dt.date:
    """The newest complete snapshot date of an endpoint, or a SnapshotError saying what to run."""
    dates = complete_dates(paths, endpoint)
    if not dates:
        raise SnapshotError(
            f"no complete {endpoint} snapshot in {paths.raw_root}: run 'ecodata fetch' first"
        )
    return dates[-1]


def scan_raw(paths: DataPaths, endpoint: str, date: dt.date | None = None) -> pl.LazyFrame:
    """Lazily scan one complete raw snapshot (columns of ``snapshot.schema.RAW_SCHEMA``).

    ``date=None`` takes the latest complete snapshot. Each file's Parquet footer is read first, so
    a damaged file (truncated copy, full disk) is a SnapshotError here, not a polars error later.
    """
    if date is None:
        date = latest_complete_date(paths, endpoint)
    if not paths.raw_manifest(endpoint, date).is_file():
        raise SnapshotError(
            f"no complete {endpoint} snapshot for {date}: run 'ecodata fetch --date {date}' first"
        )
    files = sorted(paths.raw_partition(endpoint, date).glob("part-*.parquet"))
    if not files:
        # An endpoint that served no records (e.g. a licence without tariffs) commits a manifest
        # with no data files: that is an empty snapshot, not a broken one.
        if read_manifest(paths, endpoint, date).records == 0:
            return pl.from_arrow(RAW_SCHEMA.empty_table()).lazy()  # type: ignore[union-attr]
        raise SnapshotError(
            f"the {endpoint} snapshot for {date} has a manifest but no data files: "
            f"download it again with 'ecodata fetch --endpoint {endpoint} --date {date} --force'"
        )
    for file in files:
        try:
            pq.read_metadata(file)
        except (OSError, pa.ArrowException) as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SnapshotError(
                f"the {endpoint} snapshot for {date} is damaged ({file.name}: {why}): "
                f"download it again with 'ecodata fetch --endpoint {endpoint} --date {date} --force'"
            ) from None
    return pl.scan_parquet(files)

"""Test and benchmark helper: write a committed raw snapshot straight from records, without HTTP.

Real snapshots come from ``ecodata fetch``. Tests and benchmarks of the tables and views use this
to build one from hand-written records or the simulator's ground truth. It writes what the real
writer writes, with the real writer's functions: the natural key (:func:`ecodata.snapshot.schema.record_key`), each
page's rows and checkpoint (:func:`writer.write_page_files`, so sizes and SHA-256 checksums are
real), the parts named as in a commit and the :class:`~ecodata.snapshot.manifest.Manifest` written
last. One difference on purpose: the commit's de-duplication of natural keys is skipped, so tests
can hand the transform duplicate keys and undecodable records (whose key is empty) and check that
they end up in ``rejects``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import shutil
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import polars as pl
import pyarrow.parquet as pq

from ecodata.paths import DataPaths, part_name
from ecodata.snapshot.manifest import Manifest, ManifestFile, write_json_atomic
from ecodata.snapshot.schema import ENDPOINT_KEYS, record_key
from ecodata.snapshot.writer import new_run_id, page_table, write_page_files
from ecodata.transform import TRANSFORMS

FETCHED_AT = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)
BASE_URL = "http://127.0.0.1"


def raw_key(endpoint: str, record: Any) -> str:
    """The raw ``record_key`` the writer stores for ``record`` (a dict, or JSON text)."""
    if isinstance(record, str | bytes):
        try:
            record = orjson.loads(record)
        except orjson.JSONDecodeError:
            return ""
    return record_key(record, ENDPOINT_KEYS[endpoint])


def write_raw_snapshot(
    paths: DataPaths,
    endpoint: str,
    date: dt.date,
    records: Iterable[Any],
    *,
    api_version: str = "2.1.1",
    page_size: int = 1000,
) -> int:
    """Write ``records`` (dicts, or str for verbatim JSON text) as a complete raw snapshot; returns the count.

    Replaces a snapshot of the same endpoint and date. Records are paged by ``page_size`` as an
    offset crawl would page them.
    """
    bodies = [r.encode() if isinstance(r, str) else orjson.dumps(r) for r in records]
    pages_dir = paths.raw_staging(endpoint, date) / "fixture-pages"
    if pages_dir.exists():
        shutil.rmtree(pages_dir)
    pages_dir.mkdir(parents=True)
    partition = paths.raw_partition(endpoint, date)
    if partition.exists():
        shutil.rmtree(partition)
    partition.mkdir(parents=True)
    files: list[ManifestFile] = []
    for number, start in enumerate(range(0, len(bodies), page_size)):
        page = bodies[start:start + page_size]
        url = f"{BASE_URL}/{endpoint}?offset={start}&limit={page_size}"
        cp = write_page_files(
            pages_dir, api_version=api_version, number=number, params={"offset": str(start)}, url=url,
            fetched_at=FETCHED_AT, records=page, keys=[raw_key(endpoint, b) for b in page],
            body_bytes=sum(map(len, page)), total_count=len(bodies), link_next=None, last_record=None, retries=0,
        )
        assert cp.file is not None
        (pages_dir / cp.file).replace(partition / part_name(number))
        files.append(ManifestFile(name=part_name(number), rows=cp.records, bytes=cp.file_bytes, sha256=cp.sha256,
                                  page=number))
    if not files:  # an empty endpoint: one empty part, so readers see the columns
        empty = partition / part_name(0)
        pq.write_table(page_table([], [], page=0, url=BASE_URL, fetched_at=FETCHED_AT, api_version=api_version),
                       empty)
        data = empty.read_bytes()
        files.append(ManifestFile(name=part_name(0), rows=0, bytes=len(data),
                                  sha256=hashlib.sha256(data).hexdigest(), page=0))
    shutil.rmtree(pages_dir)
    for folder in (pages_dir.parent, pages_dir.parent.parent):  # the staging folders, when now empty
        with contextlib.suppress(OSError):
            folder.rmdir()
    stamp = FETCHED_AT.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    manifest = Manifest(
        endpoint=endpoint, snapshot_date=date.isoformat(), status="complete", run_id=new_run_id(),
        started_at=stamp, finished_at=stamp, attempts=1, api_version=api_version, base_url=BASE_URL,
        request_path=f"/{endpoint}", pagination="offset", page_limit=page_size, concurrency=1,
        pages=len(files), records=len(bodies), records_received=len(bodies), duplicates=0,
        bytes=sum(f.bytes for f in files), body_bytes=sum(map(len, bodies)), totals_announced=[len(bodies)],
        drift=False, retries=0, files=files,
    )
    write_json_atomic(paths.raw_manifest(endpoint, date), manifest.to_json(), durable=False)
    return len(bodies)


def tables_from_records(records: Mapping[str, Iterable[dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    """The tables ``ecodata.transform`` makes from records per endpoint, in memory (no files).

    For tests and benchmarks that need tables but not a data directory; rejects are left out.
    Example: ``tables_from_records({"prices": SimulatedData("demo").iter_records("prices")})``.
    """
    tables: dict[str, pl.DataFrame] = {}
    for endpoint, rows in records.items():
        texts = [orjson.dumps(r).decode() for r in rows]
        raw = pl.DataFrame({
            "record": texts,
            "record_key": [str(i) for i in range(len(texts))],
            "api_version": ["2.1.1" if endpoint in ("locations", "tariffs") else "prices"] * len(texts),
        })
        del texts
        for name, frame in TRANSFORMS[endpoint].lazy(raw.lazy()).items():
            if name != "rejects":
                tables[name] = frame.collect()
    return tables

"""Test and benchmark helper: write a minimal committed raw snapshot straight from records.

Real snapshots come from ``ecodata fetch``. Tests and benchmarks of the tables and views use this
to build one from hand-written records or the simulator's ground truth, without HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ecodata.paths import DataPaths, part_name
from ecodata.snapshot.schema import ENDPOINT_KEYS, RAW_SCHEMA

FETCHED_AT = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)


def record_key(endpoint: str, record: Any) -> str:
    """The raw ``record_key`` of a record: its natural key fields joined with ``|``."""
    if not isinstance(record, dict):
        return ""
    return "|".join(str(record.get(field, "")) for field in ENDPOINT_KEYS[endpoint])


def write_raw_snapshot(
    paths: DataPaths,
    endpoint: str,
    date: dt.date,
    records: Iterable[Any],
    *,
    api_version: str = "2.1.1",
    page_size: int = 1000,
) -> int:
    """Write ``records`` (dicts, or str for verbatim JSON text) as a complete raw snapshot; returns the count."""
    texts: list[str] = []
    keys: list[str] = []
    for record in records:
        if isinstance(record, str):
            texts.append(record)
            try:
                keys.append(record_key(endpoint, json.loads(record)))
            except ValueError:
                keys.append("")
        else:
            texts.append(orjson.dumps(record).decode())
            keys.append(record_key(endpoint, record))
    n = len(texts)
    table = pa.table(
        {
            "record": pa.array(texts, pa.large_string()),
            "record_key": pa.array(keys, pa.string()),
            "page": pa.array([i // page_size for i in range(n)], pa.int32()),
            "page_index": pa.array([i % page_size for i in range(n)], pa.int32()),
            "request_url": pa.array([f"http://127.0.0.1/{endpoint}?offset={i - i % page_size}" for i in range(n)]),
            "fetched_at": pa.array([FETCHED_AT] * n, pa.timestamp("us", tz="UTC")),
            "api_version": pa.array([api_version] * n, pa.string()),
        },
        schema=RAW_SCHEMA,
    )
    partition = paths.raw_partition(endpoint, date)
    partition.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, partition / part_name(0))
    manifest = {"endpoint": endpoint, "snapshot_date": date.isoformat(), "records": n,
                "files": [{"name": part_name(0), "rows": n}], "written_by": "ecodata.tables.fixtures"}
    paths.raw_manifest(endpoint, date).write_text(json.dumps(manifest), encoding="utf-8")
    return n

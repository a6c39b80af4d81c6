import datetime as dt
import hashlib

import orjson
import polars as pl

from ecodata.paths import DataPaths
from ecodata.snapshot import read_manifest
from ecodata.snapshot.reader import scan_raw
from ecodata.snapshot.schema import ENDPOINT_KEYS, RAW_SCHEMA, record_key
from ecodata.tables.fixtures import write_raw_snapshot

DATE = dt.date(2026, 5, 1)


def test_keys_pages_and_manifest_are_the_writers(tmp_path):
    paths = DataPaths(tmp_path)
    records = [
        {"location_id": "L1", "evse_uid": None, "connector_id": {"n": 1}, "pricing_ids": []},
        {"location_id": "L2", "evse_uid": "E", "connector_id": 7, "pricing_ids": ["P"]},
        '{"location_id": "L3", "evse_uid": "E", "connector_id": "1"}',
        "{not json",
        {"location_id": "L1", "evse_uid": None, "connector_id": {"n": 1}, "pricing_ids": ["again"]},
    ]
    assert write_raw_snapshot(paths, "connector_prices", DATE, records, page_size=2) == 5
    raw = scan_raw(paths, "connector_prices", DATE).collect()
    assert raw.columns == RAW_SCHEMA.names
    assert raw["record_key"].to_list() == ["L1||{\"n\":1}", "L2|E|7", "L3|E|1", "", "L1||{\"n\":1}"]
    assert raw["record_key"][0] == record_key(records[0], ENDPOINT_KEYS["connector_prices"])
    assert raw["page"].to_list() == [0, 0, 1, 1, 2]
    assert raw["page_index"].to_list() == [0, 1, 0, 1, 0]
    assert raw["record"][3] == "{not json"
    assert orjson.loads(raw["record"][0]) == records[0]
    manifest = read_manifest(paths, "connector_prices", DATE)
    assert (manifest.records, manifest.records_received, manifest.duplicates, manifest.pages) == (5, 5, 0, 3)
    partition = paths.raw_partition("connector_prices", DATE)
    assert sorted(p.name for p in partition.iterdir()) == [
        "_manifest.json", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    for file in manifest.files:
        data = (partition / file.name).read_bytes()
        assert (file.bytes, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert [f.rows for f in manifest.files] == [2, 2, 1]
    assert not paths.raw_staging("connector_prices", DATE).parent.exists()


def test_an_empty_snapshot_has_one_empty_part_and_rewriting_replaces(tmp_path):
    paths = DataPaths(tmp_path)
    write_raw_snapshot(paths, "tariffs", DATE, [{"id": f"T{i}"} for i in range(3)], page_size=1)
    write_raw_snapshot(paths, "tariffs", DATE, [])
    assert scan_raw(paths, "tariffs", DATE).collect().schema == pl.Schema(pl.from_arrow(RAW_SCHEMA.empty_table()).schema)
    manifest = read_manifest(paths, "tariffs", DATE)
    assert (manifest.records, [f.rows for f in manifest.files]) == (0, [0])
    assert len(list(paths.raw_partition("tariffs", DATE).glob("part-*.parquet"))) == 1

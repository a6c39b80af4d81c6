import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecodata.errors import ConfigError, SnapshotError, StorageError
from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_snapshot
from ecodata.settings import Settings
from ecodata.sql import memory_connection
from ecodata.sql.orphans import missing_flag
from ecodata.tables.checks import count_orphans
from ecodata.tables.fixtures import write_raw_snapshot
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import ALL_TABLES, CONNECTOR_PRICES, PRICES
from ecodata.tables.write import write_table

D1 = dt.date(2026, 1, 1)
D2 = dt.date(2026, 1, 2)


def location(lid, evses):
    return {"id": lid, "address": "a", "city": "c", "country": "NLD",
            "coordinates": {"latitude": "52.0", "longitude": "5.0"}, "evses": evses,
            "last_updated": "2026-01-01T00:00:00Z"}


def evse(uid, *connector_ids):
    return {"uid": uid, "status": "AVAILABLE", "connectors": [
        {"id": c, "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
         "voltage": 230, "amperage": 32, "tariff_id": "T-missing" if c == "9" else None} for c in connector_ids]}


def price(pid, energy):
    return {"id": pid, "partner": "P", "partner_id": "p", "last_updated": "2026-01-01T00:00:00Z",
            "product": {"id": f"prod-{pid}", "type": "adhoc", "currency": "EUR"},
            "elements": [{"price_components": [{"type": "ENERGY", "price_excl_vat": energy, "vat": 21,
                                                "step_size": 1}]}]}


@pytest.fixture
def paths(tmp_path):
    p = DataPaths(tmp_path / "data")
    write_raw_snapshot(p, "locations", D1, [
        location("L1", [evse("E1", "1", "2"), evse("E1", "3")]),  # the second E1 repeats a key
        location("L2", [evse("E1", "1", "9")]),
    ])
    write_raw_snapshot(p, "prices", D1, [price("P1", 0.3), price("P2", 0.4)], api_version="prices")
    write_raw_snapshot(p, "connector_prices", D1, [
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1", "P2"]},
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "7", "pricing_ids": ["P1"]},
        {"location_id": "L2", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P3"]},
    ], api_version="prices")
    return p


def test_transform_counts_duplicates_and_orphans(paths):
    report = transform_snapshot(Settings(data_dir=paths.root))
    assert report.date == D1
    assert report.endpoints == ["locations", "connector_prices", "prices"]
    assert report.rows["evses"] == 2
    assert report.duplicates == {"locations": 0, "evses": 1, "connectors": 0, "connector_prices": 0,
                                 "prices": 0, "price_elements": 0, "price_components": 0}
    assert report.orphans == {"connector_prices->connectors": 1, "connector_prices->prices": 1,
                              "evses->locations": 0}
    rejects = scan_table(paths, "rejects", D1).collect()
    assert rejects.select("endpoint", "table_name", "record_key", "reason").rows() == [
        ("locations", "evses", "L1|E1", "duplicate key in evses (occurrence 2)")]
    # Orphans stay in the table: the real API has them.
    assert scan_table(paths, "connector_prices", D1).select(pl.len()).collect().item() == 4
    assert any("orphans connector_prices->prices: 1" in line for line in report.lines())


def test_orphans_counted_on_the_built_tables_equal_those_read_back_from_the_files(paths):
    settings = Settings(data_dir=paths.root)
    report = transform_snapshot(settings)
    assert report.orphans == count_orphans(paths, D1)
    # Re-transforming one endpoint checks its references against the other tables' files.
    assert transform_snapshot(settings, D1, ["connector_prices"]).orphans == report.orphans


def test_rerunning_a_date_replaces_its_tables(paths):
    settings = Settings(data_dir=paths.root)
    transform_snapshot(settings, D1)
    write_raw_snapshot(paths, "prices", D1, [price("P1", 0.35)], api_version="prices")
    report = transform_snapshot(settings, D1, ["prices"])
    assert report.endpoints == ["prices"]
    got = scan_table(paths, "price_components", D1).collect()
    assert got["price_excl_vat"].cast(pl.String).to_list() == ["0.350000"]
    assert [d.date for d in store.load(paths, ALL_TABLES["prices"]).days] == [D1]
    files = [f.name for f in paths.history_dir("prices").glob("*.parquet")]
    assert len([f for f in files if not f.startswith("_state-")]) == 1  # the replaced day's change file is gone
    assert len(files) == 2  # and the one state cache (the newest day's fingerprints)
    assert not paths.table_staging("prices", D1).exists()
    # The locations rejects of the earlier run survive a prices-only re-run.
    assert scan_table(paths, "rejects", D1).collect()["endpoint"].to_list() == ["locations"]


def test_dates_are_kept_apart(paths):
    settings = Settings(data_dir=paths.root)
    transform_snapshot(settings, D1)
    write_raw_snapshot(paths, "prices", D2, [price("P9", 0.5)], api_version="prices")
    report = transform_snapshot(settings)
    assert (report.date, report.endpoints) == (D2, ["prices"])
    assert paths.table_dates("prices") == [D1, D2]
    assert scan_table(paths, "prices").collect()["price_id"].to_list() == ["P9"]
    assert scan_table(paths, "prices", D1).collect()["price_id"].to_list() == ["P1", "P2"]


def test_missing_snapshots_fail_with_a_clear_message(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(SnapshotError, match="run 'ecodata fetch' first"):
        transform_snapshot(settings)
    with pytest.raises(SnapshotError, match="ecodata fetch --date 2026-01-01"):
        transform_snapshot(settings, D1)
    with pytest.raises(ConfigError, match="unknown endpoint"):
        transform_snapshot(settings, D1, ["statuses"])
    with pytest.raises(SnapshotError, match="no snapshot"):
        scan_table(DataPaths(tmp_path), "prices")


def test_write_table_refuses_a_frame_that_does_not_match_the_schema(tmp_path):
    frame = pl.DataFrame({"price_id": ["x"]})
    with pytest.raises(RuntimeError, match="do not match the declared schema; please report this bug"):
        write_table(DataPaths(tmp_path), PRICES, D1, frame)
    assert not DataPaths(tmp_path).table_dir("prices").exists() or not any(
        DataPaths(tmp_path).table_dir("prices").rglob("*.parquet"))


def test_chunked_transform_gives_the_same_tables(paths):
    settings = Settings(data_dir=paths.root)
    whole = transform_snapshot(settings, D1)
    expected = {name: scan_table(paths, name, D1).collect() for name in [*whole.rows, "rejects"]}
    chunked = transform_snapshot(settings, D1, chunk_records=1)
    assert chunked.rows == whole.rows
    assert chunked.orphans == whole.orphans
    for name, frame in expected.items():
        assert_frame_equal(scan_table(paths, name, D1).collect(), frame)


def test_duplicate_records_across_chunks_are_rejected(tmp_path):
    p = DataPaths(tmp_path)
    write_raw_snapshot(p, "prices", D1, [price("P1", 0.3), price("P2", 0.4), price("P1", 0.5)],
                       api_version="prices")
    report = transform_snapshot(Settings(data_dir=p.root), D1, chunk_records=2)
    assert report.rows["prices"] == 2
    # The later P1 is a duplicate record: its price, element and component all leave their tables.
    assert report.duplicates == {"prices": 1, "price_elements": 1, "price_components": 1}
    assert scan_table(p, "rejects", D1).select("table_name", "record_key", "reason").collect().rows() == [
        ("prices", "P1", "duplicate record: an earlier record has the same price_id (occurrence 2)")]
    components = scan_table(p, "price_components", D1).collect()
    assert components["price_excl_vat"].cast(pl.String).to_list() == ["0.300000", "0.400000"]


def test_a_failed_rewrite_leaves_the_old_table_in_place(paths, monkeypatch):
    settings = Settings(data_dir=paths.root)
    transform_snapshot(settings, D1)
    before = scan_table(paths, "prices", D1).collect()

    def broken_sink(self, file, **kwargs):
        Path(file).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", broken_sink)
    write_raw_snapshot(paths, "prices", D1, [price("P7", 0.9)], api_version="prices")
    with pytest.raises(StorageError, match=r"cannot write the table price\w* of 2026-01-01 in .*: No space left on "
                                           r"device; the previous version of that table is unchanged; free some space"):
        transform_snapshot(settings, D1, ["prices"])
    monkeypatch.undo()
    assert_frame_equal(scan_table(paths, "prices", D1).collect(), before)
    for name in ("prices", "price_elements", "price_components"):
        assert not (paths.table_staging(name, D1) / "part-00000.parquet").exists()


@pytest.mark.parametrize("chunk_records", [1, 1000])
def test_a_price_id_repeated_in_a_record_is_a_duplicate_row_and_a_repeated_connector_a_duplicate_record(tmp_path, chunk_records):
    p = DataPaths(tmp_path)
    write_raw_snapshot(p, "connector_prices", D1, [
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "1", "pricing_ids": ["P1", "P2", "P1"]},
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "2", "pricing_ids": ["P1"]},
        {"location_id": "L1", "evse_uid": "E1", "connector_id": "2", "pricing_ids": ["P3", "P1"]},
    ], api_version="prices")
    report = transform_snapshot(Settings(data_dir=p.root), D1, chunk_records=chunk_records)
    table = scan_table(p, "connector_prices", D1).collect()
    rejects = scan_table(p, "rejects", D1).collect()
    # Whatever the chunks: the later record with the same connector is a duplicate record (all of
    # it leaves), and a price id repeated inside one record is a duplicate row. Rejects in crawl order.
    assert table.select("connector_id", "price_id").rows() == [("1", "P1"), ("1", "P2"), ("2", "P1")]
    assert rejects.select("record_key", "reason").rows() == [
        ("L1|E1|1|P1", "duplicate key in connector_prices (occurrence 2)"),
        ("L1|E1|2", "duplicate record: an earlier record has the same location_id, evse_uid, connector_id "
                    "(occurrence 2)")]
    assert report.duplicates == {"connector_prices": 3}
    assert report.rows["connector_prices"] == table.height


def _price_rows(start: int, n: int) -> pl.DataFrame:
    frame = pl.DataFrame({"price_id": [f"P{i:05d}" for i in range(start, start + n)]})
    return frame.with_columns([pl.lit(None, dtype=c.dtype).alias(c.name) for c in PRICES.columns
                               if c.name != "price_id"]).select(PRICES.column_names)


def test_a_table_given_as_frames_is_written_in_their_order_into_one_file(tmp_path):
    p = DataPaths(tmp_path)
    frames = [_price_rows(i * 1000, 1000) for i in range(7)]
    assert write_table(p, PRICES, D1, iter(frames)) == 7000
    assert len(store.change_files(p, PRICES)) == 1
    assert len(list(p.history_dir("prices").glob("*.parquet"))) == 2  # the change file and the state cache
    assert_frame_equal(scan_table(p, "prices", D1).drop("snapshot_date").collect(), pl.concat(frames))


def test_a_failing_frame_producer_leaves_the_previous_table(tmp_path):
    p = DataPaths(tmp_path)
    write_table(p, PRICES, D1, _price_rows(0, 3))

    def frames():
        yield _price_rows(10, 5)
        yield pl.DataFrame({"price_id": ["x"]})  # not the declared schema

    with pytest.raises(RuntimeError, match="do not match the declared schema"):
        write_table(p, PRICES, D1, frames())
    assert scan_table(p, "prices", D1).collect()["price_id"].to_list() == ["P00000", "P00001", "P00002"]
    assert not p.table_staging("prices", D1).exists() or not any(p.table_staging("prices", D1).iterdir())


def test_the_orphans_view_lists_exactly_the_orphans_the_transform_counts(paths):
    report = transform_snapshot(Settings(data_dir=paths.root))
    assert report.orphans["connector_prices->connectors"] == report.orphans["connector_prices->prices"] == 1
    with memory_connection(paths) as con:
        listed = con.execute("SELECT * FROM connector_price_orphans ORDER BY ALL").fetchall()
        for ref in CONNECTOR_PRICES.references:
            flagged = con.execute(f"SELECT count(*) FROM connector_price_orphans WHERE {missing_flag(ref)}").fetchone()
            assert (ref.name("connector_prices"), flagged) == (ref.name("connector_prices"),
                                                              (report.orphans[ref.name("connector_prices")],))
    assert listed == [("L1", "E1", "7", "P1", True, False, D1), ("L2", "E1", "1", "P3", False, True, D1)]

import datetime as dt
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.tables.schemas import CONNECTOR_PRICES

DAYS = [dt.date(2026, 3, 1) + dt.timedelta(days=d) for d in range(4)]


def day_table(day: int) -> pl.LazyFrame:
    """Connector x price rows: day 1 changes a product, day 2 drops a row, day 3 adds one and a null key."""
    rows = [("L1", "E1", "1", "P1", 0, "A"), ("L1", "E1", "1", "P2", 1, "B"), ("L2", "E1", "1", "P1", 0, None)]
    if day >= 1:
        rows[1] = ("L1", "E1", "1", "P2", 1, "B2")
    if day >= 2:
        rows.pop(0)
    if day >= 3:
        rows += [("L3", "E1", "2", "P9", 0, "C"), ("L4", None, "1", "P1", 0, "D")]
    return pl.DataFrame(rows, schema=CONNECTOR_PRICES.polars_schema, orient="row").lazy()


def build(root, *, drop_cache: bool) -> DataPaths:
    paths = DataPaths(root)
    for day, date in enumerate(DAYS):
        store.put_day(paths, CONNECTOR_PRICES, date, day_table(day))
        if drop_cache:  # as if every day were diffed against the change log (no cache)
            manifest = paths.history_manifest("connector_prices")
            body = json.loads(manifest.read_text())
            del body["state"]
            manifest.write_text(json.dumps(body))
    return paths


def changes(paths: DataPaths) -> pl.DataFrame:
    files = [f for _, f in store.change_files(paths, CONNECTOR_PRICES)]
    return pl.read_parquet(files).sort(pl.all(), nulls_last=True)


def test_the_state_cache_gives_the_same_changes_as_the_log(tmp_path):
    cached, uncached = build(tmp_path / "a", drop_cache=False), build(tmp_path / "b", drop_cache=True)
    assert_frame_equal(changes(cached), changes(uncached))
    entries = store.load(cached, CONNECTOR_PRICES).days
    assert [(d.upserts, d.deletes) for d in entries] == [(3, 0), (1, 0), (0, 1), (2, 0)]
    for day, date in enumerate(DAYS):
        for from_log in (False, True):
            got = store.read_day(cached, CONNECTOR_PRICES, date, from_log=from_log).collect()
            assert_frame_equal(got.sort(pl.all(), nulls_last=True),
                               day_table(day).collect().sort(pl.all(), nulls_last=True))


def test_the_newest_day_is_read_from_the_cache_and_no_other(tmp_path, monkeypatch):
    """A daily build reads its newest day back (reference checks, session costs): one file, not
    the whole change log, whose size grows with the kept days."""
    paths = build(tmp_path, drop_cache=False)

    def no_log(*_args, **_kwargs):
        raise AssertionError("read from the change log")

    monkeypatch.setattr(store, "state", no_log)
    got = store.read_day(paths, CONNECTOR_PRICES, DAYS[-1]).collect()
    assert_frame_equal(got, day_table(3).collect())  # the day's table as built, rows in build order
    with pytest.raises(AssertionError, match="change log"):
        store.read_day(paths, CONNECTOR_PRICES, DAYS[-2])
    with pytest.raises(AssertionError, match="change log"):
        store.read_day(paths, CONNECTOR_PRICES, DAYS[-1], from_log=True)


def test_the_cache_follows_the_newest_day_and_only_it_is_kept(tmp_path):
    paths = build(tmp_path, drop_cache=False)
    history = store.load(paths, CONNECTOR_PRICES)
    assert history.state is not None
    assert history.state.date == DAYS[-1]
    states = list(paths.history_dir("connector_prices").glob("_state-*.parquet"))
    assert [f.name for f in states] == [history.state.file]
    store.put_day(paths, CONNECTOR_PRICES, DAYS[1], day_table(1))  # a middle day: the newest keeps its cache
    assert store.load(paths, CONNECTOR_PRICES).state == history.state
    assert store.delete_day(paths, CONNECTOR_PRICES, DAYS[-1])  # the newest goes: so does its cache
    assert store.load(paths, CONNECTOR_PRICES).state is None
    assert not list(paths.history_dir("connector_prices").glob("_state-*.parquet"))


@pytest.mark.parametrize("day", [1, 3])
def test_a_day_after_a_cache_of_another_day_reads_the_log(tmp_path, day):
    paths = build(tmp_path, drop_cache=False)
    store.delete_day(paths, CONNECTOR_PRICES, DAYS[-1])
    later = DAYS[-1] + dt.timedelta(days=day)
    entry = store.put_day(paths, CONNECTOR_PRICES, later, day_table(3))
    assert (entry.upserts, entry.deletes) == (2, 0)
    got = store.read_day(paths, CONNECTOR_PRICES, later).collect().sort(pl.all(), nulls_last=True)
    assert_frame_equal(got, day_table(3).collect().sort(pl.all(), nulls_last=True))


def test_a_cache_written_for_other_columns_is_not_used(tmp_path):
    paths = build(tmp_path, drop_cache=False)
    manifest = paths.history_manifest("connector_prices")
    body = json.loads(manifest.read_text())
    body["state"]["columns"] = "location_id:String"  # as if the schema had gained columns since
    manifest.write_text(json.dumps(body))
    history = store.load(paths, CONNECTOR_PRICES)
    assert history.state is not None
    # reading this cache would fail (its file is gone): the diff must come from the log instead
    (paths.history_dir("connector_prices") / history.state.file).unlink()
    store.put_day(paths, CONNECTOR_PRICES, DAYS[-1] + dt.timedelta(days=1), day_table(3))
    entry = store.load(paths, CONNECTOR_PRICES).days[-1]
    assert (entry.upserts, entry.deletes) == (0, 0)


def test_a_fingerprint_cache_of_the_earlier_form_is_not_used(tmp_path):
    paths = build(tmp_path, drop_cache=False)
    manifest = paths.history_manifest("connector_prices")
    body = json.loads(manifest.read_text())
    body["state"]["polars"] = "2.1.0"  # how the earlier form (row fingerprints) was marked
    manifest.write_text(json.dumps(body))
    assert store.load(paths, CONNECTOR_PRICES).state is None
    entry = store.put_day(paths, CONNECTOR_PRICES, DAYS[-1] + dt.timedelta(days=1), day_table(3))
    assert (entry.upserts, entry.deletes) == (0, 0)

"""session_costs: the chunked join-back evaluator, and the build storing the distinct costs (the view
joins them back)."""

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pricing_frames import simulator_tables

from ecodata.errors import PricingError
from ecodata.fx import load_rates
from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.pipeline import write_session_costs
from ecodata.pricing import session_cost_tables, session_costs, session_costs_chunks, session_costs_frame
from ecodata.pricing.hours import price_hour_costs
from ecodata.settings import Settings
from ecodata.sql import memory_connection
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import (
    ALL_TABLES,
    PRICE_HOUR_COSTS,
    SESSION_COSTS,
    SESSION_PRICE_COSTS,
    SESSION_PROFILES,
)
from ecodata.tables.write import write_table

DAY = dt.date(2026, 11, 21)
KEY = list(SESSION_COSTS.key)
INPUTS = ("prices", "price_elements", "price_components", "connectors", "connector_prices", "locations")


@pytest.fixture(scope="module")
def demo():
    tables, _records = simulator_tables("demo", 0)
    return tables, session_costs(tables, day=DAY, rates=load_rates())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, demo):
    """A data directory holding the demo snapshot's input tables."""
    tables, _ = demo
    paths = DataPaths(tmp_path_factory.mktemp("data"))
    for name in INPUTS:
        write_table(paths, ALL_TABLES[name], DAY, tables[name])
    return paths


def test_chunks_are_exactly_the_whole_table(demo):
    tables, whole = demo
    chunk = 3000
    frames = list(session_costs_chunks(tables, day=DAY, rates=load_rates(), chunk_rows=chunk))
    slices = -(-tables["connector_prices"].height // chunk)
    assert len(frames) > slices  # several sessions per slice
    for frame in frames:
        assert frame.schema == SESSION_COSTS.polars_schema
        assert 0 < frame.height <= chunk
        assert frame["session"].n_unique() == 1
    assert_frame_equal(pl.concat(frames).sort(KEY), whole.sort(KEY))
    # the in-memory result keeps its order: session by session, connector_prices in file order
    assert whole["session"].rle().len() == whole["session"].n_unique()


def test_chunk_rows_must_be_positive(demo):
    tables, _ = demo
    with pytest.raises(PricingError, match="chunk_rows must be at least 1"):
        next(session_costs_chunks(tables, day=DAY, chunk_rows=0))


def test_no_pairs_give_one_empty_frame(demo):
    tables, _ = demo
    frames = list(session_costs_chunks({**tables, "connector_prices": tables["connector_prices"].clear()}, day=DAY))
    assert [f.height for f in frames] == [0]
    assert frames[0].schema == SESSION_COSTS.polars_schema


def test_session_costs_step_stores_the_distinct_costs_and_the_view_gives_every_row(data_dir, demo):
    tables, whole = demo
    price_costs, profiles = session_cost_tables(tables, day=DAY, rates=load_rates())
    hours = price_hour_costs(tables, day=DAY, rates=load_rates(), price_costs=price_costs)
    timed = hours.filter(pl.col("hour").is_not_null()).height
    lines = write_session_costs(Settings(data_dir=data_dir.root), DAY)
    assert lines == [f"  session_costs: {price_costs.height} distinct (price, session, profile) costs, "
                     f"{profiles.height} connector kinds x sessions (the session_costs view joins them to the connectors)",
                     f"  price_hour_costs: {timed // 168} time-restricted (price, session, profile) x 168 hours of the "
                     f"week, {hours.height - timed} the same at every hour (the price_by_hour views)"]
    assert 0 < timed < hours.height
    # far fewer stored rows than connector x price x session rows
    assert price_costs.height * 10 < whole.height
    assert price_costs.select(SESSION_PRICE_COSTS.key).n_unique() == price_costs.height
    assert profiles.select(SESSION_PROFILES.key).n_unique() == profiles.height
    for schema, frame in ((SESSION_PRICE_COSTS, price_costs), (SESSION_PROFILES, profiles), (PRICE_HOUR_COSTS, hours)):
        assert [(d.date, d.rows) for d in store.load(data_dir, schema).days] == [(DAY, frame.height)]
        assert len(store.change_files(data_dir, schema)) == 1
        assert not data_dir.table_staging(schema.name, DAY).exists()
        assert_frame_equal(scan_table(data_dir, schema.name, DAY).drop("snapshot_date").collect(), frame)
    assert not data_dir.history_dir("session_costs").exists()
    con = memory_connection(data_dir)
    view = con.sql("SELECT * FROM session_costs").pl()
    con.close()
    assert view["snapshot_date"].unique().to_list() == [DAY]
    assert_frame_equal(view.drop("snapshot_date").cast(dict(SESSION_COSTS.polars_schema)).sort(KEY), whole.sort(KEY))


def test_profiles_are_stable_text_ids_of_the_shape(demo):
    tables, _ = demo
    price_costs, profiles = session_cost_tables(tables, day=DAY, rates=load_rates())
    again, again_profiles = session_cost_tables(tables, day=DAY + dt.timedelta(days=1), rates=load_rates())
    # another day (other integer profile ids) names the same profiles the same way
    assert_frame_equal(again_profiles, profiles)
    assert set(again["profile"]) == set(price_costs["profile"])
    # the id spells the shape: capped power, current, zone
    hpc = profiles.filter(pl.col("session") == "HPC_10_80", pl.col("time_zone") == "Europe/Berlin",
                          pl.col("max_power_kw") >= 300).row(0, named=True)
    assert hpc["profile"].endswith("@Europe/Berlin")
    assert hpc["profile"].split("W_")[0].isdigit()
    assert set(profiles["profile"]) == set(price_costs["profile"])


def test_chunks_from_the_written_tables_match_the_in_memory_table(data_dir, demo):
    """From Parquet scans (as in the build), connector_prices is streamed to codes and re-read per
    slice: every row must still meet its own connector and price."""
    _, whole = demo
    frames = list(session_costs_frame(Settings(data_dir=data_dir.root), DAY, chunk_rows=1000))
    assert max(f.height for f in frames) <= 1000
    assert_frame_equal(pl.concat(frames).sort(KEY), whole.sort(KEY))


def _some_chunks(whole, then):
    yield whole.slice(0, 100)
    yield whole.slice(100, 100)
    then()


@pytest.fixture(scope="module")
def price_costs(demo):
    tables, _ = demo
    return session_cost_tables(tables, day=DAY, rates=load_rates())[0]


def test_a_failing_chunk_producer_leaves_the_previous_table_in_place(data_dir, price_costs):
    whole = price_costs
    before = whole.slice(0, 10)
    write_table(data_dir, SESSION_PRICE_COSTS, DAY, before)

    def fail():
        raise PricingError("the evaluator failed half-way")

    with pytest.raises(PricingError, match="half-way"):
        write_table(data_dir, SESSION_PRICE_COSTS, DAY, _some_chunks(whole, fail))
    assert_frame_equal(scan_table(data_dir, "session_price_costs", DAY).drop("snapshot_date").collect(), before)
    assert not (data_dir.table_staging("session_price_costs", DAY) / "part-00000.parquet").exists()

    def bad_chunk():
        yield whole.slice(0, 5).drop("currency")

    with pytest.raises(RuntimeError, match="do not match the declared schema"):
        write_table(data_dir, SESSION_PRICE_COSTS, DAY, bad_chunk())
    assert_frame_equal(scan_table(data_dir, "session_price_costs", DAY).drop("snapshot_date").collect(), before)


def test_a_failed_first_write_of_a_date_leaves_no_partition(data_dir, price_costs):
    whole = price_costs
    new_day = DAY + dt.timedelta(days=30)

    def fail():
        raise PricingError("the evaluator failed half-way")

    with pytest.raises(PricingError, match="half-way"):
        write_table(data_dir, SESSION_PRICE_COSTS, new_day, _some_chunks(whole, fail))
    assert new_day not in data_dir.table_dates("session_price_costs")
    assert list(data_dir.history_dir("session_price_costs").glob(f"{new_day}-*.parquet")) == []


def test_write_table_takes_any_iterable_of_frames(data_dir, price_costs):
    whole = price_costs
    assert write_table(data_dir, SESSION_PRICE_COSTS, DAY, iter(())) == 0
    empty = scan_table(data_dir, "session_price_costs", DAY).drop("snapshot_date").collect()
    assert empty.height == 0
    assert empty.schema == SESSION_PRICE_COSTS.polars_schema
    parts = [whole.slice(0, 7), whole.slice(7, 0), whole.slice(7, 50)]
    assert write_table(data_dir, SESSION_PRICE_COSTS, DAY, parts) == 57
    assert_frame_equal(scan_table(data_dir, "session_price_costs", DAY).drop("snapshot_date").collect(),
                       whole.head(57))

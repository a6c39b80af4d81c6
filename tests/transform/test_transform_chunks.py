"""The production path (``EndpointTransform.chunks``: eager decode per chunk, record keys carried
across chunks) gives exactly the frames of the lazy reference (``EndpointTransform.lazy``)."""

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ecodata.transform import TRANSFORMS
from ecodata.transform._common import with_row_ids
from ecodata.transform._decode import Decoder


def raw(records):
    texts = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return pl.LazyFrame({
        "record": texts, "record_key": [f"k{i}" for i in range(len(texts))],
        "api_version": ["2.1.1"] * len(texts),
        "fetched_at": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * len(texts),
    }, schema_overrides={"record": pl.String, "record_key": pl.String, "api_version": pl.String})


def location(lid, brand, uids=("E",)):
    return {"id": lid, "country": "NLD", "brand_name": brand, "evses": [
        {"uid": uid, "connectors": [{"id": "1", "power_type": "DC", "max_electric_power": 50000}]} for uid in uids]}


def price(pid, restriction, vat="21"):
    return {"id": pid, "partner": "P", "product": {"id": "x", "currency": "EUR"}, "elements": [
        {"price_components": [{"type": "ENERGY", "price_excl_vat": "0.3", "vat": vat, "step_size": 1}],
         "restrictions": restriction}]}


def tariff(tid, restrictions):
    return {"id": tid, "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}], "restrictions": restrictions}]}


def connector_price(lid, cid, pricing_ids):
    return {"location_id": lid, "evse_uid": "E", "connector_id": cid, "pricing_ids": pricing_ids}


CLEAN = {
    "locations": [location("L1", {"name": "B"}), location("L2", "plain brand"), location("L3", None)],
    "connector_prices": [connector_price("L1", "1", ["P1", "P2"]), connector_price("L2", "1", [])],
    "prices": [price("P1", None), price("P2", {"min_price": {"excl_vat": "1", "incl_vat": "1.21"}}),
               price("P3", {"max_kwh": 40})],
    "tariffs": [tariff("T1", None), tariff("T2", [{"max_kwh": None}]), tariff("T3", {"min_kwh": 5})],
}
BAD = {
    "locations": [*CLEAN["locations"], "{truncated", location("L1", "again"), {"id": "L9", "evses": "no list"},
                  "null", "", location("L4", None, ("E", "E"))],
    "connector_prices": [*CLEAN["connector_prices"], "[1]", connector_price("L1", "1", ["P9"]),
                         connector_price("L5", "2", ["P1", "P1"])],
    "prices": [*CLEAN["prices"], price("P1", None), {"id": "P8", "last_updated": "not a date"}, "5",
               price("P4", None, vat="lots")],
    "tariffs": [*CLEAN["tariffs"], tariff("T4", [{"max_kwh": 1}, {"min_kwh": 2}]), tariff("T1", None), "{"],
}
ENDPOINTS = list(TRANSFORMS)


def reference(endpoint, frame):
    frames = TRANSFORMS[endpoint].lazy(frame)
    names = list(frames)
    return dict(zip(names, pl.collect_all([frames[n] for n in names]), strict=True))


def production(endpoint, frame, sizes):
    chunks, start, height = [], 0, frame.select(pl.len()).collect().item()
    for size in sizes:
        chunks.append(frame.slice(start, size))
        start += size
    if start < height or not chunks:
        chunks.append(frame.slice(start, height))
    done = list(TRANSFORMS[endpoint].chunks(chunks))
    assert sum(c.raw_records for c in done) == height
    return {name: pl.concat([c.tables[name] for c in done], how="vertical") for name in done[0].tables}


def assert_same(got, expected):
    assert list(got) == list(expected)
    for name in expected:
        assert_frame_equal(got[name], expected[name], check_dtypes=True)


@pytest.mark.parametrize("case", ["clean", "bad"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_one_chunk_and_chunks_of_one_record_match_the_reference(endpoint, case):
    records = (CLEAN if case == "clean" else BAD)[endpoint]
    expected = reference(endpoint, raw(records))
    assert list(expected) == [*TRANSFORMS[endpoint].tables, "rejects"]
    assert (expected["rejects"].height == 0) == (case == "clean")
    assert_same(production(endpoint, raw(records), []), expected)
    assert_same(production(endpoint, raw(records), [1] * len(records)), expected)


def test_duplicates_are_counted_per_table_without_reading_reasons():
    records = [price("P1", None), price("P2", None), price("P1", None)]
    done = list(TRANSFORMS["prices"].chunks([raw(records).slice(0, 2), raw(records).slice(2, 1)]))
    assert [c.duplicates for c in done] == [
        {"prices": 0, "price_elements": 0, "price_components": 0},
        {"prices": 1, "price_elements": 1, "price_components": 1}]
    locations = list(TRANSFORMS["locations"].chunks([raw([location("L4", None, ("E", "E", "F"))])]))
    assert locations[0].duplicates == {"locations": 0, "evses": 1, "connectors": 1}


# Random snapshots: records drawn from the good and bad ones above, their ids drawn from a small
# pool (so that keys repeat within and across chunks), cut into chunks of random sizes.
IDS = {"locations": "id", "connector_prices": "location_id", "prices": "id", "tariffs": "id"}


def with_id(endpoint, record, n):
    if isinstance(record, dict) and IDS[endpoint] in record:
        return {**record, IDS[endpoint]: f"K{n}"}
    return record


def snapshot(endpoint):
    pool = st.sampled_from(BAD[endpoint])
    record = st.builds(lambda r, n: with_id(endpoint, r, n), pool, st.integers(0, 4))
    return st.tuples(st.lists(record, max_size=14), st.lists(st.integers(1, 5), max_size=6))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_random_records_in_random_chunks_give_the_reference_frames(endpoint):
    @settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(snapshot(endpoint))
    def check(case):
        records, sizes = case
        assert_same(production(endpoint, raw(records), sizes), reference(endpoint, raw(records)))

    check()


# Each endpoint's records of the default shape only.
ONE_SHAPE = {
    "locations": [location("L1", {"name": "B"}), location("L3", None)],
    "connector_prices": CLEAN["connector_prices"],
    "prices": [price("P1", None), price("P3", {"max_kwh": 40})],
    "tariffs": [tariff("T1", None), tariff("T3", {"min_kwh": 5})],
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_decoder_skips_routing_only_while_every_chunk_fits_the_default_shape(endpoint):
    transform = TRANSFORMS[endpoint]
    decoder = Decoder(transform.variants, transform.common)
    seen = []
    for records in (ONE_SHAPE[endpoint], CLEAN[endpoint], BAD[endpoint], ONE_SHAPE[endpoint]):
        frame = with_row_ids(raw(records))
        expected = Decoder(transform.variants, transform.common).lazy(frame).collect()
        assert_frame_equal(decoder.decode(frame), expected)
        seen.append(decoder.one_shape)
    # Each BAD chunk holds a record that fits no shape; after it, chunks are routed as usual.
    assert seen[0] is True
    assert seen[2:] == [False, False]

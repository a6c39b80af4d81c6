"""The build's fast paths (eager parallel decode, finish skipped when nothing is rejected) give
exactly the frames of the lazy reference transform, on clean inputs and on inputs with bad records."""

import datetime as dt
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ecodata.tables.build import _flatten_chunk
from ecodata.transform import STAGES, TRANSFORMS
from ecodata.transform._common import with_row_ids
from ecodata.transform._decode import ChunkDecoder, decode_frame


def raw(records):
    texts = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return pl.LazyFrame({
        "record": texts, "record_key": [f"k{i}" for i in range(len(texts))],
        "api_version": ["2.1.1"] * len(texts),
        "fetched_at": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * len(texts),
    })


def location(lid, brand):
    return {"id": lid, "country": "NLD", "brand_name": brand, "evses": [
        {"uid": f"{lid}-E", "connectors": [{"id": "1", "power_type": "DC", "max_electric_power": 50000}]}]}


def price(pid, restriction):
    return {"id": pid, "partner": "P", "product": {"id": "x", "currency": "EUR"}, "elements": [
        {"price_components": [{"type": "ENERGY", "price_excl_vat": "0.3", "vat": "21", "step_size": 1}],
         "restrictions": restriction}]}


def tariff(tid, restrictions):
    return {"id": tid, "currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}], "restrictions": restrictions}]}


CLEAN = {
    "locations": [location("L1", {"name": "B"}), location("L2", "plain brand"), location("L3", None)],
    "connector_prices": [{"location_id": "L1", "evse_uid": "E", "connector_id": "1", "pricing_ids": ["P1", "P2"]},
                         {"location_id": "L2", "evse_uid": "E", "connector_id": "1", "pricing_ids": []}],
    "prices": [price("P1", None), price("P2", {"min_price": {"excl_vat": "1", "incl_vat": "1.21"}}),
               price("P3", {"max_kwh": 40})],
    "tariffs": [tariff("T1", None), tariff("T2", [{"max_kwh": None}]), tariff("T3", {"min_kwh": 5})],
}
BAD = {
    "locations": [*CLEAN["locations"], "{truncated", location("L1", "again"), {"id": "L9", "evses": "no list"},
                  "null", ""],
    "connector_prices": [*CLEAN["connector_prices"], "[1]",
                         {"location_id": "L1", "evse_uid": "E", "connector_id": "1", "pricing_ids": ["P9"]}],
    "prices": [*CLEAN["prices"], price("P1", None), {"id": "P8", "last_updated": "not a date"}, "5"],
    "tariffs": [*CLEAN["tariffs"], tariff("T4", [{"max_kwh": 1}, {"min_kwh": 2}]), tariff("T1", None), "{"],
}


@pytest.mark.parametrize("case", ["clean", "bad"])
@pytest.mark.parametrize("endpoint", list(STAGES))
def test_build_fast_paths_match_the_lazy_transform(endpoint, case):
    records = (CLEAN if case == "clean" else BAD)[endpoint]
    frames = TRANSFORMS[endpoint](raw(records))
    names = list(frames)
    expected = dict(zip(names, pl.collect_all([frames[n] for n in names]), strict=True))
    stages = STAGES[endpoint]
    got = _flatten_chunk(stages, decode_frame(with_row_ids(raw(records)), stages.variants, stages.common)).tables
    assert list(got) == names
    for name in names:
        assert_frame_equal(got[name], expected[name])
    assert (expected["rejects"].height == 0) == (case == "clean")


# Each endpoint's records of the default shape only, then of every shape.
ONE_SHAPE = {
    "locations": [location("L1", {"name": "B"}), location("L3", None)],
    "connector_prices": CLEAN["connector_prices"],
    "prices": [price("P1", None), price("P3", {"max_kwh": 40})],
    "tariffs": [tariff("T1", None), tariff("T3", {"min_kwh": 5})],
}


@pytest.mark.parametrize("endpoint", list(STAGES))
def test_the_chunk_decoder_skips_routing_only_while_every_chunk_fits_the_default_shape(endpoint):
    stages = STAGES[endpoint]
    decoder = ChunkDecoder(stages.variants, stages.common)
    seen = []
    for records in (ONE_SHAPE[endpoint], CLEAN[endpoint], BAD[endpoint], ONE_SHAPE[endpoint]):
        frame = with_row_ids(raw(records))
        assert_frame_equal(decoder.decode(frame), decode_frame(frame, stages.variants, stages.common))
        seen.append(decoder.one_shape)
    # Each BAD chunk holds a record that fits no shape; after it, chunks are routed as usual.
    assert seen[0] is True
    assert seen[2:] == [False, False]

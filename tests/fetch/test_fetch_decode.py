from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ecodata.fetch._decode import decode_page
from ecodata.snapshot.writer import record_key

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)
records = st.lists(st.dictionaries(st.sampled_from(["id", "location_id", "evse_uid", "v", "\u00e9"]), json_values)
                   | json_values, max_size=6)
KEYS = ("location_id", "evse_uid")


@settings(max_examples=150, deadline=None)
@given(data=records, style=st.sampled_from(["status_code", "status"]))
def test_decode_matches_orjson(data: list[Any], style: str) -> None:
    body = orjson.dumps({"data": data, style: 1000, "status_message": "Success", "extra": {"x": [1, 2]}})
    page = decode_page(body, KEYS)
    assert page is not None
    assert (page.is_object, page.status_code, page.status_message) == (True, 1000, "Success")
    assert page.records is not None
    assert [orjson.loads(r) for r in page.records] == data
    # simdjson may spell some floats differently (1e+15 vs 1000000000000000.0); all else byte-equal
    for raw, record in zip(page.records, data, strict=True):
        if not _has_float(record):
            assert raw == orjson.dumps(record)
    assert page.keys == [record_key(r, KEYS) for r in data]


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def test_decode_edge_cases() -> None:
    assert decode_page(b'{"data": [1, 2', ()) is None
    assert decode_page(b"<html>502</html>", ()) is None
    assert decode_page(b"[1, 2]", ()).is_object is False  # type: ignore[union-attr]
    page = decode_page(b'{"status_code": 1000, "data": {"not": "a list"}}', ())
    assert page is not None
    assert page.records is None
    page = decode_page(b'{"status_code": 3000, "status_message": "oops", "data": null}', ())
    assert page is not None
    assert (page.status_code, page.status_message, page.records) == (3000, "oops", [])
    huge = b'{"status_code": 1000, "data": [{"id": "a", "big": 123456789012345678901234567890}]}'
    page = decode_page(huge, ("id",))  # beyond 64 bits: kept as the nearest double (documented limit)
    assert page is not None
    assert page.records == [b'{"id":"a","big":1.2345678901234568e+29}']
    page = decode_page(b'{"status_code": 1000, "data": [{"id": "a", "v": 18446744073709551615}]}', ("id",))
    assert page is not None
    assert page.records == [b'{"id":"a","v":18446744073709551615}']

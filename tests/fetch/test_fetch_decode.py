from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecodata.fetch._decode import decode_page
from ecodata.snapshot.schema import record_key

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
    assert page.records == [orjson.dumps(r) for r in data]  # a compact body: stored as served
    assert page.keys == [record_key(r, KEYS) for r in data]


@settings(max_examples=150, deadline=None)
@given(data=records)
def test_decode_pretty_pages_keep_every_spelling_but_whitespace(data: list[Any]) -> None:
    data = [{"id": "first", "v": [1]}, *data]  # an indented first record: the minifying path
    body = orjson.dumps({"status_code": 1000, "data": data}, option=orjson.OPT_INDENT_2)
    page = decode_page(body, KEYS)
    assert page is not None
    assert page.records == [orjson.dumps(r) for r in data]
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
    page = decode_page(huge, ("id",))  # beyond 64 bits: kept as written, like every number
    assert page is not None
    assert page.records == [b'{"id":"a","big":123456789012345678901234567890}']
    page = decode_page(b'{"status_code": 1000, "data": [{"id": "a", "v": 18446744073709551615}]}', ("id",))
    assert page is not None
    assert page.records == [b'{"id":"a","v":18446744073709551615}']


def test_decode_compact_pages_keep_records_as_served() -> None:
    """A compact body's records are stored byte for byte (big integers and float spellings too)."""
    records = [b'{"id":"a","big":123456789012345678901234567890,"f":1E+2}', b'{"id":7,"x":[1.50,"\\u00e9 ,: "]}']
    body = b'{"status_code":1000,"status_message":"ok","data":[' + b",".join(records) + b"]}"
    page = decode_page(body, ("id",))
    assert page is not None
    assert page.records == records
    assert all(type(r) is bytes for r in page.records)
    assert page.keys == ["a", "7"]
    assert (page.status_code, page.status_message) == (1000, "ok")


def test_decode_pretty_pages_are_minified() -> None:
    body = b'{\n  "data": [\n    {"id": "a", "v": [1, 2]},\n    {"id": "b"}\n  ],\n  "status": 1000\n}'
    page = decode_page(body, ("id",))
    assert page is not None
    assert page.records == [b'{"id":"a","v":[1,2]}', b'{"id":"b"}']
    assert (page.keys, page.status_code) == (["a", "b"], 1000)


def test_decode_status_null_is_not_replaced_by_status() -> None:
    page = decode_page(b'{"status_code":null,"status":2001,"message":"m","data":[{"id":"a"}]}', ("id",))
    assert page is not None
    assert (page.status_code, page.status_message, page.keys) == (None, "m", ["a"])


def test_decode_composite_keys_with_non_string_parts() -> None:
    body = b'{"data":[{"location_id":"L","evse_uid":{"b":1},"c":1},{"location_id":null},{"evse_uid":2.5}]}'
    page = decode_page(body, ("location_id", "evse_uid"))
    assert page is not None
    assert page.keys == ['L|{"b":1}', "|", "|2.5"]
    assert page.records == [orjson.dumps(orjson.loads(r)) for r in page.records]


def test_decode_refuses_invalid_utf8_inside_records() -> None:
    """Invalid UTF-8 inside a record's string is not JSON: refused (retried as a bad body), never stored."""
    assert decode_page(b'{"data":[{"id":"a","x":"\xff"}]}', ("id",)) is None
    assert decode_page(b'{"data":[{"id":"a","x":"\xed\xa0\x80"}]}', ("id",)) is None  # a UTF-8 surrogate
    page = decode_page('{"data":[{"id":"\u00e9","x":"\u20ac"}]}'.encode(), ("id",))
    assert page is not None
    assert (page.records, page.keys) == (['{"id":"\u00e9","x":"\u20ac"}'.encode()], ["\u00e9"])


@pytest.mark.parametrize("bad", [b'"a\nb"', b'"a\\qb"', b'"a\x01b"', b'"\\u12"', b"1.", b"-", b"1e", b"tru", b"[1,]",
                                 b'{"a":1,}', b"01", b"NaN"])
def test_decode_refuses_invalid_json_inside_records(bad: bytes) -> None:
    assert decode_page(b'{"data":[{"id":"a","x":' + bad + b"}]}", ("id",)) is None

"""Split a page body into its records' JSON and natural keys, without building Python objects.

A page is an OCPI envelope whose ``data`` holds up to 10,000 records. Decoding it into Python
dicts (``orjson.loads``) only to serialise every record again costs more CPU than the simulator
spends producing the page, so the crawl would be CPU-bound. Two paths:

* fast (compact bodies, the API's normal form): msgspec validates the body (plus a UTF-8 check
  of the strings it skips) and hands back each record as a zero-copy slice of it
  (``msgspec.Raw``), so a record is stored byte for byte as served (big integers and float
  spellings included); a second msgspec pass reads only the key fields. A page whose first or last record holds whitespace outside strings (pretty-printed)
  takes the other path, so stored records are compact. (A page compact at both ends but
  indented in the middle keeps those records as served: still the same JSON value.)
* minifying (anything else): simdjson parses the body into a tape and each record's compact JSON
  (``.mini``) is read from there: the same JSON value as ``orjson.dumps(orjson.loads(record))``,
  byte for byte except that simdjson may spell some floats differently (``1e+15`` for
  ``1000000000000000.0``) and keeps an integer beyond 64 bits as the nearest double (where orjson
  would refuse the page). Bodies simdjson rejects fall back to orjson, so nothing orjson accepts
  is refused.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import simdjson

from ecodata.snapshot.writer import key_part


@dataclass(frozen=True)
class DecodedPage:
    """An envelope's status and its records (compact JSON bytes) with their natural keys.

    ``records`` is None when ``data`` is present but not a list (a broken envelope).
    """

    is_object: bool
    status_code: int | None
    status_message: str
    records: list[bytes] | None  # msgspec.Raw items (bytes-like) when decoded with copy=False
    keys: list[str]


_NOT_OBJECT = DecodedPage(False, None, "", None, [])
_OBJECT = simdjson.Object


def _status(code: Any, message: Any) -> tuple[int | None, str]:
    try:
        number = int(code) if code is not None and not isinstance(code, bool) else None
    except (TypeError, ValueError):
        number = None
    return number, "" if message is None else str(message)


class _RawEnvelope(msgspec.Struct):
    """The envelope with each record left as a slice of the body; UNSET tells absent from null."""

    data: list[msgspec.Raw] | None = None
    status_code: Any = msgspec.UNSET
    status: Any = msgspec.UNSET
    status_message: Any = msgspec.UNSET
    message: Any = msgspec.UNSET


_RAW_DECODER = msgspec.json.Decoder(_RawEnvelope)
_KEY_DECODERS: dict[tuple[str, ...], msgspec.json.Decoder[Any]] = {}


def _key_decoder(key_fields: tuple[str, ...]) -> msgspec.json.Decoder[Any]:
    """A decoder of ``{"data": [{key fields...}, ...]}`` that skips every other field."""
    decoder = _KEY_DECODERS.get(key_fields)
    if decoder is None:
        keys = msgspec.defstruct("Keys", [(name, Any, None) for name in key_fields], gc=False)
        envelope = msgspec.defstruct("KeyEnvelope", [("data", list[keys], [])])  # type: ignore[valid-type]
        decoder = _KEY_DECODERS[key_fields] = msgspec.json.Decoder(envelope)
    return decoder


def _is_utf8(content: bytes) -> bool:
    """True when ``content`` is valid UTF-8 (msgspec does not check the strings it skips).

    Arrow's validator: about 20 GB/s here, without copying the body into a Python str.
    """
    if content.isascii():
        return True
    offsets = array.array("q", [0, len(content)])
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(content)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _is_compact(record: msgspec.Raw) -> bool:
    """True when the record's JSON has no whitespace outside strings."""
    return len(msgspec.json.format(record, indent=-1)) == len(record)


def decode_page(content: bytes, key_fields: tuple[str, ...], *, copy: bool = True) -> DecodedPage | None:
    """Decode one page body; None when it is not valid JSON (cut off, garbled).

    ``copy=False`` lets the fast path return records as ``msgspec.Raw`` slices of ``content``
    (bytes-like, with ``len()``) instead of ``bytes``: one copy less when they are only written.
    """
    if key_fields:
        page = _decode_raw(content, key_fields, copy)
        if page is not None:
            return page
    return _decode_with_simdjson(content, key_fields)


def _decode_raw(content: bytes, key_fields: tuple[str, ...], copy: bool) -> DecodedPage | None:
    """The fast path; None when it does not apply (not a compact, well-formed object envelope)."""
    if not _is_utf8(content):
        return None  # the other path refuses it as not JSON
    try:
        envelope = _RAW_DECODER.decode(content)
        data = envelope.data
        if not data:
            return None  # nothing to gain; the other path also tells absent from null
        if not (_is_compact(data[0]) and _is_compact(data[-1])):
            return None
        items = _key_decoder(key_fields).decode(content).data
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # not JSON, not an object, 'data' not a list of objects, ...: the other path
    code = envelope.status_code if envelope.status_code is not msgspec.UNSET else envelope.status
    message = envelope.status_message if envelope.status_message is not msgspec.UNSET else envelope.message
    code, message = _status(None if code is msgspec.UNSET else code,
                            None if message is msgspec.UNSET else message)
    keys = _join_keys([[getattr(item, name) for item in items] for name in key_fields])
    records: Any = list(map(bytes, data)) if copy else data
    return DecodedPage(True, code, message, records, keys)


def _join_keys(columns: list[list[Any]]) -> list[str]:
    """Natural keys from one list of values per key field (column-wise: fewer Python steps a row)."""
    texts = [col if all(type(v) is str for v in col) else [key_part(v) for v in col] for col in columns]
    if len(texts) == 1:
        return texts[0]
    return list(map("|".join, zip(*texts, strict=True)))


def _decode_with_simdjson(content: bytes, key_fields: tuple[str, ...]) -> DecodedPage | None:
    try:
        doc = simdjson.Parser().parse(content)
    except (ValueError, RuntimeError):
        return _decode_with_orjson(content, key_fields)
    if not isinstance(doc, simdjson.Object):
        return _NOT_OBJECT
    code, message = _status(doc.get("status_code", doc.get("status")),
                            doc.get("status_message", doc.get("message")))
    data = doc.get("data")
    if data is None:
        return DecodedPage(True, code, message, [], [])
    if not isinstance(data, simdjson.Array):
        return DecodedPage(True, code, message, None, [])
    records: list[bytes] = []
    keys: list[str] = []
    append_record: Any = records.append
    append_key = keys.append
    single = key_fields[0] if len(key_fields) == 1 else None
    # The hot loop (up to 10,000 records a page): exact type checks and plain strings first.
    item: Any
    for item in data:
        if type(item) is _OBJECT:
            append_record(item.mini)  # bytes at runtime (pysimdjson's stubs say str)
            if single is not None:
                value = item.get(single)
                append_key(value if type(value) is str else _proxy_key_part(value))
            else:
                values: list[Any] = [item.get(name) for name in key_fields]
                if all(type(v) is str for v in values):
                    append_key("|".join(values))
                else:
                    append_key("|".join(_proxy_key_part(v) for v in values))
        else:
            append_record(_mini(item) if isinstance(item, simdjson.Array) else orjson.dumps(item))
            append_key("")
    if records and not isinstance(records[0], bytes):  # pysimdjson builds that return str
        records = [r if isinstance(r, bytes) else str(r).encode() for r in records]
    return DecodedPage(True, code, message, records, keys)


def _proxy_key_part(value: Any) -> str:
    if isinstance(value, simdjson.Object):
        return key_part(value.as_dict())  # a composite key field: rare, spelled as record_key does
    if isinstance(value, simdjson.Array):
        return key_part(value.as_list())
    return key_part(value)


def _mini(value: simdjson.Object | simdjson.Array) -> bytes:
    """Compact JSON of a proxy (pysimdjson returns bytes; its type stubs say str)."""
    mini: Any = value.mini
    return mini if isinstance(mini, bytes) else str(mini).encode()


def _decode_with_orjson(content: bytes, key_fields: tuple[str, ...]) -> DecodedPage | None:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return _NOT_OBJECT
    code, message = _status(body.get("status_code", body.get("status")),
                            body.get("status_message", body.get("message")))
    data = body.get("data")
    if data is None:
        return DecodedPage(True, code, message, [], [])
    if not isinstance(data, list):
        return DecodedPage(True, code, message, None, [])
    keys = ["|".join(key_part(r.get(n)) for n in key_fields) if isinstance(r, dict) else "" for r in data]
    return DecodedPage(True, code, message, [orjson.dumps(r) for r in data], keys)

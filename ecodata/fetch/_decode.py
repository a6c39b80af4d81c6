"""Split a page body into its records' JSON and natural keys, without building Python objects.

A page is an OCPI envelope whose ``data`` holds up to 10,000 records. Decoding it into Python
dicts (``orjson.loads``) only to serialise every record again costs more CPU than the simulator
spends producing the page, so the crawl would be CPU-bound. Two paths:

* fast (compact bodies, the API's normal form): msgspec validates the body (plus a UTF-8 check
  of the strings it skips) and hands back each record as a zero-copy slice of it
  (``msgspec.Raw``), so a record is stored byte for byte as served (big integers and float
  spellings included); a second msgspec pass reads only the key fields. A page whose first or
  last record holds whitespace outside strings (pretty-printed) takes the other path, so stored
  records are compact. (A page compact at both ends but
  indented in the middle keeps those records as served: still the same JSON value.)
* minifying (anything else): msgspec reformats the ``data`` array without whitespace
  (``msgspec.json.format``, once for the whole array) and splits it into records: whitespace is
  the only change, every number and string keeps its spelling (big integers included). Measured
  on pretty-printed 1000-record pages of the demo dataset: 272-280 MB/s (pysimdjson, used before:
  315-426 MB/s, but it respelled some floats and rounded big integers). The envelope's other shapes (``data`` null or
  absent, not a list, a body that is not an object) are told apart here.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import msgspec

from ecodata.snapshot.schema import key_part


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


class _LooseEnvelope(msgspec.Struct):
    """Any object envelope: ``data`` as one slice whatever it holds (empty when absent)."""

    data: msgspec.Raw = msgspec.Raw()
    status_code: Any = msgspec.UNSET
    status: Any = msgspec.UNSET
    status_message: Any = msgspec.UNSET
    message: Any = msgspec.UNSET


_RAW_DECODER = msgspec.json.Decoder(_RawEnvelope)
_LOOSE_DECODER = msgspec.json.Decoder(_LooseEnvelope)
_ITEMS_DECODER = msgspec.json.Decoder(list[msgspec.Raw])
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
    import pyarrow as pa  # here: only non-ASCII bodies need it, and the first request need not wait for it

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
    return _decode_minifying(content, key_fields)


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
    code, message = _envelope_status(envelope)
    keys = _join_keys([[getattr(item, name) for item in items] for name in key_fields])
    records: Any = list(map(bytes, data)) if copy else data
    return DecodedPage(True, code, message, records, keys)


def _join_keys(columns: list[list[Any]]) -> list[str]:
    """Natural keys from one list of values per key field (column-wise: fewer Python steps a row)."""
    texts = [col if all(type(v) is str for v in col) else [key_part(v) for v in col] for col in columns]
    if len(texts) == 1:
        return texts[0]
    return list(map("|".join, zip(*texts, strict=True)))


def _envelope_status(envelope: _RawEnvelope | _LooseEnvelope) -> tuple[int | None, str]:
    """``status_code`` (else ``status``) and ``status_message`` (else ``message``); null stays null."""
    code = envelope.status_code if envelope.status_code is not msgspec.UNSET else envelope.status
    message = envelope.status_message if envelope.status_message is not msgspec.UNSET else envelope.message
    return _status(None if code is msgspec.UNSET else code, None if message is msgspec.UNSET else message)


def _decode_minifying(content: bytes, key_fields: tuple[str, ...]) -> DecodedPage | None:
    """The general path: any JSON body; records reformatted without whitespace."""
    if not _is_utf8(content):
        return None
    try:
        envelope = _LOOSE_DECODER.decode(content)
    except msgspec.ValidationError:
        return _NOT_OBJECT if _is_json(content) else None
    except msgspec.DecodeError:
        return None
    code, message = _envelope_status(envelope)
    data = bytes(envelope.data)
    if data in (b"", b"null"):
        return DecodedPage(True, code, message, [], [])
    try:  # reformatted once as a whole, then split: much faster than record by record
        items = _ITEMS_DECODER.decode(msgspec.json.format(data, indent=-1))
    except msgspec.ValidationError:
        return DecodedPage(True, code, message, None, [])
    records = list(map(bytes, items))
    if not key_fields:
        return DecodedPage(True, code, message, records, [""] * len(records))
    decoder = _key_decoder(key_fields)
    try:  # every record an object (the normal case): all keys in one pass over the body
        objects = decoder.decode(content).data
        keys = _join_keys([[getattr(item, name) for item in objects] for name in key_fields])
    except msgspec.ValidationError:
        keys = [_record_key(record, decoder) for record in records]
    return DecodedPage(True, code, message, records, keys)


def _record_key(record: bytes, decoder: msgspec.json.Decoder[Any]) -> str:
    """A record's natural key ("" when it is not an object).

    Read through the page's key decoder, so that only the key fields are converted (decoding the
    whole record would fail on a value msgspec cannot hold, e.g. a float beyond 1e308).
    """
    if not record.startswith(b"{"):
        return ""
    (item,) = decoder.decode(b'{"data":[' + record + b"]}").data
    return _join_keys([[getattr(item, name)] for name in item.__struct_fields__])[0]


def _is_json(content: bytes) -> bool:
    try:
        msgspec.json.decode(content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return True

"""Split a page body into its records' JSON and natural keys, without building Python objects.

A page is an OCPI envelope whose ``data`` holds up to 10,000 records. Decoding it into Python
dicts (``orjson.loads``) only to serialise every record again costs more CPU than the simulator
spends producing the page, so the crawl would be CPU-bound. simdjson parses the body into a
compact tape instead; each record's compact JSON (``.mini``) and its key fields are read from
there. The result is the same JSON value as ``orjson.dumps(orjson.loads(record))``, byte for byte
except that simdjson may spell some floats differently (``1e+15`` for ``1000000000000000.0``) and
keeps an integer beyond 64 bits as the nearest double (where orjson would refuse the page). Bodies
simdjson rejects fall back to orjson, so nothing orjson accepts is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
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
    records: list[bytes] | None
    keys: list[str]


_NOT_OBJECT = DecodedPage(False, None, "", None, [])
_OBJECT = simdjson.Object


def _status(code: Any, message: Any) -> tuple[int | None, str]:
    try:
        number = int(code) if code is not None and not isinstance(code, bool) else None
    except (TypeError, ValueError):
        number = None
    return number, "" if message is None else str(message)


def decode_page(content: bytes, key_fields: tuple[str, ...]) -> DecodedPage | None:
    """Decode one page body; None when it is not valid JSON (cut off, garbled)."""
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

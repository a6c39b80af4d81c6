"""The raw snapshot row, declared once: one row per API record, lossless.

Writers (``snapshot/writer``) produce exactly these columns; readers (``snapshot/reader``,
``transform``) rely on them. ``record`` is the record's JSON with every field the server sent,
unknown ones included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pyarrow as pa


def _raw_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("record", pa.large_string(), nullable=False),       # the record's complete JSON
            pa.field("record_key", pa.string(), nullable=False),         # natural key, see ENDPOINT_KEYS
            pa.field("page", pa.int32(), nullable=False),                # page number in crawl order (0-based)
            pa.field("page_index", pa.int32(), nullable=False),          # index of the record within its page
            pa.field("request_url", pa.string(), nullable=False),        # the request URL (never the token)
            pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("api_version", pa.string(), nullable=False),        # "2.1.1", "2.2" or "prices"
        ]
    )


def __getattr__(name: str) -> pa.Schema:
    """``RAW_SCHEMA``, built on first use (PEP 562): the endpoint tables below do not load pyarrow."""
    if name == "RAW_SCHEMA":
        schema = globals()["RAW_SCHEMA"] = _raw_schema()
        return schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Natural key fields per endpoint; the record_key column joins them with "|".
ENDPOINT_KEYS: dict[str, tuple[str, ...]] = {
    "locations": ("id",),
    "connector_prices": ("location_id", "evse_uid", "connector_id"),
    "prices": ("id",),
    "tariffs": ("id",),
}


def key_part(value: Any) -> str:
    """One key field as text: strings as is, null/missing as "", anything else as its JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def record_key(record: Any, fields: tuple[str, ...]) -> str:
    """The natural key of a decoded record: its key fields as text joined by ``|``."""
    if not isinstance(record, dict):
        return ""
    return "|".join(key_part(record.get(name)) for name in fields)


ENDPOINTS: tuple[str, ...] = tuple(ENDPOINT_KEYS)

"""The raw snapshot row, declared once: one row per API record, lossless.

Writers (``snapshot/writer``) produce exactly these columns; readers (``snapshot/reader``,
``transform``) rely on them. ``record`` is the record's JSON with every field the server sent,
unknown ones included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecodata.endpoints import ENDPOINT_KEYS, ENDPOINTS, key_part, record_key

__all__ = ["ENDPOINTS", "ENDPOINT_KEYS", "key_part", "record_key"]  # and RAW_SCHEMA, built on first use

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

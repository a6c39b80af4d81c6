"""The four API endpoints ecodata downloads and the natural key of each record, declared once.

A basic module (it imports only orjson), so the command line can offer the endpoint names
without loading pyarrow; :mod:`ecodata.snapshot.schema` re-exports the declaration and the key
derivation for the raw writer, the fetcher and the transforms.
"""

from __future__ import annotations

from typing import Any

import orjson

# Natural key fields per endpoint; a raw row's record_key column joins them with "|".
ENDPOINT_KEYS: dict[str, tuple[str, ...]] = {
    "locations": ("id",),
    "connector_prices": ("location_id", "evse_uid", "connector_id"),
    "prices": ("id",),
    "tariffs": ("id",),
}

ENDPOINTS: tuple[str, ...] = tuple(ENDPOINT_KEYS)


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

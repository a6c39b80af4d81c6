"""Decode a page body and store it, in one call that runs in a worker thread.

One hop to a worker thread per page (not one to decode and another to write) keeps the event
loop free to receive the next pages meanwhile. The page is written only when the envelope says
success; the outcome tells the client whether to accept, retry or fail. The function is a plain
function of picklable arguments, so it could run in a worker process too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ecodata.fetch._decode import decode_page
from ecodata.snapshot.writer import PageCheckpoint, record_hash, write_page_files


@dataclass(frozen=True)
class StoreOutcome:
    """The envelope's verdict and, when it was a success, the stored page's checkpoint.

    ``valid`` is false when ``data`` is present but not a list. ``checkpoint`` is None when the
    page was not written (an error envelope, or a decode-only call).
    """

    is_object: bool
    status_code: int | None
    status_message: str
    valid: bool
    record_count: int  # records stored (the served ones less a dropped overlap record)
    checkpoint: PageCheckpoint | None
    served_count: int = 0  # records the page held as served


@dataclass(frozen=True)
class PageTarget:
    """Where and how to store a page: staging pages directory, natural key fields, API version."""

    pages_dir: str | None  # None: decode and check only
    key_fields: tuple[str, ...]
    api_version: str


def is_success(status_code: int | None) -> bool:
    """An OCPI status that means success (1xxx), or no status at all."""
    return status_code is None or status_code < 2000


def decode_and_store(content: bytes, target: PageTarget, *, number: int, params: dict[str, str], url: str,
                     fetched_at: dt.datetime, total_count: int | None, link_next: str | None,
                     last_record: str | None, retries: int, drop_lead: bool = False,
                     full_size: int | None = None) -> StoreOutcome | None:
    """Decode ``content``; if it is a successful envelope, write the page. None: not valid JSON.

    ``drop_lead``: the first record is the overlap with the previous offset page; it is not
    stored, its key goes into the checkpoint (``lead_key``). ``full_size``: the records a full
    page holds (the checkpoint records whether the page was full, i.e. not the end of the data).
    """
    page = decode_page(content, target.key_fields, copy=False)
    if page is None:
        return None
    valid = page.records is not None
    records, keys = page.records or [], page.keys
    served = len(records)
    lead_key = lead_hash = None
    if drop_lead and records:
        lead_key, lead_hash = keys[0], record_hash(records[0])
        records, keys = records[1:], keys[1:]
    checkpoint = None
    if page.is_object and valid and is_success(page.status_code) and target.pages_dir is not None:
        checkpoint = write_page_files(
            Path(target.pages_dir), api_version=target.api_version, number=number, params=params, url=url,
            fetched_at=fetched_at, records=records, keys=keys, body_bytes=len(content),
            total_count=total_count, link_next=link_next, last_record=last_record, retries=retries,
            lead_key=lead_key, lead_hash=lead_hash, full=None if full_size is None else served >= full_size,
        )
    return StoreOutcome(page.is_object, page.status_code, page.status_message, valid, len(records), checkpoint,
                        served)

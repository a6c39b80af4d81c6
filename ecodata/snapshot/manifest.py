"""The ``_manifest.json`` of a raw snapshot partition: what a complete run downloaded and wrote.

A partition is complete (visible to readers) exactly when its manifest exists. The manifest is
the last file written into a finished partition; see ``snapshot.writer``. A compacted day
(``snapshot.compact``) keeps its manifest with ``layout`` ``"compact"``: every count stays what the
fetch recorded, ``files`` then lists the day's index (the record versions live in the endpoint's
record store, ``snapshot.store``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ecodata.errors import SnapshotDamagedError, SnapshotError
from ecodata.paths import DataPaths

MANIFEST_FORMAT = 1
FULL = "full"        # the partition's parts hold every row (what the fetch commits)
COMPACT = "compact"  # the partition holds an index; the records are in the endpoint's store
LAYOUTS = (FULL, COMPACT)


@dataclass(frozen=True)
class ManifestFile:
    """One Parquet part of a partition: its name, rows, size and SHA-256."""

    name: str
    rows: int
    bytes: int
    sha256: str
    page: int


@dataclass(frozen=True)
class Manifest:
    """Everything a complete raw snapshot run recorded.

    ``records`` counts rows kept (one per natural key); ``records_received`` counts rows served,
    so ``duplicates = records_received - records`` (copies of a key seen on several pages because
    the data moved under an offset crawl; the last copy in crawl order is kept).
    ``totals_announced`` lists the distinct ``X-Total-Count`` values in the order seen: more than
    one value means the data changed during the crawl. ``drift`` is true when anything suggests
    that (total changes, short pages, duplicates); ``warnings`` says what, page by page.
    ``bytes`` is the size of the Parquet parts the fetch wrote, also once the day is compacted
    (``layout`` ``"compact"``, ``files`` the index, ``compacted_at`` when).
    """

    endpoint: str
    snapshot_date: str
    status: str
    run_id: str
    started_at: str
    finished_at: str
    attempts: int
    api_version: str
    base_url: str
    request_path: str
    pagination: str
    page_limit: int
    concurrency: int
    pages: int
    records: int
    records_received: int
    duplicates: int
    bytes: int
    body_bytes: int
    totals_announced: list[int]
    drift: bool
    retries: int
    warnings: list[str] = field(default_factory=list)
    files: list[ManifestFile] = field(default_factory=list)
    format_version: int = MANIFEST_FORMAT
    layout: str = FULL
    compacted_at: str | None = None

    def to_json(self) -> builtins.bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        values = dict(data)
        values["files"] = [ManifestFile(**f) for f in values.get("files", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.snapshot_date)


def write_json_atomic(path: Path, payload: bytes, *, durable: bool = True) -> None:
    """Write ``payload`` to ``path`` via a temporary file and a rename: never half a file.

    ``durable`` also fsyncs before the rename (survives a power cut, not only a killed process);
    per-page checkpoints skip it, since an fsync per page would slow the crawl down.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half file behind
        raise


def parse_manifest(data: bytes) -> Manifest:
    """A manifest from its JSON, or a ValueError saying what is wrong with it.

    The fields readers rely on (records and the files with their rows, sizes and checksums) are
    checked for their types, so a hand-edited or garbled manifest cannot pass as a promise.
    """
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"a JSON {type(raw).__name__}, not an object")
    files = raw.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise ValueError("'files' is not a list of objects")
    for f in files:
        for name, kind in (("name", str), ("rows", int), ("bytes", int), ("sha256", str)):
            if not isinstance(f.get(name), kind) or isinstance(f.get(name), bool):
                raise ValueError(f"a file entry has no valid {name!r}")
    if not isinstance(raw.get("records"), int):
        raise ValueError("no valid 'records'")
    if raw.get("layout", FULL) not in LAYOUTS:
        raise ValueError(f"unknown layout {raw.get('layout')!r}")
    try:
        return Manifest.from_dict(raw)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(str(exc)) from None


def load_manifest(path: Path) -> Manifest:
    """Parse a manifest file, or a SnapshotError naming the file."""
    try:
        return parse_manifest(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"no manifest at {path}: the snapshot is incomplete; run 'ecodata fetch'") from None
    except ValueError as exc:
        raise SnapshotError(f"the manifest {path} is corrupt ({exc}); run 'ecodata fetch --force'") from None


def read_manifest(paths: DataPaths, endpoint: str, date: dt.date) -> Manifest:
    """The manifest of the complete ``endpoint`` snapshot of ``date``.

    A corrupt one is a :class:`SnapshotDamagedError` that says what to run.

    Example::

        m = read_manifest(DataPaths(Path("data")), "prices", dt.date(2026, 11, 21))
        print(m.records, m.duplicates, [f.name for f in m.files])
    """
    path = paths.raw_manifest(endpoint, date)
    try:
        return parse_manifest(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"no manifest at {path}: the snapshot is incomplete; run 'ecodata fetch'") from None
    except ValueError as exc:
        raise SnapshotDamagedError(endpoint, date, f"the {endpoint} snapshot for {date} is damaged "
                                   f"(its {path.name} is corrupt: {exc})") from None

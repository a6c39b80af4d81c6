"""Raw snapshots: the lossless Parquet copy of every API record, written atomically.

``writer`` stages pages with per-page checkpoints and commits a partition with its manifest;
``reader`` scans complete partitions; ``listing`` lists them (``ecodata snapshots``, ``Dataset.snapshots()``).

The names below are loaded on first use (PEP 562): the fetch imports ``snapshot.schema`` and
``snapshot.writer`` only, and must not wait for the reader's polars before its first request.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecodata.snapshot.listing import SnapshotInfo, list_snapshots
    from ecodata.snapshot.manifest import Manifest, read_manifest

__all__ = ["Manifest", "SnapshotInfo", "list_snapshots", "read_manifest"]

_HOMES = {"Manifest": "manifest", "read_manifest": "manifest", "SnapshotInfo": "listing", "list_snapshots": "listing"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value

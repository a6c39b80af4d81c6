"""Raw snapshots: the lossless Parquet copy of every API record, written atomically.

``writer`` stages pages with per-page checkpoints and commits a partition with its manifest;
``reader`` scans complete partitions; ``listing`` lists them (``ecodata snapshots``, ``Dataset.snapshots()``).
"""

from ecodata.snapshot.listing import SnapshotInfo, list_snapshots
from ecodata.snapshot.manifest import Manifest, read_manifest

__all__ = ["Manifest", "SnapshotInfo", "list_snapshots", "read_manifest"]

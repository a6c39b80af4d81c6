"""Raw snapshots: the lossless Parquet copy of every API record, written atomically.

``writer`` stages pages with per-page checkpoints and commits a partition with its manifest;
``reader`` scans complete partitions; ``listing`` lists them for ``ecodata snapshots``.
"""

from ecodata.snapshot.listing import SnapshotInfo, format_snapshots, list_snapshots
from ecodata.snapshot.manifest import Manifest, read_manifest

__all__ = ["Manifest", "SnapshotInfo", "format_snapshots", "list_snapshots", "read_manifest"]

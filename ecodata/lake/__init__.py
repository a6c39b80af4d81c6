"""The lake: a data directory published to object storage (or another directory), and read back.

* :func:`publish` copies the committed raw snapshots, the tables' history and the views script
  to ``s3://bucket/prefix`` (``gs://``, ``az://``, a path), incrementally (``ecodata publish``);
* :func:`lake_connection` is DuckDB over a published lake (what ``ecodata.open(url)`` uses);
* :func:`storage_options` gives polars ``scan_parquet`` the custom S3 endpoint, if any.

Needs the optional object-store libraries (``pip install 'ecodata[s3]'``, ``[gcs]``, ``[azure]``);
without them each entry point says in one line what to install. The reader (DuckDB) is loaded on
first use, so ``ecodata publish`` does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecodata.lake._target import Target, open_target, storage_options
from ecodata.lake.publish import LEDGER, VIEWS_SCRIPT, PublishReport, publish

if TYPE_CHECKING:
    from ecodata.lake.reader import absolute_script, lake_connection

__all__ = ["LEDGER", "VIEWS_SCRIPT", "PublishReport", "Target", "absolute_script", "lake_connection",
           "open_target", "publish", "storage_options"]


def __getattr__(name: str) -> Any:
    """Import the DuckDB reader's names when first asked for."""
    if name in ("absolute_script", "lake_connection"):
        from ecodata.lake import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'ecodata.lake' has no attribute {name!r}")

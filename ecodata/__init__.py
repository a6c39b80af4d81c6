"""ecodata: EV-charging location and price analytics datasets from the Eco-Movement Data API.

The public API is small and explicit; everything else is internal:

* ``ecodata.open(data_dir) -> Dataset``: tables, views, raw snapshots and table partitions of a
  data directory, SQL with parameters, the cross-market comparison (polars frames);
* ``ecodata.build(settings)``: the daily job (fetch + transform + session costs + views);
* ``Settings`` (from ``ECODATA_*`` variables and overrides) and ``EcodataError``, the base of
  every error ecodata raises on purpose (``ecodata.errors`` holds the tree and exit codes).

``open``, ``build`` and ``Dataset`` are loaded on first use (PEP 562), so that ``import ecodata``
(and every ``ecodata`` command that does not read tables) does not pay for polars and DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecodata.errors import EcodataError
from ecodata.settings import Settings

if TYPE_CHECKING:
    from ecodata.dataset import Dataset, build, open

__version__ = "0.1.0"

__all__ = ["Dataset", "EcodataError", "Settings", "__version__", "build", "open"]

_LAZY = {"Dataset": "ecodata.dataset", "build": "ecodata.dataset", "open": "ecodata.dataset"}


def __getattr__(name: str) -> Any:
    """Import ``open``, ``build`` and ``Dataset`` from :mod:`ecodata.dataset` when first asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'ecodata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

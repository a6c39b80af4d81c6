"""ecodata: EV-charging location and price analytics datasets from the Eco-Movement Data API.

The public API is small and explicit; everything else is internal. ``open`` and ``Dataset``
are loaded on first use (PEP 562), so that ``import ecodata`` (and every ``ecodata`` command
that does not read tables) does not pay for importing polars and DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecodata.errors import EcodataError
from ecodata.settings import Settings

if TYPE_CHECKING:
    from ecodata.dataset import Dataset, open

__version__ = "0.1.0"

__all__ = ["Dataset", "EcodataError", "Settings", "__version__", "open"]

_LAZY = {"Dataset": "ecodata.dataset", "open": "ecodata.dataset"}


def __getattr__(name: str) -> Any:
    """Import ``open`` and ``Dataset`` from :mod:`ecodata.dataset` when first asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'ecodata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

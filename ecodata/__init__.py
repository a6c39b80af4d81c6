"""ecodata: EV-charging location and price analytics datasets from the Eco-Movement Data API.

The public API is small and explicit; everything else is internal.
"""

from __future__ import annotations

from ecodata.dataset import Dataset, open
from ecodata.errors import EcodataError
from ecodata.settings import Settings

__version__ = "0.1.0"

__all__ = ["Dataset", "EcodataError", "Settings", "__version__", "open"]

"""Pure polars transforms: one raw endpoint snapshot (LazyFrame) -> flat table frames.

Each ``transform_<endpoint>(raw) -> dict[str, LazyFrame]`` takes rows of
``ecodata.snapshot.schema.RAW_SCHEMA`` and returns one frame per table it feeds, typed as declared
in ``ecodata.tables.schemas``, plus ``rejects``. Nothing here collects or writes: that is
``ecodata.tables.build``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from ecodata.transform.connector_prices import transform_connector_prices
from ecodata.transform.locations import transform_locations
from ecodata.transform.prices import transform_prices
from ecodata.transform.tariffs import transform_tariffs

TRANSFORMS: dict[str, Callable[[pl.LazyFrame], dict[str, pl.LazyFrame]]] = {
    "locations": transform_locations,
    "connector_prices": transform_connector_prices,
    "prices": transform_prices,
    "tariffs": transform_tariffs,
}

__all__ = [
    "TRANSFORMS",
    "transform_connector_prices",
    "transform_locations",
    "transform_prices",
    "transform_tariffs",
]

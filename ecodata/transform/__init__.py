"""Pure polars transforms: one raw endpoint snapshot (LazyFrame) -> flat table frames.

Each ``transform_<endpoint>(raw) -> dict[str, LazyFrame]`` takes rows of
``ecodata.snapshot.schema.RAW_SCHEMA`` and returns one frame per table it feeds, typed as declared
in ``ecodata.tables.schemas``, plus ``rejects``. Nothing here collects or writes: that is
``ecodata.tables.build``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import polars as pl

from ecodata.transform import connector_prices, locations, prices, tariffs
from ecodata.transform._common import Parts
from ecodata.transform._decode import Variant
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


class Stages(NamedTuple):
    """A transform in its two steps: decode (``variants`` into ``common``), then ``flatten``.

    ``ecodata.tables.build`` decodes each chunk eagerly with ``_decode.decode_frame`` (fast when
    every record fits) and flattens the decoded frame; ``TRANSFORMS[e](raw)`` is the same thing lazily.
    """

    variants: list[Variant]
    common: pl.Struct
    flatten: Callable[[pl.LazyFrame], dict[str, pl.LazyFrame]]
    parts: Callable[[pl.LazyFrame], Parts]  # flatten = _common.finish(rows, parts(rows))


STAGES: dict[str, Stages] = {
    "locations": Stages(locations.VARIANTS, locations.LOCATION_JSON, locations.flatten_locations,
                        locations.parts_locations),
    "connector_prices": Stages(connector_prices.VARIANTS, connector_prices.CONNECTOR_PRICE_JSON,
                               connector_prices.flatten_connector_prices, connector_prices.parts_connector_prices),
    "prices": Stages(prices.VARIANTS, prices.PRICE_JSON, prices.flatten_prices, prices.parts_prices),
    "tariffs": Stages(tariffs.VARIANTS, tariffs.TARIFF_JSON, tariffs.flatten_tariffs, tariffs.parts_tariffs),
}

__all__ = [
    "STAGES",
    "TRANSFORMS",
    "Stages",
    "transform_connector_prices",
    "transform_locations",
    "transform_prices",
    "transform_tariffs",
]

"""Pure polars transforms: one raw endpoint snapshot -> flat table frames and ``rejects``.

One :class:`EndpointTransform` per endpoint (``TRANSFORMS``) has two doors to one computation:

* :meth:`EndpointTransform.lazy` (the reference): the raw rows (``ecodata.snapshot.schema.RAW_SCHEMA``)
  as one LazyFrame -> one LazyFrame per table it feeds, typed as declared in ``ecodata.tables.schemas``,
  plus ``rejects``.
* :meth:`EndpointTransform.chunks` (what the pipeline runs): the same snapshot in consecutive raw
  chunks -> each chunk's tables, eagerly, with bounded memory. Each chunk is decoded once (the fast
  way while its records fit), flattened by the same ``parts`` and finished by the same ``finish``,
  which is handed the record keys of the earlier chunks: the chunks' frames concatenated are exactly
  the reference's frames (``tests/transform/test_transform_chunks.py`` checks it on random records and
  chunk sizes).

Nothing here writes: ``ecodata.pipeline`` hands the frames to ``ecodata.tables`` (storage).

Example::

    frames = TRANSFORMS["prices"].lazy(scan_raw(paths, "prices", date))
    frames["price_components"].collect()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from ecodata.transform import connector_prices, locations, prices, tariffs
from ecodata.transform._common import Parts, finish, merge_seen, with_row_ids
from ecodata.transform._decode import Decoder, Variant


class ChunkTables(NamedTuple):
    """One raw chunk transformed: its frames (every table of the endpoint, plus ``rejects``), how
    many rows left each table because of a duplicate key, and the raw records it held."""

    tables: dict[str, pl.DataFrame]
    duplicates: dict[str, int]
    raw_records: int


@dataclass(frozen=True)
class EndpointTransform:
    """An endpoint's transform: how its records decode (``variants`` into ``common``) and how decoded
    rows flatten into its ``tables`` (``parts``; the record key is declared by the ``Parts`` it gives)."""

    endpoint: str
    tables: tuple[str, ...]
    variants: list[Variant]
    common: pl.Struct
    parts: Callable[[pl.LazyFrame], Parts]

    def lazy(self, raw: pl.LazyFrame) -> dict[str, pl.LazyFrame]:
        """The reference: every table of the snapshot ``raw`` (and ``rejects``), lazily."""
        rows = Decoder(self.variants, self.common).lazy(with_row_ids(raw))
        return finish(rows, self.parts(rows)).tables

    def chunks(self, raw_chunks: Iterable[pl.LazyFrame]) -> Iterator[ChunkTables]:
        """The tables of each consecutive chunk of one snapshot, eagerly; see the module docstring."""
        decoder = Decoder(self.variants, self.common)
        seen: pl.DataFrame | None = None
        offset = 0
        for chunk in raw_chunks:
            decoded = decoder.decode(with_row_ids(chunk, offset))
            raw_records = decoded.height
            offset += raw_records
            # The decode keeps one piece per raw file (~1000 records); made contiguous (all but the
            # text, which only rejects need), the flattening downstream runs on a few large pieces
            # (exploding connector_prices' lists: 0.11 s against 0.01 s at bench scale).
            decoded = decoded.drop("record").rechunk().with_columns(decoded.get_column("record"))
            flat = self.parts(decoded.lazy())
            names = list(flat.parts)
            collected = pl.collect_all([flat.parts[n] for n in names])
            parts = Parts(flat.endpoint, {n: p.lazy() for n, p in zip(names, collected, strict=True)},
                          flat.record_key)
            done = finish(decoded.lazy(), parts, None if seen is None else seen.lazy())
            frames = pl.collect_all([*done.tables.values(), *done.duplicates.values(), done.keys])
            tables = dict(zip(done.tables, frames[:len(done.tables)], strict=True))
            counts = {name: int(f.item()) for name, f in zip(done.duplicates, frames[len(done.tables):-1],
                                                             strict=True)}
            seen = merge_seen(seen, frames[-1])
            del decoded, collected, parts
            yield ChunkTables(tables, counts, raw_records)


TRANSFORMS: dict[str, EndpointTransform] = {
    "locations": EndpointTransform("locations", ("locations", "evses", "connectors"), locations.VARIANTS,
                                   locations.LOCATION_JSON, locations.parts_locations),
    "connector_prices": EndpointTransform("connector_prices", ("connector_prices",), connector_prices.VARIANTS,
                                          connector_prices.CONNECTOR_PRICE_JSON,
                                          connector_prices.parts_connector_prices),
    "prices": EndpointTransform("prices", ("prices", "price_elements", "price_components"), prices.VARIANTS,
                                prices.PRICE_JSON, prices.parts_prices),
    "tariffs": EndpointTransform("tariffs", ("tariffs", "tariff_elements", "tariff_components"), tariffs.VARIANTS,
                                 tariffs.TARIFF_JSON, tariffs.parts_tariffs),
}

# The reference transform of each endpoint as a function (``EndpointTransform.lazy``).
transform_locations = TRANSFORMS["locations"].lazy
transform_connector_prices = TRANSFORMS["connector_prices"].lazy
transform_prices = TRANSFORMS["prices"].lazy
transform_tariffs = TRANSFORMS["tariffs"].lazy

__all__ = [
    "TRANSFORMS",
    "ChunkTables",
    "EndpointTransform",
    "transform_connector_prices",
    "transform_locations",
    "transform_prices",
    "transform_tariffs",
]

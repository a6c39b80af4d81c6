"""The endpoint table: one frozen :class:`EndpointSpec` per downloadable endpoint.

Paths follow what working clients of the real API use: the OCPI modules under
``/api/ocpi/cpo/<version>/`` (the public docs print ``/ocpi/cpo/...`` without ``/api``; the
real host and the simulator serve both, and the ``/api`` form is the one seen in production
clients) and the Eco-Movement pricing endpoints at the root (``/prices``,
``/prices/connector_prices``), which are not OCPI modules and have no ``/api`` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ecodata.errors import ConfigError
from ecodata.snapshot.schema import ENDPOINT_KEYS, ENDPOINTS

Pagination = Literal["offset", "cursor"]


@dataclass(frozen=True)
class EndpointSpec:
    """How to download one endpoint.

    ``pagination`` is ``"offset"`` (limit/offset with ``Link`` and ``X-Total-Count``; pages are
    fetched concurrently once the total is known) or ``"cursor"`` (``last_record`` keyset
    pagination following ``X-Last-Record``; strictly sequential, but it loses no record when
    the data changes during the crawl).
    """

    name: str
    path: str
    pagination: Pagination
    max_limit: int
    api_version: str
    key_fields: tuple[str, ...]

    def url(self, base_url: str) -> str:
        """The endpoint's absolute URL under ``base_url`` (no query string)."""
        return base_url.rstrip("/") + self.path


def endpoint_spec(name: str, locations_version: str = "2.1.1", tariffs_version: str = "2.1.1") -> EndpointSpec:
    """The spec of endpoint ``name``; ``locations_version`` picks the OCPI flavour of locations,
    ``tariffs_version`` that of tariffs (2.1.1, or 2.3.0 with ``tax_included`` and price limits).

    Example::

        endpoint_spec("locations", "2.2").path == "/api/ocpi/cpo/2.2/locations"
    """
    if name not in ENDPOINTS:
        raise ConfigError(f"unknown endpoint {name!r}: choose from {', '.join(ENDPOINTS)}")
    if locations_version not in ("2.1.1", "2.2"):
        raise ConfigError(f"locations version must be 2.1.1 or 2.2, got {locations_version!r}")
    if tariffs_version not in ("2.1.1", "2.3.0"):
        raise ConfigError(f"tariffs version must be 2.1.1 or 2.3.0, got {tariffs_version!r}")
    keys = ENDPOINT_KEYS[name]
    if name == "locations":
        return EndpointSpec(name, f"/api/ocpi/cpo/{locations_version}/locations", "offset", 1000,
                            locations_version, keys)
    if name == "tariffs":
        return EndpointSpec(name, f"/api/ocpi/cpo/{tariffs_version}/tariffs", "offset", 1000, tariffs_version, keys)
    if name == "prices":
        return EndpointSpec(name, "/prices", "cursor", 10000, "prices", keys)
    return EndpointSpec(name, "/prices/connector_prices", "cursor", 10000, "prices", keys)

"""The tariff restriction fields, declared once: OCPI ``TariffRestrictions`` plus Eco-Movement's own.

Every user derives its view of a restriction from :data:`RESTRICTION_FIELDS`: the table columns
(``tables.schemas``), the transform's JSON decoding (``transform._common``), the pricing model's
parser (``pricing.model``) and the simulator's full OCPI restriction objects. This module is a pure
declaration (no polars, no I/O), so the isolated simulator may import it too.

A field's ``kind`` says what its value is, and so how each user types it:

* ``time``: local time of day ``HH:MM``; ``date``: local date ``YYYY-MM-DD``;
* ``quantity``: an exact decimal bound (kWh, A or kW); ``seconds``: a whole number of seconds;
* ``weekdays``: a list of ``MONDAY..SUNDAY``; ``reservation``: ``RESERVATION`` or
  ``RESERVATION_EXPIRES``; ``price``: an amount excl. VAT, a number or an OCPI Price object.

``since`` is where the key comes from: the OCPI version that introduced it (``2.1.1``, ``2.2``) or
``eco-movement`` (the ``/prices`` endpoint's extras).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["time", "date", "quantity", "seconds", "weekdays", "reservation", "price"]
Since = Literal["2.1.1", "2.2", "eco-movement"]

KINDS: tuple[Kind, ...] = ("time", "date", "quantity", "seconds", "weekdays", "reservation", "price")


@dataclass(frozen=True)
class RestrictionField:
    """One restriction key: its JSON ``key``, the table ``column`` it becomes, its ``kind`` and origin."""

    key: str
    column: str
    kind: Kind
    since: Since
    doc: str


_F = RestrictionField

RESTRICTION_FIELDS: tuple[RestrictionField, ...] = (
    _F("start_time", "start_time", "time", "2.1.1",
       "local time of day from which the element applies (inclusive)"),
    _F("end_time", "end_time", "time", "2.1.1",
       "local time of day until which it applies (exclusive); before start_time = wraps midnight; 00:00 = end of day"),
    _F("start_date", "start_date", "date", "2.1.1", "local date from which it applies (inclusive)"),
    _F("end_date", "end_date", "date", "2.1.1", "local date until which it applies (exclusive)"),
    _F("min_kwh", "min_kwh", "quantity", "2.1.1", "applies once the session's energy is at least this (kWh)"),
    _F("max_kwh", "max_kwh", "quantity", "2.1.1", "applies while the session's energy is below this (kWh)"),
    _F("min_current", "min_current_a", "quantity", "2.2", "applies while the charging current is at least this (A)"),
    _F("max_current", "max_current_a", "quantity", "2.2", "applies while the charging current is below this (A)"),
    _F("min_power", "min_power_kw", "quantity", "2.1.1", "applies while the charging power is at least this (kW)"),
    _F("max_power", "max_power_kw", "quantity", "2.1.1", "applies while the charging power is below this (kW)"),
    _F("min_duration", "min_duration_s", "seconds", "2.1.1",
       "applies once the session has lasted at least this (seconds)"),
    _F("max_duration", "max_duration_s", "seconds", "2.1.1",
       "applies while the session has lasted less than this (seconds)"),
    _F("day_of_week", "day_of_week", "weekdays", "2.1.1",
       "local weekdays on which it applies (MONDAY..SUNDAY); null = every day"),
    _F("reservation", "reservation", "reservation", "2.2",
       "RESERVATION or RESERVATION_EXPIRES: the element prices a reservation"),
    _F("overstay_duration", "overstay_duration_s", "seconds", "eco-movement",
       "Eco-Movement: applies once the car has stayed this long after charging ended (seconds)"),
    _F("min_price", "restriction_min_price", "price", "eco-movement",
       "Eco-Movement: minimum cost excl. VAT of this element's components in a session"),
    _F("max_price", "restriction_max_price", "price", "eco-movement",
       "Eco-Movement: maximum cost excl. VAT of this element's components in a session"),
    _F("emsp_contract_date", "emsp_contract_date", "date", "eco-movement",
       "Eco-Movement: applies to eMSP contracts concluded on or after this date"),
)

# The keys of an OCPI 2.1.1 TariffRestrictions object, in declaration order (what a CPO's own
# 2.1.1 tariff can carry; the simulator writes its full restriction objects with exactly these).
OCPI_2_1_1_KEYS: tuple[str, ...] = tuple(f.key for f in RESTRICTION_FIELDS if f.since == "2.1.1")

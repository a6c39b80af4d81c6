"""Tariffs and price records parsed into exact, immutable structures.

One model serves both inputs the engine accepts:

* an OCPI 2.1.1 / 2.2.1 ``Tariff`` (``price`` per component, optional ``vat``, tariff-level
  ``min_price``/``max_price``, ``start_date_time``/``end_date_time``);
* an OCPI 2.3.0 ``Tariff``: the same, plus ``tax_included`` (``YES``: component prices include
  their ``vat``; ``NO``: they exclude it, as in 2.2.1; ``N/A``: no taxes apply) and
  ``min_price``/``max_price`` as a ``PriceLimit`` (``before_taxes``, optional ``after_taxes``);
* an Eco-Movement price record from the ``/prices`` endpoint (``price_excl_vat`` and ``vat`` per
  component, a ``product`` with the subscription, and Eco-Movement's own restriction keys
  ``overstay_duration``, ``min_price``, ``max_price`` and ``emsp_contract_date``).

Numbers are parsed into :class:`~decimal.Decimal` from ints, decimal strings, ``Decimal`` (use
``json.loads(text, parse_float=Decimal)``) or, as a last resort, floats through their shortest
``repr``. Anything malformed raises :class:`~ecodata.errors.PricingError` naming the field.

``restrictions`` may be an object, ``null``, or a list of objects (a quirk of the tariffs
endpoint). Objects whose values are all null mean "no restriction"; a list with one remaining
object is that object. A list with several non-null objects has no OCPI meaning (one restriction
object per element), so such a tariff is refused with a :class:`PricingError`, as the transform
sends it to ``rejects``: the same rule in both places (README.md, rule 9).

Suspicious but priceable inputs do not fail: a negative price (a credit) and ``step_size`` 0 (no
rounding) are priced as given and listed in :attr:`Tariff.warnings`; a negative ``step_size``
is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ecodata.errors import PricingError
from ecodata.restrictions import RESTRICTION_FIELDS, Kind

DIMENSIONS = ("ENERGY", "FLAT", "TIME", "PARKING_TIME")
# SESSION_TIME is a GIREVE IOP extension (price per hour of charging plus parking); accepted by
# the scalar engine so that CDRs using it can be priced, booked with the time cost.
EXTENSION_DIMENSIONS = ("SESSION_TIME",)
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
RESERVATION_TYPES = ("RESERVATION", "RESERVATION_EXPIRES")
TAX_INCLUDED = ("YES", "NO", "N/A")             # OCPI 2.3.0 TaxIncluded


@dataclass(frozen=True)
class Restrictions:
    """One TariffRestrictions object (OCPI keys plus Eco-Movement's extras), typed.

    One attribute per field of ``ecodata.restrictions.RESTRICTION_FIELDS``, in its order (a test
    holds the two together); the parser fills them from that declaration.

    Times of day are seconds after local midnight; ``end_time`` 00:00 is kept as 0 and read as
    "end of day" by the engine.
    """

    start_time: int | None = None
    end_time: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: frozenset[str] | None = None
    reservation: str | None = None
    overstay_duration: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    emsp_contract_date: dt.date | None = None


@dataclass(frozen=True)
class Component:
    """A price component: ``price`` is excl. VAT per unit (kWh, hour, session)."""

    type: str
    price: Decimal
    vat: Decimal | None
    step_size: int


@dataclass(frozen=True)
class Element:
    """A tariff element: components that apply together while ``restrictions`` hold."""

    components: tuple[Component, ...]
    restrictions: Restrictions | None


@dataclass(frozen=True)
class PriceBound:
    """A tariff-level ``min_price``/``max_price``: excl. VAT, and incl. VAT when given (OCPI 2.2.1
    ``Price`` ``excl_vat``/``incl_vat``, or 2.3.0 ``PriceLimit`` ``before_taxes``/``after_taxes``)."""

    excl_vat: Decimal
    incl_vat: Decimal | None


@dataclass(frozen=True)
class Tariff:
    """A parsed OCPI tariff or Eco-Movement price record.

    Example::

        tariff = parse_tariff(json.loads(text, parse_float=Decimal))
    """

    id: str
    currency: str
    elements: tuple[Element, ...]
    min_price: PriceBound | None = None
    max_price: PriceBound | None = None
    start_date_time: dt.datetime | None = None
    end_date_time: dt.datetime | None = None
    source: str = "ocpi"                      # "ocpi" or "ecomovement"
    tax_included: str | None = None           # OCPI 2.3.0 YES / NO / N/A; None before 2.3.0 (= NO)
    product_type: str | None = None
    subscription_type: str | None = None
    subscription_fee_excl_vat: Decimal | None = None
    warnings: tuple[str, ...] = ()            # priced as given, but suspicious (see the module doc)


# --- parsing --------------------------------------------------------------------------------


def parse_tariff(obj: Any) -> Tariff:
    """Parse an OCPI tariff or an Eco-Movement price record (detected by its fields)."""
    if not isinstance(obj, Mapping):
        raise PricingError("a tariff must be a JSON object, got " + type(obj).__name__)
    elements_raw = obj.get("elements")
    if not isinstance(elements_raw, list) or not elements_raw:
        raise PricingError("the tariff has no 'elements' list: expected an OCPI tariff or an Eco-Movement price")
    is_em = "product" in obj or any(
        isinstance(c, Mapping) and "price_excl_vat" in c
        for e in elements_raw if isinstance(e, Mapping)
        for c in (e.get("price_components") or [])
    )
    elements = [_parse_element(e, f"elements[{i}]", em=is_em) for i, e in enumerate(elements_raw)]
    tax_included = _opt_tax_included(obj.get("tax_included"), elements)
    product = obj.get("product") if isinstance(obj.get("product"), Mapping) else None
    currency = obj.get("currency") or (product or {}).get("currency")
    if not isinstance(currency, str) or not currency:
        raise PricingError("the tariff has no currency")
    return Tariff(
        id=str(obj.get("id", "")),
        currency=currency,
        elements=tuple(elements),
        min_price=_parse_bound(obj.get("min_price"), "min_price"),
        max_price=_parse_bound(obj.get("max_price"), "max_price"),
        start_date_time=parse_datetime(obj["start_date_time"], "start_date_time")
        if obj.get("start_date_time") else None,
        end_date_time=parse_datetime(obj["end_date_time"], "end_date_time") if obj.get("end_date_time") else None,
        source="ecomovement" if is_em else "ocpi",
        tax_included=tax_included,
        product_type=_opt_str((product or {}).get("type")),
        subscription_type=_opt_str((product or {}).get("subscription_type")),
        subscription_fee_excl_vat=_opt_decimal((product or {}).get("subscription_fee_excl_vat"),
                                               "product.subscription_fee_excl_vat"),
        warnings=tuple(_component_warnings(elements) + _tax_warnings(tax_included, elements)),
    )


def _opt_tax_included(raw: Any, elements: Sequence[Element]) -> str | None:
    """OCPI 2.3.0 ``tax_included``; a tax-inclusive tariff with Eco-Movement element price bounds
    (amounts excl. VAT of components whose prices include it) has no defined meaning: refused."""
    if raw is None:
        return None
    if raw not in TAX_INCLUDED:
        raise PricingError(f"tax_included must be YES, NO or N/A (OCPI 2.3.0), got {raw!r}")
    if raw == "YES" and any(e.restrictions is not None and (e.restrictions.min_price is not None
                                                             or e.restrictions.max_price is not None)
                            for e in elements):
        raise PricingError("a tariff with tax_included YES cannot carry restriction min_price/max_price "
                           "(Eco-Movement bounds excl. VAT on prices that include it); fix the tariff")
    return str(raw)


def _tax_warnings(tax_included: str | None, elements: Sequence[Element]) -> list[str]:
    """Tax modes that are priced but lose information: YES without a vat rate, N/A with one."""
    out: list[str] = []
    for i, element in enumerate(elements):
        for j, comp in enumerate(element.components):
            where = f"elements[{i}].price_components[{j}] ({comp.type})"
            if tax_included == "YES" and comp.vat is None:
                out.append(f"{where} includes taxes but gives no vat rate: its amount before taxes is taken "
                           "as the price itself")
            if tax_included == "N/A" and comp.vat is not None:
                out.append(f"{where} has vat {comp.vat} but the tariff says no taxes apply (tax_included N/A): "
                           "the vat is ignored")
    return out


def _component_warnings(elements: Sequence[Element]) -> list[str]:
    """What is priced as given but is probably a data error: negative prices, step_size 0."""
    out: list[str] = []
    for i, element in enumerate(elements):
        for j, comp in enumerate(element.components):
            where = f"elements[{i}].price_components[{j}] ({comp.type})"
            if comp.price < 0:
                out.append(f"{where} has a negative price {comp.price}: priced as given, as a credit")
            if comp.step_size == 0:
                out.append(f"{where} has step_size 0: priced without rounding (OCPI step sizes are at least 1)")
    return out


def _parse_element(e: Any, where: str, *, em: bool) -> Element:
    if not isinstance(e, Mapping):
        raise PricingError(f"{where} must be an object")
    comps_raw = e.get("price_components")
    if not isinstance(comps_raw, list) or not comps_raw:
        raise PricingError(f"{where} has no price_components")
    comps = tuple(_parse_component(c, f"{where}.price_components[{j}]", em=em) for j, c in enumerate(comps_raw))
    return Element(comps, parse_restrictions(e.get("restrictions"), f"{where}.restrictions"))


def _parse_component(c: Any, where: str, *, em: bool) -> Component:
    if not isinstance(c, Mapping):
        raise PricingError(f"{where} must be an object")
    ctype = c.get("type")
    if ctype not in DIMENSIONS and ctype not in EXTENSION_DIMENSIONS:
        raise PricingError(f"{where}.type {ctype!r} is not one of {', '.join(DIMENSIONS)}")
    key = "price_excl_vat" if em and "price_excl_vat" in c else "price"
    price = _opt_decimal(c.get(key), f"{where}.{key}")
    if price is None:
        raise PricingError(f"{where} has no {key}")
    step = c.get("step_size", 1)
    step_int = _opt_int(step, f"{where}.step_size")
    if step_int is not None and step_int < 0:
        raise PricingError(f"{where}.step_size must be 0 or more, got {step_int}")
    return Component(str(ctype), price, _opt_decimal(c.get("vat"), f"{where}.vat"),
                     1 if step_int is None else step_int)


def parse_restrictions(raw: Any, where: str = "restrictions") -> Restrictions | None:
    """The restrictions of one element: None when unrestricted (null, all-null objects, empty
    list); a list with several non-null objects is refused (it has no OCPI meaning)."""
    if raw is None:
        return None
    if isinstance(raw, list):
        parsed = [_parse_restriction_object(r, f"{where}[{i}]") for i, r in enumerate(raw)]
        real = [r for r in parsed if r is not None]
        if len(real) > 1:
            raise PricingError(f"{where} has {len(real)} non-null restriction objects; OCPI allows one per element, "
                               "so the tariff cannot be priced (the transform rejects it too)")
        return real[0] if real else None
    return _parse_restriction_object(raw, where)


def _parse_restriction_object(r: Any, where: str) -> Restrictions | None:
    if not isinstance(r, Mapping):
        raise PricingError(f"{where} must be an object, a list of objects or null")
    if all(v is None for v in r.values()):
        return None
    return Restrictions(**{f.key: _PARSE_KIND[f.kind](r.get(f.key), f"{where}.{f.key}") for f in RESTRICTION_FIELDS})


def _opt_days(dow: Any, where: str) -> frozenset[str] | None:
    if dow is None:
        return None
    if isinstance(dow, str):
        dow = [dow]
    if not isinstance(dow, list) or any(d not in WEEKDAYS for d in dow):
        raise PricingError(f"{where} must list days MONDAY..SUNDAY, got {dow!r}")
    return frozenset(dow) if dow else None


def _opt_reservation(reservation: Any, where: str) -> str | None:
    if reservation is not None and reservation not in RESERVATION_TYPES:
        raise PricingError(f"{where} must be RESERVATION or RESERVATION_EXPIRES, got {reservation!r}")
    return None if reservation is None else str(reservation)


def _parse_bound(raw: Any, where: str) -> PriceBound | None:
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        before, after = ("before_taxes", "after_taxes") if "before_taxes" in raw else ("excl_vat", "incl_vat")
        excl = _opt_decimal(raw.get(before), f"{where}.{before}")
        if excl is None:
            raise PricingError(f"{where} has no excl_vat (2.2.1 Price) or before_taxes (2.3.0 PriceLimit)")
        return PriceBound(excl, _opt_decimal(raw.get(after), f"{where}.{after}"))
    value = _opt_decimal(raw, where)  # 2.1.1-style bare number
    return None if value is None else PriceBound(value, None)


# --- scalar helpers -------------------------------------------------------------------------


def to_decimal(value: Any, where: str) -> Decimal:
    """An exact Decimal from an int, Decimal, decimal string or float (via its shortest repr)."""
    if isinstance(value, bool):
        raise PricingError(f"{where} must be a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise PricingError(f"{where} must be a decimal number, got {value!r}") from None
    else:
        raise PricingError(f"{where} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise PricingError(f"{where} must be a finite number, got {value!r}")
    return result


def _opt_decimal(value: Any, where: str) -> Decimal | None:
    return None if value is None else to_decimal(value, where)


def _opt_excl(value: Any, where: str) -> Decimal | None:
    """A restriction-level price: a number excl. VAT, or an OCPI Price object (2.2.1: its
    ``excl_vat``; 2.3.0: its ``before_taxes``)."""
    if isinstance(value, Mapping):
        key = "before_taxes" if "before_taxes" in value else "excl_vat"
        return _opt_decimal(value.get(key), f"{where}.{key}")
    return _opt_decimal(value, where)


def _opt_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    d = to_decimal(value, where)
    if d != d.to_integral_value():
        raise PricingError(f"{where} must be a whole number, got {value!r}")
    return int(d)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_tod(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 5 and value[2] == ":":
        try:
            hh, mm = int(value[:2]), int(value[3:])
        except ValueError:
            hh = mm = -1
        if 0 <= hh <= 23 and 0 <= mm <= 59:
            return hh * 3600 + mm * 60
        if hh == 24 and mm == 0:  # seen in the wild for "end of day"
            return 0
    raise PricingError(f"{where} must be a time of day HH:MM, got {value!r}")


def _opt_date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PricingError(f"{where} must be a date YYYY-MM-DD, got {value!r}") from None


# How a restriction value of each kind is parsed (``ecodata.restrictions`` declares the fields;
# ``Restrictions`` above spells them out for the type checker, in the same order).
_PARSE_KIND: dict[Kind, Callable[[Any, str], Any]] = {
    "time": _opt_tod, "date": _opt_date, "quantity": _opt_decimal, "seconds": _opt_int,
    "weekdays": _opt_days, "reservation": _opt_reservation, "price": _opt_excl,
}


def parse_datetime(value: Any, where: str) -> dt.datetime:
    """An aware UTC datetime from an ISO 8601 string; a missing offset means UTC (OCPI)."""
    if not isinstance(value, str):
        raise PricingError(f"{where} must be an ISO 8601 date-time string, got {value!r}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PricingError(f"{where} must be an ISO 8601 date-time, got {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def tariff_breakpoints(tariffs: Sequence[Tariff]) -> Breakpoints:
    """Every restriction threshold of the given tariffs at which an element could switch."""
    times: set[int] = set()
    durations: set[int] = set()
    overstays: set[int] = set()
    kwh: set[Decimal] = set()
    powers: set[Decimal] = set()
    currents: set[Decimal] = set()
    for tariff in tariffs:
        for element in tariff.elements:
            r = element.restrictions
            if r is None:
                continue
            times.update(t for t in (r.start_time, r.end_time) if t is not None)
            durations.update(d for d in (r.min_duration, r.max_duration) if d is not None and d > 0)
            if r.overstay_duration is not None:
                overstays.add(max(r.overstay_duration, 0))
            kwh.update(k for k in (r.min_kwh, r.max_kwh) if k is not None and k > 0)
            powers.update(k for k in (r.min_power, r.max_power) if k is not None)
            currents.update(k for k in (r.min_current, r.max_current) if k is not None)
    return Breakpoints(frozenset(times), frozenset(durations), frozenset(overstays), frozenset(kwh),
                       frozenset(powers), frozenset(currents))


@dataclass(frozen=True)
class Breakpoints:
    """Thresholds at which a restriction can flip: local times of day (s after midnight),
    session durations (s), times after charging ended (s), energies (kWh), and the power (kW)
    and current (A) thresholds (only a varying-power vehicle session can cross those)."""

    times_of_day: frozenset[int] = frozenset()
    durations: frozenset[int] = frozenset()
    overstays: frozenset[int] = frozenset()
    kwh: frozenset[Decimal] = frozenset()
    powers_kw: frozenset[Decimal] = frozenset()
    currents_a: frozenset[Decimal] = frozenset()

    def union(self, other: Breakpoints) -> Breakpoints:
        return Breakpoints(self.times_of_day | other.times_of_day, self.durations | other.durations,
                           self.overstays | other.overstays, self.kwh | other.kwh,
                           self.powers_kw | other.powers_kw, self.currents_a | other.currents_a)

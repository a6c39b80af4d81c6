"""The reference engine: one session priced against one tariff, exactly.

A session is a list of charging periods (:class:`Period`). For each period and each dimension
(ENERGY, FLAT, TIME, PARKING_TIME) the engine takes the component of the FIRST element, in list
order, that has a component of that dimension and whose restrictions all hold at the period's
start (local time of the location). A session may be preceded by a reservation (its own periods,
priced only by elements restricted to RESERVATION / RESERVATION_EXPIRES, FLAT and TIME; booked as
``reservation``). See ``ecodata/pricing/README.md`` for every rule.

Exactness: quantities are kept in seconds and kilowatt-seconds (kWh x 3600), so that every cost
line is ``price x volume`` and every intermediate sum is an exact decimal; the Inexact signal is
trapped while summing. Money is divided by 3600 once, at the very end, and rounded there by the
:class:`RoundingPolicy` (default: 4 decimals, ROUND_HALF_UP) with exact rational arithmetic. An
OCPI 2.3.0 tariff whose prices include taxes (``tax_included`` YES) has amounts before taxes that
need not be finite decimals (price x 100 / (100 + vat)): its sums are exact fractions.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ecodata.errors import PricingError
from ecodata.pricing.model import (
    WEEKDAYS,
    Component,
    Restrictions,
    Tariff,
    parse_datetime,
    parse_tariff,
    to_decimal,
)

# Exact arithmetic: plenty of digits, and any rounding is an error.
EXACT = decimal.Context(prec=120, rounding=ROUND_HALF_UP, traps=[decimal.Inexact, decimal.InvalidOperation,
                                                                   decimal.Overflow, decimal.DivisionByZero])
# For the "no rounding" policy, where num / 3600 may not terminate.
_WIDE = decimal.Context(prec=50, rounding=ROUND_HALF_UP)
HOUR = 3600
# Largest CDR dimension volume accepted (kWh, hours, kW, A): far above any real session, and
# small enough that every exact sum stays well inside EXACT's 120 digits.
MAX_VOLUME = Decimal(10) ** 9
_ZERO = Decimal(0)
_ROUNDINGS = (decimal.ROUND_HALF_UP, decimal.ROUND_HALF_EVEN, decimal.ROUND_HALF_DOWN, decimal.ROUND_UP,
              decimal.ROUND_DOWN, decimal.ROUND_CEILING, decimal.ROUND_FLOOR)


@dataclass(frozen=True)
class RoundingPolicy:
    """How output totals are rounded. Nothing is rounded inside the engine.

    ``places=None`` returns exact values (to 50 significant digits where a division does not
    terminate). Volumes (kWh, hours) in the totals are rounded with the same policy.
    """

    places: int | None = 4
    rounding: str = ROUND_HALF_UP

    def __post_init__(self) -> None:
        if self.rounding not in _ROUNDINGS:
            raise PricingError(f"unknown rounding mode {self.rounding!r}: use one of {', '.join(_ROUNDINGS)}")
        if self.places is not None and not 0 <= self.places <= 12:
            raise PricingError(f"rounding places must be between 0 and 12, got {self.places}")

    def apply(self, numerator: Decimal | Fraction | int, denominator: int = 1) -> Decimal:
        """``numerator / denominator`` rounded by this policy, computed exactly."""
        if self.places is None:
            with decimal.localcontext(_WIDE):
                if isinstance(numerator, Fraction):
                    return Decimal(numerator.numerator) / Decimal(numerator.denominator * denominator)
                return Decimal(numerator) / Decimal(denominator)
        q = Fraction(numerator) / denominator * (10 ** self.places)
        return Decimal(round_fraction(q.numerator, q.denominator, self.rounding)).scaleb(-self.places)


def round_fraction(n: int, d: int, mode: str) -> int:
    """Round the rational n/d (d > 0) to an integer with a decimal rounding mode, exactly."""
    sign = -1 if n < 0 else 1
    a = abs(n)
    fl, rem = divmod(a, d)
    if mode == decimal.ROUND_HALF_UP:
        up = 2 * rem >= d
    elif mode == decimal.ROUND_HALF_DOWN:
        up = 2 * rem > d
    elif mode == decimal.ROUND_HALF_EVEN:
        up = 2 * rem > d or (2 * rem == d and fl % 2 == 1)
    elif mode == decimal.ROUND_UP:
        up = rem > 0
    elif mode == decimal.ROUND_DOWN:
        up = False
    elif mode == decimal.ROUND_CEILING:
        up = rem > 0 and sign > 0
    else:  # ROUND_FLOOR
        up = rem > 0 and sign < 0
    return sign * (fl + (1 if up else 0))


@dataclass(frozen=True)
class Period:
    """One charging period: quantities are exact, in seconds and kilowatt-seconds.

    ``offset_s`` is the time since the session started (duration restrictions);
    ``since_charge_end_s`` the time since charging ended, or None while charging has not ended
    (Eco-Movement ``overstay_duration``). ``power_kw``/``current_a`` None = unknown (power and
    current restrictions then hold, as in the reference implementation).
    """

    start: dt.datetime
    offset_s: Decimal
    energy_kws: Decimal = _ZERO
    time_s: Decimal = _ZERO
    parking_s: Decimal = _ZERO
    power_kw: Decimal | None = None
    current_a: Decimal | None = None
    since_charge_end_s: Decimal | None = None


@dataclass(frozen=True)
class Session:
    """A priced session: chronological periods, total duration, and the contract date used for
    Eco-Movement's ``emsp_contract_date`` (None = the local date the session starts).

    ``reservation`` holds the periods of a reservation before the session (each period's
    ``time_s`` is reserved time, nothing else is billed in it); ``reservation_expired`` says that
    the driver did not show up, so the reservation expired (RESERVATION_EXPIRES elements apply).
    """

    start: dt.datetime
    periods: tuple[Period, ...]
    total_time_s: Decimal
    contract_date: dt.date | None = None
    warnings: tuple[str, ...] = ()     # what session_from_cdr priced as given (e.g. periods past the end)
    reservation: tuple[Period, ...] = ()
    reservation_expired: bool = False


@dataclass
class Costs:
    """Exact cost numerators (money x 3600) per part, excl. and incl. VAT, and volumes.

    ``rounded(policy)`` turns them into the OCPI CDR totals shape.
    """

    excl: dict[str, Decimal | Fraction] = field(default_factory=dict)
    incl: dict[str, Decimal | Fraction] = field(default_factory=dict)
    total_excl: Decimal | Fraction = _ZERO
    total_incl: Decimal | Fraction = _ZERO
    energy_kws: Decimal = _ZERO
    total_time_s: Decimal = _ZERO
    parking_s: Decimal = _ZERO
    reserved: bool = False   # the session had a reservation: the totals carry total_reservation_cost

    def rounded(self, policy: RoundingPolicy | None = None) -> dict[str, Any]:
        """The OCPI CDR totals: money ``{excl_vat, incl_vat}``, volumes in kWh and hours
        (``total_reservation_cost``, optional in a CDR, only for a session with a reservation)."""
        policy = policy or RoundingPolicy()

        def money(part: str) -> dict[str, Decimal]:
            return {"excl_vat": policy.apply(self.excl.get(part, _ZERO), HOUR),
                    "incl_vat": policy.apply(self.incl.get(part, _ZERO), HOUR)}

        totals = {
            "total_cost": {"excl_vat": policy.apply(self.total_excl, HOUR),
                           "incl_vat": policy.apply(self.total_incl, HOUR)},
            "total_energy_cost": money("energy"),
            "total_time_cost": money("time"),
            "total_parking_cost": money("parking"),
            "total_fixed_cost": money("flat"),
        }
        if self.reserved:
            totals["total_reservation_cost"] = money("reservation")
        return {
            **totals,
            "total_energy": policy.apply(self.energy_kws, HOUR),
            "total_time": policy.apply(self.total_time_s, HOUR),
            "total_parking_time": policy.apply(self.parking_s, HOUR),
        }


PARTS = ("energy", "time", "parking", "flat", "reservation")
_PART_OF = {"ENERGY": "energy", "TIME": "time", "SESSION_TIME": "time", "PARKING_TIME": "parking", "FLAT": "flat",
            "RESERVATION_TIME": "reservation", "RESERVATION_FLAT": "reservation"}


# --- restriction evaluation -----------------------------------------------------------------


@dataclass(frozen=True)
class _Moment:
    tod: int
    date: dt.date
    weekday: str
    offset_s: Decimal
    energy_before_kws: Decimal
    power_kw: Decimal | None
    current_a: Decimal | None
    since_charge_end_s: Decimal | None
    contract_date: dt.date


def window_holds(start: int | None, end: int | None, tod: int) -> bool:
    """Time-of-day window: start inclusive, end exclusive, end 00:00 = midnight, end < start wraps."""
    if start is None and end is None:
        return True
    if end == 0:
        end = 86400
    if start is None:
        return tod < end  # type: ignore[operator]
    if end is None:
        return tod >= start
    if start < end:
        return start <= tod < end
    if start > end:
        return tod >= start or tod < end
    return True  # start == end: the whole day


def restrictions_hold(r: Restrictions | None, m: _Moment) -> bool:
    """All restrictions of an element hold at a moment (AND) of a charging session: an element
    restricted to a reservation never prices charging or parking."""
    if r is None:
        return True
    if r.reservation is not None:
        return False
    return _holds_at(r, m)


def reservation_holds(r: Restrictions | None, m: _Moment, kind: str) -> bool:
    """The element prices a reservation of ``kind`` (RESERVATION / RESERVATION_EXPIRES) and its
    other restrictions hold at the moment the reservation (period) starts."""
    return r is not None and r.reservation == kind and _holds_at(r, m)


def _holds_at(r: Restrictions, m: _Moment) -> bool:
    """Every restriction but ``reservation`` holds at a moment."""
    if not window_holds(r.start_time, r.end_time, m.tod):
        return False
    if r.start_date is not None and m.date < r.start_date:
        return False
    if r.end_date is not None and m.date >= r.end_date:
        return False
    if r.day_of_week is not None and m.weekday not in r.day_of_week:
        return False
    kwh3600 = m.energy_before_kws
    if r.min_kwh is not None and kwh3600 < r.min_kwh * HOUR:
        return False
    if r.max_kwh is not None and kwh3600 >= r.max_kwh * HOUR:
        return False
    if r.min_duration is not None and m.offset_s < r.min_duration:
        return False
    if r.max_duration is not None and m.offset_s >= r.max_duration:
        return False
    if m.power_kw is not None:
        if r.min_power is not None and m.power_kw < r.min_power:
            return False
        if r.max_power is not None and m.power_kw >= r.max_power:
            return False
    if m.current_a is not None:
        if r.min_current is not None and m.current_a < r.min_current:
            return False
        if r.max_current is not None and m.current_a >= r.max_current:
            return False
    if r.overstay_duration is not None and (
        m.since_charge_end_s is None or m.since_charge_end_s < r.overstay_duration
    ):
        return False
    return r.emsp_contract_date is None or m.contract_date >= r.emsp_contract_date


# --- the engine -----------------------------------------------------------------------------


def price_session(tariff: Tariff, session: Session, tz: ZoneInfo) -> Costs:
    """Price a session exactly; returns cost numerators (see :class:`Costs`)."""
    with decimal.localcontext(EXACT):
        return _price(tariff, session, tz)


def _volume(dim: str, p: Period) -> Decimal:
    if dim == "ENERGY":
        return p.energy_kws
    if dim == "TIME":
        return p.time_s
    if dim == "PARKING_TIME":
        return p.parking_s
    return p.time_s + p.parking_s  # SESSION_TIME


def _incl(num: Decimal, vat: Decimal | None) -> Decimal:
    return num if vat is None else num * (100 + vat) / 100


def _line(num: Decimal, vat: Decimal | None, tax_included: str | None) -> tuple[Decimal | Fraction, Decimal | Fraction]:
    """(excl, incl) numerators of a cost line ``num`` = price x volume, by the tariff's tax mode:
    2.2.1 / NO: the price excludes ``vat``; YES: it includes it (excl = num x 100 / (100 + vat),
    an exact fraction); N/A: no taxes apply (excl = incl)."""
    if tax_included == "YES":
        whole = Fraction(num)
        return (whole if vat is None else whole * 100 / (100 + Fraction(vat))), whole
    if tax_included == "N/A":
        return num, num
    return num, _incl(num, vat)


def _moment(p: Period, tz: ZoneInfo, energy_before: Decimal, contract_date: dt.date) -> _Moment:
    local = p.start.astimezone(tz)
    return _Moment(local.hour * 3600 + local.minute * 60 + local.second, local.date(), WEEKDAYS[local.weekday()],
                   p.offset_s, energy_before, p.power_kw, p.current_a, p.since_charge_end_s, contract_date)


def _price(tariff: Tariff, session: Session, tz: ZoneInfo) -> Costs:
    if tariff.start_date_time is not None and session.start < tariff.start_date_time:
        raise PricingError(f"tariff {tariff.id!r} is valid from {tariff.start_date_time.isoformat()}, "
                           f"the session starts earlier ({session.start.isoformat()})")
    if tariff.end_date_time is not None and session.start >= tariff.end_date_time:
        raise PricingError(f"tariff {tariff.id!r} ended at {tariff.end_date_time.isoformat()}, "
                           f"the session starts later ({session.start.isoformat()})")
    dims = [d for d in ("FLAT", "ENERGY", "TIME", "PARKING_TIME", "SESSION_TIME")
            if any(c.type == d for e in tariff.elements for c in e.components)]
    contract_date = session.contract_date or session.start.astimezone(tz).date()
    tax = tariff.tax_included
    zero: Decimal | Fraction = Fraction(0) if tax == "YES" else _ZERO
    # (element index, dimension, excl numerator, incl numerator)
    lines: list[tuple[int, str, Decimal | Fraction, Decimal | Fraction]] = []
    billed: dict[str, Decimal] = {}
    last: dict[str, tuple[int, Component]] = {}
    _price_reservation(tariff, session, tz, contract_date, lines, billed, last)
    flat_done = False
    energy_before = _ZERO
    for p in session.periods:
        moment = _moment(p, tz, energy_before, contract_date)
        energy_before += p.energy_kws
        for dim in dims:
            if dim == "FLAT" and flat_done:
                continue
            chosen = _choose(tariff, dim, moment)
            if chosen is None:
                continue
            idx, comp = chosen
            if dim == "FLAT":
                lines.append((idx, dim, *_line(comp.price * HOUR, comp.vat, tax)))
                flat_done = True
                continue
            vol = _volume(dim, p)
            if vol <= 0:
                continue
            lines.append((idx, dim, *_line(comp.price * vol, comp.vat, tax)))
            billed[dim] = billed.get(dim, _ZERO) + vol
            last[dim] = chosen
    # step_size: once per session, on the billed total, with the last component's step; the
    # surplus is billed at that component's price. TIME and PARKING_TIME share one rounding:
    # when parking is billed only parking is rounded. Reserved time is rounded on its own.
    rounded_dims = ["ENERGY", "SESSION_TIME", "PARKING_TIME" if "PARKING_TIME" in last else "TIME",
                    "RESERVATION_TIME"]
    for dim in rounded_dims:
        if dim not in last:
            continue
        idx, comp = last[dim]
        if comp.step_size <= 0:
            continue
        step = Decimal(comp.step_size) * (Decimal("3.6") if dim == "ENERGY" else 1)
        total = billed[dim]
        steps = -((-Fraction(total)) // Fraction(step))  # ceiling
        surplus = Decimal(steps) * step - total
        if surplus > 0:
            lines.append((idx, dim, *_line(comp.price * surplus, comp.vat, tax)))
    costs = Costs(excl=dict.fromkeys(PARTS, zero), incl=dict.fromkeys(PARTS, zero))
    for _idx, dim, ex, inc in lines:
        costs.excl[_PART_OF[dim]] = _add(costs.excl[_PART_OF[dim]], ex)
        costs.incl[_PART_OF[dim]] = _add(costs.incl[_PART_OF[dim]], inc)
    # Eco-Movement restriction-level min_price / max_price: floor / cap (excl. VAT) on the cost of
    # the element's components, for elements that billed something (see element_bound_deltas).
    used = {idx for idx, *_ in lines}
    for idx in sorted(used):
        element = tariff.elements[idx]
        r = element.restrictions
        if r is None or (r.min_price is None and r.max_price is None):
            continue
        billing = _billing_components(element.components)
        # (no Fraction here: a tax-inclusive tariff with element bounds is refused by the parser)
        cost = [sum((_decimal(ex) for i, d, ex, _inc in lines if i == idx and d == comp.type), _ZERO)
                for comp in billing]
        deltas = element_bound_deltas(cost, None if r.min_price is None else r.min_price * HOUR,
                                      None if r.max_price is None else r.max_price * HOUR)
        for comp, delta in zip(billing, deltas, strict=True):
            if delta:
                costs.excl[_PART_OF[comp.type]] = _add(costs.excl[_PART_OF[comp.type]], delta)
                costs.incl[_PART_OF[comp.type]] = _add(costs.incl[_PART_OF[comp.type]], _incl(delta, comp.vat))
    total_excl = sum(costs.excl.values(), zero)
    total_incl = sum(costs.incl.values(), zero)
    # OCPI 2.2.1 min_price / max_price (2.3.0: PriceLimit before / after taxes): the session
    # total, excl. and incl. VAT separately.
    if tariff.min_price is not None:
        total_excl = max(total_excl, _same_kind(tariff.min_price.excl_vat * HOUR, zero))
        if tariff.min_price.incl_vat is not None:
            total_incl = max(total_incl, _same_kind(tariff.min_price.incl_vat * HOUR, zero))
    if tariff.max_price is not None:
        total_excl = min(total_excl, _same_kind(tariff.max_price.excl_vat * HOUR, zero))
        if tariff.max_price.incl_vat is not None:
            total_incl = min(total_incl, _same_kind(tariff.max_price.incl_vat * HOUR, zero))
    costs.total_excl = total_excl
    costs.total_incl = total_incl
    costs.energy_kws = sum((p.energy_kws for p in session.periods), _ZERO)
    costs.parking_s = sum((p.parking_s for p in session.periods), _ZERO)
    costs.total_time_s = session.total_time_s
    costs.reserved = bool(session.reservation)
    return costs


def _add(a: Decimal | Fraction, b: Decimal | Fraction) -> Decimal | Fraction:
    """Exact sum of two numerators; a Fraction as soon as one of them is."""
    if isinstance(a, Fraction) or isinstance(b, Fraction):
        return Fraction(a) + Fraction(b)
    return a + b


def _decimal(value: Decimal | Fraction) -> Decimal:
    """A numerator known to be a Decimal (tariffs whose sums are fractions carry no element bounds)."""
    if isinstance(value, Fraction):
        raise PricingError("an element price bound on a tax-inclusive tariff cannot be priced")
    return value


def _same_kind(value: Decimal, zero: Decimal | Fraction) -> Decimal | Fraction:
    """``value`` as a Fraction when the session's sums are fractions (a tax-inclusive tariff)."""
    return Fraction(value) if isinstance(zero, Fraction) else value


def _price_reservation(tariff: Tariff, session: Session, tz: ZoneInfo, contract_date: dt.date,
                       lines: list[tuple[int, str, Decimal | Fraction, Decimal | Fraction]],
                       billed: dict[str, Decimal], last: dict[str, tuple[int, Component]]) -> None:
    """Cost lines of the session's reservation (OCPI 2.2.1 reservation restriction).

    Per reservation period and dimension (FLAT, TIME only) the component comes from the first
    element restricted to RESERVATION whose other restrictions hold at the period's start; when
    the reservation expired, an element restricted to RESERVATION_EXPIRES is preferred (the
    spec: an expired reservation's time is priced by it). The reservation FLAT is billed once,
    apart from the session's own FLAT (the spec's examples bill both); reserved TIME is billed
    per hour and rounded once with the step of the last reservation TIME component.
    """
    kinds = ("RESERVATION_EXPIRES", "RESERVATION") if session.reservation_expired else ("RESERVATION",)
    flat_done = False
    for p in session.reservation:
        moment = _moment(p, tz, _ZERO, contract_date)
        for dim in ("FLAT", "TIME"):
            if dim == "FLAT" and flat_done:
                continue
            chosen = next((c for kind in kinds if (c := _choose_reserved(tariff, dim, moment, kind)) is not None),
                          None)
            if chosen is None:
                continue
            idx, comp = chosen
            if dim == "FLAT":
                lines.append((idx, "RESERVATION_FLAT", *_line(comp.price * HOUR, comp.vat, tariff.tax_included)))
                flat_done = True
            elif p.time_s > 0:
                lines.append((idx, "RESERVATION_TIME", *_line(comp.price * p.time_s, comp.vat, tariff.tax_included)))
                billed["RESERVATION_TIME"] = billed.get("RESERVATION_TIME", _ZERO) + p.time_s
                last["RESERVATION_TIME"] = chosen


def _choose_reserved(tariff: Tariff, dim: str, moment: _Moment, kind: str) -> tuple[int, Component] | None:
    for idx, element in enumerate(tariff.elements):
        comp = next((c for c in element.components if c.type == dim), None)
        if comp is not None and reservation_holds(element.restrictions, moment, kind):
            return idx, comp
    return None


def _billing_components(components: tuple[Component, ...]) -> list[Component]:
    """The components of an element that can bill: the first of each type, in order (a later
    component of the same type is never chosen, rule 1)."""
    seen: set[str] = set()
    out = []
    for comp in components:
        if comp.type not in seen:
            seen.add(comp.type)
            out.append(comp)
    return out


def element_bound_deltas(costs: list[Decimal], floor: Decimal | None, cap: Decimal | None) -> list[Decimal]:
    """How an element's ``min_price``/``max_price`` changes each of its components' costs.

    ``costs`` are the billed costs (excl. VAT) of the element's billing components in order;
    the bounds are in the same unit. The element total is clamped to ``[floor, cap]`` (a cap
    below the floor wins). A cap takes the excess off the components greedily, largest cost
    first (ties: component order), each down to zero at most, so no part goes negative; a
    floor adds the shortfall to the largest-cost component (ties: component order). Only when
    the cap is below what the non-positive costs allow (a negative cap or negative prices) does
    the rest of the reduction land on the largest-cost component. Sum of the deltas =
    clamped total - total, exactly.
    """
    spent = sum(costs, _ZERO)
    target = spent
    if floor is not None:
        target = max(target, floor)
    if cap is not None:
        target = min(target, cap)
    deltas = [_ZERO] * len(costs)
    if target == spent or not costs:
        return deltas
    order = sorted(range(len(costs)), key=lambda k: (-costs[k], k))
    if target > spent:
        deltas[order[0]] = target - spent
        return deltas
    excess = spent - target
    for k in order:
        take = min(excess, max(costs[k], _ZERO))
        deltas[k] -= take
        excess -= take
    deltas[order[0]] -= excess
    return deltas


def _choose(tariff: Tariff, dim: str, moment: _Moment) -> tuple[int, Component] | None:
    for idx, element in enumerate(tariff.elements):
        comp = next((c for c in element.components if c.type == dim), None)
        if comp is not None and restrictions_hold(element.restrictions, moment):
            return idx, comp
    return None


# --- the CDR front door ---------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo, or a PricingError that says what a valid zone looks like."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PricingError(f"unknown time zone {name!r}: use an IANA name such as Europe/Amsterdam or UTC") from None


def session_from_cdr(cdr: Mapping[str, Any], *, contract_date: dt.date | None = None,
                     reservation_expired: bool | None = None) -> Session:
    """Turn an OCPI CDR's charging periods into a :class:`Session`.

    Periods are sorted by start (some CDRs list them out of order); a period ends where the
    next begins, the last at the CDR's ``end_date_time``. Billed volumes are the periods'
    ENERGY (kWh), TIME and PARKING_TIME (hours) dimensions; POWER/MAX_POWER/MIN_POWER and
    CURRENT/MAX_CURRENT/MIN_CURRENT give the period's power and current when present.

    A period with a RESERVATION_TIME dimension (hours) is a reservation period (OCPI 2.2.1
    CdrDimensionType): it goes to :attr:`Session.reservation` and nothing else in it is billed.
    ``reservation_expired`` None means: expired when the CDR has reservation periods and no
    charging or parking at all (the driver never came).
    """
    if not isinstance(cdr, Mapping):
        raise PricingError("a CDR must be a JSON object")
    raw = cdr.get("charging_periods")
    if not isinstance(raw, list):
        raise PricingError("the CDR has no 'charging_periods' list")
    parsed: list[tuple[dt.datetime, dict[str, Decimal]]] = []
    for i, cp in enumerate(raw):
        if not isinstance(cp, Mapping):
            raise PricingError(f"charging_periods[{i}] must be an object")
        start = parse_datetime(cp.get("start_date_time"), f"charging_periods[{i}].start_date_time")
        dims: dict[str, Decimal] = {}
        for j, d in enumerate(cp.get("dimensions") or []):
            if not isinstance(d, Mapping) or not isinstance(d.get("type"), str):
                raise PricingError(f"charging_periods[{i}].dimensions[{j}] must have a type")
            where = f"charging_periods[{i}].dimensions[{j}].volume"
            volume = to_decimal(d.get("volume"), where)
            if not 0 <= volume <= MAX_VOLUME:
                raise PricingError(f"{where} is {volume}: a volume must be between 0 and {MAX_VOLUME:,} "
                                   "(kWh, hours, kW or A); fix the CDR")
            dims[d["type"]] = volume
        parsed.append((start, dims))
    parsed.sort(key=lambda x: x[0])
    reserved = [(start, dims) for start, dims in parsed if "RESERVATION_TIME" in dims]
    parsed = [(start, dims) for start, dims in parsed if "RESERVATION_TIME" not in dims]
    end = parse_datetime(cdr["end_date_time"], "end_date_time") if cdr.get("end_date_time") else None
    cdr_start = parse_datetime(cdr["start_date_time"], "start_date_time") if cdr.get("start_date_time") else None
    if end is not None and cdr_start is not None and end < cdr_start:
        raise PricingError(f"the CDR ends ({end.isoformat()}) before it starts ({cdr_start.isoformat()}); fix the CDR")
    warnings: list[str] = []
    if end is not None and parsed and parsed[-1][0] > end:
        late = sum(1 for s, _d in parsed if s > end)
        warnings.append(f"{late} charging period(s) start after the CDR's end_date_time ({end.isoformat()}), so "
                        "they end before they start: priced from their dimensions as given")
    with decimal.localcontext(EXACT):
        first = parsed[0][0] if parsed else (cdr_start or dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
        reservation = tuple(Period(start=start, offset_s=_ZERO, time_s=dims["RESERVATION_TIME"] * HOUR)
                            for start, dims in reserved)
        if reservation:  # the CDR's start is the reservation's; the session starts when charging does
            cdr_start = first if parsed else reservation[-1].start
        charging_ends = [
            (parsed[k + 1][0] if k + 1 < len(parsed) else None, dims)
            for k, (_s, dims) in enumerate(parsed)
            if dims.get("ENERGY", _ZERO) > 0 or dims.get("TIME", _ZERO) > 0
        ]
        charge_end: dt.datetime | None = None
        if charging_ends:
            nxt, dims = charging_ends[-1]
            start_of_last = next(s for s, d in reversed(parsed) if d is dims)
            charge_end = nxt or end or start_of_last + dt.timedelta(hours=float(dims.get("TIME", _ZERO)))
        periods = []
        for start, dims in parsed:
            since = None
            if charge_end is not None and start >= charge_end:
                since = _seconds(start - charge_end)
            periods.append(Period(
                start=start,
                offset_s=_seconds(start - first),
                energy_kws=dims.get("ENERGY", _ZERO) * HOUR,
                time_s=dims.get("TIME", _ZERO) * HOUR,
                parking_s=dims.get("PARKING_TIME", _ZERO) * HOUR,
                power_kw=_first(dims, ("POWER", "MAX_POWER", "MIN_POWER")),
                current_a=_first(dims, ("CURRENT", "MAX_CURRENT", "MIN_CURRENT")),
                since_charge_end_s=since,
            ))
        if reservation and not parsed:
            total_time = _ZERO
        elif end is not None:
            total_time = _seconds(end - min(first, cdr_start or first))
        else:
            total_time = sum((p.time_s + p.parking_s for p in periods), _ZERO)
    charged = any(p.energy_kws > 0 or p.time_s > 0 or p.parking_s > 0 for p in periods)
    expired = bool(reservation) and not charged if reservation_expired is None else reservation_expired
    return Session(start=first, periods=tuple(periods), total_time_s=total_time, contract_date=contract_date,
                   warnings=tuple(warnings), reservation=reservation, reservation_expired=expired)


def _first(dims: Mapping[str, Decimal], keys: tuple[str, ...]) -> Decimal | None:
    return next((dims[k] for k in keys if k in dims), None)


def _seconds(delta: dt.timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


def price_cdr(tariff: Mapping[str, Any] | Tariff, cdr: Mapping[str, Any], timezone: str = "UTC", *,
              policy: RoundingPolicy | None = None, contract_date: dt.date | None = None) -> dict[str, Any]:
    """Price a CDR with one OCPI tariff or Eco-Movement price; the OCPI CDR totals shape.

    ``timezone`` is the location's IANA zone, in which time-of-day, date and weekday
    restrictions are read. Money is ``{excl_vat, incl_vat}`` (Decimal), volumes are kWh and hours.

    Example::

        totals = price_cdr(json.loads(t, parse_float=Decimal), json.loads(c, parse_float=Decimal),
                           "Europe/Amsterdam")
        totals["total_cost"]["incl_vat"]      # Decimal('5.5000')
    """
    return price_cdr_report(tariff, cdr, timezone, policy=policy, contract_date=contract_date).totals


@dataclass(frozen=True)
class CdrPrice:
    """A priced CDR: the OCPI totals, and warnings about inputs that were priced as given
    (negative prices, ``step_size`` 0, periods that start after the CDR's end)."""

    totals: dict[str, Any]
    warnings: tuple[str, ...] = ()


def price_cdr_report(tariff: Mapping[str, Any] | Tariff, cdr: Mapping[str, Any], timezone: str = "UTC", *,
                     policy: RoundingPolicy | None = None, contract_date: dt.date | None = None) -> CdrPrice:
    """:func:`price_cdr` with the warnings: what was priced but looks like a data error."""
    parsed = tariff if isinstance(tariff, Tariff) else parse_tariff(tariff)
    session = session_from_cdr(cdr, contract_date=contract_date)
    try:
        totals = price_session(parsed, session, zone(timezone)).rounded(policy)
    except decimal.DecimalException as exc:  # only a price with > 100 significant digits gets here
        raise PricingError(f"cannot price exactly: a price in the tariff needs more than {EXACT.prec} digits "
                           f"({type(exc).__name__}); check the tariff's prices") from None
    return CdrPrice(totals, parsed.warnings + session.warnings)


def ocpi_230_totals(totals: Mapping[str, Any]) -> dict[str, Any]:
    """The totals with each amount as an OCPI 2.3.0 ``Price``: ``before_taxes`` and the list of
    ``taxes`` (one ``{"name": "VAT", "amount"}``: the amount incl. minus excl. VAT; none when no
    tax was charged). Volumes are unchanged.

    Example: ``{"excl_vat": 10, "incl_vat": 11.9}`` becomes
    ``{"before_taxes": 10, "taxes": [{"name": "VAT", "amount": 1.9}]}``.
    """
    out: dict[str, Any] = {}
    for key, value in totals.items():
        if isinstance(value, Mapping) and "excl_vat" in value:
            tax = value["incl_vat"] - value["excl_vat"]
            out[key] = {"before_taxes": value["excl_vat"], "taxes": [{"name": "VAT", "amount": tax}] if tax else []}
        else:
            out[key] = value
    return out


def cdr_cost_check(totals: Mapping[str, Any], cdr: Mapping[str, Any]) -> dict[str, Any]:
    """The CDR's own ``total_cost`` beside the computed ``totals``: ``{"cdr_total_cost", "difference"}``.

    Empty when the CDR has no ``total_cost``. It may be an OCPI 2.2.1 ``Price`` (``excl_vat``, optional
    ``incl_vat``), a 2.1.1 bare number (excl. VAT) or a 2.3.0 ``Price`` (``before_taxes``, ``taxes``:
    after taxes is before_taxes plus the taxes' amounts). ``cdr_total_cost`` is the CDR's object as
    given; ``difference`` is computed minus CDR, exactly, for each amount the CDR states (``excl_vat`` /
    ``incl_vat``, or ``before_taxes`` / ``after_taxes``), the computed amounts rounded as in the totals.

    Example: a CDR total of ``{"excl_vat": 5.0, "incl_vat": 5.5}`` against a computed 5.5000 / 6.1000
    gives ``{"cdr_total_cost": {"excl_vat": 5.0, "incl_vat": 5.5}, "difference": {"excl_vat": 0.5000,
    "incl_vat": 0.6000}}``.
    """
    if not isinstance(cdr, Mapping) or cdr.get("total_cost") is None:
        return {}
    given = cdr["total_cost"]
    computed = totals["total_cost"]
    stated: dict[str, tuple[Decimal, Decimal]] = {}  # key -> (CDR amount, computed amount)
    if isinstance(given, Mapping) and "before_taxes" in given:
        before = _cdr_amount(given["before_taxes"], "before_taxes")
        stated["before_taxes"] = (before, computed["excl_vat"])
        if given.get("taxes") is not None:
            taxes = given["taxes"]
            if not isinstance(taxes, list) or not all(isinstance(t, Mapping) for t in taxes):
                raise PricingError("the CDR's total_cost.taxes must be a list of {name, amount} objects")
            after = EXACT.add(before, sum((_cdr_amount(t.get("amount"), "taxes[].amount") for t in taxes), Decimal(0)))
            stated["after_taxes"] = (after, computed["incl_vat"])
    elif isinstance(given, Mapping):
        for key, basis in (("excl_vat", "excl_vat"), ("incl_vat", "incl_vat")):
            if given.get(key) is not None:
                stated[key] = (_cdr_amount(given[key], key), computed[basis])
        if not stated:
            raise PricingError("the CDR's total_cost has neither excl_vat nor incl_vat (nor before_taxes)")
    else:
        stated["excl_vat"] = (_cdr_amount(given, "total_cost"), computed["excl_vat"])
    difference = {key: EXACT.subtract(mine, theirs) for key, (theirs, mine) in stated.items()}
    return {"cdr_total_cost": given, "difference": difference}


def _cdr_amount(value: Any, what: str) -> Decimal:
    """An amount of the CDR's total_cost as an exact Decimal (JSON read with ``parse_float=Decimal``)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise PricingError(f"the CDR's total_cost {what} must be a number, got {value!r}")
    return Decimal(value)


def totals_to_json(totals: Mapping[str, Any]) -> str:
    """Serialise totals as JSON with decimals written exactly (no binary floats)."""

    def enc(value: Any) -> str:
        if isinstance(value, Mapping):
            return "{" + ", ".join(f'"{k}": {enc(v)}' for k, v in value.items()) + "}"
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, list):
            return "[" + ", ".join(enc(v) for v in value) + "]"
        if isinstance(value, str):
            return json.dumps(value)
        if value is None:
            return "null"
        return str(value)

    return enc(totals)

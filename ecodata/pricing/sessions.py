"""Reference sessions: a profile (start time, energy, power, parking) turned into charging periods.

The car charges at a constant power ``P`` (the session's power capped by the connector's, in
whole watts) until the energy is delivered, then stays parked. The timeline is in whole seconds:
charging lasts ``ceil(energy / P)`` seconds and the energy after ``t`` seconds is
``min(P x t, energy)`` joules, so every period's energy and duration is an exact decimal.

Periods are split wherever an element could change: local midnight, every time-of-day edge,
duration threshold and kWh threshold of the tariffs being priced, the end of charging, and every
overstay onset after it. A kWh threshold takes effect at the first whole second at which the
energy so far has reached it (meters report per second). Splitting finer than needed never
changes a price, which is why the vectorised evaluator can use the union of all tariffs'
thresholds and still agree exactly with the scalar engine that uses one tariff's.

A session may start with a reservation: ``reservation_minutes`` reserved before the car arrives at
``start`` (one reservation period, its element chosen at the reservation's start). With
``reservation_expired`` the driver never comes: the reservation runs out at ``start`` and nothing
is charged (the session has no energy, power or parking of its own).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ecodata.errors import ConfigError, PricingError
from ecodata.pricing.model import Breakpoints, Tariff, tariff_breakpoints, to_decimal
from ecodata.pricing.scalar import Costs, Period, RoundingPolicy, Session, price_session, zone
from ecodata.pricing.vehicles import (
    Vehicle,
    VehicleProfile,
    VehicleSession,
    find_vehicle,
    load_vehicles,
    parse_soc,
    vehicle_profile_for,
    vehicle_session_name,
)
from ecodata.settings import read_packaged_or_file

POWER_CLASSES = ("AC", "DC", "HPC")
_MILLI = Decimal("0.001")
_J_PER_KWH = 3_600_000


@dataclass(frozen=True)
class ReferenceSession:
    """A reference charging session (one ``[[session]]`` of the sessions TOML)."""

    name: str
    power_classes: tuple[str, ...]
    start: dt.time
    energy_kwh: Decimal
    power_kw: Decimal
    parking_minutes: int | None = None
    connected_minutes: int | None = None
    description: str = ""
    reservation_minutes: int | None = None   # reserved before arrival at ``start``
    reservation_expired: bool = False         # the driver did not show: no charging at all

    @property
    def energy_j(self) -> int:
        return int(self.energy_kwh * _J_PER_KWH)


@dataclass(frozen=True)
class Profile:
    """A reference session as it runs on one kind of connector: capped power and current."""

    session: ReferenceSession
    power_w: int
    current_ma: int | None

    @property
    def power_kw(self) -> Decimal:
        return Decimal(self.power_w).scaleb(-3)

    @property
    def current_a(self) -> Decimal | None:
        return None if self.current_ma is None else Decimal(self.current_ma).scaleb(-3)

    @property
    def charging_s(self) -> int:
        if self.session.reservation_expired:
            return 0
        return -(-self.session.energy_j // self.power_w)

    @property
    def parking_s(self) -> int:
        s = self.session
        if s.connected_minutes is not None:
            return max(s.connected_minutes * 60 - self.charging_s, 0)
        return (s.parking_minutes or 0) * 60

    @property
    def mean_power_w(self) -> int:
        return self.power_w

    def energy_at(self, t: int) -> int:
        """Joules delivered after ``t`` seconds."""
        return min(self.power_w * t, self.session.energy_j)

    def first_second_reaching(self, joules: Fraction) -> int:
        return math.ceil(joules / self.power_w)

    def power_w_at(self, t: int) -> int:
        return self.power_w

    def current_ma_at(self, t: int) -> int | None:
        return self.current_ma

    def switch_seconds(self, powers_kw: Any, currents_a: Any) -> set[int]:
        return set()  # constant power: nothing crosses a threshold while charging


AnySession = ReferenceSession | VehicleSession
AnyProfile = Profile | VehicleProfile


def load_sessions(path: Path | None = None, *, vehicles: tuple[Vehicle, ...] | Path | None = None
                  ) -> tuple[AnySession, ...]:
    """The sessions of ``path`` (a TOML file) or the shipped defaults.

    A ``[[session]]`` with a ``vehicle`` key is a vehicle session (``vehicle``, ``soc = "10-80"``,
    ``power_classes``, ``start``, ``parking_minutes``; ``name`` defaults to
    ``<VEHICLE>_<FROM>_<TO>``, the name ``compare --vehicle`` looks for); the vehicle is looked up in ``vehicles``
    (loaded vehicles, a vehicles file, or None for the shipped ``vehicles.toml``).
    """
    text, source = read_packaged_or_file("ecodata.pricing", "sessions.toml", path, "sessions")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the sessions file {source} is not valid TOML: {exc}") from None
    raw = data.get("session")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"the sessions file {source} has no [[session]] tables")
    fleet: tuple[Vehicle, ...] | None = vehicles if isinstance(vehicles, tuple) else None
    out: list[AnySession] = []
    for i, entry in enumerate(raw):
        where = f"{source} session {i + 1}"
        if isinstance(entry, Mapping) and "vehicle" in entry:
            if fleet is None:
                fleet = load_vehicles(vehicles if isinstance(vehicles, Path) else None)
            out.append(_parse_vehicle_session(entry, where, fleet))
        else:
            out.append(_parse_session(entry, where))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"the sessions file {source} repeats a session name: {names}")
    return tuple(out)


def _parse_vehicle_session(raw: Mapping[str, Any], where: str, fleet: tuple[Vehicle, ...]) -> VehicleSession:
    try:
        vehicle = find_vehicle(fleet, str(raw["vehicle"]))
        soc = parse_soc(str(raw["soc"]))
        name = str(raw.get("name") or vehicle_session_name(vehicle, soc))
        classes = tuple(str(c).upper() for c in raw.get("power_classes", ("DC", "HPC")))
        start = dt.time.fromisoformat(str(raw.get("start", "12:00")))
    except KeyError as exc:
        raise ConfigError(f"{where}: missing key {exc.args[0]!r} (a vehicle session needs vehicle and soc)") from None
    except (ValueError, ConfigError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not classes or any(c not in POWER_CLASSES for c in classes):
        raise ConfigError(f"{where}: power_classes must be a non-empty list of AC, DC, HPC")
    parking = raw.get("parking_minutes", 0)
    if not isinstance(parking, int) or parking < 0:
        raise ConfigError(f"{where}: parking_minutes must be a whole number >= 0, got {parking!r}")
    return VehicleSession(name, classes, start, vehicle, soc[0], soc[1], parking, str(raw.get("description", "")))


def _parse_session(raw: Any, where: str) -> ReferenceSession:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    minutes, expired = raw.get("reservation_minutes"), raw.get("reservation_expired", False)
    if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0):
        raise ConfigError(f"{where}: reservation_minutes must be a whole number > 0, got {minutes!r}")
    if not isinstance(expired, bool):
        raise ConfigError(f"{where}: reservation_expired must be true or false, got {expired!r}")
    if expired:
        return _parse_expired_session(raw, where, minutes)
    try:
        name = str(raw["name"])
        classes = tuple(str(c).upper() for c in raw["power_classes"])
        start = dt.time.fromisoformat(str(raw["start"]))
        energy = to_decimal(raw["energy_kwh"], "energy_kwh")
        power = to_decimal(raw["power_kw"], "power_kw").quantize(_MILLI, ROUND_HALF_UP)
    except KeyError as exc:
        raise ConfigError(f"{where}: missing key {exc.args[0]!r} (name, power_classes, start, energy_kwh, "
                          "power_kw are required)") from None
    except (ValueError, TypeError, PricingError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not classes or any(c not in POWER_CLASSES for c in classes):
        raise ConfigError(f"{where}: power_classes must be a non-empty list of AC, DC, HPC")
    if energy <= 0 or power <= 0 or energy != energy.quantize(Decimal("0.000001")):
        raise ConfigError(f"{where}: energy_kwh and power_kw must be positive (energy to at most 6 decimals)")
    parking, connected = raw.get("parking_minutes"), raw.get("connected_minutes")
    if (parking is None) == (connected is None):
        raise ConfigError(f"{where}: give exactly one of parking_minutes or connected_minutes")
    for value in (parking, connected):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ConfigError(f"{where}: minutes must be a whole number >= 0, got {value!r}")
    return ReferenceSession(name, classes, start, energy, power, parking, connected, str(raw.get("description", "")),
                            reservation_minutes=minutes)


def _parse_expired_session(raw: Mapping[str, Any], where: str, minutes: int | None) -> ReferenceSession:
    """A reservation the driver never used: name, power_classes, start, reservation_minutes only."""
    if minutes is None:
        raise ConfigError(f"{where}: reservation_expired needs reservation_minutes")
    given = [k for k in ("energy_kwh", "power_kw", "parking_minutes", "connected_minutes") if k in raw]
    if given:
        raise ConfigError(f"{where}: an expired reservation charges nothing: remove {', '.join(given)}")
    try:
        name = str(raw["name"])
        classes = tuple(str(c).upper() for c in raw["power_classes"])
        start = dt.time.fromisoformat(str(raw["start"]))
    except KeyError as exc:
        raise ConfigError(f"{where}: missing key {exc.args[0]!r} (name, power_classes, start are required)") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not classes or any(c not in POWER_CLASSES for c in classes):
        raise ConfigError(f"{where}: power_classes must be a non-empty list of AC, DC, HPC")
    return ReferenceSession(name, classes, start, Decimal(0), Decimal(0), 0, None, str(raw.get("description", "")),
                            reservation_minutes=minutes, reservation_expired=True)


def profile_for(session: AnySession, max_power_kw: float | Decimal | None, amperage: int | None,
                power_class: str | None = None, power_type: str | None = None) -> AnyProfile:
    """The session on a connector: power capped by the connector's max power (to the watt).

    The current is the connector's rated amperage scaled by the share of its max power the car
    draws (rounded to the mA); unknown (None) without amperage or max power, in which case
    current restrictions hold, as they do for CDRs without current readings. A vehicle session
    follows its vehicle's curve (:func:`ecodata.pricing.vehicles.vehicle_profile_for`; the
    connector's ``power_class``, default the session's first, says whether DC or AC applies).
    """
    if isinstance(session, VehicleSession):
        return vehicle_profile_for(session, max_power_kw, amperage, power_class or session.power_classes[0],
                                   power_type)
    if session.reservation_expired:
        return Profile(session, 0, None)  # nothing is charged
    power = session.power_kw
    max_kw: Decimal | None = None
    if max_power_kw is not None:
        max_kw = max_power_kw if isinstance(max_power_kw, Decimal) else Decimal(repr(float(max_power_kw)))
        if max_kw > 0:
            power = min(power, max_kw)
    power_w = int((power * 1000).quantize(Decimal(1), ROUND_HALF_UP))
    if power_w <= 0:
        raise PricingError(f"connector max power {max_power_kw} kW is too small to charge")
    current_ma = None
    if amperage is not None and amperage > 0 and max_kw is not None and max_kw > 0:
        current_ma = int((Decimal(amperage) * Decimal(power_w) / max_kw).quantize(Decimal(1), ROUND_HALF_UP))
    return Profile(session, power_w, current_ma)


def build_session(profile: AnyProfile, tz: ZoneInfo, day: dt.date, breakpoints: Breakpoints,
                  *, contract_date: dt.date | None = None) -> Session:
    """The charging periods of a profile starting on ``day`` at the session's local start time."""
    energy_j = profile.session.energy_j
    tc = profile.charging_s
    end = tc + profile.parking_s
    start_local = dt.datetime.combine(day, profile.session.start, tzinfo=tz)
    start_utc = start_local.astimezone(dt.UTC)
    cuts = {0, tc, end}
    # local midnights and time-of-day edges, for every local day the session touches
    last_day = (start_utc + dt.timedelta(seconds=end)).astimezone(tz).date()
    d = day
    while d <= last_day:
        for tod in {0, *breakpoints.times_of_day}:
            for fold in (0, 1):  # a wall time occurs twice when clocks go back
                wall = dt.datetime.combine(d, dt.time(tod // 3600, tod % 3600 // 60, fold=fold), tzinfo=tz)
                cuts.add(int((wall.astimezone(dt.UTC) - start_utc).total_seconds()))
        d += dt.timedelta(days=1)
    cuts.update(breakpoints.durations)
    cuts.update(tc + x for x in breakpoints.overstays)
    for kwh in breakpoints.kwh:
        need = Fraction(kwh) * _J_PER_KWH
        if need < energy_j:
            cuts.add(profile.first_second_reaching(need))  # first whole second with energy >= threshold
    cuts.update(profile.switch_seconds(breakpoints.powers_kw, breakpoints.currents_a))
    points = sorted(c for c in cuts if 0 <= c <= end)
    periods = []
    for a, b in itertools.pairwise(points):
        charging = a < tc
        e = profile.energy_at(b) - profile.energy_at(a)
        current = profile.current_ma_at(a) if charging else None
        periods.append(Period(
            start=start_utc + dt.timedelta(seconds=a),
            offset_s=Decimal(a),
            energy_kws=Decimal(e).scaleb(-3),
            time_s=Decimal(b - a) if charging else Decimal(0),
            parking_s=Decimal(0) if charging else Decimal(b - a),
            power_kw=Decimal(profile.power_w_at(a)).scaleb(-3) if charging else None,
            current_a=None if current is None else Decimal(current).scaleb(-3),
            since_charge_end_s=None if charging else Decimal(a - tc),
        ))
    reservation: tuple[Period, ...] = ()
    minutes = getattr(profile.session, "reservation_minutes", None)
    if minutes:
        reservation = (Period(start=start_utc - dt.timedelta(minutes=minutes), offset_s=Decimal(0),
                              time_s=Decimal(minutes * 60)),)
    return Session(start=start_utc, periods=tuple(periods), total_time_s=Decimal(end),
                   contract_date=contract_date, reservation=reservation,
                   reservation_expired=bool(getattr(profile.session, "reservation_expired", False)))


def price_reference(tariff: Tariff, profile: AnyProfile, timezone: str, day: dt.date,
                    *, policy: RoundingPolicy | None = None) -> dict[str, Any]:
    """Price one reference session on one connector profile with the scalar engine (CDR totals)."""
    return price_reference_costs(tariff, profile, timezone, day).rounded(policy)


def price_reference_costs(tariff: Tariff, profile: AnyProfile, timezone: str, day: dt.date) -> Costs:
    """Exact costs of one reference session (split at this tariff's own thresholds)."""
    session = build_session(profile, zone(timezone), day, tariff_breakpoints([tariff]))
    return price_session(tariff, session, zone(timezone))



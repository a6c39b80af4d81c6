"""Vehicles and vehicle sessions: a car's charging curve turned into an exact charging profile.

A :class:`Vehicle` is one row of ``vehicles.toml`` (shipped; ``Settings.vehicles_file`` or a
``vehicles=`` argument overrides it, TOML or CSV): usable battery, on-board AC charger (phases,
kW), DC charging curve as (state of charge %, kW) points, consumption per 100 km, and the source
of each figure.

A :class:`VehicleSession` charges a vehicle from one SoC to another, starting at a local time,
then stays parked ``parking_minutes`` (the dwell after charging). On a connector it becomes a
:class:`VehicleProfile`, integrated in whole seconds (the same time grid as the reference
sessions): in second ``k`` the car draws ``P_k = min(curve(SoC_k), cap)`` watts (rounded half up
to the watt), where ``SoC_k`` is the state of charge reached at the start of that second and
``cap`` the connector's limit for that car; the last second delivers only what is left. So
every energy is a whole number of joules and every duration a whole number of seconds, and the
session is priced exactly (no float anywhere). Against the continuous curve (dE/dt = P(E)) the
per-second steps shift the charging time by well under a second on the shipped curves (tested
against a 1 ms integration), i.e. less than a cent at per-minute prices up to 0.60 EUR/min.

* DC and HPC connectors: ``cap = connector max power``; the curve is interpolated linearly
  between its points (a repeated SoC is a step down or up at that SoC).
* AC connectors: the car charges at its on-board limit, ``cap = min(ac_max_kw, connector max
  power x usable phases / connector phases)`` (usable phases = the fewer of the car's and the
  connector's; a connector whose ``power_type`` does not say its phases is taken to have the
  car's), at constant power over the whole window (AC taper near 100 % is not modelled).
* The current, for current restrictions, is the connector's amperage scaled by the share of its
  max power drawn in that second (to the mA), as for reference sessions; unknown without amperage.

Periods are split, besides the reference sessions' cut points, at the first second whose power
or current is on the other side of a power / current restriction threshold of the tariffs
priced, so each period's power and current (those of its first second) decide its restrictions
exactly as a CDR's MAX_POWER / MAX_CURRENT would.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import functools
import io
import itertools
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from ecodata.errors import ConfigError, PricingError
from ecodata.pricing.model import to_decimal
from ecodata.settings import read_packaged_or_file

_J_PER_KWH = 3_600_000
MAX_CHARGING_S = 7 * 86_400   # a vehicle session that would charge longer than a week is refused
PHASES_OF_POWER_TYPE = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3}
VEHICLE_FIELDS = ("name", "label", "battery_kwh", "ac_phases", "ac_max_kw", "dc_curve",
                  "consumption_kwh_per_100km", "source_battery", "source_charging", "source_consumption")


@dataclass(frozen=True)
class Vehicle:
    """One car: battery (usable kWh), AC charger, DC curve ((SoC %, kW) points), consumption."""

    name: str
    label: str
    battery_kwh: Decimal
    ac_phases: int
    ac_max_kw: Decimal
    dc_curve: tuple[tuple[Decimal, Decimal], ...]
    consumption_kwh_per_100km: Decimal
    source_battery: str
    source_charging: str
    source_consumption: str

    @property
    def battery_j(self) -> int:
        return int(self.battery_kwh * _J_PER_KWH)

    def dc_kw(self, soc_percent: Decimal | float) -> Decimal:
        """The curve's power at a state of charge (%), interpolated (for plots and checks)."""
        watts = _curve_w(_curve_points(self), int(Decimal(str(soc_percent)) * self.battery_j * 100))
        return Decimal(watts).scaleb(-3)


@dataclass(frozen=True)
class VehicleSession:
    """A vehicle charged from ``soc_from`` to ``soc_to`` percent, starting at local ``start``,
    then parked ``parking_minutes``; fits connectors of ``power_classes``."""

    name: str
    power_classes: tuple[str, ...]
    start: dt.time
    vehicle: Vehicle
    soc_from: int
    soc_to: int
    parking_minutes: int = 0
    description: str = ""

    @property
    def energy_kwh(self) -> Decimal:
        return self.vehicle.battery_kwh * (self.soc_to - self.soc_from) / 100

    @property
    def energy_j(self) -> int:
        return self.vehicle.battery_j * (self.soc_to - self.soc_from) // 100

    @property
    def distance_km(self) -> Decimal:
        """Kilometres the delivered energy drives at the vehicle's consumption."""
        return self.energy_kwh * 100 / self.vehicle.consumption_kwh_per_100km


# --- loading ----------------------------------------------------------------------------------


def load_vehicles(path: Path | None = None) -> tuple[Vehicle, ...]:
    """The vehicles of ``path`` (``.toml`` with ``[[vehicle]]`` tables, or ``.csv`` with the
    columns of :data:`VEHICLE_FIELDS`, ``dc_curve`` written ``"0:150 10:250 ..."``) or the
    shipped ``vehicles.toml``."""
    text, source = read_packaged_or_file("ecodata.pricing", "vehicles.toml", path, "vehicles")
    if path is not None and Path(path).suffix.lower() == ".csv":
        rows: list[Any] = list(csv.DictReader(io.StringIO(text)))
        missing = [f for f in VEHICLE_FIELDS if rows and f not in rows[0]]
        if missing:
            raise ConfigError(f"the vehicles file {source} lacks the column(s) {', '.join(missing)}")
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"the vehicles file {source} is not valid TOML: {exc}") from None
        rows = data.get("vehicle") or []
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"the vehicles file {source} has no vehicles ([[vehicle]] tables or CSV rows)")
    vehicles = tuple(_parse_vehicle(r, f"{source} vehicle {i + 1}") for i, r in enumerate(rows))
    names = [v.name for v in vehicles]
    if len(set(names)) != len(names):
        raise ConfigError(f"the vehicles file {source} repeats a vehicle name: {sorted(names)}")
    return vehicles


def _parse_vehicle(raw: Any, where: str) -> Vehicle:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    try:
        name = str(raw["name"]).strip()
        battery = to_decimal(raw["battery_kwh"], "battery_kwh")
        phases = int(raw["ac_phases"])
        ac_kw = to_decimal(raw["ac_max_kw"], "ac_max_kw")
        curve = _parse_curve(raw["dc_curve"])
        consumption = to_decimal(raw["consumption_kwh_per_100km"], "consumption_kwh_per_100km")
        sources = [str(raw[f"source_{k}"]).strip() for k in ("battery", "charging", "consumption")]
    except KeyError as exc:
        raise ConfigError(f"{where}: missing key {exc.args[0]!r} (needs {', '.join(VEHICLE_FIELDS)})") from None
    except (ValueError, TypeError, PricingError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not name or not all(sources):
        raise ConfigError(f"{where}: name and every source_* must be non-empty")
    if battery <= 0 or battery != battery.quantize(Decimal("0.001")):
        raise ConfigError(f"{where}: battery_kwh must be positive, with at most 3 decimals")
    if phases not in (1, 2, 3) or ac_kw <= 0 or consumption <= 0:
        raise ConfigError(f"{where}: ac_phases must be 1, 2 or 3; ac_max_kw and consumption positive")
    socs = [s for s, _ in curve]
    if socs[0] != 0 or socs[-1] != 100 or any(b < a for a, b in itertools.pairwise(socs)) or any(
            s != s.quantize(Decimal("0.01")) for s in socs) or any(p <= 0 for _, p in curve):
        raise ConfigError(f"{where}: dc_curve must run from SoC 0 to 100 (non-decreasing, at most 2 decimals) "
                          "with positive kW")
    return Vehicle(name, str(raw.get("label", name)), battery, phases, ac_kw, curve, consumption, *sources)


def _parse_curve(raw: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    if isinstance(raw, str):  # CSV: "0:150 10:250 ..."
        raw = [p.split(":") for p in raw.split()]
    if not isinstance(raw, list) or len(raw) < 2:
        raise ValueError("dc_curve must list at least two [SoC %, kW] points")
    points = []
    for p in raw:
        if not isinstance(p, list | tuple) or len(p) != 2:
            raise ValueError(f"dc_curve point {p!r} must be [SoC %, kW]")
        points.append((to_decimal(p[0], "dc_curve SoC"), to_decimal(p[1], "dc_curve kW")))
    return tuple(points)


def find_vehicle(vehicles: Iterable[Vehicle], name: str) -> Vehicle:
    """The vehicle called ``name`` (case-insensitive), or a ConfigError listing the names."""
    by_name = {v.name.upper(): v for v in vehicles}
    found = by_name.get(name.strip().upper())
    if found is None:
        raise ConfigError(f"unknown vehicle {name!r}: use one of {', '.join(sorted(by_name))}")
    return found


def parse_soc(text: str) -> tuple[int, int]:
    """``"10-80"`` -> (10, 80): whole percents, 0 <= from < to <= 100."""
    try:
        a, b = (int(x) for x in str(text).split("-"))
    except ValueError:
        raise ConfigError(f"invalid SoC window {text!r}: use FROM-TO in whole percent, e.g. 10-80") from None
    if not 0 <= a < b <= 100:
        raise ConfigError(f"invalid SoC window {text!r}: need 0 <= FROM < TO <= 100")
    return a, b


def vehicle_session_name(vehicle: Vehicle, soc: tuple[int, int]) -> str:
    """The default name of a vehicle session: ``<VEHICLE>_<FROM>_<TO>``, e.g. ``VW_ID3_PRO_10_80``."""
    return f"{vehicle.name}_{soc[0]}_{soc[1]}"


def eur_per_100km(cost: Decimal, session: VehicleSession) -> Decimal:
    """A session's cost per 100 km driven on its energy (cost x consumption / energy)."""
    return cost * session.vehicle.consumption_kwh_per_100km / session.energy_kwh


def vehicle_session(vehicle: Vehicle, soc: tuple[int, int], *, name: str | None = None,
                    power_classes: tuple[str, ...] = ("DC", "HPC"), start: dt.time = dt.time(12, 0),
                    parking_minutes: int = 0) -> VehicleSession:
    """A vehicle session, named ``<VEHICLE>_<FROM>_<TO>`` unless ``name`` is given."""
    return VehicleSession(name or vehicle_session_name(vehicle, soc), power_classes, start, vehicle,
                          soc[0], soc[1], parking_minutes, f"{vehicle.label}, {soc[0]} -> {soc[1]} %")


# --- the profile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VehicleProfile:
    """A vehicle session on one kind of connector: the per-second power and energy.

    ``cap_w`` is the connector's limit for this car (W), ``dc`` whether the curve applies (else
    constant AC power), ``amps_per_kw`` the connector's amperage / max power (None: current unknown).
    """

    session: VehicleSession
    cap_w: int
    dc: bool
    amps_per_kw: Fraction | None

    @functools.cached_property
    def _trace(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return _integrate(self.session.vehicle, self.session.soc_from, self.session.energy_j, self.cap_w, self.dc)

    @property
    def powers_w(self) -> tuple[int, ...]:
        """The power drawn in each charging second (W)."""
        return self._trace[0]

    @property
    def charging_s(self) -> int:
        return len(self._trace[0])

    @property
    def parking_s(self) -> int:
        return self.session.parking_minutes * 60

    @property
    def mean_power_w(self) -> int:
        """Session energy over charging time, to the watt (reported as ``charging_power_kw``)."""
        return (2 * self.session.energy_j + self.charging_s) // (2 * self.charging_s)

    def energy_at(self, t: int) -> int:
        """Joules delivered after ``t`` seconds."""
        cum = self._trace[1]
        return cum[min(max(t, 0), len(cum) - 1)]

    def first_second_reaching(self, joules: Fraction) -> int:
        """The first whole second at which the energy so far is at least ``joules``."""
        return bisect.bisect_left(self._trace[1], joules)

    def power_w_at(self, t: int) -> int:
        return self._trace[0][t]

    def current_ma_at(self, t: int) -> int | None:
        if self.amps_per_kw is None:
            return None
        return _round_half_up(Fraction(self._trace[0][t]) * self.amps_per_kw)

    def switch_seconds(self, powers_kw: Iterable[Decimal], currents_a: Iterable[Decimal]) -> set[int]:
        """Charging seconds at which the power or current crosses one of the thresholds."""
        # power >= X kW  <=>  P_W >= ceil(1000 X); current >= Y A  <=>  round_half_up(P_W x r) >= 1000 Y
        # <=> P_W >= ceil((1000 Y - 1/2) / r): every threshold becomes a whole-watt one.
        thresholds = {math.ceil(Fraction(x) * 1000) for x in powers_kw}
        if self.amps_per_kw is not None:
            thresholds |= {math.ceil((Fraction(y) * 1000 - Fraction(1, 2)) / self.amps_per_kw) for y in currents_a}
        return set(_switches(self._trace[0], tuple(sorted(thresholds)))) if thresholds else set()


@functools.lru_cache(maxsize=4096)
def _switches(powers: tuple[int, ...], thresholds: tuple[int, ...]) -> tuple[int, ...]:
    """Seconds t > 0 at which the count of thresholds <= power changes."""
    if len(set(powers)) <= 1:
        return ()
    out = []
    prev = bisect.bisect_right(thresholds, powers[0])
    for t in range(1, len(powers)):
        k = bisect.bisect_right(thresholds, powers[t])
        if k != prev:
            out.append(t)
            prev = k
    return tuple(out)


def vehicle_profile_for(session: VehicleSession, max_power_kw: float | Decimal | None, amperage: int | None,
                        power_class: str | None, power_type: str | None = None) -> VehicleProfile:
    """A vehicle session on a connector (see the module docstring for the cap and current)."""
    vehicle = session.vehicle
    max_kw: Decimal | None = None
    if max_power_kw is not None:
        max_kw = max_power_kw if isinstance(max_power_kw, Decimal) else Decimal(repr(float(max_power_kw)))
        if max_kw <= 0:
            max_kw = None
    dc = power_class in ("DC", "HPC")
    if dc:
        cap = max_kw if max_kw is not None else max(p for _, p in vehicle.dc_curve)
    else:
        conn_phases = PHASES_OF_POWER_TYPE.get(power_type or "", vehicle.ac_phases)
        usable = min(vehicle.ac_phases, conn_phases)
        cap = vehicle.ac_max_kw if max_kw is None else min(vehicle.ac_max_kw, max_kw * usable / conn_phases)
    cap_w = int((cap * 1000).quantize(Decimal(1), ROUND_HALF_UP))
    if cap_w <= 0:
        raise PricingError(f"connector max power {max_power_kw} kW is too small to charge")
    ratio = None
    if amperage is not None and amperage > 0 and max_kw is not None:
        ratio = Fraction(amperage) / Fraction(max_kw)   # A per kW = mA per W
    return VehicleProfile(session, cap_w, dc, ratio)


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def _curve_points(vehicle: Vehicle) -> tuple[tuple[int, int], ...]:
    """The DC curve as (SoC position, power W); a position is joules in the battery x 10,000,
    i.e. battery_J x SoC% x 100, so SoC points with two decimals are whole numbers."""
    return tuple((int(soc * 100) * vehicle.battery_j, int((kw * 1000).quantize(Decimal(1), ROUND_HALF_UP)))
                 for soc, kw in vehicle.dc_curve)


def _curve_w(points: tuple[tuple[int, int], ...], s: int, xs: list[int] | None = None) -> int:
    """Power (W) at the SoC position ``s``: linear between points, right-continuous, half up."""
    i = bisect.bisect_right(xs if xs is not None else [x for x, _ in points], s) - 1
    if i < 0:
        return points[0][1]
    if i >= len(points) - 1:
        return points[-1][1]
    (x0, p0), (x1, p1) = points[i], points[i + 1]
    num = (p1 - p0) * (s - x0)
    den = x1 - x0
    return p0 + (2 * num + den) // (2 * den)   # rounded half up to the watt


@functools.lru_cache(maxsize=4096)
def _integrate(vehicle: Vehicle, soc_from: int, energy_j: int, cap_w: int, dc: bool) -> tuple[
        tuple[int, ...], tuple[int, ...]]:
    """(power per charging second in W, energy after each whole second in J, from 0)."""
    powers: list[int] = []
    cum = [0]
    if not dc:
        p = min(cap_w, int((vehicle.ac_max_kw * 1000).quantize(Decimal(1), ROUND_HALF_UP)))
        n = -(-energy_j // p)
        if n > MAX_CHARGING_S:
            raise PricingError(f"{vehicle.name} would charge for more than a week at {p} W")
        return (p,) * n, (*range(0, p * n, p), energy_j)   # p x t, then all of it at the last second
    points = _curve_points(vehicle)
    xs = [x for x, _ in points]
    start = vehicle.battery_j * soc_from * 100   # the SoC position in J x 10,000 (see _curve_points)
    e = 0
    while e < energy_j:
        p = min(_curve_w(points, start + e * 10_000, xs), cap_w)
        powers.append(p)
        e = min(e + p, energy_j)
        cum.append(e)
        if len(powers) > MAX_CHARGING_S:
            raise PricingError(f"{vehicle.name} would charge for more than a week on this connector")
    return tuple(powers), tuple(cum)

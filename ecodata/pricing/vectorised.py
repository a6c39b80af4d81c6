"""Vectorised evaluation: every (connector, price, reference session) of a snapshot, in polars.

Prices are shared by hundreds of connectors, so the work is split in three:

1. *Profiles* (Python, small): each distinct connector kind (power class, max power, amperage,
   time zone) x fitting session gives a profile (capped power, current, zone); its charging
   periods are built once by :mod:`ecodata.pricing.sessions`, split at the union of every
   price's thresholds (finer splitting never changes a price).
2. *Pricing* (polars): each distinct (price, profile) pair is priced with the scalar engine's
   rules, written as joins and group-bys over integers: money is carried as exact integer
   numerators over a fixed denominator (excl. VAT: 3.6e12, incl. VAT: 3.6e18), so sums are exact
   and each total is rounded once, with the same rational rounding as the scalar engine.
3. *Join back*: the priced pairs are gathered for every connector that shares them, per session
   and slice of connector_prices (:func:`session_costs_chunks` yields them one by one, so the
   build writes the table in bounded memory; :func:`session_costs` concatenates them).

Units: prices in micro-units (x 1e6), VAT in 1e-4 percent, energy in joules, time in seconds,
power in mW, current in µA. The inputs are Eco-Movement price records (the ``prices`` tables) or
OCPI tariffs in the same shape (:func:`ecodata.pricing.tariff_tables.tariff_price_tables`), whose
``prices`` rows may add ``tax_included`` (OCPI 2.3.0) and the tariff-level ``min_price_*`` /
``max_price_*`` bounds. A tax-inclusive price (YES) has amounts before taxes of
``price x 100 / (100 + vat)``: its excl. VAT numerators are kept over 3.6e12 x (1e6 + 100 x vat_u),
one denominator per price (one VAT rate per such price). A reservation is one more period per
profile (``res_s`` reserved seconds) that only reservation elements price.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from ecodata.errors import PricingError
from ecodata.pricing.model import WEEKDAYS, Breakpoints
from ecodata.pricing.scalar import RoundingPolicy
from ecodata.pricing.scalar import zone as _zone
from ecodata.pricing.sessions import (
    AnyProfile,
    AnySession,
    Profile,
    build_session,
    load_sessions,
    profile_for,
)
from ecodata.tables.schemas import (
    KIND_COLUMNS,
    PRICE_INCL,
    QUANTITY,
    SESSION_COSTS,
    SESSION_PRICE_COSTS,
    SESSION_PROFILES,
)

DEN_EXCL = 3_600_000_000_000          # money = N / DEN_EXCL
DEN_INCL = DEN_EXCL * 1_000_000        # money incl. VAT = NI / DEN_INCL
_I128 = pl.Int128()
_KNOWN_TYPES = ("ENERGY", "TIME", "PARKING_TIME", "FLAT")
PARTS = ("energy", "time", "parking", "flat", "reservation")
_PART = {"ENERGY": "energy", "TIME": "time", "PARKING_TIME": "parking", "FLAT": "flat",
         "RESERVATION_TIME": "reservation", "RESERVATION_FLAT": "reservation"}
# Optional columns of a ``prices`` frame of OCPI tariffs (absent on Eco-Movement price records).
TARIFF_TERMS = ("tax_included", "min_price_excl_vat", "min_price_incl_vat", "max_price_excl_vat",
                "max_price_incl_vat")
DEFAULT_KWH_PER_MONTH = Decimal(100)
# Months over which a fee is spread to get a monthly equivalent (one-off: 3 years, as connect+umlaut).
# connector_prices rows per yielded frame of session_costs_chunks (bounds the build's memory).
CHUNK_ROWS = 250_000
SUBSCRIPTION_MONTHS = {"month": 1, "monthly": 1, "yearly": 12, "annual": 12, "one-off": 36}


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _scaled(col: str, factor: int) -> pl.Expr:
    """A Decimal column as an exact integer count of 1/factor units."""
    return (pl.col(col) * factor).cast(pl.Int64)


def _tod(col: str) -> pl.Expr:
    return (pl.col(col).dt.hour().cast(pl.Int32) * 3600 + pl.col(col).dt.minute().cast(pl.Int32) * 60)


def round_expr(num: pl.Expr, den: pl.Expr | int, policy: RoundingPolicy) -> pl.Expr:
    """``num / den`` (Int128, den > 0) rounded to ``policy.places`` decimals, as an Int128 count
    of 10^-places units; the same rational rounding as :func:`ecodata.pricing.scalar.round_fraction`."""
    if policy.places is None:
        raise PricingError("the vectorised evaluator needs a rounding policy with places (it returns decimals)")
    n = num.cast(_I128) * (10 ** policy.places)
    d = den.cast(_I128) if isinstance(den, pl.Expr) else pl.lit(den, dtype=_I128)
    a = n.abs()
    fl = a // d
    rem = a % d
    negative = n < 0
    mode = policy.rounding
    if mode == decimal.ROUND_HALF_UP:
        up = rem * 2 >= d
    elif mode == decimal.ROUND_HALF_DOWN:
        up = rem * 2 > d
    elif mode == decimal.ROUND_HALF_EVEN:
        up = (rem * 2 > d) | ((rem * 2 == d) & (fl % 2 == 1))
    elif mode == decimal.ROUND_UP:
        up = rem > 0
    elif mode == decimal.ROUND_DOWN:
        up = pl.lit(False)
    elif mode == decimal.ROUND_CEILING:
        up = (rem > 0) & ~negative
    else:
        up = (rem > 0) & negative
    mag = fl + pl.when(up).then(pl.lit(1, dtype=_I128)).otherwise(pl.lit(0, dtype=_I128))
    return pl.when(negative).then(pl.lit(0, dtype=_I128) - mag).otherwise(mag)


def to_decimal_expr(q: pl.Expr, places: int, dtype: pl.DataType = PRICE_INCL) -> pl.Expr:
    """An Int128 count of 10^-places units as a polars Decimal (exact)."""
    unit = Decimal(1).scaleb(-places)
    return (q.cast(pl.Decimal(38, 0)) * pl.lit(unit, dtype=pl.Decimal(38, places))).cast(dtype)


# --- step 1: profiles and periods ----------------------------------------------------------


def breakpoints_of(price_elements: pl.DataFrame | pl.LazyFrame) -> Breakpoints:
    """The union of every price element's thresholds (times of day, durations, overstays, kWh,
    power and current)."""
    pe = _lazy(price_elements)
    times = pe.select(pl.concat([_tod("start_time"), _tod("end_time")]).drop_nulls().unique().alias("t"))
    durs = pe.select(pl.concat([pl.col("min_duration_s"), pl.col("max_duration_s")]).drop_nulls().unique().alias("d"))
    over = pe.select(pl.col("overstay_duration_s").drop_nulls().unique().alias("o"))
    kwh = pe.select(pl.concat([pl.col("min_kwh"), pl.col("max_kwh")]).drop_nulls().unique().alias("k"))
    kw = pe.select(pl.concat([pl.col("min_power_kw"), pl.col("max_power_kw")]).drop_nulls().unique().alias("p"))
    amps = pe.select(pl.concat([pl.col("min_current_a"), pl.col("max_current_a")]).drop_nulls().unique().alias("a"))
    t, d, o, k, p, a = pl.collect_all([times, durs, over, kwh, kw, amps])
    return Breakpoints(
        frozenset(int(x) for x in t["t"]),
        frozenset(int(x) for x in d["d"] if x > 0),
        frozenset(max(int(x), 0) for x in o["o"]),
        frozenset(Decimal(x) for x in k["k"] if x > 0),
        frozenset(Decimal(x) for x in p["p"]),
        frozenset(Decimal(x) for x in a["a"]),
    )


def profile_shape(profile: AnyProfile) -> tuple[Any, ...]:
    """What makes two connector kinds run a session identically (besides the time zone): the
    capped power and current of a reference session; a vehicle session's power cap, whether its
    DC curve applies and its amps per kW."""
    if isinstance(profile, Profile):
        return ("ref", profile.power_w, profile.current_ma)
    return ("vehicle", profile.cap_w, profile.dc, profile.amps_per_kw)


def profile_name(shape: tuple[Any, ...], time_zone: str) -> str:
    """The stable text id of a profile, from its shape and zone (never a run's integer id), so a
    day-to-day diff of ``session_price_costs`` sees only real changes.

    ``7400W_32000mA@Europe/Berlin`` (current unknown: ``_?mA``); vehicle sessions
    ``cap150000W_dc_1/2A-per-kW@Europe/Berlin`` (``ac`` when the curve does not apply, ``?A-per-kW``
    when the current is unknown).
    """
    if shape[0] == "ref":
        _, power_w, current_ma = shape
        return f"{power_w}W_{'?' if current_ma is None else current_ma}mA@{time_zone}"
    _, cap_w, dc, amps_per_kw = shape
    ratio = "?" if amps_per_kw is None else f"{amps_per_kw.numerator}/{amps_per_kw.denominator}"
    return f"cap{cap_w}W_{'dc' if dc else 'ac'}_{ratio}A-per-kW@{time_zone}"


def build_profiles(kinds: pl.DataFrame, sessions: Sequence[AnySession], day: dt.date,
                   breakpoints: Breakpoints, session_days: Mapping[str, dt.date] | None = None,
                   ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Profiles for each connector kind x fitting session.

    Sessions start on ``day`` at their local start time, or on ``session_days[name]`` for the
    sessions named there (:mod:`ecodata.pricing.hours` starts one session on every day of a week).

    ``kinds`` has (power_class, max_power_kw, amperage, time_zone, power_type) rows. Returns
    (kind_map, profiles, periods): kind_map links a kind and session to a profile_id; profiles
    has (profile_id, session, profile (the stable text id, :func:`profile_name`), power_w (a vehicle session's mean power), current_ma (None when it
    varies), time_zone, energy_j); periods has one row per charging period of each profile.
    """
    keys: dict[tuple[Any, ...], int] = {}
    built: dict[int, AnyProfile] = {}
    map_rows: list[tuple[Any, ...]] = []
    for power_class, max_kw, amperage, tz, power_type in kinds.iter_rows():
        for s in sessions:
            if power_class not in s.power_classes:
                continue
            try:
                p = profile_for(s, max_kw, amperage, power_class, power_type)
            except PricingError:
                continue  # a connector too weak to charge at all (max power under 1 W) fits no session
            key = (s.name, profile_shape(p), tz or "UTC")
            pid = keys.setdefault(key, len(keys))
            built.setdefault(pid, p)
            map_rows.append((power_class, max_kw, amperage, tz, power_type, s.name, pid))
    prof_rows = []
    period_rows: list[tuple[Any, ...]] = []
    for (name, shape, tz), pid in keys.items():
        profile = built[pid]
        current = profile.current_ma if isinstance(profile, Profile) else None
        prof_rows.append((pid, name, profile_name(shape, tz), profile.mean_power_w, current, tz,
                          profile.session.energy_j))
        zone = _zone(tz)
        session = build_session(profile, zone, (session_days or {}).get(name, day), breakpoints)
        for per in session.reservation:  # period_idx -1: before the charging periods
            local = per.start.astimezone(zone)
            period_rows.append((pid, -1, 0, local.hour * 3600 + local.minute * 60 + local.second, local.date(),
                                WEEKDAYS[local.weekday()], 0, 0, 0, None, None, None, int(per.time_s),
                                session.reservation_expired))
        for i, per in enumerate(session.periods):
            local = per.start.astimezone(zone)
            period_rows.append((
                pid, i, int(per.offset_s), local.hour * 3600 + local.minute * 60 + local.second, local.date(),
                WEEKDAYS[local.weekday()], int(per.energy_kws * 1000), int(per.time_s), int(per.parking_s),
                None if per.power_kw is None else int(per.power_kw * 1_000_000),
                None if per.current_a is None else int(per.current_a * 1_000_000),
                None if per.since_charge_end_s is None else int(per.since_charge_end_s), 0, False,
            ))
    kind_map = pl.DataFrame(map_rows, schema={
        "power_class": pl.String, "max_power_kw": pl.Float64, "amperage": pl.Int32, "time_zone": pl.String,
        "power_type": pl.String, "session": pl.String, "profile_id": pl.Int32}, orient="row")
    profiles = pl.DataFrame(prof_rows, schema={
        "profile_id": pl.Int32, "session": pl.String, "profile": pl.String, "power_w": pl.Int64, "current_ma": pl.Int64,
        "profile_tz": pl.String, "energy_j": pl.Int64}, orient="row")
    periods = pl.DataFrame(period_rows, schema={
        "profile_id": pl.Int32, "period_idx": pl.Int32, "offset_s": pl.Int64, "tod_s": pl.Int32,
        "local_date": pl.Date, "weekday": pl.String, "energy_j": pl.Int64, "time_s": pl.Int64,
        "parking_s": pl.Int64, "power_mw": pl.Int64, "current_ua": pl.Int64, "since_end_s": pl.Int64,
        "res_s": pl.Int64, "expired": pl.Boolean},
        orient="row")
    periods = periods.with_columns(
        pl.col("energy_j").cum_sum().over("profile_id").alias("energy_after_j"),
    ).with_columns((pl.col("energy_after_j") - pl.col("energy_j")).alias("energy_before_j")).drop("energy_after_j")
    return kind_map, profiles, periods


# --- step 2: element components -------------------------------------------------------------


def element_components(price_elements: pl.DataFrame | pl.LazyFrame,
                       price_components: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """One row per (price, element, dimension): the element's first component of that type, with
    its restrictions as scaled integers."""
    comps = _lazy(price_components).select(
        "price_id", "element_index", "component_index", "type",
        _scaled("price_excl_vat", 1_000_000).alias("price_u"),
        _scaled("vat", 10_000).alias("vat_u"),
        pl.col("step_size").cast(pl.Int64).fill_null(1).alias("step"),  # absent = 1, as in the scalar parser
    )
    per_type = comps.sort("component_index").group_by("price_id", "element_index", "type").agg(
        pl.col("price_u").first(), pl.col("vat_u").first(), pl.col("step").first(),
        pl.col("component_index").first().alias("comp_order"))
    el = _lazy(price_elements).select(
        "price_id", "element_index",
        _tod("start_time").alias("r_start_tod"), _tod("end_time").alias("r_end_tod"),
        pl.col("start_date").alias("r_start_date"), pl.col("end_date").alias("r_end_date"),
        _scaled("min_kwh", 1_000_000).alias("r_min_kwh_u"), _scaled("max_kwh", 1_000_000).alias("r_max_kwh_u"),
        _scaled("min_current_a", 1_000_000).alias("r_min_current_ua"),
        _scaled("max_current_a", 1_000_000).alias("r_max_current_ua"),
        _scaled("min_power_kw", 1_000_000).alias("r_min_power_mw"),
        _scaled("max_power_kw", 1_000_000).alias("r_max_power_mw"),
        pl.col("min_duration_s").alias("r_min_dur"), pl.col("max_duration_s").alias("r_max_dur"),
        pl.col("day_of_week").alias("r_dow"), pl.col("reservation").alias("r_reservation"),
        pl.col("overstay_duration_s").alias("r_overstay"),
        _scaled("restriction_min_price", 1_000_000).alias("r_min_price_u"),
        _scaled("restriction_max_price", 1_000_000).alias("r_max_price_u"),
        pl.col("emsp_contract_date").alias("r_contract_date"),
    )
    return per_type.join(el, on=["price_id", "element_index"], how="left")


def _holds(contract_date: dt.date) -> pl.Expr:
    """Every restriction of the candidate element holds at the period's start (scalar rules)."""
    c = pl.col
    end = pl.when(c("r_end_tod") == 0).then(86400).otherwise(c("r_end_tod"))
    window = (
        pl.when(c("r_start_tod").is_null() & c("r_end_tod").is_null()).then(True)
        .when(c("r_start_tod").is_null()).then(c("tod_s") < end)
        .when(c("r_end_tod").is_null()).then(c("tod_s") >= c("r_start_tod"))
        .when(c("r_start_tod") < end).then((c("tod_s") >= c("r_start_tod")) & (c("tod_s") < end))
        .when(c("r_start_tod") > end).then((c("tod_s") >= c("r_start_tod")) | (c("tod_s") < end))
        .otherwise(True)
    )
    dow = c("r_dow").is_null() | (c("r_dow").list.len() == 0) | c("r_dow").list.contains(c("weekday"))
    # a reservation period only matches reservation elements (RESERVATION_EXPIRES only when it
    # expired), a charging period only the others
    reservation = (pl.when(c("res_s") > 0)
                   .then((c("r_reservation") == "RESERVATION")
                         | (c("expired") & (c("r_reservation") == "RESERVATION_EXPIRES")))
                   .otherwise(c("r_reservation").is_null()))
    return (
        reservation
        & window
        & (c("r_start_date").is_null() | (c("local_date") >= c("r_start_date")))
        & (c("r_end_date").is_null() | (c("local_date") < c("r_end_date")))
        & dow
        & (c("r_min_kwh_u").is_null() | (c("energy_before_j") * 10 >= c("r_min_kwh_u") * 36))
        & (c("r_max_kwh_u").is_null() | (c("energy_before_j") * 10 < c("r_max_kwh_u") * 36))
        & (c("r_min_dur").is_null() | (c("offset_s") >= c("r_min_dur")))
        & (c("r_max_dur").is_null() | (c("offset_s") < c("r_max_dur")))
        & (c("power_mw").is_null() | c("r_min_power_mw").is_null() | (c("power_mw") >= c("r_min_power_mw")))
        & (c("power_mw").is_null() | c("r_max_power_mw").is_null() | (c("power_mw") < c("r_max_power_mw")))
        & (c("current_ua").is_null() | c("r_min_current_ua").is_null() | (c("current_ua") >= c("r_min_current_ua")))
        & (c("current_ua").is_null() | c("r_max_current_ua").is_null() | (c("current_ua") < c("r_max_current_ua")))
        & (c("r_overstay").is_null() | (c("since_end_s").is_not_null() & (c("since_end_s") >= c("r_overstay"))))
        & (c("r_contract_date").is_null() | (pl.lit(contract_date) >= c("r_contract_date")))
    ).fill_null(False)


def _incl(n: pl.Expr, vat_u: pl.Expr) -> pl.Expr:
    """Excl. numerator -> incl. numerator (denominator x 1e6): x (1e6 + 100 x vat_u)."""
    factor = pl.when(vat_u.is_null()).then(1_000_000).otherwise(vat_u + 1_000_000)
    return n.cast(_I128) * factor.cast(_I128)


# --- step 2: pricing distinct (price, profile) pairs ----------------------------------------


def price_pairs(pairs: pl.LazyFrame, periods: pl.DataFrame, ec: pl.LazyFrame, *, contract_date: dt.date,
                policy: RoundingPolicy, price_key: str = "price_id", terms: pl.LazyFrame | None = None
                ) -> pl.LazyFrame:
    """Price each distinct (price_id, profile_id) pair: exact numerators and rounded parts.

    ``price_key`` names the column identifying a price in ``pairs`` and ``ec`` (an integer code
    is faster than the string id). ``terms`` (:func:`price_terms`) gives each price's tax mode and
    tariff-level bounds; None = Eco-Movement records (prices excl. VAT, no bounds). Output:
    price_key, profile_id, n_total, ni_total (exact numerators), den_excl (n_total's denominator)
    and q_<part>_excl/incl, q_total_excl/incl (Int128 counts of 10^-places).
    """
    per = periods.lazy()
    cand = (
        pairs.join(per, on="profile_id")
        .join(ec, on=price_key)
        .filter(
            ((pl.col("type") == "ENERGY") & (pl.col("energy_j") > 0))
            | ((pl.col("type") == "TIME") & (pl.col("time_s") > 0))
            | ((pl.col("type") == "PARKING_TIME") & (pl.col("parking_s") > 0))
            | ((pl.col("type") == "TIME") & (pl.col("res_s") > 0))
            | (pl.col("type") == "FLAT")
        )
        .filter(_holds(contract_date))
    )
    keys = [price_key, "profile_id", "period_idx", "type"]
    # an expired reservation prefers RESERVATION_EXPIRES elements, else first in list order
    rank = pl.col("element_index") + pl.when(
        pl.col("expired") & (pl.col("r_reservation") == "RESERVATION")).then(1 << 20).otherwise(0)
    chosen = cand.group_by(keys).agg(pl.col("element_index").sort_by(rank).first())
    flats = ["FLAT", "RESERVATION_FLAT"]
    chosen = chosen.join(ec.select(price_key, "element_index", "type", "price_u", "vat_u", "step"),
                         on=[price_key, "element_index", "type"]).join(
        per.select("profile_id", "period_idx", "energy_j", "time_s", "parking_s", "res_s"),
        on=["profile_id", "period_idx"]).with_columns(
        pl.when(pl.col("res_s") > 0).then(pl.lit("RESERVATION_") + pl.col("type")).otherwise(pl.col("type"))
        .alias("type"))
    pp = [price_key, "profile_id"]
    flat = (chosen.filter(pl.col("type").is_in(flats)).sort("period_idx").group_by([*pp, "type"])
            .agg(pl.all().exclude([*pp, "type"]).first())
            .with_columns((pl.col("price_u") * 3_600_000).alias("n")))
    volume = (pl.when(pl.col("type") == "ENERGY").then(pl.col("energy_j"))
              .when(pl.col("type") == "TIME").then(pl.col("time_s"))
              .when(pl.col("type") == "RESERVATION_TIME").then(pl.col("res_s")).otherwise(pl.col("parking_s")))
    metered = chosen.filter(~pl.col("type").is_in(flats)).with_columns(volume.alias("vol"))
    unit = pl.when(pl.col("type") == "ENERGY").then(1).otherwise(1000)
    lines = metered.with_columns((pl.col("price_u") * pl.col("vol") * unit).alias("n"))
    # step_size: once per session on the billed total, last component's step and price
    last = (metered.sort("period_idx").group_by([*pp, "type"])
            .agg(pl.col("vol").sum().alias("tot"), pl.col("price_u").last(), pl.col("vat_u").last(),
                 pl.col("step").last(), pl.col("element_index").last()))
    has_parking = last.filter(pl.col("type") == "PARKING_TIME").select(*pp, pl.lit(True).alias("parks"))
    step_unit = pl.when(pl.col("type") == "ENERGY").then(pl.col("step") * 3600).otherwise(pl.col("step"))
    surplus = (
        last.join(has_parking, on=pp, how="left")
        .filter((pl.col("type") != "TIME") | pl.col("parks").is_null())
        .filter(pl.col("step") > 0)
        .with_columns(step_unit.alias("su"))
        .with_columns(((pl.col("su") - pl.col("tot") % pl.col("su")) % pl.col("su")).alias("extra"))
        .filter(pl.col("extra") > 0)
        .with_columns((pl.col("price_u") * pl.col("extra") * unit).alias("n"))
    )
    cols = [*pp, "element_index", "type", "vat_u", "n"]
    all_lines = pl.concat([flat.select(cols), lines.select(cols), surplus.select(cols)])
    adjust = _element_bounds(all_lines, ec, pp, price_key)
    everything = pl.concat([all_lines, adjust], how="vertical_relaxed").with_columns(
        pl.col("type").replace_strict(_PART, return_dtype=pl.String).alias("part"))
    # excl. VAT numerator (over den_excl) and incl. VAT numerator (over DEN_INCL) by tax mode
    if terms is None:
        everything = everything.with_columns(_incl(pl.col("n"), pl.col("vat_u")).alias("ni"))
    else:
        tax = pl.col("tax_included")
        everything = everything.join(terms.select(price_key, "tax_included"), on=price_key, how="left").with_columns(
            pl.when(tax.is_in(["YES", "N/A"])).then(pl.col("n").cast(_I128) * 1_000_000)
            .otherwise(_incl(pl.col("n"), pl.col("vat_u"))).alias("ni"),
            pl.when(tax == "YES").then(pl.col("n").cast(_I128) * 1_000_000).otherwise(pl.col("n").cast(_I128))
            .alias("n"))
    aggs: list[pl.Expr] = []
    for part in PARTS:
        is_part = pl.col("part") == part
        aggs.append(pl.when(is_part).then(pl.col("n").cast(_I128)).otherwise(0).sum().alias(f"n_{part}"))
        aggs.append(pl.when(is_part).then(pl.col("ni")).otherwise(0).sum().alias(f"ni_{part}"))
    summed = everything.group_by(pp).agg(aggs)
    zero = pl.lit(0, dtype=_I128)
    out = pairs.join(summed, on=pp, how="left").with_columns(
        [pl.col(f"{k}_{part}").fill_null(zero) for part in PARTS for k in ("n", "ni")])
    out = out.with_columns(
        pl.sum_horizontal([pl.col(f"n_{p}") for p in PARTS]).alias("n_total"),
        pl.sum_horizontal([pl.col(f"ni_{p}") for p in PARTS]).alias("ni_total"),
    )
    if terms is None:
        out = out.with_columns(pl.lit(DEN_EXCL, dtype=_I128).alias("den_excl"))
    else:
        out = _tariff_bounds(out.join(terms, on=price_key, how="left"))
    rounded = [round_expr(pl.col(f"n_{p}"), pl.col("den_excl"), policy).alias(f"q_{p}_excl")
               for p in (*PARTS, "total")]
    rounded += [round_expr(pl.col(f"ni_{p}"), DEN_INCL, policy).alias(f"q_{p}_incl") for p in (*PARTS, "total")]
    return out.with_columns(rounded)


def price_terms(prices: pl.LazyFrame, components: pl.LazyFrame, price_key: str = "price_id") -> pl.LazyFrame | None:
    """Per price: its tax mode, the one VAT rate of a tax-inclusive price (``f_u`` = 1e6 + 100 x
    vat_u; 1e6 without vat) and its tariff-level bounds as micro-units; None when ``prices`` has
    none of the :data:`TARIFF_TERMS` columns (Eco-Movement records).

    A tax-inclusive price with components of more than one VAT rate is refused: its amounts
    before taxes would need one denominator per rate (the scalar engine prices it).
    """
    names = prices.collect_schema().names()
    if not any(c in names for c in TARIFF_TERMS):
        return None
    cols = [pl.col(c) if c in names else pl.lit(None, dtype=pl.String if c == "tax_included" else pl.Decimal(18, 6))
            .alias(c) for c in TARIFF_TERMS]
    terms = prices.select(price_key, *cols).select(
        price_key, "tax_included",
        *[_scaled(c, 1_000_000).alias(c.replace("_vat", "_u")) for c in TARIFF_TERMS[1:]])
    rates = components.group_by(price_key).agg(_scaled("vat", 10_000).unique().alias("_rates"))
    terms = terms.join(rates, on=price_key, how="left")
    mixed = terms.filter((pl.col("tax_included") == "YES") & (pl.col("_rates").list.len() > 1)).select(
        price_key).head(3).collect()
    if mixed.height:
        raise PricingError("the vectorised evaluator prices a tariff whose prices include taxes only when all its "
                           f"components share one VAT rate, e.g. not {mixed[price_key].to_list()}; price such a "
                           "tariff with the scalar engine (ecodata price)")
    return terms.with_columns(
        (pl.col("_rates").list.first().fill_null(0).cast(pl.Int64) + 1_000_000).alias("f_u")).drop("_rates")


def _tariff_bounds(out: pl.LazyFrame) -> pl.LazyFrame:
    """den_excl for each priced pair, and the tariff-level min/max price applied to the totals
    (excl. and incl. VAT each on its own; parts are not clamped), as the scalar engine does."""
    c = pl.col
    yes = c("tax_included") == "YES"
    den = pl.when(yes).then(pl.lit(DEN_EXCL, dtype=_I128) * c("f_u").cast(_I128)).otherwise(
        pl.lit(DEN_EXCL, dtype=_I128))
    out = out.with_columns(den.alias("den_excl"))
    per_unit_excl = c("den_excl") // 1_000_000           # money x 1e6 -> numerator over den_excl
    per_unit_incl = pl.lit(DEN_INCL // 1_000_000, dtype=_I128)
    n, ni = c("n_total"), c("ni_total")
    for bound, pick in (("min", pl.max_horizontal), ("max", pl.min_horizontal)):
        ex = c(f"{bound}_price_excl_u").cast(_I128) * per_unit_excl
        inc = c(f"{bound}_price_incl_u").cast(_I128) * per_unit_incl
        n = pl.when(ex.is_null()).then(n).otherwise(pick(n, ex))
        ni = pl.when(inc.is_null()).then(ni).otherwise(pick(ni, inc))
        out = out.with_columns(n.alias("n_total"), ni.alias("ni_total"))
        n, ni = c("n_total"), c("ni_total")
    return out


def _element_bounds(all_lines: pl.LazyFrame, ec: pl.LazyFrame, pp: list[str], price_key: str) -> pl.LazyFrame:
    """Eco-Movement restriction-level min/max price (excl. VAT) on an element's cost: extra lines
    (pp, element_index, type, vat_u, n, ni), the same rule as
    :func:`ecodata.pricing.scalar.element_bound_deltas` (cap: greedy, largest cost first, each
    component down to zero at most; floor: on the largest-cost component; ties: component order)."""
    el = [*pp, "element_index"]
    bounded = ec.filter(pl.col("r_min_price_u").is_not_null() | pl.col("r_max_price_u").is_not_null()).select(
        price_key, "element_index", "type", "vat_u", "comp_order", "r_min_price_u", "r_max_price_u")
    comp_cost = all_lines.group_by([*el, "type"]).agg(pl.col("n").cast(_I128).sum().alias("cost"))
    used = comp_cost.select(el).unique()  # elements that billed something
    zero = pl.lit(0, dtype=_I128)
    cand = (used.join(bounded, on=[price_key, "element_index"])
            .join(comp_cost, on=[*el, "type"], how="left")
            .with_columns(pl.col("cost").fill_null(zero))
            .sort([*el, "cost", "comp_order"], descending=[*([False] * len(el)), True, False]))
    spent = pl.col("cost").sum().over(el)
    target = spent
    floor = pl.col("r_min_price_u").cast(_I128) * 3_600_000
    cap = pl.col("r_max_price_u").cast(_I128) * 3_600_000
    target = pl.when(floor.is_not_null() & (target < floor)).then(floor).otherwise(target)
    target = pl.when(cap.is_not_null() & (target > cap)).then(cap).otherwise(target)
    pos = pl.max_horizontal(pl.col("cost"), zero)
    cand = cand.with_columns(
        (spent - target).alias("excess"),
        pos.alias("pos"),
        (pos.cum_sum().over(el) - pos).alias("before"),
        pos.sum().over(el).alias("sum_pos"),
        (pl.int_range(pl.len()).over(el) == 0).alias("largest"),
    )
    excess, before, pos_c = pl.col("excess"), pl.col("before"), pl.col("pos")
    take = pl.min_horizontal(pl.max_horizontal(excess - before, zero), pos_c)
    rest = pl.when(pl.col("largest")).then(pl.max_horizontal(excess - pl.col("sum_pos"), zero)).otherwise(zero)
    delta = (pl.when(excess > 0).then(zero - take - rest)
             .when(excess < 0).then(pl.when(pl.col("largest")).then(zero - excess).otherwise(zero))
             .otherwise(zero))
    return (cand.with_columns(delta.alias("n")).filter(pl.col("n") != 0)
            .select(*el, "type", "vat_u", "n"))


# --- step 3: the session_costs table --------------------------------------------------------


def session_costs(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    *,
    day: dt.date,
    sessions: Sequence[AnySession] | None = None,
    rates: pl.DataFrame | None = None,
    kwh_per_month: Decimal = DEFAULT_KWH_PER_MONTH,
    policy: RoundingPolicy | None = None,
    contract_date: dt.date | None = None,
    timings: dict[str, float] | None = None,
) -> pl.DataFrame:
    """``session_costs`` rows for every (connector, price, session) that fits the connector.

    ``tables`` holds the snapshot's ``prices``, ``price_elements``, ``price_components``,
    ``connectors``, ``connector_prices`` and ``locations`` frames. Sessions start on ``day`` at
    their local start time; ``rates`` is an :mod:`ecodata.fx` table (units per EUR) or None (EUR
    columns are then null except for EUR prices). ``timings``, when given, receives the seconds
    spent per stage (profiles, keys, pricing, join_back). The whole table in memory: for a
    bounded-memory build use :func:`session_costs_chunks`.

    Example::

        costs = session_costs(tables, day=dt.date(2026, 11, 21))
    """
    chunks = session_costs_chunks(tables, day=day, sessions=sessions, rates=rates, kwh_per_month=kwh_per_month,
                                  policy=policy, contract_date=contract_date, chunk_rows=None, timings=timings)
    parts = list(chunks)
    return parts[0] if len(parts) == 1 else pl.concat(parts, rechunk=False)


def session_costs_chunks(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    *,
    day: dt.date,
    sessions: Sequence[AnySession] | None = None,
    rates: pl.DataFrame | None = None,
    kwh_per_month: Decimal = DEFAULT_KWH_PER_MONTH,
    policy: RoundingPolicy | None = None,
    contract_date: dt.date | None = None,
    chunk_rows: int | None = CHUNK_ROWS,
    timings: dict[str, float] | None = None,
) -> Iterator[pl.DataFrame]:
    """The rows of :func:`session_costs` as a sequence of frames, for a bounded-memory build.

    Session by session, the ``connector_prices`` rows are taken in slices of at most
    ``chunk_rows`` (file order; None = the whole table), and each slice's priced rows are
    yielded as one frame (empty slices are skipped; no rows at all gives one empty frame). Only
    the distinct priced (price, profile) pairs and the integer codes of ``connector_prices`` are
    kept across chunks, so memory is bounded by a chunk, not by the table. Concatenated, the
    frames are exactly :func:`session_costs`. Validation errors are raised on the first ``next``.

    Example::

        write_table(paths, SESSION_COSTS, day, session_costs_chunks(tables, day=day))
    """
    if chunk_rows is not None and chunk_rows < 1:
        raise PricingError(f"chunk_rows must be at least 1, got {chunk_rows}")
    clock = _Clock(timings)
    done = _evaluate(tables, day=day, sessions=sessions, rates=rates, kwh_per_month=kwh_per_month, policy=policy,
                     contract_date=contract_date, clock=clock)
    yield from _join_back(done.cp, done.codes, done.kind_map, done.money, done.profiles.height,
                          done.price_index.height, chunk_rows)
    clock.lap("join_back")  # (includes the consumer's time between chunks)


def session_cost_tables(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    *,
    day: dt.date,
    sessions: Sequence[AnySession] | None = None,
    rates: pl.DataFrame | None = None,
    kwh_per_month: Decimal = DEFAULT_KWH_PER_MONTH,
    policy: RoundingPolicy | None = None,
    contract_date: dt.date | None = None,
    timings: dict[str, float] | None = None,
    session_days: Mapping[str, dt.date] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stored form of :func:`session_costs`: ``(session_price_costs, session_profiles)``.

    ``session_price_costs`` has one row per distinct (price, session, profile) that some connector
    uses (the pairs the engine prices anyway), ``session_profiles`` one row per connector kind
    (power class, max power, amperage, time zone, power type) and fitting session, naming its
    profile. Joined to ``connector_prices`` x ``connectors`` x ``locations`` (the ``session_costs``
    view) they give exactly the rows of :func:`session_costs`. Same arguments as it, and
    ``session_days``: the start date of the sessions named there (default ``day``; ``day`` still
    dates the EUR rates and, by default, the contract).

    Example::

        price_costs, profiles = session_cost_tables(tables, day=dt.date(2026, 11, 21))
    """
    clock = _Clock(timings)
    done = _evaluate(tables, day=day, sessions=sessions, rates=rates, kwh_per_month=kwh_per_month, policy=policy,
                     contract_date=contract_date, clock=clock, session_days=session_days)
    names = done.profiles.select("profile_id", "session", "profile")
    price_costs = done.money.join(names, on="profile_id").select(SESSION_PRICE_COSTS.column_names).sort(
        "session", "price_id", "profile")
    kinds = done.kinds.join(done.kind_map, on="kind_id").join(names, on=["profile_id", "session"])
    profiles = kinds.select(SESSION_PROFILES.column_names).sort("session", "profile", "power_class", "power_type",
                                                                 "max_power_kw", "amperage", "time_zone",
                                                                 nulls_last=True)
    clock.lap("tables")
    return price_costs, profiles


@dataclass
class _Evaluated:
    """What the join back and the stored tables are made from (see :func:`_evaluate`)."""

    cp: pl.LazyFrame                # connector_prices keys and price ids, file order
    codes: pl.DataFrame             # per connector_prices row: kind_id, price_idx
    kinds: pl.DataFrame             # kind_id and the connector kind columns
    kind_map: pl.DataFrame          # kind_id, session, profile_id
    profiles: pl.DataFrame          # see build_profiles
    price_index: pl.DataFrame       # price_idx, price_id
    money: pl.DataFrame             # per priced (price, profile): price_id, profile_id, the money columns


def _evaluate(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], *, day: dt.date,
              sessions: Sequence[AnySession] | None, rates: pl.DataFrame | None, kwh_per_month: Decimal,
              policy: RoundingPolicy | None, contract_date: dt.date | None, clock: _Clock,
              session_days: Mapping[str, dt.date] | None = None) -> _Evaluated:
    """Profiles, integer codes and the priced distinct (price, profile) pairs of a snapshot."""
    policy = policy or RoundingPolicy()
    if policy.places is None:
        raise PricingError("session_costs needs a rounding policy with a number of places")
    sessions = tuple(sessions) if sessions is not None else load_sessions()
    contract_date = contract_date or day
    t = {name: _lazy(tables[name]) for name in (
        "prices", "price_elements", "price_components", "connectors", "connector_prices", "locations")}
    bad = (t["price_components"].filter(~pl.col("type").is_in(_KNOWN_TYPES) | pl.col("price_excl_vat").is_null())
           .select("price_id", "type", "price_excl_vat").head(3).collect())
    if bad.height:
        raise PricingError("price components of unknown type or without price_excl_vat cannot be priced, "
                           f"e.g. {bad.rows()}; fix or drop those prices")
    keys = ["location_id", "evse_uid", "connector_id"]
    conn = t["connectors"].select(*keys, "power_class", "max_power_kw", "amperage", "power_type").join(
        t["locations"].select("location_id", "time_zone"), on="location_id", how="left").collect()
    kinds = conn.select(KIND_COLUMNS).unique(maintain_order=True)
    kind_map, profiles, periods = build_profiles(kinds, sessions, day, breakpoints_of(t["price_elements"]),
                                                 session_days)
    clock.lap("profiles")
    kinds = kinds.with_row_index("kind_id")
    conn_kind = conn.join(kinds, on=KIND_COLUMNS, how="left", nulls_equal=True).select(*keys, "kind_id")
    del conn
    kind_map = kind_map.join(kinds, on=KIND_COLUMNS, how="inner", nulls_equal=True).select(
        "kind_id", "session", "profile_id")
    price_index = t["prices"].select("price_id").unique(maintain_order=True).collect().with_row_index("price_idx")
    # connector_prices as integer codes in file order; the strings are not kept (streamed here,
    # read again slice by slice in the join back)
    cp = t["connector_prices"].select(*keys, "price_id")
    codes = (cp.join(conn_kind.lazy(), on=keys, how="left", maintain_order="left")
             .join(price_index.lazy(), on="price_id", how="left", maintain_order="left")
             .select("kind_id", "price_idx").collect(engine="streaming"))
    del conn_kind
    # the distinct (price, profile) pairs, priced once
    pairs = codes.drop_nulls().unique().join(kind_map, on="kind_id").select("price_idx", "profile_id").unique()
    clock.lap("keys")
    ec = element_components(t["price_elements"], t["price_components"]).join(
        price_index.lazy(), on="price_id").drop("price_id").collect().lazy()  # small, used several times
    terms = price_terms(t["prices"], t["price_components"])
    if terms is not None:
        terms = terms.join(price_index.lazy(), on="price_id").drop("price_id").collect().lazy()
    priced = price_pairs(pairs.lazy(), periods, ec, contract_date=contract_date, policy=policy,
                         price_key="price_idx", terms=terms).collect().join(price_index, on="price_idx")
    money = _money_columns(priced, profiles, t["prices"], t["price_components"], rates, day, kwh_per_month,
                           policy).join(price_index, on="price_id")
    del priced
    clock.lap("pricing")
    if clock.sink is not None:
        clock.sink["distinct_pairs"] = float(pairs.height)
    return _Evaluated(cp, codes, kinds, kind_map, profiles, price_index, money)


class _Clock:
    """Stage timer for ``session_costs(timings=...)``."""

    def __init__(self, sink: dict[str, float] | None) -> None:
        self.sink = sink
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[name] = now - self.last
        self.last = now


def _join_back(cp: pl.LazyFrame, codes: pl.DataFrame, kind_map: pl.DataFrame, money: pl.DataFrame,
               n_profiles: int, n_prices: int, chunk_rows: int | None) -> Iterator[pl.DataFrame]:
    """Every connector x price x fitting session row: for each slice of at most ``chunk_rows``
    connector_prices rows (file order), one frame per session.

    A session's rows of a slice are a filter of it (sequential copies, kept in file order);
    their costs are gathered from the priced pairs through a dense integer index.
    """
    n_profiles = max(n_profiles, 1)
    dense = pl.repeat(-1, max(n_prices, 1) * n_profiles, dtype=pl.Int32, eager=True)
    dense = dense.scatter((money["price_idx"].cast(pl.Int64) * n_profiles + money["profile_id"]).to_list(),
                          pl.int_range(money.height, eager=True, dtype=pl.Int32))
    payload = money.select(SESSION_COSTS.column_names[5:])
    n_kinds = int(kind_map.select(pl.col("kind_id").max()).item() or 0) + 1 if kind_map.height else 1
    kind_codes = codes["kind_id"].cast(pl.Int64).fill_null(n_kinds)  # unknown connector -> sentinel slot
    price_codes = codes["price_idx"].cast(pl.Int64)
    positions: list[tuple[str, pl.Series]] = []  # per session: the payload row of each connector_prices row
    for (session,), group in kind_map.group_by("session", maintain_order=True):
        to_profile = pl.repeat(-1, n_kinds + 1, dtype=pl.Int64, eager=True).scatter(
            group["kind_id"].to_list(), group["profile_id"].cast(pl.Int64))
        profile = to_profile.gather(kind_codes)
        valid = (profile >= 0) & price_codes.is_not_null()
        key = (price_codes.fill_null(0) * n_profiles + profile.clip(lower_bound=0)).zip_with(valid, pl.Series([0]))
        positions.append((str(session), dense.gather(key).zip_with(valid, pl.Series([-1], dtype=pl.Int32))))
    del kind_codes, price_codes
    total = codes.height
    step = chunk_rows or max(total, 1)
    produced = False
    for offset in range(0, total, step):
        rows: pl.DataFrame | None = None
        for session, pos in positions:
            part = pos.slice(offset, step)
            keep = part >= 0
            if not keep.any():
                continue
            if rows is None:
                rows = cp.slice(offset, step).collect()
            produced = True
            yield (rows.filter(keep).with_columns(pl.lit(session, dtype=pl.String).alias("session"))
                   .hstack(payload[part.filter(keep)]))
    if not produced:
        yield pl.DataFrame(schema=SESSION_COSTS.polars_schema)


def _money_columns(priced: pl.DataFrame, profiles: pl.DataFrame, prices: pl.LazyFrame,
                   components: pl.LazyFrame, rates: pl.DataFrame | None, day: dt.date,
                   kwh_per_month: Decimal, policy: RoundingPolicy) -> pl.DataFrame:
    """Decimal output columns, EUR conversion and the amortised subscription fee."""
    places = policy.places
    assert places is not None
    first_vat = (components.sort("element_index", "component_index").group_by("price_id")
                 .agg(_scaled("vat", 10_000).first().alias("fee_vat_u")))
    info = prices.select(
        "price_id", "currency", "subscription_type",
        _scaled("subscription_fee_excl_vat", 1_000_000).alias("fee_u"),
    ).join(first_vat, on="price_id", how="left").collect()
    months = pl.col("subscription_type").str.to_lowercase().replace_strict(
        SUBSCRIPTION_MONTHS, default=None, return_dtype=pl.Int64)
    kpm = Decimal(kwh_per_month)
    if kpm <= 0:
        raise PricingError(f"kWh per month must be positive, got {kwh_per_month}")
    kpm_num, kpm_exp = _int_scale(kpm)
    df = priced.join(profiles.select("profile_id", "energy_j", "power_w"), on="profile_id", how="left").join(
        info, on="price_id", how="left")
    # fee per session incl. VAT = fee_u/1e6 x (1e6+100 vat_u)/1e6 x (energy_j/3.6e6) / (months x kpm)
    fee_num = (pl.col("fee_u").cast(_I128) * _incl_factor(pl.col("fee_vat_u")) * pl.col("energy_j").cast(_I128)
               * (10 ** kpm_exp))
    fee_den = pl.col("months").cast(_I128) * kpm_num * (10 ** 12) * 3_600_000
    df = df.with_columns(months.alias("months")).with_columns(
        pl.when(pl.col("months").is_null() | pl.col("fee_u").is_null()).then(pl.lit(0, dtype=_I128))
        .otherwise(round_expr(fee_num, fee_den, policy)).alias("q_fee"))
    if rates is not None:
        from ecodata.fx import rate_for

        per_cur = {c: rate_for(rates, c, day) for c in df["currency"].drop_nulls().unique().to_list()}
    else:
        per_cur = {}
    per_cur["EUR"] = Decimal(1)
    upe = {c: int(v * 10**8) for c, v in per_cur.items() if v is not None}
    df = df.with_columns(pl.col("currency").replace_strict(upe, default=None, return_dtype=pl.Int64).alias("upe_u"))
    upe_den = pl.col("upe_u").cast(_I128)
    eur_excl = round_expr(pl.col("n_total") * 10**8, upe_den * pl.col("den_excl"), policy)
    eur_incl = round_expr(pl.col("ni_total") * 10**8, upe_den * DEN_INCL, policy)
    # the fee is converted from its rounded local amount
    eur_fee = round_expr(pl.col("q_fee") * 10**8, upe_den * 10**places, policy)

    def dec(name: str) -> pl.Expr:
        return to_decimal_expr(pl.col(name), places)

    return df.with_columns(
        eur_excl.alias("q_eur_excl"), eur_incl.alias("q_eur_incl"), eur_fee.alias("q_eur_fee"),
    ).select(
        "price_id", "profile_id", "currency",
        pl.col("energy_j"),
        to_decimal_expr(pl.col("power_w"), 3, QUANTITY).alias("charging_power_kw"),
        dec("q_total_excl").alias("total_excl_vat"),
        dec("q_total_incl").alias("total_incl_vat"),
        *[dec(f"q_{p}_excl").alias(f"{p}_cost_excl_vat") for p in PARTS],
        *[dec(f"q_{p}_incl").alias(f"{p}_cost_incl_vat") for p in PARTS],
        dec("q_fee").alias("subscription_fee_per_session_incl_vat"),
        dec("q_eur_excl").alias("total_eur_excl_vat"),
        dec("q_eur_incl").alias("total_eur_incl_vat"),
        to_decimal_expr(pl.col("q_eur_incl") + pl.col("q_eur_fee"), places).alias(
            "total_eur_incl_vat_with_subscription"),
    ).with_columns(_energy_kwh().alias("energy_kwh")).drop("energy_j")


def _energy_kwh() -> pl.Expr:
    """Session energy in kWh as a Decimal: energy_j / 3.6 is a whole number of µkWh by construction
    (session energies have at most 6 decimals)."""
    return to_decimal_expr(pl.col("energy_j").cast(_I128) * 10 // 36, 6, QUANTITY)


def _incl_factor(vat_u: pl.Expr) -> pl.Expr:
    return pl.when(vat_u.is_null()).then(1_000_000).otherwise(vat_u + 1_000_000).cast(_I128)


def _int_scale(d: Decimal) -> tuple[int, int]:
    """(n, e) with d = n / 10^e, n an integer."""
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    n = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        return n * 10**exponent, 0
    return n, -exponent

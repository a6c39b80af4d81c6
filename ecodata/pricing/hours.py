"""Price by hour of week: the cost of a reference session started at each hour of the week.

For each power class the first plain reference session of the sessions file that fits it (no
vehicle, no reservation; the shipped file: HPC_10_80, DC50_20_80, AC_SHOP) is started at every
whole hour ``h`` of every weekday ``d`` of the week that begins on the snapshot date (the date of
weekday ``d`` is the first one on or after it), and priced with the exact vectorised engine
(:func:`ecodata.pricing.vectorised.session_cost_tables`): 168 rows per distinct (price, session,
profile). Its time and day restrictions (time of day, weekday, start and end date) are what can
make the cost depend on the start; a price with none of them is priced once and its row repeated
for the 168 hours (the same result as pricing each, as the tests check).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from ecodata.pricing.model import WEEKDAYS
from ecodata.pricing.scalar import RoundingPolicy
from ecodata.pricing.sessions import POWER_CLASSES, AnySession, ReferenceSession, load_sessions
from ecodata.pricing.vectorised import session_cost_tables

HOURS = 24
_PRICE_TABLES = ("prices", "price_elements", "price_components", "connector_prices")
HOUR_COLUMNS = ["price_id", "session", "profile", "day_of_week", "hour", "time_varying", "currency", "energy_kwh",
                "total_excl_vat", "total_incl_vat", "total_eur_excl_vat", "total_eur_incl_vat"]


def hour_sessions(sessions: Sequence[AnySession]) -> list[ReferenceSession]:
    """The session priced by hour for each power class: the first plain reference session fitting it."""
    chosen: list[ReferenceSession] = []
    for power_class in POWER_CLASSES:
        for s in sessions:
            plain = isinstance(s, ReferenceSession) and not s.reservation_minutes and not s.reservation_expired
            if plain and power_class in s.power_classes:
                if s not in chosen:
                    chosen.append(s)  # type: ignore[arg-type]
                break
    return chosen


def week_dates(day: dt.date) -> dict[str, dt.date]:
    """Weekday name -> its date in the week beginning on ``day``."""
    return {name: day + dt.timedelta(days=(i - day.weekday()) % 7) for i, name in enumerate(WEEKDAYS)}


def time_varying_prices(price_elements: pl.DataFrame | pl.LazyFrame) -> pl.Series:
    """The price ids with an element restricted by time of day, weekday or date."""
    pe = price_elements.lazy() if isinstance(price_elements, pl.DataFrame) else price_elements
    restricted = (pl.col("start_time").is_not_null() | pl.col("end_time").is_not_null()
                  | pl.col("start_date").is_not_null() | pl.col("end_date").is_not_null()
                  | (pl.col("day_of_week").list.len().fill_null(0) > 0))
    return pe.filter(restricted).select(pl.col("price_id").unique().sort()).collect()["price_id"]


def price_by_hour_table(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    *,
    day: dt.date,
    sessions: Sequence[AnySession] | None = None,
    rates: pl.DataFrame | None = None,
    policy: RoundingPolicy | None = None,
    repeat_invariant: bool = True,
) -> pl.DataFrame:
    """One row per distinct (price, session, profile) some connector uses x weekday x hour.

    ``tables`` as for :func:`ecodata.pricing.vectorised.session_cost_tables`; the contract date is
    ``day``. ``repeat_invariant=False`` prices every price at every hour (the tests compare it).
    """
    chosen = hour_sessions(tuple(sessions) if sessions is not None else load_sessions())
    varying = time_varying_prices(tables["price_elements"])
    dates = week_dates(day)
    only_varying = {name: (tables[name].lazy() if isinstance(tables[name], pl.DataFrame) else tables[name])
                    .filter(pl.col("price_id").is_in(varying.implode())) for name in _PRICE_TABLES}
    frames: list[pl.DataFrame] = []
    for weekday, date in dates.items():
        for hour in range(HOURS):
            first = weekday == WEEKDAYS[0] and hour == 0
            if not first and repeat_invariant and varying.len() == 0:
                continue
            at = [dataclasses.replace(s, start=dt.time(hour)) for s in chosen]
            inputs = dict(tables) if first or not repeat_invariant else {**tables, **only_varying}
            costs, _ = session_cost_tables(inputs, day=date, sessions=at, rates=rates, policy=policy,
                                           contract_date=day)
            frames.append(costs.with_columns(pl.lit(weekday).alias("day_of_week"),
                                             pl.lit(hour, dtype=pl.Int8).alias("hour")))
    priced = pl.concat(frames)  # the first hour is always priced
    flag = pl.col("price_id").is_in(varying.implode()).alias("time_varying")
    if repeat_invariant:
        grid = pl.DataFrame({"day_of_week": [w for w in WEEKDAYS for _ in range(HOURS)],
                             "hour": pl.Series([h for _ in WEEKDAYS for h in range(HOURS)], dtype=pl.Int8)})
        base = frames[0].filter(~pl.col("price_id").is_in(varying.implode())).drop("day_of_week", "hour")
        priced = pl.concat([base.join(grid, how="cross").select(priced.columns),
                            priced.filter(pl.col("price_id").is_in(varying.implode()))])
    order = pl.col("day_of_week").replace_strict({w: i for i, w in enumerate(WEEKDAYS)}, return_dtype=pl.Int8)
    return priced.with_columns(flag).select(HOUR_COLUMNS).sort("session", "price_id", "profile", order, "hour")

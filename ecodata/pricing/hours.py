"""Price by hour of week: the cost of a reference session started at each hour of the week.

For each power class the first plain reference session of the sessions file that fits it (no
vehicle, no reservation; the shipped file: AC_SHOP, DC50_20_80, HPC_10_80) is started at every
whole hour ``h`` of every weekday ``d`` of the week that begins on the snapshot date (the date of
weekday ``d`` is the first one on or after it). Only time and day restrictions (time of day,
weekday, start and end date) make a cost depend on the start, so:

* a price with such a restriction (:func:`time_restricted_prices`) is priced at the 168 starts by
  the exact vectorised engine, in ONE call (:func:`price_hour_costs`: each start is a session of
  its own, ``<session>@<WEEKDAY>T<hh>``, with its own start date, over the restricted prices only);
  the pipeline stores these rows as ``price_hour_costs``;
* any other price costs the same at every start: its ``session_price_costs`` row (the session at
  its configured start on the snapshot date) is stored once, with day_of_week and hour null, and
  the ``price_by_hour`` views repeat it for the 168 hours (:func:`expand_hours` does the same in
  polars; the tests compare it with pricing every price at every hour).

EUR amounts use the snapshot date's rates and the contract date is the snapshot date, as in
``session_price_costs``.
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
from ecodata.tables.schemas import PRICE_HOUR_COSTS

HOURS = 24
_PRICE_TABLES = ("prices", "price_elements", "price_components", "connector_prices")
_KEYS = ["location_id", "evse_uid", "connector_id"]
HOUR_COLUMNS = PRICE_HOUR_COSTS.column_names
"""The columns of :func:`price_hour_costs` (the stored ``price_hour_costs``)."""


def hour_sessions(sessions: Sequence[AnySession]) -> list[ReferenceSession]:
    """The session priced by hour for each power class: the first plain reference session fitting it."""
    chosen: list[ReferenceSession] = []
    for power_class in POWER_CLASSES:
        for s in sessions:
            if (isinstance(s, ReferenceSession) and not s.reservation_minutes and not s.reservation_expired
                    and power_class in s.power_classes):
                if s not in chosen:
                    chosen.append(s)
                break
    return chosen


def week_dates(day: dt.date) -> dict[str, dt.date]:
    """Weekday name -> its date in the week beginning on ``day``."""
    return {name: day + dt.timedelta(days=(i - day.weekday()) % 7) for i, name in enumerate(WEEKDAYS)}


def hour_grid() -> pl.DataFrame:
    """The 168 (day_of_week, hour) starts of a week, Monday 0:00 first."""
    return pl.DataFrame({"day_of_week": [w for w in WEEKDAYS for _ in range(HOURS)],
                         "hour": pl.Series([h for _ in WEEKDAYS for h in range(HOURS)], dtype=pl.Int32)})


def time_restricted_prices(price_elements: pl.DataFrame | pl.LazyFrame) -> pl.Series:
    """The price ids with an element restricted by time of day, weekday or date (sorted)."""
    pe = price_elements.lazy() if isinstance(price_elements, pl.DataFrame) else price_elements
    restricted = (pl.col("start_time").is_not_null() | pl.col("end_time").is_not_null()
                  | pl.col("start_date").is_not_null() | pl.col("end_date").is_not_null()
                  | (pl.col("day_of_week").list.len().fill_null(0) > 0))
    return pe.filter(restricted).select(pl.col("price_id").unique().sort()).collect()["price_id"]


def _starts(chosen: Sequence[ReferenceSession], day: dt.date) -> tuple[list[ReferenceSession], dict[str, dt.date],
                                                                       pl.DataFrame]:
    """Every chosen session at each of the 168 starts: the sessions, their start dates, and a frame
    mapping each one's name to (session, day_of_week, hour)."""
    dates = week_dates(day)
    variants: list[ReferenceSession] = []
    days: dict[str, dt.date] = {}
    rows: list[tuple[str, str, str, int]] = []
    for s in chosen:
        for weekday in WEEKDAYS:
            for hour in range(HOURS):
                name = f"{s.name}@{weekday}T{hour:02d}"
                variants.append(dataclasses.replace(s, name=name, start=dt.time(hour)))
                days[name] = dates[weekday]
                rows.append((name, s.name, weekday, hour))
    names = pl.DataFrame(rows, schema={"variant": pl.String, "session": pl.String, "day_of_week": pl.String,
                                       "hour": pl.Int32}, orient="row")
    return variants, days, names


def _lazy(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def price_hour_costs(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    *,
    day: dt.date,
    sessions: Sequence[AnySession] | None = None,
    rates: pl.DataFrame | None = None,
    policy: RoundingPolicy | None = None,
    price_costs: pl.DataFrame | None = None,
    every_hour: bool = False,
) -> pl.DataFrame:
    """``price_hour_costs``: per (price, session, profile) some connector uses, for the session of
    each power class (:func:`hour_sessions`), 168 rows (day_of_week, hour) when the price is time
    restricted, priced in one engine call, else one row with day_of_week and hour null (the cost
    at every start).

    ``tables`` as for :func:`ecodata.pricing.vectorised.session_cost_tables`. ``price_costs`` is
    the day's ``session_price_costs`` (the pipeline's, same sessions, rates and policy): the
    unrestricted rows are taken from it instead of pricing them again. ``every_hour=True`` prices
    every price at every start instead (what repeating the others must equal; the tests compare).

    Example::

        hours = price_hour_costs(tables, day=dt.date(2026, 11, 21), rates=load_rates())
    """
    sessions = tuple(sessions) if sessions is not None else load_sessions()
    chosen = hour_sessions(sessions)
    if not chosen:
        return pl.DataFrame(schema=PRICE_HOUR_COSTS.polars_schema)
    inputs = {name: _lazy(frame) for name, frame in tables.items()}
    restricted = time_restricted_prices(inputs["price_elements"]).implode()
    timed = dict(inputs)
    if not every_hour:
        timed.update({name: inputs[name].filter(pl.col("price_id").is_in(restricted)) for name in _PRICE_TABLES})
    # only the connectors of the prices priced need profiles
    timed["connectors"] = inputs["connectors"].join(timed["connector_prices"].select(_KEYS).unique(),
                                                    on=_KEYS, how="semi")
    variants, days, names = _starts(chosen, day)
    costs, _ = session_cost_tables(timed, day=day, sessions=variants, rates=rates, policy=policy,
                                   contract_date=day, session_days=days)
    by_hour = costs.rename({"session": "variant"}).join(names, on="variant").select(HOUR_COLUMNS)
    if every_hour:
        return _sorted(by_hour)
    if price_costs is None:
        price_costs, _ = session_cost_tables(inputs, day=day, sessions=chosen, rates=rates, policy=policy)
    once = (price_costs.filter(pl.col("session").is_in([s.name for s in chosen])
                               & ~pl.col("price_id").is_in(restricted))
            .with_columns(pl.lit(None, dtype=pl.String).alias("day_of_week"),
                          pl.lit(None, dtype=pl.Int32).alias("hour")).select(HOUR_COLUMNS))
    return _sorted(pl.concat([by_hour, once]))


def expand_hours(hour_costs: pl.DataFrame) -> pl.DataFrame:
    """``price_hour_costs`` with each row of null day_of_week and hour (a cost that does not depend on
    the start) repeated for the 168 hours, and ``time_restricted`` (false on those): what the
    ``price_by_hour`` views show per price, in polars."""
    once = hour_costs.filter(pl.col("hour").is_null())
    repeated = once.drop("day_of_week", "hour").join(hour_grid(), how="cross").select(HOUR_COLUMNS)
    return _sorted(pl.concat([hour_costs.filter(pl.col("hour").is_not_null()).with_columns(
        pl.lit(True).alias("time_restricted")), repeated.with_columns(pl.lit(False).alias("time_restricted"))]))


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    order = pl.col("day_of_week").replace_strict({w: i for i, w in enumerate(WEEKDAYS)}, default=None,
                                                 return_dtype=pl.Int8)
    return frame.sort("session", "price_id", "profile", order, "hour", nulls_last=True)

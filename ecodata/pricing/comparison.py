"""The pipeline side of pricing: ``session_costs`` for a snapshot, and the comparison query.

``session_costs_frame`` reads the written tables (through :func:`ecodata.tables.reader.scan_table`)
and yields the cost frames; :mod:`ecodata.pipeline` hands them to ``ecodata.tables.write`` (the only
writer). ``comparison_query`` is the SQL that :meth:`ecodata.Dataset.compare` runs against the
``session_cost_comparison`` view: pricing itself never imports the SQL layer (to its right).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import polars as pl

from ecodata.errors import ConfigError
from ecodata.fx import dataset_rates, load_rates
from ecodata.paths import DataPaths
from ecodata.pricing.hours import price_hour_costs
from ecodata.pricing.sessions import POWER_CLASSES, AnySession, load_sessions
from ecodata.pricing.vectorised import (
    CHUNK_ROWS,
    DEFAULT_KWH_PER_MONTH,
    session_cost_tables,
    session_costs_chunks,
)
from ecodata.pricing.vehicles import VehicleSession, find_vehicle, load_vehicles, parse_soc, vehicle_session
from ecodata.settings import Settings
from ecodata.tables.reader import scan_table

# The tables of a snapshot date that session_costs is computed from.
SESSION_COST_INPUTS = (
    "prices", "price_elements", "price_components", "connectors", "connector_prices", "locations",
)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def session_costs_frame(settings: Settings, date: dt.date, *, kwh_per_month: Decimal = DEFAULT_KWH_PER_MONTH,
                        chunk_rows: int | None = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """``session_costs`` of the snapshot ``date`` (every connector x price x fitting session) as
    a sequence of frames, one per session and slice of ``chunk_rows`` connector_prices rows.

    The build writes them one by one (bounded memory); ``pl.concat`` gives the whole table.
    Sessions come from ``settings.sessions_toml`` (else the shipped defaults; vehicle sessions
    look their car up in ``settings.vehicles_file``, else the shipped vehicles), EUR rates from
    ``settings.fx_rates_csv``, else the rates kept with the data directory, else the shipped
    table (the same rates the views get); sessions start on ``date``.
    """
    paths = DataPaths(settings.data_dir)
    tables = {name: scan_table(paths, name, date) for name in SESSION_COST_INPUTS}
    sessions = load_sessions(settings.sessions_toml, vehicles=settings.vehicles_file)
    return session_costs_chunks(tables, day=date, sessions=sessions,
                                rates=load_rates(settings.fx_rates_csv or dataset_rates(paths)),
                                kwh_per_month=kwh_per_month,
                                chunk_rows=chunk_rows)


def session_cost_tables_of(settings: Settings, date: dt.date, *, kwh_per_month: Decimal = DEFAULT_KWH_PER_MONTH,
                           only: Sequence[str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(session_price_costs, session_profiles)`` of the snapshot ``date``, from its written tables.

    The same sessions and rates as :func:`session_costs_frame` (the build writes these two tables;
    the ``session_costs`` view joins them to the connectors). ``only`` keeps the sessions of those
    names (``ecodata migrate`` recomputes the sessions an old day priced); a name not defined is a
    ConfigError.
    """
    paths = DataPaths(settings.data_dir)
    tables = {name: scan_table(paths, name, date) for name in SESSION_COST_INPUTS}
    return session_cost_tables(tables, day=date, sessions=_sessions(settings, only),
                               rates=load_rates(settings.fx_rates_csv or dataset_rates(paths)),
                               kwh_per_month=kwh_per_month)


def price_hour_costs_of(settings: Settings, date: dt.date, price_costs: pl.DataFrame) -> pl.DataFrame:
    """``price_hour_costs`` of the snapshot ``date`` from its written tables (the sessions and rates of
    :func:`session_cost_tables_of`); ``price_costs`` is that day's ``session_price_costs``, whose rows
    the prices without time restrictions take (:func:`ecodata.pricing.hours.price_hour_costs`)."""
    paths = DataPaths(settings.data_dir)
    tables = {name: scan_table(paths, name, date) for name in SESSION_COST_INPUTS}
    return price_hour_costs(tables, day=date, sessions=_sessions(settings, None),
                            rates=load_rates(settings.fx_rates_csv or dataset_rates(paths)), price_costs=price_costs)


def _sessions(settings: Settings, only: Sequence[str] | None) -> list[AnySession]:
    sessions = load_sessions(settings.sessions_toml, vehicles=settings.vehicles_file)
    if only is None:
        return list(sessions)
    defined = {s.name for s in sessions}
    if unknown := sorted(set(only) - defined):
        raise ConfigError(f"session(s) {', '.join(unknown)} are not defined in "
                          f"{settings.sessions_toml or 'the shipped sessions.toml'}: point ECODATA_SESSIONS_TOML "
                          "at the sessions file the data was built with")
    return [s for s in sessions if s.name in set(only)]


def comparison_query(sessions: Sequence[str] = (), countries: Sequence[str] = (),
                     power_classes: Sequence[str] = ()) -> tuple[str, list[str]]:
    """The SQL ``compare`` runs and its DuckDB parameters: the view filtered by session, country
    and power class. Values are validated, then bound as ``?`` parameters, never spliced in.

    Example: ``comparison_query(["HPC_10_80"], ["de"])`` is
    ``("SELECT * FROM session_cost_comparison\nWHERE session IN (?) AND country_code IN (?)", ["HPC_10_80", "DE"])``.
    """
    where: list[str] = []
    params: list[str] = []
    for column, values, check in (
        ("session", list(sessions), _NAME),
        ("country_code", [c.upper() for c in countries], re.compile(r"^[A-Z]{2}$")),
        ("power_class", [p.upper() for p in power_classes], None),
    ):
        if not values:
            continue
        for v in values:
            if (check is not None and not check.match(v)) or (check is None and v not in POWER_CLASSES):
                hint = {"session": "a session name such as HPC_10_80", "country_code": "a 2-letter country code",
                        "power_class": "AC, DC or HPC"}[column]
                raise ConfigError(f"invalid {column.replace('_code', '')} {v!r}: use {hint}")
        where.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params += values
    clause = f"\nWHERE {' AND '.join(where)}" if where else ""
    return f"SELECT * FROM session_cost_comparison{clause}", params


def compare_vehicle_session(vehicle: str, soc: str, vehicles_file: Path | None = None) -> VehicleSession:
    """The vehicle session ``compare --vehicle NAME --soc FROM-TO`` reports: the one named
    ``<NAME>_<FROM>_<TO>`` (the default name of a vehicle ``[[session]]``)."""
    return vehicle_session(find_vehicle(load_vehicles(vehicles_file), vehicle), parse_soc(soc))


def missing_vehicle_session_message(session: VehicleSession) -> str:
    """What to do when the data holds no costs for a vehicle session."""
    return (f"the data has no costs for vehicle session {session.name}: add [[session]] vehicle = "
            f"\"{session.vehicle.name}\" soc = \"{session.soc_from}-{session.soc_to}\" to your sessions TOML "
            "(ECODATA_SESSIONS_TOML) and run 'ecodata transform'")


def with_eur_per_100km(frame: pl.DataFrame, session: VehicleSession) -> pl.DataFrame:
    """Add ``eur_per_100km_median`` (the median session cost incl. VAT per 100 km at the vehicle's
    consumption, 4 decimals) to the comparison rows of a vehicle session; null on other rows."""
    factor = float(session.vehicle.consumption_kwh_per_100km / session.energy_kwh)
    return frame.with_columns(
        pl.when(pl.col("session") == session.name)
        .then((pl.col("eur_incl_vat_median") * factor).round(4))
        .otherwise(None)
        .alias("eur_per_100km_median"))

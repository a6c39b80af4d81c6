"""Session-cost engine: exact OCPI / Eco-Movement pricing of charging sessions.

* :func:`price_cdr` prices one CDR with one tariff or price record (the scalar reference engine).
* :func:`price_files` does the same from two JSON files (the ``ecodata price`` command).
* :func:`session_cost_tables` prices every distinct (price, reference session, profile) of a
  snapshot's tables in polars and says which connector kinds get which profile: the stored
  ``session_price_costs`` and ``session_profiles`` (:func:`session_cost_tables_of` computes them
  from a snapshot's written tables; the pipeline writes them, the ``session_costs`` view joins
  them to the connectors); :func:`session_costs` is the same evaluation joined back to every
  (connector, price, session) in polars (:func:`session_costs_chunks`: chunk by chunk,
  :func:`session_costs_frame`: from written tables); :func:`comparison_query` is the SQL of
  ``ecodata compare``.
* :func:`price_hour_costs_of` prices the reference session of each power class at every hour of
  the week (:mod:`ecodata.pricing.hours`): the stored ``price_hour_costs``.
* :func:`tariff_price_tables` hands a snapshot's OCPI tariffs (2.1.1 ... 2.3.0) to the evaluator.

Semantics, rounding policy and the interpretation of Eco-Movement's extras: ``README.md`` here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ecodata.errors import PricingError
from ecodata.pricing.comparison import (
    SESSION_COST_INPUTS,
    comparison_query,
    price_hour_costs_of,
    session_cost_tables_of,
    session_costs_frame,
)
from ecodata.pricing.model import Tariff, parse_tariff
from ecodata.pricing.scalar import (
    CdrPrice,
    RoundingPolicy,
    cdr_cost_check,
    ocpi_230_totals,
    price_cdr,
    price_cdr_report,
    totals_to_json,
)
from ecodata.pricing.sessions import ReferenceSession, load_sessions, price_reference, profile_for
from ecodata.pricing.tariff_tables import tariff_price_tables
from ecodata.pricing.vectorised import session_cost_tables, session_costs, session_costs_chunks
from ecodata.settings import read_text_file

__all__ = [
    "SESSION_COST_INPUTS",
    "CdrPrice",
    "ReferenceSession",
    "RoundingPolicy",
    "Tariff",
    "cdr_cost_check",
    "comparison_query",
    "load_sessions",
    "ocpi_230_totals",
    "parse_tariff",
    "price_cdr",
    "price_cdr_report",
    "price_files",
    "price_hour_costs_of",
    "price_reference",
    "profile_for",
    "read_json",
    "session_cost_tables",
    "session_cost_tables_of",
    "session_costs",
    "session_costs_chunks",
    "session_costs_frame",
    "tariff_price_tables",
    "totals_to_json",
]


def read_json(path: Path, what: str) -> Any:
    """Read a JSON file with exact decimals, or raise one clear PricingError."""
    text = read_text_file(Path(path), what, PricingError)
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise PricingError(f"the {what} file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None


def price_files(tariff_file: Path, cdr_file: Path, timezone: str | None = None) -> CdrPrice:
    """Price the CDR in ``cdr_file`` with the tariff or price record in ``tariff_file``: the
    totals and the warnings (inputs priced as given that look like data errors).

    The zone is ``timezone``, else the CDR's ``cdr_location.time_zone``, else UTC. A file
    holding an OCPI envelope (``{"data": {...}}``) or a one-element list is unwrapped. An OCPI
    2.3.0 tariff (one with ``tax_included``) gets its amounts as 2.3.0 ``Price`` objects
    (:func:`ocpi_230_totals`). When the CDR carries its own ``total_cost``, the totals end with
    ``cdr_total_cost`` (as given) and ``difference`` (computed minus CDR, exact: :func:`cdr_cost_check`).
    """
    tariff = _unwrap(read_json(tariff_file, "tariff"))
    cdr = _unwrap(read_json(cdr_file, "CDR"))
    if timezone is None:
        location = cdr.get("cdr_location") if isinstance(cdr, dict) else None
        timezone = (location or {}).get("time_zone") or "UTC"
    try:
        parsed = parse_tariff(tariff)
        report = price_cdr_report(parsed, cdr, timezone)
        check = cdr_cost_check(report.totals, cdr)
    except PricingError as exc:
        raise PricingError(f"{tariff_file} / {cdr_file}: {exc}") from None
    totals = ocpi_230_totals(report.totals) if parsed.tax_included is not None else dict(report.totals)
    return CdrPrice({**totals, **check}, report.warnings)


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, dict) and "data" in obj and "elements" not in obj and "charging_periods" not in obj:
        obj = obj["data"]
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]
    return obj

"""The orchestration: the steps of a daily run, each stage called in data-flow order.

* :func:`transform_date`: raw snapshot -> tables (:mod:`ecodata.tables.build`), then the
  ``session_costs`` of that date (:mod:`ecodata.pricing` computes, ``tables.build`` writes), then
  the DuckDB views (:mod:`ecodata.sql`). ``ecodata transform`` runs it, so a bare transform
  leaves a consistent dataset: no date whose tables exist without its session costs.
* :func:`build_dataset`: fetch + :func:`transform_date` (``ecodata build``).

This module sits right of every stage it calls; no stage imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from ecodata.fetch import run_fetch
from ecodata.paths import DataPaths
from ecodata.pricing import SESSION_COST_INPUTS, session_costs_frame
from ecodata.settings import Settings
from ecodata.sql import write_views
from ecodata.tables.build import CHUNK_RECORDS, TransformReport, transform_snapshot, write_computed_table


@dataclass
class TransformDateReport:
    """What :func:`transform_date` did: the transform, the session-cost step, the views written."""

    transform: TransformReport
    session_cost_lines: list[str]
    views: list[str]

    @property
    def date(self) -> dt.date:
        return self.transform.date

    def lines(self) -> list[str]:
        """A short human-readable summary, one fact per line."""
        return [*self.transform.lines(), *self.session_cost_lines,
                f"views: {len(self.views)} written to ecodata.duckdb"]


@dataclass
class BuildReport:
    """What :func:`build_dataset` did: the fetch report's lines, the transform report, the views."""

    fetch_lines: list[str]
    transform: TransformReport
    views: list[str]
    extra_lines: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The fetch lines, then the transform, session-cost and views lines."""
        return [*self.fetch_lines, *self.transform.lines(), *self.extra_lines,
                f"views: {len(self.views)} written to ecodata.duckdb"]


def write_session_costs(settings: Settings, date: dt.date) -> list[str]:
    """Price every (connector, price) pair of ``date`` for the reference sessions and write
    ``session_costs``; returns the report line.

    The frames are written chunk by chunk (bounded memory). When an input table of that date
    is missing (only some endpoints were ever transformed), nothing is computed and the line
    says which tables to build first.
    """
    paths = DataPaths(settings.data_dir)
    missing = [name for name in SESSION_COST_INPUTS if date not in paths.table_dates(name)]
    if missing:
        return [f"  session_costs: not computed, no {', '.join(missing)} table for {date} "
                f"(transform every endpoint of that date: ecodata transform --date {date})"]
    rows = write_computed_table(paths, "session_costs", date, session_costs_frame(settings, date))
    return [f"  session_costs: {rows} rows"]


def transform_date(
    settings: Settings,
    date: dt.date | None = None,
    endpoints: Sequence[str] | None = None,
    *,
    chunk_records: int = CHUNK_RECORDS,
) -> TransformDateReport:
    """Tables, session costs and views of one snapshot date (the newest raw one by default).

    Example::

        report = transform_date(Settings.from_env(data_dir="data"))
        print("\\n".join(report.lines()))
    """
    report = transform_snapshot(settings, date, endpoints, chunk_records=chunk_records)
    costs = write_session_costs(settings, report.date)
    views = write_views(DataPaths(settings.data_dir), settings.fx_rates_csv)
    return TransformDateReport(report, costs, views)


def build_dataset(
    settings: Settings,
    date: dt.date | None = None,
    endpoints: Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: bool | None = None,
) -> BuildReport:
    """Fetch + transform + session costs + views: the daily job in one call.

    Example: ``build_dataset(Settings.from_env(), endpoints=["prices", "connector_prices"])``.
    """
    fetched = run_fetch(settings, endpoints, date, force=force, progress=progress)
    done = transform_date(settings, fetched.snapshot_date, endpoints)
    return BuildReport(fetched.lines(), done.transform, done.views, done.session_cost_lines)

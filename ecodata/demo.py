"""``ecodata demo``: the whole pipeline in one command, against the simulator on a loopback port.

What :func:`run_demo` does, in order:

1. serves the simulated API (``scale``, seed 0) as it is on simulator day 0, on a free port of
   127.0.0.1, with a random token that only the fetcher receives (through :class:`Settings`);
2. builds that snapshot (fetch, transform, session costs, views) into the data directory;
3. does the same for simulator day 1, the evolved data (locations opened and closed, prices
   changed), so that the ``*_history`` views and ``price_changes`` have two dates to compare;
4. stops the simulator and collects a short cross-market report from the views.

The snapshot dates are the simulator's own calendar, so they are fixed and the dataset is the
same on every machine and every day: day 0 is 2026-06-01 (the simulator's "now"), day 1 the day
after. Re-running reuses complete raw snapshots of those dates when they hold the simulator's
record counts (so a second run takes seconds), resumes an interrupted download, downloads again
a complete snapshot of other data (another scale) or everything with ``force``, and always
rebuilds tables, session costs and views, so the dataset is consistent afterwards.
The demo refuses a data directory that holds snapshots of other dates: it would mix simulated
data into real history.

Example::

    report = run_demo(Settings.from_env(data_dir="demo-data"), progress=False)
    report.print()
"""

from __future__ import annotations

import datetime as dt
import secrets
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.table import Table

from ecodata.errors import ConfigError, SnapshotDamagedError, SnapshotError, ViewError
from ecodata.lock import data_dir_lock
from ecodata.paths import DataPaths
from ecodata.pipeline import BuildReport, build_dataset
from ecodata.pricing.sessions import ReferenceSession, load_sessions
from ecodata.settings import Secret, Settings
from ecodata.snapshot.schema import ENDPOINTS
from ecodata.tables.schemas import ALL_TABLES

if TYPE_CHECKING:
    import duckdb

DEMO_SEED = 0
DEMO_DAYS = 2  # simulator days 0 and 1 by default: two dates for the *_history views and price_changes
# What the report shows: HPC prices by product type, and the road-trip stop per country.
REPORT_POWER_CLASS = "HPC"
REPORT_SESSION = "HPC_10_80"

_MARKET_QUERY = f"""
SELECT country_code, product_type, currency, connectors, prices,
       energy_incl_vat_eur_p10, energy_incl_vat_eur_median, energy_incl_vat_eur_p90,
       share_time_fee, share_parking_fee, share_flat_fee
FROM market_prices
WHERE power_class = '{REPORT_POWER_CLASS}' AND product_type IN ('adhoc', 'msp')
ORDER BY country_code, product_type
"""

_SESSION_QUERY = f"""
SELECT country_code, pairs, eur_incl_vat_p10, eur_incl_vat_median, eur_incl_vat_p90,
       cheapest_msp, cheapest_msp_median_eur, adhoc_vs_best_msp_ratio
FROM session_cost_comparison
WHERE session = '{REPORT_SESSION}' AND product_type = 'adhoc'
ORDER BY country_code
"""

_COUNTS_QUERY = """
SELECT (SELECT count(*) FROM locations) AS locations,
       (SELECT count(*) FROM connectors) AS connectors,
       (SELECT count(*) FROM prices) AS prices,
       (SELECT count(*) FROM connector_prices) AS connector_prices,
       (SELECT count(*) FROM session_costs) AS session_costs,
       (SELECT count(*) FROM rejects) AS rejects
"""

_CHANGES_QUERY = "SELECT change, count(*) AS n FROM price_changes GROUP BY change ORDER BY change"


@dataclass(frozen=True)
class DemoSnapshot:
    """One snapshot the demo built: its date, the simulator day it shows, and what was done."""

    date: dt.date
    day: int
    reused: bool  # the complete raw snapshot was kept; only tables and views were rebuilt
    build: BuildReport
    elapsed_s: float


@dataclass
class DemoReport:
    """What :func:`run_demo` built, and the cross-market report read back from the views."""

    data_dir: Path
    scale: str
    snapshots: list[DemoSnapshot]
    counts: dict[str, int]
    changes: dict[str, int]
    market_prices: pl.DataFrame
    session_costs: pl.DataFrame
    elapsed_s: float
    notes: list[str] = field(default_factory=list)
    # the reported session as defined (settings.sessions_toml or the shipped sessions.toml)
    session: ReferenceSession | None = None

    @property
    def dates(self) -> list[dt.date]:
        return [s.date for s in self.snapshots]

    def next_steps(self) -> list[tuple[str, str]]:
        """(what, command) pairs for the things to try next, with this data directory filled in."""
        data = self.data_dir.resolve()
        default = Path("data").resolve() == data
        opt = "" if default else f" --data-dir {shlex.quote(str(self.data_dir))}"
        return [
            ("notebooks", f"ECODATA_DATA_DIR={shlex.quote(str(data))} uv run --with jupyterlab jupyter lab notebooks/"),
            ("DuckDB CLI", f"cd {shlex.quote(str(self.data_dir))} && duckdb ecodata.duckdb "
                           "-c \"SELECT * FROM market_prices WHERE power_class = 'HPC'\""),
            ("SQL", f"uv run ecodata{opt} sql \"SELECT change, count(*) FROM price_changes GROUP BY 1\""),
            ("compare", f"uv run ecodata{opt} compare --session {REPORT_SESSION} --country DE --country NL"),
            ("Python", f"ds = ecodata.open({str(data)!r}); ds.sql('SELECT * FROM market_prices').pl()"),
            # the token file, not the token: a token typed on the command line lands in the shell history
            ("real API", "ECODATA_TOKEN_FILE=<file holding your licence token> uv run ecodata build   (see the README)"),
        ]

    def print(self, file: IO[str] | None = None) -> None:
        """Print the report with rich tables (120 columns wide when not on a terminal)."""
        console = Console(file=file, highlight=False)
        if not console.is_terminal:
            console = Console(file=file, highlight=False, width=120)
        self.render(console)

    def render(self, console: Console) -> None:
        """Print the report on ``console``."""
        built = ", ".join(
            f"{s.date} (simulator day {s.day}{', raw reused' if s.reused else ''})" for s in self.snapshots
        )
        console.print(f"[bold]ecodata demo[/bold]: {self.scale}-scale simulated Eco-Movement API -> "
                      f"{self.data_dir} in {self.elapsed_s:.1f} s")
        console.print(f"snapshots: {built}")
        c = self.counts
        console.print(f"latest snapshot: {c['locations']:,} locations, {c['connectors']:,} connectors, "
                      f"{c['prices']:,} prices, {c['connector_prices']:,} connector x price pairs, "
                      f"{c['session_costs']:,} session costs, {c['rejects']:,} rejects", soft_wrap=True)
        changes = ", ".join(f"{n:,} {kind}" for kind, n in self.changes.items()) or "none"
        console.print(f"price changes {self.dates[0]} -> {self.dates[-1]}: {changes}")
        for note in self.notes:
            console.print(note)
        console.print()
        console.print(_market_table(self.market_prices))
        console.print()
        console.print(_session_table(self.session_costs, self.session))
        console.print()
        console.print("[bold]Next[/bold]")
        for what, command in self.next_steps():
            console.print(f"  {what:<11} {command}", soft_wrap=True)


def _eur(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _market_table(frame: pl.DataFrame) -> Table:
    table = Table(title=f"market_prices: {REPORT_POWER_CLASS} energy price incl. VAT, EUR/kWh (latest snapshot)",
                  title_justify="left")
    for name, justify in (("country", "left"), ("product", "left"), ("local currency", "left"),
                          ("connectors", "right"), ("prices", "right"), ("p10", "right"), ("median", "right"),
                          ("p90", "right"), ("time fee", "right"), ("parking fee", "right"),
                          ("flat fee", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in frame.iter_rows(named=True):
        table.add_row(row["country_code"], row["product_type"], row["currency"], f"{row['connectors']:,}",
                      f"{row['prices']:,}", _eur(row["energy_incl_vat_eur_p10"]),
                      _eur(row["energy_incl_vat_eur_median"]), _eur(row["energy_incl_vat_eur_p90"]),
                      _share(row["share_time_fee"]), _share(row["share_parking_fee"]),
                      _share(row["share_flat_fee"]))
    return table


def session_label(session: ReferenceSession | None) -> str:
    """The reported session's name with its energy and description, as the definitions give them."""
    if session is None:
        return REPORT_SESSION
    what = session.description.split(":", 1)[0].strip()
    return f"{session.name} ({session.energy_kwh.normalize():f} kWh{', ' + what if what else ''})"


def _session_table(frame: pl.DataFrame, session: ReferenceSession | None) -> Table:
    table = Table(title=f"session_cost_comparison: {session_label(session)}, ad hoc vs the "
                        "cheapest MSP product, EUR incl. VAT", title_justify="left")
    for name, justify in (("country", "left"), ("pairs", "right"), ("ad hoc p10", "right"),
                          ("ad hoc median", "right"), ("ad hoc p90", "right"), ("cheapest MSP product", "left"),
                          ("its median", "right"), ("ad hoc / MSP", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in frame.iter_rows(named=True):
        ratio = row["adhoc_vs_best_msp_ratio"]
        table.add_row(row["country_code"], f"{row['pairs']:,}", _eur(row["eur_incl_vat_p10"]),
                      _eur(row["eur_incl_vat_median"]), _eur(row["eur_incl_vat_p90"]),
                      row["cheapest_msp"] or "-", _eur(row["cheapest_msp_median_eur"]),
                      "-" if ratio is None else f"{ratio:.2f}x")
    return table


def _show_progress(settings: Settings, progress: bool | None) -> bool:
    if progress is not None:
        return progress
    if settings.progress is not None:
        return settings.progress
    console = Console(stderr=True)
    return console.is_terminal and not console.is_dumb_terminal


def _foreign_dates(paths: DataPaths, allowed: set[dt.date]) -> list[dt.date]:
    """Snapshot dates in the data directory (raw, staged or tables) that the demo would not write."""
    found: set[dt.date] = set()
    for endpoint in ENDPOINTS:
        found.update(paths.raw_dates(endpoint, complete_only=False))
    for table in ALL_TABLES:
        found.update(paths.table_dates(table))
        found.update(paths.legacy_table_dates(table))
    return sorted(found - allowed)


def _raw_state(paths: DataPaths, date: dt.date, counts: dict[str, int]) -> str:
    """``reuse`` when every endpoint's raw snapshot of ``date`` is complete with the simulator's
    record count, ``stale`` when a complete one holds other data (another scale), else ``fetch``
    (missing or interrupted: the fetcher downloads or resumes it)."""
    from ecodata.snapshot import read_manifest

    complete = 0
    for endpoint in ENDPOINTS:
        if date not in paths.raw_dates(endpoint):
            continue
        if read_manifest(paths, endpoint, date).records != counts[endpoint]:
            return "stale"
        complete += 1
    return "reuse" if complete == len(ENDPOINTS) else "fetch"


def run_demo(settings: Settings, *, scale: str = "demo", days: int = DEMO_DAYS, force: bool = False,
             progress: bool | None = None, say: Callable[[str], None] | None = None) -> DemoReport:
    """Build the demo dataset (``days`` consecutive simulator days, 0 .. days-1) into
    ``settings.data_dir`` from the simulator and report.

    ``force`` downloads the raw snapshots again even when they can be reused. ``progress`` shows
    step lines and download bars on stderr (default: only on an interactive terminal, never in CI);
    ``say`` replaces where the step lines go. The token, base URL and data directory the fetcher
    uses come from ``settings`` with the base URL and token replaced by the simulator's.
    """
    if days < 1:
        raise ConfigError(f"--days must be at least 1, not {days}")
    started = time.monotonic()
    show = _show_progress(settings, progress)
    if say is None:
        err = Console(stderr=True, highlight=False)
        say = (lambda text: err.print(text, soft_wrap=True)) if show else (lambda text: None)
    paths = DataPaths(settings.data_dir)
    with data_dir_lock(paths, "demo", timeout_s=settings.lock_timeout_s, create=True):
        try:
            snapshots = _build_days(settings, paths, scale, days, force, show, say)
        except SnapshotDamagedError as exc:
            # The fetch's advice (ecodata fetch --force) would go to the real API.
            raise SnapshotError(f"{exc.problem}: download the demo's snapshots again with "
                                "'ecodata demo --force'") from None
    return _report(settings, scale, snapshots, started)


def _build_days(settings: Settings, paths: DataPaths, scale: str, days: int, force: bool, show: bool,
                say: Callable[[str], None]) -> list[DemoSnapshot]:
    """Serve and build simulator days 0 .. days-1 in turn (the caller holds the data directory's lock)."""
    from ecodata.simulator import SimulatedData, SimulatorConfig, serve_in_thread

    token = secrets.token_urlsafe(24)
    snapshots: list[DemoSnapshot] = []
    first_date: dt.date | None = None
    for day in range(days):
        step = time.monotonic()
        truth = SimulatedData(scale=scale, seed=DEMO_SEED, day=day)
        date = dt.datetime.fromtimestamp(truth.now_epoch, dt.UTC).date()
        if first_date is None:
            first_date = date
            expected = {first_date + dt.timedelta(days=d) for d in range(days)}
            foreign = _foreign_dates(paths, expected)
            if foreign:
                shown = ", ".join(str(d) for d in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
                raise ConfigError(
                    f"the data directory {settings.data_dir} holds snapshots of other dates ({shown}); the demo "
                    "would mix simulated data into them: pass an empty or demo-only --data-dir"
                )
        state = "stale" if force else _raw_state(paths, date, {e: truth.count(e) for e in ENDPOINTS})
        reuse = state == "reuse"
        config = SimulatorConfig(scale=scale, seed=DEMO_SEED, token=token, day=day)
        with serve_in_thread(config, dataset=truth) as base_url:
            say(f"snapshot {date}: simulator day {day} on {base_url}; "
                + ("reusing the raw snapshot, rebuilding tables" if reuse else "fetch + transform + session costs"))
            run_settings = settings.with_(base_url=base_url, token=Secret(token))
            # force only replaces complete snapshots of other data; an interrupted run resumes.
            build = build_dataset(run_settings, date, force=state == "stale", progress=show)
        elapsed = time.monotonic() - step
        say(f"snapshot {date}: done in {elapsed:.1f} s")
        snapshots.append(DemoSnapshot(date, day, reuse, build, elapsed))
    return snapshots


def _frame(relation: duckdb.DuckDBPyRelation | None) -> pl.DataFrame:
    """A report query's rows (each of them is a SELECT, so it always has a result)."""
    if relation is None:  # pragma: no cover - the report's queries are SELECTs
        raise ViewError("a demo report query returned no result")
    frame: pl.DataFrame = relation.pl()
    return frame


def _report(settings: Settings, scale: str, snapshots: list[DemoSnapshot], started: float) -> DemoReport:
    from ecodata.dataset import open as open_dataset

    with open_dataset(settings.data_dir) as dataset:
        counts, changes, market, sessions = (
            _frame(dataset.sql(query)) for query in (_COUNTS_QUERY, _CHANGES_QUERY, _MARKET_QUERY, _SESSION_QUERY))
    notes = []
    session = next((s for s in load_sessions(settings.sessions_toml)
                    if s.name == REPORT_SESSION and isinstance(s, ReferenceSession)), None)
    if settings.token:
        notes.append("(your ECODATA_TOKEN was not used: the demo gives the simulator a throwaway token)")
    return DemoReport(
        data_dir=settings.data_dir, scale=scale, snapshots=snapshots,
        counts={k: int(v) for k, v in counts.row(0, named=True).items()},
        changes={str(kind): int(n) for kind, n in changes.iter_rows()}, market_prices=market,
        session_costs=sessions, elapsed_s=time.monotonic() - started, notes=notes, session=session,
    )

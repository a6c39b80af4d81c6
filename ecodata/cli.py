"""The thin command line: parse options, build Settings, call one library function, print.

No logic lives here. Expected failures (:class:`ecodata.errors.EcodataError`) become one line on
stderr and a non-zero exit code, without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ecodata.endpoints import ENDPOINTS
from ecodata.errors import ConfigError, EcodataError
from ecodata.settings import Settings

if TYPE_CHECKING:
    import polars as pl

    from ecodata.dataset import Dataset
    from ecodata.snapshot import SnapshotInfo

FORMATS = ("table", "csv", "json")


class _Group(click.Group):
    """A click group that turns EcodataError into one line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EcodataError as exc:
            for note in getattr(exc, "__notes__", ()):  # what did succeed before the failure
                click.echo(note, err=True)
            click.echo(f"ecodata: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("ecodata: interrupted", err=True)
            sys.exit(130)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from ECODATA_* variables, the group's options and a command's own options."""
    base: dict[str, Any] = dict(ctx.find_root().obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.from_env(**base)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecodata")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data directory (default: $ECODATA_DATA_DIR or ./data).")
@click.option("--base-url", default=None, help="API base URL (default: $ECODATA_BASE_URL or the real API).")
@click.option("--token-file", type=click.Path(path_type=Path), default=None,
              help="File holding the API token (default: $ECODATA_TOKEN or $ECODATA_TOKEN_FILE).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="How long a writing command waits for another one writing the same data directory "
                   "(default: $ECODATA_LOCK_TIMEOUT or 600).")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, base_url: str | None, token_file: Path | None,
        lock_timeout: float | None) -> None:
    """ecodata: EV-charging location and price analytics from the Eco-Movement Data API."""
    obj: dict[str, Any] = {"data_dir": data_dir, "base_url": base_url, "lock_timeout_s": lock_timeout}
    if token_file is not None:
        from ecodata.settings import read_token_file

        obj["token"] = read_token_file(token_file)
    ctx.obj = {k: v for k, v in obj.items() if v is not None}


# --- commands (each: parse, build settings, call one library function, print) ---------------


@cli.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port.")
@click.option("--scale", type=click.Choice(["mini", "demo", "bench", "europe"]), default="demo", show_default=True,
              help="Dataset size: ~150, ~1k, ~100k or ~460k locations.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated data and faults.")
@click.option("--token", default="sim-token", show_default=True,
              help="Token clients must send as 'Authorization: Token <token>'.")
@click.option("--faults", "faults_text", default="",
              help="Faults as comma-separated kind=rate pairs (probability per request), e.g. "
                   "http429=0.05, slow=0.02:1, drop=0.01, mutate=0.1 (quote the list when it has spaces).")
@click.option("--day", type=click.IntRange(min=0), default=0, show_default=True,
              help="Simulated day: the data evolves deterministically from day 0.")
@click.option("--pricing-envelope", type=click.Choice(["status_code", "status"]), default="status_code",
              show_default=True, help="Envelope style of the /prices routes.")
def simulate_command(host: str, port: int, scale: str, seed: int, token: str, faults_text: str, day: int,
                     pricing_envelope: str) -> None:
    """Serve the simulated Eco-Movement Data API until stopped (Ctrl-C).

    Example: ecodata simulate --port 8765 --scale demo --faults http429=0.05,drop=0.01
    """
    from ecodata.simulator import FaultSpec, SimulatorConfig, run_server

    config = SimulatorConfig(scale=scale, seed=seed, token=token, faults=FaultSpec.parse(faults_text),
                             day=day, pricing_envelope=pricing_envelope)
    faults = str(config.faults) or "none"
    run_server(config, host, port, ready=lambda url: click.echo(
        f"simulated Eco-Movement API: scale {scale}, seed {seed}, day {day}, faults {faults}; {url} (Ctrl-C to stop)"))


@cli.command("fetch")
@click.option("--endpoint", "endpoints", multiple=True,
              type=click.Choice(ENDPOINTS),
              help="Endpoint to download (repeatable; default: all four).")
@click.option("--date", "date_text", default=None, help="Snapshot date YYYY-MM-DD (default: today, UTC).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Requests in flight at once (default: $ECODATA_CONCURRENCY or 4).")
@click.option("--locations-version", type=click.Choice(["2.1.1", "2.2"]), default=None,
              help="OCPI flavour of the locations endpoint (default 2.1.1).")
@click.option("--tariffs-version", type=click.Choice(["2.1.1", "2.3.0"]), default=None,
              help="OCPI flavour of the tariffs endpoint (default 2.1.1; 2.3.0: tax_included, price limits).")
@click.option("--page-limit", type=click.IntRange(min=1), default=None,
              help="Records per request (default: each endpoint's maximum, 1000 or 10000).")
@click.option("--force", is_flag=True, help="Download again even if the date's snapshot is complete.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars (default: only on an interactive terminal).")
@click.pass_context
def fetch_command(ctx: click.Context, endpoints: tuple[str, ...], date_text: str | None,
                  concurrency: int | None, locations_version: str | None, tariffs_version: str | None,
                  page_limit: int | None, force: bool, progress: bool | None) -> None:
    """Download endpoints into a raw snapshot; resumes an interrupted run of the same date.

    Example: ecodata fetch --endpoint prices --endpoint connector_prices --date 2026-11-21
    """
    from ecodata.fetch import run_fetch
    from ecodata.paths import parse_date

    settings = settings_from(ctx, concurrency=concurrency, locations_version=locations_version,
                             tariffs_version=tariffs_version)
    report = run_fetch(settings, endpoints or None, parse_date(date_text) if date_text is not None else None,
                       force=force, progress=progress, page_limit=page_limit)
    for line in report.lines():
        click.echo(line)


@cli.command("snapshots")
@click.pass_context
def snapshots_command(ctx: click.Context) -> None:
    """List raw snapshots per endpoint: records, pages, size, duplicates, status.

    Example: ecodata --data-dir data snapshots
    """
    from ecodata.paths import DataPaths
    from ecodata.snapshot import list_snapshots

    settings = settings_from(ctx)
    click.echo(format_snapshots(list_snapshots(DataPaths(settings.data_dir))))


@cli.command("price")
@click.option("--tariff", "tariff_file", required=True, type=click.Path(path_type=Path),
              help="JSON file with one OCPI tariff or Eco-Movement price record.")
@click.option("--cdr", "cdr_file", required=True, type=click.Path(path_type=Path),
              help="JSON file with one OCPI CDR (its charging_periods are priced).")
@click.option("--timezone", default=None,
              help="IANA zone of the location for time restrictions (default: cdr_location.time_zone, else UTC).")
def price_command(tariff_file: Path, cdr_file: Path, timezone: str | None) -> None:
    """Price one CDR with one tariff and print the OCPI CDR totals as JSON.

    Example: ecodata price --tariff tariff.json --cdr cdr.json --timezone Europe/Amsterdam
    """
    from ecodata.pricing import price_files, totals_to_json

    priced = price_files(tariff_file, cdr_file, timezone)
    for warning in priced.warnings:
        click.echo(f"ecodata: warning: {warning}", err=True)
    click.echo(totals_to_json(priced.totals))


@cli.command("compare")
@click.option("--session", "sessions", multiple=True, help="Reference session, e.g. HPC_10_80 (repeatable).")
@click.option("--country", "countries", multiple=True, help="2-letter country code, e.g. DE (repeatable).")
@click.option("--power-class", "power_classes", multiple=True, type=click.Choice(["AC", "DC", "HPC"],
              case_sensitive=False), help="Connector power class (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--vehicle", default=None, help="Vehicle session of this car, e.g. VW_ID3_PRO (adds EUR per 100 km).")
@click.option("--soc", default="10-80", show_default=True, help="State-of-charge window of --vehicle, FROM-TO %.")
@click.pass_context
def compare_command(ctx: click.Context, sessions: tuple[str, ...], countries: tuple[str, ...],
                    power_classes: tuple[str, ...], fmt: str, vehicle: str | None, soc: str) -> None:
    """Compare reference-session costs across countries, power classes and products (EUR).

    Reads the session_cost_comparison view of the latest snapshot (built by `ecodata build`).
    When nothing matches, one line says what the data holds (on stderr for csv and json).

    Example: ecodata compare --session HPC_10_80 --country DE --country NL --format csv
    Vehicle sessions (a [[session]] with vehicle = "VW_ID3_PRO", soc = "10-80" in ECODATA_SESSIONS_TOML):
    ecodata compare --vehicle VW_ID3_PRO --soc 10-80
    """
    from ecodata.dataset import open as open_dataset

    settings = settings_from(ctx)
    with open_dataset(settings.data_dir) as dataset:
        frame = dataset.compare(sessions=sessions, countries=countries, power_classes=power_classes,
                                vehicle=vehicle, soc=soc, vehicles_file=settings.vehicles_file)
        note = None if frame.height else _no_match_note(dataset, sessions, countries, power_classes)
    if note is not None and fmt == "table":
        click.echo(note)
        return
    click.echo(format_frame(frame, fmt))
    if note is not None:
        click.echo(note, err=True)


@cli.command("transform")
@click.option("--date", "date_text", default=None, help="Snapshot date YYYY-MM-DD (default: the newest raw snapshot).")
@click.option("--endpoint", "endpoints", multiple=True,
              type=click.Choice(ENDPOINTS),
              help="Endpoint to transform (repeatable; default: every endpoint with a snapshot that date).")
@click.pass_context
def transform_command(ctx: click.Context, date_text: str | None, endpoints: tuple[str, ...]) -> None:
    """Build the tables, session costs and views of one snapshot date from its raw snapshot.

    Replaces that date's tables and session costs, and points the views at the newest tables.

    Example: ecodata transform --date 2026-11-21
    """
    from ecodata.paths import parse_date
    from ecodata.pipeline import transform_date

    settings = settings_from(ctx)
    report = transform_date(settings, parse_date(date_text) if date_text is not None else None, endpoints or None)
    for line in report.lines():
        click.echo(line)


@cli.command("prune")
@click.option("--before", "before_text", required=True, help="Keep snapshots from this date YYYY-MM-DD on.")
@click.pass_context
def prune_command(ctx: click.Context, before_text: str) -> None:
    """Drop the tables' history and the raw snapshots before a date; later days stay as they were.

    Example: ecodata prune --before 2026-01-01
    """
    from ecodata.paths import parse_date
    from ecodata.pipeline import prune_dataset

    for line in prune_dataset(settings_from(ctx), parse_date(before_text)):
        click.echo(line)


@cli.command("delete")
@click.option("--date", "date_text", required=True, help="Snapshot date YYYY-MM-DD to remove from the tables.")
@click.pass_context
def delete_command(ctx: click.Context, date_text: str) -> None:
    """Remove one snapshot date from the tables' history (its raw snapshot stays; transform rebuilds it).

    Example: ecodata delete --date 2026-06-03
    """
    from ecodata.paths import parse_date
    from ecodata.pipeline import delete_date

    for line in delete_date(settings_from(ctx), parse_date(date_text)):
        click.echo(line)


@cli.command("migrate")
@click.pass_context
def migrate_command(ctx: click.Context) -> None:
    """Convert an older data directory in place: full daily table copies to the history layout,
    session_costs stored per connector to session_price_costs + session_profiles, and full raw days
    to the record store.

    Idempotent and resumable; every day is verified row by row (raw: record by record) before its
    old copy is removed. The newest raw day of each endpoint stays full until its next transform.

    Example: ecodata --data-dir data migrate
    """
    from ecodata.pipeline import migrate_dataset

    for line in migrate_dataset(settings_from(ctx)):
        click.echo(line)


@cli.command("views")
@click.option("--sql", "show_sql", is_flag=True, help="Print the CREATE VIEW statements instead of running them.")
@click.option("--dialect", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="spark: print the same views as Spark SQL (temporary views and table functions over "
                   "the Parquet files under --location); nothing is written.")
@click.option("--location", default=None, metavar="PATH_OR_URL",
              help="With --dialect spark: where Spark reads the dataset (s3a://bucket/prefix, abfss://..., "
                   "file:///...; default: the data directory).")
@click.option("--fx-rates", type=click.Path(path_type=Path), default=None,
              help="CSV of EUR reference rates (rate_date,currency,units_per_eur) to use from now on: "
                   "kept as <data>/fx_rates.csv (default: the kept rates, else the shipped ones).")
@click.pass_context
def views_command(ctx: click.Context, show_sql: bool, dialect: str, location: str | None,
                  fx_rates: Path | None) -> None:
    """(Re)create data/ecodata.duckdb: views over the tables, with paths relative to the data directory.

    Open it with the DuckDB CLI from inside the data directory: cd data && duckdb ecodata.duckdb.
    Rates given with --fx-rates stay with the dataset: later views, transforms, ecodata sql,
    compare and ecodata.open() use them (with --sql they are only printed, not kept).
    --dialect spark prints the views for Spark / Databricks instead (file lists from the data
    directory, paths under --location).

    Example: ecodata views --sql; ecodata views --dialect spark --location s3a://bucket/ecodata
    """
    from ecodata.paths import DataPaths

    settings = settings_from(ctx, fx_rates_csv=fx_rates)
    paths = DataPaths(settings.data_dir)
    if dialect == "spark":
        from ecodata.spark.plan import views_script as spark_script

        if not paths.history_root.is_dir():
            raise ConfigError(f"no tables in {paths.root}: run 'ecodata build' first or pass the right --data-dir")
        click.echo(spark_script(location or paths.root, paths, settings.fx_rates_csv))
        return
    if location is not None:
        raise ConfigError("--location is for --dialect spark only")
    from ecodata.sql import views_script, write_views

    if show_sql:
        click.echo(views_script(paths, settings.fx_rates_csv))
        return
    names = write_views(paths, settings.fx_rates_csv, lock_timeout_s=settings.lock_timeout_s)
    click.echo(f"{len(names)} views written to {paths.duckdb_path}")


@cli.command("publish")
@click.argument("url")
@click.option("--dry-run", is_flag=True, help="Print what would be sent (and deleted) without sending anything.")
@click.option("--delete", is_flag=True,
              help="Remove objects no manifest names any more (days pruned or compacted locally), after the manifests.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar of bytes sent (default: only on an interactive terminal).")
@click.pass_context
def publish_command(ctx: click.Context, url: str, dry_run: bool, delete: bool, progress: bool | None) -> None:
    """Copy the committed snapshots, tables' history and views to s3://bucket/prefix, gs://, az:// or a directory.

    Incremental and idempotent: only files missing or changed on the target are sent, data before
    the manifests naming them; an interrupted publish resumes. Credentials come from the usual
    AWS_* / GOOGLE_* / AZURE_* variables and profiles; AWS_ENDPOINT_URL points at MinIO and the like.
    Needs pip install 'ecodata[s3]' (or [gcs], [azure]).

    Example: ecodata publish s3://analytics/ecodata --dry-run
    """
    from ecodata.lake.publish import publish

    settings = settings_from(ctx)
    report = publish(settings.data_dir, url, dry_run=dry_run, delete=delete, progress=progress,
                     lock_timeout_s=settings.lock_timeout_s)
    for line in report.lines():
        click.echo(line)


@cli.command("sql")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format (csv writes nested values as JSON text).")
@click.pass_context
def sql_command(ctx: click.Context, query: str, fmt: str) -> None:
    """Run SQL against the views (tables, connector_prices_flat, market_prices, price_changes, ...).

    A statement without a result (e.g. only a comment) prints nothing.

    Example: ecodata sql "SELECT * FROM market_prices WHERE country_code = 'DE'" --format csv
    """
    from ecodata.dataset import open as open_dataset

    if not query.strip():
        raise ConfigError("the query is empty: give one, e.g. ecodata sql \"SELECT * FROM market_prices LIMIT 5\"")
    settings = settings_from(ctx)
    with open_dataset(settings.data_dir) as dataset:
        relation = dataset.sql(query)
        frame = None if relation is None else relation.pl()
    click.echo("" if frame is None else format_frame(frame, fmt))


@cli.command("lint")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("--counts", is_flag=True, help="Print the counts per party and rule (price_lint_counts) instead.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Exit 1 when a finding has this severity or a worse one (default: always exit 0).")
@click.pass_context
def lint_command(ctx: click.Context, fmt: str, counts: bool, fail_on: str | None) -> None:
    """Report suspicious price records and tariffs of the latest snapshot (the price_lint view).

    A report, not a check: it exits 0 whatever it finds, unless --fail-on names a severity.

    Example: ecodata lint --format csv --fail-on error
    """
    from ecodata.dataset import open as open_dataset
    from ecodata.sql.lint import failing_findings, failure_line

    settings = settings_from(ctx)
    with open_dataset(settings.data_dir) as dataset:
        frame = dataset.lint(counts=counts)
    click.echo(format_frame(frame, fmt))
    if fail_on is not None and (failing := failing_findings(frame, fail_on)):
        click.echo(f"ecodata: lint: {failure_line(failing, fail_on)}", err=True)
        ctx.exit(1)


@cli.command("build")
@click.option("--date", "date_text", default=None, help="Snapshot date YYYY-MM-DD (default: today, UTC).")
@click.option("--endpoint", "endpoints", multiple=True,
              type=click.Choice(ENDPOINTS),
              help="Endpoint to build (repeatable; default: all four).")
@click.option("--force", is_flag=True, help="Download again even if the date's snapshot is complete.")
@click.option("--fx-rates", type=click.Path(path_type=Path), default=None,
              help="CSV of EUR reference rates to use from now on (kept as <data>/fx_rates.csv).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars (default: only on an interactive terminal).")
@click.pass_context
def build_command(ctx: click.Context, date_text: str | None, endpoints: tuple[str, ...], force: bool,
                  fx_rates: Path | None, progress: bool | None) -> None:
    """Fetch + transform + views: the daily job in one command.

    Example: ecodata build
    """
    from ecodata.paths import parse_date
    from ecodata.pipeline import build_dataset

    settings = settings_from(ctx, fx_rates_csv=fx_rates)
    report = build_dataset(settings, parse_date(date_text) if date_text is not None else None, endpoints or None,
                           force=force, progress=progress)
    for line in report.lines():
        click.echo(line)


@cli.command("demo")
@click.option("--scale", type=click.Choice(["mini", "demo", "bench", "europe"]), default="demo", show_default=True,
              help="Size of the simulated API: ~150, ~1k, ~100k or ~460k locations.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data directory to build into (default: $ECODATA_DATA_DIR or ./data).")
@click.option("--days", type=click.IntRange(min=1), default=2, show_default=True,
              help="Consecutive simulator days to build (day 0 is 2026-06-01).")
@click.option("--force", is_flag=True,
              help="Download the simulated snapshots again instead of reusing complete ones.")
@click.option("--progress/--no-progress", default=None,
              help="Step lines and progress bars (default: only on an interactive terminal).")
@click.pass_context
def demo_command(ctx: click.Context, scale: str, data_dir: Path | None, days: int, force: bool,
                 progress: bool | None) -> None:
    """Build a dataset of consecutive simulated days on a free loopback port and print a report.

    Snapshots 2026-06-01 (simulator day 0), 2026-06-02 (day 1, the evolved data), ... one per day.
    Re-running reuses complete raw snapshots and rebuilds tables and views.

    Example: ecodata demo --data-dir demo-data
    """
    from ecodata.demo import run_demo

    settings = settings_from(ctx, data_dir=data_dir)
    run_demo(settings, scale=scale, days=days, force=force, progress=progress).print()


# --- output formatting (the library returns frames; text is made here) -------------------------


def format_frame(frame: pl.DataFrame, fmt: str = "table") -> str:
    """A frame as text: an aligned ``table``, ``csv`` (with header) or ``json`` (a list of rows).

    CSV cells are flat, so nested values (lists, structs) become JSON text there; ``json``
    keeps them nested.
    """
    import polars as pl

    if fmt == "csv":
        nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
        flat = frame.with_columns(_json_text(name) for name in nested) if nested else frame
        return str(flat.write_csv()).rstrip("\n")
    if fmt == "json":
        return str(frame.write_json())
    if fmt == "table":
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=1000, fmt_str_lengths=80,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            return str(frame)
    raise ConfigError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")


def format_snapshots(rows: list[SnapshotInfo]) -> str:
    """``ecodata snapshots`` output: an aligned text table, then one line per damaged snapshot
    (what is wrong, what to run), or a hint when there is nothing."""
    if not rows:
        return "no snapshots yet: run 'ecodata fetch'"
    header = ("endpoint", "date", "status", "records", "pages", "MB", "duplicates", "drift")
    body = [
        (r.endpoint, r.snapshot_date.isoformat(), r.status, f"{r.records:,}", str(r.pages),
         f"{r.bytes / 1e6:.1f}", str(r.duplicates), "yes" if r.drift else "")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = {3, 4, 5, 6}
    lines = []
    for line in [header, *body]:
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    lines += [r.problem for r in rows if r.problem]
    return "\n".join(lines)


def _json_text(name: str) -> pl.Expr:
    """Column ``name`` as the JSON ``write_json`` gives its values (null stays an empty cell)."""
    import json

    import polars as pl

    prefix = len(json.dumps(name)) + 2  # {"name":
    encoded = pl.struct(pl.col(name)).struct.json_encode().str.slice(prefix).str.head(-1)
    return pl.when(pl.col(name).is_null()).then(None).otherwise(encoded).alias(name)


def _no_match_note(dataset: Dataset, sessions: tuple[str, ...], countries: tuple[str, ...],
                   power_classes: tuple[str, ...]) -> str:
    """One line: the filters that matched nothing, and what the comparison does hold."""
    relation = dataset.sql("SELECT DISTINCT country_code, power_class, session FROM session_cost_comparison")
    have = relation.pl() if relation is not None else None
    if have is None or have.height == 0:
        return ("no rows: the latest snapshot has no session costs; run 'ecodata transform' "
                "(or 'ecodata build') for it")
    asked = [f"{what} {', '.join(v.upper() if what != 'session' else v for v in values)}"
             for what, values in (("session", sessions), ("country", countries), ("power class", power_classes))
             if values]

    def listed(column: str) -> str:
        return ", ".join(sorted(str(v) for v in have[column].unique().to_list() if v is not None)) or "none"

    return (f"no rows match {'; '.join(asked) or 'the filters'}: the data has countries {listed('country_code')}; "
            f"power classes {listed('power_class')}; sessions {listed('session')}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ecodata")


if __name__ == "__main__":
    main()

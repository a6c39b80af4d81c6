"""The thin command line: parse options, build Settings, call one library function, print.

No logic lives here. Expected failures (:class:`ecodata.errors.EcodataError`) become one line on
stderr and a non-zero exit code, without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ecodata.errors import EcodataError
from ecodata.settings import Settings


class _Group(click.Group):
    """A click group that turns EcodataError into one line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EcodataError as exc:
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
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, base_url: str | None, token_file: Path | None) -> None:
    """ecodata: EV-charging location and price analytics from the Eco-Movement Data API."""
    obj: dict[str, Any] = {"data_dir": data_dir, "base_url": base_url}
    if token_file is not None:
        from ecodata.settings import read_token_file

        obj["token"] = read_token_file(token_file)
    ctx.obj = {k: v for k, v in obj.items() if v is not None}


# --- commands (each: parse, build settings, call one library function, print) ---------------


@cli.command("fetch")
@click.option("--endpoint", "endpoints", multiple=True,
              type=click.Choice(["locations", "connector_prices", "prices", "tariffs"]),
              help="Endpoint to download (repeatable; default: all four).")
@click.option("--date", "date_text", default=None, help="Snapshot date YYYY-MM-DD (default: today, UTC).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Requests in flight at once (default: $ECODATA_CONCURRENCY or 4).")
@click.option("--locations-version", type=click.Choice(["2.1.1", "2.2"]), default=None,
              help="OCPI flavour of the locations endpoint (default 2.1.1).")
@click.option("--page-limit", type=click.IntRange(min=1), default=None,
              help="Records per request (default: each endpoint's maximum, 1000 or 10000).")
@click.option("--force", is_flag=True, help="Download again even if the date's snapshot is complete.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars (default: only on an interactive terminal).")
@click.pass_context
def fetch_command(ctx: click.Context, endpoints: tuple[str, ...], date_text: str | None,
                  concurrency: int | None, locations_version: str | None, page_limit: int | None,
                  force: bool, progress: bool | None) -> None:
    """Download endpoints into a raw snapshot; resumes an interrupted run of the same date.

    Example: ecodata fetch --endpoint prices --endpoint connector_prices --date 2026-11-21
    """
    from ecodata.fetch import run_fetch
    from ecodata.paths import parse_date

    settings = settings_from(ctx, concurrency=concurrency, locations_version=locations_version)
    report = run_fetch(settings, endpoints or None, parse_date(date_text) if date_text else None,
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
    from ecodata.snapshot import format_snapshots, list_snapshots

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

    click.echo(totals_to_json(price_files(tariff_file, cdr_file, timezone)))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ecodata")


if __name__ == "__main__":
    main()

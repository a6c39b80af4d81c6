"""``ecodata lint``: what the lint views report, and when a report fails a job.

The rules themselves are SQL over the typed tables (``views/price_lint.sql``), declared with their
severity and reason once in ``views/price_lint_rules.sql``; this module only knows the queries and the
order of the severities, so that ``ecodata lint --fail-on warning`` fails on warnings and errors.

Example::

    query = lint_query(counts=False)            # SELECT * FROM price_lint
    failing = failing_findings(frame, "error")  # how many findings are errors
"""

from __future__ import annotations

import polars as pl

from ecodata.errors import ConfigError

__all__ = ["SEVERITIES", "failing_findings", "failure_line", "lint_query"]

SEVERITIES = ("error", "warning", "info")
"""The severities of ``price_lint_rules``, the most severe first."""


def lint_query(*, counts: bool = False) -> str:
    """The query behind ``ds.lint()``: every finding (``price_lint``) or the counts per party and rule."""
    return "SELECT * FROM price_lint_counts" if counts else "SELECT * FROM price_lint"


def failing_findings(frame: pl.DataFrame, fail_on: str) -> int:
    """How many findings of ``frame`` (price_lint or price_lint_counts rows) are ``fail_on`` or worse.

    Example: ``failing_findings(ds.lint(), "warning")`` counts warnings and errors.
    """
    if fail_on not in SEVERITIES:
        raise ConfigError(f"unknown severity {fail_on!r}: use {', '.join(SEVERITIES)}")
    worse = list(SEVERITIES[: SEVERITIES.index(fail_on) + 1])
    selected = frame.filter(pl.col("severity").is_in(worse))
    if "findings" in frame.columns:
        return int(selected["findings"].sum())
    return selected.height


def failure_line(count: int, fail_on: str) -> str:
    """The one line ``ecodata lint --fail-on`` prints when findings fail the run."""
    noun = "finding" if count == 1 else "findings"
    worse = "" if fail_on == SEVERITIES[0] else " or worse"
    return f"{count} {noun} of severity {fail_on}{worse} (--fail-on {fail_on})"

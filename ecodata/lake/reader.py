"""Reading a published lake with DuckDB: the published views script over the objects, through fsspec.

DuckDB 2.0's ``httpfs`` extension cannot be installed from the registries these machines reach,
so the lake's filesystem (the same fsspec one ``publish`` writes with) is registered on the
connection (``DuckDBPyConnection.register_filesystem``) and DuckDB reads every Parquet file
through it. The views are those of ``_views/duckdb.sql``, written by the publish from the same
manifests it sent: their relative file names (``history/<table>/<day>-<token>.parquet``) become
names under the lake's URL, since DuckDB's ``file_search_path`` does not apply to a registered
filesystem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import duckdb

from ecodata.errors import ConfigError, ViewError, first_line
from ecodata.lake._target import Target, open_target
from ecodata.lake.publish import VIEWS_SCRIPT

_RELATIVE_FILE = re.compile(r"'((?:history|raw)/[^'\n]*\.parquet)'")


def absolute_script(script: str, base: str) -> str:
    """The views script with every relative Parquet file name put under ``base`` (a URL or a directory).

    Example: ``absolute_script("read_parquet(['history/a/x.parquet'])", "s3://b/p")`` reads
    ``'s3://b/p/history/a/x.parquet'``.
    """
    prefix = base.rstrip("/").replace("'", "''")
    return _RELATIVE_FILE.sub(lambda m: f"'{prefix}/{m.group(1)}'", script)


def lake_connection(url: str, env: Mapping[str, str] | None = None) -> tuple[duckdb.DuckDBPyConnection, Target]:
    """An in-memory DuckDB connection with the views of the lake at ``url``, and the lake's target."""
    target = open_target(url, env)
    body = target.read_bytes(VIEWS_SCRIPT)
    if body is None:
        raise ConfigError(f"no published dataset at {target.url} (it has no {VIEWS_SCRIPT}): "
                          f"run 'ecodata publish {target.url}' first, or check the URL")
    con = duckdb.connect(":memory:")
    try:
        if not target.local:
            # one listing fills the filesystem's cache of object sizes and dates: DuckDB asks for
            # them each time a view binds a file (1,629 HEAD requests to open a two-day demo lake)
            target.listing()
            con.register_filesystem(target.fs)
        con.execute("SET parquet_metadata_cache = true")
        with target.errors("read the lake's files"):
            con.execute(absolute_script(body.decode("utf-8"), target.base))
    except duckdb.Error as exc:
        con.close()
        raise ViewError(f"cannot create the views of {target.url}: {target.scrub(first_line(exc))}") from None
    except BaseException:
        con.close()
        raise
    return con, target

"""The data dictionary: every table and column, rendered from the schemas so it cannot drift.

``python -m ecodata.tables.dictionary README.md`` rewrites the section of README.md between the
``<!-- data-dictionary:start -->`` and ``<!-- data-dictionary:end -->`` markers; a test checks that
the committed README equals what this module renders.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import polars as pl

from ecodata.tables.schemas import ALL_TABLES, VIEW_TABLES, TableSchema

START = "<!-- data-dictionary:start -->"
END = "<!-- data-dictionary:end -->"


def dtype_name(dtype: Any) -> str:
    """A dtype as the data dictionary writes it: ``decimal(18,6)``, ``timestamp[us, UTC]``, ``list<string>``."""
    if isinstance(dtype, type):
        dtype = dtype()
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return f"timestamp[{dtype.time_unit}, {dtype.time_zone}]" if dtype.time_zone else "timestamp"
    if isinstance(dtype, pl.List):
        return f"list<{dtype_name(dtype.inner)}>"
    return {
        pl.String: "string", pl.Int32: "int32", pl.Int64: "int64", pl.Float64: "float64",
        pl.Boolean: "bool", pl.Date: "date", pl.Time: "time",
    }.get(type(dtype), str(dtype))


def render_table(table: TableSchema) -> str:
    """One table as a Markdown section: what a row is, its key, and a column table."""
    lines = [
        f"### `{table.name}`",
        "",
        f"{table.doc} Key: ({', '.join(table.key)}).",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.name}` | {dtype_name(c.dtype)} | {c.doc.replace('|', '/')} |" for c in table.columns]
    return "\n".join(lines)


def render_data_dictionary() -> str:
    """Every stored table in declaration order, then the tables that are views, between the README markers."""
    body = "\n\n".join(render_table(t) for t in [*ALL_TABLES.values(), *VIEW_TABLES.values()])
    return f"{START}\n\n{body}\n\n{END}"


def replace_section(text: str) -> str:
    """``text`` with its data-dictionary section replaced by a fresh rendering."""
    start, end = text.index(START), text.index(END) + len(END)
    return text[:start] + render_data_dictionary() + text[end:]


def main(argv: list[str] | None = None) -> None:
    """Rewrite the data dictionary section of the given Markdown file(s)."""
    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        path.write_text(replace_section(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()

import re
from pathlib import Path

from ecodata.tables.dictionary import END, START, render_data_dictionary
from ecodata.tables.schemas import ALL_TABLES, VIEW_TABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_data_dictionary_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(START) : text.index(END) + len(END)]
    assert section == render_data_dictionary(), (
        "README data dictionary is stale: run 'uv run python -m ecodata.tables.dictionary README.md'"
    )


def test_every_table_and_column_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(START) : text.index(END)]
    for table in [*ALL_TABLES.values(), *VIEW_TABLES.values()]:
        assert len(table.doc.split()) >= 3, f"table {table.name} has no description"
        body = section.split(f"### `{table.name}`\n", 1)[1].split("\n### ", 1)[0]
        rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| (.*) \|$", body, flags=re.MULTILINE)
        assert [name for name, _, _ in rows] == table.column_names, table.name
        undocumented = [name for name, _, meaning in rows if not meaning.strip()]
        assert undocumented == [], f"{table.name}: columns without a meaning: {undocumented}"

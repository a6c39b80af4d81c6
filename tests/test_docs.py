from pathlib import Path

from ecodata.tables.dictionary import END, START, render_data_dictionary
from ecodata.tables.schemas import ALL_TABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_data_dictionary_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(START) : text.index(END) + len(END)]
    assert section == render_data_dictionary(), (
        "README data dictionary is stale: run 'uv run python -m ecodata.tables.dictionary README.md'"
    )


def test_every_table_and_column_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    for table in ALL_TABLES.values():
        assert f"### `{table.name}`" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text

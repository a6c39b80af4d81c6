import re
from pathlib import Path

from ecodata.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def section(text, title):
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_quick_start_keeps_the_two_commands():
    quick = section(README.read_text(encoding="utf-8"), "Quick start")
    assert "    python3 -m pip install uv && uv run ecodata demo\n" in quick
    assert "    python3 -m pip install uv && uv run pytest\n" in quick


def test_every_command_is_in_the_command_table_and_has_help():
    table = section(README.read_text(encoding="utf-8"), "Command line")
    documented = re.findall(r"^\| `ecodata ([a-z-]+)` \| .+ \|$", table, re.MULTILINE)
    assert sorted(documented) == sorted(cli.commands)
    for name, command in cli.commands.items():
        assert (command.help or "").strip(), f"ecodata {name} has no help text"
        assert "Example: ecodata" in (command.help or ""), f"ecodata {name} --help shows no example"


def test_readme_names_every_notebook():
    notebooks = sorted(p.stem for p in (README.parent / "notebooks").glob("*.ipynb"))
    table = section(README.read_text(encoding="utf-8"), "Notebooks")
    assert sorted(re.findall(r"^\| `(\d\d_[a-z_]+)` \|", table, re.MULTILINE)) == notebooks

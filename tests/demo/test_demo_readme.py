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
    assert "    python3 -m pip install uv && uv run --no-dev ecodata demo\n" in quick
    assert "    python3 -m pip install uv && uv run pytest\n" in quick


def test_the_demo_command_installs_the_runtime_only_and_ci_the_dev_group():
    """``uv run --no-dev``: a user's demo needs none of pytest, ruff, mypy or Jupyter."""
    import shutil
    import subprocess

    import pytest

    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")

    def locked(*flags):
        out = subprocess.run([uv, "export", "--frozen", "--no-hashes", "--no-emit-project", *flags],
                             cwd=README.parent, capture_output=True, text=True, check=True).stdout
        return {line.split("==")[0] for line in out.splitlines() if "==" in line}

    runtime, everything = locked("--no-dev"), locked()
    assert {"polars", "duckdb", "httpx", "pyarrow"} <= runtime
    assert not {"pytest", "ruff", "mypy", "nbclient", "ipykernel", "duckdb-cli"} & runtime
    assert {"pytest", "ruff", "mypy", "duckdb-cli"} <= everything
    assert len(runtime) < len(everything) / 2
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "uv sync --frozen\n" in ci  # the dev group is uv's default group (pyproject [tool.uv])
    assert "--no-dev" not in ci


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

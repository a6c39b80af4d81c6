import ast
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecodata import errors
from ecodata.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CLASSES = [cls for cls in vars(errors).values()
           if isinstance(cls, type) and issubclass(cls, errors.EcodataError) and cls is not errors.EcodataError]


def readme_exit_codes() -> dict[int, str]:
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    sentence = text[text.index("and exits non-zero: ") + len("and exits non-zero: "):].split(". ", 1)[0]
    return {int(code): meaning.strip() for code, meaning in re.findall(r"(\d+) ([^,]+)", sentence)}


def raised_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "ecodata").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def test_the_readme_lists_exactly_the_exit_codes_of_the_error_classes():
    codes = readme_exit_codes()
    assert sorted(codes) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert sorted({cls.exit_code for cls in CLASSES}) == sorted(codes)
    assert errors.EcodataError.exit_code == 1  # the base is never raised itself (see below)


# BusyError (exit 10) is raised by the data directory's one-writer lock, which was not on main yet
# when this test was written. Once it is, this set must be emptied: the assertion below fails then.
NOT_YET_RAISED: set[str] = set()


def test_every_error_class_is_raised_somewhere_and_the_base_never():
    raised = raised_names()
    missing = {cls.__name__ for cls in CLASSES if cls.__name__ not in raised}
    assert missing == NOT_YET_RAISED, "every error class must be raised somewhere; empty NOT_YET_RAISED when it is"
    assert "EcodataError" not in raised


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_the_cli_maps_every_error_class_to_one_line_and_its_exit_code(cls, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        error = cls.__new__(cls)  # whatever the subclass's own arguments are
        Exception.__init__(error, "what failed; what to do")
        raise error

    monkeypatch.setattr("ecodata.snapshot.list_snapshots", fail)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "snapshots"])
    assert result.exit_code == cls.exit_code
    assert result.output == "ecodata: error: what failed; what to do\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "tariff.json").write_text(json.dumps({"id": "t", "currency": "EUR", "elements": "nope"}))
    (tmp_path / "cdr.json").write_text(json.dumps({"charging_periods": []}))
    (tmp_path / "rates.csv").write_text("rate_date,currency,units_per_eur\n2026-01-01,EUR,1\n")
    return tmp_path


@pytest.mark.parametrize(("args", "code"), [
    (["fetch", "--date", "2026-13-01"], 2),
    (["transform"], 5),
    (["sql", "select 'x'::int"], 7),
    (["price", "--tariff", "{dir}/tariff.json", "--cdr", "{dir}/cdr.json"], 8),
    (["views", "--fx-rates", "{dir}/rates.csv"], 9),  # the kept rates cannot be written (see below)
])
def test_exit_codes_are_reached_by_real_runs(files, args, code):
    (files / "data" / "fx_rates.csv.tmp").mkdir()  # a directory where the rates' staging file must go
    argv = ["--data-dir", str(files / "data"), *(a.format(dir=files) for a in args)]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == code, result.output
    assert result.output.startswith("ecodata: error: ")
    assert len(result.output.splitlines()) == 1

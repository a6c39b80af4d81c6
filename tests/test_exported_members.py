import subprocess
import sys

import pytest

import ecodata


def test_all_names_are_exported_and_public() -> None:
    assert sorted(ecodata.__all__) == ["Dataset", "EcodataError", "Settings", "__version__", "build", "open"]
    for name in ecodata.__all__:
        member = getattr(ecodata, name)
        if name != "__version__":
            assert member.__module__.startswith("ecodata."), name
    assert ecodata.open.__module__ == "ecodata.dataset"
    assert ecodata.build.__module__ == "ecodata.dataset"
    assert ecodata.Dataset.__name__ == "Dataset"
    assert set(ecodata.__all__) <= set(dir(ecodata))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        ecodata.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        from ecodata import no_such_name  # noqa: F401


def test_import_ecodata_and_the_cli_do_not_import_duckdb_or_polars() -> None:
    code = ("import sys, ecodata, ecodata.cli; "
            "print(sorted(m for m in ('duckdb', 'polars', 'pyarrow') if m in sys.modules)); "
            "from ecodata import open; print('duckdb' in sys.modules, open is ecodata.open)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "True True"]


def test_the_dataset_api_is_the_documented_one() -> None:
    public = sorted(n for n in vars(ecodata.Dataset) if not n.startswith("_"))
    assert public == ["close", "compare", "dates", "lint", "partitions", "raw", "schema", "snapshots", "sql", "table",
                      "tables", "views"]


def test_the_simulator_has_no_second_dataset_class() -> None:
    import ecodata.simulator

    assert not hasattr(ecodata.simulator, "Dataset")
    assert ecodata.simulator.SimulatedData.__name__ == "SimulatedData"

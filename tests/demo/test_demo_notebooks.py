import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_the_five_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_getting_started.ipynb", "02_cross_market_prices.ipynb", "03_session_costs.ipynb",
        "04_price_changes.ipynb", "05_market_power_and_time_of_day.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_the_public_api_only(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c for c in code if c.outputs or c.execution_count is not None] == []
    source = "\n".join(c.source for c in code)
    assert "from ecodata" not in source
    assert set(re.findall(r"\becodata\.(\w+)", source)) == {"open"}
    assert 'os.environ.get("ECODATA_DATA_DIR", "../data")' in source
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_against_the_demo_dataset_and_plots(path, demo_build, monkeypatch):
    data, _ = demo_build
    monkeypatch.setenv("ECODATA_DATA_DIR", str(data))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    # Raises CellExecutionError (with the failing cell and traceback) on any error.
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, f"{path.name} produced {len(images)} plot(s)"

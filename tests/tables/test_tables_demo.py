import datetime as dt

import polars as pl
import pytest

from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.pipeline import transform_snapshot
from ecodata.settings import Settings
from ecodata.simulator import SimulatedData
from ecodata.tables.fixtures import write_raw_snapshot
from ecodata.tables.reader import scan_table
from ecodata.tables.schemas import ALL_TABLES

DATE = dt.date(2026, 1, 1)
BUILT = ["locations", "evses", "connectors", "connector_prices", "prices", "price_elements", "price_components",
         "tariffs", "tariff_elements", "tariff_components"]


@pytest.fixture(scope="module", params=["2.1.1", "2.2"])
def demo(request, tmp_path_factory):
    version = request.param
    sim = SimulatedData(scale="demo", seed=0, day=0)
    paths = DataPaths(tmp_path_factory.mktemp(f"demo-{version}"))
    for endpoint in ("locations", "connector_prices", "prices", "tariffs"):
        records = [b.decode() for b in sim.render(endpoint, 0, sim.count(endpoint), version)]
        api = version if endpoint in ("locations", "tariffs") else "prices"
        write_raw_snapshot(paths, endpoint, DATE, records, api_version=api)
    report = transform_snapshot(Settings(data_dir=paths.root), DATE)
    return sim, paths, report


def test_counts_match_the_simulator_ground_truth(demo):
    sim, paths, report = demo
    truth = sim.totals()
    expected = {name: truth[name] for name in BUILT}
    expected["connector_prices"] = truth["pricing_ids"]
    assert report.rows == expected
    assert report.rejects == {"locations": 0, "connector_prices": 0, "prices": 0, "tariffs": 0}
    assert report.raw_records == {e: sim.count(e) for e in ("locations", "connector_prices", "prices", "tariffs")}
    assert scan_table(paths, "connectors", DATE).select(pl.len()).collect().item() == truth["connectors"]


def test_keys_are_unique_and_references_hold(demo):
    _, paths, report = demo
    for name in BUILT:
        key = list(ALL_TABLES[name].key)
        frame = scan_table(paths, name, DATE)
        dupes = frame.group_by(key).len().filter(pl.col("len") > 1).collect()
        assert dupes.height == 0, name
        nulls = frame.select(pl.col(key).null_count()).collect().row(0)
        assert nulls == (0,) * len(key), name
    assert report.orphans == {"connector_prices->connectors": 0, "connector_prices->prices": 0,
                              "connectors.tariff_ids->tariffs": 0, "evses->locations": 0}


def test_every_connector_has_a_power_class(demo):
    _, paths, _ = demo
    connectors = scan_table(paths, "connectors", DATE).collect()
    assert connectors["power_class"].null_count() == 0
    assert connectors["max_power_kw"].null_count() == 0
    hpc = connectors.filter(pl.col("power_class") == "HPC")
    assert hpc.height > 0
    assert hpc["max_power_kw"].min() >= 150
    dc = connectors.filter(pl.col("power_class") == "DC")
    assert dc["max_power_kw"].max() < 150
    assert set(connectors.filter(pl.col("power_class") == "AC")["power_type"]) <= {
        "AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE"}


def test_tables_are_typed_as_declared(demo):
    _, paths, _ = demo
    for name in BUILT:
        (file,) = paths.history_dir(name).glob(f"{DATE}-*.parquet")
        assert pl.read_parquet_schema(file) == dict(store.file_schema(ALL_TABLES[name])), name
        assert scan_table(paths, name, DATE).collect_schema() == {**ALL_TABLES[name].polars_schema,
                                                                   "snapshot_date": pl.Date()}, name

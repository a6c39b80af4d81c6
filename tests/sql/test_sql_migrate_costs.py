import datetime as dt
import shutil

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from ecodata.cli import cli
from ecodata.errors import ConfigError, SnapshotError, StorageError
from ecodata.history import store
from ecodata.paths import DataPaths
from ecodata.pricing import SESSION_COST_INPUTS, session_costs_frame
from ecodata.settings import Settings
from ecodata.simulator import SimulatedData
from ecodata.sql import memory_connection
from ecodata.sql.migrate_costs import migrate_session_costs
from ecodata.tables.fixtures import tables_from_records
from ecodata.tables.schemas import ALL_TABLES, SESSION_COSTS, SESSION_PRICE_COSTS, SESSION_PROFILES
from ecodata.tables.write import write_table

DATES = [dt.date(2026, 6, 1) + dt.timedelta(days=d) for d in range(2)]
KEY = list(SESSION_COSTS.key)
NEW = (SESSION_PRICE_COSTS, SESSION_PROFILES)


def canonical(frame):
    return frame.select(SESSION_COSTS.column_names).cast(dict(SESSION_COSTS.polars_schema)).sort(KEY)


def view_day(paths, date):
    con = memory_connection(paths)
    try:
        return canonical(con.sql("SELECT * FROM session_costs_history WHERE snapshot_date = ?", params=[date]).pl())
    finally:
        con.close()


@pytest.fixture(scope="module")
def old_layout(tmp_path_factory):
    """Two simulator days as an older ecodata stored them: the input tables, and session_costs
    written per (connector, price, session) by the old write path (the engine's join back, recorded in
    the table's history)."""
    paths = DataPaths(tmp_path_factory.mktemp("old") / "data")
    settings = Settings(data_dir=paths.root)
    old = {}
    for day, date in enumerate(DATES):
        truth = SimulatedData(scale="demo", seed=0, day=day)
        tables = tables_from_records({e: truth.iter_records(e) for e in ("locations", "connector_prices", "prices")})
        for name in SESSION_COST_INPUTS:
            write_table(paths, ALL_TABLES[name], date, tables[name])
        write_table(paths, SESSION_COSTS, date, session_costs_frame(settings, date))
        old[date] = canonical(store.read_day(paths, SESSION_COSTS, date).collect())
    assert [d.date for d in store.load(paths, SESSION_COSTS).days] == DATES
    assert old[DATES[1]].height > 10_000
    return paths, old


def copy_of(old_layout, tmp_path):
    paths, old = old_layout
    shutil.copytree(paths.root, tmp_path / "data")
    return DataPaths(tmp_path / "data"), old


def test_the_old_session_costs_is_refused_with_what_to_run(old_layout, tmp_path):
    paths, _ = copy_of(old_layout, tmp_path)
    with pytest.raises(SnapshotError, match=r"session_costs stored per connector.*ecodata --data-dir .* migrate"):
        memory_connection(paths)
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.root), "compare"])
    assert result.exit_code == 5
    assert len(result.output.splitlines()) == 1
    assert "migrate" in result.output


def test_migrate_recomputes_verifies_and_removes_the_old_table(old_layout, tmp_path):
    paths, old = copy_of(old_layout, tmp_path)
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.root), "migrate"])
    assert result.exit_code == 0, result.output
    rows = sum(frame.height for frame in old.values())
    assert result.output.splitlines()[0] == (
        f"migrate: session_costs of 2 day(s) ({DATES[0]} .. {DATES[-1]}, {rows:,} rows) recomputed as "
        "session_price_costs + session_profiles, each day verified row by row against the stored rows before they "
        "were removed")
    assert result.output.splitlines()[-1].startswith("views: ")
    assert not paths.history_dir("session_costs").exists()
    for schema in NEW:
        assert paths.table_dates(schema.name) == DATES
    for date in DATES:
        assert_frame_equal(view_day(paths, date), old[date])
    # what is stored is much smaller than what was
    new_bytes = sum(f.stat().st_size for s in NEW for f in paths.history_dir(s.name).glob("*.parquet"))
    old_bytes = sum(f.stat().st_size for f in old_layout[0].history_dir("session_costs").glob("*.parquet"))
    assert new_bytes * 5 < old_bytes
    again = CliRunner().invoke(cli, ["--data-dir", str(paths.root), "migrate"])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == "migrate: nothing to convert (no table in the old full-snapshot layout)"
    assert_frame_equal(view_day(paths, DATES[-1]), old[DATES[-1]])


def test_an_interrupted_migration_resumes(old_layout, tmp_path):
    paths, old = copy_of(old_layout, tmp_path)
    settings = Settings(data_dir=paths.root)

    def stop(date):
        if date == DATES[0]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate_session_costs(settings, after_day=stop)
    assert paths.table_dates("session_costs") == DATES  # the old table stays until every day is verified
    assert paths.table_dates("session_price_costs") == DATES[:1]
    with pytest.raises(SnapshotError, match="migrate"):
        memory_connection(paths)
    report = migrate_session_costs(settings)
    assert sorted(report.rows) == DATES
    assert paths.table_dates("session_costs") == []
    for date in DATES:
        assert_frame_equal(view_day(paths, date), old[date])


def test_a_day_that_does_not_verify_stops_and_keeps_the_old_data(old_layout, tmp_path):
    paths, old = copy_of(old_layout, tmp_path)
    # the stored day 1 holds a cost the engine does not give (as if built with other rates)
    changed = old[DATES[0]].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("total_eur_incl_vat") + pl.lit(1))
        .otherwise(pl.col("total_eur_incl_vat")).cast(SESSION_COSTS.polars_schema["total_eur_incl_vat"])
        .alias("total_eur_incl_vat"))
    store.put_day(paths, SESSION_COSTS, DATES[0], changed.lazy())
    files = sorted(p.name for p in paths.history_dir("session_costs").iterdir())
    with pytest.raises(StorageError, match=rf"recomputed session_costs of {DATES[0]} differ .* 1 stored rows? not "
                                           r"reproduced, 1 new\); the old session_costs is kept"):
        migrate_session_costs(Settings(data_dir=paths.root))
    assert sorted(p.name for p in paths.history_dir("session_costs").iterdir()) == files
    assert paths.table_dates("session_price_costs") == []  # the failed day is taken out again
    assert paths.table_dates("session_profiles") == []
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.root), "migrate"])
    assert result.exit_code == 9
    assert len(result.output.splitlines()) == 1
    assert "ECODATA_SESSIONS_TOML" in result.output


def test_a_day_priced_with_a_session_no_longer_defined_is_one_clear_error(old_layout, tmp_path):
    paths, old = copy_of(old_layout, tmp_path)
    renamed = old[DATES[0]].with_columns(pl.col("session").str.replace("^HPC_10_80$", "HPC_OLD"))
    store.put_day(paths, SESSION_COSTS, DATES[0], renamed.lazy())
    with pytest.raises(ConfigError, match=r"session\(s\) HPC_OLD are not defined"):
        migrate_session_costs(Settings(data_dir=paths.root))
    assert paths.table_dates("session_costs") == DATES
    assert paths.table_dates("session_price_costs") == []


def test_the_legacy_layout_with_session_costs_migrates_in_one_run(old_layout, tmp_path):
    paths, old = old_layout
    legacy = DataPaths(tmp_path / "legacy")
    for name in [*SESSION_COST_INPUTS, "session_costs"]:
        for date in DATES:
            partition = legacy.table_partition(name, date)
            partition.mkdir(parents=True)
            frame = old[date] if name == "session_costs" else store.read_day(paths, ALL_TABLES[name], date).collect()
            frame.write_parquet(partition / "part-00000.parquet")
    result = CliRunner().invoke(cli, ["--data-dir", str(legacy.root), "migrate"])
    assert result.exit_code == 0, result.output
    assert [line.split(" ")[1] for line in result.output.splitlines()[:2]] == ["6", "session_costs"]
    assert not legacy.tables_root.exists()
    for date in DATES:
        assert_frame_equal(view_day(legacy, date), old[date])


def test_an_old_table_without_the_reservation_columns_is_checked_on_the_columns_it_has(old_layout, tmp_path):
    paths, old = copy_of(old_layout, tmp_path)
    for _, file in store.change_files(paths, SESSION_COSTS):  # written before OCPI 2.3 reservations
        pl.read_parquet(file).drop("reservation_cost_excl_vat", "reservation_cost_incl_vat").write_parquet(file)
    report = migrate_session_costs(Settings(data_dir=paths.root))
    assert sorted(report.rows) == DATES
    for date in DATES:
        assert_frame_equal(view_day(paths, date), old[date])

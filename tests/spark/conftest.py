import shutil
import time

import pytest

from ecodata.demo import run_demo
from ecodata.settings import Settings


def _why_no_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (uv sync, or pip install 'ecodata[spark]')"
    if shutil.which("java") is None:
        return "no java on PATH (Spark needs a JVM, e.g. apt-get install openjdk-17-jre-headless)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _why_no_spark()
    if reason is None:
        return
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"Spark tests skipped: {reason}"))


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """ONE demo dataset (two days) for the Spark tests, at the simulator's mini scale: the demo's
    countries, currencies and tariff shapes at ~1/7 of its rows (Spark's per-query cost, not the
    data, is what such a test measures; demo scale took ~23 min on 2 cores)."""
    data = tmp_path_factory.mktemp("spark-demo") / "data"
    run_demo(Settings.from_env(env={}, data_dir=data), scale="mini", progress=False)
    return data


@pytest.fixture(scope="session")
def spark():
    """ONE local Spark session for the whole test session: 2 cores, UI off, one shuffle partition,
    no adaptive re-planning, whole-stage code generation off and the JVM's quick JIT only
    (compiling costs more than it saves on demo-scale data)."""
    from pyspark.sql import SparkSession

    started = time.monotonic()
    session = (SparkSession.builder.master("local[2]").appName("ecodata-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.codegen.wholeStage", "false")
               .config("spark.sql.adaptive.enabled", "false")
               # the JIT's optimising compiler costs more CPU than it saves in a short test session
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", "1g")
               .config("spark.sql.ansi.enabled", "true")
               # the tests read Spark's Parquet output with DuckDB: instants as TIMESTAMP (UTC), not INT96
               .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    print(f"Spark session started in {time.monotonic() - started:.1f} s")
    yield session
    session.stop()

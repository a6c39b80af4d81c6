import datetime as dt
import tracemalloc
from pathlib import Path

import pyarrow as pa
from fetch_fake_api import TOKEN, FakeApi

from ecodata.fetch import run_fetch
from ecodata.settings import Secret, Settings


def peak_bytes(tmp_path: Path, pages: int) -> tuple[int, int]:
    blob = "x" * 4000
    api = FakeApi({"tariffs": [{"id": f"T{i:06d}", "blob": blob} for i in range(pages * 50)]})
    settings = Settings(base_url="http://fake", token=Secret(TOKEN), data_dir=tmp_path / str(pages), concurrency=4)
    pool = pa.default_memory_pool()
    arrow_before = pool.max_memory() or 0
    tracemalloc.start()
    try:
        report = run_fetch(settings, ["tariffs"], dt.date(2026, 6, 1), transport=api.transport(), page_limit=50,
                           progress=False)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.result("tariffs").records == pages * 50
    api.records.clear()
    return python_peak, (pool.max_memory() or 0) - arrow_before


def test_peak_memory_does_not_grow_with_the_endpoint(tmp_path: Path) -> None:
    small_python, _ = peak_bytes(tmp_path, 10)
    large_python, large_arrow = peak_bytes(tmp_path, 100)
    data = 100 * 50 * 4000  # 20 MB of records served in the large run
    # bounded by the pages in flight (4 slots x 200 kB) plus the fake server's own copies, not the data
    assert large_python < small_python + 3_000_000
    assert large_python < data / 4
    assert large_arrow < data / 4

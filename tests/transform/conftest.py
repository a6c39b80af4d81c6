import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

Transform = Callable[[pl.LazyFrame], dict[str, pl.LazyFrame]]
Run = Callable[..., dict[str, pl.DataFrame]]


def raw_frame(records: list[Any], api_version: str = "2.1.1") -> pl.LazyFrame:
    texts = [r if isinstance(r, str) else json.dumps(r) for r in records]
    n = len(texts)
    return pl.LazyFrame(
        {
            "record": texts,
            "record_key": [f"k{i}" for i in range(n)],
            "page": [0] * n,
            "page_index": list(range(n)),
            "request_url": ["http://127.0.0.1/x"] * n,
            "fetched_at": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)] * n,
            "api_version": [api_version] * n,
        },
        schema_overrides={"page": pl.Int32, "page_index": pl.Int32},
    )


@pytest.fixture
def run() -> Run:
    def go(transform: Transform, records: list[Any], api_version: str = "2.1.1") -> dict[str, pl.DataFrame]:
        frames = transform(raw_frame(records, api_version))
        names = list(frames)
        return dict(zip(names, pl.collect_all([frames[n] for n in names]), strict=True))

    return go


@pytest.fixture(scope="session")
def make_raw() -> Callable[..., pl.LazyFrame]:
    return raw_frame

from __future__ import annotations

import pytest

from ecodata.simulator import Dataset


@pytest.fixture(scope="session")
def demo_truth() -> Dataset:
    return Dataset("demo", 0, 0)
